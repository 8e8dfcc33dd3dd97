//! POSIX semaphores for C: `sem_open`, `sem_close`, `sem_unlink`,
//! `sem_wait`, `sem_trywait`, `sem_timedwait`, `sem_clockwait`, `sem_post`,
//! `sem_getvalue`, `sem_init` and `sem_destroy`, with glibc's signatures,
//! errno values and `sem_t` image, built on the `named-semaphores` crate;
//! and the robust extension, `namedsem_open_robust` and `namedsem_recover`
//! (`robust.rs`): tokens that come back when their holder dies.
//!
//! Built as `libnamedsem.so` and `libnamedsem.a` (header
//! `include/namedsem.h`). Link it before the C library, or inject it with
//! `LD_PRELOAD`: a `sem_t *` from this library and one from glibc are
//! interchangeable on the same object, and named semaphores are shared with
//! glibc programs (`/dev/shm/sem.NAME`).
//!
//! The library is `#![no_std]` and uses no allocator: the table of open
//! named semaphores lives in anonymous memory it maps as it grows, so its
//! static data is a few words. From the host it needs only
//! `__errno_location` (glibc, musl; `__errno` on Android's bionic) and
//! `abort` (called only if a bug made the library panic).
//!
//! The functions are split by what they work on: `named.rs` (`sem_open`,
//! `sem_close`, `sem_unlink`) over `table.rs` (the open semaphores) and the
//! crate's file layer (`named_semaphores::c_library`),
//! `unnamed.rs` (the calls on any semaphore), `timed.rs` (the timed waits
//! and C time types), `errno.rs` and `lock.rs`.
//!
//! Not supported, stated plainly:
//! - Thread cancellation: `sem_wait`, `sem_timedwait` and `sem_clockwait`
//!   are not cancellation points; `pthread_cancel` takes effect at the next
//!   cancellation point after the wait returns.
//! - A semaphore that glibc's `sem_init(sem, 0, value)` initialised
//!   (`private` = 0, process-private futexes) must not be waited on by one
//!   library and posted by the other in the same process: this library
//!   always uses shared futex operations. Its own `sem_init` writes the
//!   process-shared image for both `pshared` values, which glibc handles
//!   correctly.
//!
//! The release build (`cargo build -p namedsem-capi --profile capi`) has
//! `panic = "abort"` and is `#![no_std]`. A build with unwinding panics
//! (the `dev` profile) links `std` instead, only because `core` alone cannot
//! unwind; the code is the same.
#![cfg_attr(panic = "abort", no_std)]
#![deny(
    missing_docs,
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks
)]
#![allow(non_camel_case_types)]

mod errno;
mod lock;
mod named;
mod robust;
mod table;
mod timed;
mod unnamed;

use core::ffi::{c_char, CStr};

use named_semaphores::RawSemaphore;

pub use named::{sem_close, sem_open, sem_unlink};
pub use robust::{namedsem_open_robust, namedsem_recover};
#[cfg(target_pointer_width = "32")]
pub use timed::{__sem_clockwait64, __sem_timedwait64, __sem_timedwait_time64, timespec64};
pub use timed::{sem_clockwait, sem_timedwait, timespec};
pub use unnamed::{sem_destroy, sem_getvalue, sem_init, sem_post, sem_trywait, sem_wait};

// The ABI facts below (flag values, variadic calls) are checked for these
// targets only.
#[cfg(not(all(
    any(target_os = "linux", target_os = "android"),
    any(
        target_arch = "x86_64",
        target_arch = "x86",
        target_arch = "aarch64",
        target_arch = "arm"
    )
)))]
compile_error!("namedsem-capi supports Linux on x86_64, i686, aarch64 and armv7 only");

/// glibc's `sem_t`: this library's semaphores are glibc's image, so C's
/// `sem_t *` points at a [`RawSemaphore`].
pub type sem_t = RawSemaphore;

/// `SEM_FAILED`: what `sem_open` returns on error.
pub(crate) const SEM_FAILED: *mut sem_t = core::ptr::null_mut();

/// The errno values this library sets (Linux's, on every target).
pub(crate) mod e {
    use core::ffi::c_int;
    pub const ENOENT: c_int = 2;
    pub const EAGAIN: c_int = 11;
    pub const ENAMETOOLONG: c_int = 36;
    pub const EINVAL: c_int = 22;
    pub const ETIMEDOUT: c_int = 110;
}

