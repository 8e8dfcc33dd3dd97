//! The crate's error type: a kind callers can match on, the errno behind it,
//! and a short static description of the cause.

use core::fmt;

use rustix::io::Errno;

/// What went wrong, in terms a caller can act on.
///
/// Every [`Error`] carries one of these, plus the errno that a C program
/// calling glibc's `sem_*` would have seen for the same cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The semaphore exists and the caller asked for a new one
    /// ([`Existence::CreateNew`](crate::Existence::CreateNew)). errno `EEXIST`.
    AlreadyExists,
    /// No semaphore has that name
    /// ([`Existence::OpenExisting`](crate::Existence::OpenExisting), or
    /// [`unlink`](crate::unlink) of a missing name). errno `ENOENT`.
    NotFound,
    /// The file's or the directory's permissions forbid the operation.
    /// errno `EACCES` (or `EPERM` from the kernel).
    PermissionDenied,
    /// The name is empty, contains `/` after its leading slashes or a NUL
    /// byte, or is longer than [`NAME_MAX`](crate::NAME_MAX) bytes.
    /// errno `EINVAL` or `ENAMETOOLONG`.
    InvalidName,
    /// An argument is out of range: an initial value above
    /// [`VALUE_MAX`](crate::VALUE_MAX), an unusable directory. errno `EINVAL`.
    InvalidArgument,
    /// A release would raise the value above [`VALUE_MAX`](crate::VALUE_MAX);
    /// nothing was changed. errno `EOVERFLOW`.
    Overflow,
    /// The file at the semaphore's path is not a valid semaphore for this
    /// target: not a regular file (a symbolic link, directory, FIFO, ...), the
    /// wrong size, or a header that glibc would not have written.
    /// errno `EINVAL`, `ELOOP` or `EISDIR`.
    InvalidObject,
    /// Any other operating-system error; see [`Error::raw_os_error`].
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
            ErrorKind::Os => "operating-system error",
        }
    }
}

/// An error from this crate: an [`ErrorKind`], the errno and, where it
/// helps, a few words on the cause.
///
/// ```
/// use named_semaphores::{ErrorKind, NamedSemaphore};
///
/// let err = NamedSemaphore::open("a/b").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidName);
/// assert_eq!(err.raw_os_error(), 22); // EINVAL, as glibc's sem_open reports it
/// println!("{err}");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    errno: Errno,
    detail: &'static str,
}

impl Error {
    pub(crate) const fn new(kind: ErrorKind, errno: Errno, detail: &'static str) -> Self {
        Error {
            kind,
            errno,
            detail,
        }
    }

    /// Classifies an errno returned by a system call on the semaphore's path.
    pub(crate) fn from_errno(errno: Errno) -> Self {
        let (kind, detail) = match errno {
            Errno::EXIST => (ErrorKind::AlreadyExists, ""),
            Errno::NOENT => (ErrorKind::NotFound, ""),
            Errno::ACCESS | Errno::PERM => (ErrorKind::PermissionDenied, ""),
            Errno::LOOP => (ErrorKind::InvalidObject, "a symbolic link is at the name"),
            Errno::ISDIR => (ErrorKind::InvalidObject, "a directory is at the name"),
            Errno::NXIO => (
                ErrorKind::InvalidObject,
                "a socket or device is at the name",
            ),
            _ => (ErrorKind::Os, ""),
        };
        Error::new(kind, errno, detail)
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
        self.errno.raw_os_error()
    }
}

impl From<Errno> for Error {
    fn from(errno: Errno) -> Self {
        Error::from_errno(errno)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Error");
        s.field("kind", &self.kind)
            .field("errno", &self.errno.raw_os_error());
        if !self.detail.is_empty() {
            s.field("detail", &self.detail);
        }
        s.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.describe())?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        write!(f, " (os error {})", self.errno.raw_os_error())
    }
}

impl core::error::Error for Error {}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    /// Converts to an [`std::io::Error`] of the matching
    /// [`std::io::ErrorKind`]. Errors that came from the kernel keep their
    /// [`raw_os_error`](std::io::Error::raw_os_error).
    fn from(err: Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind {
            ErrorKind::InvalidName | ErrorKind::InvalidArgument | ErrorKind::Overflow => {
                Io::InvalidInput
            }
            ErrorKind::InvalidObject => Io::InvalidData,
            ErrorKind::AlreadyExists | ErrorKind::NotFound | ErrorKind::PermissionDenied
                if err.detail.is_empty() =>
            {
                return std::io::Error::from_raw_os_error(err.raw_os_error())
            }
            ErrorKind::AlreadyExists => Io::AlreadyExists,
            ErrorKind::NotFound => Io::NotFound,
            ErrorKind::PermissionDenied => Io::PermissionDenied,
            ErrorKind::Os => return std::io::Error::from_raw_os_error(err.raw_os_error()),
        };
        std::io::Error::new(kind, err)
    }
}
