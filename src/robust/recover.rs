//! Recovery: finding the holders of a robust semaphore that are gone, and
//! giving back what their slots record, exactly once.
//!
//! For each claimed slot, the holder's beacon is probed with an exclusive,
//! non-blocking lock (`beacon.rs`). Getting the lock means nobody holds the
//! holder's descriptor any more; it also makes this process the only one
//! recovering that slot (a concurrent recoverer gets `EWOULDBLOCK` and takes
//! the holder for alive). Under the lock the slot is read again: if its
//! beacon word changed, someone else finished with it. Otherwise its
//! operations in flight are counted as uncertain, the slot is marked
//! [`HolderFlags::RECOVERING`], its tokens are posted (never above the
//! record's limit), both its lanes are cleared (before the post's wake-up),
//! then its beacon word (which frees the slot), and the beacon file is
//! removed.
//!
//! A recoverer may die too, and its lock on the beacon goes with it. The
//! next recovery of the same slot then finds the mark: the post may or may
//! not have happened, so it reports those tokens as uncertain and gives
//! back none of them. (Deaths between the count and the mark report some
//! twice: too many, never too few.)

use core::fmt;

use super::beacon::{self, DeadBeacon, Probe};
use super::protocol::crash_point;
use super::record::{
    flag_bits, Header, HolderFlags, Record, RecordFlags, Slot, SlotCopy, BUSY, PENDING_MASK,
};
use crate::error::Error;
use crate::name::Directory;
use crate::raw::RawSemaphore;
use crate::sync::Ordering::*;

/// What a recovery did: returned by
/// [`NamedSemaphore::recover`](crate::NamedSemaphore::recover).
///
/// ```
/// use named_semaphores::{Existence, NamedSemaphore};
/// # let name = format!("doc-recovery-{}", std::process::id());
/// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
///
/// let sem = NamedSemaphore::options()
///     .robust(true)
///     .initial_value(2)
///     .existence(Existence::CreateNew)
///     .open(&name)?;
/// let done = sem.recover()?; // nobody died: nothing to give back
/// assert_eq!((done.tokens, done.holders, done.uncertain), (0, 0, 0));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Recovery {
    /// Tokens given back to the semaphore.
    pub tokens: u32,
    /// Dead holders whose slots were cleared.
    pub holders: u32,
    /// Tokens of those holders that may or may not have moved as they died
    /// (each was inside an operation, a few instructions wide): not given
    /// back, so that none is given back twice.
    pub uncertain: u32,
    /// Holders whose liveness could not be told (a beacon file missing,
    /// unreadable, or not a regular file): left alone.
    pub undecided: u32,
    /// Slots claiming more tokens than the semaphore's limit: left alone.
    pub corrupt: u32,
    /// Beacon files of holders that died while opening (before their slot
    /// named them), removed. Only
    /// [`NamedSemaphore::recover`](crate::NamedSemaphore::recover) counts
    /// them.
    pub beacons: u32,
}

impl Recovery {
    fn add(&mut self, other: &Recovery) {
        self.tokens = self.tokens.saturating_add(other.tokens);
        self.holders = self.holders.saturating_add(other.holders);
        self.uncertain = self.uncertain.saturating_add(other.uncertain);
        self.undecided = self.undecided.saturating_add(other.undecided);
        self.corrupt = self.corrupt.saturating_add(other.corrupt);
        self.beacons = self.beacons.saturating_add(other.beacons);
    }
}

impl fmt::Debug for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovery")
            .field("tokens", &self.tokens)
            .field("holders", &self.holders)
            .field("uncertain", &self.uncertain)
            .field("undecided", &self.undecided)
            .field("corrupt", &self.corrupt)
            .field("beacons", &self.beacons)
            .finish()
    }
}

/// Which slots a recovery probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Only those that hold tokens or have an operation in flight: what a
    /// waiter checks before it sleeps.
    Holding,
    /// Every claimed slot (dead holders of nothing free their slots).
    All,
}

