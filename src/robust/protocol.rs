//! The accounting protocol: how a robust holder's slot follows every token
//! it takes and gives back, so that a recovery after its death gives back
//! exactly what it held.
//!
//! Each operation brackets the one compare-and-swap on the semaphore's
//! value between two updates of the slot: a mark that an operation is in
//! flight, and its settlement. A slot has two lanes (`robust/record.rs`):
//!
//! - The exclusive lane, `own`, is the fast path. A thread claims it by
//!   setting its BUSY bit with one compare-and-swap (the mark), and while
//!   BUSY is set no other thread writes it: the settlement is a plain
//!   store. One read-modify-write on the slot per operation, beside the one
//!   on the value.
//!
//! ```text
//! take:   CAS own: t -> t | BUSY;   CAS value -1;   own = t + 1   (failed: own = t)
//! give:   CAS own: t -> (t-1) | BUSY;   post;   own = t - 1;   wake
//! ```
//!
//! - The shared lane, `shared`, takes the operations of the other threads of
//!   the handle while one holds BUSY: read-modify-write operations only
//!   (`pending` counts its operations in flight). Its token count may go
//!   below zero (modulo 2³²) when it gives back a token the exclusive lane
//!   holds; the holder's tokens are the sum of both.
//!
//! ```text
//! take:   pending += 1;   CAS value -1;   tokens += 1, pending -= 1   (failed: pending -= 1)
//! give:   tokens -= 1, pending += 1;   post;   pending -= 1;   wake
//! forget: tokens -= 1   (in either lane: the token is handed on)
//! ```
//!
//! A holder that dies anywhere leaves a slot a recovery reads right: the
//! tokens in the two lanes are held and are given back; a death between the
//! mark and the settlement of one operation (a few instructions, and no
//! system call: the settlement comes before the post's wake-up) leaves BUSY
//! or `pending` set for it, and that token may or may not have moved: it is
//! reported as uncertain, never given back, so it is never given back twice
//! and never raises the value above the limit.
//!
//! Orderings: the mark of a take is `Acquire`, so that the value's CAS
//! cannot be moved before it; the settlement of a give is `Release`, so that
//! the post cannot be moved after it. (A killed process loses none of the
//! stores it executed; what matters is that they are executed in this
//! order.) Pure functions on plain memory: the model checker runs them,
//! holders and threads dying between any two steps (`robust_model.rs`).

use crate::error::Error;
use crate::raw::RawSemaphore;
use crate::robust::record::{Slot, BUSY, PENDING, SHARED_TOKEN, TOKEN};
use crate::sync::Ordering::*;

/// A point between two steps of the protocol where the model checker may
/// end the process (see `robust_model.rs`); nothing in a real build.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn crash_point() {}

#[cfg(loom)]
pub(crate) use crate::sync::crash_point;

/// Claims the exclusive lane if no thread holds it (and, for a give, if it
/// holds a token), marking it BUSY and, for a give, taking the token out in
/// the same step: the lane as it was.
#[inline]
fn claim(slot: &Slot, give: bool, success: crate::sync::Ordering) -> Option<u64> {
    let own = slot.own.load(Relaxed);
    if own & BUSY != 0 || give && own as u32 == 0 {
        return None;
    }
    let busy = own.wrapping_sub(u64::from(give)) | BUSY;
    slot.own.compare_exchange(own, busy, success, Relaxed).ok()
}

/// Takes a token if one is available now, and records it in `slot`.
#[inline]
pub(crate) fn take_once(sem: &RawSemaphore, slot: &Slot) -> bool {
    if sem.value() == 0 {
        return false;
    }
    if let Some(own) = claim(slot, false, Acquire) {
        crash_point();
        let taken = sem.take_now();
        crash_point();
        let settled = if taken { own.wrapping_add(TOKEN) } else { own };
        slot.own.store(settled, Release);
        return taken;
    }
    slot.shared.fetch_add(PENDING, Acquire);
    crash_point();
    if sem.take_now() {
        crash_point();
        slot.shared
            .fetch_add(SHARED_TOKEN.wrapping_sub(PENDING), Relaxed);
        true
    } else {
        slot.shared.fetch_sub(PENDING, Relaxed);
        false
    }
}

/// Gives back a token recorded in `slot` (a permit's drop).
///
/// The token must be recorded there: one permit given back twice (a copy
/// that crossed a `fork` and is dropped on both sides, as with any
/// semaphore a double release) leaves the slot's count below zero, which a
/// recovery refuses as corrupt.
///
/// # Errors
///
/// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) if the post fails;
/// the slot then still records the token.
#[inline]
pub(crate) fn give(sem: &RawSemaphore, slot: &Slot) -> Result<(), Error> {
    if give_exclusive(sem, slot)? {
        return Ok(());
    }
    slot.shared
        .fetch_add(PENDING.wrapping_sub(SHARED_TOKEN), Relaxed);
    crash_point();
    settle_shared_give(sem, slot)
}

/// A give through the exclusive lane, if it is free and holds a token:
/// whether it was.
#[inline]
fn give_exclusive(sem: &RawSemaphore, slot: &Slot) -> Result<bool, Error> {
    let Some(before) = claim(slot, true, Relaxed) else {
        return Ok(false);
    };
    crash_point();
    // Settled between the post's atomic add and its wake-up, so that the
    // wake's system call (where a signal is most likely to land) is outside
    // the window.
    let posted = sem.release_then(|| {
        crash_point();
        slot.own.store(before - TOKEN, Release);
    });
    if posted.is_err() {
        // Not posted: the token is still held.
        slot.own.store(before, Release);
    }
    posted.map(|()| true)
}

