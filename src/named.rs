//! [`NamedSemaphore`], its [`OpenOptions`] and [`Existence`] policy.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

use rustix::fs::Mode;

use crate::file::{self, Mapping, Publish};
use crate::name::{CPath, Directory, Name};
use crate::{Error, ErrorKind, Permit, RawSemaphore, VALUE_MAX};

/// What to do about a semaphore that does or does not exist yet.
///
/// The four policies of Python's `named_semaphores` package, under
/// Rust names:
///
/// | `Existence`        | Python                | C (`sem_open` flags)  |
/// |--------------------|-----------------------|-----------------------|
/// | `CreateNew`        | `RAISE_IF_EXISTS`     | `O_CREAT \| O_EXCL`   |
/// | `OpenOrCreate`     | `LINK_OR_CREATE`      | `O_CREAT`             |
/// | `OpenExisting`     | `RAISE_IF_NOT_EXISTS` | `0`                   |
/// | `UnlinkAndCreate`  | `UNLINK_AND_CREATE`   | `sem_unlink` + `O_CREAT \| O_EXCL` |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Existence {
    /// Create a new semaphore; fail with [`ErrorKind::AlreadyExists`] if the
    /// name exists. Never touches an existing semaphore.
    CreateNew,
    /// Open the semaphore if it exists, otherwise create it. When two
    /// processes race to create, one creates and the other opens the
    /// winner's semaphore; the initial value is ignored when opening.
    OpenOrCreate,
    /// Open an existing semaphore; fail with [`ErrorKind::NotFound`] if there
    /// is none. The default.
    #[default]
    OpenExisting,
    /// Replace whatever semaphore has the name with a new one. Processes that
    /// already have the old one open keep using it, detached from the name.
    ///
    /// The new file replaces the old name atomically (`rename`), so there is
    /// no moment when the name is missing; if several processes do this at
    /// once, each gets a new semaphore and the last one keeps the name.
    UnlinkAndCreate,
}

/// Options for opening or creating a [`NamedSemaphore`], in the manner of
/// [`std::fs::OpenOptions`](https://doc.rust-lang.org/std/fs/struct.OpenOptions.html).
///
/// Made by [`NamedSemaphore::options`].
///
/// ```
/// use named_semaphores::{Existence, NamedSemaphore};
/// # let name = format!("doc-options-{}", std::process::id());
///
/// let sem = NamedSemaphore::options()
///     .initial_value(3)
///     .existence(Existence::UnlinkAndCreate)
///     .mode(0o600)
///     .open(&name)?;
/// assert!(sem.created());
/// assert_eq!(sem.value(), 3);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions<'a> {
    value: u32,
    existence: Existence,
    mode: u32,
    unlink_on_drop: Option<bool>,
    directory: Option<&'a str>,
}

impl Default for OpenOptions<'_> {
    fn default() -> Self {
        OpenOptions {
            value: 1,
            existence: Existence::OpenExisting,
            mode: 0o600,
            unlink_on_drop: None,
            directory: None,
        }
    }
}

impl<'a> OpenOptions<'a> {
    /// The default options: open an existing semaphore; if creating, value 1
    /// and mode `0o600`; unlink on drop if this handle created it.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value a newly created semaphore starts with (default 1). Ignored
    /// when an existing semaphore is opened. At most [`VALUE_MAX`].
    pub fn initial_value(&mut self, value: u32) -> &mut Self {
        self.value = value;
        self
    }

    /// What to do if the semaphore exists or does not (default
    /// [`Existence::OpenExisting`]).
    pub fn existence(&mut self, existence: Existence) -> &mut Self {
        self.existence = existence;
        self
    }

