//! `namedsem.NamedSemaphore`: the existing `named_semaphores` package's class
//! over the crate's [`NamedSemaphore`]: the same constructor, `Flags`,
//! `acquire`/`release`, `with`, `name`, `value` and `unlink`, plus `mode`,
//! `waiters` and pickling by name.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use named_semaphores::{FileId, NamedSemaphore, VALUE_MAX};
use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::args::{Count, Flag};
use crate::errors::to_py;
use crate::flags;
use crate::tokens;
use crate::wait::{self, Limit};

/// A POSIX named semaphore (`/dev/shm/sem.NAME`), shared with every process
/// that opens the same name: this package, `named_semaphores`/`posix_ipc`,
/// C programs using glibc's `sem_open`, and Rust programs using the crate.
#[pyclass(module = "namedsem", name = "NamedSemaphore", subclass, frozen)]
pub struct PySemaphore {
    sem: NamedSemaphore,
    /// The name as given, with one leading slash: `"/jobs"`.
    name: Py<PyString>,
    /// The process that opened the handle: only it may unlink on delete.
    pid: u32,
}

impl Drop for PySemaphore {
    fn drop(&mut self) {
        // A copy of the handle in a forked child never removes the parent's
        // name when the child lets it go.
        if std::process::id() != self.pid {
            self.sem.set_unlink_on_drop(false);
        }
    }
}

/// The name as bytes for the crate (the file-system encoding, so a name
/// `list_all` gave back opens the same file), and the form `name` shows.
fn parse_name<'py>(name: &Bound<'py, PyAny>) -> PyResult<(Vec<u8>, Bound<'py, PyString>)> {
    let text = name.cast::<PyString>().map_err(|_| {
        PyValueError::new_err(format!(
            "`name` must be a non-empty string. Got: {}",
            name.repr().map_or_else(|_| "?".into(), |r| r.to_string())
        ))
    })?;
    let bytes = text.extract::<OsString>()?.into_vec();
    let bare = text.call_method1("lstrip", ("/",))?;
    let shown = PyString::new(name.py(), "/")
        .add(bare)?
        .cast_into::<PyString>()?;
    Ok((bytes, shown))
}

/// An `int` (or `bool`) from 0 to `VALUE_MAX`, as the existing package checks it.
fn parse_initial_value(value: Count) -> PyResult<u32> {
    match value {
        Count::Int(v) if (0..=i64::from(VALUE_MAX)).contains(&v) => Ok(v as u32),
        _ => Err(PyValueError::new_err(format!(
            "`initial_value` must be a non-negative integer less than {VALUE_MAX}"
        ))),
    }
}

impl PySemaphore {
    fn wrap(sem: NamedSemaphore, name: Bound<'_, PyString>) -> Self {
        PySemaphore {
            sem,
            name: name.unbind(),
            pid: std::process::id(),
        }
    }
}

/// What a pickled handle holds: its name and the identity of its file.
type Pickled = (Py<PyString>, u64, u64);

