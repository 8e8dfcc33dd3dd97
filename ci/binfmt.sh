#!/usr/bin/env bash
# Sourced by ci/cross/common.sh and ci/capi.sh: qemu-user through binfmt_misc.

# Lets the kernel run foreign binaries through qemu, so that a program that
# starts another (the suites' child processes, the C tests' peer) works
# under emulation (idempotent). Needs the caller's `fail`.
register_binfmt() {
    local arch=$1 conf=/usr/lib/binfmt.d/qemu-$1.conf
    local dir=/proc/sys/fs/binfmt_misc
    [ -e "$dir/register" ] || mount -t binfmt_misc binfmt_misc "$dir" ||
        fail "cannot mount binfmt_misc (needed for child processes under qemu)"
    if [ ! -e "$dir/qemu-$arch" ]; then
        [ -f "$conf" ] || fail "$conf missing (qemu-user-static not installed?)"
        grep -v '^#' "$conf" >"$dir/register" || fail "cannot register qemu-$arch in binfmt_misc"
    fi
    grep -q '^enabled' "$dir/qemu-$arch" || fail "binfmt entry qemu-$arch is not enabled"
}
