#!/usr/bin/env bash
# The size a user pays: stripped sizes of one minimal static program (open or
# create a semaphore, acquire, release, unlink) built three ways, each also
# run once to prove it works:
#   - the crate (a no_std static library) under a C main, linked statically
#     against musl and against glibc (the crate calls no libc function, so
#     libc contributes only its start-up code);
#   - the same C main with libc's own sem_* (musl's, glibc's), static;
#   - the C main alone (`return 0`): the floor each libc's start-up costs.
# Then the `nsem` tool, built static for x86_64 musl with its profile
# (`--profile nsem`), beside a std "hello world" built the same way (the
# nsem package's example `hello`), each run once; the tool must stay within
# 1.6 times the hello world (1.5 until the robust mode's commands: recover,
# the record in info, run --robust). The static tool is left at
# target/x86_64-unknown-linux-musl/nsem/nsem.
# Then the C library (capi/): its static data (.data + .bss of
# libnamedsem.so), and allsem.c, a program using every sem_* call musl has,
# built static with musl-gcc against musl's own sem_* and against
# libnamedsem.a (target: at most 16 KiB larger).
# Needs gcc and glibc's static libc.a (libc6-dev), musl-gcc (musl-tools),
# and rustup's x86_64-unknown-linux-musl target (added here if missing).
# Usage: benches/size/run.sh   (prints Markdown tables)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/target/size"
mkdir -p "$out"

CARGO_TARGET_DIR="$out/cargo" cargo build --quiet --release --manifest-path "$here/Cargo.toml"
lib="$out/cargo/release/libnsem_size.a"
printf 'int nsem_demo(void) { return 0; }\n' > "$out/empty.c"

cflags=(-static -Os -ffunction-sections -fdata-sections -Wl,--gc-sections)
declare -A size
build() { # name compiler sources...
    local name=$1 cc=$2
    shift 2
    "$cc" "${cflags[@]}" -o "$out/$name" "$here/main.c" "$@" -lpthread
    strip -o "$out/$name.stripped" "$out/$name"
    file "$out/$name.stripped" | grep -q 'statically linked' || {
        echo "$name is not statically linked: $(file "$out/$name.stripped")" >&2
        exit 1
    }
    rm -f /dev/shm/sem.nsem-size-demo
    "$out/$name.stripped" || { echo "$name failed with exit code $?" >&2; exit 1; }
    if [ -e /dev/shm/sem.nsem-size-demo ]; then
        rm -f /dev/shm/sem.nsem-size-demo
        echo "$name left its semaphore behind" >&2
        exit 1
    fi
    size[$name]=$(stat -c %s "$out/$name.stripped")
}

build crate-musl musl-gcc "$lib"
build libc-musl musl-gcc "$here/size.c"
build empty-musl musl-gcc "$out/empty.c"
build crate-glibc gcc "$lib"
build libc-glibc gcc "$here/size.c"
build empty-glibc gcc "$out/empty.c"

row() { # label crate libc empty
    printf '| %s | %d | %d | %d | %d | %d |\n' "$1" "${size[$2]}" "${size[$3]}" "${size[$4]}" \
        $(( size[$2] - size[$4] )) $(( size[$3] - size[$4] ))
}
echo "| static libc | crate program | libc sem_* program | empty program | crate's share | libc sem_*'s share |"
echo "|---|---|---|---|---|---|"
row musl crate-musl libc-musl empty-musl
row glibc crate-glibc libc-glibc empty-glibc
echo
echo "bytes, stripped; share = program minus the empty program"

# The tool for devices: static musl build, beside a std hello world.
musl=x86_64-unknown-linux-musl
rustup target list --installed | grep -qx "$musl" || rustup target add "$musl" >&2
(cd "$root" && cargo build --quiet -p nsem --profile nsem --target "$musl" --bin nsem --example hello)
bin="$root/target/$musl/nsem"
for prog in "$bin/nsem" "$bin/examples/hello"; do
    file "$prog" | grep -q 'static' || { echo "$prog is not static: $(file "$prog")" >&2; exit 1; }
done
[ "$("$bin/examples/hello")" = "hello world" ] || { echo "hello world failed" >&2; exit 1; }
sem="nsem-size-tool-$$"
"$bin/nsem" create "$sem" --value 2 && "$bin/nsem" info "$sem" | grep -qx 'value:   2' \
    && "$bin/nsem" unlink "$sem" || { rm -f "/dev/shm/sem.$sem"; echo "the static nsem failed" >&2; exit 1; }
tool=$(stat -c %s "$bin/nsem")
hello=$(stat -c %s "$bin/examples/hello")
echo
echo "| static musl, profile nsem | nsem | std hello world | nsem / hello world |"
echo "|---|---|---|---|"
printf '| x86_64 | %d | %d | %d.%02d |\n' "$tool" "$hello" $(( tool / hello )) $(( tool * 100 / hello % 100 ))
echo
echo "bytes, stripped (opt-level z, LTO, panic=abort); limit: nsem at most 1.6 x hello world"
if (( tool * 5 > hello * 8 )); then
    echo "nsem ($tool bytes) is more than 1.6 times the hello world ($hello bytes)" >&2
    exit 1
fi

# ------------------------------------------------------------ C library --
CARGO_TARGET_DIR="$out/cargo-capi" cargo build --quiet -p namedsem-capi --profile capi --manifest-path "$root/Cargo.toml"
capi="$out/cargo-capi/capi"
static_data=$(size -A "$capi/libnamedsem.so" | awk '$1 == ".data" || $1 == ".bss" { n += $2 } END { print n + 0 }')
csize() { # name extra-args...
    local name=$1
    shift
    musl-gcc -static -Os -ffunction-sections -fdata-sections -Wl,--gc-sections -o "$out/$name" "$here/allsem.c" "$@"
    strip -o "$out/$name.stripped" "$out/$name"
    "$out/$name.stripped" || { echo "$name failed with exit code $?" >&2; exit 1; }
    size[$name]=$(stat -c %s "$out/$name.stripped")
}
csize allsem-musl
csize allsem-namedsem "$capi/libnamedsem.a"
# The library's sem_* replaced musl's: musl's sem_open, and only it, needs
# __shm_mapname (the crate's code is inlined away by LTO, so its symbols are
# not there to look for).
ours=$(nm "$out/allsem-namedsem")
theirs=$(nm "$out/allsem-musl")
if grep -q __shm_mapname <<<"$ours" || ! grep -q __shm_mapname <<<"$theirs"; then
    echo "allsem-namedsem does not use libnamedsem's sem_open" >&2
    exit 1
fi
echo
echo "| C library | bytes |"
echo "|---|---|"
echo "| libnamedsem.so .data + .bss | $static_data |"
echo "| allsem.c, static musl, musl's sem_* | ${size[allsem-musl]} |"
echo "| allsem.c, static musl, libnamedsem.a | ${size[allsem-namedsem]} |"
echo "| difference (target <= 16384) | $(( size[allsem-namedsem] - size[allsem-musl] )) |"
