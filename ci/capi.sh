#!/usr/bin/env bash
# CI for the C library in capi/ (libnamedsem.so, libnamedsem.a, namedsem.h).
#
#   ci/capi.sh              steps 1-4 below
#   ci/capi.sh --emulated   also step 5 (about 5 more minutes on 2 cores)
#
# 1. Rust checks of the capi package: fmt, clippy -D warnings, rustdoc
#    -D warnings, unit tests; release build (profile `capi`, panic=abort,
#    no_std) and a check of the exported and imported symbols.
# 2. x86_64 C tests (capi/tests/semtest.c, with the glibc peer peer.c), run
#    three ways: linked with -lnamedsem through namedsem.h; the unmodified
#    glibc program with LD_PRELOAD=libnamedsem.so; and the same program on
#    plain glibc as the reference, which shows that every expectation in the
#    tests is glibc's own behaviour.
# 3. Static musl: the unmodified program built with musl-gcc -static against
#    libnamedsem.a shares semaphores with the glibc peer.
# 4. i686 (glibc's 32-bit layout): the library built with Debian's rustc-web
#    and -Zbuild-std, the C tests built with i686-linux-gnu-gcc and run the
#    same ways, plus _TIME_BITS=64 builds (the 64-bit-time entry points).
# 5. (--emulated) aarch64 and armv7 (hard-float) under qemu-user: the same
#    C tests, linked, under LD_PRELOAD and as the glibc reference, which
#    checks the fixed-argument sem_open against real variadic callers there.
#
# Installs what it needs from Debian (idempotent), runs as root. Exits
# non-zero on the first failed check. Build output goes under target/
# (or $CARGO_TARGET_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TERM_COLOR=never
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
export CARGO_TARGET_DIR="$TARGET_DIR"
OUT="$TARGET_DIR/capi-tests"
I686_DIR="$TARGET_DIR/capi-i686"
START=$SECONDS
EMULATED=0
case "${1:-}" in
"") ;;
--emulated) EMULATED=1 ;;
*)
    echo "usage: ci/capi.sh [--emulated]" >&2
    exit 2
    ;;
esac

# output_has REGEX COMMAND...: whether COMMAND's output matches (the output
# is read whole first, so an early grep exit cannot fail the pipeline).
output_has() {
    local re=$1 out
    shift
    out=$("$@")
    grep -Eq -- "$re" <<<"$out"
}

step() { printf '\n==> %s  [%ds]\n' "$*" $((SECONDS - START)); }
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------- installs --
step "install build tools (Debian)"
PACKAGES=(gcc libc6-dev binutils file musl-tools
    gcc-i686-linux-gnu libc6-dev-i386-cross libc6-i386 lib32gcc-s1
    rustc-web rust-web-src)
if ((EMULATED)); then
    PACKAGES+=(qemu-user-static gcc-aarch64-linux-gnu libc6-dev-arm64-cross
        gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)
fi
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 update
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"
else
    echo "all present: ${PACKAGES[*]}"
fi

# -------------------------------------------------------------- rust side --
step "capi: fmt, clippy, docs, unit tests"
cargo fmt -p namedsem-capi --check
cargo clippy -p namedsem-capi --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc -p namedsem-capi --no-deps
cargo test -p namedsem-capi

step "capi: release build (profile capi: panic=abort, no_std)"
cargo build -p namedsem-capi --profile capi
LIB="$TARGET_DIR/capi"
ls -l "$LIB/libnamedsem.so" "$LIB/libnamedsem.a"

