//! Listing the named semaphores in a directory: what `ls /dev/shm` shows,
//! decoded.
//!
//! Every `sem.*` file is reported, valid or not: a file of the wrong size or
//! type is an entry with a [`Status`] saying so, never skipped, and a name
//! that is not UTF-8 is given as its bytes. This file holds the directory
//! walk ([`list`], [`Listing`]) and the look-up of one name ([`inspect`]);
//! `list/info.rs` decodes what each file holds.

use core::ffi::CStr;
use core::fmt;
use core::mem::MaybeUninit;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{self, Mode, OFlags, RawDir, CWD};
use rustix::io::{self as rio, Errno};

use crate::name::{CPath, Directory, Name};
use crate::{Error, ErrorKind, DEFAULT_DIRECTORY, NAME_MAX};

mod info;

use info::inspect_file;
pub use info::{FileKind, SemaphoreInfo, Status};

/// A comfortable size for the buffer given to [`list`]: room for several
/// directory entries of the longest name. Any buffer of at least 300 bytes
/// works (one entry must fit); a bigger one needs fewer system calls.
pub const LIST_BUFFER_LEN: usize = 4096;

/// The file-name prefix of semaphore files.
const PREFIX: &[u8] = b"sem.";

/// One `sem.*` file found by [`list`]: its name, borrowed from the
/// directory buffer, and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry<'a> {
    /// The semaphore's name: the file name without its `sem.` prefix and
    /// without a leading slash. Not necessarily UTF-8.
    pub name: &'a [u8],
    /// What the file holds.
    pub info: SemaphoreInfo,
}

impl<'a> Entry<'a> {
    /// The name as a `&str`, if it is UTF-8.
    #[must_use]
    pub fn name_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.name).ok()
    }

    /// An owning copy of the entry, which outlives the listing's buffer.
    ///
    /// (Not `to_owned`: `Entry` is `Clone`, so `entry.to_owned()` is the
    /// standard library's `ToOwned` and gives an `Entry`, with or without
    /// this crate's `alloc` feature.)
    ///
    /// ```
    /// use named_semaphores::{list, NamedSemaphore, OwnedEntry, LIST_BUFFER_LEN};
    /// # let name = format!("doc-into-owned-{}", std::process::id());
    ///
    /// let _sem = NamedSemaphore::create(&name, 1)?;
    /// let mut kept: Vec<OwnedEntry> = Vec::new();
    /// {
    ///     let mut buf = [core::mem::MaybeUninit::uninit(); LIST_BUFFER_LEN];
    ///     let mut listing = list(&mut buf)?;
    ///     while let Some(entry) = listing.next() {
    ///         kept.push(entry?.into_owned());
    ///     }
    /// } // the buffer is gone; the owned entries remain
    /// assert!(kept.iter().any(|e| e.name == name.as_bytes()));
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
    #[must_use]
    pub fn into_owned(self) -> OwnedEntry {
        OwnedEntry {
            name: self.name.into(),
            info: self.info,
        }
    }
}

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl From<Entry<'_>> for OwnedEntry {
    fn from(entry: Entry<'_>) -> Self {
        entry.into_owned()
    }
}

/// An [`Entry`] that owns its name, as returned by [`list_all`].
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnedEntry {
    /// The semaphore's name, without the `sem.` prefix or a leading slash.
    /// Not necessarily UTF-8.
    pub name: alloc::vec::Vec<u8>,
    /// What the file holds.
    pub info: SemaphoreInfo,
}

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl OwnedEntry {
    /// The name as a `&str`, if it is UTF-8.
    #[must_use]
    pub fn name_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.name).ok()
    }
}

/// An iterator over the semaphores of a directory, made by [`list`] or
/// [`list_in`].
///
/// Its [`next`](Listing::next) lends each [`Entry`] from the caller's buffer,
/// so it is not an [`Iterator`]: use `while let`. Entries come in directory
/// order. A file removed while the listing runs is left out; one created
/// while it runs may or may not appear.
pub struct Listing<'buf> {
    dir: RawDir<'buf, OwnedFd>,
    /// A second descriptor of the directory for `statat`/`openat`: the
    /// first one belongs to `dir`.
    fd: OwnedFd,
    /// The current entry's file name and its NUL (a file name is at most
    /// 255 bytes on Linux).
    file: [u8; 256],
    len: usize,
}

impl fmt::Debug for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listing").finish_non_exhaustive()
    }
}

