"""What this package adds to the existing one: the file mode, listing,
typed errors for hostile files, pickling by name (multiprocessing under
fork, spawn and forkserver), the module-level unlink, subclassing, and its
type stubs."""

import errno
import gc
import importlib.util
import multiprocessing
import os
import pickle
import stat
import subprocess
import sys
import threading
import time

import pytest

import namedsem
from namedsem import InvalidSemaphoreError, NamedSemaphore

from conftest import remove_quietly, run_python, shm_path
import workers

Flags = NamedSemaphore.Flags


def create(name, value=1, **kw):
    return NamedSemaphore(name, value, Flags.RAISE_IF_EXISTS, **kw)


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -------------------------------------------------------------------- mode --


def test_default_mode_is_0600(name):
    sem = create(name)
    assert stat.S_IMODE(os.stat(shm_path(name)).st_mode) == 0o600 & ~current_umask()


@pytest.mark.parametrize("mode", [0o640, 0o400, 0o666])
def test_mode_of_a_new_semaphore(name, mode):
    sem = create(name, mode=mode)
    assert stat.S_IMODE(os.stat(shm_path(name)).st_mode) == mode & ~current_umask()
    assert sem.value == 1


def test_mode_out_of_range(name):
    with pytest.raises(ValueError):
        create(name, mode=0o10000)
    with pytest.raises((TypeError, OverflowError)):
        create(name, mode=-1)
    assert not os.path.exists(shm_path(name))


# ----------------------------------------------------------------- listing --


def entries_named(*names):
    wanted = {"/" + n for n in names}
    return {e.name: e for e in namedsem.list_all() if e.name in wanted}


def test_list_all_shows_value_waiters_owner(names):
    a, b = names(), names()
    sa = create(a, 3, mode=0o640)
    sb = create(b, 0)
    blocked = threading.Thread(target=lambda: sb.acquire(timeout=30))
    blocked.start()
    try:
        deadline = time.monotonic() + 10
        while sb.waiters == 0 and time.monotonic() < deadline:
            time.sleep(0.001)
        found = entries_named(a, b)
        assert set(found) == {"/" + a, "/" + b}
        ea, eb = found["/" + a], found["/" + b]
        assert (ea.value, ea.waiters) == (3, 0)
        assert (eb.value, eb.waiters) == (0, 1)
        for e in (ea, eb):
            assert e.owner == os.geteuid() and e.group == os.getegid()
            assert e.status == "ok" and e.valid
            assert e.size == os.path.getsize(shm_path(e.name))
        assert ea.mode == 0o640 & ~current_umask()
        assert repr(ea).startswith(f"SemaphoreEntry(name='/{a}', value=3, waiters=0, owner=")
    finally:
        sb.release()
        blocked.join()
    del sa


def test_list_all_reports_hostile_files_without_opening_them(names):
    empty, short = names(), names()
    open(shm_path(empty), "w").close()
    with open(shm_path(short), "wb") as f:
        f.write(b"\0" * 3)
    found = entries_named(empty, short)
    for n in (empty, short):
        e = found["/" + n]
        assert (e.status, e.valid, e.value, e.waiters) == ("wrong-size", False, None, None)


def test_listed_names_open_the_same_semaphore(name):
    sem = create(name, 2)
    (entry,) = entries_named(name).values()
    again = NamedSemaphore(entry.name)
    assert again.acquire(False) and sem.value == 1


# ----------------------------------------------------------------- hostile --


def make_directory(path):
    os.mkdir(path)


def make_symlink(path):
    os.symlink("/dev/null", path)


def make_fifo(path):
    os.mkfifo(path)


def make_short_file(path):
    with open(path, "wb") as f:
        f.write(b"\0" * 16)


def make_bad_header(path):
    with open(path, "wb") as f:
        f.write(b"\xff" * 32)


@pytest.mark.parametrize(
    "make, err",
    [
        (make_directory, errno.EISDIR),
        (make_symlink, errno.ELOOP),
        (make_fifo, errno.ENODEV),
        (make_short_file, errno.EINVAL),
        (make_bad_header, errno.EINVAL),
    ],
)
@pytest.mark.parametrize("flag", [Flags.RAISE_IF_NOT_EXISTS, Flags.LINK_OR_CREATE])
def test_hostile_files_raise_invalid_semaphore_error(name, make, err, flag):
    make(shm_path(name))
    with pytest.raises(InvalidSemaphoreError) as info:
        NamedSemaphore(name, handle_existence=flag)
    assert isinstance(info.value, OSError)
    assert info.value.errno == err
    assert name[:30] in str(info.value)  # the start: long names are cut
    assert os.path.lexists(shm_path(name))  # left as it was


def test_errors_carry_their_errno(name):
    with pytest.raises(FileNotFoundError) as info:
        NamedSemaphore(name)
    assert info.value.errno == errno.ENOENT
    sem = create(name)
    with pytest.raises(FileExistsError) as info:
        create(name)
    assert info.value.errno == errno.EEXIST
    del sem


