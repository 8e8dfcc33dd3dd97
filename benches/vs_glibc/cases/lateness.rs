//! Case 7: how late a 1 ms timed acquire on a zero semaphore returns: the
//! 50th and 99th percentiles, in µs.

use std::time::{Duration, Instant};

use named_semaphores::NamedSemaphore;

use crate::config::Config;
use crate::report::{Report, Unit};
use crate::runner::{compare_both, in_turn};
use crate::sem::{Glibc, Sem};

/// Runs case 7 on `cz` and `gz` (value 0, left at 0): two rows.
pub fn run(cfg: &Config, r: &mut Report, cz: &NamedSemaphore, gz: &Glibc) {
    let samples = if cfg.quick { 20 } else { 500 };
    for (label, pct) in [("p50", 50.0), ("p99", 99.0)] {
        compare_both(
            cfg,
            r,
            &format!("7 1 ms timed acquire: lateness {label}"),
            Unit::Micros,
            || {
                let (c, g) = lateness(cz, gz, samples);
                (percentile(&c, pct), percentile(&g, pct))
            },
        );
    }
}

/// Case 7: How late a 1 ms timed acquire on a zero semaphore returns, in µs,
/// sorted: `samples` waits on each side. The two sides take turns, one wait
/// each (in alternating order), so that a disturbance of the machine (the
/// only source of the tail) falls on both alike rather than on whichever side
/// happened to be running at the time.
fn lateness(crate_sem: &dyn Sem, glibc_sem: &dyn Sem, samples: usize) -> (Vec<f64>, Vec<f64>) {
    let timeout = Duration::from_millis(1);
    let late = |sem: &dyn Sem| {
        let start = Instant::now();
        assert!(!sem.acquire_timeout(timeout));
        let took = start.elapsed();
        assert!(took >= timeout, "returned early: {took:?}");
        (took - timeout).as_nanos() as f64 / 1000.0
    };
    let (mut c, mut g): (Vec<f64>, Vec<f64>) = (1..=samples)
        .map(|turn| in_turn(turn, || late(crate_sem), || late(glibc_sem)))
        .unzip();
    c.sort_by(f64::total_cmp);
    g.sort_by(f64::total_cmp);
    (c, g)
}

/// The value at `pct` percent of `sorted` (nearest rank).
fn percentile(sorted: &[f64], pct: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * pct / 100.0).round() as usize;
    sorted[i]
}
