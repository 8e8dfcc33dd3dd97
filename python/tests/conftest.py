"""Shared fixtures of the namedsem tests.

- ``name``: a semaphore name unique to this process, counter and test
  (``nsem-py-PID-N-TEST``); its ``/dev/shm`` file is removed after the test
  whatever happened.
- ``NS``: the ``NamedSemaphore`` class, once from this package (``namedsem``)
  and once from the existing package (``named_semaphores`` over
  ``posix_ipc``), for the tests that compare the two.
- ``run_python``: runs a snippet in a fresh interpreter of this venv.
"""

import itertools
import os
import re
import subprocess
import sys

import pytest

SHM = "/dev/shm"
_counter = itertools.count()


def shm_path(name):
    """The file of semaphore ``name`` (with or without its leading slash)."""
    return os.path.join(SHM, "sem." + name.lstrip("/"))


def remove_quietly(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except IsADirectoryError:
        os.rmdir(path)


@pytest.fixture
def name(request):
    """A unique semaphore name, removed from /dev/shm after the test."""
    test = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:80]
    made = f"nsem-py-{os.getpid()}-{next(_counter)}-{test}"
    yield made
    remove_quietly(shm_path(made))


@pytest.fixture
def names(request):
    """A factory of unique names, all removed after the test."""
    made = []

    def make():
        test = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:80]
        n = f"nsem-py-{os.getpid()}-{next(_counter)}-{test}"
        made.append(n)
        return n

    yield make
    for n in made:
        remove_quietly(shm_path(n))


OURS = "namedsem"
THEIRS = "named_semaphores"


def load(package):
    """The NamedSemaphore class of ``package``. The existing package's README
    imports it from the package, which 1.0.3 does not export: its module is
    ``named_semaphores.semaphore``."""
    if package == OURS:
        import namedsem

        return namedsem.NamedSemaphore
    from named_semaphores.semaphore import NamedSemaphore

    return NamedSemaphore


IMPORT_LINE = {
    OURS: "from namedsem import NamedSemaphore",
    THEIRS: "from named_semaphores.semaphore import NamedSemaphore",
}


@pytest.fixture(params=[OURS, THEIRS])
def package(request):
    return request.param


@pytest.fixture
def NS(package):
    return load(package)


def is_ours(cls):
    return cls.__module__.split(".")[0] == OURS


def run_python(code, timeout=60, **kwargs):
    """Runs ``code`` in a new interpreter of this venv; returns the
    CompletedProcess (text mode, output captured)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
