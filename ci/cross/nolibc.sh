# shellcheck shell=bash
# Sourced by ci/cross.sh: the no-libc program (nolibc/, its own `_start`,
# linked -nostartfiles -nostdlib -static) for one target: it must be static
# with no undefined symbol, pass its own check, and its release must wake a
# glibc waiter of the same architecture.

# `nolibc_row TARGET GCC QEMU_ARCH LAYOUT`: GCC links the program (no libc
# of its is used) and builds the glibc waiter; QEMU_ARCH empty for the host's
# architecture; LAYOUT (`wide` or `narrow`) tells how the waiter registers.
nolibc_row() {
    local t=$1 gcc=$2 qemu_arch=$3 layout=$4
    local var bin=$CARGO_TARGET_DIR/$t/release/nolibc-check
    var=$(echo "$t" | tr 'a-z-' 'A-Z_')
    export "CARGO_TARGET_${var}_LINKER=$gcc"
    step "nolibc $t: build the no-libc program (nolibc/)"
    (cd nolibc && cargo build --release --target "$t")
    echo "rustix backend: $(rustix_backend "$CARGO_TARGET_DIR/$t/release")"
    check_static "$bin"
    local undefined nm=${gcc%gcc}nm
    undefined=$("$nm" -u "$bin")
    [ -z "$undefined" ] || fail "the no-libc program has undefined symbols: $undefined"
    echo "no undefined symbols; entry point: $("$nm" "$bin" | grep -w _start)"
    # The glibc waiter runs through binfmt_misc with its sysroot.
    [ -z "$qemu_arch" ] || emulate "$t" "$qemu_arch" "/usr/${gcc%-gcc}"

    step "nolibc $t: run it"
    local name="nsem-cross-$$-nolibc-$t" rc=0
    # shellcheck disable=SC2064
    trap "rm -f /dev/shm/sem.$name /dev/shm/sem.$name-w" EXIT
    "$bin" check "$name" || rc=$?
    [ "$rc" = 0 ] || fail "no-libc program's check failed at step $rc (see nolibc/src/main.rs)"
    [ ! -e "/dev/shm/sem.$name" ] || fail "the no-libc program left /dev/shm/sem.$name"
    echo "nolibc check: exit 0"

    step "nolibc $t: its release wakes a glibc waiter"
    local cpeer=$CARGO_TARGET_DIR/$t/release/peer-c
    c_peer "$gcc" "$cpeer"
    "$cpeer" create "$name-w" 0 || fail "glibc peer create"
    "$cpeer" wait "$name-w" 30000 &
    local waiter=$!
    await_glibc_waiter "$layout" "/dev/shm/sem.$name-w"
    "$bin" post "$name-w" || fail "no-libc post exited $?"
    wait "$waiter" || fail "glibc waiter not woken by the no-libc program (exit $?)"
    [ "$("$cpeer" value "$name-w")" = 0 ] || fail "token not consumed by the glibc waiter"
    "$cpeer" unlink "$name-w" || fail "glibc unlink"
    trap - EXIT
    unset QEMU_LD_PREFIX EMULATED
    echo "nolibc $t: glibc waiter woken"
}
