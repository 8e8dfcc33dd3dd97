//! [`unlink`] and [`unlink_in`]: removing a name, as `sem_unlink` does,
//! without a handle.

use crate::error::{Error, Operation};
use crate::file;
use crate::name::{CPath, Directory, Name};

/// Removes the semaphore `name` from `/dev/shm` (`sem_unlink`).
///
/// Processes that have it open keep using it; the name is free for a new one.
/// The file at the name is locked (`flock`) and checked to be still there
/// before it is unlinked, so that an owner's drop in progress never removes
/// a semaphore created after this unlink; a lock held elsewhere delays the
/// unlink by 100 ms at most (see [who owns the name](crate#who-owns-the-name)).
///
/// # Errors
///
/// [`ErrorKind::InvalidName`](crate::ErrorKind::InvalidName) for an invalid name, [`ErrorKind::NotFound`](crate::ErrorKind::NotFound)
/// if there is no such semaphore, [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied) if the
/// directory forbids it.
///
/// ```
/// use named_semaphores::{unlink, ErrorKind, NamedSemaphore};
/// # let name = format!("doc-unlink-{}", std::process::id());
///
/// let sem = NamedSemaphore::create(&name, 0)?;
/// unlink(&name)?;
/// assert_eq!(NamedSemaphore::open(&name).unwrap_err().kind(), ErrorKind::NotFound);
/// sem.release()?; // the handle still works
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn unlink(name: impl AsRef<[u8]>) -> Result<(), Error> {
    unlink_in(crate::name::DEFAULT_DIRECTORY, name)
}

/// [`unlink`] in another directory (see [`OpenOptions::directory`](crate::OpenOptions::directory)).
///
/// # Errors
///
/// As for [`unlink`], and [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an unusable
/// directory path.
pub fn unlink_in(directory: &str, name: impl AsRef<[u8]>) -> Result<(), Error> {
    unlink_bytes(directory, name.as_ref())
}

fn unlink_bytes(directory: &str, name: &[u8]) -> Result<(), Error> {
    let fail = |e: Error, name: &[u8]| e.on(Operation::Unlink, name);
    let parsed = Name::parse(name).map_err(|e| fail(e, name))?;
    let dir = Directory::parse(directory).map_err(|e| fail(e, parsed.as_bytes()))?;
    let path = CPath::semaphore(&dir, &parsed);
    file::unlink(path.as_c_str()).map_err(|e| fail(e, parsed.as_bytes()))
}
