//! glibc's layout for targets with 64-bit atomics (x86_64, aarch64, riscv64,
//! ppc64, s390x, ...): `struct new_sem` with `__HAVE_64B_ATOMICS == 1`.
//!
//! ```text
//! offset 0   u64  data     low 32 bits: value (tokens); high 32 bits: nwaiters
//! offset 8   i32  private  128 (shared futex)
//! offset 12  i32  pad
//! offset 16  zero up to sizeof(sem_t) (32 on 64-bit targets, 16 on x32)
//! ```
//!
//! The futex word is the value half of `data`: byte offset 0 on little-endian
//! targets, 4 on big-endian ones. Waiters sleep while it reads 0.
//!
//! Invariants kept here, whatever another process wrote into the file:
//! arithmetic on the waiter half never carries into or borrows from the value
//! half (it is done modulo 2^64 in steps of 2^32), and a release never takes
//! the value above `VALUE_MAX`, so it never carries into the waiter half.
#![allow(unsafe_code)]

use crate::error::Error;
use crate::futex::{self, Deadline, Wait, WaitMode};
use crate::sync::{AtomicI32, AtomicU32, AtomicU64, Ordering::*};
use crate::VALUE_MAX;

#[path = "spin.rs"]
mod spin;

/// One registered waiter, in the high half of `data`.
const ONE_WAITER: u64 = 1 << 32;
/// The value (token count) half of `data`.
const VALUE_MASK: u64 = 0xffff_ffff;
/// Index of the value half among the two 32-bit halves of `data`.
#[cfg_attr(loom, allow(dead_code))]
const VALUE_WORD: usize = if cfg!(target_endian = "big") { 1 } else { 0 };

#[repr(C)]
pub(crate) struct Image {
    data: AtomicU64,
    private: AtomicI32,
    pad: AtomicI32,
    #[cfg(target_pointer_width = "64")]
    reserved: [AtomicU32; 4],
}

// The Rust struct is the file's image (not under the model checker, whose
// atomics are larger).
#[cfg(not(loom))]
const _: () = assert!(core::mem::offset_of!(Image, private) == Image::PRIVATE_OFFSET);

impl Image {
    /// Byte offset of `private` in the file (the table above).
    pub(crate) const PRIVATE_OFFSET: usize = 8;

    pub(crate) const fn new(value: u32) -> Self {
        Image {
            data: AtomicU64::new(value as u64),
            private: AtomicI32::new(super::FUTEX_SHARED),
            pad: AtomicI32::new(0),
            #[cfg(target_pointer_width = "64")]
            reserved: [const { AtomicU32::new(0) }; 4],
        }
    }

    /// The 32-bit futex word: the value half of `data`.
    #[cfg(not(loom))]
    fn word(&self) -> &AtomicU32 {
        let halves: *const AtomicU32 = (&self.data as *const AtomicU64).cast();
        // SAFETY: `data` is 8 bytes, 8-aligned, so each 4-byte half is a valid,
        // aligned `AtomicU32` place that lives as long as `self`. Rust code
        // never performs an atomic operation through this reference: it is
        // only handed to the kernel (futex), which reads the word atomically,
        // exactly as glibc does with `(unsigned int *) &sem->data + OFFSET`.
        unsafe { &*halves.add(VALUE_WORD) }
    }

