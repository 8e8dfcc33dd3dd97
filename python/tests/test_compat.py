"""The same tests against both packages: this one (``namedsem``) and the
existing ``named_semaphores`` 1.0.3 over ``posix_ipc``, parametrised by the
``NS`` fixture. Every assertion holds for both, except in the tests of the
deliberate differences (``DIFFERENCES``, each listed in docs/python.md with
its reason), which state what each package does.
"""

import errno
import fractions
import gc
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from conftest import IMPORT_LINE, OURS, is_ours, run_python, shm_path

# The deliberate differences, by the title docs/python.md gives each.
DIFFERENCES = [
    "An open-or-create handle does not unlink on delete",
    "Delete removes only its own semaphore",
    "A forked child's copy never unlinks",
    "Hostile files raise InvalidSemaphoreError instead of killing the process",
    "Timeouts on the monotonic clock",
    "Every real timeout",
    "release(n) is atomic",
    "Every name glibc accepts",
    "PermissionError when opening without permission",
    "handle_existence=None means the default",
    "No logger attribute",
    "UNLINK_AND_CREATE replaces atomically",
]

VALUE_MAX = 2**31 - 1


def create(NS, name, value=1, **kw):
    return NS(name, initial_value=value, handle_existence=NS.Flags.RAISE_IF_EXISTS, **kw)


def test_docs_list_every_difference():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "docs", "python.md"), encoding="utf-8") as f:
        docs = " ".join(f.read().split())  # titles may wrap across lines
    missing = [d for d in DIFFERENCES if d not in docs]
    assert missing == [], "docs/python.md must list these differences"


# ------------------------------------------------------------ construction --


def test_flags_members_and_values(NS):
    assert [(f.name, f.value) for f in NS.Flags] == [
        ("RAISE_IF_EXISTS", 0),
        ("LINK_OR_CREATE", 1),
        ("RAISE_IF_NOT_EXISTS", 2),
        ("UNLINK_AND_CREATE", 3),
    ]


def test_default_opens_existing_only(NS, name):
    with pytest.raises(FileNotFoundError):
        NS(name)
    creator = create(NS, name, 2)
    opener = NS(name)
    assert opener.linked_existing_semaphore is True
    assert creator.linked_existing_semaphore is False
    assert opener.acquire(blocking=False)
    assert creator.value == 1


def test_raise_if_exists(NS, name):
    sem = create(NS, name, 3)
    assert sem.value == 3
    assert sem.name == "/" + name
    with pytest.raises(FileExistsError):
        create(NS, name)
    assert sem.value == 3


def test_raise_if_not_exists_ignores_the_initial_value(NS, name):
    sem = create(NS, name, 2)
    other = NS(name, initial_value=7, handle_existence=NS.Flags.RAISE_IF_NOT_EXISTS)
    assert other.value == 2
    del sem


def test_link_or_create_creates_then_links(NS, name):
    a = NS(name, initial_value=2, handle_existence=NS.Flags.LINK_OR_CREATE)
    b = NS(name, initial_value=5, handle_existence=NS.Flags.LINK_OR_CREATE)
    assert (a.linked_existing_semaphore, b.linked_existing_semaphore) == (False, True)
    assert b.value == 2
    assert a.acquire(False) and a.acquire(False) and not b.acquire(False)


def test_unlink_and_create_replaces(NS, name):
    old = create(NS, name, 1, unlink_on_delete=False)
    new = NS(name, initial_value=4, handle_existence=NS.Flags.UNLINK_AND_CREATE)
    assert new.linked_existing_semaphore is False
    assert new.value == 4
    assert old.acquire(False)  # the old semaphore lives on, detached
    assert new.value == 4
    assert NS(name).value == 4  # the name is the new one's


def test_unlink_and_create_without_a_previous_one(NS, name):
    sem = NS(name, initial_value=2, handle_existence=NS.Flags.UNLINK_AND_CREATE)
    assert sem.value == 2 and sem.unlink_on_delete


def test_leading_slash_is_the_same_name(NS, name):
    sem = create(NS, "/" + name)
    assert sem.name == "/" + name
    other = NS(name)
    assert other.acquire(False) and sem.value == 0


