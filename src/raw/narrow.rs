//! glibc's layout for 32-bit targets (i386, arm, ppc32, mips o32, riscv32,
//! ...): `struct new_sem` with `__HAVE_64B_ATOMICS == 0`.
//!
//! ```text
//! offset 0   u32  value     (count << 1) | waiters bit   <- the futex word
//! offset 4   i32  private   128 (shared futex)
//! offset 8   i32  pad
//! offset 12  u32  nwaiters  registered waiters
//! ```
//!
//! Waiters sleep while `value == 1` (no token, waiter bit set). The waiter bit
//! may be set when nobody waits (that costs a post one spare wake), but it is
//! set whenever someone sleeps; `finish` is glibc's repair step for the case
//! where a leaving waiter cleared it while another one was arriving.
//!
//! With the count in the top 31 bits, `value` cannot overflow past
//! `VALUE_MAX`, and `nwaiters` is a separate word: a corrupt file can make
//! the crate wake too often, never corrupt a neighbouring field.

use crate::error::Error;
use crate::futex::{self, Deadline, Wait, WaitMode};
use crate::sync::{AtomicI32, AtomicU32, Ordering::*};
use crate::VALUE_MAX;

#[path = "spin.rs"]
mod spin;

/// The waiter bit in `value`.
const WAITERS_BIT: u32 = 1;
/// The count sits above the waiter bit.
const SHIFT: u32 = 1;
/// One token in `value`.
const ONE: u32 = 1 << SHIFT;

#[repr(C)]
pub(crate) struct Image {
    value: AtomicU32,
    private: AtomicI32,
    pad: AtomicI32,
    nwaiters: AtomicU32,
}

// The Rust struct is the file's image (not under the model checker, whose
// atomics are larger).
#[cfg(not(loom))]
const _: () = assert!(core::mem::offset_of!(Image, private) == Image::PRIVATE_OFFSET);

impl Image {
    /// Byte offset of `private` in the file (the table above).
    pub(crate) const PRIVATE_OFFSET: usize = 4;

    pub(crate) const fn new(value: u32) -> Self {
        Image {
            value: AtomicU32::new(value << SHIFT),
            private: AtomicI32::new(super::FUTEX_SHARED),
            pad: AtomicI32::new(0),
            nwaiters: AtomicU32::new(0),
        }
    }

    /// The bytes of the image, field by field (atomic loads, no tearing
    /// within a field).
    pub(crate) fn to_bytes(&self) -> [u8; super::RawSemaphore::SIZE] {
        let mut out = [0; super::RawSemaphore::SIZE];
        out[0..4].copy_from_slice(&self.value.load(Relaxed).to_ne_bytes());
        out[4..8].copy_from_slice(&self.private.load(Relaxed).to_ne_bytes());
        out[8..12].copy_from_slice(&self.pad.load(Relaxed).to_ne_bytes());
        out[12..16].copy_from_slice(&self.nwaiters.load(Relaxed).to_ne_bytes());
        out
    }

    pub(crate) fn value(&self) -> u32 {
        self.value.load(Relaxed) >> SHIFT
    }

    pub(crate) fn waiters(&self) -> u32 {
        self.nwaiters.load(Relaxed)
    }

