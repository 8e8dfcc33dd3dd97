# shellcheck shell=bash
# Sourced by ci/cross.sh: what every row shares. Output and timing, the
# Debian installs, qemu-user through binfmt_misc, the check that a binary is
# static, the crate's test suite for one target, and the glibc rows.

step() { printf '\n==> %s\n' "$*"; }
fail() {
    printf 'FAILED: %s\n' "$*" >&2
    exit 1
}

timed() {
    local label=$1 start=$SECONDS
    shift
    "$@"
    local took=$((SECONDS - start))
    TIMES+=("$label: ${took}s")
    echo "$label took ${took}s"
}

# Never gcc-multilib (it conflicts with every gcc-*-linux-gnu cross compiler)
# and never linux-libc-dev:i386 (apt removes libc6-dev to install it). The
# foreign architectures (`+armhf`) are only for musl-dev:ARCH, a package of
# static libraries that depends on nothing of that architecture but musl.
install_packages() {
    local pkgs=(rustc-web rust-web-src file binutils) archs=() row p
    for row in "$@"; do
        for p in $(packages_for "$row"); do
            case "$p" in +*) archs+=("${p#+}") ;; *) pkgs+=("$p") ;; esac
        done
    done
    for p in "${archs[@]}"; do
        dpkg --print-foreign-architectures | grep -qx "$p" || {
            step "dpkg --add-architecture $p"
            dpkg --add-architecture "$p"
        }
    done
    # shellcheck disable=SC2207
    pkgs=($(printf '%s\n' "${pkgs[@]}" | sort -u))
    step "apt-get install ${pkgs[*]}"
    apt_install "${pkgs[@]}"
    "$RUSTC" --version
    cargo --version
}

source "$ROOT/ci/binfmt.sh"
source "$ROOT/ci/apt.sh"

# `emulate TARGET QEMU_ARCH SYSROOT`: cargo runs TARGET's binaries through
# qemu-user, and so does the kernel for the child processes they start; a
# dynamically linked one finds the target's glibc in SYSROOT.
emulate() {
    local var
    var=$(echo "$1" | tr 'a-z-' 'A-Z_')
    register_binfmt "$2"
    export QEMU_LD_PREFIX=$3
    export "CARGO_TARGET_${var}_RUNNER=qemu-$2-static"
    EMULATED=1
}

# `check_static FILE`: `file` says statically linked with no interpreter, and
# `ldd` says it is not a dynamic executable.
check_static() {
    local f=$1 desc ldd_out
    desc=$(file -b "$f")
    echo "file: $desc"
    case "$desc" in *"statically linked"*) ;; *) fail "$f is not statically linked" ;; esac
    case "$desc" in *interpreter*) fail "$f has an interpreter" ;; esac
    ldd_out=$(ldd "$f" 2>&1 || true)
    echo "ldd: $ldd_out"
    case "$ldd_out" in *"not a dynamic executable"*) ;; *) fail "ldd does not call $f static" ;; esac
}

# Which rustix backend a build used: `linux_raw` (direct system calls) or
# `libc` (rustix's fallback where linux_raw is not stable). `rustix_backend DIR`
# with DIR the profile directory of the build.
rustix_backend() {
    local b
    b=$(cat "$1"/build/rustix-*/output 2>/dev/null |
        sed -n 's/^cargo:rustc-cfg=\(linux_raw\|libc\)$/\1/p' | sort -u | tr '\n' ' ')
    echo "${b:-unknown}"
}

# The no_std library build with default features, then `cargo test` of the
# whole suite (unit, integration and doc tests), for a -Zbuild-std target.
suite() {
    local t=$1
    # The robust kill storm (tests/robust_storm.rs) runs 20 s natively; 5 s
    # per row here, where it mostly runs under emulation.
    export NSEM_STORM_SECS="${NSEM_STORM_SECS:-5}"
    step "$t: build the no_std library (default features)"
    cargo build -Zbuild-std --target "$t" --lib
    step "$t: cargo test, all features"
    # For local runs only (CI sets neither): CROSS_TEST_ARGS, extra arguments
    # for the test harness (`--skip NAME`); CROSS_SKIP_TEST_FILES, files in
    # tests/ to leave out (`faults stress`). Both are announced, and the run
    # is then not the whole suite.
    local targets=()
    if [ -n "${CROSS_SKIP_TEST_FILES:-}" ]; then
        local f
        targets=(--lib --bins)
        for f in tests/*.rs; do
            f=$(basename "$f" .rs)
            case " $CROSS_SKIP_TEST_FILES " in *" $f "*) ;; *) targets+=(--test "$f") ;; esac
        done
        echo "NOT the whole suite: left out tests/{${CROSS_SKIP_TEST_FILES// /,}}.rs"
    fi
    [ -z "${CROSS_TEST_ARGS:-}" ] || echo "NOT the whole suite: extra harness arguments $CROSS_TEST_ARGS"
    # shellcheck disable=SC2086
    cargo test -Zbuild-std --target "$t" --all-features "${targets[@]}" -- ${CROSS_TEST_ARGS:-}
    # `cargo test` also builds the examples, examples/peer.rs among them;
    # with selected test targets it does not, nor the doc tests.
    if [ ${#targets[@]} -gt 0 ]; then
        # shellcheck disable=SC2086
        cargo test -Zbuild-std --target "$t" --all-features --doc -- ${CROSS_TEST_ARGS:-}
        cargo build -Zbuild-std --target "$t" --all-features --example peer
    fi
    [ -x "$CARGO_TARGET_DIR/$t/debug/examples/peer" ] || fail "examples/peer was not built"
    echo "$t: rustix backend: $(rustix_backend "$CARGO_TARGET_DIR/$t/debug")"
}

# `gnu_row TARGET GCC QEMU_ARCH IMAGE`: a glibc target, natively (QEMU_ARCH
# empty) or under qemu-user: the suite, then interop with a glibc C peer.
gnu_row() {
    local t=$1 gcc=$2 qemu_arch=$3 image=$4
    local var
    var=$(echo "$t" | tr 'a-z-' 'A-Z_')
    export "CARGO_TARGET_${var}_LINKER=$gcc"
    [ -z "$qemu_arch" ] || emulate "$t" "$qemu_arch" "/usr/${gcc%-gcc}"
    suite "$t"
    local out=$CARGO_TARGET_DIR/$t/debug
    c_peer "$gcc" "$out/peer-c"
    file "$out/examples/peer"
    interop "$t" "$out/peer-c" "$out/examples/peer" "$image"
    unset QEMU_LD_PREFIX EMULATED
}