impl Listing<'_> {
    /// The next semaphore file, or `None` at the end of the directory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the buffer is too small for the next
    /// directory entry (see [`LIST_BUFFER_LEN`]); [`ErrorKind::Os`] or
    /// [`ErrorKind::PermissionDenied`] if reading the directory or a file's
    /// metadata fails. A file that cannot be opened for its value is not an
    /// error: its entry has [`Status::Unreadable`].
    #[allow(clippy::should_implement_trait)] // a lending iterator
    pub fn next(&mut self) -> Option<Result<Entry<'_>, Error>> {
        loop {
            let entry = match self.dir.next()? {
                Ok(entry) => entry,
                Err(Errno::INVAL) => {
                    return Some(Err(Error::new(
                        ErrorKind::InvalidArgument,
                        Errno::INVAL,
                        "directory buffer too small",
                    )))
                }
                Err(e) => return Some(Err(e.into())),
            };
            let file = entry.file_name().to_bytes_with_nul();
            if !file.starts_with(PREFIX) || file.len() > self.file.len() {
                continue;
            }
            // The entry borrows the directory reader; keep the name here.
            self.file[..file.len()].copy_from_slice(file);
            self.len = file.len() - 1;
            let Ok(file) = CStr::from_bytes_with_nul(&self.file[..=self.len]) else {
                continue; // unreachable: a directory entry holds one NUL
            };
            match inspect_file(self.fd.as_fd(), file, &file.to_bytes()[PREFIX.len()..]) {
                Ok(Some(info)) => {
                    let name = &self.file[PREFIX.len()..self.len];
                    return Some(Ok(Entry { name, info }));
                }
                // Removed since the directory was read.
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Lists the semaphores in `/dev/shm`, using `buf` for directory entries.
///
/// No allocation: the entries borrow their names from `buf`. See
/// [`list_all`] for an owning version.
///
/// # Errors
///
/// [`ErrorKind::NotFound`] or [`ErrorKind::PermissionDenied`] if the
/// directory cannot be opened; [`ErrorKind::Os`] for other failures.
///
/// # Examples
///
/// ```
/// use core::mem::MaybeUninit;
/// use named_semaphores::{list, NamedSemaphore, LIST_BUFFER_LEN};
/// # let name = format!("doc-list-{}", std::process::id());
///
/// let sem = NamedSemaphore::create(&name, 2)?;
/// let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
/// let mut listing = list(&mut buf)?;
/// let mut found = false;
/// while let Some(entry) = listing.next() {
///     let entry = entry?;
///     if entry.name == name.as_bytes() {
///         assert_eq!(entry.info.value, Some(2));
///         assert!(entry.info.status.is_valid());
///         found = true;
///     }
/// }
/// assert!(found);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn list(buf: &mut [MaybeUninit<u8>]) -> Result<Listing<'_>, Error> {
    list_in(DEFAULT_DIRECTORY, buf)
}

/// [`list`] in another directory.
///
/// # Errors
///
/// As for [`list`], and [`ErrorKind::InvalidArgument`] for an unusable
/// directory path.
pub fn list_in<'buf>(
    directory: &str,
    buf: &'buf mut [MaybeUninit<u8>],
) -> Result<Listing<'buf>, Error> {
    let dir = Directory::parse(directory)?;
    let path = CPath::directory(&dir);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = fs::openat(CWD, path.as_c_str(), flags, Mode::empty()).map_err(directory_error)?;
    let second = rio::dup(&fd)?;
    Ok(Listing {
        dir: RawDir::new(fd, buf),
        fd: second,
        file: [0; 256],
        len: 0,
    })
}

/// Every semaphore in `/dev/shm`, with owned names.
///
/// # Errors
///
/// As for [`list`].
///
/// ```
/// use named_semaphores::{list_all, NamedSemaphore};
/// # let name = format!("doc-list-all-{}", std::process::id());
///
/// let _sem = NamedSemaphore::create(&name, 1)?;
/// let all = list_all()?;
/// assert!(all.iter().any(|e| e.name_str() == Some(&name)));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub fn list_all() -> Result<alloc::vec::Vec<OwnedEntry>, Error> {
    list_all_in(DEFAULT_DIRECTORY)
}

/// [`list_all`] in another directory.
///
/// # Errors
///
/// As for [`list_in`].
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub fn list_all_in(directory: &str) -> Result<alloc::vec::Vec<OwnedEntry>, Error> {
    let mut buf = alloc::vec::Vec::with_capacity(LIST_BUFFER_LEN);
    let mut listing = list_in(directory, buf.spare_capacity_mut())?;
    let mut out = alloc::vec::Vec::new();
    while let Some(entry) = listing.next() {
        out.push(entry?.into_owned());
    }
    Ok(out)
}