/// The rest of a give through the shared lane, once it is marked (tokens
/// -1, pending +1): the post, then the settlement before the wake-up.
#[inline]
fn settle_shared_give(sem: &RawSemaphore, slot: &Slot) -> Result<(), Error> {
    let posted = sem.release_then(|| {
        crash_point();
        slot.shared.fetch_sub(PENDING, Release);
    });
    if posted.is_err() {
        slot.shared
            .fetch_add(SHARED_TOKEN.wrapping_sub(PENDING), Release);
    }
    posted
}

/// Gives back one token `slot` records, if it records any; otherwise posts
/// one as [`RawSemaphore::release`] does. Whether a recorded token went
/// back. For holders that cannot keep a permit (the C library's `sem_post`
/// after a `sem_wait` in another function): the record then counts the
/// handle's takes not yet matched by a release.
///
/// Each lane is decremented only if its count is above zero, in one
/// compare-and-swap; the exclusive lane, while another thread of this
/// process holds it (a few instructions), is waited for, a bounded time.
///
/// A mark that stays longer is frozen: its thread is not running. That is
/// the case of a signal handler's give interrupting its own thread inside
/// the window (the C library's `sem_post` is async-signal-safe), of a
/// forked child sharing the handle killed there, and of a forged record.
/// The marked lane's count then only stays or grows when it settles (a take
/// adds its token, a give has already taken its own out), so the two lanes'
/// sum counts at least what the handle holds, and a token is given through
/// the shared lane if the sum is above zero. Only a marking thread that is
/// live but stalled past the bound, settling and then followed by another
/// thread's give through its lane between this give's two reads, can leave
/// the record one token low: the safe direction (a recovery gives back one
/// token less, never one too many).
///
/// # Errors
///
/// As for [`give`].
pub(crate) fn give_if_held(sem: &RawSemaphore, slot: &Slot) -> Result<bool, Error> {
    let mut spins = 0u32;
    let mut marked_as = 0u64;
    loop {
        crash_point();
        // Acquire: the settlements are Release stores, so a lane seen
        // empty shows every update the other threads made before it (a
        // token recorded in the shared lane by a thread whose give then
        // emptied this one); Relaxed here was caught by the model.
        let own = slot.own.load(Acquire);
        if own & BUSY != 0 {
            if own != marked_as {
                (marked_as, spins) = (own, 0);
            }
            spins = spins.saturating_add(1);
            if frozen(spins) {
                return give_past_frozen(sem, slot, own as u32);
            }
            crate::sync::spin_wait(spins);
            continue;
        }
        let shared = slot.shared.load(Acquire);
        let shared_tokens = (shared >> 32) as u32 as i32;
        // The exclusive lane may hold a token the shared lane has already
        // given back (a permit dropped while the lane was marked): the
        // holder's count is the sum.
        if own as u32 != 0 && i64::from(own as u32) + i64::from(shared_tokens) > 0 {
            if give_exclusive(sem, slot)? {
                return Ok(true);
            }
            continue;
        }
        if shared_tokens <= 0 {
            return sem.release().map(|()| false);
        }
        if give_shared_from(sem, slot, shared)? {
            return Ok(true);
        }
    }
}

/// A give through the shared lane if it still reads `shared` (which holds
/// a token): whether it did.
#[inline]
fn give_shared_from(sem: &RawSemaphore, slot: &Slot, shared: u64) -> Result<bool, Error> {
    let marked = shared.wrapping_add(PENDING).wrapping_sub(SHARED_TOKEN);
    if slot
        .shared
        .compare_exchange(shared, marked, Relaxed, Relaxed)
        .is_err()
    {
        return Ok(false);
    }
    crash_point();
    settle_shared_give(sem, slot)?;
    Ok(true)
}

/// How many turns of [`spin_wait`](crate::sync::spin_wait) an unchanged
/// mark on the exclusive lane is waited for before it counts as frozen: its
/// 100 spins (a few microseconds), no yields. The wait only spares the
/// shared lane's read-modify-write when the marking thread is about to
/// settle; past it the give is as exact, and a signal handler waiting for
/// its own thread must be short (a handler slower than its signal's period
/// never lets the thread run again). The model checker keeps waiting (its
/// scheduler runs the marking thread): the frozen case is not modelled.
#[cfg(not(loom))]
const FROZEN_AFTER: u32 = 100;

/// Whether a mark unchanged for `turns` turns counts as frozen.
#[cfg(not(loom))]
#[inline]
fn frozen(turns: u32) -> bool {
    turns >= FROZEN_AFTER
}

/// Never, under the model checker (see `FROZEN_AFTER`).
#[cfg(loom)]
fn frozen(_turns: u32) -> bool {
    false
}

/// [`give_if_held`] past a frozen mark on the exclusive lane, whose count
/// is `own`: a token through the shared lane if the two lanes hold any,
/// else a plain post.
#[cold]
fn give_past_frozen(sem: &RawSemaphore, slot: &Slot, own: u32) -> Result<bool, Error> {
    loop {
        let shared = slot.shared.load(Acquire);
        let tokens = i64::from(own) + i64::from((shared >> 32) as u32 as i32);
        if tokens <= 0 {
            return sem.release().map(|()| false);
        }
        if give_shared_from(sem, slot, shared)? {
            return Ok(true);
        }
    }
}

/// Stops recording a token of `slot` without giving it back
/// (`Permit::forget`): it is handed on, and never given back at death.
pub(crate) fn forget(slot: &Slot) {
    let own = slot.own.load(Relaxed);
    if own as u32 != 0 && own & BUSY == 0 {
        let fewer = own.wrapping_sub(TOKEN);
        if slot
            .own
            .compare_exchange(own, fewer, Relaxed, Relaxed)
            .is_ok()
        {
            return;
        }
    }
    slot.shared.fetch_sub(SHARED_TOKEN, Relaxed);
}