EXPORTS="namedsem_version sem_clockwait sem_close sem_destroy sem_getvalue sem_init sem_open sem_post sem_timedwait sem_trywait sem_unlink sem_wait"
check_symbols() { # SO EXTRA_EXPORTS...
    local so=$1
    shift
    local want got imports
    want=$(printf '%s\n' $EXPORTS "$@" | sort | tr '\n' ' ')
    got=$(nm -D --defined-only "$so" | awk '$2 == "T" {print $3}' | grep -v '^rust_eh_personality$' | sort | tr '\n' ' ')
    echo "exports: $got"
    [ "$got" = "$want" ] || fail "exports of $so: got '$got', want '$want'"
    # Only errno, abort and the mem/str functions from the C library: no
    # semaphores, no threads, nothing glibc-only.
    imports=$(nm -D --undefined-only "$so" | awk '$1 == "U" {print $2}' | sed 's/@.*//' | sort | tr '\n' ' ')
    echo "imports: $imports"
    for sym in $imports; do
        case "$sym" in
        __errno_location | abort | bcmp | memcmp | memcpy | memmove | memset | strlen) ;;
        __aeabi_unwind_cpp_pr0 | __aeabi_unwind_cpp_pr1)
            # ARM EHABI personality routines, named by the unwind tables;
            # no dynamic relocation uses them, so nothing binds them at run time.
            if output_has "$sym" readelf -rW "$so"; then fail "$so relocates against $sym"; fi
            ;;
        *) fail "unexpected import $sym in $so" ;;
        esac
    done
}
check_symbols "$LIB/libnamedsem.so"

# ------------------------------------------------------------------ C tests --
mkdir -p "$OUT"
SRC="$ROOT/capi/tests"
INC="$ROOT/capi/include"
CFLAGS=(-O2 -Wall -Wextra -Werror)

step "header: C11, C++ and -pedantic"
printf '#include "namedsem.h"\nint main(void) { sem_t s; return sem_init(&s, 0, 1) + (int)sizeof(s); }\n' >"$OUT/header.c"
gcc -std=c11 -D_POSIX_C_SOURCE=200809L -pedantic "${CFLAGS[@]}" -I"$INC" -c "$OUT/header.c" -o "$OUT/header.o"
g++ -x c++ -std=c++17 "${CFLAGS[@]}" -I"$INC" -c "$OUT/header.c" -o "$OUT/header-cxx.o"

# run_suite LABEL PEER EXPECT BINARY [PRELOAD]: runs one build of semtest and
# requires its closing line to report no failure.
run_suite() {
    local label=$1 peer=$2 expect=$3 bin=$4 preload=${5:-}
    step "semtest: $label"
    local log="$OUT/$(basename "$bin")-$expect.log" pid status=0
    if [ -n "$preload" ]; then
        LD_PRELOAD="$preload" PEER="$peer" EXPECT_IMPL="$expect" "$bin" >"$log" 2>&1 &
    else
        PEER="$peer" EXPECT_IMPL="$expect" "$bin" >"$log" 2>&1 &
    fi
    pid=$!
    wait "$pid" || status=$?
    cat "$log"
    # Every semaphore file a run makes is named nsem-capi-PID-...; the
    # program removes them itself, and nothing may be left.
    local left
    left=$(find /dev/shm -maxdepth 1 -name "sem.nsem-capi-$pid-*" | wc -l)
    find /dev/shm -maxdepth 1 -name "sem.nsem-capi-$pid-*" -delete
    [ "$status" -eq 0 ] || fail "$label: exit status $status"
    tail -n 1 "$log" | grep -Eq '^[0-9]+ passed, 0 failed' || fail "$label: no clean closing line"
    [ "$left" -eq 0 ] || fail "$label: left $left semaphore files in /dev/shm"
}

step "x86_64: build the C tests"
gcc "${CFLAGS[@]}" -pthread -o "$OUT/peer" "$SRC/peer.c"
gcc "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -I"$INC" -pthread -o "$OUT/semtest-linked" "$SRC/semtest.c" \
    -L"$LIB" -lnamedsem -Wl,-rpath,"$LIB" -ldl
