"""Worker functions for the multiprocessing tests: importable by name, as
the spawn and forkserver start methods need."""


def hand_back(take, give):
    """Waits for a token on ``take``, then releases one on ``give``; the exit
    code says whether the token came."""
    if not take.acquire(timeout=30):
        raise SystemExit(3)
    if take.unlink_on_delete:
        raise SystemExit(4)  # a worker's handle must never remove the name
    give.release()


def value_of(sem):
    return sem.value


def hold_until_killed(sem, held):
    """Takes a token of ``sem`` (a robust handle, reopened here from its
    pickle), says so on ``held``, and waits to be killed."""
    import time

    if not sem.robust or not sem.acquire(timeout=60):
        raise SystemExit(3)
    held.release()
    time.sleep(600)
    raise SystemExit(4)


def robust_take(sem):
    """Takes a token of ``sem`` and gives it back; returns whether the handle
    is robust, this process's id, and the holders recorded with a token
    while it held it."""
    import os

    with sem:
        recorded = [(h.pid, h.tokens) for h in sem.holders() if h.tokens]
    return sem.robust, os.getpid(), recorded
