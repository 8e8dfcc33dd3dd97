//! A [`RawSemaphore`] in memory this crate does not own: one written into a
//! shared mapping ([`RawSemaphore::init_at`]), or a `sem_t` that C code
//! initialised there ([`RawSemaphore::from_ptr`]). Both hand out a reference
//! whose lifetime the caller vouches for; everything after that is the
//! ordinary atomic protocol.
#![allow(unsafe_code)]

use rustix::io::Errno;

use super::{RawSemaphore, FUTEX_SHARED};
use crate::error::{Error, ErrorKind, Operation};
use crate::VALUE_MAX;

impl RawSemaphore {
    /// Writes a new semaphore holding `value` tokens at `ptr`, as C's
    /// `sem_init(ptr, 1, value)` does, and returns it.
    ///
    /// `ptr` is typically the start of (or a suitably aligned place in) a
    /// `MAP_SHARED` mapping that other processes map too, by `fork` or by
    /// mapping the same file. Each of them, whether it uses this crate or
    /// glibc's `sem_wait`/`sem_post` on the same bytes, then uses the one
    /// semaphore; in another process, reach it with
    /// [`from_ptr`](Self::from_ptr).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `value` is above [`VALUE_MAX`], or
    /// if `ptr` is null or not aligned for a `RawSemaphore` (nothing is
    /// written then).
    ///
    /// # Safety
    ///
    /// - `ptr` must be valid for writes of [`RawSemaphore::SIZE`] bytes, and
    ///   the memory must stay mapped, and not be written other than through
    ///   this crate's or glibc's semaphore operations, for the lifetime `'a`
    ///   chosen by the caller.
    /// - No thread or process may use a semaphore at `ptr` while it is being
    ///   initialised (as for `sem_init`): re-initialising one that has
    ///   waiters or holders is undefined behaviour.
    ///
    /// # Examples
    ///
    /// A semaphore in an anonymous shared mapping, released by a forked
    /// child and acquired by the parent:
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    /// use rustix::mm::{mmap_anonymous, munmap, MapFlags, ProtFlags};
    ///
    /// let len = RawSemaphore::SIZE;
    /// let prot = ProtFlags::READ | ProtFlags::WRITE;
    /// // SAFETY: a new mapping at an address of the kernel's choosing.
    /// let page = unsafe { mmap_anonymous(core::ptr::null_mut(), len, prot, MapFlags::SHARED) }
    ///     .expect("mmap");
    /// // SAFETY: the mapping is fresh, page-aligned and writable, nobody else
    /// // uses it yet, and it stays mapped until the `munmap` below.
    /// let sem = unsafe { RawSemaphore::init_at(page.cast(), 0) }?;
    ///
    /// // SAFETY: this doctest is single-threaded, so the child may run anything.
    /// match unsafe { libc::fork() } {
    ///     -1 => panic!("fork failed"),
    ///     0 => {
    ///         // The child shares the mapping: give the parent a token.
    ///         let code = if sem.release().is_ok() { 0 } else { 1 };
    ///         // SAFETY: ends the child without running the parent's destructors.
    ///         unsafe { libc::_exit(code) }
    ///     }
    ///     child => {
    ///         sem.acquire()?.forget(); // sleeps until the child's release; keeps the token
    ///         let mut status = 0;
    ///         // SAFETY: `child` is our child process; `status` is writable.
    ///         assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
    ///         assert_eq!(status, 0);
    ///     }
    /// }
    /// assert_eq!(sem.value(), 0);
    /// // SAFETY: `sem` is not used after this point.
    /// unsafe { munmap(page, len) }.expect("munmap");
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub unsafe fn init_at<'a>(ptr: *mut RawSemaphore, value: u32) -> Result<&'a Self, Error> {
        check_ptr(ptr)?;
        let sem = RawSemaphore::new(value)?;
        // SAFETY: `ptr` is non-null and aligned (checked above) and valid for
        // writes of a `RawSemaphore` with no concurrent user (the caller's
        // promise). `write` does not drop the bytes it replaces, which may
        // be anything.
        unsafe { ptr.write(sem) };
        // SAFETY: just initialised; valid for `'a` (the caller's promise).
        Ok(unsafe { &*ptr })
    }

