//! Blocking in `acquire` as a good citizen of the interpreter: the wait runs
//! without the GIL, in slices of at most [`SLICE`] that also end when a
//! signal handler runs in the thread, and pending signals are handled
//! between slices, so Ctrl-C raises `KeyboardInterrupt` promptly and with no
//! token taken. Timeouts are measured on the monotonic clock.

use std::time::Duration;

use named_semaphores::NamedSemaphore;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyFloat, PyInt};

use crate::args::Flag;

use crate::errors::to_py;
use crate::tokens;

/// The longest the GIL-free wait lasts before signals are checked.
const SLICE: Duration = Duration::from_millis(50);

/// How long `acquire` may wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Take a token only if one is free now.
    Now,
    /// Wait at most this long.
    Within(Duration),
    /// Wait until a token comes.
    Forever,
}

/// The limit for `acquire(blocking, timeout)`, with the existing package's
/// rules: `blocking` a `bool`, `timeout` `None` or a real number of seconds
/// not below 0 (and not NaN), no timeout when not blocking. A timeout too
/// long for the clock (infinity included) is no limit.
pub fn limit(blocking: Flag, timeout: Option<&Bound<'_, PyAny>>) -> PyResult<Limit> {
    let Flag::Is(blocking) = blocking else {
        return Err(PyValueError::new_err("`blocking` must be a boolean"));
    };
    let Some(timeout) = timeout else {
        return Ok(if blocking { Limit::Forever } else { Limit::Now });
    };
    if !blocking {
        return Err(PyValueError::new_err(
            "Cannot specify a timeout if blocking is False",
        ));
    }
    let seconds = seconds(timeout)?;
    Ok(if seconds == 0.0 {
        Limit::Now
    } else {
        Duration::try_from_secs_f64(seconds).map_or(Limit::Forever, Limit::Within)
    })
}

/// A timeout in seconds: a `numbers.Real` that is 0 or more.
fn seconds(timeout: &Bound<'_, PyAny>) -> PyResult<f64> {
    let bad = || PyValueError::new_err("If provided, `timeout` must be a positive real number");
    let real = timeout.is_instance_of::<PyFloat>()
        || timeout.is_instance_of::<PyInt>()
        || timeout.is_instance(real_type(timeout.py())?)?;
    if !real {
        return Err(bad());
    }
    let seconds: f64 = match timeout.extract() {
        Ok(s) => s,
        // An int too big for a float is a timeout beyond any clock.
        Err(_) if timeout.is_instance_of::<PyInt>() && timeout.gt(0)? => f64::INFINITY,
        Err(e) => return Err(e),
    };
    if seconds >= 0.0 {
        Ok(seconds)
    } else {
        Err(bad()) // negative or NaN
    }
}

/// `numbers.Real`, looked up once.
fn real_type(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static REAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    REAL.get_or_try_init(py, || Ok(py.import("numbers")?.getattr("Real")?.unbind()))
        .map(|t| t.bind(py))
}

/// The time on `CLOCK_MONOTONIC`, the clock the crate's deadlines use.
fn now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    // The monotonic clock is never negative.
    Duration::new(t.tv_sec.unsigned_abs(), t.tv_nsec.unsigned_abs() as u32)
}

/// Takes a token within `limit`: `Ok(false)` if none came in time.
pub fn acquire(py: Python<'_>, sem: &NamedSemaphore, limit: Limit) -> PyResult<bool> {
    if tokens::try_take(sem).map_err(to_py)? {
        return Ok(true);
    }
    let deadline = match limit {
        Limit::Now => return Ok(false),
        Limit::Within(d) => now().checked_add(d),
        Limit::Forever => None,
    };
    // Before the first sleep, let a peer that shares this CPU run: it may be
    // about to release, and the token is then taken with no sleep. A timed
    // futex wait costs a kernel timer, about 6 µs more per sleep than an
    // untimed one on a small VM, which a hand-off between two processes on
    // one CPU would otherwise pay every time (where each has a CPU of its
    // own, the crate's spin takes the token and the yield costs about 1 µs).
    let mut first = true;
    loop {
        let start = now();
        let slice_end = start.saturating_add(SLICE);
        let until = match deadline {
            Some(deadline) if deadline <= start => return Ok(false),
            Some(deadline) => deadline.min(slice_end),
            None => slice_end,
        };
        let yield_first = std::mem::take(&mut first);
        let taken = py
            .detach(|| {
                if yield_first {
                    std::thread::yield_now();
                }
                tokens::take_by(sem, until)
            })
            .map_err(to_py)?;
        if taken {
            return Ok(true);
        }
        // The slice ended, or a signal handler ran in this thread, with no
        // token taken: a KeyboardInterrupt (or any exception a Python signal
        // handler raises) leaves the semaphore as it was.
        py.check_signals()?;
    }
}
