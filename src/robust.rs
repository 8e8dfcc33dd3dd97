//! Robust mode: the tokens a holder takes come back when it dies.
//!
//! A robust semaphore's file holds, after glibc's `sem_t`, a record of its
//! holders (`robust/record.rs`): one slot per robust handle, counting the
//! tokens it holds. Each robust handle holds a lock on a beacon file that
//! the kernel releases when the handle's last descriptor closes
//! (`robust/beacon.rs`); every token it takes or gives back updates its slot
//! around the one compare-and-swap on the value (`robust/protocol.rs`); and
//! whoever finds a slot whose beacon nobody holds gives back what it
//! records, exactly once (`robust/recover.rs`). Listings of the holders are
//! in `robust/holders.rs`.
//!
//! This file holds a handle's [`Registration`] (its slot and beacon), the
//! blocking take that checks for dead holders before it sleeps and every
//! check period while it waits, and the drop.

use core::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::file_id::FileId;
use crate::futex::{self, Deadline, WaitMode};
use crate::name::Directory;
use crate::raw::RawSemaphore;

mod beacon;
mod holders;
pub(crate) mod protocol;
pub(crate) mod record;
pub(crate) mod recover;
pub(crate) mod source;
pub(crate) mod sweep;

pub(crate) use beacon::Access;
use beacon::{Beacon, Probe};
pub use holders::{holders, holders_in, Holder, Holders, Liveness};
pub use record::{HolderFlags, RecordFlags, ROBUST_FILE_LEN};
use record::{Record, Slot};
pub use recover::Recovery;
pub(crate) use recover::{recover, Scope};

/// How often a blocked robust waiter checks for dead holders, unless
/// [`OpenOptions::check_period`](crate::OpenOptions::check_period) says
/// otherwise.
pub(crate) const DEFAULT_CHECK_PERIOD: Duration = Duration::from_millis(100);

/// How many times, a millisecond apart, a dropped handle looks again when
/// another process still holds its beacon (a child forked by another thread
/// of this process, before its `exec`).
const CLOSE_RETRIES: usize = 10;

/// How many beacons an open makes at most, each made under its name and
/// removed by a sweep before its holder locked it (see
/// [`Beacon::named_here`]).
const OPEN_ATTEMPTS: usize = 4;

/// The shortest check period: a waiter wakes at most this often.
pub(crate) const MIN_CHECK_PERIOD: Duration = Duration::from_millis(1);

/// A robust handle's place in the record: its slot and its beacon.
#[derive(Debug)]
pub(crate) struct Registration {
    beacon: Beacon,
    slot: usize,
    period: Duration,
    /// The semaphore's file, which its beacon's tag names.
    owner: FileId,
}

impl Registration {
    /// Makes this handle a holder of the semaphore whose record is
    /// `record` and whose file is `owner`: a new beacon, locked and tagged,
    /// and a free slot claimed for it. When every slot is taken, dead
    /// holders are recovered first to free some. When a sweep is due
    /// (`robust/sweep.rs`), the beacons of holders that died while opening
    /// are removed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::RecordFull`] if no slot is free even then;
    /// [`ErrorKind::CorruptRecord`] for a bad header; what creating the
    /// beacon file gives.
    pub(crate) fn register(
        sem: &RawSemaphore,
        record: &Record,
        dir: &Directory,
        (access, owner): (Access, FileId),
        period: Duration,
    ) -> Result<Registration, Error> {
        record.header.limit()?;
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
        let pid_ns = pid_namespace();
        // A beacon made under its name may be swept before it is locked:
        // its holder then starts again, a few times at most.
        for _ in 0..OPEN_ATTEMPTS {
            let beacon = Beacon::create(dir, access, owner)?;
            let slot = match Registration::claim(sem, record, dir, &beacon, pid, pid_ns, owner) {
                Ok(slot) => slot,
                Err(e) => {
                    beacon.discard(dir);
                    return Err(e);
                }
            };
            if !beacon.named_here(dir) {
                // We took nothing: the slot is free again.
                record.slots[slot].release_claim(beacon.id());
                continue;
            }
            beacon.share(access);
            if sweep::due(&record.header) {
                sweep::sweep(record, dir, owner);
            }
            return Ok(Registration {
                beacon,
                slot,
                period: period.max(MIN_CHECK_PERIOD),
                owner,
            });
        }
        Err(Error::new(
            ErrorKind::Os,
            rustix::io::Errno::AGAIN,
            "the beacon file was removed while opening",
        ))
    }

