//! The futex calls, and nothing else: wait on a 32-bit word until woken or
//! until an absolute `CLOCK_MONOTONIC` deadline, and wake sleepers.
//!
//! Futexes here are always *shared* (no `FUTEX_PRIVATE_FLAG`): the word lives
//! in a `MAP_SHARED` file mapping that other processes, glibc ones included,
//! wait on and wake through. glibc builds its operation as
//! `(op | 128) ^ private` with `private == 128`, which is the same shared
//! operation, so a `FUTEX_WAKE` from either side reaches sleepers of both.

#[cfg(not(loom))]
use core::num::NonZeroU32;
#[cfg(not(loom))]
use core::sync::atomic::AtomicU32;
use core::time::Duration;

#[cfg(not(loom))]
use rustix::io::Errno;
#[cfg(not(loom))]
use rustix::thread::futex;
use rustix::time::Timespec;
#[cfg(not(loom))]
use rustix::time::{clock_gettime, ClockId};

#[cfg(loom)]
pub(crate) use self::model::{expire, interrupt_all, now, wait, wake, Word};

/// An absolute `CLOCK_MONOTONIC` time, computed once per timed wait so that
/// retries after a signal or a spurious wake-up never extend the wait.
pub(crate) type Deadline = Timespec;

/// Why a [`wait`] returned without an error worth reporting.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Woken, interrupted by a signal, or the word no longer held the expected
    /// value. The caller re-reads the word and decides.
    Retry,
    /// The deadline passed.
    TimedOut,
}

/// How a wait treats its deadline and signals. The default is what the
/// crate's own methods use: a `CLOCK_MONOTONIC` deadline, signals retried.
/// [`RawSemaphore::acquire_interruptible`](crate::RawSemaphore::acquire_interruptible)
/// (C's `sem_clockwait` semantics) sets the fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct WaitMode {
    /// The deadline is on `CLOCK_REALTIME` (`FUTEX_CLOCK_REALTIME`).
    pub(crate) realtime: bool,
    /// A signal handler ends the wait with `EINTR` instead of a retry.
    pub(crate) interruptible: bool,
}

/// Sleeps while `*word == expected`, until woken or until `deadline`.
///
/// Uses `FUTEX_WAIT_BITSET` with a full bitset, which takes an absolute
/// timeout on `CLOCK_MONOTONIC` (or `CLOCK_REALTIME` if `mode` says so);
/// `FUTEX_WAKE` from any process wakes it.
///
/// # Errors
///
/// Only errors that are not part of the protocol (`EFAULT`, `ENOSYS`, ...),
/// and `EINTR` if `mode.interruptible`; otherwise `EINTR` and `EAGAIN` are
/// [`Wait::Retry`], `ETIMEDOUT` is [`Wait::TimedOut`].
///
/// # References
///  - [`futex(2)`](https://man7.org/linux/man-pages/man2/futex.2.html)
#[cfg(not(loom))]
pub(crate) fn wait(
    word: &AtomicU32,
    expected: u32,
    deadline: Option<&Deadline>,
    mode: WaitMode,
) -> Result<Wait, Errno> {
    let flags = if mode.realtime {
        futex::Flags::CLOCK_REALTIME
    } else {
        futex::Flags::empty()
    };
    match futex::wait_bitset(word, flags, expected, deadline, NonZeroU32::MAX) {
        Err(Errno::INTR) if mode.interruptible => Err(Errno::INTR),
        Ok(()) | Err(Errno::AGAIN) | Err(Errno::INTR) => Ok(Wait::Retry),
        Err(Errno::TIMEDOUT) => Ok(Wait::TimedOut),
        Err(e) => Err(e),
    }
}

/// Wakes up to `count` processes or threads sleeping on `word`.
///
/// Plain `FUTEX_WAKE`, as glibc's `sem_post` uses: it wakes sleepers of both
/// `FUTEX_WAIT` and `FUTEX_WAIT_BITSET`. Errors are ignored: the word is in a
/// mapping the caller holds, so the only failure would be a kernel without
/// futexes, and the post that preceded the wake has happened regardless.
///
/// # References
///  - [`futex(2)`](https://man7.org/linux/man-pages/man2/futex.2.html)
#[cfg(not(loom))]
pub(crate) fn wake(word: &AtomicU32, count: u32) {
    let _ = futex::wake(word, futex::Flags::empty(), count);
}

