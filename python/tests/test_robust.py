"""The robust mode: a handle opened with ``robust=True`` records the tokens
it holds, and when its process dies they come back, to a robust waiter
without anyone calling ``recover()``, or on ``recover()`` from any handle.
A stopped process is alive and keeps its tokens. Pickled robust handles
reopen robustly in multiprocessing workers.

Every holder runs in a process of its own, started through the ``peers``
fixture, which kills what is left of them after the test and then recovers,
so that no beacon file of a dead holder stays behind."""

import errno
import math
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import time

import pytest

import namedsem
from namedsem import NamedSemaphore

from conftest import SHM
import workers

Flags = NamedSemaphore.Flags

# Generous bounds: a loaded 2-core machine may be slow, never this slow.
WAIT = 60


def create(name, value=1, **kw):
    return NamedSemaphore(name, value, Flags.RAISE_IF_EXISTS, **kw)


def with_record(name, value):
    """A new semaphore with a robust record (its limit ``value``) and no
    holder: a plain handle of it. (A handle maps the file as it was when it
    opened: one opened before a record was added sees none.)"""
    NamedSemaphore(name, value, Flags.RAISE_IF_EXISTS, robust=True, unlink_on_delete=False)
    return NamedSemaphore(name)


def beacon_path(holder):
    return os.path.join(SHM, f"nsem-holder.{holder.beacon:016x}")


def wait_until(condition, what, limit=WAIT):
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.005)


class Peers:
    """Processes a test starts; all are killed when it ends."""

    def __init__(self):
        self.started = []

    def python(self, code):
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True
        )
        self.started.append(proc)
        return proc

    def process(self, ctx, target, args):
        proc = ctx.Process(target=target, args=args)
        proc.start()
        self.started.append(proc)
        return proc

    def stop_all(self):
        for proc in self.started:
            if isinstance(proc, subprocess.Popen):
                proc.kill()  # SIGKILL also ends a stopped process
                proc.wait(WAIT)
                proc.stdout.close()
            else:
                proc.kill()
                proc.join(WAIT)


@pytest.fixture
def peers(name):
    kit = Peers()
    yield kit
    kit.stop_all()
    # Removes the beacon files of holders the test killed (the name fixture
    # then removes the semaphore).
    try:
        NamedSemaphore(name).recover()
    except OSError:
        pass


HOLDER = """
import sys, time
from namedsem import NamedSemaphore
sem = NamedSemaphore({name!r}, robust=True)
if not sem.acquire(timeout=60):
    sys.exit(3)
print("held", flush=True)
time.sleep(600)
"""

WAITER = """
import sys
from namedsem import NamedSemaphore
sem = NamedSemaphore({name!r}, robust=True, check_period=0.05)
if not sem.acquire(timeout={timeout}):
    sys.exit(3)
sem.release()
"""


def start_holder(peers, name):
    """A process holding one token of ``name`` through a robust handle."""
    holder = peers.python(HOLDER.format(name=name))
    assert holder.stdout.readline() == "held\n", "the holder did not take its token"
    return holder


# ------------------------------------------------------------- handle API --


def test_robust_handle_and_plain_handle(name):
    sem = create(name, 2, robust=True)
    plain = NamedSemaphore(name)
    assert sem.robust and not plain.robust
    assert repr(sem).endswith(" robust>") and not repr(plain).endswith(" robust>")
    me = sem.holders()
    assert [(h.pid, h.tokens, h.liveness) for h in me] == [(os.getpid(), 0, "alive")]
    assert plain.holders() == me
    assert sem.recover() == namedsem.Recovery(0, 0, 0, 0, 0, 0)
    assert plain.recover() == (0, 0, 0, 0, 0, 0)


def test_acquire_records_until_release(name):
    sem = create(name, 2, robust=True)
    assert sem.acquire() and sem.acquire(timeout=1)
    assert sem.holders()[0].tokens == 2 and sem.value == 0
    assert not sem.acquire(False)
    sem.release()
    assert sem.holders()[0].tokens == 1 and sem.value == 1
    sem.release()
    assert sem.holders()[0].tokens == 0 and sem.value == 2


def test_release_gives_recorded_tokens_first(name):
    sem = create(name, 3, robust=True)
    assert sem.acquire() and sem.acquire()
    # Two recorded tokens go back, and one plain post on top.
    sem.release(3)
    assert sem.holders()[0].tokens == 0 and sem.value == 4
    # With nothing recorded, release is a plain post (count-style use).
    sem.release()
    assert sem.value == 5 and sem.holders()[0].tokens == 0


