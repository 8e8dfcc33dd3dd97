#!/usr/bin/env bash
# Builds and installs the C library: namedsem.h, libnamedsem.so (SONAME
# libnamedsem.so.0), libnamedsem.a and the pkg-config file namedsem.pc.
#
#   bash capi/install.sh [--no-build] [--no-strip] [--help]
#
# Variables, as packagers expect them:
#   PREFIX      installation prefix (default /usr/local)
#   LIBDIR      libraries and pkgconfig/ (default $PREFIX/lib)
#   INCLUDEDIR  the header (default $PREFIX/include)
#   DESTDIR     staging root prepended to every path written; the installed
#               files (the .pc file) still name PREFIX
#   TARGET      a Rust target triple to build for (default: the host)
#   CARGO_TARGET_DIR  cargo's output directory (default target/)
#   STRIP       the strip program (default: strip, or with TARGET that
#               target's binutils' one where installed, as
#               aarch64-linux-gnu-strip for aarch64-unknown-linux-gnu)
# --no-build installs what an earlier `cargo build -p namedsem-capi
# --profile capi` left. The libraries are installed stripped, as
# distributions ship them: libnamedsem.a without debug information
# (strip --strip-debug, where that makes it smaller), libnamedsem.so without
# the symbols it does not export (--strip-unneeded); --no-strip installs
# them as built.
#
# At run time, programs linked with -lnamedsem look for libnamedsem.so.0
# where the dynamic loader looks: after installing into a directory that
# /etc/ld.so.conf lists (as /usr/local/lib on most distributions), run
# ldconfig; elsewhere link with -Wl,-rpath,$LIBDIR or set LD_LIBRARY_PATH
# (docs/c-library.md).
set -euo pipefail
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
DESTDIR=${DESTDIR:-}
TARGET=${TARGET:-}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$PWD/$TARGET_DIR" ;; esac
if [ -z "${STRIP:-}" ]; then
    STRIP=strip
    # aarch64-unknown-linux-gnu -> aarch64-linux-gnu, armv7-...-gnueabihf -> arm-...
    gnu=$(echo "${TARGET:-}" | sed -e 's/-unknown-/-/' -e 's/^armv7-/arm-/')
    if [ -n "$TARGET" ] && command -v "$gnu-strip" >/dev/null; then
        STRIP=$gnu-strip
    fi
fi
BUILD=1
DO_STRIP=1
# The comment at the top of this file, without its first line.
help() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$SELF"; }
for arg in "$@"; do
    case "$arg" in
    --no-build) BUILD=0 ;;
    --no-strip) DO_STRIP=0 ;;
    -h | --help)
        help
        exit 0
        ;;
    *)
        echo "capi/install.sh: unknown argument $arg" >&2
        echo "usage: bash capi/install.sh [--no-build] [--no-strip] [--help]" >&2
        exit 2
        ;;
    esac
done

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' capi/Cargo.toml | head -n 1)
[ -n "$VERSION" ] || { echo "no version in capi/Cargo.toml" >&2; exit 1; }
if ((BUILD)); then
    CARGO_TARGET_DIR="$TARGET_DIR" cargo build -p namedsem-capi --profile capi ${TARGET:+--target "$TARGET"}
fi
BUILT="$TARGET_DIR/${TARGET:+$TARGET/}capi"
for f in libnamedsem.so libnamedsem.a; do
    [ -f "$BUILT/$f" ] || { echo "missing $BUILT/$f (build first)" >&2; exit 1; }
done

# pkg-config paths relative to ${prefix} where they are under it.
pc_path() { # PATH
    case "$1" in
    "$PREFIX"/*) echo "\${prefix}${1#"$PREFIX"}" ;;
    *) echo "$1" ;;
    esac
}

install -d "$DESTDIR$INCLUDEDIR" "$DESTDIR$LIBDIR/pkgconfig"
install -m 644 capi/include/namedsem.h "$DESTDIR$INCLUDEDIR/namedsem.h"
install -m 755 "$BUILT/libnamedsem.so" "$DESTDIR$LIBDIR/libnamedsem.so.$VERSION"
ln -sfn "libnamedsem.so.$VERSION" "$DESTDIR$LIBDIR/libnamedsem.so.0"
ln -sfn libnamedsem.so.0 "$DESTDIR$LIBDIR/libnamedsem.so"
install -m 644 "$BUILT/libnamedsem.a" "$DESTDIR$LIBDIR/libnamedsem.a"
# The archive is kept as built where stripping would not shrink it: with
# no debug information to drop (a core built with -Zbuild-std has none),
# binutils' rewrite of LLVM's objects only grows them (unmerged strings).
strip_libraries() {
    local a="$DESTDIR$LIBDIR/libnamedsem.a"
    "$STRIP" --strip-unneeded "$DESTDIR$LIBDIR/libnamedsem.so.$VERSION" &&
        "$STRIP" --strip-debug -o "$a.stripped" "$a" || return 1
    if [ "$(stat -c %s "$a.stripped")" -lt "$(stat -c %s "$a")" ]; then
        mv "$a.stripped" "$a"
    else
        rm "$a.stripped"
    fi
}
if ((DO_STRIP)) && ! strip_libraries; then
    rm -f "$DESTDIR$LIBDIR/libnamedsem.a.stripped"
    echo "capi/install.sh: $STRIP failed; set STRIP to the target's strip, or give --no-strip" >&2
    exit 1
fi
cat >"$DESTDIR$LIBDIR/pkgconfig/namedsem.pc" <<PC
prefix=$PREFIX
libdir=$(pc_path "$LIBDIR")
includedir=$(pc_path "$INCLUDEDIR")

Name: namedsem
Description: POSIX semaphores (sem_*) compatible with glibc's, without the C library's semaphores
Version: $VERSION
Libs: -L\${libdir} -lnamedsem
Cflags: -I\${includedir}
PC
chmod 644 "$DESTDIR$LIBDIR/pkgconfig/namedsem.pc"
echo "installed namedsem $VERSION under ${DESTDIR}$PREFIX:"
for f in "$INCLUDEDIR/namedsem.h" "$LIBDIR/libnamedsem.so.$VERSION" "$LIBDIR/libnamedsem.so.0" \
    "$LIBDIR/libnamedsem.so" "$LIBDIR/libnamedsem.a" "$LIBDIR/pkgconfig/namedsem.pc"; do
    echo "  $DESTDIR$f"
done
if [ -z "$DESTDIR" ]; then
    echo "programs linked with -lnamedsem find libnamedsem.so.0 in $LIBDIR only if the"
    echo "dynamic loader looks there: run ldconfig if /etc/ld.so.conf lists it, else link"
    echo "with -Wl,-rpath,$LIBDIR or set LD_LIBRARY_PATH=$LIBDIR"
fi
