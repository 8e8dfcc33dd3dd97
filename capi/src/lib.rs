//! POSIX semaphores for C: `sem_open`, `sem_close`, `sem_unlink`,
//! `sem_wait`, `sem_trywait`, `sem_timedwait`, `sem_clockwait`, `sem_post`,
//! `sem_getvalue`, `sem_init` and `sem_destroy`, with glibc's signatures,
//! errno values and `sem_t` image, built on the `named-semaphores` crate.
//!
//! Built as `libnamedsem.so` and `libnamedsem.a` (header
//! `include/namedsem.h`). Link it before the C library, or inject it with
//! `LD_PRELOAD`: a `sem_t *` from this library and one from glibc are
//! interchangeable on the same object, and named semaphores are shared with
//! glibc programs (`/dev/shm/sem.NAME`).
//!
//! The library is `#![no_std]` and allocates nothing. From the host it needs
//! only `__errno_location` (glibc, musl; `__errno` on Android's bionic) and
//! `abort` (called only if a bug made the library panic).
//!
//! Not supported, stated plainly:
//! - Thread cancellation: `sem_wait`, `sem_timedwait` and `sem_clockwait`
//!   are not cancellation points; `pthread_cancel` takes effect at the next
//!   cancellation point after the wait returns.
//! - Names must be UTF-8: other names fail with `EINVAL` (`sem_open`) or
//!   `ENOENT` (`sem_unlink`).
//! - At most 1024 distinct named semaphores open at once per process
//!   (`EMFILE` beyond).
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
mod table;

use core::ffi::{c_char, c_int, c_long, c_uint, CStr};
use core::time::Duration;

use named_semaphores::{
    Clock, Error, ErrorKind, Existence, NamedSemaphore, RawSemaphore, VALUE_MAX,
};

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
const SEM_FAILED: *mut sem_t = core::ptr::null_mut();

/// `O_CREAT` and `O_EXCL` (the same on every supported target).
const O_CREAT: c_int = 0o100;
const O_EXCL: c_int = 0o200;

/// The errno values this library sets (Linux's, on every target).
mod e {
    use core::ffi::c_int;
    pub const ENOENT: c_int = 2;
    pub const EAGAIN: c_int = 11;
    pub const EMFILE: c_int = 24;
    pub const EINVAL: c_int = 22;
    pub const ETIMEDOUT: c_int = 110;
}

/// `clockid_t` values `sem_clockwait` accepts.
const CLOCK_REALTIME: c_int = 0;
const CLOCK_MONOTONIC: c_int = 1;

/// C's `struct timespec` with the C library's native `time_t` (`long` on
/// glibc and bionic for every supported target).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct timespec {
    /// Seconds.
    pub tv_sec: c_long,
    /// Nanoseconds, 0 to 999 999 999.
    pub tv_nsec: c_long,
}

/// The 64-bit `struct timespec` of 32-bit targets built with 64-bit
/// `time_t` (glibc's `__timespec64`, musl's only `timespec`): `tv_nsec` is
/// 32 bits followed by 32 bits of padding (little-endian targets).
#[cfg(target_pointer_width = "32")]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct timespec64 {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, 0 to 999 999 999.
    pub tv_nsec: i32,
    pad: i32,
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

/// The personality routine that the prebuilt `core`'s unwind tables name.
/// With `panic = "abort"` nothing ever unwinds, so it is never called; it is
/// defined only so that the shared library has no undefined reference to it.
#[cfg(all(panic = "abort", not(test)))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}

/// The errno for an error from the crate.
fn errno_of(err: &Error) -> c_int {
    err.raw_os_error()
}

/// The semaphore behind a C `sem_t *`, or `None` (errno `EINVAL`) for a null
/// or misaligned pointer.
///
/// # Safety
///
/// A non-null, aligned `sem` must point to a semaphore that `sem_init` or
/// `sem_open` made (by this library or by glibc) and that stays valid for
/// `'a`: the C contract of every `sem_*` function.
unsafe fn sem_ref<'a>(sem: *mut sem_t) -> Option<&'a RawSemaphore> {
    if sem.is_null() || !sem.is_aligned() {
        errno::set(e::EINVAL);
        return None;
    }
    // SAFETY: non-null and aligned; the caller promises a live semaphore.
    // All access to it goes through atomics, so other threads and processes
    // using it at the same time is expected.
    Some(unsafe { &*sem })
}

