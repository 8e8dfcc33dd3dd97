//! The side-by-side runner: each case runs `--runs` times after one untimed
//! warm-up, the crate and glibc taking turns within each run (and turns at
//! going first), so that both sides see the same machine load; the medians
//! go to the [`Report`].

use std::time::Duration;

use crate::config::Config;
use crate::report::{Report, Unit};

/// Runs `crate_run` and `glibc_run` alternately `cfg.runs` times and adds a
/// row with their medians. Which side goes first alternates too.
pub fn compare(
    cfg: &Config,
    report: &mut Report,
    case: &str,
    unit: Unit,
    mut crate_run: impl FnMut() -> f64,
    mut glibc_run: impl FnMut() -> f64,
) {
    let mut turn = 0;
    compare_both(cfg, report, case, unit, || {
        turn += 1;
        in_turn(turn, &mut crate_run, &mut glibc_run)
    });
}

/// [`compare`] for a measurement that yields both sides' figures of one run
/// at once, `(crate, glibc)`.
pub fn compare_both(
    cfg: &Config,
    report: &mut Report,
    case: &str,
    unit: Unit,
    mut both: impl FnMut() -> (f64, f64),
) {
    if !cfg.selects(case) {
        return;
    }
    // One untimed warm-up of each side.
    both();
    let (mut c, mut g) = (Vec::new(), Vec::new());
    for _ in 0..cfg.runs {
        let (crate_figure, glibc_figure) = both();
        c.push(crate_figure);
        g.push(glibc_figure);
    }
    report.row(case, unit, &mut c, &mut g);
}

/// Runs both sides once, the crate's first on odd turns and glibc's first on
/// even ones, so that neither side always runs on the machine the other left.
pub fn in_turn<C, G>(
    turn: usize,
    crate_side: impl FnOnce() -> C,
    glibc_side: impl FnOnce() -> G,
) -> (C, G) {
    if turn % 2 == 1 {
        let c = crate_side();
        (c, glibc_side())
    } else {
        let g = glibc_side();
        (crate_side(), g)
    }
}

/// Nanoseconds per iteration.
pub fn nanos_per(iters: u64, elapsed: Duration) -> f64 {
    elapsed.as_nanos() as f64 / iters as f64
}