#[pymethods]
impl PySemaphore {
    #[new]
    #[pyo3(
        signature = (name, initial_value = Count::Int(1), handle_existence = None, unlink_on_delete = None, *, mode = 0o600),
        text_signature = "(name, initial_value=1, handle_existence=NamedSemaphore.Flags.RAISE_IF_NOT_EXISTS, unlink_on_delete=None, *, mode=0o600)"
    )]
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        initial_value: Count,
        handle_existence: Option<&Bound<'_, PyAny>>,
        unlink_on_delete: Option<&Bound<'_, PyAny>>,
        mode: u32,
    ) -> PyResult<Self> {
        let (bytes, shown) = parse_name(name)?;
        let value = parse_initial_value(initial_value)?;
        let existence = match handle_existence {
            Some(flag) => flags::existence(flag)?,
            None => named_semaphores::Existence::OpenExisting,
        };
        if mode > 0o7777 {
            return Err(PyValueError::new_err(
                "`mode` must be permission bits from 0 to 0o7777",
            ));
        }
        let mut options = NamedSemaphore::options();
        options.initial_value(value).existence(existence).mode(mode);
        if let Some(unlink) = unlink_on_delete {
            options.unlink_on_drop(unlink.is_truthy()?);
        }
        let sem = py.detach(|| options.open(&bytes)).map_err(to_py)?;
        Ok(Self::wrap(sem, shown))
    }

    /// What to do about a semaphore that exists or does not (an `enum.Enum`).
    #[classattr]
    #[allow(non_snake_case)]
    fn Flags(py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(flags::flags_type(py)?.clone().unbind())
    }

    /// The name, with one leading slash: `"/jobs"`.
    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyString> {
        self.name.clone_ref(py)
    }

    /// The current value: a snapshot, other processes may change it at once.
    #[getter]
    fn value(&self) -> u32 {
        self.sem.value()
    }

    /// How many threads, in any process, are blocked waiting for a token.
    #[getter]
    fn waiters(&self) -> u32 {
        self.sem.waiters()
    }

    /// Whether this handle opened a semaphore that existed (`False` if it
    /// created it).
    #[getter]
    fn linked_existing_semaphore(&self) -> bool {
        !self.sem.created()
    }

    /// Whether deleting this handle unlinks the name.
    #[getter]
    fn unlink_on_delete(&self) -> bool {
        self.sem.unlinks_on_drop() && std::process::id() == self.pid
    }

    /// Takes a token. Blocks until one is free if `blocking` (at most
    /// `timeout` seconds, on the monotonic clock, if given); returns whether
    /// a token was taken.
    #[pyo3(
        signature = (blocking = Flag::Is(true), timeout = None),
        text_signature = "($self, blocking=True, timeout=None)"
    )]
    fn acquire(
        &self,
        py: Python<'_>,
        blocking: Flag,
        timeout: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let limit = wait::limit(blocking, timeout)?;
        wait::acquire(py, &self.sem, limit)
    }

    /// Gives back `n` tokens in one atomic step, waking up to `n` waiters.
    #[pyo3(signature = (n = Count::Int(1)), text_signature = "($self, n=1)")]
    fn release(&self, n: Count) -> PyResult<()> {
        let n = match n {
            Count::Int(n) if n >= 1 => u32::try_from(n).unwrap_or(u32::MAX),
            // More than a semaphore can ever hold: the crate reports the
            // overflow, as for any release past `VALUE_MAX`.
            Count::Huge => u32::MAX,
            _ => return Err(PyValueError::new_err("`n` must be a positive integer")),
        };
        tokens::give(&self.sem, n).map_err(to_py)
    }

    /// Removes the name now (`sem_unlink`); this handle and every other that
    /// has the semaphore open keep working on it.
    fn unlink(&self) -> PyResult<()> {
        self.sem.unlink().map_err(to_py)
    }

    fn __enter__<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, Self>> {
        wait::acquire(slf.py(), &slf.get().sem, Limit::Forever)?;
        Ok(slf.clone())
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        tokens::give(&self.sem, 1).map_err(to_py)?;
        Ok(false)
    }

    /// Pickled by name: the receiving process opens the same semaphore
    /// (never unlinking it on delete), as long as the name still refers to it.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Pickled)> {
        let reopen = py.import("namedsem")?.getattr("_reopen")?;
        let id = self.sem.file_id();
        Ok((reopen, (self.name.clone_ref(py), id.dev(), id.ino())))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let this = slf.get();
        Ok(format!(
            "<{}.{} name={} value={}>",
            slf.get_type().module()?,
            slf.get_type().qualname()?,
            this.name.bind(slf.py()).repr()?,
            this.sem.value()
        ))
    }
}

/// Opens a pickled semaphore: the one at `name`, provided it is still the
/// file `(dev, ino)`. Never unlinks on delete.
#[pyfunction]
pub fn _reopen(name: &Bound<'_, PyAny>, dev: u64, ino: u64) -> PyResult<PySemaphore> {
    let (bytes, shown) = parse_name(name)?;
    let sem = NamedSemaphore::options()
        .unlink_on_drop(false)
        .open(&bytes)
        .map_err(to_py)?;
    if sem.file_id() != FileId::new(dev, ino) {
        const ENOENT: i32 = 2;
        return Err(PyFileNotFoundError::new_err((
            ENOENT,
            format!(
                "open {}: the semaphore was unlinked or replaced since it was pickled",
                shown.repr()?
            ),
        )));
    }
    Ok(PySemaphore::wrap(sem, shown))
}
