//! Removing or replacing a name: the lock that makes this exact among the
//! processes that use this crate (or its C library), and glibc-legal with
//! everyone else.
//!
//! Linux has no "unlink this name if it still refers to that file", so an
//! operation that looks at a name and then removes it can remove a
//! semaphore that another process published there in between. Every
//! operation here that removes or replaces a name therefore first locks the
//! file now at the name, and checks under that lock that the name still
//! refers to it:
//!
//! ```text
//! fd = open(DIR/sem.NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
//! flock(fd, LOCK_EX | LOCK_NB), polled for at most LOCK_WAIT_MAX_NANOS
//! fstat(fd): no link left?     -> the name went since the open: start over
//!            one link?         -> that link is the name
//!            more links?       -> lstat(DIR/sem.NAME) is the same file?
//! unlink, or rename over it
//! close(fd)                       (releases the lock)
//! ```
//!
//! One link left means the name: the file was at the name when it was
//! opened, and neither this crate, nor its C library, nor glibc ever gives
//! an existing semaphore file another name or moves it away from its name
//! (this crate publishes with `linkat` of an `O_TMPFILE` file or a
//! `renameat2(RENAME_NOREPLACE)` of its temporary file, so that a file of
//! ours never has two links). A removal of the name since the open leaves
//! it no link. A file with more than one link (glibc's `sem_open` between
//! its `link` to the name and the removal of its temporary name, or a hard
//! link someone made by hand) is looked up by name instead.
//!
//! Among cooperating processes a name that refers to a locked and re-checked
//! file keeps referring to it until the lock goes: removing or replacing it
//! needs the same lock, and creating at a name that exists fails. So two of
//! our processes can never remove each other's newer semaphore. A glibc
//! process takes no lock: it can replace the name between our re-check and
//! our unlink (a few microseconds), and the outcome is then that of a
//! `sem_unlink` by us right after its creation, which glibc programs can
//! do to each other at any time. (The same outcome, at worst, follows when
//! a glibc process removes the name of a file that another glibc process is
//! still creating, and so still has under its temporary name too, just as
//! one of ours is about to lock it: the file then shows one link that is
//! not the name.)
//!
//! The lock is never waited on for long: a file that cannot be opened
//! (`EACCES`, a symbolic link, ...) or whose lock is still held by someone
//! else after [`LOCK_WAIT_MAX_NANOS`] (another user may hold it forever on
//! purpose) takes the plain path, which is what glibc does.

use core::ffi::CStr;

