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

use crate::file;
use crate::{Error, RawSemaphore};

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
