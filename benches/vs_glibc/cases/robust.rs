//! Case 9: the robust mode's cost on the uncontended path, in a table of its
//! own: a permit taken and given back on a robust handle (its record updated
//! around each compare-and-swap) against the same on a plain handle of this
//! crate, ns per pair (the target is a ratio of at most 2, with no system
//! call).

use std::hint::black_box;
use std::time::Instant;

use named_semaphores::NamedSemaphore;

use crate::config::Config;
use crate::names::{crate_sem, robust_sem};
use crate::report::{Report, Unit};
use crate::runner::{compare, nanos_per};

/// Runs case 9 on semaphores of its own: one row.
pub fn run(cfg: &Config, r: &mut Report) {
    let case = "9 acquire + release, uncontended, permit";
    if !cfg.selects(case) {
        return;
    }
    let (robust, plain) = (robust_sem("robust", 1), crate_sem("plain-permit", 1));
    let n = cfg.iters(20_000_000);
    r.table("robust", "plain");
    compare(
        cfg,
        r,
        case,
        Unit::Nanos,
        || permits(&robust, n),
        || permits(&plain, n),
    );
}

/// A permit taken and dropped, `iters` times: ns per pair.
fn permits(sem: &NamedSemaphore, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let permit = black_box(sem).acquire().expect("acquire");
        drop(black_box(permit));
    }
    nanos_per(iters, start.elapsed())
}