use rustix::fd::OwnedFd;
use rustix::fs::{self, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::Error;
use crate::file_id::FileId;

/// How long an operation polls for a lock held by another process before it
/// takes the plain path: 100 ms. The lock is held for a few system calls,
/// never while anyone waits for a token, so only a process that holds it on
/// purpose (or is stopped while holding it) makes anyone wait this long.
pub(crate) const LOCK_WAIT_MAX_NANOS: u64 = 100_000_000;

/// How many times an unlink or a replacement starts over when the name was
/// given to another file between its open and its re-check; then it takes
/// the plain path.
const ATTEMPTS: u32 = 8;

/// The first pause between two polls of a held lock; it doubles up to
/// [`POLL_PAUSE_MAX_NANOS`].
const POLL_PAUSE_NANOS: u64 = 20_000;
const POLL_PAUSE_MAX_NANOS: u64 = 2_000_000;

/// A bound on the polls of one lock that holds whatever the clock does
/// (about twice what [`LOCK_WAIT_MAX_NANOS`] allows).
const POLLS_MAX: u32 = 120;

/// What the file at a name turned out to be, once locked.
enum Locked {
    /// The name refers to the file that is open and locked (checked under
    /// the lock); it keeps doing so, among cooperating processes, until the
    /// descriptor is closed, which releases the lock. (A child forked
    /// meanwhile shares the descriptor, and the lock, until it execs or
    /// exits: others then wait up to [`LOCK_WAIT_MAX_NANOS`] for it, and
    /// take the plain path after that. An explicit unlock would cost every
    /// removal one more system call.)
    Held(OwnedFd),
    /// No file at the name.
    Missing,
    /// The name refers to another file than the one opened (or, with
    /// `only`, to a file other than that one).
    Changed,
    /// The file cannot be opened or locked: take the plain path.
    Plain,
}

/// Removes the name `path` if, and only if, it refers to the file `own`: a
/// handle's drop. Never fails: a name that is gone, that refers to another
/// file, or that may not be removed, is left as it is.
pub(crate) fn unlink_if_ours(path: &CStr, own: FileId) {
    match lock(path, Some(own)) {
        Locked::Held(_fd) => {
            let _ = fs::unlink(path);
        }
        Locked::Plain => {
            if is_at(path, own) {
                let _ = fs::unlink(path);
            }
        }
        Locked::Missing | Locked::Changed => {}
    }
}

/// Removes the name, whichever file it refers to, as `sem_unlink` does
/// (`EPERM` is reported as `EACCES`).
pub(crate) fn unlink(path: &CStr) -> Result<(), Error> {
    for _ in 0..ATTEMPTS {
        match lock(path, None) {
            Locked::Held(_fd) => return fs::unlink(path).map_err(Error::from_errno),
            Locked::Missing => return Err(Error::from_errno(Errno::NOENT)),
            Locked::Changed => {}
            Locked::Plain => break,
        }
    }
    fs::unlink(path).map_err(Error::from_errno)
}

/// Gives the file named `tmp` the name `path`, replacing whichever file is
/// there (`Existence::UnlinkAndCreate`): renamed over a locked and re-checked
/// file, or moved to the name where it is free. On failure `tmp` is left
/// for the caller to remove.
pub(crate) fn replace(tmp: &CStr, path: &CStr) -> Result<(), Error> {
    for _ in 0..ATTEMPTS {
        match lock(path, None) {
            Locked::Held(_fd) => return fs::rename(tmp, path).map_err(Error::from_errno),
            // Never replaces: a file published meanwhile is locked on the
            // next attempt.
            Locked::Missing => match publish_noreplace(tmp, path) {
                Ok(()) => return Ok(()),
                Err(Errno::EXIST) => {}
                Err(_) => break,
            },
            Locked::Changed => {}
            Locked::Plain => break,
        }
    }
    fs::rename(tmp, path).map_err(Error::from_errno)
}

/// Moves the file named `tmp` to the free name `path` (`EEXIST` if it is
/// taken), so that the file never has two links: `renameat2` with
/// `RENAME_NOREPLACE`. Where that is missing (an old kernel, a file system
/// without it) or refused (a system-call filter), `link` and then `unlink(tmp)`, as
/// glibc publishes. Used by every creation from a temporary file.
pub(crate) fn publish_noreplace(tmp: &CStr, path: &CStr) -> Result<(), Errno> {
    let flags = fs::RenameFlags::NOREPLACE;
    match fs::renameat_with(fs::CWD, tmp, fs::CWD, path, flags) {
        Err(Errno::INVAL | Errno::NOSYS | Errno::PERM) => {
            fs::link(tmp, path)?;
            let _ = fs::unlink(tmp);
            Ok(())
        }
        other => other,
    }
}

/// Opens the file at `path`, locks it, and checks under the lock that the
/// name still refers to it (see the module's documentation). With `only`, a
/// file other than `only` is [`Locked::Changed`].
fn lock(path: &CStr, only: Option<FileId>) -> Locked {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
    let fd = match fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Locked::Missing,
        Err(_) => return Locked::Plain,
    };
    if !acquire(&fd) {
        return Locked::Plain;
    }
    let Ok(st) = fs::fstat(&fd) else {
        return Locked::Plain;
    };
    let id = FileId::of(&st);
    if only.is_some_and(|only| only != id) {
        return Locked::Changed;
    }
    match st.st_nlink {
        // Removed from the name since the open (by a process that held
        // this lock then, or by one that takes no lock).
        0 => return Locked::Changed,
        1 => return Locked::Held(fd),
        _ => {}
    }
    match fs::lstat(path) {
        Ok(st) if FileId::of(&st) == id => Locked::Held(fd),
        Ok(_) => Locked::Changed,
        Err(Errno::NOENT) => Locked::Missing,
        Err(_) => Locked::Plain,
    }
}

