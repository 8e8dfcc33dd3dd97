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

use crate::error::{Error, ErrorKind, Operation};
use crate::name::{CPath, Directory, Name, Quoted};
use crate::name::{DEFAULT_DIRECTORY, NAME_MAX};

mod info;
#[cfg(feature = "alloc")]
mod owned;

use info::inspect_file;
pub(crate) use info::read_exact_at;
pub use info::{FileKind, SemaphoreInfo, Status};
#[cfg(feature = "alloc")]
pub use owned::{list_all, list_all_in, OwnedEntry};

/// A comfortable size for the buffer given to [`list`]: room for several
/// directory entries of the longest name. Any buffer of at least 300 bytes
/// works (one entry must fit); a bigger one needs fewer system calls.
pub const LIST_BUFFER_LEN: usize = 4096;

/// The file-name prefix of semaphore files.
const PREFIX: &[u8] = b"sem.";

/// One `sem.*` file found by [`list`]: its name, borrowed from the
/// directory buffer, and what it holds.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry<'a> {
    /// The semaphore's name in its canonical form, `/NAME`, as
    /// [`NamedSemaphore::name`](crate::NamedSemaphore::name) gives it: the
    /// file `sem.NAME` gives `/NAME`. Not necessarily UTF-8.
    pub name: &'a [u8],
    /// What the file holds.
    pub info: SemaphoreInfo,
}

/// The name as text (bytes that are not UTF-8 as `\xNN`), and the info.
impl fmt::Debug for Entry<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("name", &Quoted(self.name))
            .field("info", &self.info)
            .finish()
    }
}

impl<'a> Entry<'a> {
    /// The name as a `&str` (`"/jobs"`), if it is UTF-8.
    ///
    /// ```
    /// use core::mem::MaybeUninit;
    /// use named_semaphores::{list_in, Existence, NamedSemaphore, LIST_BUFFER_LEN};
    /// # struct Guard(String);
    /// # impl Drop for Guard { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let guard = Guard(format!("/dev/shm/doc-entry-name-{}", std::process::id()));
    /// # std::fs::create_dir(&guard.0).unwrap();
    /// # let dir: &str = &guard.0;
    ///
    /// let mut options = NamedSemaphore::options();
    /// let _sem = options.directory(dir).existence(Existence::CreateNew).open("jobs")?;
    /// let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
    /// let mut listing = list_in(dir, &mut buf)?;
    /// let entry = listing.next().unwrap()?;
    /// assert_eq!(entry.name_str(), Some("/jobs"));
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn name_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.name).ok()
    }
}

/// The semaphores of a directory, one at a time, made by [`list`] or
/// [`list_in`].
///
/// **Not an [`Iterator`]: use `while let`, not `for`.** Its
/// [`next`](Listing::next) lends each [`Entry`] from the listing's own
/// storage, which the following call reuses, so an entry cannot outlive
/// the next call, and `Iterator` cannot express that. Write
///
/// ```
/// # use core::mem::MaybeUninit;
/// # use named_semaphores::{list, LIST_BUFFER_LEN};
/// # let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
/// let mut listing = list(&mut buf)?;
/// while let Some(entry) = listing.next() {
///     let entry = entry?;
///     // ... entry.name, entry.info ...
/// #   let _ = entry;
/// }
/// # Ok::<(), named_semaphores::Error>(())
/// ```
///
/// where `for entry in list(&mut buf)?` fails to compile ("`Listing<'_>`
/// is not an iterator"). To keep entries past the loop, copy them
/// ([`Entry::into_owned`], feature `alloc`), or take them all at once with
/// [`list_all`] (feature `alloc`).
///
/// ```compile_fail
/// # use core::mem::MaybeUninit;
/// # use named_semaphores::{list, LIST_BUFFER_LEN};
/// # let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
/// for entry in list(&mut buf)? {}
/// # Ok::<(), named_semaphores::Error>(())
/// ```
///
/// Entries come in directory order. A file removed while the listing runs
/// is left out; one created while it runs may or may not appear.
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
    ///
    /// # Examples
    ///
    /// ```
    /// use core::mem::MaybeUninit;
    /// use named_semaphores::{list_in, Existence, NamedSemaphore, LIST_BUFFER_LEN};
    /// # struct Guard(String);
    /// # impl Drop for Guard { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let guard = Guard(format!("/dev/shm/doc-listing-next-{}", std::process::id()));
    /// # std::fs::create_dir(&guard.0).unwrap();
    /// # let dir: &str = &guard.0;
    ///
    /// let mut options = NamedSemaphore::options();
    /// options.directory(dir).existence(Existence::CreateNew);
    /// let (_a, _b) = (options.open("a")?, options.open("b")?);
    ///
    /// let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
    /// let mut listing = list_in(dir, &mut buf)?;
    /// let mut names = Vec::new();
    /// while let Some(entry) = listing.next() {
    ///     names.push(entry?.name.to_vec()); // the entry borrows `buf`: copy what is kept
    /// }
    /// names.sort();
    /// assert_eq!(names, [b"/a", b"/b"]);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
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
                    )
                    .during(Operation::List)))
                }
                Err(e) => return Some(Err(Error::from_errno(e).during(Operation::List))),
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
                    // `sem.NAME` becomes the canonical `/NAME` in place.
                    let at = PREFIX.len() - 1;
                    self.file[at] = b'/';
                    let name = &self.file[at..self.len];
                    return Some(Ok(Entry { name, info }));
                }
                // Removed since the directory was read.
                Ok(None) => continue,
                Err(e) => return Some(Err(e.during(Operation::List))),
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
///     if entry.name == sem.name_bytes() {
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
///
/// # Examples
///
/// ```
/// use core::mem::MaybeUninit;
/// use named_semaphores::{list_in, Existence, NamedSemaphore, LIST_BUFFER_LEN};
/// # struct Guard(String);
/// # impl Drop for Guard { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
/// # let guard = Guard(format!("/dev/shm/doc-list-in-{}", std::process::id()));
/// # std::fs::create_dir(&guard.0).unwrap();
/// # let dir: &str = &guard.0;
///
/// let mut options = NamedSemaphore::options();
/// let _sem = options.directory(dir).initial_value(3).existence(Existence::CreateNew).open("jobs")?;
/// let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
/// let mut listing = list_in(dir, &mut buf)?;
/// let entry = listing.next().unwrap()?;
/// assert_eq!((entry.name, entry.info.value), (&b"/jobs"[..], Some(3)));
/// assert!(listing.next().is_none());
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn list_in<'buf>(
    directory: &str,
    buf: &'buf mut [MaybeUninit<u8>],
) -> Result<Listing<'buf>, Error> {
    open_listing(directory, buf).map_err(|e| e.during(Operation::List))
}