    /// The model checker's futex cannot alias a half of a loom atomic; it is
    /// told which half is the word instead.
    #[cfg(loom)]
    fn word(&self) -> futex::Word<'_> {
        futex::Word::ValueHalf(&self.data)
    }

    /// The bytes of the image, field by field (atomic loads, no tearing
    /// within a field).
    pub(crate) fn to_bytes(&self) -> [u8; super::RawSemaphore::SIZE] {
        let mut out = [0; super::RawSemaphore::SIZE];
        out[0..8].copy_from_slice(&self.data.load(Relaxed).to_ne_bytes());
        out[8..12].copy_from_slice(&self.private.load(Relaxed).to_ne_bytes());
        out[12..16].copy_from_slice(&self.pad.load(Relaxed).to_ne_bytes());
        #[cfg(target_pointer_width = "64")]
        for (i, word) in self.reserved.iter().enumerate() {
            out[16 + 4 * i..20 + 4 * i].copy_from_slice(&word.load(Relaxed).to_ne_bytes());
        }
        out
    }

    pub(crate) fn value(&self) -> u32 {
        (self.data.load(Relaxed) & VALUE_MASK) as u32
    }

    pub(crate) fn waiters(&self) -> u32 {
        (self.data.load(Relaxed) >> 32) as u32
    }

    /// glibc `__new_sem_wait_fast` with `definitive_result`.
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        let mut d = self.data.load(Relaxed);
        while d & VALUE_MASK != 0 {
            // Acquire: synchronise with the release that provided the token.
            match self.data.compare_exchange_weak(d, d - 1, Acquire, Relaxed) {
                Ok(_) => return true,
                Err(now) => d = now,
            }
        }
        false
    }

    /// glibc `__new_sem_wait_slow64`, except that signals are retried here
    /// unless `mode` is interruptible: the deadline is absolute, so a retry
    /// never extends the wait.
    #[cold]
    pub(crate) fn acquire_slow(
        &self,
        deadline: Option<&Deadline>,
        mode: WaitMode,
    ) -> Result<bool, Error> {
        // Spin for a token before registering; hold the guard while asleep.
        let Some(_sleep) =
            spin::spin(|| self.data.load(Relaxed) & VALUE_MASK != 0 && self.try_acquire())
        else {
            return Ok(true);
        };
        let (mut d, registered) = self.register();
        loop {
            if d & VALUE_MASK == 0 {
                match futex::wait(self.word(), 0, deadline, mode) {
                    Ok(Wait::Retry) => {}
                    Ok(Wait::TimedOut) => {
                        self.data.fetch_sub(registered, Relaxed);
                        return Ok(false);
                    }
                    Err(e) => {
                        self.data.fetch_sub(registered, Relaxed);
                        return Err(super::wait_failed(e));
                    }
                }
                d = self.data.load(Relaxed);
            } else {
                // Take a token and unregister in one step.
                let new = (d - 1).wrapping_sub(registered);
                match self.data.compare_exchange_weak(d, new, Acquire, Relaxed) {
                    Ok(_) => return Ok(true),
                    Err(now) => d = now,
                }
            }
        }
    }

    /// Registers as a waiter: the word after registering, and how much was
    /// added to the waiter half (to take off again when leaving).
    fn register(&self) -> (u64, u64) {
        // Wrapping arithmetic on the high half only.
        let d = self
            .data
            .fetch_add(ONE_WAITER, Relaxed)
            .wrapping_add(ONE_WAITER);
        // A corrupt count of 2^32 - 1 wraps to 0 as we register, and posters
        // would never wake us. Register twice then, so that the count is
        // non-zero while we wait; both come off as we leave.
        if d >> 32 != 0 {
            return (d, ONE_WAITER);
        }
        let d = self
            .data
            .fetch_add(ONE_WAITER, Relaxed)
            .wrapping_add(ONE_WAITER);
        (d, 2 * ONE_WAITER)
    }

    /// Spins (as `acquire_slow` does before it registers) until a token is
    /// available, without taking it: whether one was seen.
    pub(crate) fn spin_available(&self) -> bool {
        spin::spin(|| self.data.load(Relaxed) & VALUE_MASK != 0).is_none()
    }

    /// Sleeps as a registered waiter until the value is non-zero or
    /// `deadline` passes, and takes no token: `Ok(true)` when one is
    /// available (the caller then tries to take it), `Ok(false)` when the
    /// deadline passed. For the robust mode, which marks its record between
    /// the wait and the take.
    ///
    /// A registered waiter that leaves may have been the one a post woke;
    /// when it leaves without a token while tokens remain and other waiters
    /// are registered, it wakes one of them in its place.
    #[cold]
    pub(crate) fn wait_available(
        &self,
        deadline: Option<&Deadline>,
        mode: WaitMode,
    ) -> Result<bool, Error> {
        let (mut d, registered) = self.register();
        loop {
            if d & VALUE_MASK != 0 {
                self.data.fetch_sub(registered, Relaxed);
                return Ok(true);
            }
            let outcome = futex::wait(self.word(), 0, deadline, mode);
            if !matches!(outcome, Ok(Wait::Retry)) {
                let left = self
                    .data
                    .fetch_sub(registered, Relaxed)
                    .wrapping_sub(registered);
                if left & VALUE_MASK != 0 && left >> 32 != 0 {
                    futex::wake(self.word(), 1);
                }
                return outcome.map(|_| false).map_err(super::wait_failed);
            }
            d = self.data.load(Relaxed);
        }
    }

    /// glibc `__new_sem_post`, generalised to `n` tokens in one atomic add.
    /// (Kept apart from [`post_with`](Self::post_with), which the robust
    /// mode uses: this is the plain release's own path.)
    pub(crate) fn release_n(&self, n: u32) -> Result<(), Error> {
        let mut d = self.data.load(Relaxed);
        loop {
            let value = (d & VALUE_MASK) as u32;
            // `>` rather than glibc's `==`: a corrupt value above the maximum
            // must not be incremented towards a carry into nwaiters.
            if value > VALUE_MAX || n > VALUE_MAX - value {
                return Err(super::overflow());
            }
            // Release: the waiter that takes the token sees our prior writes.
            match self
                .data
                .compare_exchange_weak(d, d + u64::from(n), Release, Relaxed)
            {
                Ok(_) => break,
                Err(now) => d = now,
            }
        }
        let waiters = (d >> 32) as u32;
        if waiters > 0 {
            futex::wake(self.word(), n.min(waiters));
        }
        Ok(())
    }

    /// Adds as many tokens as `how_many(value)` says, in one atomic add,
    /// calls `before_wake` with that number (the robust mode settles its
    /// record there, so that the wake's system call is outside its window),
    /// then wakes as many registered waiters; returns how many were added.
    #[inline]
    #[cfg_attr(loom, allow(dead_code))] // the model's copy of this file
    pub(crate) fn post_with(
        &self,
        how_many: impl Fn(u32) -> Result<u32, Error>,
        before_wake: impl FnOnce(u32),
    ) -> Result<u32, Error> {
        let mut d = self.data.load(Relaxed);
        let n = loop {
            let n = how_many((d & VALUE_MASK) as u32)?;
            if n == 0 {
                before_wake(0);
                return Ok(0);
            }
            // Release: the waiter that takes the token sees our prior writes.
            match self
                .data
                .compare_exchange_weak(d, d + u64::from(n), Release, Relaxed)
            {
                Ok(_) => break n,
                Err(now) => d = now,
            }
        };
        before_wake(n);
        let waiters = (d >> 32) as u32;
        if waiters > 0 {
            futex::wake(self.word(), n.min(waiters));
        }
        Ok(n)
    }
}
