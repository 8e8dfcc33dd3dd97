//! [`NamedSemaphore`], the handle to a semaphore file mapped into this
//! process, and the free [`unlink`] functions.

use core::fmt;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Operation};
use crate::file::{self, Mapping};
use crate::file_id::FileId;
use crate::name::{CPath, Directory, Name};
use crate::options::{Existence, OpenOptions};
use crate::raw::RawSemaphore;
use crate::robust::Registration;

mod raw_mapping;
mod robust;
mod tokens;
mod unlink;

pub use unlink::{unlink, unlink_in};

/// A POSIX named semaphore, shared with every process that opens the same
/// name, glibc's `sem_open` users included.
///
/// The semaphore is the file `/dev/shm/sem.NAME`, mapped into this process;
/// the handle holds no file descriptor. Dropping the handle unmaps it, and
/// unlinks the name if the handle owns it (see [who owns the
/// name](crate#who-owns-the-name)), provided the name still refers to this
/// semaphore.
///
/// `NamedSemaphore` is `Send` and `Sync`: share it between threads by
/// reference or in an `Arc` (with the `alloc` feature, `acquire_owned`
/// gives a permit that can move into a spawned thread), or make a second
/// handle with
/// [`try_clone`](NamedSemaphore::try_clone).
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
///     let _permit = sem.acquire()?;         // like Python's `with sem:`
///     assert_eq!(sem.value(), 1);
/// }                                         // given back here
/// sem.try_acquire()?.unwrap().forget();     // like C's `sem_trywait`: kept taken
/// let timed = sem.acquire_timeout(Duration::from_millis(10))?;
/// assert!(timed.is_some());
/// assert!(sem.try_acquire()?.is_none());
/// timed.unwrap().forget();
/// sem.release_n(2)?;                        // adds tokens
/// assert_eq!(sem.value(), 2);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub struct NamedSemaphore {
    map: Mapping,
    name: Name,
    dir: Directory,
    created: bool,
    unlink_on_drop: AtomicBool,
    /// This handle's slot and beacon in a robust semaphore's record, if it
    /// was opened robust (`named/robust.rs`).
    robust: Option<Registration>,
}

impl NamedSemaphore {
    pub(crate) fn from_parts(
        map: Mapping,
        name: Name,
        dir: Directory,
        created: bool,
        unlink_on_drop: bool,
    ) -> Self {
        NamedSemaphore {
            map,
            name,
            dir,
            created,
            unlink_on_drop: AtomicBool::new(unlink_on_drop),
            robust: None,
        }
    }

