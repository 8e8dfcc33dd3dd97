//! Listing a robust semaphore's holders: [`Holders`], [`Holder`],
//! [`Liveness`], from a live handle or read-only by name (what `nsem info`
//! shows).

use core::fmt;

use rustix::fs::{self, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::beacon::{self, Probe};
use super::record::{
    corrupt, HeaderCopy, HeaderState, HolderFlags, RecordFlags, SlotCopy, HEADER_OFFSET,
    RECORD_LEN, ROBUST_FILE_LEN, SLOTS,
};
use crate::error::{Error, ErrorKind, Operation};
use crate::list::read_exact_at;
use crate::name::DEFAULT_DIRECTORY;
use crate::name::{CPath, Directory, Name};
use crate::raw::RawSemaphore;

/// Whether a holder lives, as its beacon's lock says.
///
/// ```
/// use named_semaphores::{Existence, Liveness, NamedSemaphore};
/// # let name = format!("doc-liveness-{}", std::process::id());
/// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
///
/// let sem = NamedSemaphore::options()
///     .robust(true)
///     .existence(Existence::CreateNew)
///     .open(&name)?;
/// for holder in sem.holders()? {
///     match holder.liveness {
///         Liveness::Alive => println!("pid {} holds {}", holder.pid, holder.tokens),
///         Liveness::Dead => println!("pid {} is gone; recover() gives its tokens back", holder.pid),
///         Liveness::Unknown(e) => println!("pid {}: cannot tell ({e})", holder.pid),
///         _ => {}
///     }
/// }
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Liveness {
    /// A process holds the holder's lock: the holder, or a child it forked
    /// that kept the handle. Stopped (`SIGSTOP`) processes are alive.
    Alive,
    /// Nobody holds it: the holder is gone, and the next recovery gives back
    /// its tokens.
    Dead,
    /// The beacon could not be checked (missing, not readable by this user,
    /// not a regular file): the holder is never recovered on such a word.
    Unknown(Error),
}

/// One holder of a robust semaphore, as its slot in the record says.
///
/// `pid` and `pid_namespace` are for people: liveness never depends on them
/// (a PID is reused, and names another process in another PID namespace).
///
/// ```
/// use named_semaphores::{Existence, NamedSemaphore};
/// # let name = format!("doc-holder-{}", std::process::id());
/// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
///
/// let sem = NamedSemaphore::options()
///     .robust(true)
///     .initial_value(2)
///     .existence(Existence::CreateNew)
///     .open(&name)?;
/// let _permit = sem.acquire()?;
/// let me = sem.holders()?.next().expect("this handle");
/// assert_eq!((me.pid, me.tokens, me.pending), (std::process::id(), 1, 0));
/// assert!(!me.corrupt && me.flags.is_empty());
/// // Debug shows the beacon as its file name does.
/// assert!(format!("{me:?}").contains(&format!("beacon: {:016x}", me.beacon)));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Holder {
    /// The slot's index in the record.
    pub slot: usize,
    /// The id of the holder's beacon file (`nsem-holder.<16 hex digits>` in
    /// the semaphore's directory).
    pub beacon: u64,
    /// The process id that opened the handle, in its own PID namespace.
    pub pid: u32,
    /// The inode of that process's PID namespace (`/proc/PID/ns/pid`), as
    /// the record keeps it, in 32 bits (the namespace file system's inode
    /// numbers fit); 0 if unknown.
    pub pid_namespace: u64,
    /// Tokens held.
    pub tokens: u32,
    /// Operations in flight: if the holder is dead, each is one token that
    /// may or may not have moved, which a recovery reports as uncertain.
    pub pending: u16,
    /// What else the slot says.
    pub flags: HolderFlags,
    /// Whether it lives.
    pub liveness: Liveness,
    /// Whether the slot claims more tokens than the semaphore's limit (no
    /// holder could hold that many; a recovery leaves such a slot alone).
    pub corrupt: bool,
}

impl fmt::Debug for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Holder")
            .field("slot", &self.slot)
            .field("beacon", &format_args!("{:016x}", self.beacon))
            .field("pid", &self.pid)
            .field("pid_namespace", &self.pid_namespace)
            .field("tokens", &self.tokens)
            .field("pending", &self.pending)
            .field("flags", &self.flags)
            .field("liveness", &self.liveness)
            .field("corrupt", &self.corrupt)
            .finish()
    }
}

