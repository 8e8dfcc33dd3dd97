"""POSIX named semaphores for Linux, byte-compatible with glibc's sem_open.

The API of the ``named_semaphores`` package (over ``posix_ipc``), built on the
Rust crate ``named-semaphores``. Differences: ``docs/python.md``.
"""

import enum
from types import TracebackType
from typing import NamedTuple, Optional, Tuple, Type

from typing_extensions import Self, disjoint_base, final

__version__: str
VALUE_MAX: int

class InvalidSemaphoreError(OSError):
    """The file at the name is not a semaphore this process can use."""

class Recovery(NamedTuple):
    """What ``recover()`` did."""

    tokens: int
    holders: int
    uncertain: int
    undecided: int
    corrupt: int
    beacons: int

class Holder(NamedTuple):
    """One holder of a robust semaphore, as its record says."""

    pid: int
    tokens: int
    liveness: str
    pending: int
    corrupt: bool
    slot: int
    beacon: int
    pid_namespace: int

@disjoint_base
class NamedSemaphore:
    """A POSIX named semaphore (``/dev/shm/sem.NAME``)."""

    class Flags(enum.Enum):
        RAISE_IF_EXISTS = 0
        LINK_OR_CREATE = 1
        RAISE_IF_NOT_EXISTS = 2
        UNLINK_AND_CREATE = 3

    def __new__(
        cls,
        name: str,
        initial_value: int = 1,
        handle_existence: Optional[NamedSemaphore.Flags] = ...,
        unlink_on_delete: Optional[bool] = None,
        *,
        mode: int = 0o600,
        robust: bool = False,
        check_period: Optional[float] = None,
    ) -> Self: ...
    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...
    @property
    def waiters(self) -> int: ...
    @property
    def linked_existing_semaphore(self) -> bool: ...
    @property
    def unlink_on_delete(self) -> bool: ...
    @property
    def robust(self) -> bool: ...
    def recover(self) -> Recovery: ...
    def holders(self) -> list[Holder]: ...
    def acquire(self, blocking: bool = True, timeout: Optional[float] = None) -> bool: ...
    def release(self, n: int = 1) -> None: ...
    def unlink(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> bool: ...
    def __reduce__(
        self,
    ) -> Tuple[object, Tuple[str, int, int, bool, Optional[float]]]: ...

@final
class SemaphoreEntry:
    """One semaphore file found by ``list_all()``."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> Optional[int]: ...
    @property
    def waiters(self) -> Optional[int]: ...
    @property
    def owner(self) -> int: ...
    @property
    def group(self) -> int: ...
    @property
    def mode(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def valid(self) -> bool: ...

def list_all() -> list[SemaphoreEntry]: ...
def unlink(name: str) -> None: ...
def _reopen(
    name: str,
    dev: int,
    ino: int,
    robust: bool = False,
    check_period: Optional[float] = None,
) -> NamedSemaphore: ...