/// What the file of the semaphore `name` in `/dev/shm` holds, valid or not.
///
/// # Errors
///
/// [`ErrorKind::InvalidName`] for an invalid name, [`ErrorKind::NotFound`]
/// if there is no file at the name; [`ErrorKind::PermissionDenied`] or
/// [`ErrorKind::Os`] if its metadata cannot be read. A file that exists but
/// is not a valid semaphore is not an error: see [`SemaphoreInfo::status`].
///
/// ```
/// use named_semaphores::{inspect, NamedSemaphore, Status};
/// # let name = format!("doc-inspect-{}", std::process::id());
///
/// let _sem = NamedSemaphore::create(&name, 4)?;
/// let info = inspect(&name)?;
/// assert_eq!((info.value, info.status), (Some(4), Status::Valid));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn inspect(name: &str) -> Result<SemaphoreInfo, Error> {
    inspect_in(DEFAULT_DIRECTORY, name)
}

/// [`inspect`] in another directory.
///
/// # Errors
///
/// As for [`inspect`], and [`ErrorKind::InvalidArgument`] for an unusable
/// directory path.
pub fn inspect_in(directory: &str, name: &str) -> Result<SemaphoreInfo, Error> {
    let name = Name::parse(name)?;
    let dir = Directory::parse(directory)?;
    let path = CPath::directory(&dir);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = fs::openat(CWD, path.as_c_str(), flags, Mode::empty()).map_err(directory_error)?;
    // `sem.NAME` and its NUL, on the stack; the name holds no NUL.
    let bare = &name.as_str().as_bytes()[1..];
    let mut buf = [0u8; PREFIX.len() + NAME_MAX + 1];
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    buf[PREFIX.len()..PREFIX.len() + bare.len()].copy_from_slice(bare);
    let file = CStr::from_bytes_until_nul(&buf)
        .map_err(|_| Error::new(ErrorKind::InvalidName, Errno::INVAL, "NUL byte in the name"))?;
    match inspect_file(fd.as_fd(), file, bare)? {
        Some(info) => Ok(info),
        None => Err(Errno::NOENT.into()),
    }
}

fn directory_error(errno: Errno) -> Error {
    match errno {
        Errno::NOENT => Error::new(ErrorKind::NotFound, errno, "no such directory"),
        Errno::NOTDIR => Error::new(ErrorKind::InvalidArgument, errno, "not a directory"),
        e => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RawSemaphore;

    #[test]
    fn lists_every_semaphore_file_and_only_those() {
        let dir = crate::test_dir::TestDir::new("every");
        let sem = crate::NamedSemaphore::options()
            .directory(&dir.0)
            .initial_value(4)
            .existence(crate::Existence::CreateNew)
            .open("one")
            .unwrap();
        assert!(sem.try_acquire().unwrap());
        std::fs::write(std::format!("{}/sem.two", dir.0), [0u8; 3]).unwrap();
        std::fs::write(std::format!("{}/other", dir.0), [0u8; 32]).unwrap();
        std::fs::create_dir(std::format!("{}/sem.three", dir.0)).unwrap();

        let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
        let mut listing = list_in(&dir.0, &mut buf).unwrap();
        let mut seen = std::vec::Vec::new();
        while let Some(entry) = listing.next() {
            let entry = entry.unwrap();
            seen.push((entry.name.to_vec(), entry.info));
        }
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        let names: std::vec::Vec<&[u8]> = seen.iter().map(|(n, _)| &n[..]).collect();
        assert_eq!(names, [&b"one"[..], b"three", b"two"]);
        let one = seen[0].1;
        assert_eq!(
            (one.value, one.waiters, one.status),
            (Some(3), Some(0), Status::Valid)
        );
        assert_eq!(
            (one.kind, one.size, one.links),
            (FileKind::Regular, RawSemaphore::SIZE as u64, 1)
        );
        assert_eq!(one.mode, 0o600 & one.mode);
        assert_eq!(one.file_id, sem.file_id());
        let three = seen[1].1;
        assert_eq!(
            (three.kind, three.status, three.value),
            (FileKind::Directory, Status::NotRegularFile, None)
        );
        let two = seen[2].1;
        assert_eq!(
            (two.size, two.status, two.value),
            (3, Status::WrongSize, None)
        );
        assert!(!two.temporary, "a three-letter name is not a temporary one");

        assert_eq!(inspect_in(&dir.0, "/one").unwrap(), one);
        assert_eq!(inspect_in(&dir.0, "two").unwrap().status, Status::WrongSize);
    }

    #[test]
    fn listing_errors() {
        let mut tiny = [MaybeUninit::uninit(); 16];
        let mut listing = list_in("/dev/shm", &mut tiny).unwrap();
        let err = listing.next().unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);

        let mut buf = [MaybeUninit::uninit(); 512];
        let err = list_in("/dev/shm/surely/not/here", &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = list_in("", &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);

        let err = inspect("surely-nobody-made-this-one").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(inspect("a/b").unwrap_err().kind(), ErrorKind::InvalidName);
    }
}
