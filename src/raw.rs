//! [`RawSemaphore`]: the glibc `sem_t` image and the post/wait protocol on it.
//!
//! The layout is chosen per target as glibc chooses it (see the ABI notes in
//! `wide.rs` and `narrow.rs`). Everything here works on plain memory: it knows
//! nothing of files or names, which is what lets the protocol be checked
//! without them.

use core::fmt;
use core::time::Duration;

use rustix::io::Errno;

use crate::futex::{self, WaitMode};
use crate::{Error, ErrorKind, VALUE_MAX};

#[cfg(any(target_pointer_width = "64", target_arch = "x86_64"))]
#[path = "raw/wide.rs"]
mod imp;

#[cfg(not(any(target_pointer_width = "64", target_arch = "x86_64")))]
#[path = "raw/narrow.rs"]
mod imp;

/// glibc's `FUTEX_SHARED`: the `private` field of every process-shared
/// semaphore. glibc computes its futex operation as `(op | 128) ^ private`.
pub(crate) const FUTEX_SHARED: i32 = 128;

pub(crate) fn overflow() -> Error {
    Error::new(ErrorKind::Overflow, Errno::OVERFLOW, "")
}

/// Which of glibc's two `sem_t` layouts this target uses.
///
/// Deliberately exhaustive (not `#[non_exhaustive]`): the two layouts are
/// glibc's ABI, fixed since glibc 2.21 for every binary ever linked against
/// it, and every target uses one of them (chosen by whether it has 64-bit
/// atomics). Code that decodes a `sem_t` image can therefore `match` on both
/// without a fallback arm. A third layout would be a new ABI and a new major
/// version of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// 64-bit atomics: one `u64` holding the value (low half) and the
    /// waiter count (high half). x86_64, aarch64, riscv64, ppc64, s390x, ...
    Wide,
    /// 32-bit targets: `value = count << 1 | waiter bit`, and a separate
    /// waiter count at offset 12. i386, arm, ppc32, mips, riscv32, ...
    Narrow,
}

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

/// A POSIX semaphore in glibc's `sem_t` format, in memory the caller owns.
///
/// This is what `sem_init(sem, 1, value)` makes: place it in memory shared
/// between processes (a `MAP_SHARED` mapping) and every process, including
/// glibc programs calling `sem_wait`/`sem_post` on the same bytes, uses the
/// one semaphore. [`NamedSemaphore`](crate::NamedSemaphore) is a file-backed
/// `RawSemaphore`.
///
/// Its size is [`RawSemaphore::SIZE`], exactly `sizeof(sem_t)` on this target
/// (32 bytes on 64-bit targets, 16 on 32-bit ones), and its alignment is that
/// of its atomics (8 or 4).
///
/// # Examples
///
/// ```
/// use named_semaphores::RawSemaphore;
///
/// let sem = RawSemaphore::new(1)?;
/// assert!(sem.try_acquire()?);
/// assert!(!sem.try_acquire()?);
/// sem.release()?;
/// assert_eq!(sem.value(), 1);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[repr(transparent)]
pub struct RawSemaphore {
    image: imp::Image,
}

// (Not under the model checker, whose atomics are larger.)
#[cfg(not(loom))]
const _: () = assert!(core::mem::size_of::<RawSemaphore>() == RawSemaphore::SIZE);

impl RawSemaphore {
    /// `sizeof(sem_t)` on this target: the size of a semaphore file.
    pub const SIZE: usize = if cfg!(target_pointer_width = "64") {
        32
    } else {
        16
    };

    /// Byte offset of the `private` field (128 in every shared semaphore).
    pub(crate) const PRIVATE_OFFSET: usize = imp::Image::PRIVATE_OFFSET;

    /// The layout glibc uses for `sem_t` on this target.
    pub const LAYOUT: Layout = if cfg!(any(target_pointer_width = "64", target_arch = "x86_64")) {
        Layout::Wide
    } else {
        Layout::Narrow
    };

