//! A small futex mutex for the table of open named semaphores: three states
//! (Drepper, "Futexes Are Tricky"), process-private futex operations.

use core::sync::atomic::{AtomicU32, Ordering::*};

use rustix::thread::futex;

/// Unlocked.
const UNLOCKED: u32 = 0;
/// Locked, no thread waiting.
const LOCKED: u32 = 1;
/// Locked, and a thread may be sleeping on the word.
const CONTENDED: u32 = 2;

pub(crate) struct Lock {
    state: AtomicU32,
}

/// Holds the lock; unlocks on drop.
#[must_use = "if unused the lock is released at once"]
pub(crate) struct Guard<'a> {
    lock: &'a Lock,
}

impl Lock {
    pub(crate) const fn new() -> Self {
        Lock {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    pub(crate) fn lock(&self) -> Guard<'_> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        Guard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        while self.state.swap(CONTENDED, Acquire) != UNLOCKED {
            // EINTR, EAGAIN and spurious wake-ups all mean: try again.
            let _ = futex::wait(&self.state, futex::Flags::PRIVATE, CONTENDED, None);
        }
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if self.lock.state.swap(UNLOCKED, Release) == CONTENDED {
            let _ = futex::wake(&self.lock.state, futex::Flags::PRIVATE, 1);
        }
    }
}
