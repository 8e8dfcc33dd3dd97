//! Beacon files: how a robust holder's liveness is known, from the kernel.
//!
//! Each robust handle creates one small file, `DIR/nsem-holder.<16 hex
//! digits of its id>`, in the semaphore's directory, and holds an exclusive
//! `flock` on it for its whole life through a descriptor opened
//! `O_CLOEXEC`. A `flock` belongs to the open file description: a forked
//! child shares it (and keeps the holder alive), `execve` closes it, and
//! the kernel drops it when the last process holding the description dies,
//! before the zombie can be reaped. SIGSTOP does not; PID namespaces do not
//! matter, since the lock is on the file, not on a PID.
//!
//! Anyone may ask whether a holder lives by opening its beacon and trying a
//! non-blocking lock ([`probe`]): `EWOULDBLOCK` means alive; getting the
//! lock means dead, and the lock then makes the caller the only one
//! recovering that holder. A beacon that cannot be opened (missing, not
//! readable) or is not a regular file tells nothing, and nothing is
//! recovered on its word.

use rustix::fd::OwnedFd;
use rustix::fs::{self, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::name::{CPath, Directory};
use crate::{Error, ErrorKind};

/// How many ids to try before giving up on creating a beacon (each try
/// fails only if a file of that random name exists).
const ATTEMPTS: usize = 16;

/// This handle's beacon: its id and the locked descriptor.
#[derive(Debug)]
pub(crate) struct Beacon {
    id: u64,
    fd: OwnedFd,
}

/// Who may open a new beacon: the semaphore file's permission bits and
/// group, so that whoever may use the semaphore may probe its holders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    pub(crate) mode: u32,
    pub(crate) gid: u32,
}

impl Beacon {
    /// Creates and locks a new beacon in `dir`.
    ///
    /// # Errors
    ///
    /// What creating a file in `dir` can give ([`ErrorKind::PermissionDenied`],
    /// [`ErrorKind::Os`] for a full tmpfs, ...).
    pub(crate) fn create(dir: &Directory, access: Access) -> Result<Beacon, Error> {
        let flags =
            OFlags::CREATE | OFlags::EXCL | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(access.mode & 0o666);
        for _ in 0..ATTEMPTS {
            let id = random_id();
            let path = CPath::beacon(dir, id);
            let fd = match fs::open(path.as_c_str(), flags, mode) {
                Ok(fd) => fd,
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(Error::from_errno(e)),
            };
            // Nobody else can hold a lock on a file we just made.
            if let Err(e) = fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
                let _ = fs::unlink(path.as_c_str());
                return Err(Error::from_errno(e));
            }
            return Ok(Beacon { id, fd });
        }
        Err(Error::new(
            ErrorKind::Os,
            Errno::EXIST,
            "no free beacon name",
        ))
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Gives the beacon the semaphore's permission bits (the umask must not
    /// hide it from the semaphore's other users) and, where this process
    /// may, its group. Done after the slot is claimed, to keep the window in
    /// which a death leaves an unreferenced beacon file small.
    pub(crate) fn share(&self, access: Access) {
        let _ = fs::fchmod(&self.fd, Mode::from_raw_mode(access.mode & 0o666));
        let _ = fs::fchown(&self.fd, None, Some(fs::Gid::from_raw(access.gid)));
    }

    /// Closes the descriptor, which releases this handle's lock unless a
    /// forked child still shares it. The file stays.
    pub(crate) fn close(self) -> u64 {
        drop(self.fd);
        self.id
    }
}

/// What a probe of a beacon found.
#[derive(Debug)]
pub(crate) enum Probe {
    /// Some process holds the lock: the holder (or a fork of it) lives.
    Alive,
    /// Nobody held the lock; the caller holds it now, until this is dropped.
    Dead(DeadBeacon),
    /// The beacon could not be opened or locked, or is not a regular file:
    /// nothing can be said.
    Unknown(Error),
}

/// The lock on a dead holder's beacon: while it lives, no other probe gets
/// the lock, so at most one process recovers that holder.
#[derive(Debug)]
pub(crate) struct DeadBeacon {
    fd: OwnedFd,
}

impl DeadBeacon {
    /// Removes the beacon's name (if the file at it is still the one
    /// locked), then releases the lock. A beacon of another user in a
    /// sticky directory cannot be removed: it stays, empty and unlocked.
    pub(crate) fn remove(self, dir: &Directory, id: u64) {
        let path = CPath::beacon(dir, id);
        let same = match (fs::fstat(&self.fd), fs::lstat(path.as_c_str())) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        };
        if same {
            let _ = fs::unlink(path.as_c_str());
        }
    }
}

/// Probes the beacon `id` in `dir`: an exclusive lock (`exclusive`, for a
/// recovery) or a shared one (for a listing, which does not keep two
/// listings from probing at once).
pub(crate) fn probe(dir: &Directory, id: u64, exclusive: bool) -> Probe {
    let path = CPath::beacon(dir, id);
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = match fs::open(path.as_c_str(), flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => return Probe::Unknown(Error::from_errno(e)),
    };
    match fs::fstat(&fd) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {
            // A file unlinked since it was opened belonged to a holder that
            // someone else has finished with.
            if st.st_nlink == 0 {
                return Probe::Unknown(Error::from_errno(Errno::NOENT));
            }
        }
        Ok(_) => {
            return Probe::Unknown(Error::new(
                ErrorKind::InvalidObject,
                Errno::NODEV,
                "beacon is not a regular file",
            ))
        }
        Err(e) => return Probe::Unknown(Error::from_errno(e)),
    }
    let op = if exclusive {
        FlockOperation::NonBlockingLockExclusive
    } else {
        FlockOperation::NonBlockingLockShared
    };
    match fs::flock(&fd, op) {
        Ok(()) => Probe::Dead(DeadBeacon { fd }),
        Err(Errno::WOULDBLOCK) => Probe::Alive,
        Err(e) => Probe::Unknown(Error::from_errno(e)),
    }
}

/// A random non-zero 64-bit id, from `getrandom`; from the clock, the
/// process id and a counter if there is no entropy yet.
fn random_id() -> u64 {
    use core::sync::atomic::{AtomicU32, Ordering::Relaxed};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let mut bytes = [0u8; 8];
    let got = rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::NONBLOCK);
    let mut id = u64::from_ne_bytes(bytes);
    if got != Ok(8) || id == 0 {
        let t = crate::futex::now();
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u64;
        id = (t.tv_sec as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ (t.tv_nsec as u64)
            ^ pid << 32
            ^ u64::from(COUNTER.fetch_add(1, Relaxed)) << 48;
        id = (id ^ (id >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9) | 1;
    }
    id
}
