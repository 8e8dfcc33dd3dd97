//! `namedsem.list_all()`: every semaphore file in `/dev/shm`, decoded, as
//! `SemaphoreEntry` objects (name, value, waiters, owner, group, mode, size,
//! status). Files that are not valid semaphores are listed too, with their
//! status saying why; reading them never maps them, so a hostile file cannot
//! raise `SIGBUS`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::to_py;

/// One semaphore file found by `list_all()`.
#[pyclass(module = "namedsem", frozen, get_all)]
pub struct SemaphoreEntry {
    /// The name with one leading slash, as `NamedSemaphore` takes it.
    name: Py<PyString>,
    /// The number of tokens, or `None` if the file could not be read.
    value: Option<u32>,
    /// The number of blocked waiters, or `None` if the file could not be read.
    waiters: Option<u32>,
    /// The user id that owns the file.
    owner: u32,
    /// The group id of the file.
    group: u32,
    /// The permission bits.
    mode: u32,
    /// The file size in bytes.
    size: u64,
    /// `"ok"` for a valid semaphore, otherwise why not: `"wrong-size"`,
    /// `"bad-header"`, `"not-regular-file"`, `"unreadable"`.
    status: &'static str,
}

#[pymethods]
impl SemaphoreEntry {
    /// Whether the file is a valid semaphore that `NamedSemaphore` can open.
    #[getter]
    fn valid(&self) -> bool {
        self.status == "ok"
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let opt = |v: Option<u32>| v.map_or_else(|| "None".to_owned(), |v| v.to_string());
        Ok(format!(
            "SemaphoreEntry(name={}, value={}, waiters={}, owner={}, group={}, mode=0o{:o}, size={}, status='{}')",
            self.name.bind(py).repr()?,
            opt(self.value),
            opt(self.waiters),
            self.owner,
            self.group,
            self.mode,
            self.size,
            self.status
        ))
    }
}

/// Every `sem.*` file in `/dev/shm`, sorted by name.
#[pyfunction]
pub fn list_all(py: Python<'_>) -> PyResult<Vec<SemaphoreEntry>> {
    let mut entries = py.detach(named_semaphores::list_all).map_err(to_py)?;
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
        .into_iter()
        .map(|e| {
            // The crate lists names with their slash already, as
            // `NamedSemaphore` takes them; decoded with the file-system
            // encoding, as `os.fsdecode` does: a name that is not UTF-8
            // still opens the same file.
            let name = OsString::from_vec(e.name)
                .into_pyobject(py)?
                .cast_into::<PyString>()?
                .unbind();
            let info = e.info;
            Ok(SemaphoreEntry {
                name,
                value: info.value,
                waiters: info.waiters,
                owner: info.uid,
                group: info.gid,
                mode: info.mode,
                size: info.size,
                status: info.status.as_str(),
            })
        })
        .collect()
}
