//! The token operations of a [`NamedSemaphore`]: the acquires (each returns
//! a [`Permit`]), release, value. Each is the [`RawSemaphore`](crate::RawSemaphore) operation on the
//! mapped file, with the semaphore's name added to its errors.

use core::time::Duration;

use crate::error::Error;
use crate::named::NamedSemaphore;
use crate::raw::deadline::Clock;
use crate::raw::permit::Permit;

impl NamedSemaphore {
    /// Takes a token, sleeping until one is available (`sem_wait`), and
    /// returns the [`Permit`] that gives it back when dropped: Python's
    /// `with sem:` is `let _permit = sem.acquire()?;`, and a bare
    /// `sem_wait` (Python's `acquire()`) is `sem.acquire()?.forget()`.
    /// Signals do not interrupt it.
    ///
    /// Waiters are not served in order: a process that releases a token and
    /// asks again at once may take it back before a sleeping waiter wakes, as
    /// with glibc (`docs/design.md`, "Fairness").
    ///
    /// # Errors
    ///
    /// None in practice: only a futex call failing in a way the kernel
    /// documents for bad arguments, which this crate never passes
    /// ([`ErrorKind::Os`](crate::ErrorKind::Os)).
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-acquire-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 1)?;
    /// {
    ///     let _permit = sem.acquire()?; // sleeps while the token is held
    ///     assert_eq!(sem.value(), 0);
    /// } // given back here
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[inline]
    #[must_use = "the token is given back when the permit is dropped: bind it (`let _permit = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn acquire(&self) -> Result<Permit<'_>, Error> {
        if !self.is_robust() && self.as_raw().take_now() {
            return Ok(Permit::new(self.as_raw()));
        }
        self.acquire_rest()
    }

    /// Takes a token if one is available now (`sem_trywait`): a [`Permit`],
    /// or `None` if none is.
    ///
    /// # Errors
    ///
    /// None in practice; see [`acquire`](Self::acquire).
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-try-acquire-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 1)?;
    /// let first = sem.try_acquire()?;
    /// assert!(first.is_some());
    /// assert!(sem.try_acquire()?.is_none());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[inline]
    #[must_use = "the token is given back when the permit is dropped: bind it (`if let Some(_permit) = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn try_acquire(&self) -> Result<Option<Permit<'_>>, Error> {
        if self.is_robust() {
            return Ok(self.take_token_now().then(|| self.permit()));
        }
        self.as_raw().try_acquire().map_err(self.failed())
    }

    /// Takes a token, waiting at most `timeout`: a [`Permit`], or `None` if
    /// none came. The deadline is on `CLOCK_MONOTONIC` and computed once, so
    /// signals and clock changes never extend the wait. A zero timeout is
    /// [`try_acquire`](Self::try_acquire).
    ///
    /// # Errors
    ///
    /// None in practice; see [`acquire`](Self::acquire).
    ///
    /// ```
    /// use std::time::Duration;
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-timeout-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 1)?;
    /// let first = sem.acquire_timeout(Duration::from_millis(10))?;
    /// assert!(first.is_some());
    /// assert!(sem.acquire_timeout(Duration::from_millis(10))?.is_none()); // timed out
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use = "the token is given back when the permit is dropped: bind it (`if let Some(_permit) = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Option<Permit<'_>>, Error> {
        let taken = self.take_token_timeout(timeout).map_err(self.failed())?;
        Ok(taken.then(|| self.permit()))
    }

    /// Takes a token as C's `sem_clockwait` does: until a token comes, an
    /// absolute `deadline` on a [`Clock`] passes (`None`: no limit), or a
    /// signal handler runs in this thread. See
    /// [`RawSemaphore::acquire_interruptible`](crate::RawSemaphore::acquire_interruptible).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Os`](crate::ErrorKind::Os) with errno `EINTR` (4) when a
    /// signal handler interrupted the wait; otherwise as for
    /// [`acquire`](Self::acquire).
    ///
    /// ```
    /// use std::time::Duration;
    /// use named_semaphores::{Clock, NamedSemaphore};
    /// # let name = format!("doc-interruptible-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 1)?;
    /// let past = Some((Clock::Monotonic, Duration::ZERO)); // takes only a free token
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
        let taken = self
            .take_token_interruptible(deadline)
            .map_err(self.failed())?;
        Ok(taken.then(|| self.permit()))
    }

    /// Gives back a token (`sem_post`), waking one waiter if any sleeps.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) at
    /// [`VALUE_MAX`](crate::VALUE_MAX); nothing changes.
    ///
    /// ```
    /// use named_semaphores::{ErrorKind, NamedSemaphore, VALUE_MAX};
    /// # let name = format!("doc-release-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 0)?;
    /// sem.release()?;
    /// assert_eq!(sem.value(), 1);
    ///
    /// let full = NamedSemaphore::create(format!("{name}-full"), VALUE_MAX)?;
    /// assert_eq!(full.release().unwrap_err().kind(), ErrorKind::Overflow);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[inline]
    pub fn release(&self) -> Result<(), Error> {
        self.as_raw().release().map_err(self.failed())
    }

    /// Gives back `n` tokens in one atomic step and wakes up to `n` waiters
    /// (Python's `release(n)`). `release_n(0)` does nothing.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`](crate::ErrorKind::Overflow) if the value would
    /// exceed [`VALUE_MAX`](crate::VALUE_MAX); nothing changes.
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-release-n-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 0)?;
    /// sem.release_n(4)?;
    /// assert_eq!(sem.value(), 4);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn release_n(&self, n: u32) -> Result<(), Error> {
        self.as_raw().release_n(n).map_err(self.failed())
    }

    /// The current value (`sem_getvalue`): a snapshot, since other threads
    /// and processes may change it at any moment.
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-value-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 5)?;
    /// assert_eq!(sem.value(), 5);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn value(&self) -> u32 {
        self.as_raw().value()
    }

    /// How many threads, in any process, are registered as blocked waiting
    /// for a token: a snapshot, and approximate by nature (see
    /// [`RawSemaphore::waiters`](crate::RawSemaphore::waiters)).
    ///
    /// ```
    /// use std::time::Duration;
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-waiters-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 0)?;
    /// assert_eq!(sem.waiters(), 0);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| sem.acquire().map(|p| p.forget()));
    ///     while sem.waiters() == 0 {
    ///         std::thread::sleep(Duration::from_millis(1));
    ///     }
    ///     sem.release()
    /// })?;
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn waiters(&self) -> u32 {
        self.as_raw().waiters()
    }
}