    /// Permission bits of a newly created semaphore file (default `0o600`).
    /// The process umask applies, as for `open(2)`. A process needs read and
    /// write permission to open a semaphore.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode & 0o7777;
        self
    }

    /// Whether dropping the handle unlinks the name. By default, it does if
    /// and only if this handle created the semaphore.
    pub fn unlink_on_drop(&mut self, unlink: bool) -> &mut Self {
        self.unlink_on_drop = Some(unlink);
        self
    }

    /// The directory the semaphore file lives in (default `/dev/shm`, where
    /// glibc looks). Only glibc programs built to look elsewhere will see
    /// semaphores in another directory; use this on systems that mount their
    /// tmpfs elsewhere. A directory other than the default must exist and be a
    /// tmpfs or ramfs.
    pub fn directory(&mut self, directory: &'a str) -> &mut Self {
        self.directory = Some(directory);
        self
    }

    /// Opens or creates the semaphore `name` with these options.
    ///
    /// `name` is mapped as glibc maps it: leading slashes are ignored, and the
    /// rest must be 1 to [`NAME_MAX`](crate::NAME_MAX) bytes with no `/` or
    /// NUL. `"jobs"`, `"/jobs"` and `"//jobs"` are the same semaphore.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidName`]: the name is not valid; nothing was created.
    /// - [`ErrorKind::InvalidArgument`]: the initial value is above
    ///   [`VALUE_MAX`] (when the semaphore may be created), or the directory is
    ///   unusable.
    /// - [`ErrorKind::AlreadyExists`]: [`Existence::CreateNew`] and the name exists.
    /// - [`ErrorKind::NotFound`]: [`Existence::OpenExisting`] and it does not.
    /// - [`ErrorKind::PermissionDenied`]: the file or directory permissions.
    /// - [`ErrorKind::InvalidObject`]: the file at the name is not a semaphore
    ///   for this target (a symbolic link, directory, FIFO, wrong size, bad
    ///   header).
    /// - [`ErrorKind::Os`]: anything else (out of memory, no space in the tmpfs).
    pub fn open(&self, name: &str) -> Result<NamedSemaphore, Error> {
        let name = Name::parse(name)?;
        let dir = match self.directory {
            Some(d) => {
                let dir = Directory::parse(d)?;
                if !dir.is_default() {
                    file::check_directory(&dir)?;
                }
                dir
            }
            None => Directory::default(),
        };
        if self.existence != Existence::OpenExisting && self.value > VALUE_MAX {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                rustix::io::Errno::INVAL,
                "initial value above VALUE_MAX",
            ));
        }
        let path = CPath::semaphore(&dir, &name);
        let path = path.as_c_str();
        let mode = Mode::from_raw_mode(self.mode);
        let create = |publish| file::create(&dir, path, self.value, mode, publish);
        let (map, created) = match self.existence {
            Existence::OpenExisting => (file::open(path)?, false),
            Existence::CreateNew => (create(Publish::Link)?, true),
            Existence::UnlinkAndCreate => (create(Publish::Replace)?, true),
            Existence::OpenOrCreate => loop {
                match file::open(path) {
                    Ok(map) => break (map, false),
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                match create(Publish::Link) {
                    Ok(map) => break (map, true),
                    // Lost the race to another creator: open theirs.
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            },
        };
        Ok(NamedSemaphore {
            map,
            name,
            dir,
            created,
            unlink_on_drop: AtomicBool::new(self.unlink_on_drop.unwrap_or(created)),
        })
    }
}

/// A POSIX named semaphore, shared with every process that opens the same
/// name, glibc's `sem_open` users included.
///
/// The semaphore is the file `/dev/shm/sem.NAME`, mapped into this process;
/// the handle holds no file descriptor. Dropping the handle unmaps it, and
/// unlinks the name if the handle was set to (by default: if it created the
/// semaphore), provided the name still refers to this semaphore.
///
/// `NamedSemaphore` is `Send` and `Sync`: share it between threads by
/// reference or in an `Arc`.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use named_semaphores::NamedSemaphore;
/// # let name = format!("doc-named-{}", std::process::id());
///
/// let sem = NamedSemaphore::create(&name, 2)?;
/// {
///     let _permit = sem.access()?;          // like Python's `with sem:`
///     assert_eq!(sem.value(), 1);
/// }
/// assert!(sem.try_acquire()?);
/// assert!(sem.acquire_timeout(Duration::from_millis(10))?);
/// assert!(!sem.try_acquire()?);
/// sem.release_n(2)?;
/// assert_eq!(sem.value(), 2);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub struct NamedSemaphore {
    map: Mapping,
    name: Name,
    dir: Directory,
    created: bool,
    unlink_on_drop: AtomicBool,
}

