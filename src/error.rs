//! The crate's error type: a kind callers can match on, the errno behind it,
//! the operation that failed, the semaphore's name (inline, no allocation)
//! and a short static description of the cause.

use core::fmt;

use rustix::io::Errno;

/// What went wrong, in terms a caller can act on.
///
/// Every [`Error`] carries one of these, plus the errno that a C program
/// calling glibc's `sem_*` would have seen for the same cause. Each kind has
/// one errno, except where glibc itself tells two causes apart (noted below).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The semaphore exists and the caller asked for a new one
    /// ([`Existence::CreateNew`](crate::Existence::CreateNew)). errno `EEXIST`.
    AlreadyExists,
    /// No semaphore has that name
    /// ([`Existence::OpenExisting`](crate::Existence::OpenExisting), or
    /// [`unlink`](crate::unlink) of a missing name), or the directory given
    /// to [`OpenOptions::directory`](crate::OpenOptions::directory) does not
    /// exist. errno `ENOENT`.
    NotFound,
    /// The file's or the directory's permissions forbid the operation.
    /// errno `EACCES`, also where the kernel said `EPERM` (as glibc's
    /// `sem_unlink` reports it).
    PermissionDenied,
    /// The name is empty, or contains `/` after its leading slashes or a NUL
    /// byte (errno `EINVAL`), or is longer than [`NAME_MAX`](crate::NAME_MAX)
    /// bytes (errno `ENAMETOOLONG`).
    InvalidName,
    /// An argument is out of range: an initial value above
    /// [`VALUE_MAX`](crate::VALUE_MAX), or a directory path that is empty, too
    /// long, not a directory or not a memory file system. errno `EINVAL`.
    InvalidArgument,
    /// A release would raise the value above [`VALUE_MAX`](crate::VALUE_MAX);
    /// nothing was changed. errno `EOVERFLOW`.
    Overflow,
    /// The file at the semaphore's path is not a valid semaphore for this
    /// target. errno as glibc reports each cause: `ELOOP` for a symbolic
    /// link, `EISDIR` for a directory, `ENXIO` for a socket, `ENODEV` for a
    /// FIFO or a device file; and `EINVAL` for a regular file of the wrong
    /// size or with a header that glibc would not have written (which glibc
    /// maps anyway: the crate refuses them before their first use could raise
    /// `SIGBUS`, or meet a futex word it does not share).
    InvalidObject,
    /// Every holder slot of a robust semaphore's record is taken
    /// ([`OpenOptions::robust`](crate::OpenOptions::robust)): too many
    /// robust handles have it open at once. errno `ENOSPC`.
    RecordFull,
    /// A robust semaphore's record is not what this crate writes: a header
    /// it does not know, a holder slot claiming more tokens than the
    /// semaphore's limit, or slots that together claim more. Nothing was
    /// given back. errno `EUCLEAN`.
    CorruptRecord,
    /// The operation needs a robust semaphore (one with a record of its
    /// holders, [`OpenOptions::robust`](crate::OpenOptions::robust)), and
    /// this one has none; or the target has no 64-bit atomics, which the
    /// record needs. errno `EOPNOTSUPP`.
    NotRobust,
    /// Any other operating-system error (out of memory, no space left in the
    /// tmpfs, an interrupted wait); see [`Error::raw_os_error`].
    Os,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::AlreadyExists => "semaphore already exists",
            ErrorKind::NotFound => "semaphore does not exist",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::InvalidName => "invalid semaphore name",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Overflow => "semaphore value would exceed VALUE_MAX",
            ErrorKind::InvalidObject => "file is not a valid semaphore",
            ErrorKind::RecordFull => "no free holder slot in the robust record",
            ErrorKind::CorruptRecord => "robust record is corrupt",
            ErrorKind::NotRobust => "semaphore has no robust record",
            ErrorKind::Os => "operating-system error",
        }
    }
}

