//! The drop's unlink: remove a semaphore's name only if it still refers to
//! the file the handle has open, though Linux has no call that does exactly
//! that (see [`unlink_if_ours`]).

use core::ffi::CStr;

use rustix::fs;
use rustix::io::Errno;

use super::{temp_suffix, TEMP_ATTEMPTS};
use crate::name::{CPath, Directory};
use crate::FileId;

/// Removes the name `path` if, and only if, it refers to the file `id`: what
/// a handle's drop does. Never fails: a name that is gone, or is not ours, or
/// that we may not remove, is left as it is.
///
/// Linux has no "unlink if this inode" call, and `lstat` then `unlink` would
/// remove a semaphore that another process published at the name in between
/// (`Existence::UnlinkAndCreate`'s `rename`, glibc's `sem_unlink` followed by
/// `sem_open(O_CREAT | O_EXCL)`). Instead:
///
/// 1. `lstat` the name; if it is not ours, stop (the cheap, common check).
///    If it is missing, look again after yielding the processor twice: a
///    dropper that lost the race of steps 1-2 may have our file aside for a
///    moment (see below), and will put it back.
/// 2. Move whatever is at the name aside, atomically, to a fresh temporary
///    name `sem.XXXXXX` in the same directory (`renameat2(...,
///    RENAME_NOREPLACE)`; where that call is missing or refused, a plain
///    `rename` to a temporary name checked free first).
/// 3. If the file moved aside is ours, unlink it there: done.
/// 4. Otherwise a newcomer replaced ours between 1 and 2: put its file back
///    without replacing anything (`RENAME_NOREPLACE`, or `link`). If the
///    name was taken again meanwhile (`EEXIST`), the file moved aside is
///    unlinked: the outcome is that of the latest creator having replaced
///    it, which it could have done anyway. If putting back fails for any
///    other reason, it is tried again, and in the end the file is left
///    under its temporary name rather than destroyed.
///
/// Every outcome is that of some serial order of the processes' own
/// operations, except inside one window: between steps 2 and 4, and only
/// after losing the race of steps 1-2, the newcomer's semaphore is absent
/// from the name. That lasts two system calls (microseconds) unless the
/// dropping thread is preempted, stopped or killed there. Inside it, an
/// `open` of the name fails with `NotFound`; a `create` succeeds with a new
/// semaphore, after which step 4 leaves the newcomer's semaphore without a
/// name, as a replacement would; an `unlink` (this crate's, after the retry
/// of step 1, or glibc's `sem_unlink`) finds nothing and is undone by step
/// 4. A process killed inside the window, or between steps 2 and 3, leaves
/// a file under a `sem.XXXXXX` name, as a glibc process killed while
/// creating leaves its temporary file (listings mark such names as
/// temporary).
pub(crate) fn unlink_if_ours(dir: &Directory, path: &CStr, id: FileId) {
    for retry in 0..=MISSING_RETRIES {
        match fs::lstat(path) {
            Ok(st) if FileId::of(&st) == id => return unlink_moved_if_ours(dir, path, id),
            Err(Errno::NOENT) if retry < MISSING_RETRIES => rustix::thread::sched_yield(),
            _ => return,
        }
    }
}

/// How often [`unlink_if_ours`] looks again for a name it finds missing.
const MISSING_RETRIES: u32 = 2;

/// How often step 4 of [`unlink_if_ours`] tries to put a file back.
const PUT_BACK_ATTEMPTS: u32 = 3;

/// Steps 2 to 4 of [`unlink_if_ours`].
fn unlink_moved_if_ours(dir: &Directory, path: &CStr, id: FileId) {
    let Some(aside) = move_aside(dir, path) else {
        return;
    };
    let aside = aside.as_c_str();
    if is_at(aside, id) {
        let _ = fs::unlink(aside);
        return;
    }
    for _ in 0..PUT_BACK_ATTEMPTS {
        match put_back(aside, path) {
            Ok(()) => return,
            // Taken again meanwhile: as if the newcomer had replaced it.
            Err(Errno::EXIST) => {
                let _ = fs::unlink(aside);
                return;
            }
            // Anything else (ENOMEM, an interrupted call) may pass: try
            // again, and in the end leave the file aside, not destroyed.
            Err(_) => {}
        }
    }
}

/// Whether `path` names the file `id` (without following a symbolic link).
pub(super) fn is_at(path: &CStr, id: FileId) -> bool {
    fs::lstat(path).is_ok_and(|st| FileId::of(&st) == id)
}

