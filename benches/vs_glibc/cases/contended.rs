//! Case 4: a value-1 semaphore as a mutex around a non-atomic increment,
//! taken by 2, 4 and 8 threads and by 2 and 4 forked processes:
//! acquisitions per second (the increment's total proves it excluded).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use named_semaphores::NamedSemaphore;

use crate::config::Config;
use crate::procs::{in_children, reap, SharedCounter};
use crate::report::{Report, Unit};
use crate::runner::compare;
use crate::sem::{Glibc, Sem};

/// Runs case 4 on `cm` and `gm` (value 1): five rows.
pub fn run(cfg: &Config, r: &mut Report, cm: &NamedSemaphore, gm: &Glibc) {
    for threads in [2, 4, 8] {
        let per = cfg.iters(1_600_000) / threads as u64;
        compare(
            cfg,
            r,
            &format!("4 contended, {threads} threads"),
            Unit::PerSec,
            || contended_threads(cm, threads, per),
            || contended_threads(gm, threads, per),
        );
    }
    for procs in [2, 4] {
        let per = cfg.iters(1_600_000) / procs as u64;
        compare(
            cfg,
            r,
            &format!("4 contended, {procs} processes"),
            Unit::PerSec,
            || contended_processes(cm, procs, per),
            || contended_processes(gm, procs, per),
        );
    }
}

/// Case 4: `workers` threads, each taking the value-1 semaphore `per_worker`
/// times around a non-atomic increment: acquisitions per second.
fn contended_threads(sem: &dyn Sem, workers: usize, per_worker: u64) -> f64 {
    let counter = SharedCounter::new();
    let go = AtomicBool::new(false);
    let start = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    while !go.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                    for _ in 0..per_worker {
                        sem.acquire();
                        counter.bump();
                        sem.release();
                    }
                })
            })
            .collect();
        let start = Instant::now();
        go.store(true, Ordering::Release);
        for h in handles {
            h.join().expect("worker");
        }
        start
    });
    let elapsed = start.elapsed();
    let total = workers as u64 * per_worker;
    assert_eq!(counter.get(), total, "the semaphore did not exclude");
    total as f64 / elapsed.as_secs_f64()
}

/// Case 4: The same with `workers` forked processes.
fn contended_processes(sem: &dyn Sem, workers: usize, per_worker: u64) -> f64 {
    let counter = SharedCounter::new();
    let gate = SharedCounter::new();
    let gate_addr = gate.0 as usize;
    let pids = in_children(workers, |_| {
        let p = gate_addr as *const u64;
        // SAFETY: the page stays mapped for the child's lifetime.
        while unsafe { std::ptr::read_volatile(p) } == 0 {
            std::hint::spin_loop();
        }
        for _ in 0..per_worker {
            sem.acquire();
            counter.bump();
            sem.release();
        }
    });
    let start = Instant::now();
    gate.set(1);
    reap(pids);
    let elapsed = start.elapsed();
    let total = workers as u64 * per_worker;
    assert_eq!(counter.get(), total, "the semaphore did not exclude");
    total as f64 / elapsed.as_secs_f64()
}