@pytest.mark.parametrize("bad", ["", "/", "a/b", "x" * 252, 5, b"bytes", None])
def test_invalid_names(NS, bad):
    with pytest.raises(ValueError):
        NS(bad, handle_existence=NS.Flags.LINK_OR_CREATE)


def test_longest_name(NS, names):
    base = names()
    long = (base + "x" * 251)[:251]
    sem = create(NS, long)
    try:
        assert sem.value == 1
    finally:
        sem.unlink()


@pytest.mark.parametrize("bad", [-1, VALUE_MAX + 1, 1.0, "1", None, 2**80])
def test_invalid_initial_values(NS, name, bad):
    with pytest.raises(ValueError):
        create(NS, name, bad)
    assert not os.path.exists(shm_path(name))


def test_initial_value_limits(NS, names):
    assert create(NS, names(), True).value == 1  # bool is an int
    assert create(NS, names(), 0).value == 0
    assert create(NS, names(), VALUE_MAX).value == VALUE_MAX


@pytest.mark.parametrize("bad", [0, "RAISE_IF_EXISTS", 2.0])
def test_handle_existence_must_be_a_flag(NS, name, bad):
    with pytest.raises(ValueError):
        NS(name, handle_existence=bad)


def test_difference_handle_existence_none(NS, name):
    """Difference: handle_existence=None means the default."""
    create(NS, name, unlink_on_delete=False)
    if is_ours(NS):
        assert NS(name, handle_existence=None).linked_existing_semaphore
    else:
        with pytest.raises(ValueError):
            NS(name, handle_existence=None)


@pytest.mark.parametrize("form", ["{}.v2", "{} with space", "{}:x", "//{}"])
def test_difference_names(NS, names, form):
    """Difference: every name glibc accepts, not only letters, digits, - and _."""
    given = form.format(names())
    if is_ours(NS):
        sem = create(NS, given)
        assert sem.name == "/" + given.lstrip("/")
        assert os.path.exists(shm_path(given))
        assert NS(given.lstrip("/")).value == 1
    else:
        with pytest.raises(ValueError):
            create(NS, given)


def test_difference_no_logger(NS, name):
    """Difference: no `logger` attribute (the existing package adds a logging
    handler for every handle it makes)."""
    sem = create(NS, name)
    assert hasattr(sem, "logger") is not is_ours(NS)


# ----------------------------------------------------------------- acquire --


def test_acquire_and_release(NS, name):
    sem = create(NS, name, 2)
    assert sem.acquire() is True
    assert sem.acquire(True) is True
    assert sem.value == 0
    assert sem.acquire(False) is False
    assert sem.acquire(blocking=False) is False
    assert sem.acquire(timeout=0) is False
    sem.release()
    assert sem.value == 1
    assert sem.acquire(timeout=0) is True
    sem.release(2)
    assert sem.value == 2


def test_acquire_timeout_waits_then_gives_up(NS, name):
    sem = create(NS, name, 0)
    start = time.monotonic()
    assert sem.acquire(timeout=0.2) is False
    waited = time.monotonic() - start
    assert 0.19 <= waited < 5, waited
    assert sem.acquire(timeout=True) is False  # a bool is a number of seconds


def test_acquire_timeout_gets_a_token_released_meanwhile(NS, name):
    sem = create(NS, name, 0)
    other = NS(name)
    timer = threading.Timer(0.1, other.release)
    timer.start()
    try:
        assert sem.acquire(timeout=30) is True
    finally:
        timer.join()
    assert sem.value == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"blocking": 1},
        {"blocking": None},
        {"blocking": False, "timeout": 1},
        {"timeout": -1},
        {"timeout": -0.001},
        {"timeout": "1"},
        {"timeout": 1j},
    ],
)
def test_acquire_argument_checks(NS, name, kwargs):
    sem = create(NS, name, 1)
    with pytest.raises(ValueError):
        sem.acquire(**kwargs)
    assert sem.value == 1