/// Takes `flock(LOCK_EX)` on `fd` without blocking: polled with growing
/// pauses for at most [`LOCK_WAIT_MAX_NANOS`] (and at most
/// [`POLLS_MAX`] times, should the clock stand still). `false` if it is
/// still held by someone else then, or if the file system refuses locks.
fn acquire(fd: &OwnedFd) -> bool {
    let mut waited = None;
    let mut pause = POLL_PAUSE_NANOS;
    for _ in 0..POLLS_MAX {
        match fs::flock(fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return true,
            Err(Errno::WOULDBLOCK | Errno::INTR) => {}
            Err(_) => return false,
        }
        let start = *waited.get_or_insert_with(crate::futex::now);
        if elapsed_nanos(start) >= LOCK_WAIT_MAX_NANOS {
            return false;
        }
        let request = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: pause as _,
        };
        let _ = rustix::thread::nanosleep(&request);
        pause = (pause * 2).min(POLL_PAUSE_MAX_NANOS);
    }
    false
}

/// Nanoseconds of `CLOCK_MONOTONIC` since `start` (0 if the clock did not
/// move).
fn elapsed_nanos(start: rustix::time::Timespec) -> u64 {
    let now = crate::futex::now();
    #[allow(clippy::useless_conversion)] // Nsecs is not i64 on every target
    let nanos = (now.tv_sec - start.tv_sec)
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(now.tv_nsec) - i64::from(start.tv_nsec));
    u64::try_from(nanos).unwrap_or(0)
}