/// The operation an [`Error`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Opening an existing semaphore (`sem_open` without `O_CREAT`, or the
    /// opening step of [`Existence::OpenOrCreate`](crate::Existence)).
    Open,
    /// Creating a semaphore (`sem_open` with `O_CREAT`).
    Create,
    /// Removing a name (`sem_unlink`).
    Unlink,
    /// Taking a token (`sem_wait` and its variants).
    Acquire,
    /// Giving tokens back (`sem_post`).
    Release,
    /// Making a semaphore in memory (`sem_init`).
    Init,
    /// Listing the semaphore directory.
    List,
    /// Reading one semaphore's file without opening it
    /// ([`inspect`](crate::inspect), [`processes_using`](crate::processes_using)).
    Inspect,
    /// Giving back the tokens of dead holders of a robust semaphore
    /// ([`NamedSemaphore::recover`](crate::NamedSemaphore::recover)).
    Recover,
}

impl Operation {
    /// A short verb for messages: `"open"`, `"create"`, `"unlink"`,
    /// `"acquire"`, `"release"`, `"init"`, `"list"`, `"inspect"`,
    /// `"recover"`.
    ///
    /// ```
    /// assert_eq!(named_semaphores::Operation::Unlink.as_str(), "unlink");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Open => "open",
            Operation::Create => "create",
            Operation::Unlink => "unlink",
            Operation::Acquire => "acquire",
            Operation::Release => "release",
            Operation::Init => "init",
            Operation::List => "list",
            Operation::Inspect => "inspect",
            Operation::Recover => "recover",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error from this crate: an [`ErrorKind`], the errno, the
/// [`Operation`] that failed, the semaphore's name and, where it helps, a few
/// words on the cause. Printed, it reads
/// `open "/jobs": permission denied (os error 13)`.
///
/// The name is kept inline, so making an error never allocates: its first
/// [`Error::NAME_INLINE`] bytes, which is all of any name most programs use
/// (a longer one is cut at a character boundary, and the message marks the
/// cut with `...`). An `Error` is 64 bytes on 64-bit targets, and `Copy`.
///
/// ```
/// use named_semaphores::{ErrorKind, NamedSemaphore, Operation};
///
/// let err = NamedSemaphore::open("a/b").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidName);
/// assert_eq!(err.operation(), Some(Operation::Open));
/// assert_eq!(err.raw_os_error(), 22); // EINVAL, as glibc's sem_open reports it
/// assert_eq!(
///     err.to_string(),
///     r#"open "a/b": invalid semaphore name ('/' inside the name) (os error 22)"#
/// );
/// ```
///
/// # Using `?` in functions returning `std::io::Result`
///
/// With the `std` feature, `Error` converts into `std::io::Error`, so `?`
/// works there. Without it (`no_std` builds) there is no `std::io::Error` to
/// convert into: match on [`Error::kind`], or turn on `std` in `Cargo.toml`
/// (`named-semaphores = { version = "0.1", features = ["std"] }`).
///
/// The `std::io::Error` carries this `Error` whole, so its message keeps the
/// operation and the name, and its `kind()` is the matching
/// `std::io::ErrorKind`. Its `raw_os_error()` is `None`: the standard
/// library gives an errno only to an error made from the errno alone, which
/// would lose the rest. The errno is one downcast away, back to this
/// `Error`:
///
/// ```
/// # #[cfg(feature = "std")] {
/// use named_semaphores::{Error, NamedSemaphore};
///
/// fn open(name: &str) -> std::io::Result<NamedSemaphore> {
///     Ok(NamedSemaphore::open(name)?)
/// }
///
/// let err = open("surely-nobody-made-this-either").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// assert_eq!(err.raw_os_error(), None);
/// let ours = err.get_ref().and_then(|e| e.downcast_ref::<Error>());
/// assert_eq!(ours.map(Error::raw_os_error), Some(2)); // ENOENT
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error {
    detail: &'static str,
    /// The errno value (Linux's are below 4096), kept in 16 bits whatever
    /// width the backend's `Errno` has, so that an `Error` is 64 bytes.
    errno: u16,
    kind: ErrorKind,
    op: Option<Operation>,
    name: InlineName,
}

/// The first [`Error::NAME_INLINE`] bytes of a name, and whether it was cut.
#[derive(Clone, Copy, PartialEq, Eq)]
struct InlineName {
    /// Bytes used in `buf`; 0 for no name.
    len: u8,
    truncated: bool,
    buf: [u8; Error::NAME_INLINE],
}

impl InlineName {
    const NONE: InlineName = InlineName {
        len: 0,
        truncated: false,
        buf: [0; Error::NAME_INLINE],
    };

