//! The spin before sleeping: a bounded number of polls for a token, made by
//! `acquire_slow` *before* it registers as a waiter, so that a token released
//! within a few microseconds is taken without a system call on either side
//! (the releaser sees no registered waiter and makes no wake-up call).
//!
//! A spinning waiter is not registered, so a releaser, this crate or glibc,
//! rightly does not wake it; once it registers, the protocol is glibc's. The
//! spin is left out under the model checker (`cfg(loom)`), which explores
//! the registered protocol.
//!
//! The bound adapts, per process, to whether spinning pays:
//! - a spin that ends with a token doubles it (up to [`SPIN_MAX`] polls);
//! - one that ends empty-handed halves it (down to [`SPIN_MIN`]); when the
//!   releaser cannot run while we spin (more runnable processes than cores),
//!   spins fail and shrink to a few polls, so an oversubscribed machine pays
//!   almost nothing for them;
//! - a sleep that lasted longer than a full spin costs doubles it too: a spin
//!   that long is cheap beside such sleeps, and it is what lets two peers that
//!   each have a core, and have fallen into waking each other through the
//!   kernel, start handing off by spinning again. At the floor only one sleep
//!   in [`TIME_ONE_IN`] is timed, to save the clock reads.
//!
//! A timed wait spins too, before it sleeps until its deadline: a timeout
//! shorter than a spin can therefore return up to one full spin late (about
//! 15 µs where a poll costs 60 ns), less than the kernel's default timer slack
//! of 50 µs that every timed futex wait pays.
//!
//! `--cfg named_semaphores_no_spin` leaves the spin out, to measure what it
//! does (see the performance notes).

#[cfg(not(any(loom, named_semaphores_no_spin)))]
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

#[cfg(not(any(loom, named_semaphores_no_spin)))]
use crate::futex;

/// The most polls a spin makes (each a `core::hint::spin_loop` and a relaxed
/// load).
#[cfg(not(any(loom, named_semaphores_no_spin)))]
const SPIN_MAX: u32 = 256;

/// The fewest. One poll costs next to nothing where spinning never pays (a
/// peer that shares our only core cannot release while we spin), and the
/// bound grows back after sleeps that show spinning would be cheap.
#[cfg(not(any(loom, named_semaphores_no_spin)))]
const SPIN_MIN: u32 = 1;

/// Spins of at least this many polls calibrate [`POLL_NANOS`]; shorter ones
/// skip the clock read that would cost more than they do.
#[cfg(not(any(loom, named_semaphores_no_spin)))]
const CALIBRATE_MIN: u32 = 16;

/// The current bound, shared by every semaphore in the process. Updates race
/// harmlessly: it is a hint.
#[cfg(not(any(loom, named_semaphores_no_spin)))]
static BOUND: AtomicU32 = AtomicU32::new(SPIN_MAX);

/// Nanoseconds one poll takes, from failed spins of at least
/// [`CALIBRATE_MIN`] polls (0 until one failed); see [`calibrated`].
#[cfg(not(any(loom, named_semaphores_no_spin)))]
static POLL_NANOS: AtomicU32 = AtomicU32::new(0);

/// The most a poll is taken to cost. A poll is a pause instruction and a
/// load, tens of nanoseconds on real hardware; a sample far above that is a
/// spin that was preempted, not a slow poll.
#[cfg(not(any(loom, named_semaphores_no_spin)))]
const POLL_NANOS_MAX: u32 = 2_000;

/// The new poll cost from the `old` one and a `sample` (nanoseconds per poll
/// of one failed spin).
///
/// A spin that was preempted or interrupted measures far more than its polls
/// cost, and the estimate must survive that: it follows a smaller sample at
/// once, but a larger one only by an eighth per sample, and never beyond
/// [`POLL_NANOS_MAX`]. A genuine slowdown (a lower clock frequency) still
/// shows within a few dozen spins; one preemption moves it by an eighth.
/// (An inflated estimate would make sleeps look short beside a full spin, so
/// that the bound, once at its floor, stopped growing back.)
#[cfg(not(any(loom, named_semaphores_no_spin)))]
fn calibrated(old: u32, sample: u64) -> u32 {
    let sample = u32::try_from(sample)
        .unwrap_or(u32::MAX)
        .min(POLL_NANOS_MAX);
    if old == 0 {
        return sample;
    }
    sample.min(old.saturating_add(old / 8 + 1))
}

/// At the floor ([`SPIN_MIN`]), only one sleep in this many is timed. There
/// the spins keep failing (typically: the peer shares our only core), and the
/// two clock reads that time a sleep were the one cost the spin still added
/// (about 2% of a one-core ping-pong round trip); timing a sample of the
/// sleeps still notices when sleeps grow long.
#[cfg(not(any(loom, named_semaphores_no_spin)))]
const TIME_ONE_IN: u32 = 8;

/// Sleeps at the floor since the last timed one.
#[cfg(not(any(loom, named_semaphores_no_spin)))]
static UNTIMED: AtomicU32 = AtomicU32::new(0);

