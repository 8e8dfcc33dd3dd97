//! How a [`NamedSemaphore`] is opened or created: the [`Existence`] policy
//! and the [`OpenOptions`] builder.

use core::time::Duration;

use rustix::fs::Mode;

use crate::error::{Error, ErrorKind, Operation};
use crate::file::{self, Mapping, Publish};
use crate::name::{CPath, Directory, Name};
use crate::named::NamedSemaphore;
use crate::robust::DEFAULT_CHECK_PERIOD;
use crate::VALUE_MAX;

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
    ///
    /// A handle opened this way does **not** unlink the name on drop, even
    /// if it happened to create the semaphore, unless asked to
    /// ([`OpenOptions::unlink_on_drop`]): which process creates is an
    /// accident of timing, and if the creator removed the name when it
    /// exits, the next process would create a second semaphore beside the
    /// one the others still use, breaking the limit the value stands for.
    OpenOrCreate,
    /// Open an existing semaphore; fail with [`ErrorKind::NotFound`] if there
    /// is none. The default.
    #[default]
    OpenExisting,
    /// Replace whatever semaphore has the name with a new one. Processes that
    /// already have the old one open keep using it, detached from the name.
    /// As with [`CreateNew`](Self::CreateNew), the handle owns the name and
    /// unlinks it on drop (unless told otherwise).
    ///
    /// The new file replaces the old name atomically (`rename`), so the
    /// replacement itself leaves no moment when the name is missing; if
    /// several processes do this at once, each gets a new semaphore and the
    /// last one keeps the name.
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
    /// The initial value if given (1 otherwise): only a given value may
    /// become the limit of a record added to a semaphore made without one.
    value: Option<u32>,
    existence: Existence,
    mode: u32,
    unlink_on_drop: Option<bool>,
    directory: Option<&'a str>,
    robust: bool,
    check_period: Duration,
}

impl Default for OpenOptions<'_> {
    fn default() -> Self {
        OpenOptions {
            value: None,
            existence: Existence::OpenExisting,
            mode: 0o600,
            unlink_on_drop: None,
            directory: None,
            robust: false,
            check_period: DEFAULT_CHECK_PERIOD,
        }
    }
}

impl<'a> OpenOptions<'a> {
    /// The default options: open an existing semaphore; if creating, value 1
    /// and mode `0o600`; unlink on drop if this handle created the semaphore
    /// on purpose (see [`unlink_on_drop`](Self::unlink_on_drop)).
    pub fn new() -> Self {
        Self::default()
    }