    /// A process-shared semaphore holding `value` tokens, no waiters, and
    /// `private` = 128: byte for byte what glibc's `sem_init(sem, 1, value)`
    /// and `sem_open` write.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `value` is above [`VALUE_MAX`].
    pub const fn new(value: u32) -> Result<Self, Error> {
        if value > VALUE_MAX {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Errno::INVAL,
                "initial value above VALUE_MAX",
            ));
        }
        Ok(RawSemaphore {
            image: imp::Image::new(value),
        })
    }

    /// Takes a token, sleeping until one is available.
    ///
    /// Signals do not interrupt the wait: it retries, and returns only with a
    /// token.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Os`] only if the futex call fails in a way that is not
    /// part of the protocol (for example a kernel without futex support).
    ///
    /// ```
    /// # let sem = named_semaphores::RawSemaphore::new(1)?;
    /// sem.acquire()?;
    /// assert_eq!(sem.value(), 0);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[inline]
    pub fn acquire(&self) -> Result<(), Error> {
        if self.image.try_acquire() {
            return Ok(());
        }
        self.image
            .acquire_slow(None, WaitMode::default())
            .map(|_| ())
    }

    /// Takes a token if one is available now, like `sem_trywait`.
    ///
    /// Returns `Ok(false)` when the value is zero.
    ///
    /// # Errors
    ///
    /// None today; the `Result` keeps the signature in line with the other
    /// acquire methods.
    #[inline]
    pub fn try_acquire(&self) -> Result<bool, Error> {
        Ok(self.image.try_acquire())
    }

    /// Takes a token, waiting at most `timeout` for one.
    ///
    /// The deadline is computed once on `CLOCK_MONOTONIC`, so wall-clock
    /// changes, signals and spurious wake-ups never lengthen the wait. A zero
    /// timeout is [`try_acquire`](Self::try_acquire). Returns `Ok(false)` if
    /// the deadline passed without a token.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](Self::acquire).
    ///
    /// ```
    /// use core::time::Duration;
    /// # let sem = named_semaphores::RawSemaphore::new(0)?;
    /// assert!(!sem.acquire_timeout(Duration::from_millis(10))?);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<bool, Error> {
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
    /// `sem_timedwait` does. Returns `Ok(false)` if the deadline passed
    /// without a token.
    ///
    /// Unlike [`acquire`](Self::acquire) and
    /// [`acquire_timeout`](Self::acquire_timeout), which retry after signals,
    /// this returns the error `EINTR` when a signal handler interrupts the
    /// sleep. Without a deadline, the kernel restarts the sleep itself for
    /// handlers installed with `SA_RESTART`, as for glibc's `sem_wait`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Os`] with [`Error::raw_os_error`] `EINTR` (4) when a
    /// signal handler interrupted the wait; otherwise as for
    /// [`acquire`](Self::acquire).
    ///
    /// ```
    /// use core::time::Duration;
    /// use named_semaphores::{Clock, RawSemaphore};
    ///
    /// let sem = RawSemaphore::new(1)?;
    /// // A deadline in the past: takes the available token, then times out.
    /// let past = Some((Clock::Monotonic, Duration::ZERO));
    /// assert!(sem.acquire_interruptible(past)?);
    /// assert!(!sem.acquire_interruptible(past)?);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn acquire_interruptible(
        &self,
        deadline: Option<(Clock, Duration)>,
    ) -> Result<bool, Error> {
        if self.image.try_acquire() {
            return Ok(true);
        }
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
        self.image.acquire_slow(at.as_ref(), mode)
    }

    /// Gives back one token, waking one waiter if any are registered, like
    /// `sem_post`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] if the value is already [`VALUE_MAX`]; the
    /// semaphore is unchanged.
    #[inline]
    pub fn release(&self) -> Result<(), Error> {
        self.image.release_n(1)
    }

    /// Gives back `n` tokens in one atomic addition, then wakes up to `n`
    /// waiters. `release_n(0)` does nothing.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] if the value would exceed [`VALUE_MAX`]; the
    /// semaphore is unchanged.
    ///
    /// ```
    /// # let sem = named_semaphores::RawSemaphore::new(0)?;
    /// sem.release_n(4)?;
    /// assert_eq!(sem.value(), 4);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn release_n(&self, n: u32) -> Result<(), Error> {
        if n == 0 {
            return Ok(());
        }
        self.image.release_n(n)
    }

    /// The number of tokens available now, like `sem_getvalue` (which never
    /// reports waiters as a negative value on Linux). It may be stale by the
    /// time the caller looks at it.
    #[must_use]
    pub fn value(&self) -> u32 {
        self.image.value()
    }

    /// The number of registered waiters, as the image records it. A waiter
    /// killed while blocked stays counted (glibc has no cleanup across
    /// processes); this is a diagnostic, not a promise.
    #[must_use]
    pub fn waiters(&self) -> u32 {
        self.image.waiters()
    }

    /// The `sem_t` bytes as they are now, as another process reading the
    /// same memory would see them (each field read atomically).
    ///
    /// ```
    /// use named_semaphores::{Layout, RawSemaphore};
    ///
    /// let bytes = RawSemaphore::new(3)?.to_bytes();
    /// if RawSemaphore::LAYOUT == Layout::Wide && cfg!(target_endian = "little") {
    ///     assert_eq!(bytes[..12], [3, 0, 0, 0, 0, 0, 0, 0, 128, 0, 0, 0]);
    /// }
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        self.image.to_bytes()
    }

    /// Acquires a token and returns a guard that releases it when dropped:
    /// Python's `with sem:`.
    ///
    /// # Errors
    ///
    /// As for [`acquire`](Self::acquire).
    ///
    /// ```
    /// # let sem = named_semaphores::RawSemaphore::new(1)?;
    /// {
    ///     let _permit = sem.access()?;
    ///     assert_eq!(sem.value(), 0);
    /// }
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn access(&self) -> Result<Permit<'_>, Error> {
        self.acquire()?;
        Ok(Permit { sem: self })
    }

    /// A [`Permit`] if a token is available now, else `None`.
    ///
    /// # Errors
    ///
    /// As for [`try_acquire`](Self::try_acquire).
    pub fn try_access(&self) -> Result<Option<Permit<'_>>, Error> {
        Ok(self.try_acquire()?.then(|| Permit { sem: self }))
    }

    /// A [`Permit`] if a token becomes available within `timeout`, else
    /// `None`.
    ///
    /// # Errors
    ///
    /// As for [`acquire_timeout`](Self::acquire_timeout).
    pub fn access_timeout(&self, timeout: Duration) -> Result<Option<Permit<'_>>, Error> {
        Ok(self.acquire_timeout(timeout)?.then(|| Permit { sem: self }))
    }
}