/// A C string as `&str`, or `None` for null or non-UTF-8.
///
/// # Safety
///
/// A non-null `name` must point to a NUL-terminated string.
unsafe fn name_str<'a>(name: *const c_char) -> Option<&'a str> {
    if name.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated, as the caller promises.
    unsafe { CStr::from_ptr(name) }.to_str().ok()
}

/// `sem_t *sem_open(const char *name, int oflag, ...)`: opens, or with
/// `O_CREAT` creates, the named semaphore `/dev/shm/sem.NAME`.
///
/// # Variadic arguments on stable Rust
///
/// C declares `sem_open` variadic: `mode_t mode, unsigned int value` follow
/// `oflag` when it has `O_CREAT`. Stable Rust cannot define a C-variadic
/// function, so this one is defined with those two as fixed parameters.
/// That is ABI-correct for a variadic call on every supported target,
/// because each passes the first integer arguments of a variadic call
/// exactly where it passes the same fixed arguments:
/// - x86_64 System V: `rdi, rsi, rdx, rcx` either way; a variadic caller
///   also sets `al` (the count of vector registers used), which a
///   non-variadic callee ignores.
/// - i686 (cdecl): all arguments on the stack, in order, either way.
/// - armv7 (AAPCS, hard-float too): integer arguments in `r0`-`r3` either
///   way (hard-float only changes floating-point arguments).
/// - aarch64 Linux (AAPCS64): integer arguments in `x0`-`x7` either way
///   (Apple's arm64 ABI, which puts variadic arguments on the stack, is not
///   a target here).
///
/// `mode` is `mode_t` (32-bit `unsigned int` on Linux) and `value` is
/// `unsigned int`, both 32 bits, so default argument promotion changes
/// nothing. Without `O_CREAT` a caller passes only two arguments; the other
/// two parameters then hold whatever the registers or stack slots held, and
/// they are not read. (On i686 those slots are in the caller's frame, which
/// is always mapped.) Any bit pattern is a valid `u32`, so this is sound on
/// the Rust side too. The build refuses other targets.
///
/// Semantics and errno values are glibc's: `O_CREAT | O_EXCL` fails with
/// `EEXIST` if the name exists; `O_CREAT` alone opens an existing semaphore
/// (ignoring `mode` and `value`) or creates one; no `O_CREAT` needs an
/// existing one (`ENOENT`). `value` above `SEM_VALUE_MAX` is `EINVAL` when a
/// semaphore is created. Invalid names are `EINVAL` (`ENAMETOOLONG` above
/// 251 bytes); `EACCES` for permissions; `EMFILE` if this process already
/// has 1024 distinct named semaphores open. Opening a semaphore this
/// process has open returns the same pointer and counts a reference.
///
/// # Safety
///
/// `name` must be a NUL-terminated string (or null: `EINVAL`).
#[no_mangle]
pub unsafe extern "C" fn sem_open(
    name: *const c_char,
    oflag: c_int,
    mode: c_uint,
    value: c_uint,
) -> *mut sem_t {
    // SAFETY: the caller passes a C string or null.
    let Some(name) = (unsafe { name_str(name) }) else {
        errno::set(e::EINVAL);
        return SEM_FAILED;
    };
    let create = oflag & O_CREAT != 0;
    let existence = match (create, oflag & O_EXCL != 0) {
        (false, _) => Existence::OpenExisting,
        (true, true) => Existence::CreateNew,
        // glibc checks the value only when it is about to create: an
        // existing semaphore opens whatever `value` says.
        (true, false) if value > VALUE_MAX => Existence::OpenExisting,
        (true, false) => Existence::OpenOrCreate,
    };
    let mut options = NamedSemaphore::options();
    options.existence(existence).unlink_on_drop(false);
    if create {
        options.initial_value(value).mode(mode);
    }
    let sem = match options.open(name) {
        Ok(sem) => sem,
        Err(err) => {
            let errno = if create
                && existence == Existence::OpenExisting
                && err.kind() == ErrorKind::NotFound
            {
                e::EINVAL // it would have been created with a bad value
            } else {
                errno_of(&err)
            };
            errno::set(errno);
            return SEM_FAILED;
        }
    };
    match table::insert(sem) {
        Some(ptr) => ptr,
        None => {
            errno::set(e::EMFILE);
            SEM_FAILED
        }
    }
}