/// Step 2 of [`unlink_if_ours`]: renames `path` to a new temporary name.
/// `None` if the name is gone or cannot be renamed.
fn move_aside(dir: &Directory, path: &CStr) -> Option<CPath> {
    for attempt in 0..TEMP_ATTEMPTS {
        let aside = CPath::temporary(dir, &temp_suffix(attempt));
        let moved = match rename_noreplace(path, aside.as_c_str()) {
            // No RENAME_NOREPLACE (Linux < 3.15, a file system without it),
            // or renameat2 refused (a system-call filter says EPERM or
            // ENOSYS): a plain rename to a fresh random name, checked free
            // first. (A sticky directory refusing us says EPERM to both.)
            Err(Errno::INVAL | Errno::NOSYS | Errno::PERM) => match fs::lstat(aside.as_c_str()) {
                Err(Errno::NOENT) => fs::rename(path, aside.as_c_str()),
                _ => Err(Errno::EXIST),
            },
            other => other,
        };
        match moved {
            Ok(()) => return Some(aside),
            Err(Errno::EXIST) => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Step 4 of [`unlink_if_ours`]: renames `aside` back to `path` unless the
/// name was taken meanwhile (`EEXIST`).
fn put_back(aside: &CStr, path: &CStr) -> Result<(), Errno> {
    match rename_noreplace(aside, path) {
        // No RENAME_NOREPLACE, or refused: `link` never replaces a name
        // either; then the temporary name goes.
        Err(Errno::INVAL | Errno::NOSYS | Errno::PERM) => {
            fs::link(aside, path)?;
            let _ = fs::unlink(aside);
            Ok(())
        }
        other => other,
    }
}

fn rename_noreplace(from: &CStr, to: &CStr) -> Result<(), Errno> {
    fs::renameat_with(fs::CWD, from, fs::CWD, to, fs::RenameFlags::NOREPLACE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{create, unlink, Publish};
    use crate::name::Name;
    use crate::test_dir::TestDir;
    use rustix::fs::Mode;

    #[test]
    fn a_drop_removes_only_its_own_file() {
        let dir = TestDir::new("own");
        let directory = Directory::parse(&dir.0).unwrap();
        let path = CPath::semaphore(&directory, &Name::parse(b"o").unwrap());
        let path = path.as_c_str();
        let mode = Mode::from_raw_mode(0o600);
        let old = create(&directory, path, 1, mode, Publish::Link, false).unwrap();
        let new = create(&directory, path, 2, mode, Publish::Replace, false).unwrap();

        // The cheap check: the name is not the old file's.
        unlink_if_ours(&directory, path, old.id());
        assert!(is_at(path, new.id()));
        // Lost the race between the check and the move: put back, nothing left.
        unlink_moved_if_ours(&directory, path, old.id());
        assert!(is_at(path, new.id()), "the newcomer keeps its name");
        assert_eq!(dir.files(), ["sem.o"]);
        // Its own file goes, with no temporary left.
        unlink_if_ours(&directory, path, new.id());
        assert!(dir.files().is_empty(), "{:?}", dir.files());
        // A name that is gone is left gone.
        unlink_moved_if_ours(&directory, path, new.id());
        assert!(dir.files().is_empty(), "{:?}", dir.files());
    }

    #[test]
    fn put_back_never_replaces_a_name() {
        let dir = TestDir::new("back");
        let directory = Directory::parse(&dir.0).unwrap();
        let mode = Mode::from_raw_mode(0o600);
        let path = CPath::semaphore(&directory, &Name::parse(b"p").unwrap());
        let aside = CPath::semaphore(&directory, &Name::parse(b"aside").unwrap());
        let taken = create(&directory, path.as_c_str(), 1, mode, Publish::Link, false).unwrap();
        let moved = create(&directory, aside.as_c_str(), 2, mode, Publish::Link, false).unwrap();
        assert_eq!(
            put_back(aside.as_c_str(), path.as_c_str()),
            Err(Errno::EXIST)
        );
        assert!(is_at(path.as_c_str(), taken.id()));
        assert!(is_at(aside.as_c_str(), moved.id()));
        unlink(path.as_c_str()).unwrap();
        assert_eq!(put_back(aside.as_c_str(), path.as_c_str()), Ok(()));
        assert!(is_at(path.as_c_str(), moved.id()));
        assert_eq!(dir.files(), ["sem.p"]);
    }
}
