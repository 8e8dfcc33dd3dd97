//! Case 2: `try_acquire` on a zero semaphore (the failing fast path): ns
//! per attempt.

use std::hint::black_box;
use std::time::Instant;

use named_semaphores::NamedSemaphore;

use crate::config::Config;
use crate::report::{Report, Unit};
use crate::runner::{compare, nanos_per};
use crate::sem::{Glibc, Sem};

/// Runs case 2 on `cz` and `gz` (value 0, left at 0): one row.
pub fn run(cfg: &Config, r: &mut Report, cz: &NamedSemaphore, gz: &Glibc) {
    let n = cfg.iters(20_000_000);
    compare(
        cfg,
        r,
        "2 try_acquire on zero",
        Unit::Nanos,
        || try_zero(cz, n),
        || try_zero(gz, n),
    );
}

/// Case 2: try_acquire on a zero semaphore: ns per failed attempt.
fn try_zero(sem: &dyn Sem, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        assert!(!black_box(sem).try_acquire());
    }
    nanos_per(iters, start.elapsed())
}
