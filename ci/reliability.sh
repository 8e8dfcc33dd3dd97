#!/usr/bin/env bash
# Reliability checks (issue 4): model checking of the post/wait protocol of
# both glibc layouts with loom, the multi-process stress, fault and hostile
# input suites, the clock a timed wait sleeps on (strace), and fuzzing of
# names and of the counter logic with cargo-fuzz (nightly toolchain).
#
#   ci/reliability.sh            CI size (a few minutes on 2 cores)
#   RELIABILITY_LONG=1 ci/reliability.sh
#                                long run: 50,000 operations per process,
#                                100,000 property cases, loom with 3
#                                preemptions, 10 minutes per fuzz target
#
# Sizes can also be set one by one: NSEM_STRESS_ITERS, NSEM_FUZZ_CASES,
# LOOM_MAX_PREEMPTIONS, FUZZ_SECONDS. Runs as root (installs strace, and
# cargo-fuzz if missing; the SIGKILL/permission tests switch to `nobody`).
# Exits non-zero on the first failed check.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> reliability: %s\n' "$*"; }

if [ "${RELIABILITY_LONG:-0}" = 1 ]; then
    : "${NSEM_STRESS_ITERS:=50000}" "${NSEM_FUZZ_CASES:=100000}"
    : "${LOOM_MAX_PREEMPTIONS:=3}" "${FUZZ_SECONDS:=600}"
fi
: "${NSEM_STRESS_ITERS:=4000}" "${NSEM_FUZZ_CASES:=3000}"
: "${LOOM_MAX_PREEMPTIONS:=2}" "${FUZZ_SECONDS:=60}"
export NSEM_STRESS_ITERS NSEM_FUZZ_CASES LOOM_MAX_PREEMPTIONS

step "tools"
if ! command -v strace >/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends strace
fi
strace -V | head -1

step "formatting"
rustfmt --edition 2021 --check src/sync.rs src/model.rs tests/stress.rs \
    tests/faults.rs tests/hostile.rs fuzz/fuzz_targets/*.rs

step "loom: clippy of the model build"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
    cargo clippy --profile test --lib -- -D warnings

step "loom: both layouts, preemption bound $LOOM_MAX_PREEMPTIONS"
start=$SECONDS
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
    cargo test --release --lib model -- --nocapture --test-threads=2
echo "loom model check: $((SECONDS - start)) s"

step "stress ($NSEM_STRESS_ITERS operations per process), faults, hostile ($NSEM_FUZZ_CASES name cases)"
shm_files() { ls /dev/shm | grep -E 'nsem-(test|fuzz)-' | sort || true; }
shm_before=$(shm_files)
cargo test --all-features --test stress --test faults --test hostile -- --nocapture 2>&1 |
    tee target/reliability-tests.log
grep -E '^test result: ok\. [1-9][0-9]* passed; 0 failed' target/reliability-tests.log >/dev/null

step "timed waits sleep on CLOCK_MONOTONIC (strace of the futex calls)"
faults=$(cargo test --all-features --test faults --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*faults-[^"]*"' | head -1 | cut -d'"' -f4)
[ -x "$faults" ] || { echo "faults test binary not found"; exit 1; }
strace -f -qq -e trace=futex -o target/reliability-futex.log \
    "$faults" --exact timed_wait_runs_out_on_its_deadline --test-threads=1 -q
timed=$(grep -E 'FUTEX_WAIT_BITSET.*\{tv_sec=' target/reliability-futex.log || true)
echo "$timed"
[ -n "$timed" ] || { echo "no timed futex wait seen"; exit 1; }
if grep -q 'FUTEX_CLOCK_REALTIME' <<<"$timed"; then
    echo "a timed wait used CLOCK_REALTIME"
    exit 1
fi
# The deadline is absolute on CLOCK_MONOTONIC (seconds since boot), far
# below any wall-clock time (seconds since 1970).
secs=$(sed -E 's/.*tv_sec=([0-9]+).*/\1/' <<<"$timed" | sort -n | tail -1)
now_real=$(date +%s)
[ "$secs" -lt $((now_real / 2)) ] || { echo "deadline $secs looks like wall-clock time"; exit 1; }
echo "timed wait: FUTEX_WAIT_BITSET, absolute CLOCK_MONOTONIC deadline (tv_sec=$secs, wall clock $now_real)"

step "Miri"
if cargo +nightly miri --version >/dev/null 2>&1; then
    cargo +nightly miri test --lib raw::
else
    echo "Miri is not installed for the nightly toolchain on this machine and"
    echo "rustup cannot download it: NOT RUN."
fi

step "fuzzing with cargo-fuzz, $FUZZ_SECONDS s per target"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "no nightly toolchain: cargo-fuzz cannot run"
    exit 1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
cleanup() { rm -rf /dev/shm/nsem-fuzz-*; }
trap cleanup EXIT
for target in names counter; do
    (cd fuzz && cargo +nightly fuzz run "$target" -- \
        -max_total_time="$FUZZ_SECONDS" -max_len=300 -print_final_stats=1) \
        2>&1 | tee "target/reliability-fuzz-$target.log" | grep -E '^(Done|stat::number_of_executed_units|==|SUMMARY)' || true
    grep -q '^Done [0-9]* runs' "target/reliability-fuzz-$target.log" ||
        { tail -40 "target/reliability-fuzz-$target.log"; echo "fuzz target $target failed"; exit 1; }
done
cleanup
left=$(comm -13 <(echo "$shm_before") <(shm_files))
if [ -n "$left" ]; then
    echo "files left in /dev/shm by these tests:"
    echo "$left"
    exit 1
fi

step "done"