/// Returned by a spin that found no token: held while the caller registers
/// and sleeps, it measures the sleep when dropped (if it is timed).
#[must_use]
pub(super) struct Sleep {
    #[cfg(not(any(loom, named_semaphores_no_spin)))]
    since: Option<rustix::time::Timespec>,
}

/// Polls `take` (which tries to take a token) up to the current bound.
/// `None` if it took a token; otherwise a [`Sleep`] to hold while sleeping.
#[cfg(not(any(loom, named_semaphores_no_spin)))]
#[inline]
pub(super) fn spin(mut take: impl FnMut() -> bool) -> Option<Sleep> {
    let limit = BOUND.load(Relaxed);
    let start = (limit >= CALIBRATE_MIN).then(futex::now);
    for _ in 0..limit {
        core::hint::spin_loop();
        if take() {
            if limit < SPIN_MAX {
                BOUND.store((limit * 2).min(SPIN_MAX), Relaxed);
            }
            return None;
        }
    }
    if limit > SPIN_MIN {
        BOUND.store((limit / 2).max(SPIN_MIN), Relaxed);
    } else {
        let untimed = UNTIMED.load(Relaxed);
        if untimed + 1 < TIME_ONE_IN {
            UNTIMED.store(untimed + 1, Relaxed);
            return Some(Sleep { since: None });
        }
        UNTIMED.store(0, Relaxed);
    }
    let end = futex::now();
    if let Some(start) = start {
        let per_poll = nanos_between(&start, &end) / u64::from(limit);
        POLL_NANOS.store(calibrated(POLL_NANOS.load(Relaxed), per_poll), Relaxed);
    }
    Some(Sleep { since: Some(end) })
}

/// Under the model checker: no spin.
#[cfg(any(loom, named_semaphores_no_spin))]
pub(super) fn spin(_take: impl FnMut() -> bool) -> Option<Sleep> {
    Some(Sleep {})
}

#[cfg(not(any(loom, named_semaphores_no_spin)))]
impl Drop for Sleep {
    fn drop(&mut self) {
        let Some(since) = &self.since else { return };
        let slept = nanos_between(since, &futex::now());
        let full_spin = u64::from(POLL_NANOS.load(Relaxed)) * u64::from(SPIN_MAX);
        if slept > full_spin {
            let limit = BOUND.load(Relaxed);
            if limit < SPIN_MAX {
                BOUND.store((limit * 2).min(SPIN_MAX), Relaxed);
            }
        }
    }
}

/// `to - from` in nanoseconds, 0 if the clock went backwards.
#[cfg(not(any(loom, named_semaphores_no_spin)))]
fn nanos_between(from: &rustix::time::Timespec, to: &rustix::time::Timespec) -> u64 {
    let secs = to.tv_sec.saturating_sub(from.tv_sec);
    #[allow(clippy::useless_conversion)] // Nsecs is not i64 on every target
    let nanos = secs
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(to.tv_nsec) - i64::from(from.tv_nsec));
    u64::try_from(nanos).unwrap_or(0)
}

#[cfg(all(test, not(any(loom, named_semaphores_no_spin))))]
mod tests {
    use super::*;

    /// Feeds `samples` to [`calibrated`] from `start`, returning each estimate.
    fn run(start: u32, samples: &[u64]) -> std::vec::Vec<u32> {
        let mut est = start;
        samples
            .iter()
            .map(|&s| {
                est = calibrated(est, s);
                est
            })
            .collect()
    }

    #[test]
    fn the_first_sample_sets_the_estimate() {
        assert_eq!(calibrated(0, 60), 60);
        assert_eq!(calibrated(0, 0), 0);
    }

    #[test]
    fn a_preempted_spin_barely_moves_it() {
        // 16 polls that took 10 ms: a preemption, not 625 us polls.
        assert_eq!(calibrated(60, 10_000_000 / 16), 68);
        // Even several in a row stay far below the sample.
        let est = run(60, &[625_000; 4]);
        assert_eq!(est, [68, 77, 87, 98]);
        // And one honest sample undoes them at once.
        assert_eq!(calibrated(98, 60), 60);
    }

    #[test]
    fn a_genuine_slowdown_is_followed() {
        let est = run(60, &[150; 12]);
        assert!(est.windows(2).all(|w| w[0] <= w[1]), "{est:?}");
        assert_eq!(*est.last().unwrap(), 150, "{est:?}");
    }

    #[test]
    fn the_estimate_is_bounded() {
        assert_eq!(calibrated(0, u64::MAX), POLL_NANOS_MAX);
        assert_eq!(calibrated(POLL_NANOS_MAX, u64::MAX), POLL_NANOS_MAX);
        assert_eq!(calibrated(u32::MAX, 10), 10);
    }

    #[test]
    fn a_sleep_longer_than_a_full_spin_is_seen_after_a_preemption() {
        // Calibrated at 60 ns, then one preempted spin: a full spin is still
        // about 17 us, so a 100 us sleep (a peer on another core that took a
        // while) still counts as long and lets the bound grow back.
        let est = run(60, &[625_000]);
        let full_spin = u64::from(est[0]) * u64::from(SPIN_MAX);
        assert!(full_spin < 100_000, "{full_spin}");
    }
}
