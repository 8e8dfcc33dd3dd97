#!/usr/bin/env bash
# Builds and installs the C library: namedsem.h, libnamedsem.so (SONAME
# libnamedsem.so.0), libnamedsem.a and the pkg-config file namedsem.pc.
#
#   bash capi/install.sh [--no-build]
#
# Variables, as packagers expect them:
#   PREFIX      installation prefix (default /usr/local)
#   LIBDIR      libraries and pkgconfig/ (default $PREFIX/lib)
#   INCLUDEDIR  the header (default $PREFIX/include)
#   DESTDIR     staging root prepended to every path written; the installed
#               files (the .pc file) still name PREFIX
#   TARGET      a Rust target triple to build for (default: the host)
#   CARGO_TARGET_DIR  cargo's output directory (default target/)
# --no-build installs what an earlier `cargo build -p namedsem-capi
# --profile capi` left.
set -euo pipefail
cd "$(dirname "$0")/.."
PREFIX=${PREFIX:-/usr/local}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
DESTDIR=${DESTDIR:-}
TARGET=${TARGET:-}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$PWD/$TARGET_DIR" ;; esac
BUILD=1
case "${1:-}" in
"") ;;
--no-build) BUILD=0 ;;
*)
    echo "usage: capi/install.sh [--no-build]" >&2
    exit 2
    ;;
esac

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
