//! Case 6: the cost of a name: opening an existing semaphore and closing it
//! (also with one `try_acquire` between, the first touch of the mapping),
//! and creating a new one and unlinking it: µs per round.

use std::ffi::CString;
use std::hint::black_box;
use std::time::Instant;

use named_semaphores::NamedSemaphore;

use crate::config::Config;
use crate::names::NAMES;
use crate::report::{Report, Unit};
use crate::runner::{compare, nanos_per};
use crate::sem::{Glibc, Sem};

/// Runs case 6 on semaphores of its own: three rows.
pub fn run(cfg: &Config, r: &mut Report) {
    let existing = NAMES.fresh("existing");
    drop(
        NamedSemaphore::options()
            .initial_value(0)
            .existence(named_semaphores::Existence::CreateNew)
            .unlink_on_drop(false)
            .open(&existing)
            .expect("create"),
    );
    let n = cfg.iters(30_000);
    compare(
        cfg,
        r,
        "6 open existing + close",
        Unit::Micros,
        || open_close_crate(&existing, n),
        || open_close_glibc(&existing, n),
    );
    // The semaphore holds no token, so the try_acquire changes nothing.
    compare(
        cfg,
        r,
        "6 open existing + try_acquire + close",
        Unit::Micros,
        || open_use_close(|| NamedSemaphore::open(&existing).expect("open"), n),
        || open_use_close(|| Glibc::open(&existing, 0, 0), n),
    );
    let fresh = NAMES.fresh("fresh");
    let n = cfg.iters(15_000);
    compare(
        cfg,
        r,
        "6 create new + unlink",
        Unit::Micros,
        || create_unlink_crate(&fresh, n),
        || create_unlink_glibc(&fresh, n),
    );
}

/// Case 6a: Open an existing semaphore and close it: µs per pair.
fn open_close_crate(name: &str, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        drop(black_box(NamedSemaphore::open(name).expect("open")));
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}

/// Case 6a on glibc's side: `sem_open` and `sem_close`.
fn open_close_glibc(name: &str, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        drop(black_box(Glibc::open(name, 0, 0)));
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}

/// Case 6a, as used: open, one `try_acquire` (the first touch of the
/// mapping), close: µs per round. The crate reads the header at open, so it
/// takes the mapping's page fault inside `open`; glibc takes it at first use.
fn open_use_close<S: Sem>(open: impl Fn() -> S, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let sem = open();
        black_box(sem.try_acquire());
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}

/// Case 6b: Create a new semaphore and unlink it: µs per pair.
fn create_unlink_crate(name: &str, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let sem = NamedSemaphore::create(name, 0).expect("create");
        sem.unlink().expect("unlink");
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}

/// Case 6b on glibc's side: `sem_open(O_CREAT | O_EXCL)`, `sem_unlink`,
/// `sem_close`.
fn create_unlink_glibc(name: &str, iters: u64) -> f64 {
    let c = CString::new(format!("/{name}")).expect("name");
    let start = Instant::now();
    for _ in 0..iters {
        let sem = Glibc::open(name, libc::O_CREAT | libc::O_EXCL, 0);
        // SAFETY: valid C string.
        assert_eq!(unsafe { libc::sem_unlink(c.as_ptr()) }, 0, "sem_unlink");
        drop(sem);
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}
