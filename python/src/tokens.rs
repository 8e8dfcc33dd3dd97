//! Every call into the crate's token operations, in one place: taking a
//! token without blocking, waiting for one until a monotonic deadline, and
//! giving tokens back. A Python `acquire` keeps its token until `release`,
//! so every permit is forgotten at once
//! (`Permit::forget`): nothing here holds a guard.

use core::time::Duration;

use named_semaphores::{Clock, Error, NamedSemaphore, Permit};

/// `EINTR`: a signal handler ran while the thread slept.
const EINTR: i32 = 4;

/// Takes a token if one is free now.
#[inline]
pub fn try_take(sem: &NamedSemaphore) -> Result<bool, Error> {
    Ok(sem.try_acquire()?.map(Permit::forget).is_some())
}

/// Takes a token, sleeping until `deadline` (a time on `CLOCK_MONOTONIC`)
/// at the latest. `Ok(false)` if none came by then, or if a signal handler
/// ran in this thread meanwhile (no token is taken then).
#[inline]
pub fn take_by(sem: &NamedSemaphore, deadline: Duration) -> Result<bool, Error> {
    match sem
        .as_raw()
        .acquire_interruptible(Some((Clock::Monotonic, deadline)))
    {
        Ok(permit) => Ok(permit.map(Permit::forget).is_some()),
        Err(e) if e.raw_os_error() == EINTR => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives back `n` tokens in one atomic step.
#[inline]
pub fn give(sem: &NamedSemaphore, n: u32) -> Result<(), Error> {
    sem.release_n(n)
}
