//! The C library's way into the file layer (the `namedsem-capi` package in
//! `capi/`): hidden from the documentation and outside the crate's semver
//! promise, so that the C library keeps no copy of the checks and the
//! mapping of a semaphore file. Its `sem_open` looks a name's file up by its
//! identity before mapping it (as glibc does), so it maps from the
//! descriptor and `fstat` it already has ([`map_file`]); it keeps the bare
//! address of each mapping in its table ([`NamedSemaphore::into_raw_mapping`]
//! for a semaphore it created through the crate) and unmaps it with
//! [`unmap`].
//!
//! [`NamedSemaphore::into_raw_mapping`]: crate::NamedSemaphore::into_raw_mapping

#![allow(unsafe_code)]

use core::ptr::NonNull;

use rustix::fd::OwnedFd;
use rustix::fs::Stat;

use crate::error::Error;
use crate::file;
use crate::raw::RawSemaphore;

/// Checks that the file open at `fd` (whose `fstat` is `st`) is a semaphore
/// of this target, with the checks every open by the crate makes (a regular
/// file of `sizeof(sem_t)` bytes, or a robust semaphore's with a sound
/// record header, holding glibc's `private` value), and maps it shared,
/// read-write. Returns the address of its `sem_t`; the mapping is the
/// caller's, to end with [`unmap`].
///
/// # Errors
///
/// As the crate's open of an existing semaphore: `ENODEV` for a file that
/// is not a regular file, `EINVAL` ([`ErrorKind::InvalidObject`]) for one
/// that is not a semaphore, [`ErrorKind::CorruptRecord`] for a robust
/// semaphore's record header that is not sound; what `pread` or `mmap`
/// report.
///
/// [`ErrorKind::InvalidObject`]: crate::ErrorKind::InvalidObject
/// [`ErrorKind::CorruptRecord`]: crate::ErrorKind::CorruptRecord
pub fn map_file(fd: &OwnedFd, st: &Stat) -> Result<NonNull<RawSemaphore>, Error> {
    Ok(file::map_with_stat(fd, st, true)?.into_raw())
}

/// Unmaps a semaphore mapped by [`map_file`] or handed over by
/// [`NamedSemaphore::into_raw_mapping`](crate::NamedSemaphore::into_raw_mapping).
///
/// # Safety
///
/// `sem` came from one of those, is not unmapped yet, and nothing uses it
/// after this call.
pub unsafe fn unmap(sem: NonNull<RawSemaphore>) {
    // SAFETY: forwarded from the caller.
    unsafe { file::unmap_raw(sem) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::named::NamedSemaphore;
    use crate::options::Existence;
    use crate::test_dir::TestDir;
    use rustix::fs::{self, Mode, OFlags};

    fn open_file(dir: &TestDir, name: &str) -> (OwnedFd, Stat) {
        let path = std::format!("{}/sem.{name}", dir.0);
        let fd = fs::open(path.as_str(), OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).unwrap();
        let st = fs::fstat(&fd).unwrap();
        (fd, st)
    }

    #[test]
    fn maps_a_semaphore_and_refuses_other_files() {
        let dir = TestDir::new("c-library-map");
        let sem = NamedSemaphore::options()
            .directory(&dir.0)
            .initial_value(3)
            .existence(Existence::CreateNew)
            .open("plain")
            .unwrap();
        let (fd, st) = open_file(&dir, "plain");
        let mapped = map_file(&fd, &st).unwrap();
        // SAFETY: a live mapping of the semaphore, unmapped below.
        let raw = unsafe { mapped.as_ref() };
        raw.try_acquire().unwrap().expect("a token").forget();
        assert_eq!(sem.value(), 2, "the same semaphore");
        // SAFETY: `raw` is not used after this.
        unsafe { unmap(mapped) };

        std::fs::write(std::format!("{}/sem.short", dir.0), [0u8; 7]).unwrap();
        let (fd, st) = open_file(&dir, "short");
        let err = map_file(&fd, &st).unwrap_err();
        assert_eq!(
            (err.kind(), err.raw_os_error()),
            (ErrorKind::InvalidObject, 22)
        );
    }

    /// A robust handle given up to the C library leaves the record (its
    /// tokens given back) and keeps its mapping; a robust file maps too.
    #[cfg(target_has_atomic = "64")]
    #[test]
    fn robust_files_and_handles() {
        let dir = TestDir::new("c-library-robust");
        let open = || {
            NamedSemaphore::options()
                .directory(&dir.0)
                .robust(true)
                .initial_value(2)
                .existence(Existence::OpenOrCreate)
                .unlink_on_drop(false)
                .open("r")
        };
        let a = open().unwrap();
        let b = open().unwrap();
        core::mem::forget(b.acquire().unwrap()); // held and recorded by `b`
        assert_eq!(a.value(), 1);
        let (mapped, id) = b.into_raw_mapping();
        assert_eq!(id, a.file_id());
        assert_eq!(a.value(), 2, "the handle's token was given back");
        assert_eq!(a.holders().unwrap().count(), 1, "its slot is free");
        // SAFETY: the mapping `into_raw_mapping` handed over, not used after.
        unsafe {
            assert_eq!(mapped.as_ref().value(), 2);
            unmap(mapped);
        }
        let (fd, st) = open_file(&dir, "r");
        let mapped = map_file(&fd, &st).unwrap();
        // SAFETY: a live mapping, not used after `unmap`.
        unsafe {
            assert_eq!(mapped.as_ref().value(), 2);
            unmap(mapped);
        }
    }
}
