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
//! `release_held` (the C library's `sem_post`) gives back a token only if
//! the holder's count is above zero. It reads the exclusive lane, the
//! shared lane and the exclusive lane again; the generation the lane's
//! every change adds (`robust/record.rs`) makes equal reads mean that it
//! did not change in between, so the two lanes are read as they were at
//! one moment. The token then goes through the shared lane, by a
//! compare-and-swap from the value read: concurrent conditional gives
//! meet on that one word, and never take the same token out twice. It
//! never waits for a marked exclusive lane (a signal handler's `sem_post`
//! may interrupt its own thread inside the window).
//!
//! Orderings: the mark of a take is `Acquire`, so that the value's CAS
//! cannot be moved before it; the settlement of a give is `Release`, so that
//! the post cannot be moved after it. Every write that changes a lane's
//! tokens, and every write of the exclusive lane, is `Release` and every
//! read `Acquire`, so that what a reader sees of the two lanes is closed
//! under happens-before: it never sees a thread's give without the take it
//! gives back. (A killed process loses none of the stores it executed; what
//! matters is that they are executed in this order.) Pure functions on
//! plain memory: the model checker runs them, holders and threads dying
//! between any two steps (`robust_model.rs`).

use crate::error::Error;
use crate::raw::RawSemaphore;
use crate::robust::record::{Slot, BUSY, COUNT, GENERATION, PENDING, SHARED_TOKEN};
use crate::sync::Ordering::{self, *};

/// A point between two steps of the protocol where the model checker may
/// end the process (see `robust_model.rs`); nothing in a real build.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn crash_point() {}

#[cfg(loom)]
pub(crate) use crate::sync::crash_point;

/// The shared lane's mark of a give: one token out, one operation in
/// flight (added with wrapping; a take's settlement and a failed post add
/// its inverse, [`SETTLE_TAKE`]).
const MARK_GIVE: u64 = PENDING.wrapping_sub(SHARED_TOKEN);
/// The shared lane's settlement of a take: one token in, its operation no
/// longer in flight.
const SETTLE_TAKE: u64 = SHARED_TOKEN.wrapping_sub(PENDING);

/// The exclusive lane `own` with `tokens` as its count and its other bits
/// unchanged.
#[inline]
fn with_tokens(own: u64, tokens: u32) -> u64 {
    own & !COUNT | u64::from(tokens)
}

/// Claims the exclusive lane if no thread holds it (and, for a give, if it
/// holds a token), marking it BUSY with a new generation and, for a give,
/// taking the token out in the same step: the mark.
#[inline]
fn claim(slot: &Slot, give: bool, success: Ordering) -> Option<u64> {
    let own = slot.own.load(Relaxed);
    if own & BUSY != 0 || give && own as u32 == 0 {
        return None;
    }
    let mark = with_tokens(own, (own as u32).wrapping_sub(u32::from(give)))
        .wrapping_add(GENERATION)
        | BUSY;
    slot.own
        .compare_exchange(own, mark, success, Relaxed)
        .ok()
        .map(|_| mark)
}

/// The settlement of the exclusive lane marked `mark`: `tokens` tokens,
/// not BUSY, the mark's generation.
#[inline]
fn settled(mark: u64, tokens: u32) -> u64 {
    with_tokens(mark, tokens) & !BUSY
}

/// Takes a token if one is available now, and records it in `slot`.
#[inline]
pub(crate) fn take_once(sem: &RawSemaphore, slot: &Slot) -> bool {
    if sem.value() == 0 {
        return false;
    }
    if let Some(mark) = claim(slot, false, AcqRel) {
        crash_point();
        let taken = sem.take_now();
        crash_point();
        let tokens = (mark as u32).wrapping_add(u32::from(taken));
        slot.own.store(settled(mark, tokens), Release);
        return taken;
    }
    slot.shared.fetch_add(PENDING, Acquire);
    crash_point();
    if sem.take_now() {
        crash_point();
        slot.shared.fetch_add(SETTLE_TAKE, Release);
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
    slot.shared.fetch_add(MARK_GIVE, Release);
    crash_point();
    settle_shared_give(sem, slot)
}

/// A give through the exclusive lane, if it is free and holds a token:
/// whether it was.
#[inline]
fn give_exclusive(sem: &RawSemaphore, slot: &Slot) -> Result<bool, Error> {
    let Some(mark) = claim(slot, true, Release) else {
        return Ok(false);
    };
    crash_point();
    // Settled between the post's atomic add and its wake-up, so that the
    // wake's system call (where a signal is most likely to land) is outside
    // the window.
    let posted = sem.release_then(|| {
        crash_point();
        slot.own.store(settled(mark, mark as u32), Release);
    });
    if posted.is_err() {
        // Not posted: the token is still held.
        let tokens = (mark as u32).wrapping_add(1);
        slot.own.store(settled(mark, tokens), Release);
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
        slot.shared.fetch_add(SETTLE_TAKE, Release);
    }
    posted
}

/// Gives back one token `slot` records, if it records any; otherwise posts
/// one as [`RawSemaphore::release`] does. Whether a recorded token went
/// back. For holders that cannot keep a permit (the C library's `sem_post`
/// after a `sem_wait` in another function): the record then counts the
/// handle's takes not yet matched by a release.
///
/// The count is the sum of the two lanes as they were at one moment: the
/// exclusive lane read before and after the shared one, and read again if
/// it changed. The token goes through the shared lane, by a
/// compare-and-swap from the value read, so that two conditional gives
/// never both take out the last token. Nothing here waits for another
/// thread: a thread's own marked lane (a signal handler interrupting its
/// thread inside the window) is read as it stands.
///
/// # Errors
///
/// As for [`give`].
pub(crate) fn give_if_held(sem: &RawSemaphore, slot: &Slot) -> Result<bool, Error> {
    loop {
        crash_point();
        let own = slot.own.load(Acquire);
        let shared = slot.shared.load(Acquire);
        if slot.own.load(Acquire) != own {
            continue;
        }
        let tokens = (own as u32).wrapping_add((shared >> 32) as u32) as i32;
        if tokens <= 0 {
            return sem.release().map(|()| false);
        }
        let marked = shared.wrapping_add(MARK_GIVE);
        if slot
            .shared
            .compare_exchange(shared, marked, Release, Relaxed)
            .is_ok()
        {
            crash_point();
            settle_shared_give(sem, slot)?;
            return Ok(true);
        }
    }
}

/// Stops recording a token of `slot` without giving it back
/// (`Permit::forget`): it is handed on, and never given back at death.
pub(crate) fn forget(slot: &Slot) {
    let own = slot.own.load(Relaxed);
    if own as u32 != 0 && own & BUSY == 0 {
        let fewer = with_tokens(own, own as u32 - 1).wrapping_add(GENERATION);
        if slot
            .own
            .compare_exchange(own, fewer, Release, Relaxed)
            .is_ok()
        {
            return;
        }
    }
    slot.shared.fetch_sub(SHARED_TOKEN, Release);
}
