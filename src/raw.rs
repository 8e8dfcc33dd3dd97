//! [`RawSemaphore`]: the glibc `sem_t` image and the post/wait protocol on it.
//!
//! The layout is chosen per target as glibc chooses it (see the ABI notes in
//! `raw/wide.rs` and `raw/narrow.rs`). Everything here works on plain memory:
//! it knows nothing of files or names, which is what lets the protocol be
//! checked without them. This file holds the type, its constructors and the
//! acquire/release operations; `raw/deadline.rs` the waits with a timeout or
//! deadline, `raw/permit.rs` the [`Permit`] every acquire returns, and `raw/shared.rs` the
//! `unsafe` constructors for memory shared with other processes or with C.

use core::fmt;

use rustix::io::Errno;

use crate::error::{Error, ErrorKind, Operation};
use crate::futex::{self, WaitMode};
use crate::VALUE_MAX;

#[cfg(any(target_pointer_width = "64", target_arch = "x86_64"))]
#[path = "raw/wide.rs"]
mod imp;

#[cfg(not(any(target_pointer_width = "64", target_arch = "x86_64")))]
#[path = "raw/narrow.rs"]
mod imp;

pub(crate) mod deadline;
pub(crate) mod permit;
// Under the model checker the atomics are larger than the C image.
#[cfg(not(loom))]
mod shared;

pub(crate) use deadline::interruptible_wait;
pub use deadline::Clock;
pub use permit::Permit;

/// glibc's `FUTEX_SHARED`: the `private` field of every process-shared
/// semaphore. glibc computes its futex operation as `(op | 128) ^ private`.
pub(crate) const FUTEX_SHARED: i32 = 128;

/// The error of a futex wait that failed: `EINTR` from
/// [`RawSemaphore::acquire_interruptible`], or a fault of the kernel's.
#[cold]
pub(crate) fn wait_failed(errno: Errno) -> Error {
    let detail = if errno == Errno::INTR {
        "interrupted by a signal"
    } else {
        "futex wait failed"
    };
    Error::new(ErrorKind::Os, errno, detail).during(Operation::Acquire)
}