    fn new(name: &[u8]) -> Self {
        let mut len = name.len().min(Error::NAME_INLINE);
        if let Ok(name) = core::str::from_utf8(name) {
            while !name.is_char_boundary(len) {
                len -= 1;
            }
        }
        let mut buf = [0; Error::NAME_INLINE];
        buf[..len].copy_from_slice(&name[..len]);
        InlineName {
            // An empty name is recorded as none; `len` fits: NAME_INLINE < 256.
            len: len as u8,
            truncated: len < name.len(),
            buf,
        }
    }

    fn get(&self) -> Option<&[u8]> {
        (self.len > 0).then(|| &self.buf[..usize::from(self.len)])
    }
}

impl Error {
    /// How many bytes of the semaphore's name an error keeps: enough for
    /// the names most programs use, small enough that an `Error` stays 64
    /// bytes.
    pub const NAME_INLINE: usize = 42;

    pub(crate) const fn new(kind: ErrorKind, errno: Errno, detail: &'static str) -> Self {
        Error {
            detail,
            errno: errno.raw_os_error() as u16,
            kind,
            op: None,
            name: InlineName::NONE,
        }
    }

    /// Classifies an errno returned by a system call on the semaphore's path.
    /// `EPERM` becomes `EACCES`, as `sem_unlink` reports it, so that
    /// [`ErrorKind::PermissionDenied`] always carries one errno.
    pub(crate) fn from_errno(errno: Errno) -> Self {
        let (kind, errno, detail) = match errno {
            Errno::EXIST => (ErrorKind::AlreadyExists, errno, ""),
            Errno::NOENT => (ErrorKind::NotFound, errno, ""),
            Errno::ACCESS | Errno::PERM => (ErrorKind::PermissionDenied, Errno::ACCESS, ""),
            Errno::LOOP => (
                ErrorKind::InvalidObject,
                errno,
                "a symbolic link is at the name",
            ),
            Errno::ISDIR => (
                ErrorKind::InvalidObject,
                errno,
                "a directory is at the name",
            ),
            Errno::NXIO => (
                ErrorKind::InvalidObject,
                errno,
                "a socket or device is at the name",
            ),
            Errno::NOTDIR => (
                ErrorKind::InvalidArgument,
                Errno::INVAL,
                "a path component is not a directory",
            ),
            _ => (ErrorKind::Os, errno, ""),
        };
        Error::new(kind, errno, detail)
    }

    /// Classifies an errno from a call on the semaphore directory itself:
    /// as [`from_errno`](Self::from_errno), but a missing directory says so.
    pub(crate) fn from_directory_errno(errno: Errno) -> Self {
        match errno {
            Errno::NOENT => Error::new(ErrorKind::NotFound, errno, "no such directory"),
            e => Error::from_errno(e),
        }
    }

    /// An error for the errno value `errno` (as `errno` holds it in C), of
    /// the kind this crate gives that errno from a system call on a
    /// semaphore's path. It names no operation.
    ///
    /// ```
    /// use named_semaphores::{Error, ErrorKind};
    ///
    /// assert_eq!(Error::from_raw_os_error(2).kind(), ErrorKind::NotFound);
    /// assert_eq!(Error::from_raw_os_error(1).raw_os_error(), 13); // EPERM as EACCES
    /// ```
    #[must_use]
    pub fn from_raw_os_error(errno: i32) -> Self {
        // Linux errno values are 1 to 4095; anything else is no errno.
        if !(1..4096).contains(&errno) {
            return Error::new(
                ErrorKind::InvalidArgument,
                Errno::INVAL,
                "not an errno value",
            );
        }
        Error::from_errno(Errno::from_raw_os_error(errno))
    }

    /// Records the operation that failed (kept if one is already recorded).
    #[cold]
    pub(crate) const fn during(mut self, op: Operation) -> Self {
        if self.op.is_none() {
            self.op = Some(op);
        }
        self
    }

    /// Records the operation that failed and the semaphore's name (a name
    /// already recorded is kept).
    #[cold]
    pub(crate) fn on(self, op: Operation, name: &[u8]) -> Self {
        let mut err = self.during(op);
        if err.name.len == 0 {
            err.name = InlineName::new(name);
        }
        err
    }

    /// What kind of error this is.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The errno value, as glibc's `sem_*` functions would have set it for
    /// the same cause.
    #[must_use]
    pub fn raw_os_error(&self) -> i32 {
        i32::from(self.errno)
    }