/// The holders of a robust semaphore, read at one moment: an iterator of
/// [`Holder`]s that checks each one's liveness as it comes, and the
/// record's totals.
///
/// Made by [`NamedSemaphore::holders`](crate::NamedSemaphore::holders), or
/// read-only by name with [`holders`] and [`holders_in`]. Probing a holder
/// takes its beacon's lock for an instant if the holder is dead; a recovery
/// running at that instant leaves that holder for its next check.
///
/// ```
/// use named_semaphores::{Existence, Liveness, NamedSemaphore};
/// # let name = format!("doc-holders-{}", std::process::id());
/// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
///
/// let sem = NamedSemaphore::options()
///     .robust(true)
///     .initial_value(3)
///     .existence(Existence::CreateNew)
///     .open(&name)?;
/// let _permit = sem.acquire()?;
/// let holders = sem.holders()?;
/// assert_eq!(holders.limit(), 3);
/// let me: Vec<_> = holders.collect();
/// assert_eq!(me.len(), 1);
/// assert_eq!((me[0].pid, me[0].tokens), (std::process::id(), 1));
/// assert_eq!(me[0].liveness, Liveness::Alive);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub struct Holders {
    record: [u8; RECORD_LEN],
    dir: Directory,
    limit: u32,
    next: usize,
}

impl Holders {
    /// Reads the listing from a record's bytes.
    pub(crate) fn from_bytes(record: [u8; RECORD_LEN], dir: Directory) -> Result<Self, Error> {
        match HeaderCopy::of_bytes(&record).state {
            HeaderState::Robust(limit) => Ok(Holders {
                record,
                dir,
                limit,
                next: 0,
            }),
            HeaderState::Empty | HeaderState::Upgrading(_) => Err(not_robust()),
            HeaderState::Corrupt => Err(corrupt("robust record header is not valid")),
        }
    }

    /// The semaphore's limit: its initial value when it was created (or
    /// when its record was added, [`RecordFlags::UPGRADED`]).
    ///
    /// ```
    /// use named_semaphores::{Existence, NamedSemaphore, RecordFlags};
    /// # let name = format!("doc-holders-limit-{}", std::process::id());
    /// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
    ///
    /// let sem = NamedSemaphore::options()
    ///     .robust(true)
    ///     .initial_value(4)
    ///     .existence(Existence::CreateNew)
    ///     .open(&name)?;
    /// let holders = sem.holders()?;
    /// assert_eq!(holders.limit(), 4);
    /// assert_eq!((holders.uncertain(), holders.recovered()), (0, 0));
    /// assert_eq!(holders.flags(), RecordFlags::empty());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Tokens that recoveries have reported uncertain since the semaphore
    /// was created: each may be missing from the value for good. (See
    /// [`limit`](Self::limit) for an example.)
    #[must_use]
    pub fn uncertain(&self) -> u32 {
        HeaderCopy::of_bytes(&self.record).uncertain
    }

    /// Tokens that recoveries have given back since the semaphore was
    /// created (modulo 2⁶⁴). (See [`limit`](Self::limit) for an example.)
    #[must_use]
    pub fn recovered(&self) -> u64 {
        HeaderCopy::of_bytes(&self.record).recovered
    }

    /// What the record says about its history. (See [`limit`](Self::limit)
    /// for an example.)
    #[must_use]
    pub fn flags(&self) -> RecordFlags {
        HeaderCopy::of_bytes(&self.record).flags
    }
}

impl Iterator for Holders {
    type Item = Holder;

    fn next(&mut self) -> Option<Holder> {
        while self.next < SLOTS {
            let slot = self.next;
            self.next += 1;
            let seen = SlotCopy::of_bytes(&self.record, slot);
            if seen.beacon == 0 {
                continue;
            }
            let liveness = match beacon::probe(&self.dir, seen.beacon, false) {
                Probe::Alive => Liveness::Alive,
                Probe::Dead(_) => Liveness::Dead,
                Probe::Unknown(e) => Liveness::Unknown(e.during(Operation::Inspect)),
            };
            return Some(Holder {
                slot,
                beacon: seen.beacon,
                pid: seen.pid,
                pid_namespace: u64::from(seen.pid_ns),
                tokens: seen.state.tokens,
                pending: seen.state.pending,
                flags: seen.state.flags,
                liveness,
                corrupt: seen.state.check(self.limit).is_err(),
            });
        }
        None
    }
}