/// Recovers every dead holder of `record` but `own` (this handle's beacon,
/// 0 for none).
///
/// # Errors
///
/// [`ErrorKind::CorruptRecord`](crate::ErrorKind::CorruptRecord) if the
/// header is not valid; nothing is given back then.
pub(crate) fn recover(
    sem: &RawSemaphore,
    record: &Record,
    dir: &Directory,
    own: u64,
    scope: Scope,
) -> Result<Recovery, Error> {
    let limit = record.header.limit()?;
    let mut total = Recovery::default();
    for slot in &record.slots {
        let seen = SlotCopy::of(slot);
        if seen.beacon == 0 || seen.beacon == own {
            continue;
        }
        if scope == Scope::Holding && seen.state.tokens == 0 && seen.state.pending == 0 {
            continue;
        }
        match beacon::probe(dir, seen.beacon, true) {
            Probe::Alive => {}
            Probe::Unknown(_) => {
                if slot.beacon.load(Acquire) == seen.beacon {
                    total.undecided = total.undecided.saturating_add(1);
                }
            }
            Probe::Dead(lock) => {
                let one = recover_slot(sem, &record.header, slot, seen.beacon, limit, lock, dir);
                total.add(&one);
            }
        }
    }
    Ok(total)
}

/// Gives back what the slot of the dead holder `id` records, holding the
/// lock on its beacon, then frees the slot and removes the beacon.
pub(crate) fn recover_slot(
    sem: &RawSemaphore,
    header: &Header,
    slot: &Slot,
    id: u64,
    limit: u32,
    lock: DeadBeacon,
    dir: &Directory,
) -> Recovery {
    // Under the lock: if the beacon word changed, someone else recovered
    // this holder (and the slot may have a new one).
    if slot.beacon.load(Acquire) != id {
        return Recovery::default();
    }
    let done = give_back(sem, header, slot, limit);
    if done.corrupt == 0 {
        slot.release_claim(id);
        lock.remove(dir, id);
    }
    done
}

/// Gives back the tokens a dead holder's slot records (never raising the
/// value above `limit`), counts its operations in flight as uncertain, and
/// clears both its lanes. Nobody else writes the slot meanwhile: the caller
/// holds the holder's beacon lock. (Plain memory: the model checker runs
/// it, with the deaths of recoverers, in `robust_model.rs`.)
pub(crate) fn give_back(sem: &RawSemaphore, header: &Header, slot: &Slot, limit: u32) -> Recovery {
    let mut done = Recovery::default();
    let state = slot.state();
    if state.check(limit).is_err() {
        // Left as found, for a listing to show.
        header.add_flags(RecordFlags::CORRUPT_SLOT);
        done.corrupt = 1;
        return done;
    }
    let (posted, uncertain) = if state.flags.contains(HolderFlags::RECOVERING) {
        // An earlier recovery died between marking the slot and clearing
        // it: its post may or may not have happened. (It counted the
        // operations in flight already, and cleared them, or left one it
        // counts again here: too many, never too few.)
        let moving = u64::from(state.tokens) + u64::from(state.uncertain(limit));
        let uncertain = u32::try_from(moving).unwrap_or(u32::MAX).min(limit);
        header.count_recovery(0, uncertain);
        (0, uncertain)
    } else {
        // Operations in flight are counted as uncertain first, then cleared
        // by the mark: a death between the two counts them twice (too many
        // reported, never too few).
        let uncertain = state.uncertain(limit);
        header.count_recovery(0, uncertain);
        crash_point();
        // The mark, which also clears the operations in flight (a death
        // between the two stores counts BUSY once more: too many).
        let shared = slot.shared.load(Acquire) & !PENDING_MASK;
        let flags = flag_bits(HolderFlags::RECOVERING);
        slot.shared.store(shared | flags, Release);
        crash_point();
        slot.own.store(slot.own.load(Acquire) & !BUSY, Release);
        crash_point();
        // From the mark to the clear, a death leaves the tokens uncertain,
        // never given back twice. The clear is between the post's atomic
        // add and its wake-up: the wake's system call is outside the window.
        let posted = sem.release_up_to(state.tokens, limit, |_| {
            crash_point();
            slot.own.store(0, Release);
            crash_point();
            slot.shared.store(0, Release);
        });
        if posted < state.tokens {
            header.add_flags(RecordFlags::CAPPED);
        }
        header.count_recovery(posted, 0);
        (posted, uncertain)
    };
    slot.own.store(0, Release);
    slot.shared.store(0, Release);
    done.tokens = posted;
    done.holders = 1;
    done.uncertain = uncertain;
    done
}