pub(crate) fn overflow() -> Error {
    Error::new(ErrorKind::Overflow, Errno::OVERFLOW, "").during(Operation::Release)
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
/// Where it lives decides who shares it:
/// - in a `static` ([`const_new`](Self::const_new)) or an `Arc`: the threads
///   of one process;
/// - in a `MAP_SHARED` mapping: every process that maps it, including C
///   programs using glibc's `sem_*` functions on the same bytes
///   ([`init_at`](Self::init_at), [`from_ptr`](Self::from_ptr));
/// - in a file under `/dev/shm`: that is a
///   [`NamedSemaphore`](crate::NamedSemaphore).
///
/// # Examples
///
/// ```
/// use named_semaphores::RawSemaphore;
///
/// let sem = RawSemaphore::new(1)?;
/// let permit = sem.acquire()?;
/// assert!(sem.try_acquire()?.is_none());
/// drop(permit); // gives the token back
/// assert_eq!(sem.value(), 1);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
///
/// A limit on concurrent work, shared by threads through a `static`:
///
/// ```
/// use named_semaphores::RawSemaphore;
///
/// static CONNECTIONS: RawSemaphore = RawSemaphore::const_new::<3>();
///
/// let handles: Vec<_> = (0..8)
///     .map(|_| {
///         std::thread::spawn(|| {
///             let _permit = CONNECTIONS.acquire().unwrap(); // at most 3 at once
///             // ... use the connection ...
///         })
///     })
///     .collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// assert_eq!(CONNECTIONS.value(), 3);
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
    /// For a `static`, use [`const_new`](Self::const_new), which checks the
    /// value at compile time.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `value` is above [`VALUE_MAX`].
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::{ErrorKind, RawSemaphore, VALUE_MAX};
    ///
    /// let sem = RawSemaphore::new(2)?;
    /// assert_eq!((sem.value(), sem.waiters()), (2, 0));
    ///
    /// let err = RawSemaphore::new(VALUE_MAX + 1).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub const fn new(value: u32) -> Result<Self, Error> {
        if value > VALUE_MAX {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Errno::INVAL,
                "initial value above VALUE_MAX",
            )
            .during(Operation::Init));
        }
        Ok(RawSemaphore {
            image: imp::Image::new(value),
        })
    }

    /// A semaphore holding `VALUE` tokens, made at compile time: usable to
    /// initialise a `static`. Otherwise the same as [`new`](Self::new).
    ///
    /// The value is a const generic so that it is checked while compiling:
    /// a `VALUE` above [`VALUE_MAX`] is a compile error, and this function
    /// cannot fail or panic when the program runs.
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// static SEM: RawSemaphore = RawSemaphore::const_new::<2>();
    ///
    /// SEM.acquire()?.forget();
    /// assert_eq!(SEM.value(), 1);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    ///
    /// A value out of range does not compile:
    ///
    /// ```compile_fail
    /// use named_semaphores::{RawSemaphore, VALUE_MAX};
    ///
    /// static SEM: RawSemaphore = RawSemaphore::const_new::<{ VALUE_MAX + 1 }>();
    /// ```
    #[must_use]
    pub const fn const_new<const VALUE: u32>() -> Self {
        const {
            assert!(
                VALUE <= VALUE_MAX,
                "a semaphore's value is at most VALUE_MAX"
            );
        }
        RawSemaphore {
            image: imp::Image::new(VALUE),
        }
    }

    /// Takes a token, sleeping until one is available, and returns the
    /// [`Permit`] that gives it back when dropped (`sem_wait`, then
    /// `sem_post` at the drop). [`Permit::forget`] keeps the token taken, as
    /// a bare `sem_wait` does.
    ///
    /// Signals do not interrupt the wait: it retries, and returns only with a
    /// token. Waiters are not served in order: a thread that releases a token
    /// and asks again at once may take it back before a sleeping waiter wakes
    /// (glibc's semaphores promise no fairness either; see `docs/design.md`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Os`] only if the futex call fails in a way that is not
    /// part of the protocol (for example a kernel without futex support).
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(1)?;
    /// {
    ///     let _permit = sem.acquire()?;
    ///     assert_eq!(sem.value(), 0);
    /// } // given back here
    /// assert_eq!(sem.value(), 1);
    ///
    /// // A token another thread releases, kept taken:
    /// let empty = RawSemaphore::new(0)?;
    /// std::thread::scope(|s| {
    ///     s.spawn(|| empty.release().unwrap());
    ///     empty.acquire().map(|p| p.forget()) // sleeps until the release
    /// })?;
    /// assert_eq!(empty.value(), 0);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[inline]
    #[must_use = "the token is given back when the permit is dropped: bind it (`let _permit = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn acquire(&self) -> Result<Permit<'_>, Error> {
        self.take()?;
        Ok(Permit::new(self))
    }

    /// Takes a token if one is available now, like `sem_trywait`: a
    /// [`Permit`], or `None` when the value is zero. Never blocks.
    ///
    /// # Errors
    ///
    /// None today; the `Result` keeps the signature in line with the other
    /// acquire methods.
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(1)?;
    /// let first = sem.try_acquire()?;
    /// assert!(first.is_some()); // took the token
    /// assert!(sem.try_acquire()?.is_none()); // none left; did not wait
    /// drop(first);
    /// assert!(sem.try_acquire()?.is_some());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[inline]
    #[must_use = "the token is given back when the permit is dropped: bind it (`if let Some(_permit) = ...`) to hold the token, or call `.forget()` to keep it taken"]
    pub fn try_acquire(&self) -> Result<Option<Permit<'_>>, Error> {
        Ok(self.take_now().then(|| Permit::new(self)))
    }

    /// Takes a token without a permit: what [`acquire`](Self::acquire) does
    /// before it makes one.
    #[inline]
    pub(crate) fn take(&self) -> Result<(), Error> {
        if self.image.try_acquire() {
            return Ok(());
        }
        self.image
            .acquire_slow(None, WaitMode::default())
            .map(|_| ())
    }

    /// Takes a token if one is available now, without a permit: what
    /// [`try_acquire`](Self::try_acquire) does before it makes one.
    #[inline]
    pub(crate) fn take_now(&self) -> bool {
        self.image.try_acquire()
    }

    /// Gives back one token, waking one waiter if any are registered, like
    /// `sem_post`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Overflow`] if the value is already [`VALUE_MAX`]; the
    /// semaphore is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::{ErrorKind, RawSemaphore, VALUE_MAX};
    ///
    /// let sem = RawSemaphore::new(0)?;
    /// sem.release()?;
    /// assert_eq!(sem.value(), 1);
    ///
    /// let full = RawSemaphore::new(VALUE_MAX)?;
    /// assert_eq!(full.release().unwrap_err().kind(), ErrorKind::Overflow);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
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
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(0)?;
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

    /// Spins for a moment until a token is available, without taking it
    /// (the robust mode's spin before it checks its record and sleeps).
    pub(crate) fn spin_available(&self) -> bool {
        self.image.spin_available()
    }

    /// Sleeps as a registered waiter until a token is available or
    /// `deadline` passes, without taking it: `Ok(true)` if one is available.
    pub(crate) fn wait_available(
        &self,
        deadline: Option<&futex::Deadline>,
        mode: WaitMode,
    ) -> Result<bool, Error> {
        self.image.wait_available(deadline, mode)
    }

    /// Adds up to `n` tokens, but never raises the value above `cap` (nor
    /// [`VALUE_MAX`]), then calls `before_wake` with how many were added,
    /// then wakes as many waiters: how many were added.
    pub(crate) fn release_up_to(&self, n: u32, cap: u32, before_wake: impl FnOnce(u32)) -> u32 {
        let cap = cap.min(VALUE_MAX);
        self.image
            .post_with(|value| Ok(n.min(cap.saturating_sub(value))), before_wake)
            .unwrap_or(0)
    }

    /// [`release`](Self::release), calling `before_wake` between the
    /// atomic add and the wake-up (not if the release fails).
    #[inline]
    pub(crate) fn release_then(&self, before_wake: impl FnOnce()) -> Result<(), Error> {
        self.image
            .post_with(
                |value| {
                    if value >= VALUE_MAX {
                        return Err(overflow());
                    }
                    Ok(1)
                },
                |_| before_wake(),
            )
            .map(|_| ())
    }

    /// The number of tokens available now, like `sem_getvalue` (which never
    /// reports waiters as a negative value on Linux). It may be stale by the
    /// time the caller looks at it.
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(3)?;
    /// let _permit = sem.acquire()?;
    /// assert_eq!(sem.value(), 2);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn value(&self) -> u32 {
        self.image.value()
    }

    /// The number of registered waiters, as the image records it. A waiter
    /// killed while blocked stays counted (glibc has no cleanup across
    /// processes); this is a diagnostic, not a promise.
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    ///
    /// let sem = RawSemaphore::new(0)?;
    /// std::thread::scope(|s| {
    ///     let waiter = s.spawn(|| sem.acquire().map(|p| p.forget()));
    ///     while sem.waiters() == 0 {
    ///         std::thread::yield_now(); // until the waiter has gone to sleep
    ///     }
    ///     sem.release()?;
    ///     waiter.join().unwrap()
    /// })?;
    /// assert_eq!(sem.waiters(), 0);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn waiters(&self) -> u32 {
        self.image.waiters()
    }

    /// The `sem_t` bytes as they are now, as another process reading the
    /// same memory would see them (each field read atomically).
    ///
    /// # Examples
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
}

impl fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSemaphore")
            .field("value", &self.value())
            .field("waiters", &self.waiters())
            .finish()
    }
}

#[cfg(test)]
mod tests;