    /// Creates a new semaphore with `value` tokens; fails if the name exists.
    /// The handle owns the name: dropping it unlinks the name.
    ///
    /// `name` is a `&str`, a `String` or bytes (a name that [`list`](crate::list)
    /// found need not be UTF-8); see [`OpenOptions::open`] for the rules.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) if the
    /// name exists; otherwise as for [`OpenOptions::open`].
    ///
    /// ```
    /// use named_semaphores::{ErrorKind, NamedSemaphore};
    /// # let name = format!("doc-create-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 3)?;
    /// assert_eq!(sem.value(), 3);
    /// let again = NamedSemaphore::create(&name, 3).unwrap_err();
    /// assert_eq!(again.kind(), ErrorKind::AlreadyExists);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn create(name: impl AsRef<[u8]>, value: u32) -> Result<Self, Error> {
        Self::options()
            .initial_value(value)
            .existence(Existence::CreateNew)
            .open(name)
    }

    /// Opens an existing semaphore, made by this crate, glibc's `sem_open`
    /// or anything else that writes glibc's format.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if there is none;
    /// otherwise as for [`OpenOptions::open`].
    ///
    /// ```
    /// use named_semaphores::{ErrorKind, NamedSemaphore};
    /// # let name = format!("doc-open-{}", std::process::id());
    ///
    /// let err = NamedSemaphore::open(&name).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    ///
    /// let creator = NamedSemaphore::create(&name, 1)?;
    /// let opener = NamedSemaphore::open(&name)?;
    /// let _permit = opener.acquire()?;
    /// assert_eq!(creator.value(), 0); // one semaphore
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn open(name: impl AsRef<[u8]>) -> Result<Self, Error> {
        Self::options().open(name)
    }

    /// Opens the semaphore, creating it with `value` tokens if it does not
    /// exist. `value` is ignored when it exists; [`created`](Self::created)
    /// tells which happened.
    ///
    /// The handle never unlinks the name on drop, even when it created the
    /// semaphore (ask with [`OpenOptions::unlink_on_drop`]): every process
    /// can run the same code and they all share one semaphore, whichever
    /// started first and whichever exits first. See
    /// [`Existence::OpenOrCreate`].
    ///
    /// # Errors
    ///
    /// As for [`OpenOptions::open`].
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-ooc-{}", std::process::id());
    ///
    /// let a = NamedSemaphore::open_or_create(&name, 1)?;
    /// let b = NamedSemaphore::open_or_create(&name, 1)?; // same semaphore
    /// assert!(a.created() && !b.created());
    /// a.acquire()?.forget();                     // keeps the token taken
    /// assert!(b.try_acquire()?.is_none());
    /// drop(a);                                   // the name stays
    /// let c = NamedSemaphore::open_or_create(&name, 1)?;
    /// assert!(!c.created() && c.try_acquire()?.is_none()); // the token is still taken
    /// # named_semaphores::unlink(&name)?;
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn open_or_create(name: impl AsRef<[u8]>, value: u32) -> Result<Self, Error> {
        Self::options()
            .initial_value(value)
            .existence(Existence::OpenOrCreate)
            .open(name)
    }

    /// Options for everything else: mode, directory, unlink on drop.
    ///
    /// ```
    /// use named_semaphores::{Existence, NamedSemaphore};
    /// # let name = format!("doc-opts-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::options()
    ///     .existence(Existence::CreateNew)
    ///     .initial_value(0)
    ///     .mode(0o660)
    ///     .open(&name)?;
    /// assert_eq!(sem.value(), 0);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn options() -> OpenOptions<'static> {
        OpenOptions::new()
    }

    /// A second handle to the same semaphore, as if this process had opened
    /// it again, but made from this handle's mapping (`mremap`), not by
    /// name: it is the same semaphore even if the name has since been
    /// unlinked or given to another one. (Where the kernel, or an emulator
    /// such as qemu-user, refuses that `mremap`, the file is opened again by
    /// name, and the clone fails unless it is still this semaphore's.) The new handle does not own the
    /// name ([`unlinks_on_drop`](Self::unlinks_on_drop) is `false`, and
    /// [`created`](Self::created) too).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Os`](crate::ErrorKind::Os) if the kernel refuses a new
    /// mapping (`ENOMEM`: out of memory or of mappings).
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-clone-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 1)?;
    /// let twin = sem.try_clone()?;
    /// sem.unlink()?;                    // the name is gone
    /// let _permit = twin.acquire()?;   // the semaphore is not
    /// assert_eq!(sem.value(), 0);
    /// assert_eq!(sem.file_id(), twin.file_id());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn try_clone(&self) -> Result<Self, Error> {
        let map = self
            .map
            .try_clone()
            .or_else(|e| self.reopen_same().ok_or(e))
            .map_err(|e| e.on(Operation::Open, self.name_bytes()))?;
        let mut clone = Self::from_parts(map, self.name.clone(), self.dir.clone(), false, false);
        if let Some(period) = self.robust.as_ref().map(Registration::period) {
            clone
                .register(period)
                .map_err(|e| e.on(Operation::Open, self.name_bytes()))?;
        }
        Ok(clone)
    }

    /// A new mapping of this semaphore's file opened by name, if the name
    /// still refers to it: what [`try_clone`](Self::try_clone) falls back on
    /// where `mremap` cannot map the pages again (qemu-user refuses an old
    /// size of 0).
    fn reopen_same(&self) -> Option<Mapping> {
        let path = CPath::semaphore(&self.dir, &self.name);
        let map = file::open(path.as_c_str(), self.robust.is_some()).ok()?;
        (map.id() == self.map.id()).then_some(map)
    }

    /// The semaphore itself, for the operations shared with unnamed ones.
    ///
    /// ```
    /// use named_semaphores::{NamedSemaphore, RawSemaphore};
    /// # let name = format!("doc-as-raw-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 2)?;
    /// let raw: &RawSemaphore = sem.as_raw();
    /// assert_eq!(raw.to_bytes().len(), RawSemaphore::SIZE); // glibc's sem_t
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn as_raw(&self) -> &RawSemaphore {
        self.map.sem()
    }

    /// The device and inode numbers of the semaphore file this handle
    /// mapped, as `fstat` reported them when it was opened: two handles with
    /// the same `file_id` are the same semaphore, whatever names they were
    /// opened by. Useful for a table of open semaphores, such as glibc keeps
    /// so that repeated `sem_open` calls return one pointer.
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-file-id-{}", std::process::id());
    ///
    /// let a = NamedSemaphore::create(&name, 1)?;
    /// let b = NamedSemaphore::open(format!("/{name}"))?;
    /// assert_eq!(a.file_id(), b.file_id());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn file_id(&self) -> FileId {
        self.map.id()
    }

    /// The name in its canonical form, with one leading slash: `"/jobs"`.
    ///
    /// A name opened as bytes that are not UTF-8 shows here only up to its
    /// first such byte; [`name_bytes`](Self::name_bytes) has all of it.
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-name-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(format!("//{name}"), 1)?;
    /// assert_eq!(sem.name(), format!("/{name}"));
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The canonical name as bytes, which need not be UTF-8: glibc allows
    /// any bytes but `/` and NUL.
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-bytes-{}-\u{e9}", std::process::id());
    /// # let mut name = name.into_bytes();
    /// # name.pop(); // "é" is 2 bytes: keep the first, which is not UTF-8
    ///
    /// let sem = NamedSemaphore::create(&name, 1)?;
    /// assert_eq!(&sem.name_bytes()[1..], &name[..]);
    /// assert!(core::str::from_utf8(sem.name_bytes()).is_err());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn name_bytes(&self) -> &[u8] {
        self.name.as_bytes()
    }

    /// Whether this handle created the semaphore (`false` if it opened an
    /// existing one).
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-created-{}", std::process::id());
    ///
    /// let first = NamedSemaphore::create(&name, 1)?;
    /// let second = NamedSemaphore::open(&name)?;
    /// assert!(first.created() && !second.created());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn created(&self) -> bool {
        self.created
    }

    /// Whether dropping this handle will unlink the name.
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-owns-{}", std::process::id());
    ///
    /// let owner = NamedSemaphore::create(&name, 1)?;
    /// let other = NamedSemaphore::open(&name)?;
    /// assert!(owner.unlinks_on_drop() && !other.unlinks_on_drop());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn unlinks_on_drop(&self) -> bool {
        self.unlink_on_drop.load(Ordering::Relaxed)
    }

    /// Changes whether dropping this handle unlinks the name. The drop
    /// unlinks it only if it still refers to this handle's semaphore,
    /// checked under an `flock` of the file that every removal by this crate
    /// and its C library takes; a glibc process replacing the name between
    /// that check and the unlink loses its new semaphore's name, as to a
    /// `sem_unlink` right after its creation (see
    /// [`OpenOptions::unlink_on_drop`](crate::OpenOptions::unlink_on_drop)).
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-keep-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 1)?;
    /// sem.set_unlink_on_drop(false); // outlive this process
    /// drop(sem);
    /// assert!(NamedSemaphore::open(&name).is_ok());
    /// # named_semaphores::unlink(&name)?;
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn set_unlink_on_drop(&self, unlink: bool) {
        self.unlink_on_drop.store(unlink, Ordering::Relaxed);
    }

    /// Removes the name now (`sem_unlink`), whichever semaphore it refers
    /// to now, under the lock that every removal by this crate takes (see
    /// [who owns the name](crate#who-owns-the-name)). This handle, and every
    /// other process that has the semaphore open, keeps working on it; a
    /// later create makes a new, unrelated semaphore. The handle will not
    /// try to unlink again on drop.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if the name is
    /// already gone,
    /// [`ErrorKind::PermissionDenied`](crate::ErrorKind::PermissionDenied) if
    /// the directory forbids it.
    ///
    /// ```
    /// use named_semaphores::{ErrorKind, NamedSemaphore};
    /// # let name = format!("doc-unlink-method-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 0)?;
    /// sem.unlink()?;
    /// assert_eq!(NamedSemaphore::open(&name).unwrap_err().kind(), ErrorKind::NotFound);
    /// sem.release()?; // still usable
    /// assert_eq!(sem.unlink().unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn unlink(&self) -> Result<(), Error> {
        self.set_unlink_on_drop(false);
        let path = CPath::semaphore(&self.dir, &self.name);
        file::unlink(path.as_c_str()).map_err(|e| e.on(Operation::Unlink, self.name_bytes()))
    }

    /// Adds this semaphore's name to an error of the raw semaphore's (which
    /// records the operation itself).
    pub(crate) fn failed(&self) -> impl FnOnce(Error) -> Error + '_ {
        // The raw semaphore's errors all name their operation already.
        move |e| e.on(Operation::Acquire, self.name_bytes())
    }
}

impl Drop for NamedSemaphore {
    fn drop(&mut self) {
        self.unregister();
        if self.unlinks_on_drop() {
            // Only our own semaphore: another process may have given the name
            // to a new one since (see `file::unlink_if_ours`).
            let path = CPath::semaphore(&self.dir, &self.name);
            file::unlink_if_ours(path.as_c_str(), self.map.id());
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
            .field("robust", &self.is_robust())
            .field("created", &self.created)
            .field("unlink_on_drop", &self.unlinks_on_drop())
            .finish()
    }
}
