//! Side-by-side benchmarks: this crate against glibc's `sem_*` (through the
//! `libc` crate), in the same process and the same run.
//!
//! ```text
//! cargo bench --bench vs_glibc                    # the full measurement
//! cargo bench --bench vs_glibc -- --quick         # a smoke run: proves every case runs
//! cargo bench --bench vs_glibc -- --runs 9 "3 ping-pong"   # more runs, cases whose name contains "3 ping-pong"
//! ```
//!
//! Every case is run `--runs` times (default 7), alternating crate and glibc
//! within each run so that both see the same machine load. The table gives
//! the median of the runs for each side, the spread (min..max) and the ratio
//! of the medians, crate / glibc, in the case's own unit: for times, lower is
//! better and a ratio below 1 means the crate is faster; for throughputs
//! (`/s`), higher is better and a ratio above 1 means the crate is faster.
//!
//! Both sides use named semaphores (`/dev/shm/sem.NAME`): `NamedSemaphore`
//! for the crate, `sem_open` for glibc. Every name is unique to this process
//! and removed at the end, also when a case panics.
//!
//! The files: `config` (the command line), `runner` (the side-by-side
//! runs), `report` (the tables), `sem` (the two implementations behind one
//! trait), `peers` (case 8's System V semaphore and lock files), `names`
//! (unique names, removed at the end), `procs` (CPUs, forked children,
//! shared memory) and `cases/`, one module per case.
//!
//! Case 8 has a table of its own: what programs use today for a token that
//! comes back when its holder dies, and this crate's robust mode, against
//! this crate's plain pair.
//! Case 9, in a table of its own too: the robust mode's permit pair against
//! a plain handle's.

mod cases;
mod config;
mod names;
mod peers;
mod procs;
mod report;
mod runner;
mod sem;

use cases::{
    contended, fairness, lateness, open_close, ping_pong, recovery, robust, try_zero, uncontended,
    wake,
};
use config::Config;
use names::{crate_sem, glibc_sem, Cleanup};
use procs::start_affinity;
use report::Report;

fn main() {
    let cfg = Config::from_args();
    let _cleanup = Cleanup;
    start_affinity();
    let mut report = Report::start(&cfg);
    let r = &mut report;

    // Each semaphore is made just before the first case that uses it and
    // lives until the last case is done; the zero pair serves cases 2, 5, 7.
    let (cs, gs) = (crate_sem("uncontended", 1), glibc_sem("uncontended", 1));
    let (cz, gz) = (crate_sem("zero", 0), glibc_sem("zero", 0));
    uncontended::run(&cfg, r, &cs, &gs);
    try_zero::run(&cfg, r, &cz, &gz);

    let (c1, c2) = (crate_sem("ping", 0), crate_sem("pong", 0));
    let (g1, g2) = (glibc_sem("ping", 0), glibc_sem("pong", 0));
    ping_pong::run(&cfg, r, (&c1, &c2), (&g1, &g2));

    let (cm, gm) = (crate_sem("mutex", 1), glibc_sem("mutex", 1));
    contended::run(&cfg, r, &cm, &gm);
    fairness::run(&cfg, r, &cm, &gm);

    wake::run(&cfg, r, &cz, &gz);
    open_close::run(&cfg, r);
    lateness::run(&cfg, r, &cz, &gz);
    recovery::run(&cfg, r);
    robust::run(&cfg, r);

    drop((cs, gs, cz, gz, c1, c2, g1, g2, cm, gm));
    report.finish();
}
