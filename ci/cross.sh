#!/usr/bin/env bash
# Builds and tests the crate for the targets its users ship on.
#
#   ci/cross.sh ROW...     one or more of the rows below
#   ci/cross.sh all        every one of them, in this order
#
#   i686-unknown-linux-gnu            glibc 32-bit layout, native speed
#   armv7-unknown-linux-gnueabihf     under qemu-user
#   aarch64-unknown-linux-gnu         under qemu-user
#   riscv64gc-unknown-linux-gnu       under qemu-user
#   s390x-unknown-linux-gnu           big-endian 64-bit, under qemu-user
#   powerpc-unknown-linux-gnu         big-endian 32-bit, under qemu-user
#   mips-unknown-linux-gnu            big-endian 32-bit, under qemu-user
#   x86_64-unknown-linux-musl         statically linked, beside the host's glibc
#   armv7-unknown-linux-musleabihf    statically linked, under qemu-user
#   aarch64-unknown-linux-musl        statically linked, under qemu-user
#   nolibc                            the no-libc program in nolibc/ (x86_64)
#   nolibc-armv7, nolibc-aarch64,     the same program, under qemu-user
#   nolibc-riscv64
#   android                           the library built for aarch64-linux-android
#                                     and armv7-linux-androideabi (no NDK here:
#                                     compiled, not linked nor run)
#
# For each row it installs what it needs from Debian (idempotent), runs the
# crate's whole test suite for that target with Debian's rustc-web and
# -Zbuild-std, builds glibc C peers with the target's cross gcc and checks
# that they and the crate share semaphores both ways. Runs as root (apt-get,
# binfmt_misc for emulated child processes). Exits non-zero on any failure.
# Build output goes to target/cross (override with CARGO_TARGET_DIR); the
# static binaries of the musl rows are kept in target/static/TARGET/.
# Each row's wall time is printed at the end.
#
# The pieces, one concern each: ci/cross/common.sh (installs, emulation, the
# test suite), ci/cross/interop.sh (glibc peers), ci/cross/musl.sh (static
# musl rows), ci/cross/nolibc.sh (the no-libc program), ci/cross/android.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ALL_ROWS=(
    i686-unknown-linux-gnu
    armv7-unknown-linux-gnueabihf
    aarch64-unknown-linux-gnu
    riscv64gc-unknown-linux-gnu
    s390x-unknown-linux-gnu
    powerpc-unknown-linux-gnu
    mips-unknown-linux-gnu
    x86_64-unknown-linux-musl
    armv7-unknown-linux-musleabihf
    aarch64-unknown-linux-musl
    nolibc
    nolibc-armv7
    nolibc-aarch64
    nolibc-riscv64
    android
)

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/cross}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$ROOT/$CARGO_TARGET_DIR" ;; esac
STATIC_DIR=$ROOT/target/static
# Debian's compiler, whose standard library source makes -Zbuild-std work for
# every target; cargo itself stays the toolchain's.
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
# CI's time: no debug info (the standard library is built from source for
# every target, and its debug info costs about a sixth of the compile time
# and 60% of the disk; panics still give file and line) and no incremental
# state, which a one-off build never reads back. Set CARGO_PROFILE_DEV_DEBUG
# for debugging a row.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
export CARGO_INCREMENTAL=0

usage() {
    echo "usage: ci/cross.sh ROW... | all" >&2
    echo "rows: ${ALL_ROWS[*]}" >&2
    exit 2
}

# shellcheck source=ci/cross/common.sh
. ci/cross/common.sh
# shellcheck source=ci/cross/interop.sh
. ci/cross/interop.sh
# shellcheck source=ci/cross/musl.sh
. ci/cross/musl.sh
# shellcheck source=ci/cross/nolibc.sh
. ci/cross/nolibc.sh
# shellcheck source=ci/cross/android.sh
. ci/cross/android.sh

