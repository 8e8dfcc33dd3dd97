#!/usr/bin/env bash
# Checks the listing API (src/list.rs) and the `nsem` tool (feature `cli`).
#
#   ci/cli.sh
#
# Formatting and lints of the area's files, the default dependency tree
# (the tool's dependencies must stay behind its feature), the listing unit and
# doc tests, the nsem unit tests, the integration tests in tests/cli.rs (which
# run the built binary against the crate and glibc's sem_*), and a short
# session with the release binary. Needs only the Rust toolchain and a POSIX
# shell with coreutils and grep (all in the base system): nothing to install.
# Runs as root or as any user. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> cli: %s\n' "$*"; }

step "formatting"
rustfmt --edition 2021 --check src/list.rs src/bin/nsem/main.rs tests/cli.rs

step "clippy (library without features, with alloc; tool and tests with cli)"
cargo clippy --lib -- -D warnings
cargo clippy --lib --features alloc -- -D warnings
cargo clippy --lib --bin nsem --test cli --features cli -- -D warnings

step "default dependency tree unchanged by the cli feature"
deps=$(cargo tree -e normal --prefix none --format '{p}' -p named-semaphores | awk '{print $1}' | sort -u | grep -v '^named-semaphores$' | tr '\n' ' ')
echo "$deps"
[ "$deps" = "bitflags linux-raw-sys rustix " ] || { echo "unexpected dependencies: $deps"; exit 1; }

step "listing: unit tests (no alloc) and doc tests"
cargo test --lib list::
cargo test --features alloc --doc list

step "nsem: unit tests and integration tests"
cargo test --features cli --bin nsem
cargo test --features cli --test cli

step "a session with the release binary"
cargo build --release --features cli --bin nsem
nsem="${CARGO_TARGET_DIR:-target}/release/nsem"
name="nsem-ci-$$"
cleanup() { rm -f "/dev/shm/sem.$name"; }
trap cleanup EXIT
"$nsem" create "$name" --value 2
"$nsem" list | grep -E "^/$name +2 +0 +0600 .* ok$"
"$nsem" info "$name" --json | grep -q "\"name\":\"/$name\",.*\"value\":2,"
out=$("$nsem" run "$name" -- "$nsem" info "$name")
echo "$out" | grep -qx 'value:   1'
"$nsem" wait "$name" --try
"$nsem" wait "$name" --try
set +e
"$nsem" wait "$name" --try 2>/dev/null; busy=$?
"$nsem" run "$name" --timeout 0.1 -- true 2>/dev/null; timed_out=$?
"$nsem" run "$name" --timeout 0 -- true 2>/dev/null; try_run=$?
set -e
[ "$busy" = 1 ] && [ "$timed_out" = 1 ] && [ "$try_run" = 1 ] || {
    echo "busy/timeout exit codes: $busy $timed_out $try_run (want 1 1 1)"; exit 1; }
"$nsem" post "$name" 2
set +e
"$nsem" run "$name" -- sh -c 'exit 5'; status=$?
set -e
[ "$status" = 5 ] || { echo "run passed on $status, want 5"; exit 1; }
"$nsem" info "$name" | grep -qx 'value:   2'
"$nsem" unlink "$name"
set +e
err=$("$nsem" info "$name" 2>&1); missing=$?
set -e
[ "$missing" = 2 ] || { echo "info on a missing semaphore exited $missing, want 2"; exit 1; }
[ "$err" = "nsem: /$name: semaphore does not exist (os error 2)" ] || { echo "message: $err"; exit 1; }
echo "cli: all checks passed"
