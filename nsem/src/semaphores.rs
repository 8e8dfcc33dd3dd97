//! Reaching semaphores: one opened by name, and the directory's entries
//! whose names match the patterns given.

use named_semaphores::{NamedSemaphore, OwnedEntry};

use crate::command::Cli;
use crate::failure::{error, shown, Failure, EXIT_ERROR};
use crate::glob;

/// Opens an existing semaphore, leaving it in place at the end.
pub fn open(cli: &Cli, name: &str) -> Result<NamedSemaphore, Failure> {
    NamedSemaphore::options()
        .directory(&cli.dir)
        .unlink_on_drop(false)
        .open(name)
        .map_err(|e| error(name, e))
}

/// Opens an existing robust semaphore as one of its recorded holders (`run
/// --robust`). A semaphore without a record is refused rather than given
/// one: its limit, the value it was created with, is not known here.
pub fn open_holder(cli: &Cli, name: &str) -> Result<NamedSemaphore, Failure> {
    let info = named_semaphores::inspect_in(&cli.dir, name).map_err(|e| error(name, e))?;
    if info.status.is_valid() && !info.robust {
        return Err(Failure {
            code: EXIT_ERROR,
            message: format!(
                "{}: not a robust semaphore (nsem create {} --robust --exist-ok --value N, \
                 N the value it was created with, gives it a record)",
                shown(name),
                shown(name)
            ),
        });
    }
    NamedSemaphore::options()
        .directory(&cli.dir)
        .robust(true)
        .unlink_on_drop(false)
        .open(name)
        .map_err(|e| error(name, e))
}

/// The semaphores of the directory whose names match one of `patterns`
/// (every one if there are none), sorted by name.
pub fn entries(dir: &str, patterns: &[String]) -> Result<Vec<OwnedEntry>, Failure> {
    let mut entries = named_semaphores::list_all_in(dir).map_err(|e| Failure {
        code: EXIT_ERROR,
        message: format!(
            "{dir}: cannot list the directory: {}",
            std::io::Error::from_raw_os_error(e.raw_os_error())
        ),
    })?;
    if !patterns.is_empty() {
        entries.retain(|e| {
            patterns
                .iter()
                .any(|p| glob::matches(p.as_bytes(), &e.name))
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}