impl NamedSemaphore {
    /// Creates a new semaphore with `value` tokens; fails if the name exists.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`] if the name exists; otherwise as for
    /// [`OpenOptions::open`].
    pub fn create(name: &str, value: u32) -> Result<Self, Error> {
        Self::options()
            .initial_value(value)
            .existence(Existence::CreateNew)
            .open(name)
    }

    /// Opens an existing semaphore.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] if there is none; otherwise as for
    /// [`OpenOptions::open`].
    ///
    /// ```
    /// use named_semaphores::{ErrorKind, NamedSemaphore};
    ///
    /// let err = NamedSemaphore::open("surely-nobody-made-this-one").unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// ```
    pub fn open(name: &str) -> Result<Self, Error> {
        Self::options().open(name)
    }

    /// Opens the semaphore, creating it with `value` tokens if it does not
    /// exist. `value` is ignored when it exists; [`created`](Self::created)
    /// tells which happened.
    ///
    /// # Errors
    ///
    /// As for [`OpenOptions::open`].
    pub fn open_or_create(name: &str, value: u32) -> Result<Self, Error> {
        Self::options()
            .initial_value(value)
            .existence(Existence::OpenOrCreate)
            .open(name)
    }

    /// Options for everything else: mode, directory, unlink on drop.
    pub fn options() -> OpenOptions<'static> {
        OpenOptions::new()
    }

    /// The semaphore itself, for the operations shared with unnamed ones.
    pub fn as_raw(&self) -> &RawSemaphore {
        self.map.sem()
    }

    /// The device and inode numbers of the semaphore file this handle
    /// mapped, as `fstat` reported them when it was opened: two handles with
    /// the same `file_id` are the same semaphore, whatever names they were
    /// opened by. Useful for a table of open semaphores, such as glibc keeps
    /// so that repeated `sem_open` calls return one pointer.
    #[must_use]
    pub fn file_id(&self) -> crate::FileId {
        crate::FileId::from_pair(self.map.id())
    }

    /// Takes a token, sleeping until one is available (`sem_wait`). Signals
    /// do not interrupt it.
    ///
    /// # Errors
    ///
    /// As for [`RawSemaphore::acquire`].
    #[inline]
    pub fn acquire(&self) -> Result<(), Error> {
        self.as_raw().acquire()
    }

    /// Takes a token if one is available now (`sem_trywait`).
    ///
    /// # Errors
    ///
    /// As for [`RawSemaphore::try_acquire`].
    #[inline]
    pub fn try_acquire(&self) -> Result<bool, Error> {
        self.as_raw().try_acquire()
    }

    /// Takes a token, waiting at most `timeout`; `Ok(false)` if none came.
    /// The deadline is on `CLOCK_MONOTONIC` and computed once.
    ///
    /// # Errors
    ///
    /// As for [`RawSemaphore::acquire_timeout`].
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.as_raw().acquire_timeout(timeout)
    }

    /// Gives back a token (`sem_post`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] at [`VALUE_MAX`]; nothing changes.
    #[inline]
    pub fn release(&self) -> Result<(), Error> {
        self.as_raw().release()
    }

    /// Gives back `n` tokens in one atomic step and wakes up to `n` waiters.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] if the value would exceed [`VALUE_MAX`];
    /// nothing changes.
    pub fn release_n(&self, n: u32) -> Result<(), Error> {
        self.as_raw().release_n(n)
    }

    /// Acquires and returns a [`Permit`] that releases on drop.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](Self::acquire).
    pub fn access(&self) -> Result<Permit<'_>, Error> {
        self.as_raw().access()
    }

    /// A [`Permit`] if a token is available now.
    ///
    /// # Errors
    ///
    /// As for [`try_acquire`](Self::try_acquire).
    pub fn try_access(&self) -> Result<Option<Permit<'_>>, Error> {
        self.as_raw().try_access()
    }

    /// A [`Permit`] if a token comes within `timeout`.
    ///
    /// # Errors
    ///
    /// As for [`acquire_timeout`](Self::acquire_timeout).
    pub fn access_timeout(&self, timeout: Duration) -> Result<Option<Permit<'_>>, Error> {
        self.as_raw().access_timeout(timeout)
    }

    /// The current value (`sem_getvalue`).
    #[must_use]
    pub fn value(&self) -> u32 {
        self.as_raw().value()
    }

    /// The name in its canonical form, with one leading slash: `"/jobs"`.
    #[must_use]
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// Whether this handle created the semaphore (`false` if it opened an
    /// existing one).
    #[must_use]
    pub fn created(&self) -> bool {
        self.created
    }

    /// Whether dropping this handle will unlink the name.
    #[must_use]
    pub fn unlinks_on_drop(&self) -> bool {
        self.unlink_on_drop.load(Ordering::Relaxed)
    }

    /// Changes whether dropping this handle unlinks the name.
    pub fn set_unlink_on_drop(&self, unlink: bool) {
        self.unlink_on_drop.store(unlink, Ordering::Relaxed);
    }

    /// Removes the name now (`sem_unlink`). This handle, and every other
    /// process that has the semaphore open, keeps working on it; a later
    /// create makes a new, unrelated semaphore. The handle will not try to
    /// unlink again on drop.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`] if the name is already gone,
    /// [`ErrorKind::PermissionDenied`] if the directory forbids it.
    pub fn unlink(&self) -> Result<(), Error> {
        self.set_unlink_on_drop(false);
        file::unlink(CPath::semaphore(&self.dir, &self.name).as_c_str())
    }
}