impl fmt::Debug for Holders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let claimed = (0..SLOTS)
            .filter(|&i| SlotCopy::of_bytes(&self.record, i).beacon != 0)
            .count();
        f.debug_struct("Holders")
            .field("limit", &self.limit)
            .field("claimed_slots", &claimed)
            .field("uncertain", &self.uncertain())
            .field("recovered", &self.recovered())
            .field("flags", &self.flags())
            .finish()
    }
}

fn not_robust() -> Error {
    Error::new(ErrorKind::NotRobust, Errno::OPNOTSUPP, "")
}

/// The holders of the robust semaphore `name` in `/dev/shm`, read from its
/// file without opening the semaphore (read permission is enough), as
/// [`inspect`](crate::inspect) reads its value.
///
/// # Errors
///
/// [`ErrorKind::NotFound`], [`ErrorKind::PermissionDenied`],
/// [`ErrorKind::InvalidName`] as for [`inspect`](crate::inspect);
/// [`ErrorKind::NotRobust`] for a semaphore without a record;
/// [`ErrorKind::CorruptRecord`] for a record this crate did not write;
/// [`ErrorKind::InvalidObject`] for a file that is no semaphore.
///
/// ```
/// use named_semaphores::{holders, ErrorKind, NamedSemaphore};
/// # let name = format!("doc-holders-fn-{}", std::process::id());
///
/// let plain = NamedSemaphore::create(&name, 1)?;
/// assert_eq!(holders(&name).unwrap_err().kind(), ErrorKind::NotRobust);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn holders(name: impl AsRef<[u8]>) -> Result<Holders, Error> {
    holders_in(DEFAULT_DIRECTORY, name)
}

/// [`holders`] in another directory.
///
/// # Errors
///
/// As for [`holders`], and [`ErrorKind::InvalidArgument`] for an unusable
/// directory path.
///
/// ```
/// use named_semaphores::{holders_in, Existence, NamedSemaphore};
/// # struct Guard(String);
/// # impl Drop for Guard { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
/// # let guard = Guard(format!("/dev/shm/doc-holders-in-{}", std::process::id()));
/// # std::fs::create_dir(&guard.0).unwrap();
/// # let dir: &str = &guard.0;
/// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
///
/// let mut options = NamedSemaphore::options();
/// let sem = options.directory(dir).robust(true).existence(Existence::CreateNew).open("jobs")?;
/// assert_eq!(holders_in(dir, "jobs")?.count(), 1); // this handle
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn holders_in(directory: &str, name: impl AsRef<[u8]>) -> Result<Holders, Error> {
    let given = name.as_ref();
    let name = Name::parse(given).map_err(|e| e.on(Operation::Inspect, given))?;
    read_holders(directory, &name).map_err(|e| e.on(Operation::Inspect, name.as_bytes()))
}

fn read_holders(directory: &str, name: &Name) -> Result<Holders, Error> {
    let dir = Directory::parse(directory)?;
    let path = CPath::semaphore(&dir, name);
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = fs::open(path.as_c_str(), flags, Mode::empty()).map_err(Error::from_errno)?;
    let st = fs::fstat(&fd).map_err(Error::from_errno)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Error::new(
            ErrorKind::InvalidObject,
            Errno::NODEV,
            "not a regular file",
        ));
    }
    match st.st_size as u64 {
        s if s == ROBUST_FILE_LEN as u64 => {}
        s if s == RawSemaphore::SIZE as u64 => return Err(not_robust()),
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidObject,
                Errno::INVAL,
                "file size is neither sizeof(sem_t) nor a robust semaphore's",
            ))
        }
    }
    let mut record = [0u8; RECORD_LEN];
    if !read_exact_at(&fd, &mut record, HEADER_OFFSET as u64).map_err(Error::from_errno)? {
        return Err(corrupt("robust record is truncated"));
    }
    Holders::from_bytes(record, dir)
}
