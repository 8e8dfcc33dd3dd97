//! `namedsem.NamedSemaphore`: the existing `named_semaphores` package's class
//! over the crate's [`NamedSemaphore`]: the same constructor, `Flags`,
//! `acquire`/`release`, `with`, `name`, `value` and `unlink`, plus `mode`,
//! `waiters`, the robust mode (`robust`, `check_period`, `recover`,
//! `holders`) and pickling by name.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::time::Duration;

use named_semaphores::{FileId, NamedSemaphore, VALUE_MAX};
use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use crate::args::{Count, Flag};
use crate::errors::to_py;
use crate::flags;
use crate::robust;
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
    /// The check period asked for (robust handles only; `None`: the
    /// crate's default), which a pickled handle carries.
    check_period: Option<Duration>,
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

/// A check period in seconds: a real number above 0, and only with
/// `robust=True`.
fn parse_check_period(period: Option<f64>, robust: bool) -> PyResult<Option<Duration>> {
    let Some(seconds) = period else {
        return Ok(None);
    };
    if !robust {
        return Err(PyValueError::new_err(
            "`check_period` applies only with robust=True",
        ));
    }
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if !d.is_zero() => Ok(Some(d)),
        _ => Err(PyValueError::new_err(
            "`check_period` must be a positive, finite number of seconds",
        )),
    }
}

impl PySemaphore {
    fn wrap(
        sem: NamedSemaphore,
        name: Bound<'_, PyString>,
        check_period: Option<Duration>,
    ) -> Self {
        PySemaphore {
            sem,
            name: name.unbind(),
            pid: std::process::id(),
            check_period,
        }
    }
}

/// What a pickled handle holds: its name, the identity of its file, whether
/// it is robust and its check period in seconds.
type Pickled = (Py<PyString>, u64, u64, bool, Option<f64>);

#[pymethods]
impl PySemaphore {
    #[new]
    #[pyo3(
        signature = (name, initial_value = Count::Default, handle_existence = None, unlink_on_delete = None, *, mode = 0o600, robust = false, check_period = None),
        text_signature = "(name, initial_value=1, handle_existence=NamedSemaphore.Flags.RAISE_IF_NOT_EXISTS, unlink_on_delete=None, *, mode=0o600, robust=False, check_period=None)"
    )]
    #[allow(clippy::too_many_arguments)] // the Python signature's
    fn new(
        py: Python<'_>,
        name: &Bound<'_, PyAny>,
        initial_value: Count,
        handle_existence: Option<&Bound<'_, PyAny>>,
        unlink_on_delete: Option<&Bound<'_, PyAny>>,
        mode: u32,
        robust: bool,
        check_period: Option<f64>,
    ) -> PyResult<Self> {
        let (bytes, shown) = parse_name(name)?;
        // Not given: 1 if it creates; and no limit for a record to add.
        let value = match initial_value {
            Count::Default => None,
            given => Some(parse_initial_value(given)?),
        };
        let period = parse_check_period(check_period, robust)?;
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
        if let Some(value) = value {
            options.initial_value(value);
        }
        options.existence(existence).mode(mode).robust(robust);
        if let Some(period) = period {
            options.check_period(period);
        }
        if let Some(unlink) = unlink_on_delete {
            options.unlink_on_drop(unlink.is_truthy()?);
        }
        let sem = py.detach(|| options.open(&bytes)).map_err(to_py)?;
        Ok(Self::wrap(sem, shown, period))
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

    /// Whether this handle is robust: the tokens it holds come back if its
    /// process dies holding them.
    #[getter]
    fn robust(&self) -> bool {
        self.sem.is_robust()
    }

    /// Gives back the tokens of every dead holder of this robust semaphore
    /// now, and says what it did (a `Recovery`). Any handle may call it,
    /// robust or not; robust handles also do it by themselves while they
    /// wait.
    fn recover(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        robust::recover(py, &self.sem)
    }

    /// The holders recorded in this robust semaphore, read now (a list of
    /// `Holder`).
    fn holders(&self, py: Python<'_>) -> PyResult<Vec<Py<PyAny>>> {
        robust::holders(py, &self.sem)
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
        let robust = self.sem.is_robust();
        let period = self.check_period.map(|d| d.as_secs_f64());
        Ok((
            reopen,
            (self.name.clone_ref(py), id.dev(), id.ino(), robust, period),
        ))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let this = slf.get();
        Ok(format!(
            "<{}.{} name={} value={}{}>",
            slf.get_type().module()?,
            slf.get_type().qualname()?,
            this.name.bind(slf.py()).repr()?,
            this.sem.value(),
            if this.sem.is_robust() { " robust" } else { "" }
        ))
    }
}

/// Opens a pickled semaphore: the one at `name`, provided it is still the
/// file `(dev, ino)`, robust if the pickled handle was. Never unlinks on
/// delete.
#[pyfunction]
#[pyo3(signature = (name, dev, ino, robust = false, check_period = None))]
pub fn _reopen(
    py: Python<'_>,
    name: &Bound<'_, PyAny>,
    dev: u64,
    ino: u64,
    robust: bool,
    check_period: Option<f64>,
) -> PyResult<PySemaphore> {
    let (bytes, shown) = parse_name(name)?;
    let period = parse_check_period(check_period, robust)?;
    let pickled = FileId::new(dev, ino);
    let replaced = || -> PyResult<PyErr> {
        const ENOENT: i32 = 2;
        Ok(PyFileNotFoundError::new_err((
            ENOENT,
            format!(
                "open {}: the semaphore was unlinked or replaced since it was pickled",
                shown.repr()?
            ),
        )))
    };
    let mut options = NamedSemaphore::options();
    options.unlink_on_drop(false);
    // Checked plainly first: a robust open of a semaphore that replaced the
    // pickled one would add a record to it.
    let plain = py.detach(|| options.open(&bytes)).map_err(to_py)?;
    if plain.file_id() != pickled {
        return Err(replaced()?);
    }
    let sem = if robust {
        options.robust(true);
        if let Some(period) = period {
            options.check_period(period);
        }
        let sem = py.detach(|| options.open(&bytes)).map_err(to_py)?;
        if sem.file_id() != pickled {
            return Err(replaced()?);
        }
        sem
    } else {
        plain
    };
    Ok(PySemaphore::wrap(sem, shown, period))
}
