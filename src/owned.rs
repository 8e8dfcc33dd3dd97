//! [`OwnedPermit`] (feature `alloc`): a permit that keeps its semaphore
//! alive through an [`Arc`], so that it is `'static` and can move into a
//! spawned thread, like tokio's `acquire_owned`.

use alloc::sync::Arc;
use core::fmt;
use core::time::Duration;

use crate::{Error, NamedSemaphore};

/// A token taken from a shared [`NamedSemaphore`], given back when the
/// permit is dropped; it holds an [`Arc`] of the semaphore, so the handle
/// lives as long as any permit does.
///
/// Made by [`NamedSemaphore::acquire_owned`] and its `try_`/`_timeout`
/// variants. If the process dies while holding a permit, the token is lost,
/// as with any POSIX semaphore.
#[must_use = "if unused the permit is released at once"]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub struct OwnedPermit {
    sem: Arc<NamedSemaphore>,
    /// Whether the drop gives the token back (not after `forget`).
    armed: bool,
}

impl OwnedPermit {
    fn new(sem: &Arc<NamedSemaphore>) -> Self {
        OwnedPermit {
            sem: sem.clone(),
            armed: true,
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
    pub fn acquire_owned(self: &Arc<Self>) -> Result<OwnedPermit, Error> {
        self.take_for_permit(None)?;
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
    pub fn try_acquire_owned(self: &Arc<Self>) -> Result<Option<OwnedPermit>, Error> {
        Ok(self
            .take_for_permit(Some(None))?
            .then(|| OwnedPermit::new(self)))
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
    pub fn acquire_owned_timeout(
        self: &Arc<Self>,
        timeout: Duration,
    ) -> Result<Option<OwnedPermit>, Error> {
        Ok(self
            .take_for_permit(Some(Some(timeout)))?
            .then(|| OwnedPermit::new(self)))
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
        &self.sem
    }

    /// Keeps the token: the permit is consumed without releasing it, as if
    /// the caller had called `acquire` alone.
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
    pub fn forget(mut self) {
        self.armed = false;
        self.sem.forget_for_permit();
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        // As for `Permit`: the token came from this semaphore, so only
        // releases by others that never acquired can make this overflow, and
        // a destructor has nothing better to do with that error.
        if self.armed {
            let _ = self.sem.give_for_permit();
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("sem", &self.sem)
            .finish()
    }
}