    /// Claims a free slot for `beacon`, recovering dead holders (and
    /// sweeping) first if there is none: its index.
    fn claim(
        sem: &RawSemaphore,
        record: &Record,
        dir: &Directory,
        beacon: &Beacon,
        pid: u32,
        pid_ns: u32,
        owner: FileId,
    ) -> Result<usize, Error> {
        for attempt in 0..2 {
            if let Some(slot) =
                (0..record.slots.len()).find(|&i| record.slots[i].claim(beacon.id(), pid, pid_ns))
            {
                return Ok(slot);
            }
            if attempt == 0 {
                recover(sem, record, dir, beacon.id(), Scope::All)?;
                sweep::sweep(record, dir, owner);
            }
        }
        Err(Error::new(
            ErrorKind::RecordFull,
            rustix::io::Errno::NOSPC,
            "every holder slot is taken",
        ))
    }

    /// This handle's slot.
    #[inline]
    pub(crate) fn slot<'r>(&self, record: &'r Record) -> &'r Slot {
        &record.slots[self.slot]
    }

    /// This handle's slot's index in the record.
    #[inline]
    pub(crate) fn slot_index(&self) -> usize {
        self.slot
    }

    /// This handle's beacon id.
    pub(crate) fn id(&self) -> u64 {
        self.beacon.id()
    }

    /// How often a blocked take checks for dead holders.
    pub(crate) fn period(&self) -> Duration {
        self.period
    }

    /// Takes a token and records it in the slot, sleeping until one comes
    /// or until `deadline` (on the clock `mode` says) passes: `Ok(false)`
    /// then.
    ///
    /// Before it first sleeps it recovers dead holders that hold tokens,
    /// and while it waits it recovers every dead holder once per check
    /// period, sleeping no longer than a period at a time.
    ///
    /// # Errors
    ///
    /// As for [`RawSemaphore::acquire_interruptible`].
    #[cold]
    pub(crate) fn take(
        &self,
        sem: &RawSemaphore,
        record: &Record,
        dir: &Directory,
        deadline: Option<&Deadline>,
        mode: WaitMode,
    ) -> Result<bool, Error> {
        let slot = self.slot(record);
        let take_once = || protocol::take_once(sem, slot);
        if take_once() {
            return Ok(true);
        }
        if sem.spin_available() && take_once() {
            return Ok(true);
        }
        let mut scope = Scope::Holding;
        let mut next_check: Option<Deadline> = None;
        loop {
            let now = futex::now_on(mode.realtime);
            if next_check.map_or(true, |at| !futex::earlier(&now, &at)) {
                // A corrupt record only stops recoveries, never a wait.
                let found = recover(sem, record, dir, self.id(), scope);
                if found.is_ok_and(|r| r.holders > 0) || sweep::due(&record.header) {
                    sweep::sweep(record, dir, self.owner);
                }
                scope = Scope::All;
                next_check = futex::add(now, self.period);
                if take_once() {
                    return Ok(true);
                }
            }
            if let Some(end) = deadline {
                if !futex::earlier(&now, end) {
                    return Ok(take_once());
                }
            }
            let until = match (deadline, next_check.as_ref()) {
                (Some(end), Some(check)) if futex::earlier(end, check) => Some(end),
                (_, Some(check)) => Some(check),
                (end, None) => end,
            };
            if sem.wait_available(until, mode)? && take_once() {
                return Ok(true);
            }
        }
    }

    /// The handle's drop: closes the beacon, and if no forked child still
    /// holds it, gives back what the slot still records (tokens of permits
    /// that were `mem::forget`ed), frees the slot and removes the beacon.
    pub(crate) fn close(self, sem: &RawSemaphore, record: &Record, dir: &Directory) {
        let slot = &record.slots[self.slot];
        slot.add_flags(HolderFlags::CLOSING);
        let id = self.beacon.close();
        // A child that another thread has just forked to run a program
        // holds our descriptor until its `exec`: a few milliseconds are
        // given for that.
        for attempt in 0..=CLOSE_RETRIES {
            match beacon::probe(dir, id, true) {
                Probe::Dead(lock) => {
                    if let Ok(limit) = record.header.limit() {
                        recover::recover_slot(sem, &record.header, slot, id, limit, lock, dir);
                    }
                    return;
                }
                Probe::Alive if attempt < CLOSE_RETRIES => {
                    let pause = rustix::time::Timespec {
                        tv_sec: 0,
                        tv_nsec: 1_000_000,
                    };
                    let _ = rustix::thread::nanosleep(&pause);
                }
                // A forked child keeps the holder alive: its death (or
                // drop) finishes the job. Unknown: someone removed our
                // beacon; its tokens cannot be told apart from a live
                // fork's.
                Probe::Alive | Probe::Unknown(_) => break,
            }
        }
        slot.remove_flags(HolderFlags::CLOSING);
    }
}

/// The inode of this process's PID namespace, 0 if `/proc` cannot tell.
#[allow(clippy::unnecessary_cast)] // st_ino's width differs by target
fn pid_namespace() -> u32 {
    rustix::fs::stat(c"/proc/self/ns/pid").map_or(0, |st| st.st_ino as u32)
}