    /// The value a newly created semaphore starts with (default 1). Ignored
    /// when an existing semaphore is opened. At most [`VALUE_MAX`].
    pub fn initial_value(&mut self, value: u32) -> &mut Self {
        self.value = Some(value);
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

    /// Whether dropping the handle unlinks the name.
    ///
    /// By default a handle that created the semaphore on purpose
    /// ([`Existence::CreateNew`], [`Existence::UnlinkAndCreate`]) owns the
    /// name and unlinks it on drop; any other handle leaves it, including one
    /// that created it through [`Existence::OpenOrCreate`] (see there why).
    /// A drop only ever unlinks the semaphore this handle has open: if the
    /// name was given to another semaphore since, that one keeps it. The
    /// drop locks the file at the name (`flock`), checks under the lock that
    /// the name still refers to this handle's file, then unlinks it; every
    /// removal or replacement by this crate or its C library takes the same
    /// lock, so among them this is exact. One window remains, with glibc
    /// processes, which take no lock: one that replaces the name between the
    /// drop's check and its unlink (microseconds) has its new semaphore's
    /// name removed, as a `sem_unlink` by this process right after that
    /// creation would. A lock held elsewhere delays the drop by 100 ms at
    /// most; then it unlinks the plain way, as glibc does (see
    /// [who owns the name](crate#who-owns-the-name)).
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

    /// Robust mode (default off): the tokens this handle takes come back if
    /// its process dies holding them, as System V's `SEM_UNDO` does for
    /// `semop`. See the [robust mode guide] for what it promises.
    ///
    /// The semaphore file then carries a record of its holders after glibc's
    /// `sem_t` ([`ROBUST_FILE_LEN`](crate::ROBUST_FILE_LEN) bytes in all);
    /// glibc programs and plain handles share it unchanged, and their
    /// tokens are not recorded. A new semaphore is created with the record,
    /// and [`initial_value`](Self::initial_value) becomes its limit: a
    /// recovery never raises the value above it. Opening a semaphore made
    /// without a record adds one, and the first robust opener's
    /// `initial_value` is then the limit: give the value the semaphore was
    /// created with. Without an `initial_value`, or with one below the
    /// semaphore's value, no record is added and the open fails
    /// ([`ErrorKind::InvalidArgument`]): a guessed limit would later make a
    /// recovery keep back tokens a dead holder held.
    ///
    /// The handle holds a lock on a small file of its own in the semaphore's
    /// directory (`nsem-holder.<16 hex digits>`) while it lives, through one
    /// file descriptor (close-on-exec; closing it behind the handle's back
    /// makes the holder look dead), and takes one of the record's slots (124
    /// robust handles at once).
    ///
    /// [robust mode guide]: crate#robust-mode
    ///
    /// ```
    /// use named_semaphores::{Existence, NamedSemaphore};
    /// # let name = format!("doc-robust-opt-{}", std::process::id());
    /// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
    ///
    /// let sem = NamedSemaphore::options()
    ///     .robust(true)
    ///     .initial_value(3) // at most 3 holders; also the record's limit
    ///     .existence(Existence::OpenOrCreate)
    ///     .open(&name)?;
    /// assert!(sem.is_robust());
    /// # named_semaphores::unlink(&name)?;
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn robust(&mut self, robust: bool) -> &mut Self {
        self.robust = robust;
        self
    }

    /// How often a robust handle that waits for a token checks for dead
    /// holders (default 100 ms, at least 1 ms). It also checks before it
    /// first sleeps. A waiter wakes at most once per period for this, so a
    /// longer period costs less and recovers later. Ignored unless
    /// [`robust`](Self::robust).
    ///
    /// ```
    /// use core::time::Duration;
    /// use named_semaphores::{Existence, NamedSemaphore};
    /// # let name = format!("doc-check-period-{}", std::process::id());
    /// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
    ///
    /// let sem = NamedSemaphore::options()
    ///     .robust(true)
    ///     .check_period(Duration::from_millis(20))
    ///     .existence(Existence::CreateNew)
    ///     .open(&name)?;
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn check_period(&mut self, period: Duration) -> &mut Self {
        self.check_period = period;
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
    ///   [`VALUE_MAX`] (when the semaphore may be created), the directory is
    ///   unusable, or, with [`robust`](Self::robust), a semaphore without a
    ///   record was opened with no `initial_value` to be its limit, or one
    ///   below its value.
    /// - [`ErrorKind::AlreadyExists`]: [`Existence::CreateNew`] and the name exists.
    /// - [`ErrorKind::NotFound`]: [`Existence::OpenExisting`] and it does not.
    /// - [`ErrorKind::PermissionDenied`]: the file or directory permissions.
    /// - [`ErrorKind::InvalidObject`]: the file at the name is not a semaphore
    ///   for this target (a symbolic link, directory, FIFO, wrong size, bad
    ///   header).
    /// - [`ErrorKind::CorruptRecord`]: a robust semaphore's record header is
    ///   not one this crate writes.
    /// - [`ErrorKind::RecordFull`]: with [`robust`](Self::robust), every
    ///   holder slot is taken by a live holder.
    /// - [`ErrorKind::NotRobust`]: with [`robust`](Self::robust), on a target
    ///   without 64-bit atomics.
    /// - [`ErrorKind::Os`]: anything else (out of memory, no space in the tmpfs).
    pub fn open(&self, name: impl AsRef<[u8]>) -> Result<NamedSemaphore, Error> {
        self.open_bytes(name.as_ref())
    }

    /// The value a semaphore this creates starts with.
    fn value(&self) -> u32 {
        self.value.unwrap_or(1)
    }

    fn open_bytes(&self, name: &[u8]) -> Result<NamedSemaphore, Error> {
        let op = match self.existence {
            Existence::CreateNew | Existence::UnlinkAndCreate => Operation::Create,
            Existence::OpenExisting | Existence::OpenOrCreate => Operation::Open,
        };
        let name = Name::parse(name).map_err(|e| e.on(op, name))?;
        let (map, dir, created) = self
            .open_name(&name)
            .map_err(|e| e.on(op, name.as_bytes()))?;
        let owner = created && self.existence != Existence::OpenOrCreate;
        let unlink_on_drop = self.unlink_on_drop.unwrap_or(owner);
        let mut sem = NamedSemaphore::from_parts(map, name, dir, created, unlink_on_drop);
        if self.robust {
            // On failure the handle drops, unlinking what it created.
            let limit = if created {
                Some(self.value())
            } else {
                self.value
            };
            sem.make_robust(limit, self.check_period)
                .map_err(|e| e.on(op, sem.name_bytes()))?;
        }
        Ok(sem)
    }

    fn open_name(&self, name: &Name) -> Result<(Mapping, Directory, bool), Error> {
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
        if self.robust && !cfg!(target_has_atomic = "64") {
            // Refused before the file is touched (a robust open may add a
            // record to it).
            return Err(Error::new(
                ErrorKind::NotRobust,
                rustix::io::Errno::OPNOTSUPP,
                "robust mode needs 64-bit atomics",
            ));
        }
        if self.existence != Existence::OpenExisting && self.value() > VALUE_MAX {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                rustix::io::Errno::INVAL,
                "initial value above VALUE_MAX",
            )
            .during(Operation::Create));
        }
        let path = CPath::semaphore(&dir, name);
        let path = path.as_c_str();
        let mode = Mode::from_raw_mode(self.mode);
        let create = |publish| {
            file::create(&dir, path, self.value(), mode, publish, self.robust)
                .map_err(|e| e.during(Operation::Create))
        };
        let open = |path| file::open(path, self.robust);
        let (map, created) = match self.existence {
            Existence::OpenExisting => (open(path)?, false),
            Existence::CreateNew => (create(Publish::Link)?, true),
            Existence::UnlinkAndCreate => (create(Publish::Replace)?, true),
            Existence::OpenOrCreate => loop {
                match open(path) {
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
        Ok((map, dir, created))
    }
}
