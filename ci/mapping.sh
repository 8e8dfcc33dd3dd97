#!/usr/bin/env bash
# Checks the README's table "From Python and C" against the Python package
# itself: a venv under target/ with named-semaphores 1.0.3 from PyPI, the
# crate's `mapping` example (examples/mapping.rs), and ci/mapping.py, which
# for every row of the table makes the package's calls in its Python process
# and the crate's in the Rust one, on one semaphore, and fails on any
# disagreement (and on a row without a check, or a check without a row).
#
#   ci/mapping.sh
#
# Needs python3 with its venv module (installed with apt-get when missing:
# run as root there) and network access to PyPI the first time.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> mapping: %s\n' "$*"; }

TARGET_DIR="${CARGO_TARGET_DIR:-target}"
VENV="$TARGET_DIR/venv-mapping"

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    step "install python3-venv"
    source ci/apt.sh
    apt_install python3-venv
fi

if ! "$VENV/bin/python" -c 'import named_semaphores.semaphore' 2>/dev/null; then
    step "venv with named-semaphores 1.0.3 ($VENV)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check named-semaphores==1.0.3
fi
"$VENV/bin/python" - <<'PY'
import importlib.metadata
version = importlib.metadata.version("named-semaphores")
assert version == "1.0.3", f"the venv holds named-semaphores {version}, not 1.0.3"
PY

step "the crate's side (examples/mapping.rs)"
cargo build --quiet --example mapping --features alloc

step "each row of the table, Python and Rust on one semaphore"
"$VENV/bin/python" ci/mapping.py "$TARGET_DIR/debug/examples/mapping" README.md