/// `int sem_close(sem_t *sem)`: drops one reference to a semaphore from
/// `sem_open`; the last one unmaps it. Does not remove the name.
///
/// Returns 0, or -1 with errno `EINVAL` if `sem` is not an open named
/// semaphore of this process.
///
/// # Safety
///
/// After the last `sem_close`, the caller must not use `sem` again.
#[no_mangle]
pub unsafe extern "C" fn sem_close(sem: *mut sem_t) -> c_int {
    if table::remove(sem) {
        0
    } else {
        errno::fail(e::EINVAL)
    }
}

/// `int sem_unlink(const char *name)`: removes the name. Processes that
/// have the semaphore open keep using it.
///
/// Returns 0, or -1 with errno `ENOENT` (no such semaphore, or an invalid
/// name, as glibc reports it) or `EACCES` (permission; the kernel's `EPERM`
/// is reported as `EACCES`, as by glibc).
///
/// # Safety
///
/// `name` must be a NUL-terminated string (or null: `ENOENT`).
#[no_mangle]
pub unsafe extern "C" fn sem_unlink(name: *const c_char) -> c_int {
    // SAFETY: the caller passes a C string or null.
    let Some(name) = (unsafe { name_str(name) }) else {
        return errno::fail(e::ENOENT);
    };
    match named_semaphores::unlink(name) {
        Ok(()) => 0,
        Err(err) if err.kind() == ErrorKind::InvalidName => errno::fail(e::ENOENT),
        Err(err) => errno::fail(errno_of(&err)),
    }
}

/// `int sem_init(sem_t *sem, int pshared, unsigned int value)`: makes an
/// unnamed semaphore in the caller's memory.
///
/// Writes glibc's process-shared image whatever `pshared` says (0 or not),
/// so the semaphore works in memory shared between processes as well as
/// between threads. Returns 0, or -1 with errno `EINVAL` if `value` is above
/// `SEM_VALUE_MAX` (or `sem` is null or misaligned).
///
/// # Safety
///
/// `sem` must point to `sizeof(sem_t)` writable bytes, aligned for `sem_t`,
/// on which no thread is waiting.
#[no_mangle]
pub unsafe extern "C" fn sem_init(sem: *mut sem_t, pshared: c_int, value: c_uint) -> c_int {
    let _ = pshared;
    if sem.is_null() || !sem.is_aligned() {
        return errno::fail(e::EINVAL);
    }
    match RawSemaphore::new(value) {
        // SAFETY: the caller gives us sizeof(sem_t) writable, aligned bytes
        // that no one else uses now; RawSemaphore is exactly that size.
        Ok(image) => unsafe { sem.write(image) },
        Err(err) => return errno::fail(errno_of(&err)),
    }
    0
}

/// `int sem_destroy(sem_t *sem)`: ends an unnamed semaphore. As in glibc,
/// there is nothing to free; returns 0 (-1 with `EINVAL` for a null or
/// misaligned pointer).
///
/// # Safety
///
/// `sem` must be a semaphore from `sem_init`.
#[no_mangle]
pub unsafe extern "C" fn sem_destroy(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    match unsafe { sem_ref(sem) } {
        Some(_) => 0,
        None => -1,
    }
}

/// `int sem_post(sem_t *sem)`: gives back a token and wakes a waiter.
/// Async-signal-safe. Returns 0, or -1 with errno `EOVERFLOW` at
/// `SEM_VALUE_MAX` (the value is unchanged).
///
/// # Safety
///
/// `sem` must be a live semaphore (from `sem_open` or `sem_init`).
#[no_mangle]
pub unsafe extern "C" fn sem_post(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    let Some(sem) = (unsafe { sem_ref(sem) }) else {
        return -1;
    };
    match sem.release() {
        Ok(()) => 0,
        Err(err) => errno::fail(errno_of(&err)),
    }
}

