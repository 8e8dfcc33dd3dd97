//! Case 5: waking 64 threads blocked on a zero semaphore with one
//! `release_n(64)` (glibc: 64 `sem_post`): µs until every one has returned.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use named_semaphores::NamedSemaphore;

use crate::config::Config;
use crate::report::{median, Report, Unit};
use crate::runner::compare;
use crate::sem::{Glibc, Sem};

/// Runs case 5 on `cz` and `gz` (value 0, left at 0): one row.
pub fn run(cfg: &Config, r: &mut Report, cz: &NamedSemaphore, gz: &Glibc) {
    let rounds = if cfg.quick { 2 } else { 15 };
    compare(
        cfg,
        r,
        "5 wake 64 blocked waiters (release_n(64) / 64 sem_post)",
        Unit::Micros,
        || wake_64(cz, rounds),
        || wake_64(gz, rounds),
    );
}

/// Case 5: 64 threads blocked on a zero semaphore; one `release_n(64)` (or 64
/// posts) and the time until every one of them has returned: µs, median of
/// `rounds`.
fn wake_64(sem: &(dyn Sem + Sync), rounds: usize) -> f64 {
    const N: u32 = 64;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let running = AtomicU32::new(0);
        let elapsed = std::thread::scope(|s| {
            for _ in 0..N {
                s.spawn(|| {
                    sem.acquire();
                    running.fetch_add(1, Ordering::Release);
                });
            }
            // Every waiter registered, then a moment to be asleep in the kernel.
            let limit = Instant::now() + Duration::from_secs(30);
            while sem.waiters() < N {
                assert!(Instant::now() < limit, "waiters never blocked");
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(Duration::from_millis(2));
            let start = Instant::now();
            sem.release_n(N);
            while running.load(Ordering::Acquire) < N {
                std::hint::spin_loop();
            }
            start.elapsed()
        });
        times.push(elapsed.as_nanos() as f64 / 1000.0);
    }
    median(&mut times)
}
