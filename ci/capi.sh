#!/usr/bin/env bash
# CI for the C library in capi/ (libnamedsem.so, libnamedsem.a, namedsem.h).
#
#   ci/capi.sh              steps 1-5 below
#   ci/capi.sh --emulated   also step 6 (about 5 more minutes on 2 cores)
#
# 1. Rust checks of the capi package: fmt, clippy -D warnings, rustdoc
#    -D warnings, unit tests; release build (profile `capi`, panic=abort,
#    no_std), its SONAME, static data (.data + .bss < 4 KiB), and a check
#    of the exported and imported symbols; the header compiled as C99 and
#    C11 with -pedantic and as C++11 and C++17.
# 2. x86_64 C tests (capi/tests/semtest.c, with the glibc peer peer.c, and
#    capi/tests/limits.c), run three ways: linked with -lnamedsem through
#    namedsem.h; the unmodified glibc program with LD_PRELOAD=libnamedsem.so;
#    and the same program on plain glibc as the reference, which shows that
#    every expectation in the tests is glibc's own behaviour. Then
#    capi/tests/race.c: sem_unlink from C racing the drops of the crate's
#    owners (processes of the test binary tests/name_races.rs), the same
#    three ways (the reference only prints what glibc's lockless
#    sem_unlink lets happen).
#    Then the robust extension (capi/tests/robust.c: namedsem_open_robust,
#    C holders that are killed, stopped, forked, exec'ed), linked, and the
#    kill storm with C holders (tests/robust_storm.rs,
#    kill_storm_with_c_holders, with capi/tests/storm_holder.c).
# 3. Static musl: the unmodified programs built with musl-gcc -static
#    against libnamedsem.a; semtest shares semaphores with the glibc peer.
# 4. Install (capi/install.sh) into a temporary prefix, with DESTDIR and
#    without; a C program built with `pkg-config --cflags --libs namedsem`
#    runs linked dynamically and statically (glibc and musl); then a smoke
#    run of the C benchmark (benches/capi/run.sh --quick, no timing check).
# 5. i686 (glibc's 32-bit layout): the library built with Debian's rustc-web
#    and -Zbuild-std, the C tests built with i686-linux-gnu-gcc and run the
#    same ways, plus _TIME_BITS=64 builds (the 64-bit-time entry points).
# 6. (--emulated) aarch64 and armv7 (hard-float) under qemu-user: semtest,
#    linked, under LD_PRELOAD and as the glibc reference, which checks the
#    fixed-argument sem_open against real variadic callers there. (limits.c
#    is not run under qemu: its address-space limit test measures the
#    process, which qemu-user's own reservations distort.)
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
PACKAGES=(gcc g++ libc6-dev binutils file musl-tools pkg-config
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
    source ci/apt.sh
    apt_install "${missing[@]}"
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
# Programs linked with -lnamedsem ask for the SONAME: give it to them here
# as an install would.
ln -sfn libnamedsem.so "$LIB/libnamedsem.so.0"
ls -l "$LIB/libnamedsem.so" "$LIB/libnamedsem.a"

EXPORTS="namedsem_open_robust namedsem_recover namedsem_version sem_clockwait sem_close sem_destroy sem_getvalue sem_init sem_open sem_post sem_timedwait sem_trywait sem_unlink sem_wait"
check_symbols() { # SO EXTRA_EXPORTS...
    local so=$1
    shift
    local want got imports static
    output_has 'Library soname: \[libnamedsem\.so\.0\]' readelf -d "$so" || fail "$so: SONAME is not libnamedsem.so.0"
    # The table of open semaphores is mapped on demand: next to no static data.
    static=$(size -A "$so" | awk '$1 == ".data" || $1 == ".bss" { n += $2 } END { print n + 0 }')
    echo "static data (.data + .bss): $static bytes"
    [ "$static" -lt 4096 ] || fail "$so: .data + .bss is $static bytes, not under 4 KiB"
    # Every defined dynamic symbol, of any type: exactly the version
    # script's (no rust_eh_personality, nothing from core).
    want=$(printf '%s\n' $EXPORTS "$@" | sort | tr '\n' ' ')
    got=$(nm -D --defined-only "$so" | awk '{print $3}' | sort | tr '\n' ' ')
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

step "header: C99, C11 (-pedantic), C++11, C++17"
printf '#include "namedsem.h"\nint main(void) { sem_t s; return sem_init(&s, 0, 1) + (int)sizeof(s); }\n' >"$OUT/header.c"
for std in c99 c11; do
    gcc -std=$std -pedantic "${CFLAGS[@]}" -I"$INC" -c "$OUT/header.c" -o "$OUT/header-$std.o"
    gcc -std=$std -D_POSIX_C_SOURCE=200809L -pedantic "${CFLAGS[@]}" -I"$INC" -c "$OUT/header.c" -o "$OUT/header-$std-posix.o"
done
for std in c++11 c++17; do
    g++ -x c++ -std=$std -pedantic "${CFLAGS[@]}" -I"$INC" -c "$OUT/header.c" -o "$OUT/header-$std.o"
done

# run_suite LABEL PEER EXPECT BINARY [PRELOAD]: runs one build of semtest and
# requires its closing line to report no failure.
run_suite() {
    local label=$1 peer=$2 expect=$3 bin=$4 preload=${5:-}
    step "C tests: $label"
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
gcc "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -I"$INC" -pthread -o "$OUT/limits-linked" "$SRC/limits.c" \
    -L"$LIB" -lnamedsem -Wl,-rpath,"$LIB"
gcc "${CFLAGS[@]}" -pthread -o "$OUT/limits-glibc" "$SRC/limits.c"
output_has "libnamedsem.so.0 => $LIB/libnamedsem.so.0" ldd "$OUT/limits-linked" || fail "limits-linked does not load libnamedsem.so.0"
# The linked build really uses the library, the plain one does not.
output_has "libnamedsem.so.0 => $LIB/libnamedsem.so.0" ldd "$OUT/semtest-linked" || fail "semtest-linked does not load libnamedsem.so"
output_has ' U sem_open$' nm -D "$OUT/semtest-linked" || fail "semtest-linked: sem_open is not an unversioned import"
if output_has libnamedsem ldd "$OUT/semtest-glibc"; then fail "semtest-glibc loads libnamedsem"; fi
output_has ' U sem_open@GLIBC' nm -D "$OUT/semtest-glibc" || fail "semtest-glibc does not import glibc's sem_open"

run_suite "x86_64, plain glibc (reference)" "$OUT/peer" glibc "$OUT/semtest-glibc"
run_suite "x86_64, linked with -lnamedsem" "$OUT/peer" namedsem "$OUT/semtest-linked"
run_suite "x86_64, unmodified glibc program, LD_PRELOAD" "$OUT/peer" namedsem "$OUT/semtest-glibc" "$LIB/libnamedsem.so"
run_suite "limits: x86_64, plain glibc (reference)" "" glibc "$OUT/limits-glibc"
run_suite "limits: x86_64, linked with -lnamedsem" "" namedsem "$OUT/limits-linked"
run_suite "limits: x86_64, unmodified glibc program, LD_PRELOAD" "" namedsem "$OUT/limits-glibc" "$LIB/libnamedsem.so"

step "robust extension: build capi/tests/robust.c and the storm's C holder"
gcc "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -I"$INC" -pthread -o "$OUT/robust-linked" "$SRC/robust.c" \
    -L"$LIB" -lnamedsem -Wl,-rpath,"$LIB"
gcc "${CFLAGS[@]}" -std=gnu11 -DUSE_NAMEDSEM_H -I"$INC" -o "$OUT/storm_holder" "$SRC/storm_holder.c" \
    -L"$LIB" -lnamedsem -Wl,-rpath,"$LIB"
run_suite "robust extension: x86_64, linked with -lnamedsem" "" namedsem "$OUT/robust-linked"

step "robust: the kill storm with C holders (tests/robust_storm.rs, kill_storm_with_c_holders)"
# Ignored by a plain `cargo test`: it needs the C holder, named here.
NSEM_STORM_C_HOLDER="$OUT/storm_holder" \
    cargo test --release --test robust_storm -- --ignored --exact kill_storm_with_c_holders --nocapture

step "race: sem_unlink from C against the drops of the crate's owners (capi/tests/race.c)"
# The owners are processes of the crate's test binary tests/name_races.rs.
OWNER=$(cargo test --all-features --test name_races --no-run --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*name_races-[^"]*"' | head -1 | cut -d'"' -f4)
[ -x "$OWNER" ] || fail "the name_races test binary (the race's owners) was not built"
export OWNER
gcc "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -I"$INC" -o "$OUT/race-linked" "$SRC/race.c" \
    -L"$LIB" -lnamedsem -Wl,-rpath,"$LIB"
gcc "${CFLAGS[@]}" -o "$OUT/race-glibc" "$SRC/race.c"
run_suite "race: linked with -lnamedsem" "" namedsem "$OUT/race-linked"
run_suite "race: unmodified glibc program, LD_PRELOAD" "" namedsem "$OUT/race-glibc" "$LIB/libnamedsem.so"
# glibc's sem_unlink takes no lock: its anomalies are printed, not failed.
run_suite "race: plain glibc (reference; anomalies only printed)" "" glibc "$OUT/race-glibc"
unset OWNER

# static_uses_namedsem BIN: a static program defines sem_open, and the C
# library's own sem_open is not in it: musl's needs __shm_mapname, glibc's
# comes with __sem_check_add_mapping. (The crate's own symbols cannot be
# looked for: LTO inlines them into the sem_* functions.)
static_uses_namedsem() {
    local bin=$1
    output_has ' T sem_open$' nm "$bin" || fail "$bin defines no sem_open"
    if output_has ' (__shm_mapname|__sem_check_add_mapping)$' nm "$bin"; then
        fail "$bin contains the C library's own sem_open"
    fi
}

step "static musl: musl-gcc -static with libnamedsem.a"
musl-gcc -static -O2 -Wall -Wextra -pthread -o "$OUT/semtest-musl" "$SRC/semtest.c" "$LIB/libnamedsem.a" -Wl,--gc-sections
file "$OUT/semtest-musl"
output_has "statically linked" file "$OUT/semtest-musl" || fail "semtest-musl is not statically linked"
# Its sem_* are this library's, not musl's, whose sem_open uses
# /dev/shm/NAME and could not share with the glibc peer.
static_uses_namedsem "$OUT/semtest-musl"
run_suite "static musl program with libnamedsem.a, glibc peer" "$OUT/peer" static "$OUT/semtest-musl"
musl-gcc -static -O2 -Wall -Wextra -pthread -o "$OUT/limits-musl" "$SRC/limits.c" "$LIB/libnamedsem.a" -Wl,--gc-sections
static_uses_namedsem "$OUT/limits-musl"
run_suite "limits: static musl program with libnamedsem.a" "" static "$OUT/limits-musl"
musl-gcc -static -O2 -Wall -Wextra -DUSE_NAMEDSEM_H -I"$INC" -pthread -o "$OUT/robust-musl" "$SRC/robust.c" \
    "$LIB/libnamedsem.a" -Wl,--gc-sections
static_uses_namedsem "$OUT/robust-musl"
run_suite "robust extension: static musl program with libnamedsem.a" "" static "$OUT/robust-musl"

# ------------------------------------------------------------------ install --
step "install: capi/install.sh into a temporary prefix, with and without DESTDIR"
INSTALL_ROOT=$(mktemp -d "$TARGET_DIR/capi-install.XXXXXX")
trap 'rm -rf "$INSTALL_ROOT"' EXIT
PREFIX="$INSTALL_ROOT/usr" bash capi/install.sh --no-build
DESTDIR="$INSTALL_ROOT/stage" PREFIX=/opt/namedsem bash capi/install.sh --no-build
for f in include/namedsem.h lib/libnamedsem.so lib/libnamedsem.so.0 lib/libnamedsem.a lib/pkgconfig/namedsem.pc; do
    [ -e "$INSTALL_ROOT/usr/$f" ] || fail "install: $f missing"
    [ -e "$INSTALL_ROOT/stage/opt/namedsem/$f" ] || fail "install with DESTDIR: $f missing"
done
output_has '^prefix=/opt/namedsem$' cat "$INSTALL_ROOT/stage/opt/namedsem/lib/pkgconfig/namedsem.pc" ||
    fail "the staged namedsem.pc does not name the final prefix"
# Installed stripped: no debug sections in the archive, no symbol table in
# the shared library (its exports are in .dynsym).
if output_has '\.debug_' objdump -h "$INSTALL_ROOT/usr/lib/libnamedsem.a"; then
    fail "the installed libnamedsem.a has debug sections"
fi
if output_has '\.symtab' readelf -S "$INSTALL_ROOT/usr/lib/libnamedsem.so.0"; then
    fail "the installed libnamedsem.so has a symbol table"
fi
check_symbols "$INSTALL_ROOT/usr/lib/libnamedsem.so.0"
ls -l "$INSTALL_ROOT/usr/lib/libnamedsem.a" "$INSTALL_ROOT/usr/lib/libnamedsem.so.0"
help=$(bash capi/install.sh --help)
for v in PREFIX LIBDIR INCLUDEDIR DESTDIR TARGET CARGO_TARGET_DIR STRIP --no-build --no-strip; do
    grep -q -- "$v" <<<"$help" || fail "install.sh --help does not mention $v"
done
export PKG_CONFIG_PATH="$INSTALL_ROOT/usr/lib/pkgconfig"
PC_CFLAGS=$(pkg-config --cflags namedsem)
PC_LIBS=$(pkg-config --libs namedsem)
PC_STATIC=$(pkg-config --static --libs namedsem)
PC_LIBDIR=$(pkg-config --variable=libdir namedsem)
echo "pkg-config: cflags '$PC_CFLAGS', libs '$PC_LIBS', static '$PC_STATIC'"
# $PC_* are word lists from pkg-config: split on purpose.
# shellcheck disable=SC2086
gcc "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -pthread -o "$OUT/installed-dynamic" "$SRC/limits.c" $PC_CFLAGS $PC_LIBS -Wl,-rpath,"$PC_LIBDIR"
output_has "libnamedsem.so.0 => $PC_LIBDIR/libnamedsem.so.0" ldd "$OUT/installed-dynamic" ||
    fail "installed-dynamic does not load the installed libnamedsem.so.0"
# shellcheck disable=SC2086
gcc -static "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -pthread -o "$OUT/installed-static" "$SRC/limits.c" $PC_CFLAGS $PC_STATIC
# shellcheck disable=SC2086
musl-gcc -static -O2 -Wall -Wextra -DUSE_NAMEDSEM_H -pthread -o "$OUT/installed-musl" "$SRC/limits.c" $PC_CFLAGS $PC_STATIC
for bin in installed-static installed-musl; do
    output_has "statically linked" file "$OUT/$bin" || fail "$bin is not statically linked"
    static_uses_namedsem "$OUT/$bin"
done
run_suite "installed: pkg-config, dynamic" "" namedsem "$OUT/installed-dynamic"
run_suite "installed: pkg-config, static glibc" "" static "$OUT/installed-static"
run_suite "installed: pkg-config, static musl" "" static "$OUT/installed-musl"
unset PKG_CONFIG_PATH

step "benchmark smoke run (benches/capi/run.sh --quick; figures not checked)"
bash benches/capi/run.sh --quick

# ------------------------------------------------------------------- i686 --
step "i686: build the library (rustc-web, -Zbuild-std=core)"
RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$I686_DIR" \
    CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_LINKER=i686-linux-gnu-gcc \
    cargo build -p namedsem-capi --profile capi -Zbuild-std=core --target i686-unknown-linux-gnu
LIB32="$I686_DIR/i686-unknown-linux-gnu/capi"
ln -sfn libnamedsem.so "$LIB32/libnamedsem.so.0"
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
$CC32 "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -I"$INC" -pthread -o "$OUT/limits32-linked" "$SRC/limits.c" \
    -L"$LIB32" -lnamedsem -Wl,-rpath,"$LIB32"
$CC32 "${CFLAGS[@]}" -pthread -o "$OUT/limits32-glibc" "$SRC/limits.c"
$CC32 "${CFLAGS[@]}" -DUSE_NAMEDSEM_H -I"$INC" -pthread -o "$OUT/robust32-linked" "$SRC/robust.c" \
    -L"$LIB32" -lnamedsem -Wl,-rpath,"$LIB32"
output_has ' U __sem_timedwait64$' nm -D "$OUT/semtest32-linked-t64" || fail "the _TIME_BITS=64 build does not call __sem_timedwait64"
output_has ' U __sem_timedwait64@GLIBC' nm -D "$OUT/semtest32-glibc-t64" || fail "glibc's _TIME_BITS=64 build does not call __sem_timedwait64"

run_suite "i686, plain glibc (reference)" "$OUT/peer32" glibc "$OUT/semtest32-glibc"
run_suite "i686, linked with -lnamedsem" "$OUT/peer32" namedsem "$OUT/semtest32-linked"
run_suite "i686, linked, _TIME_BITS=64" "$OUT/peer32" namedsem "$OUT/semtest32-linked-t64"
run_suite "i686, unmodified glibc program, LD_PRELOAD" "$OUT/peer32" namedsem "$OUT/semtest32-glibc" "$LIB32/libnamedsem.so"
run_suite "i686, unmodified _TIME_BITS=64 program, LD_PRELOAD" "$OUT/peer32" namedsem "$OUT/semtest32-glibc-t64" "$LIB32/libnamedsem.so"
run_suite "limits: i686, plain glibc (reference)" "" glibc "$OUT/limits32-glibc"
run_suite "limits: i686, linked with -lnamedsem" "" namedsem "$OUT/limits32-linked"
run_suite "robust extension: i686, linked with -lnamedsem" "" namedsem "$OUT/robust32-linked"

# ---------------------------------------------------------------- emulated --
source "$ROOT/ci/binfmt.sh"

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
    ln -sfn libnamedsem.so "$lib/libnamedsem.so.0"
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