impl Drop for NamedSemaphore {
    fn drop(&mut self) {
        if self.unlinks_on_drop() {
            let path = CPath::semaphore(&self.dir, &self.name);
            // Unlink only our own semaphore: another process may have replaced
            // the name with a new one since (UnlinkAndCreate).
            if self.map.is_at(path.as_c_str()) {
                let _ = file::unlink(path.as_c_str());
            }
        }
    }
}

impl fmt::Debug for NamedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("NamedSemaphore");
        s.field("name", &self.name);
        if !self.dir.is_default() {
            s.field("directory", &self.dir);
        }
        s.field("value", &self.value())
            .field("created", &self.created)
            .field("unlink_on_drop", &self.unlinks_on_drop())
            .finish()
    }
}

/// Removes the semaphore `name` from `/dev/shm` (`sem_unlink`).
///
/// Processes that have it open keep using it; the name is free for a new one.
///
/// # Errors
///
/// [`ErrorKind::InvalidName`] for an invalid name, [`ErrorKind::NotFound`]
/// if there is no such semaphore, [`ErrorKind::PermissionDenied`] if the
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
pub fn unlink(name: &str) -> Result<(), Error> {
    unlink_in(crate::DEFAULT_DIRECTORY, name)
}

/// [`unlink`] in another directory (see [`OpenOptions::directory`]).
///
/// # Errors
///
/// As for [`unlink`], and [`ErrorKind::InvalidArgument`] for an unusable
/// directory path.
pub fn unlink_in(directory: &str, name: &str) -> Result<(), Error> {
    let name = Name::parse(name)?;
    let dir = Directory::parse(directory)?;
    file::unlink(CPath::semaphore(&dir, &name).as_c_str())
}