# ---------------------------------------------------------------- pickling --


def test_pickle_reopens_by_name(name):
    sem = create(name, 2)
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        copy = pickle.loads(pickle.dumps(sem, protocol))
        assert isinstance(copy, NamedSemaphore)
        assert copy.name == sem.name
        assert copy.linked_existing_semaphore and not copy.unlink_on_delete
        assert copy.acquire(False)
        assert sem.value == 1
        copy.release()
        del copy
        gc.collect()
        assert os.path.exists(shm_path(name))


def test_pickle_of_an_unlinked_or_replaced_semaphore(name):
    sem = create(name, 1)
    data = pickle.dumps(sem)
    sem.unlink()
    with pytest.raises(FileNotFoundError):
        pickle.loads(data)
    newcomer = create(name, 1)
    with pytest.raises(FileNotFoundError, match="replaced since it was pickled"):
        pickle.loads(data)
    del newcomer


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_worker(names, method):
    ctx = multiprocessing.get_context(method)
    take = create(names(), 0)
    give = create(names(), 0)
    worker = ctx.Process(target=workers.hand_back, args=(take, give))
    worker.start()
    try:
        take.release()
        assert give.acquire(timeout=60)
    finally:
        worker.join(60)
    assert worker.exitcode == 0
    assert os.path.exists(shm_path(take.name)) and os.path.exists(shm_path(give.name))
    assert take.value == 0 and give.value == 0


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_pool(name, method):
    sem = create(name, 5)
    with multiprocessing.get_context(method).Pool(1) as pool:
        assert pool.apply(workers.value_of, (sem,)) == 5
    assert os.path.exists(shm_path(name))


# ------------------------------------------------------------------ others --


def test_module_unlink(name):
    sem = create(name, 1)
    namedsem.unlink(name)
    assert not os.path.exists(shm_path(name))
    with pytest.raises(FileNotFoundError):
        namedsem.unlink(name)
    assert sem.acquire(False)


def test_subclass(name):
    class Limited(NamedSemaphore):
        def in_use(self):
            return self.value == 0

    sem = Limited(name, 1, Flags.RAISE_IF_EXISTS)
    with sem:
        assert sem.in_use()
    assert repr(sem).startswith(f"<{__name__}.test_subclass.<locals>.Limited name='/{name}'")


def test_waiters(name):
    sem = create(name, 0)
    assert sem.waiters == 0
    got = []
    t = threading.Thread(target=lambda: got.append(sem.acquire(timeout=30)))
    t.start()
    deadline = time.monotonic() + 10
    while sem.waiters == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert sem.waiters == 1
    sem.release()
    t.join()
    assert got == [True] and sem.waiters == 0


REPLACER = """
from namedsem import NamedSemaphore
for _ in range(300):
    NamedSemaphore({name!r}, handle_existence=NamedSemaphore.Flags.UNLINK_AND_CREATE,
                   unlink_on_delete=False)
"""


def test_unlink_and_create_never_leaves_the_name_missing(name):
    create(name, unlink_on_delete=False)
    replacer = subprocess.Popen([sys.executable, "-c", REPLACER.format(name=name)])
    opened = missing = 0
    try:
        while replacer.poll() is None:
            try:
                NamedSemaphore(name)
                opened += 1
            except FileNotFoundError:
                missing += 1
    finally:
        replacer.wait(60)
    assert replacer.returncode == 0
    assert opened > 0 and missing == 0


# ------------------------------------------------------------------- stubs --


def test_stub_and_py_typed_are_installed():
    pkg = os.path.dirname(namedsem.__file__)
    assert os.path.isfile(os.path.join(pkg, "py.typed"))
    assert os.path.isfile(os.path.join(pkg, "__init__.pyi"))


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="needs mypy")
def test_stub_matches_the_module():
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "namedsem", "--ignore-missing-stub"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="needs mypy")
def test_stub_types_a_user_program(tmp_path):
    program = tmp_path / "user.py"
    program.write_text(
        "from namedsem import NamedSemaphore, list_all\n"
        "sem = NamedSemaphore('jobs', 3, NamedSemaphore.Flags.LINK_OR_CREATE, mode=0o660)\n"
        "ok: bool = sem.acquire(timeout=0.5)\n"
        "with sem as held:\n"
        "    n: int = held.value\n"
        "names: list[str] = [e.name for e in list_all()]\n"
        "robust = NamedSemaphore('jobs', robust=True, check_period=0.05)\n"
        "given: int = robust.recover().tokens\n"
        "alive: list[str] = [h.liveness for h in robust.holders()]\n"
        "bad: str = sem.value\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(program)],
        capture_output=True, text=True, timeout=300,
    )
    # Exactly the one deliberate error: value is an int.
    assert result.returncode == 1, result.stdout
    errors = [l for l in result.stdout.splitlines() if ": error:" in l]
    assert len(errors) == 1 and "user.py:10" in errors[0], result.stdout
