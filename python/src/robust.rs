//! The robust mode's results as Python values: `recover()`'s `Recovery` and
//! `holders()`'s `Holder`, both named tuples (`collections.namedtuple`,
//! made once, module `namedsem`, so they compare, unpack and pickle as
//! tuples do).

use named_semaphores::{Liveness, NamedSemaphore};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::errors::to_py;

/// `Recovery`'s fields, in order, as the crate's `Recovery` names them.
const RECOVERY_FIELDS: [&str; 6] = [
    "tokens",
    "holders",
    "uncertain",
    "undecided",
    "corrupt",
    "beacons",
];

const RECOVERY_DOC: &str = "What recover() did.\n\n\
    tokens: tokens given back to the semaphore.\n\
    holders: dead holders whose records were cleared.\n\
    uncertain: tokens of those holders that may or may not have moved as they \
    died (each was inside an operation a few instructions wide): not given back, \
    so that none is given back twice.\n\
    undecided: holders whose liveness could not be told (a beacon file missing \
    or unreadable): left alone.\n\
    corrupt: records claiming more tokens than the semaphore's limit: left alone.\n\
    beacons: beacon files of holders killed while opening, removed.";

/// `Holder`'s fields, in order.
const HOLDER_FIELDS: [&str; 8] = [
    "pid",
    "tokens",
    "liveness",
    "pending",
    "corrupt",
    "slot",
    "beacon",
    "pid_namespace",
];

const HOLDER_DOC: &str = "One holder of a robust semaphore, as its record says.\n\n\
    pid: the process that opened the handle, in its own PID namespace (for \
    people: liveness never depends on it).\n\
    tokens: tokens it holds.\n\
    liveness: 'alive' (a process holds its lock; a stopped process is alive), \
    'dead' (the next recovery gives its tokens back) or 'unknown' (its beacon \
    could not be checked: never recovered).\n\
    pending: operations in flight (uncertain tokens if it is dead).\n\
    corrupt: whether the record claims more tokens than the limit.\n\
    slot: its slot in the record.\n\
    beacon: the id of its beacon file (nsem-holder.<16 hex digits>).\n\
    pid_namespace: the inode of its PID namespace, 0 if unknown.";

/// A named tuple class `name` of module `namedsem`.
fn named_tuple<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    name: &str,
    fields: &[&str],
    doc: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    cell.get_or_try_init(py, || {
        let kwargs = PyDict::new(py);
        kwargs.set_item("module", "namedsem")?;
        let class = py
            .import("collections")?
            .getattr("namedtuple")?
            .call((name, fields.to_vec()), Some(&kwargs))?;
        class.setattr("__doc__", doc)?;
        Ok(class.unbind())
    })
    .map(|t| t.bind(py))
}

/// The `Recovery` class.
pub fn recovery_type(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static RECOVERY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    named_tuple(py, &RECOVERY, "Recovery", &RECOVERY_FIELDS, RECOVERY_DOC)
}

/// The `Holder` class.
pub fn holder_type(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static HOLDER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    named_tuple(py, &HOLDER, "Holder", &HOLDER_FIELDS, HOLDER_DOC)
}

/// `NamedSemaphore.recover()`: the crate's recovery, without the GIL.
pub fn recover(py: Python<'_>, sem: &NamedSemaphore) -> PyResult<Py<PyAny>> {
    let done = py.detach(|| sem.recover()).map_err(to_py)?;
    let fields = (
        done.tokens,
        done.holders,
        done.uncertain,
        done.undecided,
        done.corrupt,
        done.beacons,
    );
    Ok(recovery_type(py)?.call1(fields)?.unbind())
}

/// `NamedSemaphore.holders()`: every recorded holder, its liveness checked.
pub fn holders(py: Python<'_>, sem: &NamedSemaphore) -> PyResult<Vec<Py<PyAny>>> {
    let listed: Vec<_> = py
        .detach(|| sem.holders().map(Iterator::collect::<Vec<_>>))
        .map_err(to_py)?;
    let class = holder_type(py)?;
    listed
        .into_iter()
        .map(|h| {
            let liveness = match h.liveness {
                Liveness::Alive => "alive",
                Liveness::Dead => "dead",
                _ => "unknown",
            };
            let fields = (
                h.pid,
                h.tokens,
                liveness,
                h.pending,
                h.corrupt,
                h.slot,
                h.beacon,
                h.pid_namespace,
            );
            Ok(class.call1(fields)?.unbind())
        })
        .collect()
}
