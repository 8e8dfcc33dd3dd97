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