gcc "${CFLAGS[@]}" -pthread -o "$OUT/semtest-glibc" "$SRC/semtest.c" -ldl
# The linked build really uses the library, the plain one does not.
output_has "libnamedsem.so => $LIB/libnamedsem.so" ldd "$OUT/semtest-linked" || fail "semtest-linked does not load libnamedsem.so"
output_has ' U sem_open$' nm -D "$OUT/semtest-linked" || fail "semtest-linked: sem_open is not an unversioned import"
if output_has libnamedsem ldd "$OUT/semtest-glibc"; then fail "semtest-glibc loads libnamedsem"; fi
output_has ' U sem_open@GLIBC' nm -D "$OUT/semtest-glibc" || fail "semtest-glibc does not import glibc's sem_open"

run_suite "x86_64, plain glibc (reference)" "$OUT/peer" glibc "$OUT/semtest-glibc"
run_suite "x86_64, linked with -lnamedsem" "$OUT/peer" namedsem "$OUT/semtest-linked"
run_suite "x86_64, unmodified glibc program, LD_PRELOAD" "$OUT/peer" namedsem "$OUT/semtest-glibc" "$LIB/libnamedsem.so"

step "static musl: musl-gcc -static with libnamedsem.a"
musl-gcc -static -O2 -Wall -Wextra -pthread -o "$OUT/semtest-musl" "$SRC/semtest.c" "$LIB/libnamedsem.a" -Wl,--gc-sections
file "$OUT/semtest-musl"
output_has "statically linked" file "$OUT/semtest-musl" || fail "semtest-musl is not statically linked"
# Its sem_* are this library's (Rust symbols of the crate), not musl's,
# whose sem_open uses /dev/shm/NAME and could not share with the glibc peer.
output_has '_ZN16named_semaphores' nm "$OUT/semtest-musl" || fail "semtest-musl does not contain the crate"
output_has ' T sem_open$' nm "$OUT/semtest-musl" || fail "semtest-musl defines no sem_open"
run_suite "static musl program with libnamedsem.a, glibc peer" "$OUT/peer" static "$OUT/semtest-musl"

# ------------------------------------------------------------------- i686 --
step "i686: build the library (rustc-web, -Zbuild-std=core)"
RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$I686_DIR" \
    CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_LINKER=i686-linux-gnu-gcc \
    cargo build -p namedsem-capi --profile capi -Zbuild-std=core --target i686-unknown-linux-gnu
LIB32="$I686_DIR/i686-unknown-linux-gnu/capi"
output_has "ELF 32-bit LSB shared object, Intel 80386" file "$LIB32/libnamedsem.so" || fail "not an i386 library"
check_symbols "$LIB32/libnamedsem.so" __sem_clockwait64 __sem_timedwait64 __sem_timedwait_time64

step "i686: build the C tests"
CC32=i686-linux-gnu-gcc
$CC32 "${CFLAGS[@]}" -pthread -o "$OUT/peer32" "$SRC/peer.c"
$CC32 "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -I"$INC" -pthread -o "$OUT/semtest32-linked" "$SRC/semtest.c" \
    -L"$LIB32" -lnamedsem -Wl,-rpath,"$LIB32" -ldl
$CC32 "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -I"$INC" -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -pthread \
    -o "$OUT/semtest32-linked-t64" "$SRC/semtest.c" -L"$LIB32" -lnamedsem -Wl,-rpath,"$LIB32" -ldl
$CC32 "${CFLAGS[@]}" -pthread -o "$OUT/semtest32-glibc" "$SRC/semtest.c" -ldl
$CC32 "${CFLAGS[@]}" -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64 -pthread -o "$OUT/semtest32-glibc-t64" "$SRC/semtest.c" -ldl
output_has ' U __sem_timedwait64$' nm -D "$OUT/semtest32-linked-t64" || fail "the _TIME_BITS=64 build does not call __sem_timedwait64"
output_has ' U __sem_timedwait64@GLIBC' nm -D "$OUT/semtest32-glibc-t64" || fail "glibc's _TIME_BITS=64 build does not call __sem_timedwait64"

