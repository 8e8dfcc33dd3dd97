#!/usr/bin/env bash
# Reliability checks: model checking of the post/wait protocol of
# both glibc layouts and of the robust mode's record protocol with loom, the
# multi-process stress, fault and hostile
# input suites (with property tests of names and of the counter logic), the
# drop's unlink held at each of its system calls while glibc removes or
# replaces the name (strace),
# robust openers killed while opening (strace),
# the clock a timed wait sleeps on (strace), Miri on the plain-memory unit tests
# where Miri can be installed, and, on request, fuzzing of names and of the
# counter logic with cargo-fuzz (nightly toolchain).
#
#   ci/reliability.sh            CI size (a few minutes on 2 cores)
#   RELIABILITY_FUZZ=1 ci/reliability.sh
#                                also cargo-fuzz (installs it if missing)
#   RELIABILITY_LONG=1 ci/reliability.sh
#                                long run: 50,000 operations per process,
#                                100,000 property cases, loom with 3
#                                preemptions, cargo-fuzz 10 minutes per target
#
# Sizes can also be set one by one: NSEM_STRESS_ITERS, NSEM_FUZZ_CASES,
# LOOM_MAX_PREEMPTIONS, FUZZ_SECONDS. Runs as root (installs strace, and
# cargo-fuzz if missing; the SIGKILL/permission tests switch to `nobody`).
# Exits non-zero on the first failed check.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> reliability: %s\n' "$*"; }

RELIABILITY_LONG_DEFAULT=0
if [ "${RELIABILITY_LONG:-0}" = 1 ]; then
    RELIABILITY_LONG_DEFAULT=1
    : "${NSEM_STRESS_ITERS:=50000}" "${NSEM_FUZZ_CASES:=100000}"
    : "${LOOM_MAX_PREEMPTIONS:=3}" "${FUZZ_SECONDS:=600}"
fi
: "${NSEM_STRESS_ITERS:=4000}" "${NSEM_FUZZ_CASES:=3000}"
: "${LOOM_MAX_PREEMPTIONS:=2}" "${FUZZ_SECONDS:=60}"
export NSEM_STRESS_ITERS NSEM_FUZZ_CASES LOOM_MAX_PREEMPTIONS

step "tools"
if ! command -v strace >/dev/null; then
    source ci/apt.sh
    apt_install strace
fi
strace -V | head -1

step "formatting"
rustfmt --edition 2021 --check src/sync.rs src/model.rs src/robust_model.rs tests/stress.rs \
    tests/faults.rs tests/hostile.rs tests/robust_hostile.rs fuzz/fuzz_targets/*.rs

step "loom: clippy of the model build"
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
    cargo clippy --profile test --lib -- -D warnings

step "loom: both layouts and the robust record protocol, preemption bound $LOOM_MAX_PREEMPTIONS"
start=$SECONDS
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom \
    cargo test --release --lib model -- --nocapture
echo "loom model check: $((SECONDS - start)) s"

step "stress ($NSEM_STRESS_ITERS operations per process), faults, hostile ($NSEM_FUZZ_CASES name cases)"
shm_files() { ls /dev/shm | grep -E 'nsem-(test|fuzz)-' | sort || true; }
shm_before=$(shm_files)
cargo test --all-features --test stress --test faults --test hostile --test robust_hostile \
    -- --nocapture 2>&1 |
    tee target/reliability-tests.log
grep -E '^test result: ok\. [1-9][0-9]* passed; 0 failed' target/reliability-tests.log >/dev/null

step "the drop held at each system call while glibc removes or replaces the name (strace)"
cargo test --all-features --test drop_faults -- --ignored --test-threads=1 2>&1 |
    tee target/reliability-drop-faults.log
grep -E '^test result: ok\. [1-9][0-9]* passed; 0 failed' target/reliability-drop-faults.log >/dev/null

step "robust mode: an opener killed while opening leaves no beacon file after a recovery (strace)"
cargo test --all-features --test robust_sweep -- --ignored --test-threads=1 2>&1 |
    tee target/reliability-robust-sweep.log
grep -E '^test result: ok\. [1-9][0-9]* passed; 0 failed' target/reliability-robust-sweep.log >/dev/null

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

step "robust mode: no system call on the uncontended acquire + release (strace -c)"
robust=$(cargo test --all-features --test robust --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*robust-[^"]*"' | head -1 | cut -d'"' -f4)
[ -x "$robust" ] || { echo "robust test binary not found"; exit 1; }
calls() {
    local dir
    dir=$(mktemp -d /dev/shm/nsem-test-strace-XXXXXX)
    NSEM_ROLE=pairs NSEM_ARGS="$dir"$'\x1f'"$1" strace -f -c -o target/reliability-robust-$1.log \
        "$robust" child --exact --ignored --test-threads=1 -q >/dev/null
    rm -rf "$dir"
    # The total line: % time, seconds, usecs/call, calls, [errors,] "total".
    awk '$NF == "total" { print $4 }' "target/reliability-robust-$1.log"
}
few=$(calls 10)
many=$(calls 200000)
echo "system calls of the whole process: $few for 10 robust pairs, $many for 200000"
[ -n "$few" ] && [ "$few" = "$many" ] || { echo "the robust uncontended path makes system calls"; exit 1; }

step "Miri: the unit tests that work on plain memory"
# Not the tests that block a thread on the 64-bit layout's futex word: Miri
# models the kernel's 32-bit read of half of the 64-bit atomic as a Rust
# atomic access, and reports the mixed sizes (glibc's layout does the same in
# C; the kernel is outside the Rust memory model). Files and mmap are left out.
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    timeout 300 rustup component add miri rust-src --toolchain nightly || true
fi
if cargo +nightly miri --version >/dev/null 2>&1; then
    CARGO_TARGET_DIR=target/miri cargo +nightly miri test --lib -- \
        raw:: futex:: name:: \
        --skip blocked_waiters_are_woken --skip mutual_exclusion_across_threads
else
    echo "Miri is not installed for the nightly toolchain and rustup could not"
    echo "download it: NOT RUN."
fi

if [ "${RELIABILITY_FUZZ:-$RELIABILITY_LONG_DEFAULT}" != 1 ]; then
    step "cargo-fuzz: not run (RELIABILITY_FUZZ=1 runs it; installing cargo-fuzz takes minutes)"
    echo "names and the counter logic are covered by the proptest cases above"
    FUZZ_TARGETS=""
else
    step "fuzzing with cargo-fuzz, $FUZZ_SECONDS s per target"
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        echo "no nightly toolchain: cargo-fuzz cannot run"
        exit 1
    fi
    if ! cargo fuzz --version >/dev/null 2>&1; then
        cargo install cargo-fuzz --locked
    fi
    FUZZ_TARGETS="names counter"
fi
cleanup() { rm -rf /dev/shm/nsem-fuzz-*; }
trap cleanup EXIT
for target in $FUZZ_TARGETS; do
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
