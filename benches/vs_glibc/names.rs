//! Semaphore names: every name a run makes is unique to the process
//! (`nsem-bench-PID-TAG-N`) and recorded, and its `/dev/shm` file is removed
//! at the end of the run, also when a case panics ([`Cleanup`]). Also the
//! constructors the cases use: a crate semaphore (plain or robust) and a
//! glibc one under a fresh name, and [`Names::unique`] for other files, whose owners remove
//! them.

use std::sync::atomic::{AtomicU32, Ordering};

use named_semaphores::{Existence, NamedSemaphore};

use crate::sem::Glibc;

/// Every name this run made, removed at exit and on panic.
pub struct Names {
    list: std::sync::Mutex<Vec<String>>,
    counter: AtomicU32,
}

/// The names of this run.
pub static NAMES: Names = Names {
    list: std::sync::Mutex::new(Vec::new()),
    counter: AtomicU32::new(0),
};

impl Names {
    /// A new semaphore name with `tag` in it, recorded for removal.
    pub fn fresh(&self, tag: &str) -> String {
        let name = self.unique(tag);
        self.list.lock().unwrap().push(name.clone());
        name
    }

    /// A new name with `tag` in it, not recorded: its user removes the file.
    pub fn unique(&self, tag: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("nsem-bench-{}-{tag}-{n}", std::process::id())
    }

    fn remove_all(&self) {
        let list = std::mem::take(&mut *self.list.lock().unwrap_or_else(|e| e.into_inner()));
        for name in list {
            let _ = std::fs::remove_file(format!("/dev/shm/sem.{name}"));
        }
    }
}

/// Removes every bench semaphore file when dropped (panics included).
pub struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        NAMES.remove_all();
    }
}

/// A crate semaphore with a fresh name, its file removed by the `Names` list.
pub fn crate_sem(tag: &str, value: u32) -> NamedSemaphore {
    NamedSemaphore::options()
        .initial_value(value)
        .existence(named_semaphores::Existence::CreateNew)
        .unlink_on_drop(false)
        .open(NAMES.fresh(tag))
        .expect("create")
}

/// A glibc semaphore with a fresh name, its file removed by the `Names` list.
pub fn glibc_sem(tag: &str, value: u32) -> Glibc {
    Glibc::open(&NAMES.fresh(tag), libc::O_CREAT | libc::O_EXCL, value)
}

/// A robust semaphore holding `value` tokens, under a fresh name.
pub fn robust_sem(tag: &str, value: u32) -> NamedSemaphore {
    NamedSemaphore::options()
        .robust(true)
        .initial_value(value)
        .existence(Existence::CreateNew)
        .unlink_on_drop(false)
        .open(NAMES.fresh(tag))
        .expect("create robust")
}
