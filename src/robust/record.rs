//! The record of a robust semaphore's holders: its layout in the semaphore
//! file, after glibc's `sem_t`, and the checks every read of it makes.
//!
//! ```text
//! offset 0     sem_t (RawSemaphore::SIZE bytes), then zeros: glibc's part
//! offset 64    header
//!   64  u64  ident      MAGIC ("NSRB") | VERSION << 32 | SLOTS << 48
//!   72  u32  limit      bit 31 set once recorded; bits 0..31: the limit
//!   76  u32  flags      RecordFlags
//!   80  u32  uncertain  tokens recoveries reported uncertain (saturating)
//!   84  u32  swept      when a sweep of beacon files last began
//!                       (CLOCK_MONOTONIC seconds, wrapping; robust/sweep.rs)
//!   88  u64  recovered  tokens recoveries gave back (wrapping)
//!   96..128  reserved, zero
//! offset 128   SLOTS holder slots of 32 bytes
//!   +0  u64  beacon     the holder's beacon id; 0 = free
//!   +8  u64  own        tokens (u32, wrapping) | BUSY (bit 32)
//!                       | generation << 33: the exclusive lane
//!   +16 u64  shared     pending (u16) | flags << 16 (u16)
//!                       | tokens << 32 (u32, wrapping): the shared lane
//!   +24 u32  pid        for display only
//!   +28 u32  pid_ns     inode of the holder's PID namespace (nsfs inodes
//!                       fit 32 bits), display only
//! ROBUST_FILE_LEN (4096)
//! ```
//!
//! A holder's tokens are `own.tokens + shared.tokens` (modulo 2³²: a lane
//! may go below zero while the other holds the tokens it gives back, or
//! count up without bound while the other counts down), and its operations
//! in flight are `BUSY + pending`. The
//! two lanes are what keeps the uncontended path cheap; see
//! `robust/protocol.rs`.
//!
//! Every field is an atomic word in the host's byte order (a semaphore is
//! shared by processes of one machine). Anyone who can write the semaphore
//! can write these bytes, so nothing here is trusted: [`Header::limit`]
//! refuses a header this crate did not write, and [`SlotState::check`] a
//! slot that claims more tokens than the limit.

use crate::error::{Error, ErrorKind};
use crate::sync::{AtomicU32, AtomicU64, Ordering::*};
use crate::VALUE_MAX;
use rustix::io::Errno;

mod copy;

pub(crate) use copy::{HeaderCopy, SlotCopy, RECORD_LEN};

/// The size of a robust semaphore's file: glibc's `sem_t`, then the record
/// of its holders. One page on most targets; glibc maps only the first
/// `sizeof(sem_t)` bytes of a semaphore file and never checks its size, so
/// glibc programs share a robust semaphore unchanged.
///
/// ```
/// use named_semaphores::{inspect, Existence, NamedSemaphore, RawSemaphore, ROBUST_FILE_LEN};
/// # let name = format!("doc-robust-len-{}", std::process::id());
/// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
///
/// let plain = NamedSemaphore::create(&name, 1)?;
/// assert_eq!(inspect(&name)?.size, RawSemaphore::SIZE as u64);
/// let robust = NamedSemaphore::options().robust(true).initial_value(1).open(&name)?;
/// let info = inspect(&name)?;
/// assert_eq!((info.size, info.robust), (ROBUST_FILE_LEN as u64, true));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub const ROBUST_FILE_LEN: usize = 4096;

/// Where the header starts (the record as a whole: [`Record`]).
pub(crate) const HEADER_OFFSET: usize = 64;
/// Where the first slot starts.
pub(crate) const SLOTS_OFFSET: usize = 128;
/// The size of one slot.
pub(crate) const SLOT_LEN: usize = 32;
/// How many holders one record has room for.
pub(crate) const SLOTS: usize = (ROBUST_FILE_LEN - SLOTS_OFFSET) / SLOT_LEN;

/// `"NSRB"` as the header's first four bytes on a little-endian machine.
const MAGIC: u32 = u32::from_le_bytes(*b"NSRB");
/// The record format's version.
const VERSION: u16 = 1;
/// The header's first word as this version writes it.
pub(crate) const IDENT: u64 = MAGIC as u64 | (VERSION as u64) << 32 | (SLOTS as u64) << 48;
/// The bit of the limit word that says the limit is recorded.
const LIMIT_SET: u32 = 1 << 31;

