//! errno is the host C library's: this library sets it through the same
//! thread-local location that the C program reads.

use core::ffi::c_int;

extern "C" {
    /// glibc's and musl's errno location; bionic names it `__errno`.
    #[cfg_attr(target_os = "android", link_name = "__errno")]
    fn __errno_location() -> *mut c_int;
}

/// Sets the calling thread's `errno`.
pub(crate) fn set(value: c_int) {
    // SAFETY: every C library this links against defines this function; it
    // takes no arguments and returns the calling thread's errno, a valid,
    // aligned `int` that lives as long as the thread.
    unsafe { *__errno_location() = value };
}

/// Sets `errno` and returns `-1`, the error return of the `int` functions.
pub(crate) fn fail(value: c_int) -> c_int {
    set(value);
    -1
}
