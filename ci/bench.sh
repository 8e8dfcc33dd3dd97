#!/usr/bin/env bash
# Performance, CI size: a QUICK smoke run that proves every
# benchmark case runs (crate and glibc side by side; tiny iteration counts,
# so the figures it prints mean nothing), the no-allocation test, a build
# with the spin left out (the switch the measurements use), and the static
# size comparison. The full measurement is `cargo bench --bench vs_glibc`
# (see docs/performance.md); it is not run here.
#
#   ci/bench.sh          about 3 minutes on 2 cores, builds included
#
# Runs as root; installs musl-tools (musl-gcc) if missing. Exits non-zero on
# the first failed check.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> bench: %s\n' "$*"; }

step "tools"
if ! command -v musl-gcc >/dev/null || ! command -v gcc >/dev/null \
    || [ ! -e "$(gcc -print-file-name=libc.a)" ]; then
    source ci/apt.sh
    apt_install musl-tools gcc libc6-dev
fi
musl-gcc --version | head -1

step "formatting of the bench files"
rustfmt --edition 2021 --check benches/vs_glibc/main.rs tests/no_alloc.rs src/raw/spin.rs \
    benches/size/src/lib.rs

step "no allocation on any path (counting global allocator)"
cargo test --all-features --test no_alloc

step "benchmarks, quick smoke run"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo bench --bench vs_glibc -- --quick | tee "$log"
rows=$(grep -c '^| [1-8] ' "$log" || true)
# 2 + 4 ping-pong placements (2 on a one-CPU machine) + 5 contended + 1 + 3 + 2
# + 10 (case 8: 5 peers, 2 rows each).
want=27
[ "$(nproc)" -ge 2 ] || want=25
if [ "$rows" -ne "$want" ]; then
    echo "expected $want benchmark rows, got $rows" >&2
    exit 1
fi
# Case 4's fairness figures, printed below the table.
notes=$(grep -c '^4 re-takes, [24] processes: crate ' "$log" || true)
if [ "$notes" -ne 2 ]; then
    echo "expected 2 re-take lines below the table, got $notes" >&2
    exit 1
fi
# Case 9, the robust mode's permit pair against a plain handle's.
grep -q '^| 9 acquire + release, uncontended, permit ' "$log" ||
    { echo "the robust mode's case 9 did not run" >&2; exit 1; }
if ls /dev/shm/ | grep -q '^nsem-holder\.'; then
    echo "the benchmark left beacon files behind" >&2
    exit 1
fi
if ls /dev/shm/ | grep -q '^\(sem\.\)\?nsem-bench-'; then
    echo "the benchmark left semaphore or lock files behind" >&2
    exit 1
fi

step "the spin can be left out (cfg named_semaphores_no_spin) and the crate still works"
RUSTFLAGS="--cfg named_semaphores_no_spin" CARGO_TARGET_DIR=target/no-spin \
    cargo test --lib --all-features -q

step "size of a minimal static program: crate vs musl's and glibc's sem_*"
benches/size/run.sh