/// Aborts the process: a panic here is a bug, and unwinding into C is not an
/// option.
#[cfg(all(panic = "abort", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    extern "C" {
        fn abort() -> !;
    }
    // SAFETY: `abort` is the C library's; it takes no arguments and does not
    // return.
    unsafe { abort() }
}

// The personality routine that the prebuilt `core`'s unwind tables name.
// With `panic = "abort"` nothing ever unwinds, so it is never called; it is
// defined only so that the shared library has no undefined reference to it.
// It is defined in assembly as a hidden symbol: a Rust `#[no_mangle]`
// function would be exported from the shared library whatever the version
// script says (rustc lists every such function as global).
#[cfg(all(panic = "abort", not(test)))]
mod personality {
    /// The instruction that traps on each target: what the personality routine
    /// would run if it were ever called.
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    macro_rules! TRAP {
        () => {
            "ud2"
        };
    }
    #[cfg(target_arch = "aarch64")]
    macro_rules! TRAP {
        () => {
            "brk #0"
        };
    }
    #[cfg(target_arch = "arm")]
    macro_rules! TRAP {
        () => {
            "udf #0"
        };
    }

    core::arch::global_asm!(
        ".pushsection .text.rust_eh_personality,\"ax\",%progbits",
        ".globl rust_eh_personality",
        ".hidden rust_eh_personality",
        ".type rust_eh_personality,%function",
        "rust_eh_personality:",
        TRAP!(),
        ".size rust_eh_personality, . - rust_eh_personality",
        ".popsection",
    );
}

/// What a C `sem_t *` designates.
pub(crate) enum Sem<'a> {
    /// A semaphore: from `sem_open` or `sem_init` (this library's or
    /// glibc's).
    Plain(&'a RawSemaphore),
    /// A robust handle from `namedsem_open_robust` (`robust.rs`).
    Robust(robust::Robust<'a>),
}

/// The semaphore behind a C `sem_t *`, or `None` (errno `EINVAL`) for a null
/// or misaligned pointer that is not a robust handle. A robust handle's
/// pointer is misaligned on purpose: the plain path has no extra test.
///
/// # Safety
///
/// A non-null `sem` must point to a semaphore that `sem_init` or
/// `sem_open` made (by this library or by glibc), or be a robust handle from
/// `namedsem_open_robust`, that stays valid for `'a`: the C contract of
/// every `sem_*` function.
#[inline(always)]
pub(crate) unsafe fn sem_ref<'a>(sem: *mut sem_t) -> Option<Sem<'a>> {
    if sem.is_null() || !sem.is_aligned() {
        // SAFETY: forwarded from the caller.
        return unsafe { robust::handle(sem) }.map(Sem::Robust);
    }
    // SAFETY: non-null and aligned; the caller promises a live semaphore.
    // All access to it goes through atomics, so other threads and processes
    // using it at the same time is expected.
    Some(Sem::Plain(unsafe { &*sem }))
}

/// A C string's bytes (any but NUL: glibc takes names that are not UTF-8),
/// or `None` for null.
///
/// # Safety
///
/// A non-null `name` must point to a NUL-terminated string.
pub(crate) unsafe fn name_bytes<'a>(name: *const c_char) -> Option<&'a [u8]> {
    if name.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated, as the caller promises.
    Some(unsafe { CStr::from_ptr(name) }.to_bytes())
}

/// `name` without its leading slashes, as glibc maps names.
pub(crate) fn bare_name(name: &[u8]) -> &[u8] {
    let slashes = name.iter().take_while(|&&b| b == b'/').count();
    &name[slashes..]
}

/// `const char *namedsem_version(void)`: this library's name and version,
/// e.g. `"namedsem 0.1.0"`. A symbol only this library has: link checks use
/// it to tell it from the C library's own `sem_*`.
#[no_mangle]
pub extern "C" fn namedsem_version() -> *const c_char {
    const VERSION: &CStr = match CStr::from_bytes_with_nul(
        concat!("namedsem ", env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(s) => s,
        Err(_) => panic!("version string has an inner NUL"),
    };
    VERSION.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_a_c_string() {
        // SAFETY: namedsem_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(namedsem_version()) };
        assert_eq!(
            v.to_str().unwrap(),
            concat!("namedsem ", env!("CARGO_PKG_VERSION"))
        );
    }
}
