# shellcheck shell=bash
# Sourced by ci/cross.sh: interop with glibc. The C peer (ci/cross/peer.c,
# glibc's own sem_open) built with a target's cross gcc, the checks that it
# and the crate's example peer share semaphores both ways, and the expected
# file image of a new semaphore for each glibc layout.

# The exact file image of a semaphore created with value 3, per layout:
# Wide (64-bit value word, nwaiters in its high half; private at byte 8) and
# Narrow (32-bit `value << 1 | waiter bit`, private at byte 4), each in both
# byte orders. `private` is FUTEX_SHARED (128), as glibc's sem_open writes it.
z32=00000000000000000000000000000000
IMAGE_WIDE_LE=03000000000000008000000000000000$z32
IMAGE_WIDE_BE=00000000000000030000008000000000$z32
IMAGE_NARROW_LE=06000000800000000000000000000000
IMAGE_NARROW_BE=00000006000000800000000000000000

# `c_peer GCC OUT`: the glibc C peer, built with GCC.
c_peer() {
    step "C peer with $1"
    "$1" -O2 -Wall -Wextra -Werror -pthread -o "$2" ci/cross/peer.c
    file "$2"
}

# `await_glibc_waiter LAYOUT FILE`: returns once a glibc waiter has
# registered in the semaphore FILE (little-endian LAYOUT `wide` or `narrow`),
# that is, right before it sleeps in the kernel; fails after 30 s. Wide:
# nwaiters, the high half of the first 8 bytes, is non-zero. Narrow: the
# waiter bit, bit 0 of the value word, is set.
await_glibc_waiter() {
    local layout=$1 f=$2 i=0 w
    while :; do
        case "$layout" in
        wide) w=$(od -An -tu4 -j4 -N4 "$f" | tr -d ' ') ;;
        narrow) w=$(($(od -An -tu4 -j0 -N4 "$f" | tr -d ' ') & 1)) ;;
        *) fail "await_glibc_waiter: unknown layout $layout" ;;
        esac
        [ "$w" = 0 ] || return 0
        i=$((i + 1))
        [ "$i" -lt 3000 ] || fail "glibc waiter never registered in $f"
        sleep 0.01
    done
}

# `interop LABEL CPEER RSPEER EXPECTED_HEX...`: the glibc C peer and the
# crate's example peer, run (natively, or through binfmt_misc/qemu), share
# semaphores both ways. EXPECTED_HEX is the exact file image of a semaphore
# created with value 3 on this target, as the ABI prescribes.
interop() {
    local label=$1 cpeer=$2 rpeer=$3 expected=$4
    local p="nsem-cross-$$-$label"
    local names=("$p-c" "$p-r" "$p-w1" "$p-w2" "$p-t")
    # shellcheck disable=SC2064
    trap "rm -f ${names[*]/#//dev/shm/sem.}" EXIT
    local n

    step "$label: interop between glibc peer ($cpeer) and crate peer ($rpeer)"
    "$cpeer" create "$p-c" 3 || fail "glibc peer create"
    "$rpeer" create "$p-r" 3 || fail "crate peer create"
    local img_c img_r
    img_c=$(od -An -v -tx1 "/dev/shm/sem.$p-c" | tr -d ' \n')
    img_r=$(od -An -v -tx1 "/dev/shm/sem.$p-r" | tr -d ' \n')
    echo "glibc image: $img_c"
    echo "crate image: $img_r"
    [ "$img_c" = "$expected" ] || fail "glibc's image is not the expected $expected"
    [ "$img_r" = "$expected" ] || fail "crate's image differs from glibc's"

    [ "$("$cpeer" value "$p-r")" = 3 ] || fail "glibc reads the crate's semaphore wrong"
    [ "$("$rpeer" value "$p-c")" = 3 ] || fail "crate reads glibc's semaphore wrong"
    "$rpeer" wait "$p-c" 1000 || fail "crate acquire on glibc's semaphore"
    "$cpeer" wait "$p-r" 1000 || fail "glibc acquire on the crate's semaphore"
    [ "$("$cpeer" value "$p-c")" = 2 ] || fail "glibc does not see the crate's acquire"
    [ "$("$rpeer" value "$p-r")" = 2 ] || fail "crate does not see glibc's acquire"

    # A glibc waiter blocked in the kernel is woken by the crate's release.
    "$cpeer" create "$p-w1" 0 || fail "glibc peer create"
    "$cpeer" wait "$p-w1" 30000 &
    local waiter=$!
    "$rpeer" await-waiter "$p-w1" 30000 || fail "glibc waiter never registered"
    "$rpeer" post "$p-w1" || fail "crate post"
    wait "$waiter" || fail "glibc waiter not woken by the crate's release (exit $?)"
    [ "$("$rpeer" value "$p-w1")" = 0 ] || fail "token not consumed by the glibc waiter"

    # A crate waiter blocked in the kernel is woken by glibc's sem_post.
    "$rpeer" create "$p-w2" 0 || fail "crate peer create"
    "$rpeer" wait "$p-w2" 30000 &
    waiter=$!
    "$rpeer" await-waiter "$p-w2" 30000 || fail "crate waiter never registered"
    "$cpeer" post "$p-w2" || fail "glibc post"
    wait "$waiter" || fail "crate waiter not woken by glibc's sem_post (exit $?)"
    [ "$("$cpeer" value "$p-w2")" = 0 ] || fail "token not consumed by the crate waiter"

    # With no token both sides time out, and neither takes one it should not.
    "$cpeer" create "$p-t" 0 || fail "glibc peer create"
    local rc=0
    "$cpeer" wait "$p-t" 200 || rc=$?
    [ "$rc" = 3 ] || fail "glibc wait on value 0 returned $rc, expected a timeout (3)"
    rc=0
    "$rpeer" wait "$p-t" 200 || rc=$?
    [ "$rc" = 3 ] || fail "crate wait on value 0 returned $rc, expected a timeout (3)"

    # Each side removes the other's semaphore.
    "$rpeer" unlink "$p-c" || fail "crate unlink of glibc's semaphore"
    "$cpeer" unlink "$p-r" || fail "glibc unlink of the crate's semaphore"
    for n in "$p-c" "$p-r"; do
        [ ! -e "/dev/shm/sem.$n" ] || fail "/dev/shm/sem.$n still exists after unlink"
    done
    for n in "$p-w1" "$p-w2" "$p-t"; do "$rpeer" unlink "$n" || fail "unlink $n"; done
    trap - EXIT
    echo "$label: interop ok"
}
