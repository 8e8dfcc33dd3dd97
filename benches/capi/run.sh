#!/usr/bin/env bash
# The C library against glibc, side by side: benches/capi/bench.c built
# against glibc's sem_* and against libnamedsem.so (linked with
# -lnamedsem), run in turns, and the ratio library / glibc per case.
#
#   bash benches/capi/run.sh [--quick]
#
# For each case the two programs take turns, ROUNDS times (5; 1 with
# --quick, which also runs fewer iterations and is only a smoke run for
# CI); each run reports its best of 25 short batches, and the table shows
# each side's best over the rounds (the least disturbed). Targets: reopen <= 1.00,
# wait-post <= 1.05, create <= 1.00. The figures are only as good as the
# machine is quiet.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
OUT="$TARGET_DIR/capi-bench"
ROUNDS=5 ITER=20000
case "${1:-}" in
"") ;;
--quick) ROUNDS=1 ITER=500 ;;
*)
    echo "usage: benches/capi/run.sh [--quick]" >&2
    exit 2
    ;;
esac

CARGO_TARGET_DIR="$TARGET_DIR" cargo build --quiet -p namedsem-capi --profile capi
LIB="$TARGET_DIR/capi"
ln -sf libnamedsem.so "$LIB/libnamedsem.so.0"
mkdir -p "$OUT"
gcc -O2 -Wall -Wextra -Werror -pthread -o "$OUT/bench-glibc" benches/capi/bench.c
gcc -O2 -Wall -Wextra -Werror -DNAMEDSEM_ROBUST -pthread -o "$OUT/bench-namedsem" benches/capi/bench.c \
    -L"$LIB" -lnamedsem -Wl,-rpath,"$LIB"
deps=$(ldd "$OUT/bench-namedsem")
grep -q "libnamedsem.so.0 => $LIB/" <<<"$deps" || {
    echo "bench-namedsem does not load $LIB/libnamedsem.so.0" >&2
    exit 1
}

: >"$OUT/glibc.txt"
: >"$OUT/namedsem.txt"
CASES=(reopen:1.00 wait-post:1.05 open:- create:1.00)
for ((r = 0; r < ROUNDS; r++)); do
    for c in "${CASES[@]}"; do
        "$OUT/bench-glibc" "${c%%:*}" "$ITER" >>"$OUT/glibc.txt"
        "$OUT/bench-namedsem" "${c%%:*}" "$ITER" >>"$OUT/namedsem.txt"
    done
    "$OUT/bench-namedsem" robust-wait-post "$ITER" >>"$OUT/namedsem.txt"
done

best() { # CASE FILE
    awk -v c="$1" '$1 == c { print $2 }' "$2" | sort -n | head -n 1
}
printf '| case | glibc ns | libnamedsem ns | ratio | target |\n|---|---|---|---|---|\n'
for c in "${CASES[@]}"; do
    name=${c%%:*} target=${c#*:}
    g=$(best "$name" "$OUT/glibc.txt")
    n=$(best "$name" "$OUT/namedsem.txt")
    awk -v c="$name" -v g="$g" -v n="$n" -v t="$target" \
        'BEGIN { printf "| %s | %.0f | %.0f | %.2f | %s |\n", c, g, n, n / g, t == "-" ? "-" : "<= " t }'
done
plain=$(best wait-post "$OUT/namedsem.txt")
robust=$(best robust-wait-post "$OUT/namedsem.txt")
echo
awk -v p="$plain" -v r="$robust" 'BEGIN { printf "robust handle (namedsem_open_robust): wait-post %.1f ns, plain %.1f ns, ratio %.2f\n", r, p, r / p }'
echo
echo "best of $ROUNDS rounds of 25 batches each, the two sides in turns; $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
