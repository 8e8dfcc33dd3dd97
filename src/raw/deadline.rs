//! Waiting with a limit: [`RawSemaphore::acquire_timeout`] (a relative
//! timeout on the monotonic clock) and [`RawSemaphore::acquire_interruptible`]
//! (`sem_clockwait`'s absolute deadline on a [`Clock`], and `EINTR`).

use core::time::Duration;

use super::{Permit, RawSemaphore};
use crate::error::Error;
use crate::futex::{self, WaitMode};

/// The clock of an absolute deadline given to
/// [`RawSemaphore::acquire_interruptible`]: the two clocks that glibc's
/// `sem_clockwait` accepts.
///
/// `#[non_exhaustive]`: should glibc's `sem_clockwait` come to accept another
/// clock (the kernel's futex wait can measure only these two today), it can
/// be added here without breaking callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Clock {
    /// `CLOCK_REALTIME`, the wall clock; a wait on it follows changes to the
    /// clock (`sem_timedwait`).
    Realtime,
    /// `CLOCK_MONOTONIC`, which no one can set.
    Monotonic,
}

impl RawSemaphore {
    /// Takes a token, waiting at most `timeout` for one: a [`Permit`], or
    /// `None` if the deadline passed without a token.
    ///
    /// The deadline is computed once on `CLOCK_MONOTONIC`, so wall-clock
    /// changes, signals and spurious wake-ups never lengthen the wait. A zero
    /// timeout is [`try_acquire`](Self::try_acquire).
    ///
    /// # Errors
    ///
    /// As for [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use core::time::Duration;
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(0)?;
    /// assert!(sem.acquire_timeout(Duration::from_millis(10))?.is_none()); // nobody released
    /// sem.release()?;
    /// if let Some(_permit) = sem.acquire_timeout(Duration::from_millis(10))? {
    ///     assert_eq!(sem.value(), 0);
    /// }
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use = "the token is given back when the permit is dropped: bind it (`if let Some(_permit) = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<Permit<'_>>, Error> {
        Ok(self.take_timeout(timeout)?.then(|| Permit::new(self)))
    }

    /// [`acquire_timeout`](Self::acquire_timeout) without a permit:
    /// `Ok(true)` with a token.
    pub(crate) fn take_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        if self.image.try_acquire() {
            return Ok(true);
        }
        if timeout.is_zero() {
            return Ok(false);
        }
        let deadline = futex::deadline_after(timeout);
        self.image
            .acquire_slow(deadline.as_ref(), WaitMode::default())
    }

    /// Takes a token with the semantics of C's `sem_clockwait`: sleeps until
    /// a token comes, until an absolute deadline passes, or until a signal
    /// handler runs in this thread.
    ///
    /// `deadline` is `None` for no limit, or a clock and a time on it, counted
    /// from that clock's zero (the Unix epoch for [`Clock::Realtime`]). A
    /// deadline already past still takes a token that is available now. A
    /// [`Clock::Realtime`] wait follows changes to the wall clock, as
    /// `sem_timedwait` does. Returns a [`Permit`], or `None` if the deadline
    /// passed without a token.
    ///
    /// Unlike [`acquire`](Self::acquire) and
    /// [`acquire_timeout`](Self::acquire_timeout), which retry after signals,
    /// this returns the error `EINTR` when a signal handler interrupts the
    /// sleep. Without a deadline, the kernel restarts the sleep itself for
    /// handlers installed with `SA_RESTART`, as for glibc's `sem_wait`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Os`](crate::ErrorKind::Os) with [`Error::raw_os_error`] `EINTR` (4) when a
    /// signal handler interrupted the wait; otherwise as for
    /// [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use core::time::Duration;
    /// use named_semaphores::{Clock, RawSemaphore};
    ///
    /// let sem = RawSemaphore::new(1)?;
    /// // A deadline in the past: takes the available token, then times out.
    /// let past = Some((Clock::Monotonic, Duration::ZERO));
    /// let permit = sem.acquire_interruptible(past)?;
    /// assert!(permit.is_some());
    /// assert!(sem.acquire_interruptible(past)?.is_none());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use = "the token is given back when the permit is dropped: bind it (`if let Some(_permit) = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn acquire_interruptible(
        &self,
        deadline: Option<(Clock, Duration)>,
    ) -> Result<Option<Permit<'_>>, Error> {
        Ok(self
            .take_interruptible(deadline)?
            .then(|| Permit::new(self)))
    }

    /// [`acquire_interruptible`](Self::acquire_interruptible) without a
    /// permit: `Ok(true)` with a token.
    pub(crate) fn take_interruptible(
        &self,
        deadline: Option<(Clock, Duration)>,
    ) -> Result<bool, Error> {
        if self.image.try_acquire() {
            return Ok(true);
        }
        let (at, mode) = interruptible_wait(deadline);
        self.image.acquire_slow(at.as_ref(), mode)
    }
}

/// The futex deadline and wait mode of `sem_clockwait`'s semantics for
/// `deadline` (a clock and a time on it, or none): interruptible, on that
/// clock.
pub(crate) fn interruptible_wait(
    deadline: Option<(Clock, Duration)>,
) -> (Option<futex::Deadline>, WaitMode) {
    let mut mode = WaitMode {
        realtime: false,
        interruptible: true,
    };
    let at = match deadline {
        Some((clock, since_zero)) => {
            mode.realtime = clock == Clock::Realtime;
            // A deadline beyond what a timespec holds is no deadline.
            futex::add(
                futex::Deadline {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
                since_zero,
            )
        }
        None => None,
    };
    (at, mode)
}