    /// glibc `__new_sem_wait_fast` with `definitive_result`.
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        let mut v = self.value.load(Relaxed);
        while v >> SHIFT != 0 {
            match self
                .value
                .compare_exchange_weak(v, v - ONE, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(now) => v = now,
            }
        }
        false
    }

    /// glibc `__new_sem_wait_slow64` (32-bit branch) and
    /// `__sem_wait_32_finish`, except that signals are retried here unless
    /// `mode` is interruptible: the deadline is absolute, so a retry never
    /// extends the wait.
    #[cold]
    pub(crate) fn acquire_slow(
        &self,
        deadline: Option<&Deadline>,
        mode: WaitMode,
    ) -> Result<bool, Error> {
        // Spin for a token before registering; hold the guard while asleep.
        let Some(_sleep) =
            spin::spin(|| self.value.load(Relaxed) >> SHIFT != 0 && self.try_acquire())
        else {
            return Ok(true);
        };
        // Acquire: pairs with the release decrement in `finish`, so that if a
        // leaving waiter cleared the bit before we arrived, we see it and set
        // it again below.
        self.nwaiters.fetch_add(1, Acquire);
        let result = self.wait_for_token(deadline, mode, true);
        self.finish();
        result
    }

    /// Spins (as `acquire_slow` does before it registers) until a token is
    /// available, without taking it: whether one was seen.
    pub(crate) fn spin_available(&self) -> bool {
        spin::spin(|| self.value.load(Relaxed) >> SHIFT != 0).is_none()
    }

    /// Sleeps as a registered waiter until the count is non-zero or
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
        // Acquire: as in `acquire_slow`.
        self.nwaiters.fetch_add(1, Acquire);
        let result = self.wait_for_token(deadline, mode, false);
        self.finish();
        if !matches!(result, Ok(true))
            && self.value.load(Relaxed) >> SHIFT != 0
            && self.nwaiters.load(Relaxed) != 0
        {
            futex::wake(&self.value, 1);
        }
        result
    }

    /// Waits until there is a token, and takes it if `take`.
    fn wait_for_token(
        &self,
        deadline: Option<&Deadline>,
        mode: WaitMode,
        take: bool,
    ) -> Result<bool, Error> {
        let mut v = self.value.load(Relaxed);
        loop {
            // Sleep until there is a token, with the waiter bit set before
            // every sleep so that posters know to wake us.
            while v >> SHIFT == 0 {
                if v & WAITERS_BIT == 0 {
                    // Release: whoever clears the bit sees our registration.
                    match self
                        .value
                        .compare_exchange_weak(v, v | WAITERS_BIT, Release, Relaxed)
                    {
                        Ok(_) => v |= WAITERS_BIT,
                        Err(now) => v = now,
                    }
                    continue;
                }
                match futex::wait(&self.value, v, deadline, mode) {
                    Ok(Wait::Retry) => {}
                    Ok(Wait::TimedOut) => return Ok(false),
                    Err(e) => return Err(super::wait_failed(e)),
                }
                v = self.value.load(Relaxed);
            }
            if !take {
                return Ok(true);
            }
            match self
                .value
                .compare_exchange_weak(v, v - ONE, Acquire, Relaxed)
            {
                Ok(_) => return Ok(true),
                Err(now) => v = now,
            }
        }
    }

    /// Stop being a registered waiter (glibc `__sem_wait_32_finish`).
    fn finish(&self) {
        // Speculate that we are the last waiter and clear the bit before
        // unregistering, so that waiters arriving after us see it cleared.
        let guess = self.nwaiters.load(Relaxed);
        if guess == 1 {
            self.value.fetch_and(!WAITERS_BIT, Acquire);
        }
        let before = self.nwaiters.fetch_sub(1, Release);
        if before > 1 && guess == 1 {
            // Wrong guess: another waiter registered in between. Set the bit
            // again and wake as many waiters as there are tokens, since posts
            // made while the bit was clear woke nobody.
            let v = self.value.fetch_or(WAITERS_BIT, Relaxed);
            let tokens = v >> SHIFT;
            if tokens > 0 {
                futex::wake(&self.value, tokens);
            }
        }
    }

    /// glibc `__new_sem_post`, generalised to `n` tokens in one atomic add.
    pub(crate) fn release_n(&self, n: u32) -> Result<(), Error> {
        self.post_with(
            |count| {
                // count <= VALUE_MAX always holds here: it is 31 bits wide.
                if n > VALUE_MAX - count {
                    return Err(super::overflow());
                }
                Ok(n)
            },
            |_| {},
        )
        .map(|_| ())
    }

    /// Adds as many tokens as `how_many(count)` says, in one atomic add,
    /// calls `before_wake` with that number (the robust mode settles its
    /// record there, so that the wake's system call is outside its window),
    /// then wakes as many waiters if the waiter bit is set; returns how many
    /// were added. `how_many` never returns more than `VALUE_MAX - count`.
    #[inline]
    pub(crate) fn post_with(
        &self,
        how_many: impl Fn(u32) -> Result<u32, Error>,
        before_wake: impl FnOnce(u32),
    ) -> Result<u32, Error> {
        let mut v = self.value.load(Relaxed);
        let n = loop {
            let n = how_many(v >> SHIFT)?;
            if n == 0 {
                before_wake(0);
                return Ok(0);
            }
            match self
                .value
                .compare_exchange_weak(v, v + (n << SHIFT), Release, Relaxed)
            {
                Ok(_) => break n,
                Err(now) => v = now,
            }
        };
        before_wake(n);
        if v & WAITERS_BIT != 0 {
            futex::wake(&self.value, n);
        }
        Ok(n)
    }
}