/// One token in the exclusive lane (tests and models; the protocol
/// counts in the lane's `u32`).
#[cfg(any(test, loom))]
pub(crate) const TOKEN: u64 = 1;
/// The exclusive lane's token count (wrapping within these bits).
pub(crate) const COUNT: u64 = 0xffff_ffff;
/// The exclusive lane's one operation in flight.
pub(crate) const BUSY: u64 = 1 << 32;
/// One step of the exclusive lane's generation: every mark and every
/// `forget` adds one (wrapping out of the word), so that the lane never
/// shows a value twice and a reader can tell that it did not change
/// (`robust/protocol.rs`).
pub(crate) const GENERATION: u64 = 1 << 33;
/// One token in the shared lane: in its top half, so that a count below
/// zero wraps out of the word and never borrows from the fields below.
pub(crate) const SHARED_TOKEN: u64 = 1 << 32;
/// One operation in flight, in the shared lane.
pub(crate) const PENDING: u64 = 1;
/// The shared lane's count of operations in flight.
pub(crate) const PENDING_MASK: u64 = 0xffff;
/// Where a slot's flags sit in the shared lane.
const FLAGS_SHIFT: u32 = 16;

bitflags::bitflags! {
    /// What a holder's slot says about it besides its counts
    /// ([`Holder::flags`](crate::Holder::flags)).
    ///
    /// ```
    /// use named_semaphores::HolderFlags;
    ///
    /// let flags = HolderFlags::CLOSING;
    /// assert_eq!(format!("{flags:?}"), "HolderFlags(CLOSING)");
    /// ```
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct HolderFlags: u16 {
        /// The handle is being dropped: it is giving back what its slot
        /// still holds.
        const CLOSING = 1 << 1;
        /// A recovery of this (dead) holder is giving back its tokens. A
        /// recovery that finds this flag knows an earlier one died in the
        /// middle, and reports the tokens as uncertain instead of giving
        /// them back a second time.
        const RECOVERING = 1 << 2;
    }
}

bitflags::bitflags! {
    /// What the record of a robust semaphore says about its history
    /// ([`Holders::flags`](crate::Holders::flags)).
    ///
    /// ```
    /// use named_semaphores::RecordFlags;
    ///
    /// assert!(RecordFlags::default().is_empty());
    /// assert_eq!(format!("{:?}", RecordFlags::UPGRADED), "RecordFlags(UPGRADED)");
    /// ```
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct RecordFlags: u32 {
        /// The record was added to a semaphore created without one: its
        /// limit is the initial value the first robust opener gave.
        const UPGRADED = 1 << 0;
        /// A recovery met a slot claiming more tokens than the limit, and
        /// left it alone.
        const CORRUPT_SLOT = 1 << 1;
        /// A recovery gave back fewer tokens than a dead holder's slot
        /// recorded, because more would have raised the value above the
        /// limit.
        const CAPPED = 1 << 2;
    }
}

/// The record's header.
#[repr(C)]
pub(crate) struct Header {
    ident: AtomicU64,
    limit: AtomicU32,
    flags: AtomicU32,
    uncertain: AtomicU32,
    swept: AtomicU32,
    recovered: AtomicU64,
    zero: [AtomicU64; 4],
}

/// One holder's slot.
#[repr(C)]
pub(crate) struct Slot {
    pub(crate) beacon: AtomicU64,
    /// The exclusive lane: written by the compare-and-swap that sets its
    /// BUSY bit, then only by the thread that set it (plain stores), or by
    /// a recovery once the holder is dead.
    pub(crate) own: AtomicU64,
    /// The shared lane: changed only by read-modify-write operations.
    pub(crate) shared: AtomicU64,
    pub(crate) pid: AtomicU32,
    pub(crate) pid_ns: AtomicU32,
}

/// The record: the file from [`HEADER_OFFSET`] to its end.
#[repr(C)]
pub(crate) struct Record {
    pub(crate) header: Header,
    pub(crate) slots: [Slot; SLOTS],
}

// The Rust structs are the file's layout (not under the model checker,
// whose atomics are larger, nor where there are no 64-bit atomics and no
// record).
#[cfg(all(not(loom), target_has_atomic = "64"))]
const _: () = {
    assert!(core::mem::size_of::<Header>() == SLOTS_OFFSET - HEADER_OFFSET);
    assert!(core::mem::size_of::<Slot>() == SLOT_LEN);
    assert!(core::mem::size_of::<Record>() == ROBUST_FILE_LEN - HEADER_OFFSET);
    assert!(crate::raw::RawSemaphore::SIZE <= HEADER_OFFSET);
    assert!(SLOTS == 124);
};

