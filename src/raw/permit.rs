//! [`Permit`]: a token held as a value, released when dropped, and the
//! [`RawSemaphore`] methods that hand one out.

use core::fmt;
use core::time::Duration;

use super::RawSemaphore;
use crate::robust::protocol;
use crate::robust::source::Source;
use crate::Error;

impl RawSemaphore {
    /// Acquires a token and returns a guard that releases it when dropped:
    /// Python's `with sem:`.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](Self::acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(1)?;
    /// {
    ///     let _permit = sem.access()?;
    ///     assert_eq!(sem.value(), 0);
    /// } // released here
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn access(&self) -> Result<Permit<'_>, Error> {
        self.acquire()?;
        Ok(Permit::new(Source::plain(self)))
    }

    /// A [`Permit`] if a token is available now, else `None`; never blocks.
    ///
    /// # Errors
    ///
    /// As for [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(1)?;
    /// let first = sem.try_access()?;
    /// assert!(first.is_some());
    /// assert!(sem.try_access()?.is_none()); // the only token is held
    /// drop(first);
    /// assert!(sem.try_access()?.is_some());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn try_access(&self) -> Result<Option<Permit<'_>>, Error> {
        Ok(self
            .try_acquire()?
            .then(|| Permit::new(Source::plain(self))))
    }

    /// A [`Permit`] if a token becomes available within `timeout`, else
    /// `None`.
    ///
    /// # Errors
    ///
    /// As for [`acquire_timeout`](Self::acquire_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(1)?;
    /// std::thread::scope(|s| -> Result<(), named_semaphores::Error> {
    ///     let held = sem.access()?;
    ///     // Another thread gives the token back after a while.
    ///     s.spawn(move || {
    ///         std::thread::sleep(Duration::from_millis(20));
    ///         drop(held);
    ///     });
    ///     let permit = sem.access_timeout(Duration::from_secs(10))?;
    ///     assert!(permit.is_some());
    ///     Ok(())
    /// })?;
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn access_timeout(&self, timeout: Duration) -> Result<Option<Permit<'_>>, Error> {
        Ok(self
            .acquire_timeout(timeout)?
            .then(|| Permit::new(Source::plain(self))))
    }
}

/// A token taken from a semaphore, given back when the permit is dropped.
///
/// Made by [`access`](RawSemaphore::access) and its `try_`/`_timeout`
/// variants, on [`RawSemaphore`] and [`NamedSemaphore`](crate::NamedSemaphore).
/// If the process dies while holding a permit, the token is lost, as with
/// any POSIX semaphore.
///
/// # Examples
///
/// At most two threads at a time in the section:
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use named_semaphores::RawSemaphore;
///
/// static SEM: RawSemaphore = RawSemaphore::const_new::<2>();
/// static INSIDE: AtomicU32 = AtomicU32::new(0);
///
/// std::thread::scope(|s| {
///     for _ in 0..4 {
///         s.spawn(|| {
///             let _permit = SEM.access().unwrap();
///             assert!(INSIDE.fetch_add(1, Ordering::SeqCst) < 2);
///             INSIDE.fetch_sub(1, Ordering::SeqCst);
///         });
///     }
/// });
/// assert_eq!(SEM.value(), 2);
/// ```
#[must_use = "if unused the permit is released at once"]
pub struct Permit<'a> {
    /// The semaphore, or the robust holder's slot that records the token.
    source: Source<'a>,
}

impl<'a> Permit<'a> {
    /// A permit for a token just taken from `source`'s semaphore (and
    /// recorded in its slot, for a robust handle).
    #[inline]
    pub(crate) fn new(source: Source<'a>) -> Self {
        Permit { source }
    }
}

impl Permit<'_> {
    /// Keeps the token: the permit is consumed without releasing it, as if the
    /// caller had called `acquire` alone.
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(2)?;
    /// sem.access()?.forget();
    /// assert_eq!(sem.value(), 1); // the token stays taken
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn forget(self) {
        if let Some(slot) = self.source.slot() {
            protocol::forget(slot);
        }
        core::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        // A permit's token came from this semaphore, so the release can only
        // overflow if other parties released tokens they never took; there is
        // nothing better to do with that error in a destructor.
        let _ = match self.source.slot() {
            Some(slot) => protocol::give(self.source.sem(), slot),
            None => self.source.sem().release(),
        };
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("sem", self.source.sem())
            .field("recorded", &self.source.slot().is_some())
            .finish()
    }
}
