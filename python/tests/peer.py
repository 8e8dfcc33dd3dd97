"""The Python side of the interop checks, with the commands of the crate's
``examples/peer.rs`` and ``ci/cross/peer.c``, on either package:

    peer.py PACKAGE wait NAME MILLIS   take a token within MILLIS; exit 0, or 3 on timeout
    peer.py PACKAGE post NAME          release one token; exit 0

PACKAGE is ``namedsem`` or ``named_semaphores``. Any error exits 1.
"""

import sys


def main(argv):
    package, command, name = argv[1:4]
    if package == "namedsem":
        from namedsem import NamedSemaphore
    else:
        from named_semaphores.semaphore import NamedSemaphore
    sem = NamedSemaphore(name, handle_existence=NamedSemaphore.Flags.RAISE_IF_NOT_EXISTS)
    if command == "wait":
        return 0 if sem.acquire(timeout=int(argv[4]) / 1000) else 3
    if command == "post":
        sem.release()
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
