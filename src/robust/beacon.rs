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
//!
//! A beacon holds a tag, written under its lock before its slot is claimed:
//! which semaphore's record may name it ([`tag`]). A holder that dies
//! after its beacon has a name and before its slot names it (the open's
//! window) leaves a beacon no record names; the sweep (`robust/sweep.rs`)
//! removes those of its own semaphore, and the tag is how it tells them
//! from other semaphores' beacons. Beacons are made without a name
//! (`O_TMPFILE`), locked and tagged, then linked, so that a name never
//! stands for an unlocked beacon of a live holder: the window is then one
//! `linkat` return and the few instructions of the claim.

use core::ffi::CStr;
use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

use rustix::fd::{AsRawFd, OwnedFd};
use rustix::fs::{self, AtFlags, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Error, ErrorKind};
use crate::file_id::FileId;
use crate::name::{CPath, Directory};

/// How many ids to try before giving up on creating a beacon (each try
/// fails only if a file of that random name exists).
const ATTEMPTS: usize = 16;

/// This handle's beacon: its id and the locked descriptor.
#[derive(Debug)]
pub(crate) struct Beacon {
    id: u64,
    fd: OwnedFd,
    /// Made under its name (not with `O_TMPFILE`).
    named: bool,
}

/// Who may open a new beacon: the semaphore file's permission bits and
/// group, so that whoever may use the semaphore may probe its holders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Access {
    pub(crate) mode: u32,
    pub(crate) gid: u32,
}

impl Beacon {
    /// Creates and locks a new beacon in `dir` for a holder of the
    /// semaphore whose file is `owner`, and writes [`tag`]`(owner)` into it.
    ///
    /// The file is made without a name (`O_TMPFILE`), locked, tagged and
    /// given the semaphore's permissions, and only then linked under its
    /// name: a name never stands for an unlocked, untagged beacon, and a
    /// death before the link leaves nothing. Where that cannot be done (no
    /// `O_TMPFILE`, no `/proc` and no `AT_EMPTY_PATH` for this process) the
    /// file is created under its name, then locked and tagged
    /// ([`Beacon::create_named`]).
    ///
    /// # Errors
    ///
    /// What creating a file in `dir` can give ([`ErrorKind::PermissionDenied`],
    /// [`ErrorKind::Os`] for a full tmpfs, ...).
    pub(crate) fn create(dir: &Directory, access: Access, owner: FileId) -> Result<Beacon, Error> {
        match Beacon::create_unnamed(dir, access, owner) {
            Some(beacon) => Ok(beacon),
            None => Beacon::create_named(dir, access, owner),
        }
    }

    /// The `O_TMPFILE` way of [`create`](Beacon::create); `None` where it
    /// does not work (the named way then says why, if it fails too).
    pub(crate) fn create_unnamed(dir: &Directory, access: Access, owner: FileId) -> Option<Beacon> {
        let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(access.mode & 0o666);
        let fd = fs::open(CPath::directory(dir).as_c_str(), flags, mode).ok()?;
        fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).ok()?;
        write_tag(&fd, owner).ok()?;
        share(&fd, access);
        for _ in 0..ATTEMPTS {
            let id = random_id();
            match link(&fd, &CPath::beacon(dir, id)) {
                Ok(()) => {
                    return Some(Beacon {
                        id,
                        fd,
                        named: false,
                    })
                }
                Err(Errno::EXIST) => continue,
                Err(_) => return None,
            }
        }
        None
    }

    /// The way of [`create`](Beacon::create) where a file cannot be made
    /// without a name: created under its name, then locked and tagged. For
    /// an instant the name stands for an empty, unlocked file, which a
    /// sweep (`robust/sweep.rs`) may remove: [`Beacon::named_here`] tells
    /// after the slot is claimed.
    ///
    /// # Errors
    ///
    /// As for [`create`](Beacon::create).
    pub(crate) fn create_named(
        dir: &Directory,
        access: Access,
        owner: FileId,
    ) -> Result<Beacon, Error> {
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
            let ready = match fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
                // A sweep holds the lock of this empty file: it removes it.
                Err(Errno::WOULDBLOCK) => continue,
                Err(e) => Err(e),
                Ok(()) => write_tag(&fd, owner),
            };
            if let Err(e) = ready {
                let _ = remove_if_same(&fd, &path);
                return Err(Error::from_errno(e));
            }
            return Ok(Beacon {
                id,
                fd,
                named: true,
            });
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

    /// Gives a beacon made under its name the semaphore's permissions (see
    /// [`share`]); one made without a name has them already. Done after the
    /// slot is claimed, to keep the open's window short.
    pub(crate) fn share(&self, access: Access) {
        if self.named {
            share(&self.fd, access);
        }
    }

    /// Whether the beacon's name still stands for this file. Always so for a
    /// beacon made without a name (it was locked before it had one); one
    /// made under its name may have been removed by a sweep before it was
    /// locked, and its holder must then start again (its slot, claimed after
    /// the lock, tells the sweep from then on).
    pub(crate) fn named_here(&self, dir: &Directory) -> bool {
        !self.named || same_file(&self.fd, &CPath::beacon(dir, self.id))
    }

    /// Removes the beacon of a handle that could not register, then closes
    /// it.
    pub(crate) fn discard(self, dir: &Directory) {
        let _ = remove_if_same(&self.fd, &CPath::beacon(dir, self.id));
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
    /// locked), then releases the lock: whether it removed it. A beacon of another user in a
    /// sticky directory cannot be removed: it stays, empty and unlocked.
    pub(crate) fn remove(self, dir: &Directory, id: u64) -> bool {
        remove_if_same(&self.fd, &CPath::beacon(dir, id))
    }

    /// Whether a sweep of the semaphore `owner` may take this (unlocked)
    /// beacon for one of its own: tagged for `owner`, or empty (created
    /// under its name by a holder that died before it tagged it; no slot
    /// names an untagged beacon, since the tag is written before the slot
    /// is claimed). Another semaphore's beacon, or anything else, is not.
    pub(crate) fn sweepable(&self, owner: FileId) -> bool {
        let mut bytes = [0u8; TAG_LEN + 1];
        match rustix::io::pread(&self.fd, &mut bytes, 0) {
            Ok(0) => true,
            Ok(n) => n == TAG_LEN && bytes[..TAG_LEN] == tag(owner),
            Err(_) => false,
        }
    }
}