    /// The semaphore at `ptr`, which C code initialised with
    /// `sem_init(sem, 1, value)` (or which [`init_at`](Self::init_at) or
    /// `sem_open` made), for use from Rust alongside the C code.
    ///
    /// Before returning, it checks that the bytes at `ptr` look like a
    /// process-shared semaphore, so that a `sem_init(sem, 0, value)` (a
    /// process-private one, which glibc wakes with private futex calls that
    /// this crate's shared ones do not meet) or a stray pointer is refused
    /// rather than half-working.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if `ptr` is null or not aligned for a
    /// `RawSemaphore`, if its `private` field is not glibc's shared value
    /// (128), or if it holds a value above [`VALUE_MAX`].
    ///
    /// # Safety
    ///
    /// - `ptr` must point to [`RawSemaphore::SIZE`] bytes initialised as a
    ///   `sem_t` of this target's glibc layout ([`RawSemaphore::LAYOUT`]) and
    ///   valid for reads and atomic writes for the lifetime `'a` chosen by
    ///   the caller: not unmapped, freed, or destroyed with `sem_destroy`
    ///   meanwhile.
    /// - Nothing else may write that memory other than through this crate's or
    ///   glibc's semaphore operations (which are atomic) during `'a`.
    /// - A `sem_t` of another C library (musl's is another format) is not a
    ///   `RawSemaphore`: the bytes would be misread.
    ///
    /// # Examples
    ///
    /// glibc's `sem_init` makes the semaphore in a shared mapping; a forked
    /// child posts to it through this crate, and the parent waits with
    /// glibc's `sem_wait`:
    ///
    /// ```
    /// use named_semaphores::RawSemaphore;
    /// use rustix::mm::{mmap_anonymous, munmap, MapFlags, ProtFlags};
    /// # if cfg!(not(target_env = "gnu")) { return Ok(()); } // glibc's sem_t only
    ///
    /// assert_eq!(core::mem::size_of::<libc::sem_t>(), RawSemaphore::SIZE);
    /// let len = RawSemaphore::SIZE;
    /// let prot = ProtFlags::READ | ProtFlags::WRITE;
    /// // SAFETY: a new mapping at an address of the kernel's choosing.
    /// let page = unsafe { mmap_anonymous(core::ptr::null_mut(), len, prot, MapFlags::SHARED) }
    ///     .expect("mmap");
    /// let c_sem: *mut libc::sem_t = page.cast();
    /// // SAFETY: `c_sem` is a writable, aligned `sem_t`-sized place.
    /// assert_eq!(unsafe { libc::sem_init(c_sem, 1, 0) }, 0);
    ///
    /// // SAFETY: this doctest is single-threaded, so the child may run anything.
    /// match unsafe { libc::fork() } {
    ///     -1 => panic!("fork failed"),
    ///     0 => {
    ///         // SAFETY: initialised by `sem_init` above, shared with the
    ///         // parent, mapped until this process exits.
    ///         let posted = unsafe { RawSemaphore::from_ptr(c_sem.cast()) }
    ///             .and_then(|sem| sem.release());
    ///         // SAFETY: ends the child without running the parent's destructors.
    ///         unsafe { libc::_exit(if posted.is_ok() { 0 } else { 1 }) }
    ///     }
    ///     child => {
    ///         // SAFETY: `c_sem` is the semaphore initialised above.
    ///         assert_eq!(unsafe { libc::sem_wait(c_sem) }, 0); // woken by the child
    ///         let mut status = 0;
    ///         // SAFETY: `child` is our child process; `status` is writable.
    ///         assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
    ///         assert_eq!(status, 0);
    ///     }
    /// }
    /// // SAFETY: nothing uses the semaphore after this point.
    /// unsafe {
    ///     libc::sem_destroy(c_sem);
    ///     munmap(page, len).expect("munmap");
    /// }
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub unsafe fn from_ptr<'a>(ptr: *mut RawSemaphore) -> Result<&'a Self, Error> {
        check_ptr(ptr)?;
        // SAFETY: non-null and aligned (checked above), initialised and valid
        // for `'a`, and only accessed atomically by others (the caller's
        // promise).
        let sem = unsafe { &*ptr };
        let bytes = sem.to_bytes();
        let at = RawSemaphore::PRIVATE_OFFSET;
        let private = i32::from_ne_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        if private != FUTEX_SHARED {
            return Err(invalid(
                "not a process-shared sem_t (private field is not 128)",
            ));
        }
        if sem.value() > VALUE_MAX {
            return Err(invalid("sem_t value above VALUE_MAX"));
        }
        Ok(sem)
    }
}

