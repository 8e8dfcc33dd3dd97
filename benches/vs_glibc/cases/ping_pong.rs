//! Case 3: ping-pong between this process and a forked child over two
//! semaphores: µs per round trip, with the two processes on their own cores,
//! on their own cores right after sharing one, on one core, and unpinned
//! beside as many busy processes as there are CPUs ([`Placement`], [`Hogs`]).

use std::time::Instant;

use named_semaphores::NamedSemaphore;

use crate::config::Config;
use crate::procs::{cpus, in_children, pin, reap, unpin, SharedCounter};
use crate::report::{Report, Unit};
use crate::runner::compare;
use crate::sem::{Glibc, Sem};

/// Runs case 3 on the zero semaphores `(c1, c2)` and `(g1, g2)`: four rows
/// (two on a machine with one CPU).
pub fn run(
    cfg: &Config,
    r: &mut Report,
    (c1, c2): (&NamedSemaphore, &NamedSemaphore),
    (g1, g2): (&Glibc, &Glibc),
) {
    let n = cfg.iters(30_000);
    if cpus() >= 2 {
        compare(
            cfg,
            r,
            "3 ping-pong round trip, own cores",
            Unit::Micros,
            || ping_pong(c1, c2, n, Placement::OwnCores),
            || ping_pong(g1, g2, n, Placement::OwnCores),
        );
        let moved = Placement::Moved {
            warm: cfg.iters(20_000),
        };
        compare(
            cfg,
            r,
            "3 ping-pong round trip, own cores after one core",
            Unit::Micros,
            || ping_pong(c1, c2, n, moved),
            || ping_pong(g1, g2, n, moved),
        );
    }
    let n = cfg.iters(50_000);
    compare(
        cfg,
        r,
        "3 ping-pong round trip, both on one core",
        Unit::Micros,
        || ping_pong(c1, c2, n, Placement::OneCore),
        || ping_pong(g1, g2, n, Placement::OneCore),
    );
    compare(
        cfg,
        r,
        &format!("3 ping-pong round trip, {} busy processes beside", cpus()),
        Unit::Micros,
        || {
            let _h = Hogs::start(cpus());
            ping_pong(c1, c2, n, Placement::Free)
        },
        || {
            let _h = Hogs::start(cpus());
            ping_pong(g1, g2, n, Placement::Free)
        },
    );
}

/// Case 3: Ping-pong between this process and a forked child over two
/// semaphores: µs per round trip. `placement` pins the two processes.
fn ping_pong(ping: &dyn Sem, pong: &dyn Sem, iters: u64, placement: Placement) -> f64 {
    let warm = match placement {
        Placement::Moved { warm } => warm,
        _ => 0,
    };
    let answer = |rounds| {
        for _ in 0..rounds {
            ping.acquire();
            pong.release();
        }
    };
    let call = |rounds| {
        for _ in 0..rounds {
            ping.release();
            pong.acquire();
        }
    };
    let pids = in_children(1, |_| {
        if warm > 0 {
            pin(0);
            answer(warm);
        }
        placement.pin_child();
        answer(iters);
    });
    if warm > 0 {
        pin(0);
        call(warm);
    }
    placement.pin_parent();
    let start = Instant::now();
    call(iters);
    let elapsed = start.elapsed();
    unpin();
    reap(pids);
    elapsed.as_nanos() as f64 / iters as f64 / 1000.0
}

#[derive(Clone, Copy)]
enum Placement {
    /// Parent on CPU 0, child on CPU 1.
    OwnCores,
    /// Both on CPU 0: two runnable processes for one core.
    OneCore,
    /// Not pinned (used with background load).
    Free,
    /// `warm` untimed round trips with both on CPU 0, then parent on CPU 0
    /// and child on CPU 1: how soon the spin, shrunk to its floor on one
    /// core, pays again.
    Moved { warm: u64 },
}

impl Placement {
    fn pin_parent(self) {
        match self {
            Placement::OwnCores | Placement::OneCore | Placement::Moved { .. } => pin(0),
            Placement::Free => {}
        }
    }
    fn pin_child(self) {
        match self {
            Placement::OwnCores | Placement::Moved { .. } => pin(1),
            Placement::OneCore => pin(0),
            Placement::Free => {}
        }
    }
}

/// Busy processes that keep every CPU oversubscribed while they live.
struct Hogs(Vec<libc::pid_t>, SharedCounter);

impl Hogs {
    fn start(count: usize) -> Hogs {
        let stop = SharedCounter::new();
        let flag = stop.0 as usize;
        let pids = in_children(count, move |_| {
            // SAFETY: the page stays mapped in the child for its lifetime.
            let p = flag as *const u64;
            // SAFETY: as above; the parent writes it once to stop us.
            while unsafe { std::ptr::read_volatile(p) } == 0 {
                std::hint::spin_loop();
            }
        });
        Hogs(pids, stop)
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.1.set(1);
        reap(std::mem::take(&mut self.0));
    }
}