impl fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSemaphore")
            .field("value", &self.value())
            .field("waiters", &self.waiters())
            .finish()
    }
}

/// A token taken from a semaphore, given back when the permit is dropped.
///
/// Made by [`access`](RawSemaphore::access) and its `try_`/`_timeout`
/// variants, on [`RawSemaphore`] and [`NamedSemaphore`](crate::NamedSemaphore).
/// If the process dies while holding a permit, the token is lost, as with
/// any POSIX semaphore.
#[must_use = "if unused the permit is released at once"]
pub struct Permit<'a> {
    sem: &'a RawSemaphore,
}

impl Permit<'_> {
    /// Keeps the token: the permit is consumed without releasing it, as if the
    /// caller had called `acquire` alone.
    pub fn forget(self) {
        core::mem::forget(self);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        // A permit's token came from this semaphore, so the release can only
        // overflow if other parties released tokens they never took; there is
        // nothing better to do with that error in a destructor.
        let _ = self.sem.release();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("sem", self.sem).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;
    use std::vec::Vec;

    fn image(sem: &RawSemaphore) -> [u8; RawSemaphore::SIZE] {
        sem.to_bytes()
    }

    #[test]
    fn new_image_matches_glibc() {
        let sem = RawSemaphore::new(3).unwrap();
        let bytes = image(&sem);
        let mut want = [0u8; RawSemaphore::SIZE];
        match RawSemaphore::LAYOUT {
            Layout::Wide => {
                let off = if cfg!(target_endian = "big") { 4 } else { 0 };
                want[off..off + 4].copy_from_slice(&3u32.to_ne_bytes());
                want[8..12].copy_from_slice(&128i32.to_ne_bytes());
            }
            Layout::Narrow => {
                want[0..4].copy_from_slice(&6u32.to_ne_bytes());
                want[4..8].copy_from_slice(&128i32.to_ne_bytes());
            }
        }
        assert_eq!(bytes, want);
    }

    #[test]
    fn initial_value_range() {
        assert!(RawSemaphore::new(VALUE_MAX).is_ok());
        let err = RawSemaphore::new(VALUE_MAX + 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn try_acquire_counts_down() {
        let sem = RawSemaphore::new(2).unwrap();
        assert!(sem.try_acquire().unwrap());
        assert!(sem.try_acquire().unwrap());
        assert!(!sem.try_acquire().unwrap());
        assert_eq!(sem.value(), 0);
    }

    #[test]
    fn release_overflow_changes_nothing() {
        let sem = RawSemaphore::new(VALUE_MAX - 1).unwrap();
        assert_eq!(sem.release_n(2).unwrap_err().kind(), ErrorKind::Overflow);
        assert_eq!(sem.value(), VALUE_MAX - 1);
        sem.release().unwrap();
        assert_eq!(sem.release().unwrap_err().kind(), ErrorKind::Overflow);
        assert_eq!(
            sem.release_n(u32::MAX).unwrap_err().kind(),
            ErrorKind::Overflow
        );
        assert_eq!(sem.value(), VALUE_MAX);
        assert_eq!(sem.waiters(), 0);
    }

    #[test]
    fn release_n_zero_is_a_no_op() {
        let sem = RawSemaphore::new(0).unwrap();
        sem.release_n(0).unwrap();
        assert_eq!(sem.value(), 0);
    }

    #[test]
    fn permit_releases_on_drop_and_forget_keeps_token() {
        let sem = RawSemaphore::new(1).unwrap();
        {
            let _p = sem.access().unwrap();
            assert_eq!(sem.value(), 0);
            assert!(sem.try_access().unwrap().is_none());
        }
        assert_eq!(sem.value(), 1);
        sem.try_access().unwrap().unwrap().forget();
        assert_eq!(sem.value(), 0);
    }

    #[test]
    fn zero_timeout_is_try() {
        let sem = RawSemaphore::new(0).unwrap();
        assert!(!sem.acquire_timeout(Duration::ZERO).unwrap());
        assert_eq!(sem.waiters(), 0);
        sem.release().unwrap();
        assert!(sem.acquire_timeout(Duration::ZERO).unwrap());
    }

    #[test]
    fn timeout_unregisters_waiter() {
        let sem = RawSemaphore::new(0).unwrap();
        assert!(!sem.acquire_timeout(Duration::from_millis(5)).unwrap());
        assert_eq!(sem.waiters(), 0);
        assert_eq!(sem.value(), 0);
    }

    #[test]
    fn blocked_waiters_are_woken_by_release_n() {
        let sem = Arc::new(RawSemaphore::new(0).unwrap());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let sem = Arc::clone(&sem);
                thread::spawn(move || sem.acquire().unwrap())
            })
            .collect();
        while sem.waiters() < 4 {
            thread::yield_now();
        }
        sem.release_n(4).unwrap();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(sem.value(), 0);
        assert_eq!(sem.waiters(), 0);
    }

    #[test]
    fn mutual_exclusion_across_threads() {
        let sem = Arc::new(RawSemaphore::new(1).unwrap());
        let inside = Arc::new(core::sync::atomic::AtomicU32::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (sem, inside) = (Arc::clone(&sem), Arc::clone(&inside));
                thread::spawn(move || {
                    for _ in 0..2000 {
                        let _p = sem.access().unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(sem.value(), 1);
        assert_eq!(sem.waiters(), 0);
    }

    use core::sync::atomic::Ordering;
}