/// A pointer `init_at` and `from_ptr` can use: non-null and aligned.
fn check_ptr(ptr: *mut RawSemaphore) -> Result<(), Error> {
    if ptr.is_null() {
        return Err(invalid("null semaphore pointer"));
    }
    if !ptr.is_aligned() {
        return Err(invalid("misaligned semaphore pointer"));
    }
    Ok(())
}

fn invalid(message: &'static str) -> Error {
    Error::new(ErrorKind::InvalidArgument, Errno::INVAL, message).during(Operation::Init)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::MaybeUninit;

    /// Aligned storage for one semaphore image.
    #[repr(C, align(8))]
    struct Slot([u8; RawSemaphore::SIZE]);

    #[test]
    fn init_at_writes_glibc_image_and_checks_arguments() {
        let mut slot = Slot([0xa5; RawSemaphore::SIZE]);
        let ptr: *mut RawSemaphore = (&mut slot as *mut Slot).cast();
        // SAFETY: `slot` is aligned, writable, unused and outlives `sem`.
        let sem = unsafe { RawSemaphore::init_at(ptr, 3) }.unwrap();
        assert_eq!(sem.to_bytes(), RawSemaphore::new(3).unwrap().to_bytes());

        let mut other = MaybeUninit::<Slot>::uninit();
        let ptr: *mut RawSemaphore = other.as_mut_ptr().cast();
        // SAFETY: as above; the value is refused before anything is written.
        let err = unsafe { RawSemaphore::init_at(ptr, VALUE_MAX + 1) }.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        // SAFETY: null is refused before use.
        let err = unsafe { RawSemaphore::init_at(core::ptr::null_mut(), 1) }.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let odd: *mut RawSemaphore = (&mut slot as *mut Slot).cast::<u8>().wrapping_add(1).cast();
        // SAFETY: misalignment is refused before use.
        let err = unsafe { RawSemaphore::init_at(odd, 1) }.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn from_ptr_accepts_shared_images_only() {
        let mut slot = Slot(RawSemaphore::new(2).unwrap().to_bytes());
        let ptr: *mut RawSemaphore = (&mut slot as *mut Slot).cast();
        // SAFETY: `slot` holds a shared image and outlives `sem`.
        let sem = unsafe { RawSemaphore::from_ptr(ptr) }.unwrap();
        assert!(sem.take_now());
        assert_eq!(sem.value(), 1);

        // `sem_init(sem, 0, 2)`: a process-private semaphore, private = 0.
        let mut private = Slot(RawSemaphore::new(2).unwrap().to_bytes());
        let at = RawSemaphore::PRIVATE_OFFSET;
        private.0[at..at + 4].copy_from_slice(&0i32.to_ne_bytes());
        let ptr: *mut RawSemaphore = (&mut private as *mut Slot).cast();
        // SAFETY: as above.
        let err = unsafe { RawSemaphore::from_ptr(ptr) }.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        // SAFETY: null is refused before use.
        let err = unsafe { RawSemaphore::from_ptr(core::ptr::null_mut()) }.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);

        // A value above VALUE_MAX (only the wide layout can hold one).
        if RawSemaphore::LAYOUT == crate::raw::Layout::Wide {
            let mut corrupt = Slot(RawSemaphore::new(0).unwrap().to_bytes());
            corrupt.0[..8].copy_from_slice(&u64::from(u32::MAX).to_ne_bytes());
            let ptr: *mut RawSemaphore = (&mut corrupt as *mut Slot).cast();
            // SAFETY: as above.
            let err = unsafe { RawSemaphore::from_ptr(ptr) }.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        }
    }
}
