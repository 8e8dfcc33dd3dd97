//! The accounting protocol: how a robust holder's slot follows every token
//! it takes and gives back, so that a recovery after its death gives back
//! exactly what it held.
//!
//! The slot's state word holds the tokens held and the operations in
//! flight ("pending"). Each operation brackets the one compare-and-swap on
//! the semaphore's value between two updates of the state word:
//!
//! ```text
//! take:     pending += 1;  CAS value -> value - 1;  tokens += 1, pending -= 1
//!                                 (failed: pending -= 1)
//! give:     tokens -= 1, pending += 1;  post;  pending -= 1;  wake
//! forget:   tokens -= 1                (the token is handed on)
//! ```
//!
//! A holder that dies anywhere leaves a state that a recovery reads right:
//! every token that is in `tokens` is held and is given back; a death
//! between the two updates of one operation (a few instructions, no system
//! call) leaves `pending` at 1 for it, and that token may or may not have
//! moved: it is reported as uncertain, never given back, so it is never
//! given back twice and never raises the value above the limit.
//!
//! Orderings: the first update of a take is `Acquire`, so that the value's
//! CAS cannot be moved before it; the last update of a give is `Release`, so
//! that the post cannot be moved after it. (A killed process loses none of
//! the stores it executed; what matters is that they are executed in this
//! order.) The counts themselves are only ever changed by read-modify-write
//! operations, so threads sharing a handle cannot lose each other's updates.
//! Pure functions on plain memory: the model checker runs them (see
//! `robust_model.rs`).

use crate::robust::record::{flag_bits, HolderFlags, Slot, PENDING, TOKEN};
use crate::sync::Ordering::*;
use crate::{Error, RawSemaphore};

/// A point between two steps of the protocol where the model checker may
/// end the process (see `robust_model.rs`); nothing in a real build.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn crash_point() {}

#[cfg(loom)]
pub(crate) use crate::sync::crash_point;

/// Takes a token if one is available now, and records it in `slot`.
#[inline]
pub(crate) fn take_once(sem: &RawSemaphore, slot: &Slot) -> bool {
    if sem.value() == 0 {
        return false;
    }
    slot.state.fetch_add(PENDING, Acquire);
    crash_point();
    if sem.take_now() {
        crash_point();
        slot.state.fetch_add(TOKEN.wrapping_sub(PENDING), Relaxed);
        true
    } else {
        slot.state.fetch_sub(PENDING, Relaxed);
        false
    }
}

/// Gives back a token recorded in `slot` (a permit's drop).
///
/// If the slot records no token (a permit that crossed a `fork`, or a slot
/// someone else wrote), the token is posted without a record change, and
/// the slot is flagged [`HolderFlags::UNRECORDED_RELEASE`].
///
/// # Errors
///
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) if the post fails;
/// the slot then still records the token.
#[inline]
pub(crate) fn give(sem: &RawSemaphore, slot: &Slot) -> Result<(), Error> {
    let mut s = slot.state.load(Relaxed);
    loop {
        if s as u32 == 0 {
            slot.state
                .fetch_or(flag_bits(HolderFlags::UNRECORDED_RELEASE), Relaxed);
            return sem.release();
        }
        let new = s.wrapping_sub(TOKEN).wrapping_add(PENDING);
        match slot.state.compare_exchange_weak(s, new, Relaxed, Relaxed) {
            Ok(_) => break,
            Err(now) => s = now,
        }
    }
    crash_point();
    // Settled between the post's atomic add and its wake-up, so that the
    // wake's system call (where a signal is most likely to land) is outside
    // the window.
    let posted = sem.release_then(|| {
        crash_point();
        slot.state.fetch_sub(PENDING, Release);
    });
    if posted.is_err() {
        // Not posted: the token is still held.
        slot.state.fetch_add(TOKEN.wrapping_sub(PENDING), Release);
    }
    posted
}

/// Stops recording a token of `slot` without giving it back
/// (`Permit::forget`): it is handed on, and never given back at death.
pub(crate) fn forget(slot: &Slot) {
    let mut s = slot.state.load(Relaxed);
    while s as u32 != 0 {
        match slot
            .state
            .compare_exchange_weak(s, s.wrapping_sub(TOKEN), Relaxed, Relaxed)
        {
            Ok(_) => return,
            Err(now) => s = now,
        }
    }
}