/// The current `CLOCK_MONOTONIC` time.
#[cfg(not(loom))]
pub(crate) fn now() -> Timespec {
    clock_gettime(ClockId::Monotonic)
}

/// The current time on `CLOCK_REALTIME` if `realtime`, else on
/// `CLOCK_MONOTONIC`: the clock a wait's deadline is on.
#[cfg(not(loom))]
pub(crate) fn now_on(realtime: bool) -> Timespec {
    clock_gettime(if realtime {
        ClockId::Realtime
    } else {
        ClockId::Monotonic
    })
}

/// The model's clock: one for both.
#[cfg(loom)]
pub(crate) fn now_on(_realtime: bool) -> Timespec {
    now()
}

/// Whether `a` is earlier than `b`.
pub(crate) fn earlier(a: &Timespec, b: &Timespec) -> bool {
    (a.tv_sec, a.tv_nsec) < (b.tv_sec, b.tv_nsec)
}

/// `now + timeout`, or `None` when the sum does not fit a `timespec` (such a
/// wait is, for every practical purpose, unbounded).
pub(crate) fn deadline_after(timeout: Duration) -> Option<Deadline> {
    add(now(), timeout)
}

/// `base + timeout`, or `None` on overflow.
pub(crate) fn add(base: Timespec, timeout: Duration) -> Option<Timespec> {
    let secs = i64::try_from(timeout.as_secs()).ok()?;
    let mut tv_sec = base.tv_sec.checked_add(secs)?;
    #[allow(clippy::useless_conversion)] // Nsecs is not i64 on every target
    let mut tv_nsec = i64::from(base.tv_nsec) + i64::from(timeout.subsec_nanos());
    if tv_nsec >= 1_000_000_000 {
        tv_nsec -= 1_000_000_000;
        tv_sec = tv_sec.checked_add(1)?;
    }
    Some(Timespec {
        tv_sec,
        tv_nsec: tv_nsec as _,
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn add_carries_nanoseconds() {
        let base = Timespec {
            tv_sec: 5,
            tv_nsec: 900_000_000,
        };
        let t = add(base, Duration::from_millis(250)).unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (6, 150_000_000));
    }

    #[test]
    fn add_overflow_is_none() {
        let base = Timespec {
            tv_sec: i64::MAX - 1,
            tv_nsec: 999_999_999,
        };
        assert!(add(base, Duration::MAX).is_none());
        assert!(add(base, Duration::new(1, 1)).is_none());
        assert!(add(base, Duration::from_secs(1)).is_some());
    }

    #[test]
    fn wait_on_unexpected_value_returns_at_once() {
        let word = AtomicU32::new(7);
        assert_eq!(wait(&word, 0, None, WaitMode::default()), Ok(Wait::Retry));
    }

    #[test]
    fn wait_times_out_at_deadline() {
        let word = AtomicU32::new(0);
        let deadline = deadline_after(Duration::from_millis(20)).unwrap();
        assert_eq!(
            wait(&word, 0, Some(&deadline), WaitMode::default()),
            Ok(Wait::TimedOut)
        );
        let after = now();
        assert!((after.tv_sec, after.tv_nsec) >= (deadline.tv_sec, deadline.tv_nsec));
    }

    #[test]
    fn wake_with_no_sleeper_is_harmless() {
        let word = AtomicU32::new(0);
        wake(&word, 1);
        wake(&word, u32::MAX >> 1);
    }
}

#[cfg(loom)]
mod model {
    //! A model of the kernel's futex for loom, faithful in what the protocol
    //! depends on:
    //!
    //! - `wait` compares the word with `expected` under the same lock that
    //!   `wake` takes, as the kernel does under its hash-bucket lock: a wake
    //!   issued after the word changed either finds the sleeper queued, or the
    //!   sleeper sees the new value and returns at once (`EAGAIN`).
    //! - A wake with no sleeper queued is lost; it wakes at most `count`
    //!   sleepers, oldest first.
    //! - [`interrupt_all`] is a signal delivered to every sleeper (`EINTR`,
    //!   indistinguishable from a spurious wake-up); [`expire`] makes every
    //!   timed wait's deadline pass. Model tests call them from a thread of
    //!   their own, so loom places them at every possible point.
    //! - A sleeper that was woken returns as woken even if its deadline passed
    //!   meanwhile, as in the kernel (a dequeued waiter reports success).

    use super::{Deadline, Wait, WaitMode};
    use crate::sync::{AtomicU32, AtomicU64, Ordering::Relaxed};
    use loom::sync::{Condvar, Mutex};
    use rustix::io::Errno;
    use rustix::time::Timespec;
    use std::vec::Vec;

    /// The 32-bit word a futex operation names.
    #[derive(Clone, Copy)]
    pub(crate) enum Word<'a> {
        /// A whole 32-bit atomic (the narrow layout's `value`).
        Whole(&'a AtomicU32),
        /// The value half of the wide layout's 64-bit `data`.
        ValueHalf(&'a AtomicU64),
    }

    impl<'a> From<&'a AtomicU32> for Word<'a> {
        fn from(word: &'a AtomicU32) -> Self {
            Word::Whole(word)
        }
    }

    impl Word<'_> {
        fn key(self) -> usize {
            match self {
                Word::Whole(w) => w as *const AtomicU32 as usize,
                Word::ValueHalf(d) => d as *const AtomicU64 as usize,
            }
        }

        fn load(self) -> u32 {
            match self {
                Word::Whole(w) => w.load(Relaxed),
                Word::ValueHalf(d) => d.load(Relaxed) as u32,
            }
        }
    }

    struct Sleeper {
        key: usize,
        id: usize,
        woken: bool,
        interrupted: bool,
    }

    struct Table {
        sleepers: Vec<Sleeper>,
        next_id: usize,
        expired: bool,
    }

    struct Futex {
        table: Mutex<Table>,
        changed: Condvar,
    }

    loom::lazy_static! {
        static ref FUTEX: Futex = Futex {
            table: Mutex::new(Table { sleepers: Vec::new(), next_id: 0, expired: false }),
            changed: Condvar::new(),
        };
    }

    /// `FUTEX_WAIT_BITSET` on the model.
    pub(crate) fn wait<'a>(
        word: impl Into<Word<'a>>,
        expected: u32,
        deadline: Option<&Deadline>,
        // The model's clock stands still, so a CLOCK_REALTIME deadline is no
        // different; an interruptible wait reports the model's signals.
        mode: WaitMode,
    ) -> Result<Wait, Errno> {
        let word = word.into();
        let mut table = FUTEX.table.lock().unwrap();
        if word.load() != expected {
            return Ok(Wait::Retry);
        }
        if deadline.is_some() && table.expired {
            return Ok(Wait::TimedOut);
        }
        let id = table.next_id;
        table.next_id += 1;
        table.sleepers.push(Sleeper {
            key: word.key(),
            id,
            woken: false,
            interrupted: false,
        });
        loop {
            table = FUTEX.changed.wait(table).unwrap();
            let i = table
                .sleepers
                .iter()
                .position(|s| s.id == id)
                .expect("sleeper stays queued until it leaves");
            if table.sleepers[i].woken {
                let sleeper = table.sleepers.remove(i);
                if sleeper.interrupted && mode.interruptible {
                    return Err(Errno::INTR);
                }
                return Ok(Wait::Retry);
            }
            if deadline.is_some() && table.expired {
                table.sleepers.remove(i);
                return Ok(Wait::TimedOut);
            }
        }
    }

    /// `FUTEX_WAKE` on the model: wakes up to `count` queued sleepers.
    pub(crate) fn wake<'a>(word: impl Into<Word<'a>>, count: u32) {
        let key = word.into().key();
        let mut table = FUTEX.table.lock().unwrap();
        let mut left = count;
        for s in table.sleepers.iter_mut() {
            if left == 0 {
                break;
            }
            if s.key == key && !s.woken {
                s.woken = true;
                left -= 1;
            }
        }
        if left != count {
            FUTEX.changed.notify_all();
        }
    }

    /// A signal to every sleeper: each returns as from `EINTR`.
    pub(crate) fn interrupt_all() {
        let mut table = FUTEX.table.lock().unwrap();
        for s in table.sleepers.iter_mut().filter(|s| !s.woken) {
            s.woken = true;
            s.interrupted = true;
        }
        FUTEX.changed.notify_all();
    }

    /// Every timed wait's deadline passes now.
    pub(crate) fn expire() {
        FUTEX.table.lock().unwrap().expired = true;
        FUTEX.changed.notify_all();
    }

    /// The model's clock stands still: deadlines only mark a wait as timed;
    /// when one passes is chosen by [`expire`].
    pub(crate) fn now() -> Timespec {
        Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        }
    }
}
