//! The crate's errors as Python exceptions: the built-in `OSError` subclass
//! a Python programmer expects for each kind (`FileExistsError`,
//! `FileNotFoundError`, `PermissionError`), `ValueError` for bad arguments,
//! and `InvalidSemaphoreError` for a file that is not a semaphore.

use named_semaphores::{Error, ErrorKind};
use pyo3::exceptions::{
    PyFileExistsError, PyFileNotFoundError, PyOSError, PyPermissionError, PyValueError,
};
use pyo3::PyErr;

pyo3::create_exception!(
    namedsem,
    InvalidSemaphoreError,
    PyOSError,
    "The file at the semaphore's name is not a semaphore this process can use (a 0-byte or \
     truncated file, a file of the wrong size or header, a directory, symbolic link, FIFO or \
     device). Raised instead of the SIGBUS or undefined behaviour glibc's sem_open leads to."
);

/// The exception for a crate error: the message is the crate's, without its
/// trailing `(os error N)` (the `OSError` prints `[Errno N]` itself).
pub fn to_py(err: Error) -> PyErr {
    let errno = err.raw_os_error();
    let text = err.to_string();
    let suffix = format!(" (os error {errno})");
    let message = text.strip_suffix(&suffix).unwrap_or(&text).to_owned();
    match err.kind() {
        ErrorKind::AlreadyExists => PyFileExistsError::new_err((errno, message)),
        ErrorKind::NotFound => PyFileNotFoundError::new_err((errno, message)),
        ErrorKind::PermissionDenied => PyPermissionError::new_err((errno, message)),
        ErrorKind::InvalidName | ErrorKind::InvalidArgument => PyValueError::new_err(message),
        // A robust record this crate did not write is a file this process
        // cannot use as the semaphore it claims to be.
        ErrorKind::InvalidObject | ErrorKind::CorruptRecord => {
            InvalidSemaphoreError::new_err((errno, message))
        }
        // Overflow (EOVERFLOW, as posix_ipc reports a post at the maximum),
        // NotRobust (EOPNOTSUPP: no record, or a target without 64-bit
        // atomics), RecordFull and every other operating-system error.
        _ => PyOSError::new_err((errno, message)),
    }
}
