//! The timed waits, `sem_timedwait` and `sem_clockwait` (and their 64-bit
//! `time_t` entry points on 32-bit targets), the C time types, and the
//! conversion of a C deadline into the crate's `(Clock, Duration)`; the
//! sleep itself is shared with `sem_wait`.

use core::ffi::{c_int, c_long};
use core::time::Duration;

use named_semaphores::{Clock, RawSemaphore};

use crate::{e, errno, sem_ref, sem_t, Sem};

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

/// The wait behind `sem_wait`, `sem_timedwait` and `sem_clockwait`:
/// `deadline` is already validated.
pub(crate) fn wait(sem: &RawSemaphore, deadline: Option<(Clock, Duration)>) -> c_int {
    match sem.acquire_interruptible(deadline) {
        // The C calls keep the token taken: no permit gives it back.
        Ok(Some(permit)) => {
            permit.forget();
            0
        }
        Ok(None) => errno::fail(e::ETIMEDOUT),
        Err(err) => errno::fail(err.raw_os_error()),
    }
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
    match unsafe { sem_ref(sem) } {
        Some(Sem::Plain(sem)) => wait(sem, Some(deadline)),
        Some(Sem::Robust(sem)) => sem.wait(Some(deadline)),
        None => -1,
    }
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
}