fn open_listing<'buf>(
    directory: &str,
    buf: &'buf mut [MaybeUninit<u8>],
) -> Result<Listing<'buf>, Error> {
    let dir = Directory::parse(directory)?;
    let path = CPath::directory(&dir);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = fs::openat(CWD, path.as_c_str(), flags, Mode::empty())
        .map_err(Error::from_directory_errno)?;
    let second = rio::dup(&fd).map_err(Error::from_errno)?;
    Ok(Listing {
        dir: RawDir::new(fd, buf),
        fd: second,
        file: [0; 256],
        len: 0,
    })
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
pub fn inspect(name: impl AsRef<[u8]>) -> Result<SemaphoreInfo, Error> {
    inspect_in(DEFAULT_DIRECTORY, name)
}

/// [`inspect`] in another directory.
///
/// # Errors
///
/// As for [`inspect`], and [`ErrorKind::InvalidArgument`] for an unusable
/// directory path.
///
/// # Examples
///
/// ```
/// use named_semaphores::{inspect_in, ErrorKind, Existence, NamedSemaphore};
/// # struct Guard(String);
/// # impl Drop for Guard { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
/// # let guard = Guard(format!("/dev/shm/doc-inspect-in-{}", std::process::id()));
/// # std::fs::create_dir(&guard.0).unwrap();
/// # let dir: &str = &guard.0;
///
/// let mut options = NamedSemaphore::options();
/// let _sem = options.directory(dir).initial_value(3).existence(Existence::CreateNew).open("jobs")?;
/// assert_eq!(inspect_in(dir, "jobs")?.value, Some(3));
/// assert_eq!(inspect_in(dir, "other").unwrap_err().kind(), ErrorKind::NotFound);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn inspect_in(directory: &str, name: impl AsRef<[u8]>) -> Result<SemaphoreInfo, Error> {
    let given = name.as_ref();
    let name = Name::parse(given).map_err(|e| e.on(Operation::Inspect, given))?;
    inspect_name(directory, &name).map_err(|e| e.on(Operation::Inspect, name.as_bytes()))
}

fn inspect_name(directory: &str, name: &Name) -> Result<SemaphoreInfo, Error> {
    let dir = Directory::parse(directory)?;
    let path = CPath::directory(&dir);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = fs::openat(CWD, path.as_c_str(), flags, Mode::empty())
        .map_err(Error::from_directory_errno)?;
    // `sem.NAME` and its NUL, on the stack; the name holds no NUL.
    let bare = &name.as_bytes()[1..];
    let mut buf = [0u8; PREFIX.len() + NAME_MAX + 1];
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    buf[PREFIX.len()..PREFIX.len() + bare.len()].copy_from_slice(bare);
    let file = CStr::from_bytes_until_nul(&buf)
        .map_err(|_| Error::new(ErrorKind::InvalidName, Errno::INVAL, "NUL byte in the name"))?;
    match inspect_file(fd.as_fd(), file, bare)? {
        Some(info) => Ok(info),
        None => Err(Error::from_errno(Errno::NOENT)),
    }
}

#[cfg(test)]
mod tests;
