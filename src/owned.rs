//! [`OwnedPermit`] (feature `alloc`): a permit that keeps its semaphore
//! alive through an [`Arc`], so that it is `'static` and can move into a
//! spawned thread, like tokio's `acquire_owned`.

use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;

use crate::error::Error;
use crate::named::NamedSemaphore;
use crate::raw::permit::{Held, Holds};
use crate::raw::RawSemaphore;
use crate::robust::record::Slot;

/// A token taken from a shared [`NamedSemaphore`], given back when the
/// permit is dropped; it holds an [`Arc`] of the semaphore, so the handle
/// lives as long as any permit does.
///
/// Made by [`NamedSemaphore::acquire_owned`],
/// [`try_acquire_owned`](NamedSemaphore::try_acquire_owned) and
/// [`acquire_owned_timeout`](NamedSemaphore::acquire_owned_timeout); like a
/// [`Permit`](crate::Permit) in every other way, [`forget`](Self::forget)
/// included. If the process dies while holding a permit, the token is lost,
/// as with any POSIX semaphore.
#[must_use = "the token is given back when the permit is dropped: bind it (`let _permit = ...`) to hold the token, or call `.forget()` to keep it taken"]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub struct OwnedPermit {
    held: Held<Arc<NamedSemaphore>>,
}

impl Holds for Arc<NamedSemaphore> {
    #[inline]
    fn raw(&self) -> &RawSemaphore {
        self.as_raw()
    }

    #[inline]
    fn slot(&self) -> Option<&Slot> {
        self.robust_slot()
    }
}

impl OwnedPermit {
    /// A permit for a token just taken from `sem`.
    fn new(sem: &Arc<NamedSemaphore>) -> Self {
        OwnedPermit {
            held: Held::taken(sem.clone()),
        }
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl NamedSemaphore {
    /// Acquires a token and returns an [`OwnedPermit`] that releases it on
    /// drop, for a semaphore shared in an [`Arc`].
    ///
    /// # Errors
    ///
    /// As for [`acquire`](NamedSemaphore::acquire).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-owned-{}", std::process::id());
    ///
    /// let sem = Arc::new(NamedSemaphore::create(&name, 2)?);
    /// let workers: Vec<_> = (0..4)
    ///     .map(|_| {
    ///         let permit = sem.acquire_owned();
    ///         std::thread::spawn(move || {
    ///             let _permit = permit?; // at most 2 threads here at once
    ///             Ok::<(), named_semaphores::Error>(())
    ///         })
    ///     })
    ///     .collect();
    /// for w in workers {
    ///     w.join().unwrap()?;
    /// }
    /// assert_eq!(sem.value(), 2);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use = "the token is given back when the permit is dropped: bind it (`let _permit = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn acquire_owned(self: &Arc<Self>) -> Result<OwnedPermit, Error> {
        self.take_token().map_err(self.failed())?;
        Ok(OwnedPermit::new(self))
    }

    /// An [`OwnedPermit`] if a token is available now, `None` otherwise.
    ///
    /// # Errors
    ///
    /// As for [`try_acquire`](NamedSemaphore::try_acquire).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-try-owned-{}", std::process::id());
    ///
    /// let sem = Arc::new(NamedSemaphore::create(&name, 1)?);
    /// let permit = sem.try_acquire_owned()?.expect("a token is free");
    /// assert!(sem.try_acquire_owned()?.is_none());
    /// drop(permit);
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use = "the token is given back when the permit is dropped: bind it (`if let Some(_permit) = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn try_acquire_owned(self: &Arc<Self>) -> Result<Option<OwnedPermit>, Error> {
        Ok(self.take_token_now().then(|| OwnedPermit::new(self)))
    }

    /// An [`OwnedPermit`] if a token comes within `timeout`, `None`
    /// otherwise.
    ///
    /// # Errors
    ///
    /// As for [`acquire_timeout`](NamedSemaphore::acquire_timeout).
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-owned-timeout-{}", std::process::id());
    ///
    /// let sem = Arc::new(NamedSemaphore::create(&name, 0)?);
    /// assert!(sem.acquire_owned_timeout(Duration::from_millis(5))?.is_none());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use = "the token is given back when the permit is dropped: bind it (`if let Some(_permit) = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn acquire_owned_timeout(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Result<Option<OwnedPermit>, Error> {
        let taken = self.take_token_timeout(timeout).map_err(self.failed())?;
        Ok(taken.then(|| OwnedPermit::new(self)))
    }
}

impl OwnedPermit {
    /// The semaphore this permit's token came from.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-owned-sem-{}", std::process::id());
    ///
    /// let sem = Arc::new(NamedSemaphore::create(&name, 1)?);
    /// let permit = sem.acquire_owned()?;
    /// assert!(Arc::ptr_eq(permit.semaphore(), &sem));
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn semaphore(&self) -> &Arc<NamedSemaphore> {
        self.held.holder()
    }

    /// Keeps the token taken: the permit is consumed without giving the
    /// token back, as C's `sem_wait` does; see [`Permit::forget`](crate::Permit::forget).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use named_semaphores::NamedSemaphore;
    /// # let name = format!("doc-owned-forget-{}", std::process::id());
    ///
    /// let sem = Arc::new(NamedSemaphore::create(&name, 1)?);
    /// sem.acquire_owned()?.forget();
    /// assert_eq!(sem.value(), 0);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn forget(self) {
        self.held.keep();
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("sem", self.semaphore())
            .finish()
    }
}
