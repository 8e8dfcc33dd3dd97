//! [`Permit`]: a token held as a value, given back when dropped, and
//! [`Held`], the inside of every permit (borrowed [`Permit`] and owned
//! `OwnedPermit` alike): the one place a permit is made, given back and
//! forgotten.

use core::fmt;

use super::RawSemaphore;
use crate::robust::protocol;
use crate::robust::record::Slot;
use crate::robust::source::Source;

/// What a permit reaches its semaphore through: a borrow ([`Permit`]) or an
/// `Arc` of a named semaphore (`OwnedPermit`).
pub(crate) trait Holds {
    /// The semaphore the token came from.
    fn raw(&self) -> &RawSemaphore;

    /// The robust holder's slot that records the token, if any.
    fn slot(&self) -> Option<&Slot>;
}

impl Holds for Source<'_> {
    #[inline]
    fn raw(&self) -> &RawSemaphore {
        self.sem()
    }

    #[inline]
    fn slot(&self) -> Option<&Slot> {
        Source::slot(*self)
    }
}

/// A token taken from a semaphore, and what it was taken from.
///
/// Every permit is one of these inside, and only three functions touch the
/// token it stands for: [`Held::taken`] makes every permit, right after its
/// token was taken; [`Held::give_back`] runs at the drop of every permit
/// that still holds its token; [`Held::keep`] is every permit's `forget`.
/// Anything that must follow who holds tokens hangs off these three.
pub(crate) struct Held<S: Holds> {
    sem: S,
    /// Whether the token is still this permit's to give back (not after
    /// [`keep`](Held::keep)).
    armed: bool,
}

impl<S: Holds> Held<S> {
    /// The one constructor of every permit: called right after a token was
    /// taken from `sem`, by the code that took it.
    #[inline]
    pub(crate) fn taken(sem: S) -> Self {
        Held { sem, armed: true }
    }

    /// What the permit holds its semaphore by.
    #[inline]
    pub(crate) fn holder(&self) -> &S {
        &self.sem
    }

    /// The drop of every permit: the token goes back.
    #[inline]
    fn give_back(&mut self) {
        if self.armed {
            self.armed = false;
            // The token came from this semaphore, so the release can only
            // overflow if other parties released tokens they never took; a
            // destructor has nothing better to do with that error. A robust
            // holder's record follows the token back.
            match self.sem.slot() {
                Some(slot) => give_recorded(self.sem.raw(), slot),
                None => {
                    let _ = self.sem.raw().release();
                }
            }
        }
    }

    /// The `forget` of every permit: the token stays taken (and a robust
    /// holder's record no longer counts it: it is handed on).
    #[inline]
    pub(crate) fn keep(mut self) {
        if let Some(slot) = self.sem.slot() {
            protocol::forget(slot);
        }
        self.armed = false;
    }
}

/// A robust holder's give, out of line, so that a plain permit's drop stays
/// small enough to be inlined where it is dropped.
#[inline(never)]
fn give_recorded(sem: &RawSemaphore, slot: &Slot) {
    let _ = protocol::give(sem, slot);
}

impl<S: Holds> Drop for Held<S> {
    #[inline]
    fn drop(&mut self) {
        self.give_back();
    }
}

/// A token taken from a semaphore, given back when the permit is dropped.
///
/// Made by [`acquire`](RawSemaphore::acquire),
/// [`try_acquire`](RawSemaphore::try_acquire),
/// [`acquire_timeout`](RawSemaphore::acquire_timeout) and
/// [`acquire_interruptible`](RawSemaphore::acquire_interruptible), on
/// [`RawSemaphore`] and [`NamedSemaphore`](crate::NamedSemaphore). Keep it
/// in a named binding (`let _permit = ...`; not `let _ = ...`, which drops
/// it at once) for as long as the token is needed, or call
/// [`forget`](Permit::forget) to keep the token taken for good. If the
/// process dies while holding a permit, the token is lost, as with any
/// POSIX semaphore.
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
///             let _permit = SEM.acquire().unwrap();
///             assert!(INSIDE.fetch_add(1, Ordering::SeqCst) < 2);
///             INSIDE.fetch_sub(1, Ordering::SeqCst);
///         });
///     }
/// });
/// assert_eq!(SEM.value(), 2);
/// ```
#[must_use = "the token is given back when the permit is dropped: bind it (`let _permit = ...`) to hold the token, or call `.forget()` to keep it taken"]
pub struct Permit<'a> {
    /// The semaphore, or a robust holder's slot (which implies it).
    held: Held<Source<'a>>,
}

impl<'a> Permit<'a> {
    /// A permit for a token just taken from `sem`.
    #[inline]
    pub(crate) fn new(sem: &'a RawSemaphore) -> Self {
        Self::from_source(Source::plain(sem))
    }

    /// A permit for a token just taken from `source`'s semaphore (and
    /// recorded in its slot, for a robust handle).
    #[inline]
    pub(crate) fn from_source(source: Source<'a>) -> Self {
        Permit {
            held: Held::taken(source),
        }
    }

    /// The semaphore this permit's token came from.
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(1)?;
    /// let permit = sem.acquire()?;
    /// assert!(core::ptr::eq(permit.semaphore(), &sem));
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn semaphore(&self) -> &'a RawSemaphore {
        self.held.holder().sem()
    }

    /// Keeps the token taken: the permit is consumed without giving the
    /// token back, which is what C's `sem_wait` (or Python's bare
    /// `acquire()`) does. Another party gives it back later with
    /// [`release`](RawSemaphore::release): the consumer side of a
    /// producer/consumer pair.
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(2)?;
    /// sem.acquire()?.forget();
    /// assert_eq!(sem.value(), 1); // the token stays taken
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[inline]
    pub fn forget(self) {
        self.held.keep();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("sem", self.semaphore())
            .field("recorded", &self.held.holder().slot().is_some())
            .finish()
    }
}
