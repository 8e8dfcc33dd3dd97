//! Link arguments of the shared library: its SONAME and the version script
//! that exports only the `sem_*` functions and `namedsem_version`.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=namedsem.map");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnamedsem.so.0");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={dir}/namedsem.map");
}
