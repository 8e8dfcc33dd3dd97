//! The sweep: removing the beacon files of holders that died while opening.
//!
//! A holder killed after its beacon got its name and before it claimed a
//! slot (one `linkat` return and a few instructions; see `beacon.rs`)
//! leaves a beacon that no record names, so no recovery ever removes it.
//! A sweep lists the semaphore's directory (`getdents` into a buffer on the
//! stack) and removes each beacon that
//!
//! 1. no slot of this record names (a cheap first filter),
//! 2. nobody holds locked: the sweep takes its exclusive lock, which a live
//!    holder (or a forked child of one) holds from before the name exists
//!    until its last descriptor closes,
//! 3. is tagged for this semaphore, or is empty (`Beacon::sweepable`),
//! 4. and, checked again under the lock, no slot of this record names.
//!
//! Why it never removes what decides a slot: a holder claims its slot
//! while it holds its beacon's lock, so a sweep that gets the lock after the
//! holder died sees the claim (the kernel's lock orders the two), and
//! leaves the beacon to the recovery; a recovery frees a slot only under the
//! same lock, and removes the beacon before it lets go. A beacon made
//! under its name where `O_TMPFILE` does not work is, for an instant, empty
//! and unlocked: a sweep may remove it then, and its live holder sees that
//! after its claim (`Beacon::named_here`) and starts again with a new one.
//!
//! When: `NamedSemaphore::recover` always sweeps; a robust open and a
//! waiter's periodic check sweep when their recovery freed a dead holder or
//! when no sweep of this semaphore began in the last [`SWEEP_PERIOD_SECS`]
//! (`Header::sweep_due`, shared by every process through the record).

use core::mem::MaybeUninit;

use rustix::fs::{self, Mode, OFlags, RawDir};

use super::beacon::{self, Probe};
use super::record::{Header, Record};
use crate::file_id::FileId;
use crate::name::{CPath, Directory, BEACON_PREFIX};
use crate::sync::Ordering::*;

/// How often, at most, opens and waiters sweep a semaphore's directory
/// when no recovery found a dead holder.
pub(crate) const SWEEP_PERIOD_SECS: u32 = 10;

/// The size of the buffer a sweep reads the directory into, on the stack.
const DIR_BUFFER: usize = 1024;

/// Whether a sweep is due (and, if so, the caller is the one to do it).
pub(crate) fn due(header: &Header) -> bool {
    let now = crate::futex::now().tv_sec as u32;
    header.sweep_due(now, SWEEP_PERIOD_SECS)
}

/// Removes the beacons in `dir` of holders of the semaphore `owner` (whose
/// record is `record`) that died before claiming a slot: how many.
pub(crate) fn sweep(record: &Record, dir: &Directory, owner: FileId) -> u32 {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let Ok(fd) = fs::open(CPath::directory(dir).as_c_str(), flags, Mode::empty()) else {
        return 0;
    };
    let mut buf = [MaybeUninit::<u8>::uninit(); DIR_BUFFER];
    let mut entries = RawDir::new(&fd, &mut buf);
    let mut removed = 0u32;
    while let Some(entry) = entries.next() {
        let Ok(entry) = entry else { break };
        let Some(id) = beacon_id(entry.file_name().to_bytes()) else {
            continue;
        };
        if named(record, id) {
            continue;
        }
        if let Probe::Dead(lock) = beacon::probe(dir, id, true) {
            // Under the lock: a holder that claimed a slot before it died
            // is the recovery's, not ours.
            if lock.sweepable(owner) && !named(record, id) && lock.remove(dir, id) {
                removed = removed.saturating_add(1);
            }
        }
    }
    removed
}

/// Whether a slot of `record` names the beacon `id`.
fn named(record: &Record, id: u64) -> bool {
    record.slots.iter().any(|s| s.beacon.load(Acquire) == id)
}

/// The id in a beacon's file name, `nsem-holder.<16 lower-case hex
/// digits>`, as `CPath::beacon` writes it; `None` for any other name.
pub(crate) fn beacon_id(name: &[u8]) -> Option<u64> {
    let digits = name.strip_prefix(BEACON_PREFIX)?;
    if digits.len() != 16 {
        return None;
    }
    let mut id = 0u64;
    for &d in digits {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        id = id << 4 | u64::from(v);
    }
    (id != 0).then_some(id)
}

#[cfg(all(test, not(loom), target_has_atomic = "64"))]
mod tests;