# The Debian packages each row needs (beyond rustc-web, rust-web-src, file
# and binutils, which every row installs). `+ARCH` enables a foreign dpkg
# architecture first (for the ARM musl libraries).
packages_for() {
    local q=qemu-user-static
    case "$1" in
    i686-unknown-linux-gnu) echo gcc-i686-linux-gnu libc6-dev-i386-cross libc6-i386 lib32gcc-s1 ;;
    armv7-unknown-linux-gnueabihf) echo $q gcc-arm-linux-gnueabihf libc6-dev-armhf-cross ;;
    aarch64-unknown-linux-gnu) echo $q gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
    riscv64gc-unknown-linux-gnu) echo $q gcc-riscv64-linux-gnu libc6-dev-riscv64-cross ;;
    s390x-unknown-linux-gnu) echo $q gcc-s390x-linux-gnu libc6-dev-s390x-cross ;;
    powerpc-unknown-linux-gnu) echo $q gcc-powerpc-linux-gnu libc6-dev-powerpc-cross ;;
    mips-unknown-linux-gnu) echo $q gcc-mips-linux-gnu libc6-dev-mips-cross ;;
    x86_64-unknown-linux-musl) echo musl-tools gcc libc6-dev ;;
    armv7-unknown-linux-musleabihf) echo $q gcc-arm-linux-gnueabihf libc6-dev-armhf-cross +armhf musl-dev:armhf ;;
    aarch64-unknown-linux-musl) echo $q gcc-aarch64-linux-gnu libc6-dev-arm64-cross +arm64 musl-dev:arm64 ;;
    nolibc) echo gcc libc6-dev ;;
    nolibc-armv7) echo $q gcc-arm-linux-gnueabihf libc6-dev-armhf-cross ;;
    nolibc-aarch64) echo $q gcc-aarch64-linux-gnu libc6-dev-arm64-cross ;;
    nolibc-riscv64) echo $q gcc-riscv64-linux-gnu libc6-dev-riscv64-cross ;;
    android) ;;
    *) usage ;;
    esac
}

run_row() {
    local narrow=$IMAGE_NARROW_LE wide=$IMAGE_WIDE_LE
    case "$1" in
    i686-unknown-linux-gnu) gnu_row "$1" i686-linux-gnu-gcc "" "$narrow" ;;
    armv7-unknown-linux-gnueabihf) gnu_row "$1" arm-linux-gnueabihf-gcc arm "$narrow" ;;
    aarch64-unknown-linux-gnu) gnu_row "$1" aarch64-linux-gnu-gcc aarch64 "$wide" ;;
    riscv64gc-unknown-linux-gnu) gnu_row "$1" riscv64-linux-gnu-gcc riscv64 "$wide" ;;
    s390x-unknown-linux-gnu) gnu_row "$1" s390x-linux-gnu-gcc s390x "$IMAGE_WIDE_BE" ;;
    powerpc-unknown-linux-gnu) gnu_row "$1" powerpc-linux-gnu-gcc ppc "$IMAGE_NARROW_BE" ;;
    mips-unknown-linux-gnu) gnu_row "$1" mips-linux-gnu-gcc mips "$IMAGE_NARROW_BE" ;;
    x86_64-unknown-linux-musl) musl_row "$1" gcc musl-gcc "" "$wide" ;;
    armv7-unknown-linux-musleabihf) musl_row "$1" arm-linux-gnueabihf-gcc arm-linux-musleabihf-gcc arm "$narrow" ;;
    aarch64-unknown-linux-musl) musl_row "$1" aarch64-linux-gnu-gcc aarch64-linux-musl-gcc aarch64 "$wide" ;;
    nolibc) nolibc_row x86_64-unknown-linux-gnu gcc "" wide ;;
    nolibc-armv7) nolibc_row armv7-unknown-linux-gnueabihf arm-linux-gnueabihf-gcc arm narrow ;;
    nolibc-aarch64) nolibc_row aarch64-unknown-linux-gnu aarch64-linux-gnu-gcc aarch64 wide ;;
    nolibc-riscv64) nolibc_row riscv64gc-unknown-linux-gnu riscv64-linux-gnu-gcc riscv64 wide ;;
    android) android_row ;;
    *) usage ;;
    esac
}

[ $# -gt 0 ] || usage
if [ "$1" = all ]; then
    [ $# -eq 1 ] || usage
    set -- "${ALL_ROWS[@]}"
fi
for row in "$@"; do packages_for "$row" >/dev/null; done

TIMES=()
timed install install_packages "$@"
for row in "$@"; do
    timed "$row" run_row "$row"
done
step "all green: $*"
printf '  %s\n' "${TIMES[@]}"
