#!/usr/bin/env bash
# Runs the shell blocks of README.md, CONTRIBUTING.md and docs/*.md as a user
# would type them (ci/doc-blocks.py extracts them and says how blocks are
# marked), and prints which ran, which were skipped and why.
#
#   ci/doc-blocks.sh [--only TEXT]...  only the blocks whose file:line contains a TEXT
#   ci/doc-blocks.sh --list            the blocks and what is done with each
#
# The blocks run in a private mount namespace, so that what they install or
# create stays out of the machine and no other process's semaphores show:
# /dev/shm is an empty tmpfs; the checkout, $HOME (with ~/.cargo and
# ~/.rustup) and /usr/local are copy-on-write views whose changes are
# dropped at the end (so `bash capi/install.sh` installs into /usr/local,
# `cargo install` into ~/.cargo/bin, and the build output of the blocks
# goes nowhere); /tmp is an empty tmpfs. What is real: Debian packages the
# blocks install with apt-get (as CI would install them anyway), and qemu's
# binfmt_misc registration. apt-get answers yes by itself (APT_CONFIG).
# Logs go to target/doc-blocks/. Needs root (mounts), python3 and
# util-linux's unshare (installed if missing). Exits non-zero if a block
# fails or a skipped block's commands are no longer where it says CI runs
# them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LOGS=$ROOT/target/doc-blocks

if [ "${1:-}" = --list ]; then
    exec python3 ci/doc-blocks.py list "$ROOT"
fi

if [ -z "${DOC_BLOCKS_SCRATCH:-}" ]; then
    for tool in python3 unshare; do
        command -v "$tool" >/dev/null || {
            source ci/apt.sh
            apt_install python3 util-linux
        }
    done
    rm -rf "$LOGS"
    mkdir -p "$LOGS"
    # The upper layers live outside every directory they cover.
    scratch=$(mktemp -d /var/tmp/doc-blocks.XXXXXX)
    status=0
    DOC_BLOCKS_SCRATCH=$scratch unshare --mount --propagation private bash "$0" "$@" || status=$?
    cp -r "$scratch/logs/." "$LOGS/" 2>/dev/null || true
    rm -rf "$scratch"
    exit "$status"
fi

# ---- inside the namespace ------------------------------------------------
S=$DOC_BLOCKS_SCRATCH
mkdir -p "$S/logs"
# `cow DIR`: DIR becomes a copy-on-write view of itself.
cow() {
    local dir=$1 tag
    tag=$(echo "$dir" | tr / _)
    mkdir -p "$S/up$tag" "$S/work$tag"
    mount -t overlay overlay -o "lowerdir=$dir,upperdir=$S/up$tag,workdir=$S/work$tag" "$dir"
}
mount -t tmpfs -o mode=1777 doc-shm /dev/shm
# (A checkout inside $HOME is seen through $HOME's view: covering it then
# is covering a directory of that view, which overlayfs allows.)
[ "$ROOT" = "$HOME" ] || cow "$HOME"
for dir in "${CARGO_HOME:-}" "${RUSTUP_HOME:-}"; do
    case "$dir/" in /) ;; "$HOME"/*) ;; *) cow "$dir" ;; esac
done
cow /usr/local
cow "$ROOT"
case "$ROOT/" in
/tmp/*) echo "the checkout is under /tmp: /tmp stays the real one" ;;
*) mount -t tmpfs -o mode=1777 doc-tmp /tmp ;;
esac

printf '%s\n' 'APT::Get::Assume-Yes "true";' 'DPkg::Lock::Timeout "600";' 'Acquire::Retries "3";' \
    >"$S/apt.conf"
export APT_CONFIG=$S/apt.conf DEBIAN_FRONTEND=noninteractive CARGO_TERM_COLOR=never
# The docs' `apt-get update` goes through ci/apt.sh's retries: a Debian mirror
# caught mid-sync is not a fault of the text. Every other call is apt-get's.
mkdir -p "$S/bin"
{
    echo '#!/bin/bash'
    echo "source '$ROOT/ci/apt.sh'"
    cat <<'WRAP'
case " $* " in
*" update "*)
    APT=(/usr/bin/apt-get)
    for a; do [ "$a" = update ] || APT+=("$a"); done
    apt_update ;;
*) exec /usr/bin/apt-get "$@" ;;
esac
WRAP
} >"$S/bin/apt-get"
chmod +x "$S/bin/apt-get"
export PATH=$S/bin:$PATH
# Where `cargo install` puts programs, on the PATH as rustup sets it up.
export PATH=${CARGO_HOME:-$HOME/.cargo}/bin:$PATH

python3 ci/doc-blocks.py run --logs "$S/logs" "$@" "$ROOT"