/// The size of a beacon's tag.
pub(crate) const TAG_LEN: usize = 24;

/// What a beacon holds: `"nsem-hb1"`, then the device and inode numbers of
/// its semaphore's file (native byte order): which semaphore's record may
/// name it.
pub(crate) fn tag(owner: FileId) -> [u8; TAG_LEN] {
    let mut bytes = [0u8; TAG_LEN];
    bytes[..8].copy_from_slice(b"nsem-hb1");
    bytes[8..16].copy_from_slice(&owner.dev().to_ne_bytes());
    bytes[16..].copy_from_slice(&owner.ino().to_ne_bytes());
    bytes
}

fn write_tag(fd: &OwnedFd, owner: FileId) -> Result<(), Errno> {
    match rustix::io::pwrite(fd, &tag(owner), 0)? {
        TAG_LEN => Ok(()),
        _ => Err(Errno::NOSPC),
    }
}

/// Gives a beacon the semaphore's permission bits (the umask must not hide
/// it from the semaphore's other users) and, where this process may, its
/// group.
fn share(fd: &OwnedFd, access: Access) {
    let _ = fs::fchmod(fd, Mode::from_raw_mode(access.mode & 0o666));
    let _ = fs::fchown(fd, None, Some(fs::Gid::from_raw(access.gid)));
}

/// Whether `path` names the file open as `fd`.
fn same_file(fd: &OwnedFd, path: &CPath) -> bool {
    match (fs::fstat(fd), fs::lstat(path.as_c_str())) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    }
}

/// Removes `path` if it names the file open as `fd`: whether it did (a
/// file someone else removed first is not counted twice).
fn remove_if_same(fd: &OwnedFd, path: &CPath) -> bool {
    same_file(fd, path) && fs::unlink(path.as_c_str()).is_ok()
}

/// Whether `linkat` with `AT_EMPTY_PATH` failed here once for want of a
/// capability (before Linux 6.10 it needs `CAP_DAC_READ_SEARCH`): then
/// only the `/proc` way is tried.
static NO_EMPTY_PATH: AtomicBool = AtomicBool::new(false);

/// Gives the unnamed file `fd` the name `path`: `linkat` with
/// `AT_EMPTY_PATH`, or through `/proc/self/fd/N`.
fn link(fd: &OwnedFd, path: &CPath) -> Result<(), Errno> {
    if !NO_EMPTY_PATH.load(Relaxed) {
        match fs::linkat(fd, c"", fs::CWD, path.as_c_str(), AtFlags::EMPTY_PATH) {
            Err(Errno::NOENT | Errno::PERM | Errno::INVAL) => NO_EMPTY_PATH.store(true, Relaxed),
            done => return done,
        }
    }
    link_through_proc(fd, path)
}

/// [`link`] through `/proc/self/fd/N`, which needs no capability.
pub(crate) fn link_through_proc(fd: &OwnedFd, path: &CPath) -> Result<(), Errno> {
    let proc_path = proc_fd_path(fd);
    let from = CStr::from_bytes_until_nul(&proc_path).map_err(|_| Errno::INVAL)?;
    fs::linkat(
        fs::CWD,
        from,
        fs::CWD,
        path.as_c_str(),
        AtFlags::SYMLINK_FOLLOW,
    )
}

/// `/proc/self/fd/N` for the descriptor `fd`, NUL-terminated.
pub(crate) fn proc_fd_path(fd: &OwnedFd) -> [u8; 32] {
    const PREFIX: &[u8] = b"/proc/self/fd/";
    let mut path = [0u8; 32];
    path[..PREFIX.len()].copy_from_slice(PREFIX);
    let mut digits = [0u8; 10];
    let mut n = fd.as_raw_fd() as u32;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for (i, d) in digits[..len].iter().rev().enumerate() {
        path[PREFIX.len() + i] = *d;
    }
    path
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