/// Records in plain memory, for the model checker (`robust_model.rs`).
#[cfg(loom)]
impl Header {
    /// A complete header with this limit.
    pub(crate) fn new(limit: u32) -> Header {
        Header {
            ident: AtomicU64::new(IDENT),
            limit: AtomicU32::new(limit | LIMIT_SET),
            flags: AtomicU32::new(0),
            uncertain: AtomicU32::new(0),
            swept: AtomicU32::new(0),
            recovered: AtomicU64::new(0),
            zero: [const { AtomicU64::new(0) }; 4],
        }
    }

    /// Reads every word the protocol uses, so that the model's atomics are
    /// made on the thread that calls this.
    pub(crate) fn touch(&self) -> u32 {
        let _ = (self.flags.load(Relaxed), self.recovered.load(Relaxed));
        let _ = self.limit();
        self.uncertain.load(Relaxed)
    }
}

#[cfg(loom)]
impl Slot {
    /// A slot claimed by `beacon`, with these lanes.
    pub(crate) fn new(beacon: u64, own: u64, shared: u64) -> Slot {
        Slot {
            beacon: AtomicU64::new(beacon),
            own: AtomicU64::new(own),
            shared: AtomicU64::new(shared),
            pid: AtomicU32::new(0),
            pid_ns: AtomicU32::new(0),
        }
    }
}

/// What a header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderState {
    /// A complete record with this limit.
    Robust(u32),
    /// All zero: a plain semaphore's file being given a record.
    Empty,
    /// The limit is recorded, the ident not yet: an upgrade half done.
    Upgrading(u32),
    /// Anything else.
    Corrupt,
}

impl HeaderState {
    /// Classifies the header's first two fields.
    pub(crate) fn of(ident: u64, limit: u32) -> HeaderState {
        let value = limit & !LIMIT_SET;
        let set = limit & LIMIT_SET != 0 && value <= VALUE_MAX;
        match (ident, limit) {
            (IDENT, _) if set => HeaderState::Robust(value),
            (0, 0) => HeaderState::Empty,
            (0, _) if set => HeaderState::Upgrading(value),
            _ => HeaderState::Corrupt,
        }
    }

    /// Classifies a header read as bytes (the first 12 bytes of it).
    pub(crate) fn of_bytes(header: &[u8]) -> HeaderState {
        let ident = header.get(0..8).and_then(|b| b.try_into().ok());
        let limit = header.get(8..12).and_then(|b| b.try_into().ok());
        match (ident, limit) {
            (Some(i), Some(l)) => HeaderState::of(u64::from_ne_bytes(i), u32::from_ne_bytes(l)),
            _ => HeaderState::Corrupt,
        }
    }
}

/// The error for a record this crate did not write.
#[cold]
pub(crate) fn corrupt(detail: &'static str) -> Error {
    Error::new(ErrorKind::CorruptRecord, Errno::UCLEAN, detail)
}

impl Header {
    /// The limit of a complete record.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CorruptRecord`] if the header is not a complete record
    /// this version wrote.
    pub(crate) fn limit(&self) -> Result<u32, Error> {
        match self.state() {
            HeaderState::Robust(limit) => Ok(limit),
            _ => Err(corrupt("robust record header is not valid")),
        }
    }

    pub(crate) fn state(&self) -> HeaderState {
        // Acquire: pairs with the Release that completed the header.
        let ident = self.ident.load(Acquire);
        HeaderState::of(ident, self.limit.load(Relaxed))
    }

    /// Completes the record of a plain semaphore whose file was just
    /// extended to [`ROBUST_FILE_LEN`] (zeros): records `limit` unless a
    /// concurrent upgrade recorded another first, then the ident. Every
    /// upgrader agrees on the first limit recorded. Returns the limit.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::CorruptRecord`] if the header holds anything else.
    pub(crate) fn upgrade(&self, limit: u32) -> Result<u32, Error> {
        let limit = limit.min(VALUE_MAX);
        match self
            .limit
            .compare_exchange(0, limit | LIMIT_SET, AcqRel, Acquire)
        {
            Ok(_) => {
                self.flags.fetch_or(RecordFlags::UPGRADED.bits(), Relaxed);
            }
            Err(seen) if seen & LIMIT_SET != 0 => {}
            Err(_) => return Err(corrupt("robust record header is not valid")),
        }
        // Release: whoever sees the ident sees the limit and flags.
        match self.ident.compare_exchange(0, IDENT, Release, Relaxed) {
            Ok(_) | Err(IDENT) => self.limit(),
            Err(_) => Err(corrupt("robust record header is not valid")),
        }
    }

    pub(crate) fn add_flags(&self, flags: RecordFlags) {
        self.flags.fetch_or(flags.bits(), Relaxed);
    }

