#!/usr/bin/env bash
# Checks the listing API (src/list.rs, src/users.rs) and the `nsem` tool
# (the nsem/ package).
#
#   ci/cli.sh
#
# Formatting and lints of the area's files (the tool's dependencies stay in
# its own package; .ci/run checks the library's tree), the listing unit and
# doc tests (the nsem package's own tests run in .ci/run's workspace test
# command), the build without user names,
# `cargo install --path nsem`, and a short session with the release binary.
# The static musl build and its size check are in benches/size/run.sh.
# Needs only the Rust toolchain and a POSIX shell with coreutils and grep
# (all in the base system): nothing to install. Runs as root or as any user.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> cli: %s\n' "$*"; }

step "formatting"
rustfmt --edition 2021 --check src/list.rs src/users.rs src/users/proc_text.rs
cargo fmt -p nsem --check

step "clippy (library without features, with alloc; the tool with and without user names)"
cargo clippy --lib -- -D warnings
cargo clippy --lib --features alloc -- -D warnings
cargo clippy -p nsem --all-targets -- -D warnings
cargo clippy -p nsem --no-default-features -- -D warnings

step "listing: unit tests (no alloc) and doc tests"
cargo test --lib -- list:: users::
cargo test --features alloc --doc list
cargo test --doc users

step "nsem without user names: owners as numbers"
CARGO_TARGET_DIR=target/nsem-numeric cargo test -p nsem --no-default-features --bin nsem
CARGO_TARGET_DIR=target/nsem-numeric cargo build -p nsem --no-default-features
numeric=target/nsem-numeric/debug/nsem

step "cargo install --path nsem"
CARGO_TARGET_DIR=target cargo install --locked --debug --path nsem --root target/nsem-install
[ -x target/nsem-install/bin/nsem ] || { echo "cargo install left no nsem"; exit 1; }

step "a session with the release binary"
cargo build --release -p nsem
nsem="${CARGO_TARGET_DIR:-target}/release/nsem"
name="nsem-ci-$$"
cleanup() { rm -f "/dev/shm/sem.$name" "/dev/shm/sem.$name-r"; }
trap cleanup EXIT
"$nsem" create "$name" --value 2
"$nsem" list | grep -E "^/$name +2 +0 +0600 .* ok$"
owner="$(id -u):$(id -g)"
"$numeric" list | grep -E "^/$name +2 +0 +0600 +$owner +ok$"
"$nsem" info "$name" --json | grep -q "\"name\":\"/$name\",.*\"value\":2,"
out=$("$nsem" run "$name" -- "$nsem" info "$name")
echo "$out" | grep -qx 'value:   1'
echo "$out" | grep -q '^used by: '
"$nsem" wait "$name" --try
"$nsem" wait "$name" --try
set +e
"$nsem" wait "$name" --try 2>/dev/null; busy=$?
"$nsem" run "$name" --timeout 0.1 -- true 2>/dev/null; timed_out=$?
"$nsem" run "$name" --timeout 0 -- true 2>/dev/null; try_run=$?
"$nsem" run "$name" --try -- true 2>/dev/null; try_flag=$?
"$nsem" create "$name-2" --value 3000000000 2>/dev/null; too_big=$?
"$nsem" --dir list 2>/dev/null; no_dir=$?
set -e
[ "$busy $timed_out $try_run $try_flag" = "1 1 1 1" ] || {
    echo "busy/timeout/try exit codes: $busy $timed_out $try_run $try_flag (want 1 1 1 1)"; exit 1; }
[ "$too_big $no_dir" = "64 64" ] || { echo "usage errors exited $too_big $no_dir, want 64 64"; exit 1; }
"$nsem" help run | grep -q '^Usage: nsem run '
"$nsem" post "$name" 2
set +e
"$nsem" run "$name" -- sh -c 'exit 5'; status=$?
set -e
[ "$status" = 5 ] || { echo "run passed on $status, want 5"; exit 1; }
"$nsem" info "$name" | grep -qx 'value:   2'
"$nsem" list --watch 0.1 --count 2 | grep -c "^/$name " | grep -qx 2
set +e
"$nsem" recover "$name" 2>/dev/null; not_robust=$?
set -e
[ "$not_robust" = 2 ] || { echo "recover on a plain semaphore exited $not_robust, want 2"; exit 1; }
"$nsem" unlink "$name"
"$nsem" create "$name-r" --robust --value 1
"$nsem" list "$name-r" | grep -E "^/$name-r +1 +0 +0600 .* ok, robust$"
set +e
timeout --foreground -s KILL 1 "$nsem" run --robust "$name-r" -- sleep 2; killed=$?
set -e
[ "$killed" = 137 ] || { echo "the killed run exited $killed, want 137"; exit 1; }
"$nsem" info "$name-r" | grep -qE '^ +[0-9]+ +1  dead$'
"$nsem" recover "$name-r" | grep -qx "/$name-r: gave back 1 token of 1 dead holder; value now 1"
"$nsem" unlink "$name-r"
set +e
err=$("$nsem" info "$name" 2>&1); missing=$?
set -e
[ "$missing" = 2 ] || { echo "info on a missing semaphore exited $missing, want 2"; exit 1; }
echo "$err" | grep -q "^nsem: .*/$name.*does not exist" || { echo "message: $err"; exit 1; }
echo "cli: all checks passed"