run_suite "i686, plain glibc (reference)" "$OUT/peer32" glibc "$OUT/semtest32-glibc"
run_suite "i686, linked with -lnamedsem" "$OUT/peer32" namedsem "$OUT/semtest32-linked"
run_suite "i686, linked, _TIME_BITS=64" "$OUT/peer32" namedsem "$OUT/semtest32-linked-t64"
run_suite "i686, unmodified glibc program, LD_PRELOAD" "$OUT/peer32" namedsem "$OUT/semtest32-glibc" "$LIB32/libnamedsem.so"
run_suite "i686, unmodified _TIME_BITS=64 program, LD_PRELOAD" "$OUT/peer32" namedsem "$OUT/semtest32-glibc-t64" "$LIB32/libnamedsem.so"

# ---------------------------------------------------------------- emulated --
# Lets the kernel run foreign binaries through qemu, so that the tests' fork
# and exec of the peer work under emulation (idempotent).
register_binfmt() {
    local arch=$1 conf=/usr/lib/binfmt.d/qemu-$1.conf
    local dir=/proc/sys/fs/binfmt_misc
    [ -e "$dir/register" ] || mount -t binfmt_misc binfmt_misc "$dir" ||
        fail "cannot mount binfmt_misc (needed for child processes under qemu)"
    if [ ! -e "$dir/qemu-$arch" ]; then
        [ -f "$conf" ] || fail "$conf missing (qemu-user-static not installed?)"
        grep -v '^#' "$conf" >"$dir/register" || fail "cannot register qemu-$arch in binfmt_misc"
    fi
    output_has '^enabled' cat "$dir/qemu-$arch" || fail "binfmt entry qemu-$arch is not enabled"
}

# emulated RUST_TARGET QEMU_ARCH GNU_TRIPLE
emulated() {
    local target=$1 arch=$2 triple=$3
    local dir="$TARGET_DIR/capi-emulated" cc=$3-gcc
    local linker_var
    linker_var="CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_LINKER"
    step "$target: build the library (rustc-web, -Zbuild-std=core)"
    env RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$dir" \
        "$linker_var=$cc" \
        cargo build -p namedsem-capi --profile capi -Zbuild-std=core --target "$target"
    local lib="$dir/$target/capi"
    check_symbols "$lib/libnamedsem.so" $([ "$arch" = arm ] && echo __sem_clockwait64 __sem_timedwait64 __sem_timedwait_time64)
    step "$target: build the C tests"
    register_binfmt "$arch"
    export QEMU_LD_PREFIX=/usr/$triple
    $cc "${CFLAGS[@]}" -pthread -o "$OUT/peer-$arch" "$SRC/peer.c"
    $cc "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -I"$INC" -pthread -o "$OUT/semtest-$arch-linked" "$SRC/semtest.c" \
        -L"$lib" -lnamedsem -Wl,-rpath,"$lib" -ldl
    $cc "${CFLAGS[@]}" -pthread -o "$OUT/semtest-$arch-glibc" "$SRC/semtest.c" -ldl
    run_suite "$target under qemu, plain glibc (reference)" "$OUT/peer-$arch" glibc "$OUT/semtest-$arch-glibc"
    run_suite "$target under qemu, linked with -lnamedsem" "$OUT/peer-$arch" namedsem "$OUT/semtest-$arch-linked"
    run_suite "$target under qemu, unmodified glibc program, LD_PRELOAD" "$OUT/peer-$arch" namedsem \
        "$OUT/semtest-$arch-glibc" "$lib/libnamedsem.so"
    unset QEMU_LD_PREFIX
}

if ((EMULATED)); then
    emulated aarch64-unknown-linux-gnu aarch64 aarch64-linux-gnu
    emulated armv7-unknown-linux-gnueabihf arm arm-linux-gnueabihf
fi

step "capi: all checks passed in $((SECONDS - START)) s"
