//! Case 1: uncontended acquire + release in one thread, on a value-1
//! semaphore: ns per pair.

use std::hint::black_box;
use std::time::Instant;

use named_semaphores::NamedSemaphore;

use crate::config::Config;
use crate::report::{Report, Unit};
use crate::runner::{compare, nanos_per};
use crate::sem::{Glibc, Sem};

/// Runs case 1 on `cs` and `gs` (value 1): one row.
pub fn run(cfg: &Config, r: &mut Report, cs: &NamedSemaphore, gs: &Glibc) {
    let n = cfg.iters(20_000_000);
    compare(
        cfg,
        r,
        "1 acquire+release, uncontended",
        Unit::Nanos,
        || uncontended(cs, n),
        || uncontended(gs, n),
    );
}

/// Case 1: Uncontended acquire + release, one thread: ns per pair.
fn uncontended(sem: &dyn Sem, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(sem).acquire();
        black_box(sem).release();
    }
    nanos_per(iters, start.elapsed())
}
