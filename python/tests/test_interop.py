"""One semaphore, four implementations in one run: this package, the
existing package (``posix_ipc`` over glibc), a Rust process (the crate's
``examples/peer.rs``) and a C process (``ci/cross/peer.c`` on glibc's
``sem_*``). Each one, blocked, is woken by each of the others, and all four
blocked at once are woken by one ``release(4)``."""

import itertools
import os
import subprocess
import sys
import time

import pytest

from namedsem import NamedSemaphore

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SIDES = ["namedsem", "named_semaphores", "rust", "c"]


@pytest.fixture(scope="session")
def peers():
    """The Rust and C peers, built once (a build failure fails the tests)."""
    out = os.path.join(ROOT, "target", "python-interop")
    os.makedirs(out, exist_ok=True)
    subprocess.run(["cargo", "build", "--quiet", "--example", "peer"], cwd=ROOT, check=True, timeout=900)
    c_peer = os.path.join(out, "peer-c")
    subprocess.run(
        ["gcc", "-O2", "-Wall", "-pthread", "-o", c_peer, os.path.join(ROOT, "ci", "cross", "peer.c")],
        check=True, timeout=300,
    )
    return {"rust": os.path.join(ROOT, "target", "debug", "examples", "peer"), "c": c_peer}


def command(peers, side, *args):
    if side in peers:
        return [peers[side], *args]
    return [sys.executable, os.path.join(HERE, "peer.py"), side, *args]


def wait_for_waiters(probe, n, limit=30):
    deadline = time.monotonic() + limit
    while probe.waiters < n and time.monotonic() < deadline:
        time.sleep(0.001)
    return probe.waiters


@pytest.mark.parametrize("sleeper, waker", list(itertools.permutations(SIDES, 2)))
def test_each_wakes_each(peers, name, sleeper, waker):
    probe = NamedSemaphore(name, 0, NamedSemaphore.Flags.RAISE_IF_EXISTS)
    blocked = subprocess.Popen(command(peers, sleeper, "wait", name, "30000"))
    try:
        assert wait_for_waiters(probe, 1) >= 1, "the sleeper never blocked"
        subprocess.run(command(peers, waker, "post", name), check=True, timeout=60)
        assert blocked.wait(60) == 0
    finally:
        if blocked.poll() is None:
            blocked.kill()
            blocked.wait()
    assert probe.value == 0
    assert probe.waiters == 0


def test_all_four_blocked_woken_by_one_release(peers, name):
    probe = NamedSemaphore(name, 0, NamedSemaphore.Flags.RAISE_IF_EXISTS)
    blocked = [subprocess.Popen(command(peers, side, "wait", name, "30000")) for side in SIDES]
    try:
        assert wait_for_waiters(probe, len(SIDES)) >= len(SIDES), "not all four blocked"
        probe.release(len(SIDES))
        assert [p.wait(60) for p in blocked] == [0] * len(SIDES)
    finally:
        for p in blocked:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert probe.value == 0
