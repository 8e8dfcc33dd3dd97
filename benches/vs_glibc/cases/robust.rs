//! Case 8: the robust mode's cost on the uncontended path: a permit taken
//! and given back on a robust handle (its record updated around each CAS),
//! beside glibc's `sem_wait` + `sem_post`; and, on the line after the row,
//! the same permit pair on a plain handle of the crate, with the ratio
//! robust / plain (the target is at most 2).

use std::hint::black_box;
use std::time::Instant;

use named_semaphores::{Existence, NamedSemaphore};

use crate::config::Config;
use crate::names::NAMES;
use crate::report::{median, Report, Unit};
use crate::runner::{compare_both, in_turn, nanos_per};
use crate::sem::{Glibc, Sem};

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

/// Runs case 8 on the robust `rs`, the plain `ps` and glibc's `gs`, all of
/// value 1: one row, and the robust / plain line.
pub fn run(cfg: &Config, r: &mut Report, rs: &NamedSemaphore, ps: &NamedSemaphore, gs: &Glibc) {
    let case = "8 robust acquire+release, uncontended";
    if !cfg.selects(case) {
        return;
    }
    let n = cfg.iters(20_000_000);
    let mut plain = Vec::new();
    let mut turn = 0;
    compare_both(cfg, r, case, Unit::Nanos, || {
        turn += 1;
        let (robust, glibc) = in_turn(turn, || permits(rs, n), || pairs(gs, n));
        plain.push(permits(ps, n));
        (robust, glibc)
    });
    // The warm-up's plain figure is not a run.
    plain.remove(0);
    let plain = median(&mut plain);
    let mut robust = Vec::new();
    for _ in 0..cfg.runs.max(1) {
        robust.push(permits(rs, n));
    }
    let robust = median(&mut robust);
    println!(
        "|   robust / plain permit | {robust:.1} ns | plain {plain:.1} ns | {:.2} |",
        robust / plain
    );
}

/// A permit taken and dropped, `iters` times: ns per pair.
fn permits(sem: &NamedSemaphore, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let permit = black_box(sem).access().expect("acquire");
        drop(black_box(permit));
    }
    nanos_per(iters, start.elapsed())
}

/// `sem_wait` + `sem_post`, `iters` times: ns per pair.
fn pairs(sem: &dyn Sem, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(sem).acquire();
        black_box(sem).release();
    }
    nanos_per(iters, start.elapsed())
}
