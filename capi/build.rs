//! The shared library's SONAME, `libnamedsem.so.0` (rustc's own
//! `-soname=libnamedsem.so` comes first on the link line; the last one
//! counts).
//!
//! Its exports need no link argument: rustc links every `cdylib` with a
//! version script of its own (`global:` the `#[no_mangle]` functions,
//! `local: *`), so the library exports exactly the `sem_*` functions, the
//! 64-bit-time `__sem_*` ones of 32-bit targets, `namedsem_version` and the
//! robust extension (`namedsem_open_robust`, `namedsem_recover`).
//! A second version script cannot be added: GNU ld refuses two anonymous
//! version tags, and a named tag would version the symbols, which would
//! then no longer interpose on glibc's `sem_*` under `LD_PRELOAD`.
//! `ci/capi.sh` checks the exports and the SONAME on every target.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnamedsem.so.0");
}
