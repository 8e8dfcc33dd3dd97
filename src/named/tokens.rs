//! The token operations of a [`NamedSemaphore`]: acquire, release, permits,
//! value. Each is the [`RawSemaphore`](crate::RawSemaphore) operation on the
//! mapped file, with the semaphore's name added to its errors.

use core::time::Duration;

use crate::futex::{self, WaitMode};
use crate::robust::protocol;
use crate::{Error, NamedSemaphore, Permit};

impl NamedSemaphore {
    /// Takes a token, sleeping until one is available (`sem_wait`). Signals
    /// do not interrupt it.
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
    /// let sem = NamedSemaphore::create(&name, 0)?;
    /// std::thread::scope(|s| {
    ///     s.spawn(|| sem.release());
    ///     sem.acquire() // sleeps until the other thread releases
    /// })?;
    /// assert_eq!(sem.value(), 0);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[inline]
    pub fn acquire(&self) -> Result<(), Error> {
        if let Some(taken) = self.robust_take(None, WaitMode::default(), false) {
            return taken.map(|_| ()).map_err(self.failed());
        }
        self.as_raw().acquire().map_err(self.failed())
    }

    /// Takes a token if one is available now (`sem_trywait`): `Ok(false)`
    /// if none is.
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
    /// assert!(sem.try_acquire()?);
    /// assert!(!sem.try_acquire()?);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<bool, Error> {
        self.as_raw().try_acquire().map_err(self.failed())
    }

    /// Takes a token, waiting at most `timeout`; `Ok(false)` if none came.
    /// The deadline is on `CLOCK_MONOTONIC` and computed once, so signals
    /// and clock changes never extend the wait. A zero timeout is
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
    /// assert!(sem.acquire_timeout(Duration::from_millis(10))?);
    /// assert!(!sem.acquire_timeout(Duration::from_millis(10))?); // timed out
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        if !timeout.is_zero() {
            let deadline = futex::deadline_after(timeout);
            if let Some(taken) = self.robust_take(deadline.as_ref(), WaitMode::default(), false) {
                return taken.map_err(self.failed());
            }
        }
        self.as_raw()
            .acquire_timeout(timeout)
            .map_err(self.failed())
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

    /// Acquires a token and returns a [`Permit`] that gives it back when
    /// dropped: Python's `with sem:`.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](Self::acquire).
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-access-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 1)?;
    /// {
    ///     let _permit = sem.access()?;
    ///     assert_eq!(sem.value(), 0);
    /// }
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn access(&self) -> Result<Permit<'_>, Error> {
        if let Some(taken) = self.robust_take(None, WaitMode::default(), true) {
            return taken.map(|_| self.permit()).map_err(self.failed());
        }
        self.as_raw().access().map_err(self.failed())
    }

    /// A [`Permit`] if a token is available now, `None` otherwise.
    ///
    /// # Errors
    ///
    /// As for [`try_acquire`](Self::try_acquire).
    ///
    /// ```
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-try-access-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 1)?;
    /// let first = sem.try_access()?;
    /// assert!(first.is_some());
    /// assert!(sem.try_access()?.is_none());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn try_access(&self) -> Result<Option<Permit<'_>>, Error> {
        if let Some(slot) = self.robust_slot() {
            return Ok(protocol::take_once(self.as_raw(), slot).then(|| self.permit()));
        }
        self.as_raw().try_access().map_err(self.failed())
    }

    /// A [`Permit`] if a token comes within `timeout`, `None` otherwise.
    ///
    /// # Errors
    ///
    /// As for [`acquire_timeout`](Self::acquire_timeout).
    ///
    /// ```
    /// use std::time::Duration;
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-access-timeout-{}", std::process::id());
    ///
    /// let sem = NamedSemaphore::create(&name, 0)?;
    /// assert!(sem.access_timeout(Duration::from_millis(5))?.is_none());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn access_timeout(&self, timeout: Duration) -> Result<Option<Permit<'_>>, Error> {
        if self.is_robust() {
            if timeout.is_zero() {
                return self.try_access();
            }
            let deadline = futex::deadline_after(timeout);
            if let Some(taken) = self.robust_take(deadline.as_ref(), WaitMode::default(), true) {
                return Ok(taken.map_err(self.failed())?.then(|| self.permit()));
            }
        }
        self.as_raw().access_timeout(timeout).map_err(self.failed())
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
    ///     s.spawn(|| sem.acquire());
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