def test_with_records_while_inside(name):
    sem = create(name, 1, robust=True)
    with sem:
        assert sem.holders()[0].tokens == 1 and sem.value == 0
    assert sem.holders()[0].tokens == 0 and sem.value == 1
    with pytest.raises(KeyError):
        with sem:
            raise KeyError
    assert sem.holders()[0].tokens == 0 and sem.value == 1


def test_closing_a_robust_handle_gives_back_what_it_holds(name):
    keep = with_record(name, 1)
    sem = NamedSemaphore(name, robust=True)
    assert sem.acquire()
    assert keep.value == 0
    del sem
    assert keep.value == 1
    assert keep.holders() == []


def test_check_period_arguments(name):
    keep = create(name, 1)
    with pytest.raises(ValueError, match="robust=True"):
        NamedSemaphore(name, check_period=0.1)
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(ValueError, match="check_period"):
            NamedSemaphore(name, robust=True, check_period=bad)
    assert NamedSemaphore(name, 1, robust=True, check_period=2).robust
    assert keep.value == 1


def test_recover_and_holders_need_a_record(name):
    sem = create(name, 1)
    for call in (sem.recover, sem.holders):
        with pytest.raises(OSError) as caught:
            call()
        assert caught.value.errno == errno.EOPNOTSUPP
        assert "no robust record" in str(caught.value)


def test_a_robust_open_adds_a_record(name):
    plain = create(name, 1)
    with pytest.raises(OSError):
        plain.recover()
    # Only with its limit given: the value it was created with.
    with pytest.raises(ValueError, match="give initial_value"):
        NamedSemaphore(name, robust=True)
    sem = NamedSemaphore(name, 1, robust=True)
    assert [h.tokens for h in NamedSemaphore(name).holders()] == [0]
    assert NamedSemaphore(name).recover() == (0, 0, 0, 0, 0, 0)
    # The handle opened before keeps using the same semaphore.
    assert sem.acquire() and plain.value == 0
    assert not plain.acquire(False)


def test_a_record_limit_below_the_value_is_refused(name):
    plain = create(name, 3)
    with pytest.raises(ValueError, match="above the initial_value"):
        NamedSemaphore(name, 2, robust=True)
    with pytest.raises(OSError):
        plain.recover()
    assert NamedSemaphore(name, 3, robust=True).robust and plain.value == 3


def test_recovery_and_holder_are_named_tuples():
    done = namedsem.Recovery(1, 2, 3, 4, 5, 6)
    tokens, holders, uncertain, undecided, corrupt, beacons = done
    assert (
        done.tokens, done.holders, done.uncertain, done.undecided, done.corrupt, done.beacons
    ) == (tokens, holders, uncertain, undecided, corrupt, beacons) == (1, 2, 3, 4, 5, 6)
    assert pickle.loads(pickle.dumps(done)) == done
    assert namedsem.Holder._fields == (
        "pid", "tokens", "liveness", "pending", "corrupt", "slot", "beacon", "pid_namespace",
    )


# ----------------------------------------------------------- dead holders --


def test_killed_holder_token_comes_back_to_a_blocked_acquire(name, peers):
    plain = with_record(name, 1)
    holder = start_holder(peers, name)
    (dead,) = plain.holders()
    assert (dead.pid, dead.tokens, dead.liveness) == (holder.pid, 1, "alive")
    waiter = peers.python(WAITER.format(name=name, timeout=WAIT))
    wait_until(lambda: plain.waiters >= 1, "the waiter blocks")
    assert waiter.poll() is None and plain.value == 0
    holder.kill()
    holder.wait(WAIT)
    # Nobody calls recover: the robust waiter finds the dead holder itself.
    assert waiter.wait(WAIT) == 0
    assert plain.value == 1
    assert plain.holders() == [] and not os.path.exists(beacon_path(dead))
    assert plain.recover() == (0, 0, 0, 0, 0, 0)


def test_recover_reports_a_killed_holder(name, peers):
    plain = with_record(name, 1)
    holder = start_holder(peers, name)
    holder.kill()
    holder.wait(WAIT)
    assert plain.value == 0
    (dead,) = plain.holders()
    assert (dead.pid, dead.tokens, dead.liveness) == (holder.pid, 1, "dead")
    assert plain.recover() == namedsem.Recovery(
        tokens=1, holders=1, uncertain=0, undecided=0, corrupt=0, beacons=0
    )
    assert plain.value == 1 and plain.holders() == []
    assert not os.path.exists(beacon_path(dead))
    assert plain.recover() == (0, 0, 0, 0, 0, 0)


