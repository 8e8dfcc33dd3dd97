//! `namedsem`: POSIX named semaphores for Python on the `named-semaphores`
//! crate, with the API of the `named_semaphores` package (over `posix_ipc`)
//! and without its flaws.
//!
//! | file | what it holds |
//! | --- | --- |
//! | `semaphore.rs` | the `NamedSemaphore` class and unpickling |
//! | `flags.rs` | `NamedSemaphore.Flags` and its mapping to the crate's `Existence` |
//! | `wait.rs` | `acquire`'s arguments and the blocking wait (GIL released, signals) |
//! | `tokens.rs` | every call into the crate's token operations |
//! | `listing.rs` | `list_all()` and `SemaphoreEntry` |
//! | `robust.rs` | the robust mode's `Recovery` and `Holder` |
//! | `args.rs` | arguments checked as the existing package checks them |
//! | `errors.rs` | crate errors as Python exceptions |

use pyo3::prelude::*;

mod args;
mod errors;
mod flags;
mod listing;
mod robust;
mod semaphore;
mod tokens;
mod wait;

/// Removes the name `name` (`sem_unlink`); processes that have the semaphore
/// open keep using it.
#[pyfunction]
fn unlink(name: std::ffi::OsString) -> PyResult<()> {
    use std::os::unix::ffi::OsStringExt;
    named_semaphores::unlink(name.into_vec()).map_err(errors::to_py)
}

#[pymodule]
fn namedsem(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<semaphore::PySemaphore>()?;
    m.add_class::<listing::SemaphoreEntry>()?;
    m.add(
        "InvalidSemaphoreError",
        py.get_type::<errors::InvalidSemaphoreError>(),
    )?;
    m.add("Recovery", robust::recovery_type(py)?)?;
    m.add("Holder", robust::holder_type(py)?)?;
    m.add("VALUE_MAX", named_semaphores::VALUE_MAX)?;
    m.add_function(wrap_pyfunction!(listing::list_all, m)?)?;
    m.add_function(wrap_pyfunction!(unlink, m)?)?;
    m.add_function(wrap_pyfunction!(semaphore::_reopen, m)?)?;
    Ok(())
}
