//! Every call into the crate's token operations, in one place: taking a
//! token without blocking, waiting for one until a monotonic deadline, and
//! giving tokens back. A Python `acquire` keeps its token until `release`,
//! so no permit outlives the call that took it: each is forgotten at once
//! with `core::mem::forget`, which keeps its token taken and, on a robust
//! handle, still recorded in the handle's slot (so it comes back if the
//! process dies). `release` gives back recorded tokens first
//! (`NamedSemaphore::release_held`), then plain ones.

use core::time::Duration;

use named_semaphores::{Clock, Error, NamedSemaphore, Permit};

/// `EINTR`: a signal handler ran while the thread slept.
const EINTR: i32 = 4;

/// Keeps a permit's token taken, with no permit: on a robust handle it
/// stays recorded until `give` hands it back (`Permit::forget` would hand
/// it on unrecorded, and a dead process's token would then be lost).
#[inline]
fn keep(permit: Option<Permit<'_>>) -> bool {
    permit.map(core::mem::forget).is_some()
}

/// Takes a token if one is free now.
#[inline]
pub fn try_take(sem: &NamedSemaphore) -> Result<bool, Error> {
    Ok(keep(sem.try_acquire()?))
}

/// Takes a token, sleeping until `deadline` (a time on `CLOCK_MONOTONIC`)
/// at the latest. `Ok(false)` if none came by then, or if a signal handler
/// ran in this thread meanwhile (no token is taken then). A robust handle
/// checks for dead holders before it sleeps and every check period.
#[inline]
pub fn take_by(sem: &NamedSemaphore, deadline: Duration) -> Result<bool, Error> {
    let deadline = Some((Clock::Monotonic, deadline));
    let taken = if sem.is_robust() {
        sem.acquire_interruptible(deadline)
    } else {
        sem.as_raw().acquire_interruptible(deadline)
    };
    match taken {
        Ok(permit) => Ok(keep(permit)),
        Err(e) if e.raw_os_error() == EINTR => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives back `n` tokens. A plain handle does it in one atomic step; a
/// robust one gives back the tokens its record holds one by one, then the
/// rest (plain posts) in one step.
#[inline]
pub fn give(sem: &NamedSemaphore, n: u32) -> Result<(), Error> {
    if !sem.is_robust() {
        return sem.release_n(n);
    }
    for given in 1..=n {
        // `false`: the handle held no recorded token, and one plain token
        // went back instead; the others go back together.
        if !sem.release_held()? {
            return sem.release_n(n - given);
        }
    }
    Ok(())
}
