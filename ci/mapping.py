"""Checks the README's table "From Python and C", row by row.

Run by ci/mapping.sh with the Python of a venv holding named-semaphores
1.0.3, and the crate's `mapping` example (examples/mapping.rs) as argv[1].
For each row, this Python process makes the package's calls and the Rust
process the crate's, on one semaphore, and the results must agree. Every row
of the README's table must have a check here, and every check a row.

Usage: python ci/mapping.py PATH/TO/examples/mapping README.md
"""

import os
import subprocess
import sys

# The import the table gives; the one the package's own README gives fails.
from named_semaphores.semaphore import NamedSemaphore

Flags = NamedSemaphore.Flags
SHM = "/dev/shm"
PID = os.getpid()
made = []  # every name used, removed at the end whatever happens


def fresh(row):
    """A name no other run or test uses."""
    name = f"mapping-{PID}-{len(made)}-{row.replace(' ', '-')}"
    made.append(name)
    return name


def path(name):
    return f"{SHM}/sem.{name.lstrip('/')}"


def exists(name):
    return os.path.exists(path(name))


def inode(name):
    return os.stat(path(name)).st_ino


class Rust:
    """The crate's side: examples/mapping.rs, one command a line."""

    def __init__(self, binary):
        self.proc = subprocess.Popen(
            [binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, *words):
        line = "\t".join(str(w) for w in words)
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not (answer.startswith("ok") or answer.startswith("err ")):
            raise AssertionError(f"rust: {line!r} answered {answer!r}")
        return answer

    def value(self, name):
        return int(self("value", name).split()[1])

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def expect(what, got, want):
    if got != want:
        raise AssertionError(f"{what}: got {got!r}, want {want!r}")


def raises(error, call):
    try:
        call()
    except error:
        return True
    return False


def shared(rs, row, value):
    """A semaphore of `value` that Python creates and the crate opens: its
    name and Python's handle (the caller drops both)."""
    name = fresh(row)
    py = NamedSemaphore(name, initial_value=value, handle_existence=Flags.RAISE_IF_EXISTS)
    rs("open", "open", name)
    return name, py


def row_import(rs):
    try:
        from named_semaphores import NamedSemaphore as _  # noqa: F401

        raise AssertionError("the package's top-level import now works")
    except ImportError:
        pass
    name = fresh("import")
    py = NamedSemaphore(name, handle_existence=Flags.RAISE_IF_EXISTS)
    expect("the crate opens what Python made", rs("open", "open", name).split()[0], "ok")
    rs("drop", name)
    del py


def row_names(rs):
    base = fresh("names")
    # (name, Python accepts, the crate accepts)
    cases = [
        (base, True, True),
        ("/" + base + "-slash", True, True),
        (base + "-café", True, True),
        (base + ".dot", False, True),
        (base + " space", False, True),
        ("//" + base + "-two", False, True),
        (base + "/inside", False, False),
        ("", False, False),
        ("n" * 251, True, True),
        ("n" * 252, False, False),
    ]
    for name, py_ok, rs_ok in cases:
        made.append(name)
        try:
            py = NamedSemaphore(name, handle_existence=Flags.RAISE_IF_EXISTS)
            got_py = True
            py.unlink()
            del py
        except ValueError:
            got_py = False
        expect(f"Python accepts {name!r}", got_py, py_ok)
        answer = rs("open", "create", name or "/", 1)
        got_rs = answer.startswith("ok")
        if got_rs:
            rs("drop", name or "/")
        else:
            expect(f"the crate's error for {name!r}", answer, "err InvalidName")
        expect(f"the crate accepts {name!r}", got_rs, rs_ok)


def row_name(rs):
    name = fresh("name")
    py = NamedSemaphore(name, handle_existence=Flags.RAISE_IF_EXISTS)
    answer = rs("open", "open", "/" + name)
    expect("name()", answer.split("name=")[1], py.name)
    expect("Python's name", py.name, "/" + name)
    rs("drop", "/" + name)
    del py


def row_defaults(rs):
    name = fresh("defaults")
    expect("Python's default on a missing name", raises(FileNotFoundError, lambda: NamedSemaphore(name)), True)
    expect("options() on a missing name", rs("open", "options", name), "err NotFound")
    py = NamedSemaphore(name, handle_existence=Flags.LINK_OR_CREATE)  # default initial_value
    rs("open", "options", name)
    expect("Python's default initial value, seen by the crate", rs.value(name), 1)
    rs("drop", name)
    del py
    other = fresh("defaults")
    rs("open", "open_or_create", other)  # options' default initial value
    expect("the crate's default initial value, seen by Python", NamedSemaphore(other).value, 1)
    rs("drop", other)
    os.unlink(path(other))


def row_create_new(rs):
    name = fresh("create-new")
    py = NamedSemaphore(name, initial_value=3, handle_existence=Flags.RAISE_IF_EXISTS)
    expect("create on Python's", rs("open", "create", name, 1), "err AlreadyExists")
    rs("open", "open", name)
    expect("value", rs.value(name), 3)
    rs("drop", name)
    del py
    other = fresh("create-new")
    rs("open", "create", other, 2)
    expect(
        "RAISE_IF_EXISTS on the crate's",
        raises(FileExistsError, lambda: NamedSemaphore(other, handle_existence=Flags.RAISE_IF_EXISTS)),
        True,
    )
    expect("value", NamedSemaphore(other).value, 2)
    rs("drop", other)


def row_open_or_create(rs):
    name = fresh("open-or-create")
    py = NamedSemaphore(name, initial_value=2, handle_existence=Flags.LINK_OR_CREATE)
    expect("open_or_create on Python's", rs("open", "open_or_create", name, 5).split()[1], "created=false")
    expect("value kept", rs.value(name), 2)
    rs("drop", name)
    del py
    other = fresh("open-or-create")
    expect("open_or_create creates", rs("open", "open_or_create", other, 4).split()[1], "created=true")
    py = NamedSemaphore(other, initial_value=9, handle_existence=Flags.LINK_OR_CREATE)
    expect("LINK_OR_CREATE links", (py.linked_existing_semaphore, py.value), (True, 4))
    del py
    rs("drop", other)
    os.unlink(path(other))


def row_open_existing(rs):
    name = fresh("open-existing")
    expect("open of a missing name", rs("open", "open", name), "err NotFound")
    expect(
        "RAISE_IF_NOT_EXISTS of a missing name",
        raises(FileNotFoundError, lambda: NamedSemaphore(name, handle_existence=Flags.RAISE_IF_NOT_EXISTS)),
        True,
    )
    rs("open", "create", name, 6)
    py = NamedSemaphore(name, handle_existence=Flags.RAISE_IF_NOT_EXISTS)
    expect("one semaphore", py.value, 6)
    del py
    rs("drop", name)


def row_replace(rs):
    name = fresh("replace")
    py = NamedSemaphore(name, initial_value=1, handle_existence=Flags.RAISE_IF_EXISTS, unlink_on_delete=False)
    old = inode(name)
    rs("open", "replace", name, 4)
    expect("the crate replaced Python's", (inode(name) != old, py.value, rs.value(name)), (True, 1, 4))
    newer = NamedSemaphore(name, initial_value=7, handle_existence=Flags.UNLINK_AND_CREATE)
    expect("Python replaced the crate's", (rs.value(name), newer.value), (4, 7))
    rs("open", "open", name)
    expect("the name is Python's now", rs.value(name), 7)
    rs("drop", name)
    rs("drop", name)  # the replaced one: the name is not its own any more
    expect("the crate's drop spared the newer semaphore", exists(name), True)
    del py
    del newer


def row_created(rs):
    name = fresh("created")
    py = NamedSemaphore(name, handle_existence=Flags.LINK_OR_CREATE)
    expect("Python created", py.linked_existing_semaphore, False)
    expect("the crate opened", rs("open", "open_or_create", name).split()[1], "created=false")
    expect("created()", rs("created", name), "ok false")
    rs("drop", name)
    del py
    other = fresh("created")
    rs("open", "create", other, 1)
    expect("created()", rs("created", other), "ok true")
    py = NamedSemaphore(other)
    expect("Python linked", py.linked_existing_semaphore, True)
    del py
    rs("drop", other)


def row_hold_a_token(rs):
    name, py = shared(rs, "hold", 2)
    with py:
        expect("inside `with sem:`", rs.value(name), 1)
    expect("after `with sem:`", rs.value(name), 2)
    rs("hold", name)
    expect("while the permit lives", py.value, 1)
    rs("let_go", name)
    expect("after the permit's scope", py.value, 2)
    rs("drop", name)
    del py


def row_take_a_token(rs):
    name, py = shared(rs, "take", 2)
    expect("acquire()", py.acquire(), True)
    expect("after Python's bare acquire", rs.value(name), 1)
    rs("forget", name)
    expect("after acquire()?.forget()", py.value, 0)
    rs("drop", name)
    expect("the tokens stay taken", py.value, 0)
    del py


def row_try(rs):
    name, py = shared(rs, "try", 1)
    expect("Python takes the token", py.acquire(blocking=False), True)
    expect("the crate finds none", rs("try", name), "ok false")
    py.release()
    expect("the crate takes it", rs("try", name), "ok true")
    expect("Python finds none", py.acquire(blocking=False), False)
    rs("drop", name)
    del py


def row_timeout(rs):
    name, py = shared(rs, "timeout", 0)
    expect("Python times out", py.acquire(timeout=0.02), False)
    expect("the crate times out", rs("timeout", name, 20), "ok false")
    py.release()
    expect("the crate gets it", rs("timeout", name, 20), "ok true")
    rs("release", name, 1)
    expect("Python gets it", py.acquire(timeout=0.02), True)
    expect("both kept their tokens", py.value, 0)
    rs("drop", name)
    del py


def row_release(rs):
    name, py = shared(rs, "release", 0)
    py.release(3)
    expect("release(3)", rs.value(name), 3)
    rs("release", name, 2)
    expect("release_n(2)", py.value, 5)
    py.release()
    rs("release", name, 1)
    expect("release()", py.value, 7)
    rs("drop", name)
    del py


def row_value(rs):
    name, py = shared(rs, "value", 5)
    py.acquire()
    rs("forget", name)
    expect("value", (py.value, rs.value(name)), (3, 3))
    rs("drop", name)
    del py


def row_unlink(rs):
    name = fresh("unlink")
    py = NamedSemaphore(name, handle_existence=Flags.RAISE_IF_EXISTS, unlink_on_delete=False)
    py.unlink()
    expect("open after Python's unlink", rs("open", "open", name), "err NotFound")
    expect("unlink again", rs("unlink", name), "err NotFound")
    del py
    other = fresh("unlink")
    rs("open", "create", other, 1, "keep")
    rs("unlink", other)
    expect("Python after the crate's unlink", raises(FileNotFoundError, lambda: NamedSemaphore(other)), True)
    rs("drop", other)


def row_unlink_on_drop(rs):
    name = fresh("unlink-on-drop")
    py = NamedSemaphore(name, handle_existence=Flags.RAISE_IF_EXISTS, unlink_on_delete=False)
    expect("unlink_on_delete=False", py.unlink_on_delete, False)
    del py
    expect("Python's creator kept the name", exists(name), True)
    rs("open", "open", name, "unlink")
    expect("unlinks_on_drop()", rs("unlinks", name), "ok true")
    rs("drop", name)
    expect("unlink_on_drop(true) removed it", exists(name), False)
    other = fresh("unlink-on-drop")
    rs("open", "create", other, 1)
    rs("set_unlink_on_drop", other, "false")
    rs("drop", other)
    expect("set_unlink_on_drop(false) kept it", exists(other), True)
    py = NamedSemaphore(other, unlink_on_delete=True)
    del py
    expect("unlink_on_delete=True removed it", exists(other), False)


def row_drop(rs):
    # A creator through LINK_OR_CREATE: Python's delete unlinks, the crate's drop does not.
    name = fresh("drop")
    py = NamedSemaphore(name, handle_existence=Flags.LINK_OR_CREATE)
    del py
    expect("Python's LINK_OR_CREATE creator unlinked", exists(name), False)
    rs("open", "open_or_create", name)
    rs("drop", name)
    expect("the crate's open_or_create creator did not", exists(name), True)
    os.unlink(path(name))
    # The name replaced since: Python's delete removes the newcomer's name.
    name = fresh("drop")
    py = NamedSemaphore(name, handle_existence=Flags.RAISE_IF_EXISTS)
    rs("open", "replace", name, 1, "keep")
    newcomer = inode(name)
    del py
    expect("Python's delete unlinked the newcomer", exists(name), False)
    rs("drop", name)
    # The crate's drop spares it.
    name = fresh("drop")
    rs("open", "create", name, 1)
    py = NamedSemaphore(name, handle_existence=Flags.UNLINK_AND_CREATE, unlink_on_delete=False)
    newcomer = inode(name)
    rs("drop", name)
    expect("the crate's drop spared the newcomer", (exists(name), inode(name)), (True, newcomer))
    del py


def row_errors(rs):
    name = fresh("errors")
    expect("missing", (rs("open", "open", name), raises(FileNotFoundError, lambda: NamedSemaphore(name))), ("err NotFound", True))
    rs("open", "create", name, 1)
    expect(
        "existing",
        (rs("open", "create", name, 1), raises(FileExistsError, lambda: NamedSemaphore(name, handle_existence=Flags.RAISE_IF_EXISTS))),
        ("err AlreadyExists", True),
    )
    rs("drop", name)
    bad = "bad/name"
    expect("invalid", (rs("open", "create", bad, 1), raises(ValueError, lambda: NamedSemaphore(bad))), ("err InvalidName", True))


CHECKS = {
    "import": row_import,
    "names": row_names,
    "name": row_name,
    "defaults": row_defaults,
    "create new": row_create_new,
    "open or create": row_open_or_create,
    "open existing": row_open_existing,
    "replace": row_replace,
    "created": row_created,
    "hold a token": row_hold_a_token,
    "take a token": row_take_a_token,
    "try": row_try,
    "timeout": row_timeout,
    "release": row_release,
    "value": row_value,
    "unlink": row_unlink,
    "unlink on drop": row_unlink_on_drop,
    "drop": row_drop,
    "errors": row_errors,
}


def table_rows(readme):
    """The first cell of each row of the README's Python table."""
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    section = text.split("## From Python and C", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] not in ("row", "---"):
            rows.append(cells[0])
    return rows


def main():
    binary, readme = sys.argv[1], sys.argv[2]
    rows = table_rows(readme)
    expect("the README's rows and the checks", sorted(rows), sorted(CHECKS))
    rs = Rust(binary)
    passed = failed = 0
    try:
        for row in rows:
            try:
                CHECKS[row](rs)
                passed += 1
                print(f"ok      {row}")
            except AssertionError as e:
                failed += 1
                print(f"FAILED  {row}: {e}")
    finally:
        rs.close()
        for name in made:
            try:
                os.unlink(path(name or "/"))
            except (FileNotFoundError, IsADirectoryError, OSError):
                pass
    print(f"mapping: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