def test_difference_every_real_timeout(NS, name):
    """Difference: every real number of seconds works (a Fraction too); a
    timeout too long for the clock waits without limit; NaN is a ValueError."""
    sem = create(NS, name, 0)
    other = NS(name)
    if is_ours(NS):
        start = time.monotonic()
        assert sem.acquire(timeout=fractions.Fraction(1, 20)) is False
        assert time.monotonic() - start >= 0.049
        for huge in (1e30, 2**70, math.inf):
            timer = threading.Timer(0.05, other.release)
            timer.start()
            try:
                assert sem.acquire(timeout=huge) is True
            finally:
                timer.join()
        with pytest.raises(ValueError):
            sem.acquire(timeout=math.nan)
    else:
        # posix_ipc's deadline overflows: False at once, with no wait.
        start = time.monotonic()
        assert sem.acquire(timeout=1e30) is False
        assert time.monotonic() - start < 5
        with pytest.raises(TypeError):
            sem.acquire(timeout=2**70)
        with pytest.raises(TypeError):
            sem.acquire(timeout=fractions.Fraction(1, 20))
        import posix_ipc

        with pytest.raises(posix_ipc.ExistentialError):
            sem.acquire(timeout=math.nan)


STRACED_WAIT = """
{import_line}
sem = NamedSemaphore({name!r}, handle_existence=NamedSemaphore.Flags.RAISE_IF_NOT_EXISTS)
assert sem.acquire(timeout=0.3) is False
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_difference_monotonic_timeouts(NS, package, name, tmp_path):
    """Difference: a timed wait sleeps on CLOCK_MONOTONIC, so setting the
    wall clock neither shortens nor lengthens it (posix_ipc sleeps until a
    CLOCK_REALTIME deadline)."""
    create(NS, name, 0, unlink_on_delete=False)
    log = tmp_path / "futex.log"
    code = STRACED_WAIT.format(import_line=IMPORT_LINE[package], name=name)
    subprocess.run(
        ["strace", "-f", "-qq", "-e", "trace=futex", "-o", str(log), sys.executable, "-c", code],
        check=True,
        timeout=60,
    )
    timed = [line for line in log.read_text().splitlines() if "FUTEX_WAIT_BITSET" in line and "tv_sec=" in line]
    assert timed, "no timed futex wait seen"
    realtime = [line for line in timed if "FUTEX_CLOCK_REALTIME" in line]
    if package == OURS:
        assert realtime == []
    else:
        assert realtime == timed


# ----------------------------------------------------------------- release --


@pytest.mark.parametrize("bad", [0, -1, 1.0, "1", None])
def test_release_argument_checks(NS, name, bad):
    sem = create(NS, name, 0)
    with pytest.raises(ValueError):
        sem.release(bad)
    assert sem.value == 0


def test_release_counts(NS, name):
    sem = create(NS, name, 0)
    sem.release(True)
    sem.release(n=3)
    assert sem.value == 4


def test_release_past_the_maximum(NS, name):
    sem = create(NS, name, VALUE_MAX)
    with pytest.raises(OSError) as info:
        sem.release()
    assert info.value.errno == errno.EOVERFLOW
    assert sem.value == VALUE_MAX


def test_difference_release_is_atomic(NS, name):
    """Difference: release(n) gives all n tokens or, at the limit, none."""
    sem = create(NS, name, VALUE_MAX - 1)
    with pytest.raises(OSError) as info:
        sem.release(2)
    assert info.value.errno == errno.EOVERFLOW
    assert sem.value == (VALUE_MAX - 1 if is_ours(NS) else VALUE_MAX)


def test_release_wakes_as_many_waiters_as_tokens(NS, name):
    sem = create(NS, name, 0)
    got = []
    threads = [threading.Thread(target=lambda: got.append(sem.acquire(timeout=30))) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    sem.release(3)
    for t in threads:
        t.join()
    assert got == [True, True, True]
    assert sem.value == 0


# -------------------------------------------------------------------- with --


def test_with_acquires_and_releases(NS, name):
    sem = create(NS, name, 1)
    with sem as entered:
        assert entered is sem
        assert sem.value == 0
    assert sem.value == 1


def test_with_releases_on_exceptions(NS, name):
    sem = create(NS, name, 1)
    with pytest.raises(KeyError):
        with sem:
            assert sem.value == 0
            raise KeyError("inside")
    assert sem.value == 1


# ---------------------------------------------------------- unlink, delete --


def test_unlink(NS, name):
    sem = create(NS, name, 1)
    sem.unlink()
    assert not os.path.exists(shm_path(name))
    with pytest.raises(FileNotFoundError):
        NS(name)
    assert sem.acquire(False)  # the handle still works
    sem.release()
    with pytest.raises(FileNotFoundError):
        sem.unlink()


def test_delete_unlinks_only_for_the_creator(NS, name):
    creator = create(NS, name)
    opener = NS(name)
    assert creator.unlink_on_delete and not opener.unlink_on_delete
    del opener
    gc.collect()
    assert os.path.exists(shm_path(name))
    del creator
    gc.collect()
    assert not os.path.exists(shm_path(name))


def test_unlink_on_delete_overrides(NS, names):
    keep, drop = names(), names()
    creator = create(NS, keep, unlink_on_delete=False)
    assert creator.unlink_on_delete is False
    del creator
    gc.collect()
    assert os.path.exists(shm_path(keep))
    create(NS, drop, unlink_on_delete=False)
    opener = NS(drop, unlink_on_delete=True)
    assert opener.unlink_on_delete is True
    del opener
    gc.collect()
    assert not os.path.exists(shm_path(drop))


def test_unlink_and_create_handle_owns_the_name(NS, name):
    sem = NS(name, handle_existence=NS.Flags.UNLINK_AND_CREATE)
    del sem
    gc.collect()
    assert not os.path.exists(shm_path(name))


def test_difference_open_or_create_does_not_unlink(NS, name):
    """Difference: an open-or-create handle does not unlink on delete."""
    first = NS(name, initial_value=1, handle_existence=NS.Flags.LINK_OR_CREATE)
    second = NS(name, initial_value=1, handle_existence=NS.Flags.LINK_OR_CREATE)
    assert first.acquire(False)  # the one token is held
    del first  # the creator goes away while the other still uses it
    gc.collect()
    third = NS(name, initial_value=1, handle_existence=NS.Flags.LINK_OR_CREATE)
    if is_ours(NS):
        assert os.path.exists(shm_path(name))
        assert third.linked_existing_semaphore
        assert third.acquire(False) is False  # still one semaphore: the limit holds
        assert second.value == 0
    else:
        # The name was unlinked: the third process made a second semaphore
        # and two holders are now inside a limit of one.
        assert not third.linked_existing_semaphore
        assert third.acquire(False) is True
    del second, third


def test_difference_delete_removes_only_its_own_semaphore(NS, name):
    """Difference: after unlink() (or a replacement), deleting the handle
    never removes the semaphore that has the name now."""
    sem = create(NS, name)
    sem.unlink()
    newcomer = create(NS, name, unlink_on_delete=False)
    assert sem.unlink_on_delete is not is_ours(NS)
    del sem
    gc.collect()
    assert os.path.exists(shm_path(name)) is is_ours(NS)
    del newcomer


def test_difference_forked_child_does_not_unlink(NS, name):
    """Difference: a forked child's copy of the creator's handle never unlinks
    the name when the child deletes it."""
    sem = create(NS, name, 1)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            if sem.acquire(timeout=10):
                sem.release()
                code = 0
            del sem
            gc.collect()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert os.path.exists(shm_path(name)) is is_ours(NS)
    assert sem.value == 1


def test_fork_while_another_thread_waits(NS, name):
    sem = create(NS, name, 0)
    got = []
    waiter = threading.Thread(target=lambda: got.append(sem.acquire(timeout=30)))
    waiter.start()
    time.sleep(0.05)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            sem.release()
            if sem.acquire(timeout=10) or sem.value == 0:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    sem.release()
    waiter.join()
    assert got == [True]


# --------------------------------------------------- the interpreter's share --


def test_gil_is_released_while_blocked(NS, name):
    sem = create(NS, name, 0)
    got = []
    waiter = threading.Thread(target=lambda: got.append(sem.acquire(timeout=20)))
    start = time.monotonic()
    waiter.start()
    spins = 0
    while time.monotonic() - start < 0.2:
        spins += 1
    sem.release()
    waiter.join()
    assert got == [True]
    assert time.monotonic() - start < 10  # not the waiter's 20 s timeout
    assert spins > 1000


INTERRUPTED = """
import signal, sys, time
{import_line}
# Python's own SIGINT handler, also when this test runs where SIGINT starts
# ignored (a background job), which Python then leaves alone.
signal.signal(signal.SIGINT, signal.default_int_handler)
sem = NamedSemaphore({name!r}, handle_existence=NamedSemaphore.Flags.RAISE_IF_NOT_EXISTS)
print("ready", flush=True)
try:
    sem.acquire({args})
    print("acquired", flush=True)
