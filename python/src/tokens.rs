//! Every call into the crate's token operations, in one place: taking a
//! token without blocking, taking one within a time slice, and giving tokens
//! back. A Python `acquire` keeps its token until `release`, so nothing here
//! holds a guard.

use core::time::Duration;

use named_semaphores::{Error, NamedSemaphore};

/// Takes a token if one is free now.
#[inline]
pub fn try_take(sem: &NamedSemaphore) -> Result<bool, Error> {
    sem.try_acquire()
}

/// Takes a token, waiting at most `slice` (on the monotonic clock).
#[inline]
pub fn take_within(sem: &NamedSemaphore, slice: Duration) -> Result<bool, Error> {
    sem.acquire_timeout(slice)
}

/// Gives back `n` tokens in one atomic step.
#[inline]
pub fn give(sem: &NamedSemaphore, n: u32) -> Result<(), Error> {
    sem.release_n(n)
}