/// `int sem_getvalue(sem_t *sem, int *sval)`: stores the current value
/// (never negative, as in glibc). Returns 0, or -1 with `EINVAL` for null
/// pointers.
///
/// # Safety
///
/// `sem` must be a live semaphore and `sval` must point to a writable `int`.
#[no_mangle]
pub unsafe extern "C" fn sem_getvalue(sem: *mut sem_t, sval: *mut c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let Some(sem) = (unsafe { sem_ref(sem) }) else {
        return -1;
    };
    if sval.is_null() {
        return errno::fail(e::EINVAL);
    }
    // The value is at most VALUE_MAX, which fits an int.
    let value = sem.value().min(VALUE_MAX) as c_int;
    // SAFETY: the caller gives a writable int.
    unsafe { sval.write_unaligned(value) };
    0
}

/// `int sem_trywait(sem_t *sem)`: takes a token if one is available.
/// Returns 0, or -1 with errno `EAGAIN` when the value is 0.
///
/// # Safety
///
/// `sem` must be a live semaphore.
#[no_mangle]
pub unsafe extern "C" fn sem_trywait(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    let Some(sem) = (unsafe { sem_ref(sem) }) else {
        return -1;
    };
    match sem.try_acquire() {
        Ok(true) => 0,
        Ok(false) => errno::fail(e::EAGAIN),
        Err(err) => errno::fail(errno_of(&err)),
    }
}

/// The wait behind `sem_wait`, `sem_timedwait` and `sem_clockwait`:
/// `deadline` is already validated.
fn wait(sem: &RawSemaphore, deadline: Option<(Clock, Duration)>) -> c_int {
    match sem.acquire_interruptible(deadline) {
        Ok(true) => 0,
        Ok(false) => errno::fail(e::ETIMEDOUT),
        Err(err) => errno::fail(errno_of(&err)),
    }
}

/// `int sem_wait(sem_t *sem)`: takes a token, sleeping until one is
/// available. Returns 0, or -1 with errno `EINTR` if a signal handler
/// installed without `SA_RESTART` ran (with `SA_RESTART` the sleep goes on).
/// Not a cancellation point.
///
/// # Safety
///
/// `sem` must be a live semaphore.
#[no_mangle]
pub unsafe extern "C" fn sem_wait(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    let Some(sem) = (unsafe { sem_ref(sem) }) else {
        return -1;
    };
    if matches!(sem.try_acquire(), Ok(true)) {
        return 0;
    }
    wait(sem, None)
}

/// A C deadline (seconds, nanoseconds) as a time since the clock's zero, or
/// `Err(EINVAL)` for nanoseconds out of range. A negative time is in the
/// past: zero does as well.
fn deadline(clock: Clock, sec: i64, nsec: i64) -> Result<(Clock, Duration), c_int> {
    let nsec = u32::try_from(nsec)
        .ok()
        .filter(|&n| n < 1_000_000_000)
        .ok_or(e::EINVAL)?;
    let since_zero = match u64::try_from(sec) {
        Ok(sec) => Duration::new(sec, nsec),
        Err(_) => Duration::ZERO,
    };
    Ok((clock, since_zero))
}

/// `sem_clockwait` with the deadline in plain integers.
///
/// # Safety
///
/// `sem` must be a live semaphore.
unsafe fn clockwait(sem: *mut sem_t, clock: Option<Clock>, at: Option<(i64, i64)>) -> c_int {
    // As glibc: the clock and the nanoseconds are checked before anything
    // else, then a token available now is taken, then the deadline counts.
    let Some(clock) = clock else {
        return errno::fail(e::EINVAL);
    };
    let Some((sec, nsec)) = at else {
        return errno::fail(e::EINVAL);
    };
    let deadline = match deadline(clock, sec, nsec) {
        Ok(d) => d,
        Err(errno) => return errno::fail(errno),
    };
    // SAFETY: forwarded from the caller.
    let Some(sem) = (unsafe { sem_ref(sem) }) else {
        return -1;
    };
    wait(sem, Some(deadline))
}

fn clock_of(clockid: c_int) -> Option<Clock> {
    match clockid {
        CLOCK_REALTIME => Some(Clock::Realtime),
        CLOCK_MONOTONIC => Some(Clock::Monotonic),
        _ => None,
    }
}

/// Reads a C `timespec`.
///
/// # Safety
///
/// `ts` must be null or point to a readable `timespec`.
unsafe fn read_timespec(ts: *const timespec) -> Option<(i64, i64)> {
    // SAFETY: null or readable, as the caller promises.
    let ts = unsafe { ts.as_ref() }?;
    #[allow(clippy::useless_conversion)] // c_long is i64 on 64-bit targets
    Some((i64::from(ts.tv_sec), i64::from(ts.tv_nsec)))
}

