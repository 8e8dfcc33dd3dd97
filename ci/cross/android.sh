# shellcheck shell=bash
# Sourced by ci/cross.sh: Android, without the NDK (none can be installed
# here). The library is built for aarch64-linux-android and
# armv7-linux-androideabi against `core` (and `alloc`) built from source, so
# the Android `cfg` paths of the crate, of rustix and of the libc crate
# compile. Nothing runs: on Android rustix 1.x always takes its libc backend
# (its build script chooses linux_raw for target_os "linux" only), so the
# crate calls bionic, and without bionic's libraries nothing links; the
# no-libc program cannot be built for Android for the same reason.

android_row() {
    local t backend
    for t in aarch64-linux-android armv7-linux-androideabi; do
        step "$t: the library, default features, with core built from source"
        cargo build -Zbuild-std=core --target "$t" --lib
        step "$t: the library with feature alloc"
        cargo build -Zbuild-std=core,alloc --target "$t" --lib --features alloc
        backend=$(rustix_backend "$CARGO_TARGET_DIR/$t/debug")
        echo "$t: rustix backend: $backend"
        # docs/platforms.md says the crate goes through bionic on Android.
        [ "$backend" = "libc " ] ||
            fail "$t: rustix backend is '$backend', not libc: update docs/platforms.md (Android)"
    done
}
