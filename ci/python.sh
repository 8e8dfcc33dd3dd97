#!/usr/bin/env bash
# The Python package (python/, `namedsem`): formatting and clippy of its Rust
# code, the wheel built with maturin in a venv, installed, and its tests run
# against it and the existing `named_semaphores` package from PyPI (the
# comparison, the README examples, interop with posix_ipc and Rust and C
# peers, multiprocessing, the stubs), a smoke run of the benchmark, and the
# documented `pip install ./python` in a fresh venv.
#
#   ci/python.sh          a few minutes on 2 cores, builds included
#
# Runs as root (the tests switch to `nobody` and use a private /dev/shm in a
# mount namespace); installs python3-venv, python3-dev, gcc and strace from
# Debian if missing, and maturin, pytest, mypy and named-semaphores==1.0.3
# from PyPI into target/python-venv. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n==> python: %s\n' "$*"; }

# Debian's interpreter: readable by every user, which the permission tests
# need (an interpreter under /root is not).
PY=/usr/bin/python3

step "tools"
if [ ! -x "$PY" ] || ! "$PY" -c 'import venv, ensurepip' 2>/dev/null \
    || ! command -v gcc >/dev/null || ! command -v strace >/dev/null \
    || ! command -v unshare >/dev/null; then
    source ci/apt.sh
    apt_install python3 python3-venv python3-dev gcc libc6-dev strace util-linux
fi
"$PY" --version

step "formatting and clippy of python/"
(cd python && cargo fmt --check && cargo clippy --all-targets -- -D warnings)

step "venv: maturin, pytest, mypy and named-semaphores 1.0.3 from PyPI"
VENV=$ROOT/target/python-venv
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet maturin pytest mypy named-semaphores==1.0.3
"$VENV/bin/pip" list 2>/dev/null | grep -Ei '^(maturin|pytest|mypy|named.semaphores|posix.ipc) '

step "the wheel (maturin build --release), installed"
rm -rf python/target/wheels
(cd python && "$VENV/bin/maturin" build --release)
wheels=(python/target/wheels/namedsem-*-abi3-*.whl)
[ "${#wheels[@]}" -eq 1 ] && [ -f "${wheels[0]}" ] || { echo "expected one abi3 wheel"; exit 1; }
"$VENV/bin/pip" install --quiet --force-reinstall "${wheels[0]}"

step "tests: both packages compared, README examples, interop, multiprocessing, stubs"
shm_files() { ls /dev/shm | grep -E '^sem\.nsem-(py|pybench)-' | sort || true; }
before=$(shm_files)
(cd python && "$VENV/bin/python" -m pytest tests -ra)

step "benchmark, quick smoke run (the figures mean little)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$VENV/bin/python" python/bench/bench.py --quick | tee "$log"
rows=$(grep -c '^| [a-z].* | [0-9.]* |$' "$log" || true)
want=4
[ "$(nproc)" -ge 2 ] || want=3
[ "$rows" -eq "$want" ] || { echo "expected $want benchmark rows, got $rows"; exit 1; }

if [ "$(shm_files)" != "$before" ]; then
    echo "the tests or the benchmark left semaphore files behind:"
    comm -13 <(echo "$before") <(shm_files)
    exit 1
fi

step "pip install ./python in a fresh venv (the documented install)"
FRESH=$ROOT/target/python-venv-fresh
rm -rf "$FRESH"
"$PY" -m venv "$FRESH"
"$FRESH/bin/pip" install --quiet ./python
(cd / && "$FRESH/bin/python" -c 'import namedsem; print("namedsem", namedsem.__version__, "imports from", namedsem.__file__)')
rm -rf "$FRESH"
