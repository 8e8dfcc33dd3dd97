//! Case 4's fairness figures: with the value-1 semaphore of case 4 taken
//! around a short critical section by 2 and 4 forked processes, how often
//! the process that just released it takes it back before another one gets
//! it, and in particular after releasing while another process slept in
//! the semaphore's futex wait. Neither glibc nor the crate promises any
//! order among waiters; these figures say what that means in practice.
//! Printed below the table (they are not timings).

use named_semaphores::NamedSemaphore;

use crate::config::Config;
use crate::procs::{in_children, reap, SharedCounter};
use crate::report::Report;
use crate::sem::{Glibc, Sem};

/// Measures both sides for 2 and 4 processes and adds a note for each.
pub fn run(cfg: &Config, r: &mut Report, cm: &NamedSemaphore, gm: &Glibc) {
    for procs in [2, 4] {
        let case = format!("4 re-takes, {procs} processes");
        if !cfg.selects(&case) {
            continue;
        }
        let per = cfg.iters(400_000) / procs as u64;
        let (c, g) = (handoffs(cm, procs, per), handoffs(gm, procs, per));
        r.note(format!("{case}: crate {c}; glibc {g}"));
    }
}

/// The `u64` slots of the shared page, written only inside the critical
/// section: who released last and whether a process slept on the semaphore
/// then, and the counts.
#[derive(Clone, Copy)]
enum Slot {
    Last,
    LastSawSleeper,
    Acquired,
    Retaken,
    ReleasedToSleeper,
    RetakenFromSleeper,
    Streak,
    LongestStreak,
}
use Slot::*;

/// The counts of one run.
struct Handoffs {
    acquired: u64,
    retaken: u64,
    released_to_sleeper: u64,
    retaken_from_sleeper: u64,
    longest_streak: u64,
}

impl std::fmt::Display for Handoffs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |n: u64, of: u64| 100.0 * n as f64 / of.max(1) as f64;
        write!(
            f,
            "the releaser took it back in {:.1}% of {} acquisitions, and in {:.1}% of the {} \
             releases made while another process slept on it; longest run by one process {}",
            pct(self.retaken, self.acquired),
            self.acquired,
            pct(self.retaken_from_sleeper, self.released_to_sleeper),
            self.released_to_sleeper,
            self.longest_streak,
        )
    }
}

/// `workers` forked processes each take `sem` `per_worker` times, and
/// record who held it before them.
fn handoffs(sem: &dyn Sem, workers: usize, per_worker: u64) -> Handoffs {
    let page = SharedCounter::new();
    let gate = SharedCounter::new();
    let (page_addr, gate_addr) = (page.0 as usize, gate.0 as usize);
    let pids = in_children(workers, |i| {
        let me = i as u64 + 1;
        let slot = |n: Slot| (page_addr as *mut u64).wrapping_add(n as usize);
        // SAFETY: both pages stay mapped for the child's lifetime; the slots
        // are written only while the semaphore is held, so never by two
        // processes at once.
        let get = |n: Slot| unsafe { std::ptr::read_volatile(slot(n)) };
        // SAFETY: as above.
        let set = |n: Slot, v: u64| unsafe { std::ptr::write_volatile(slot(n), v) };
        // SAFETY: as above.
        while unsafe { std::ptr::read_volatile(gate_addr as *const u64) } == 0 {
            std::hint::spin_loop();
        }
        for _ in 0..per_worker {
            sem.acquire();
            set(Acquired, get(Acquired) + 1);
            let (again, after_sleeper) = (get(Last) == me, get(LastSawSleeper) == 1);
            set(Retaken, get(Retaken) + u64::from(again));
            set(
                RetakenFromSleeper,
                get(RetakenFromSleeper) + u64::from(again && after_sleeper),
            );
            let streak = if again { get(Streak) + 1 } else { 1 };
            set(Streak, streak);
            set(LongestStreak, get(LongestStreak).max(streak));
            set(Last, me);
            let sleeper = sem.waiters() > 0;
            set(LastSawSleeper, u64::from(sleeper));
            set(
                ReleasedToSleeper,
                get(ReleasedToSleeper) + u64::from(sleeper),
            );
            sem.release();
        }
    });
    gate.set(1);
    reap(pids);
    // SAFETY: every writer has exited; the page is still mapped.
    let get = |n: Slot| unsafe { std::ptr::read_volatile(page.0.wrapping_add(n as usize)) };
    let h = Handoffs {
        acquired: get(Acquired),
        retaken: get(Retaken),
        released_to_sleeper: get(ReleasedToSleeper),
        retaken_from_sleeper: get(RetakenFromSleeper),
        longest_streak: get(LongestStreak),
    };
    assert_eq!(
        h.acquired,
        workers as u64 * per_worker,
        "the semaphore did not exclude"
    );
    h
}
