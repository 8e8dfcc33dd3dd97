//! `NamedSemaphore.Flags`: the existing package's `enum.Enum` of what to do
//! about a semaphore that exists or does not, with the same members and
//! values, and its mapping onto the crate's [`Existence`].

use named_semaphores::Existence;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// The members, in the existing package's order and with its values.
const MEMBERS: [(&str, u8, Existence); 4] = [
    ("RAISE_IF_EXISTS", 0, Existence::CreateNew),
    ("LINK_OR_CREATE", 1, Existence::OpenOrCreate),
    ("RAISE_IF_NOT_EXISTS", 2, Existence::OpenExisting),
    ("UNLINK_AND_CREATE", 3, Existence::UnlinkAndCreate),
];

const DOC: &str = "What to do about a semaphore that exists or does not.\n\n\
    RAISE_IF_EXISTS: create a new one; FileExistsError if the name exists.\n\
    LINK_OR_CREATE: open it, or create it if it does not exist.\n\
    RAISE_IF_NOT_EXISTS (the default): open it; FileNotFoundError if it does not exist.\n\
    UNLINK_AND_CREATE: replace whatever has the name with a new one.";

/// The `Flags` enum class, made once: an `enum.Enum` whose qualified name is
/// `NamedSemaphore.Flags`, so its members pickle.
pub fn flags_type(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static FLAGS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    FLAGS
        .get_or_try_init(py, || {
            let members: Vec<(&str, u8)> = MEMBERS.iter().map(|&(n, v, _)| (n, v)).collect();
            let kwargs = PyDict::new(py);
            kwargs.set_item("module", "namedsem")?;
            kwargs.set_item("qualname", "NamedSemaphore.Flags")?;
            let flags = py
                .import("enum")?
                .getattr("Enum")?
                .call(("Flags", members), Some(&kwargs))?;
            flags.setattr("__doc__", DOC)?;
            Ok(flags.unbind())
        })
        .map(|t| t.bind(py))
}

/// The crate's policy for a `Flags` member; `ValueError` for anything else.
pub fn existence(flag: &Bound<'_, PyAny>) -> PyResult<Existence> {
    let bad = || PyValueError::new_err("`handle_existence` must be a NamedSemaphore.Flags enum");
    if !flag.is_instance(flags_type(flag.py())?)? {
        return Err(bad());
    }
    let value: u8 = flag.getattr("value")?.extract()?;
    MEMBERS
        .iter()
        .find(|&&(_, v, _)| v == value)
        .map(|&(_, _, e)| e)
        .ok_or_else(bad)
}