def test_stopped_holder_keeps_its_token(name, peers):
    plain = with_record(name, 1)
    holder = start_holder(peers, name)
    os.kill(holder.pid, signal.SIGSTOP)
    try:
        sem = NamedSemaphore(name, robust=True, check_period=0.01)
        # Many check periods pass while it waits: none gives the token back.
        assert not sem.acquire(timeout=0.5)
        assert sem.recover() == (0, 0, 0, 0, 0, 0)
        assert [(h.pid, h.tokens, h.liveness) for h in plain.holders()] == [
            (holder.pid, 1, "alive"),
            (os.getpid(), 0, "alive"),
        ]
        assert plain.value == 0
    finally:
        os.kill(holder.pid, signal.SIGCONT)
    holder.kill()
    holder.wait(WAIT)
    assert sem.acquire(timeout=WAIT)


# -------------------------------------------------------- multiprocessing --


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_pickled_robust_handle_in_a_killed_worker(names, method, peers):
    # ``peers`` recovers ``name`` (the first name made) after the test.
    ctx = multiprocessing.get_context(method)
    sem = create(names(), 1, robust=True, check_period=0.05)
    held = create(names(), 0)
    worker = peers.process(ctx, workers.hold_until_killed, (sem, held))
    assert held.acquire(timeout=WAIT), "the worker did not take its token"
    assert [(h.pid, h.tokens) for h in sem.holders() if h.tokens] == [(worker.pid, 1)]
    assert not sem.acquire(False)
    worker.kill()
    # The worker's handle was robust: its token comes back to this wait.
    assert sem.acquire(timeout=WAIT)
    worker.join(WAIT)
    assert worker.exitcode == -signal.SIGKILL


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pickled_robust_handle_in_a_pool(name, method):
    sem = create(name, 2, robust=True, check_period=0.25)
    with multiprocessing.get_context(method).Pool(1) as pool:
        robust, pid, recorded = pool.apply(workers.robust_take, (sem,))
    assert robust and pid != os.getpid()
    assert recorded == [(pid, 1)]
    assert sem.value == 2  # the worker gave its token back


def test_pickle_carries_robust_and_check_period(name):
    sem = create(name, 1, robust=True, check_period=0.25)
    reopen, args = sem.__reduce__()
    assert reopen is namedsem._reopen and args[3:] == (True, 0.25)
    copy = pickle.loads(pickle.dumps(sem))
    assert copy.robust and not copy.unlink_on_delete
    assert len(sem.holders()) == 2
    plain = NamedSemaphore(name)
    assert plain.__reduce__()[1][3:] == (False, None)
    assert not pickle.loads(pickle.dumps(plain)).robust
    # A pickle of the form before the robust mode still loads.
    assert not namedsem._reopen(*args[:3]).robust


def test_a_forked_child_shares_its_parents_holder(names, peers):
    # Under fork, a Process's arguments are inherited, not pickled: the
    # child's handle is the parent's holder, whose tokens come back only
    # when every process holding it is gone.
    ctx = multiprocessing.get_context("fork")
    plain = with_record(names(), 1)
    sem = NamedSemaphore(plain.name, robust=True)
    held = create(names(), 0)
    worker = peers.process(ctx, workers.hold_until_killed, (sem, held))
    assert held.acquire(timeout=WAIT), "the worker did not take its token"
    assert [(h.pid, h.tokens) for h in plain.holders()] == [(os.getpid(), 1)]
    worker.kill()
    worker.join(WAIT)
    assert plain.recover() == (0, 0, 0, 0, 0, 0) and plain.value == 0
    del sem  # the last process holding the holder lets it go
    assert plain.value == 1 and plain.holders() == []


INTERRUPTED = """
import signal, time
from namedsem import NamedSemaphore
signal.signal(signal.SIGINT, signal.default_int_handler)
sem = NamedSemaphore({name!r}, robust=True)
print("ready", flush=True)
try:
    sem.acquire({args})
    print("acquired", flush=True)
except KeyboardInterrupt:
    recorded = sum(h.tokens for h in sem.holders())  # this process is the only holder
    print("interrupted", time.monotonic(), sem.value, recorded, flush=True)
"""


@pytest.mark.parametrize("args", ["", "timeout=60"])
def test_ctrl_c_interrupts_a_blocked_robust_acquire(name, peers, args):
    plain = with_record(name, 0)
    child = peers.python(INTERRUPTED.format(name=name, args=args))
    assert child.stdout.readline() == "ready\n"
    wait_until(lambda: plain.waiters >= 1, "the child blocks")
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=WAIT)
    word, at, value, recorded = out.split()
    assert word == "interrupted"
    assert float(at) - sent < 1.0  # within 100 ms in practice; generous bound
    assert (value, recorded) == ("0", "0")  # no token taken, none recorded
    assert plain.value == 0 and plain.holders() == []