    /// The operation that failed; `None` only for an error made by
    /// [`Error::from_raw_os_error`].
    #[must_use]
    pub fn operation(&self) -> Option<Operation> {
        self.op
    }

    /// The name of the semaphore the failed operation was on, in its
    /// canonical `/NAME` form (or as given, if it was not a valid name); at
    /// most its first [`Error::NAME_INLINE`] bytes ([`name_is_cut`] tells).
    /// `None` for operations on a [`RawSemaphore`](crate::RawSemaphore),
    /// which has no name. For a name that is not UTF-8 this is the part
    /// before the first byte that is not; [`name_bytes`](Error::name_bytes)
    /// has them all.
    ///
    /// [`name_is_cut`]: Error::name_is_cut
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    ///
    /// let err = NamedSemaphore::open("surely-nobody-made-this-one").unwrap_err();
    /// assert_eq!(err.name(), Some("/surely-nobody-made-this-one"));
    /// assert!(!err.name_is_cut());
    /// ```
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.get().map(crate::name::utf8_prefix)
    }

    /// [`name`](Error::name) as bytes, which need not be UTF-8.
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    ///
    /// let err = NamedSemaphore::open(b"caf\xe9-nobody-made-this").unwrap_err();
    /// assert_eq!(err.name_bytes(), Some(&b"/caf\xe9-nobody-made-this"[..]));
    /// assert_eq!(err.name(), Some("/caf"));
    /// ```
    #[must_use]
    pub fn name_bytes(&self) -> Option<&[u8]> {
        self.name.get()
    }

    /// Whether [`name`](Error::name) is only the start of a longer name.
    #[must_use]
    pub fn name_is_cut(&self) -> bool {
        self.name.truncated
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("kind", &self.kind);
        if let Some(op) = self.op {
            s.field("operation", &op);
        }
        if let Some(name) = self.name_bytes() {
            s.field("name", &crate::name::Quoted(name));
            if self.name_is_cut() {
                s.field("name_is_cut", &true);
            }
        }
        s.field("errno", &self.errno);
        if !self.detail.is_empty() {
            s.field("detail", &self.detail);
        }
        s.finish()
    }
}

/// `open "/jobs": permission denied (os error 13)`: the operation, the name
/// where known, what went wrong, a detail where there is one, the errno.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(op) = self.op {
            f.write_str(op.as_str())?;
        }
        if let Some(name) = self.name_bytes() {
            if self.op.is_some() {
                f.write_str(" ")?;
            }
            crate::name::write_quoted(f, name)?;
            if self.name_is_cut() {
                f.write_str("...")?;
            }
        }
        if self.op.is_some() || self.name.len > 0 {
            f.write_str(": ")?;
        }
        if self.kind == ErrorKind::NotFound && !self.detail.is_empty() {
            // What is missing is not the semaphore: say what it is.
            f.write_str(self.detail)?;
        } else {
            f.write_str(self.kind.describe())?;
            if !self.detail.is_empty() {
                write!(f, " ({})", self.detail)?;
            }
        }
        write!(f, " (os error {})", self.errno)
    }
}

impl core::error::Error for Error {}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    /// Converts to an [`std::io::Error`] of the matching
    /// [`std::io::ErrorKind`] that carries this error whole: the message
    /// (operation, name, cause), and the errno through a downcast
    /// (`io_err.get_ref().and_then(|e| e.downcast_ref::<Error>())`; see
    /// [`Error`]). Its `raw_os_error()` is `None`.
    fn from(err: Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind {
            ErrorKind::InvalidName | ErrorKind::InvalidArgument | ErrorKind::Overflow => {
                Io::InvalidInput
            }
            ErrorKind::InvalidObject | ErrorKind::CorruptRecord => Io::InvalidData,
            ErrorKind::NotRobust => Io::Unsupported,
            ErrorKind::RecordFull => Io::Other,
            ErrorKind::AlreadyExists => Io::AlreadyExists,
            ErrorKind::NotFound => Io::NotFound,
            ErrorKind::PermissionDenied => Io::PermissionDenied,
            ErrorKind::Os => std::io::Error::from_raw_os_error(err.raw_os_error()).kind(),
        };
        std::io::Error::new(kind, err)
    }
}

#[cfg(test)]
mod tests;
