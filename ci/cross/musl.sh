# shellcheck shell=bash
# Sourced by ci/cross.sh: the statically linked musl rows (x86_64, armv7,
# aarch64). The test suite runs as static musl binaries (under qemu-user on
# ARM); the static example peer shares semaphores both ways with a glibc C
# program of the same architecture; the static binaries are kept in
# target/static/TARGET/.
#
# How they link: Rust's musl targets normally ship their own crt objects,
# libc.a and libunwind, and with -Zbuild-std none of that is there. Debian's
# musl-dev provides musl's crt objects and libc.a with a gcc wrapper
# (musl-gcc on x86_64, and from musl-dev:armhf / musl-dev:arm64, installed
# through a foreign dpkg architecture, arm-linux-musleabihf-gcc and
# aarch64-linux-musl-gcc, which wrap the glibc cross compilers). rustc is told
# not to use self-contained objects, to link a non-PIE static executable, and
# finds a libunwind.a made from the cross gcc's libgcc_eh.a.

# `musl_unwind_shim GCC MUSL_GCC DIR`: DIR/libunwind.a, gcc's unwinder (from
# GCC's libgcc_eh.a) plus a stub for the glibc-only `_dl_find_object` that
# libgcc_eh refers to (returning -1 makes it fall back to dl_iterate_phdr).
musl_unwind_shim() {
    local gcc=$1 musl_gcc=$2 dir=$3
    [ -f "$dir/libunwind.a" ] && return 0
    rm -rf "$dir" && mkdir -p "$dir/o"
    (
        cd "$dir/o"
        ar x "$("$gcc" -print-file-name=libgcc_eh.a)"
        echo 'int _dl_find_object(void *pc, void *r) { (void)pc; (void)r; return -1; }' >stub.c
        "$musl_gcc" -O2 -c stub.c
        ar rcs ../libunwind.a ./*.o
    )
}

# `keep_static TARGET FILE...`: each FILE is static and is copied to
# target/static/TARGET/, where CI leaves the binaries users ship.
keep_static() {
    local t=$1 f
    shift
    mkdir -p "$STATIC_DIR/$t"
    for f in "$@"; do
        step "$t: $(basename "$f") is a static binary"
        check_static "$f"
        cp "$f" "$STATIC_DIR/$t/"
    done
    echo "kept in ${STATIC_DIR#"$ROOT"/}/$t/: $(ls "$STATIC_DIR/$t" | tr '\n' ' ')"
}

# `musl_row TARGET GCC MUSL_GCC QEMU_ARCH IMAGE`: GCC is the target's glibc
# compiler (its libgcc_eh, and the glibc C peer), MUSL_GCC the musl wrapper
# that links; QEMU_ARCH empty for the host's architecture.
musl_row() {
    local t=$1 gcc=$2 musl_gcc=$3 qemu_arch=$4 image=$5
    local var shim=$CARGO_TARGET_DIR/unwind-shim/$t
    var=$(echo "$t" | tr 'a-z-' 'A-Z_')
    command -v "$musl_gcc" >/dev/null || fail "$musl_gcc missing (musl-dev for this architecture)"
    musl_unwind_shim "$gcc" "$musl_gcc" "$shim"
    export "CARGO_TARGET_${var}_LINKER=$musl_gcc"
    local flags="-C link-self-contained=no -C relocation-model=static -C target-feature=+crt-static -L $shim"
    export "CARGO_TARGET_${var}_RUSTFLAGS=$flags"
    # The doc tests are linked by rustdoc, which needs the same flags.
    export RUSTDOCFLAGS=$flags
    # Static binaries need no sysroot; the glibc C peer does.
    [ -z "$qemu_arch" ] || emulate "$t" "$qemu_arch" "/usr/${gcc%-gcc}"
    suite "$t"
    local out=$CARGO_TARGET_DIR/$t/debug
    # The `nsem` tool (its own package, nsem/) for this target, with the same
    # static flags.
    step "$t: nsem (nsem/), static"
    cargo build -Zbuild-std --target "$t" -p nsem --bin nsem
    [ -x "$out/nsem" ] || fail "nsem was not built for $t"
    keep_static "$t" "$out/examples/peer" "$out/nsem"
    c_peer "$gcc" "$out/peer-c"
    interop "musl-static-$t-vs-glibc" "$out/peer-c" "$STATIC_DIR/$t/peer" "$image"
    unset RUSTDOCFLAGS QEMU_LD_PREFIX EMULATED
}