    /// Whether a sweep is due at `now` (seconds) if one may begin every
    /// `period` seconds: if so, the caller is the one that begins it (the
    /// compare-and-swap that records `now` decides). A clock that
    /// disagrees (another time namespace) makes sweeps more frequent, never
    /// stops them.
    pub(crate) fn sweep_due(&self, now: u32, period: u32) -> bool {
        let last = self.swept.load(Relaxed);
        if last != 0 && now.wrapping_sub(last) < period {
            return false;
        }
        let now = now.max(1);
        self.swept
            .compare_exchange(last, now, Relaxed, Relaxed)
            .is_ok()
    }

    /// Counts what one recovery gave back and left uncertain.
    pub(crate) fn count_recovery(&self, tokens: u32, uncertain: u32) {
        if uncertain > 0 {
            let mut old = self.uncertain.load(Relaxed);
            while let Err(now) = self.uncertain.compare_exchange_weak(
                old,
                old.saturating_add(uncertain),
                Relaxed,
                Relaxed,
            ) {
                old = now;
            }
        }
        self.recovered.fetch_add(u64::from(tokens), Relaxed);
    }
}

/// Writes the header of a new robust semaphore whose limit (initial value)
/// is `limit` into `file`, the image of the whole file.
pub(crate) fn write_new_header(file: &mut [u8; ROBUST_FILE_LEN], limit: u32) {
    let at = HEADER_OFFSET;
    file[at..at + 8].copy_from_slice(&IDENT.to_ne_bytes());
    file[at + 8..at + 12].copy_from_slice(&(limit.min(VALUE_MAX) | LIMIT_SET).to_ne_bytes());
}

/// A slot's state word, decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SlotState {
    /// Tokens the holder holds.
    pub(crate) tokens: u32,
    /// Operations in flight: each is at most one token that may or may not
    /// have moved if the holder died now.
    pub(crate) pending: u16,
    pub(crate) flags: HolderFlags,
}

impl SlotState {
    /// The state of a slot whose lanes hold `own` and `shared`.
    pub(crate) fn of(own: u64, shared: u64) -> SlotState {
        let busy = u16::from(own & BUSY != 0);
        SlotState {
            tokens: (own as u32).wrapping_add((shared >> 32) as u32),
            pending: (shared as u16).saturating_add(busy),
            flags: HolderFlags::from_bits_truncate((shared >> FLAGS_SHIFT) as u16),
        }
    }

    /// Whether a holder could have held this: no more tokens than the
    /// limit.
    pub(crate) fn check(&self, limit: u32) -> Result<(), Error> {
        if self.tokens > limit {
            return Err(corrupt("a holder slot claims more tokens than the limit"));
        }
        Ok(())
    }

    /// The tokens a death in this state leaves uncertain: one per operation
    /// in flight, and never more than the limit.
    pub(crate) fn uncertain(&self, limit: u32) -> u32 {
        u32::from(self.pending).min(limit)
    }
}

/// The bit pattern of `flags` in the shared lane.
pub(crate) fn flag_bits(flags: HolderFlags) -> u64 {
    u64::from(flags.bits()) << FLAGS_SHIFT
}

impl Slot {
    /// Both lanes, read one after the other.
    pub(crate) fn state(&self) -> SlotState {
        SlotState::of(self.own.load(Acquire), self.shared.load(Acquire))
    }

    pub(crate) fn add_flags(&self, flags: HolderFlags) {
        self.shared.fetch_or(flag_bits(flags), Relaxed);
    }

    pub(crate) fn remove_flags(&self, flags: HolderFlags) {
        self.shared.fetch_and(!flag_bits(flags), Relaxed);
    }

    /// Marks the slot free after its holder is gone: display fields first,
    /// then the beacon word (Release), which lets a new holder claim it.
    pub(crate) fn release_claim(&self, beacon: u64) {
        self.pid.store(0, Relaxed);
        self.pid_ns.store(0, Relaxed);
        let _ = self.beacon.compare_exchange(beacon, 0, Release, Relaxed);
    }

    /// Claims the slot for `beacon` if it is free: the claim and its
    /// publication are one compare-and-swap. The state word is reset (a free
    /// slot's state means nothing).
    pub(crate) fn claim(&self, beacon: u64, pid: u32, pid_ns: u32) -> bool {
        if self
            .beacon
            .compare_exchange(0, beacon, AcqRel, Relaxed)
            .is_err()
        {
            return false;
        }
        self.own.store(0, Relaxed);
        self.shared.store(0, Relaxed);
        self.pid.store(pid, Relaxed);
        self.pid_ns.store(pid_ns, Relaxed);
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
