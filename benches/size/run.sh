#!/usr/bin/env bash
# The size a user pays: stripped sizes of one minimal static program (open or
# create a semaphore, acquire, release, unlink) built three ways, each also
# run once to prove it works:
#   - the crate (a no_std static library) under a C main, linked statically
#     against musl and against glibc (the crate calls no libc function, so
#     libc contributes only its start-up code);
#   - the same C main with libc's own sem_* (musl's, glibc's), static;
#   - the C main alone (`return 0`): the floor each libc's start-up costs.
# Needs gcc and glibc's static libc.a (libc6-dev) and musl-gcc (musl-tools).
# Usage: benches/size/run.sh   (prints a Markdown table)
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