/// Whether `path` names the file `id` (without following a symbolic link).
pub(super) fn is_at(path: &CStr, id: FileId) -> bool {
    fs::lstat(path).is_ok_and(|st| FileId::of(&st) == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::file::{create, Publish};
    use crate::name::{CPath, Directory, Name};
    use crate::test_dir::TestDir;
    use std::time::{Duration, Instant};

    /// A test directory and the path of the semaphore `name` in it.
    fn setup(tag: &str) -> (TestDir, Directory, CPath) {
        let dir = TestDir::new(tag);
        let directory = Directory::parse(&dir.0).unwrap();
        let path = CPath::semaphore(&directory, &Name::parse(b"n").unwrap());
        (dir, directory, path)
    }

    fn make(directory: &Directory, path: &CStr, value: u32, publish: Publish) -> FileId {
        let mode = Mode::from_raw_mode(0o600);
        create(directory, path, value, mode, publish, false)
            .unwrap()
            .id()
    }

    /// Another open file description of the file at `path`, holding its lock.
    fn hold_lock(path: &CStr) -> OwnedFd {
        let fd = fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap();
        fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).unwrap();
        fd
    }

    #[test]
    fn a_drop_removes_only_its_own_file() {
        let (dir, directory, path) = setup("own");
        let path = path.as_c_str();
        let old = make(&directory, path, 1, Publish::Link);
        let new = make(&directory, path, 2, Publish::Replace);
        unlink_if_ours(path, old);
        assert!(is_at(path, new), "the newcomer keeps its name");
        assert_eq!(dir.files(), ["sem.n"]);
        unlink_if_ours(path, new);
        assert!(dir.files().is_empty(), "{:?}", dir.files());
        // A name that is gone stays gone.
        unlink_if_ours(path, new);
        assert!(dir.files().is_empty(), "{:?}", dir.files());
    }

    #[test]
    fn unlink_removes_whatever_is_at_the_name() {
        let (dir, directory, path) = setup("unlink");
        let path = path.as_c_str();
        make(&directory, path, 1, Publish::Link);
        unlink(path).unwrap();
        assert!(dir.files().is_empty());
        assert_eq!(unlink(path).unwrap_err().kind(), ErrorKind::NotFound);
        // What cannot be opened is removed as `sem_unlink` removes it: a
        // symbolic link (ELOOP), a file without read permission (EACCES
        // unless root), a FIFO (opened without blocking).
        std::os::unix::fs::symlink("/nonexistent", format_path(path)).unwrap();
        unlink(path).unwrap();
        let mode = Mode::from_raw_mode(0o200);
        create(&directory, path, 1, mode, Publish::Link, false).unwrap();
        unlink(path).unwrap();
        fs::mknodat(
            fs::CWD,
            path,
            fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        unlink(path).unwrap();
        assert!(dir.files().is_empty(), "{:?}", dir.files());
    }

    fn format_path(path: &CStr) -> std::string::String {
        path.to_str().unwrap().into()
    }

    #[test]
    fn replace_renames_over_a_file_or_links_a_free_name() {
        let (dir, directory, path) = setup("replace");
        let path = path.as_c_str();
        let first = make(&directory, path, 1, Publish::Replace);
        assert!(is_at(path, first), "linked where the name was free");
        assert_eq!(dir.files(), ["sem.n"], "and the temporary name removed");
        let second = make(&directory, path, 2, Publish::Replace);
        assert!(is_at(path, second));
        assert_eq!(dir.files(), ["sem.n"]);
    }

    #[test]
    fn a_lock_held_elsewhere_delays_by_a_bounded_time_then_the_plain_path() {
        let (dir, directory, path) = setup("held");
        let path = path.as_c_str();
        let max = Duration::from_nanos(LOCK_WAIT_MAX_NANOS);
        let limit = Duration::from_secs(20);
        let id = make(&directory, path, 1, Publish::Link);
        let holder = hold_lock(path);
        let start = Instant::now();
        unlink_if_ours(path, id);
        let took = start.elapsed();
        assert!(took >= max && took < limit, "{took:?}");
        assert!(dir.files().is_empty(), "removed by the plain path");
        drop(holder);

        make(&directory, path, 1, Publish::Link);
        let holder = hold_lock(path);
        let start = Instant::now();
        unlink(path).unwrap();
        let took = start.elapsed();
        assert!(took >= max && took < limit, "{took:?}");
        assert!(dir.files().is_empty());
        drop(holder);
    }

    #[test]
    fn a_lock_released_meanwhile_is_taken() {
        let (_dir, directory, path) = setup("poll");
        let path = path.as_c_str();
        make(&directory, path, 1, Publish::Link);
        let holder = hold_lock(path);
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let fd = fs::open(path, flags, Mode::empty()).unwrap();
        std::thread::scope(|s| {
            let taker = s.spawn(|| acquire(&fd));
            std::thread::sleep(Duration::from_millis(5));
            drop(holder);
            assert!(taker.join().unwrap(), "taken once released");
        });
        // Held by `fd` now: another description cannot have it.
        let other = fs::open(path, flags, Mode::empty()).unwrap();
        assert_eq!(
            fs::flock(&other, FlockOperation::NonBlockingLockExclusive),
            Err(Errno::WOULDBLOCK)
        );
        drop(fd);
        assert!(acquire(&other), "closing the descriptor unlocks");
    }

    #[test]
    fn the_lock_reports_what_is_at_the_name() {
        let (_dir, directory, path) = setup("check");
        let path = path.as_c_str();
        assert!(matches!(lock(path, None), Locked::Missing));
        let id = make(&directory, path, 1, Publish::Link);
        let other = FileId::new(id.dev(), id.ino() + 1);
        assert!(matches!(lock(path, None), Locked::Held(_)));
        assert!(matches!(lock(path, Some(id)), Locked::Held(_)));
        assert!(matches!(lock(path, Some(other)), Locked::Changed));
        let Locked::Held(held) = lock(path, None) else {
            panic!("not locked");
        };
        // The lock is held while `held` lives.
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        let other = fs::open(path, flags, Mode::empty()).unwrap();
        assert_eq!(
            fs::flock(&other, FlockOperation::NonBlockingLockExclusive),
            Err(Errno::WOULDBLOCK)
        );
        drop(held);
        assert_eq!(
            fs::flock(&other, FlockOperation::NonBlockingLockExclusive),
            Ok(())
        );
    }
}