except KeyboardInterrupt:
    print("interrupted", time.monotonic(), sem.value, flush=True)
"""


@pytest.mark.parametrize("args", ["", "timeout=60"])
def test_ctrl_c_interrupts_a_blocked_acquire(NS, package, name, args):
    import namedsem

    probe = namedsem.NamedSemaphore(name, 0, namedsem.NamedSemaphore.Flags.RAISE_IF_EXISTS)
    code = INTERRUPTED.format(import_line=IMPORT_LINE[package], name=name, args=args)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 20
        while probe.waiters == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert probe.waiters >= 1
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=20)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    word, at, value = out.split()
    assert word == "interrupted"
    assert float(at) - sent < 1.0  # within 100 ms in practice; generous bound
    assert value == "0"  # no token was taken
    assert probe.value == 0
    deadline = time.monotonic() + 5
    while probe.waiters and time.monotonic() < deadline:
        time.sleep(0.001)
    assert probe.waiters == 0  # it no longer counts as a waiter


# ----------------------------------------------------------------- hostile --


HOSTILE_OPEN = """
{import_line}
sem = NamedSemaphore({name!r}, handle_existence=NamedSemaphore.Flags.{flag})
print(sem.value)
"""


@pytest.mark.parametrize("flag", ["RAISE_IF_NOT_EXISTS", "LINK_OR_CREATE"])
def test_difference_hostile_zero_byte_file(NS, package, name, flag):
    """Difference: a 0-byte /dev/shm/sem.NAME raises InvalidSemaphoreError
    instead of killing the interpreter with SIGBUS."""
    open(shm_path(name), "w").close()
    code = HOSTILE_OPEN.format(import_line=IMPORT_LINE[package], name=name, flag=flag)
    result = run_python(code)
    if package == OURS:
        assert result.returncode == 1, result
        assert "namedsem.InvalidSemaphoreError" in result.stderr
        assert "[Errno 22]" in result.stderr
    else:
        assert result.returncode == -signal.SIGBUS, result
    assert os.path.getsize(shm_path(name)) == 0


# -------------------------------------------------------------- permissions --


def _as_nobody():
    import pwd

    nobody = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
def test_difference_permission_denied(NS, package, name):
    """Difference: opening a semaphore without permission raises
    PermissionError (the existing package: posix_ipc.PermissionsError for
    RAISE_IF_NOT_EXISTS)."""
    create(NS, name, 1, unlink_on_delete=False)
    os.chmod(shm_path(name), 0o600)
    code = f"""
{IMPORT_LINE[package]}
for flag in ("RAISE_IF_NOT_EXISTS", "LINK_OR_CREATE", "UNLINK_AND_CREATE"):
    try:
        NamedSemaphore({name!r}, handle_existence=getattr(NamedSemaphore.Flags, flag))
        print(flag, "opened")
    except Exception as e:
        print(flag, type(e).__module__ + "." + type(e).__qualname__)
"""
    result = run_python(code, preexec_fn=_as_nobody, cwd="/")
    assert result.returncode == 0, result
    seen = dict(line.split() for line in result.stdout.splitlines())
    assert seen["LINK_OR_CREATE"] == "builtins.PermissionError"
    assert seen["UNLINK_AND_CREATE"] == "builtins.PermissionError"
    expected = "builtins.PermissionError" if package == OURS else "posix_ipc.PermissionsError"
    assert seen["RAISE_IF_NOT_EXISTS"] == expected
