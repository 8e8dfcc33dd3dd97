"""The existing package's README examples, run unchanged but for the import
line, against both packages; each example must end the same way (its output,
or the exception it raises) with either. Then this package's own page,
docs/python.md: its Python examples run to their end.

The examples use the fixed name ``example_semaphore``, so each run gets a
``/dev/shm`` of its own: a private tmpfs in a new mount namespace
(``unshare``, as root), which also leaves the machine's ``/dev/shm`` alone.
The README is read from the installed package's metadata.
"""

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import IMPORT_LINE, OURS, THEIRS

README_IMPORT = "from named_semaphores import NamedSemaphore"

RUNNER = r"""
import contextlib, io, json, sys
blocks = json.loads(sys.argv[1])
namespace = {}
results = []
for block in blocks:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(block, "<readme>", "exec"), namespace)
        outcome = "ok"
    except Exception as e:
        outcome = type(e).__name__
    results.append([outcome, out.getvalue()])
namespace.clear()
print(json.dumps(results))
"""


def readme_blocks():
    """The README's Python code blocks, in order."""
    text = importlib.metadata.metadata("named_semaphores").get_payload()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 10, "the README's examples were not found"
    return blocks


def with_import(blocks, package):
    """The blocks, with the README's import line replaced by ``package``'s."""
    assert sum(README_IMPORT in b for b in blocks) == 1
    return [b.replace(README_IMPORT, IMPORT_LINE[package]) for b in blocks]


def run_isolated(blocks, setup=""):
    """Runs the blocks in one interpreter with a private /dev/shm; ``setup``
    runs first in the same namespace (a shell command)."""
    script = (
        "mount -t tmpfs -o mode=1777 tmpfs /dev/shm && "
        + (setup + " && " if setup else "")
        + 'exec "$0" -c "$1" "$2"'
    )
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script,
         sys.executable, RUNNER, json.dumps(blocks)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result
    return json.loads(result.stdout)


needs_namespace = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="a private /dev/shm needs root and unshare",
)


def rows(results):
    return [f"{i}: {outcome} {out!r}" for i, (outcome, out) in enumerate(results)]


@needs_namespace
def test_readme_examples_from_scratch():
    blocks = readme_blocks()
    ours = run_isolated(with_import(blocks, OURS))
    theirs = run_isolated(with_import(blocks, THEIRS))
    assert rows(ours) == rows(theirs)
    # The first examples open example_semaphore with the default flag,
    # RAISE_IF_NOT_EXISTS: on a fresh /dev/shm, FileNotFoundError with both.
    assert ours[0][0] == "FileNotFoundError"
    assert sum(o == "ok" for o, _ in ours) >= 4


@needs_namespace
def test_readme_examples_with_the_semaphore_made_first():
    # As the README's first examples assume: example_semaphore exists.
    blocks = readme_blocks()
    make = '"$0" -c "import posix_ipc; posix_ipc.Semaphore(\'/example_semaphore\', posix_ipc.O_CREX, initial_value=1)"'
    ours = run_isolated(with_import(blocks, OURS), setup=make)
    theirs = run_isolated(with_import(blocks, THEIRS), setup=make)
    assert rows(ours) == rows(theirs)
    # The examples of sections 1 to 3 (creation, acquire and release,
    # timeouts, the context manager) all run.
    assert [o for o, _ in ours[:5]] == ["ok"] * 5
    assert "Critical section protected by semaphore." in ours[2][1]


def page_blocks(page):
    """The Python code blocks of one of this package's pages (a path from
    the top of the repository)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, page), encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), re.S)
    assert len(blocks) >= 2, f"the examples of {page} were not found"
    return blocks


@needs_namespace
def test_docs_examples_run():
    # docs/python.md's examples, in order, in one interpreter with a private
    # /dev/shm (they use fixed names): each runs to its end.
    blocks = page_blocks("docs/python.md")
    results = run_isolated(blocks)
    assert [o for o, _ in results] == ["ok"] * len(blocks), rows(results)
    out = "".join(o for _, o in results)
    # The robust example's wait got the killed process's token back, and the
    # recovery after it found nothing left to do.
    assert "the device is ours\n" in out
    assert "Recovery(tokens=0, holders=0, uncertain=0, undecided=0, corrupt=0, beacons=0)\n" in out


@needs_namespace
def test_package_readme_examples_run():
    blocks = page_blocks("python/README.md")
    results = run_isolated(blocks)
    assert [o for o, _ in results] == ["ok"] * len(blocks), rows(results)