/// `int sem_timedwait(sem_t *sem, const struct timespec *abstime)`: as
/// `sem_wait`, but gives up at the absolute `CLOCK_REALTIME` time `abstime`
/// (following changes to the clock). -1 with errno `ETIMEDOUT` when it
/// passed, `EINVAL` if `tv_nsec` is outside 0..=999 999 999 (checked first,
/// as glibc does), `EINTR` if any signal handler ran.
///
/// # Safety
///
/// `sem` must be a live semaphore and `abstime` a readable `timespec`.
#[no_mangle]
pub unsafe extern "C" fn sem_timedwait(sem: *mut sem_t, abstime: *const timespec) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { clockwait(sem, Some(Clock::Realtime), read_timespec(abstime)) }
}

/// `int sem_clockwait(sem_t *sem, clockid_t clockid, const struct timespec
/// *abstime)`: `sem_timedwait` on `CLOCK_REALTIME` or `CLOCK_MONOTONIC`;
/// any other clock is `EINVAL`.
///
/// # Safety
///
/// `sem` must be a live semaphore and `abstime` a readable `timespec`.
#[no_mangle]
pub unsafe extern "C" fn sem_clockwait(
    sem: *mut sem_t,
    clockid: c_int,
    abstime: *const timespec,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { clockwait(sem, clock_of(clockid), read_timespec(abstime)) }
}

/// Reads a 64-bit-time `timespec`.
///
/// # Safety
///
/// `ts` must be null or point to a readable `timespec64`.
#[cfg(target_pointer_width = "32")]
unsafe fn read_timespec64(ts: *const timespec64) -> Option<(i64, i64)> {
    // SAFETY: null or readable, as the caller promises.
    let ts = unsafe { ts.as_ref() }?;
    Some((ts.tv_sec, i64::from(ts.tv_nsec)))
}

/// `sem_timedwait` for 32-bit programs built with 64-bit `time_t`: glibc's
/// headers redirect `sem_timedwait` to this name under `_TIME_BITS=64`.
///
/// # Safety
///
/// As for [`sem_timedwait`].
#[cfg(target_pointer_width = "32")]
#[no_mangle]
pub unsafe extern "C" fn __sem_timedwait64(sem: *mut sem_t, abstime: *const timespec64) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { clockwait(sem, Some(Clock::Realtime), read_timespec64(abstime)) }
}

/// `sem_timedwait` under musl's name for 64-bit `time_t` on 32-bit targets.
///
/// # Safety
///
/// As for [`sem_timedwait`].
#[cfg(target_pointer_width = "32")]
#[no_mangle]
pub unsafe extern "C" fn __sem_timedwait_time64(
    sem: *mut sem_t,
    abstime: *const timespec64,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { clockwait(sem, Some(Clock::Realtime), read_timespec64(abstime)) }
}

/// `sem_clockwait` for 32-bit programs built with 64-bit `time_t` (glibc's
/// redirect name).
///
/// # Safety
///
/// As for [`sem_clockwait`].
#[cfg(target_pointer_width = "32")]
#[no_mangle]
pub unsafe extern "C" fn __sem_clockwait64(
    sem: *mut sem_t,
    clockid: c_int,
    abstime: *const timespec64,
) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { clockwait(sem, clock_of(clockid), read_timespec64(abstime)) }
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
    fn deadlines() {
        assert_eq!(
            deadline(Clock::Monotonic, 5, 7),
            Ok((Clock::Monotonic, Duration::new(5, 7)))
        );
        assert_eq!(
            deadline(Clock::Realtime, -3, 0),
            Ok((Clock::Realtime, Duration::ZERO))
        );
        assert_eq!(deadline(Clock::Realtime, 1, -1), Err(e::EINVAL));
        assert_eq!(deadline(Clock::Realtime, 1, 1_000_000_000), Err(e::EINVAL));
        assert_eq!(
            deadline(Clock::Realtime, 1, 999_999_999),
            Ok((Clock::Realtime, Duration::new(1, 999_999_999)))
        );
    }

    #[test]
    fn clocks() {
        assert_eq!(clock_of(0), Some(Clock::Realtime));
        assert_eq!(clock_of(1), Some(Clock::Monotonic));
        assert_eq!(clock_of(2), None);
    }

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
