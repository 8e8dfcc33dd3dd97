//! The two implementations behind one interface: the [`Sem`] trait, its
//! implementation for the crate's `NamedSemaphore`, and [`Glibc`], a
//! semaphore from glibc's `sem_open` (through the `libc` crate).

use std::ffi::CString;
use std::time::Duration;

use named_semaphores::{NamedSemaphore, Permit, RawSemaphore};

/// One semaphore, of either kind, usable from any thread and (being a
/// `MAP_SHARED` mapping) from a forked child. Each acquire keeps its token
/// taken, as `sem_wait` does (the crate's `acquire()?.forget()`).
pub trait Sem: Sync {
    fn acquire(&self);
    fn try_acquire(&self) -> bool;
    /// Waits at most `timeout`; true if a token came.
    fn acquire_timeout(&self, timeout: Duration) -> bool;
    fn release(&self);
    /// `n` tokens: one call for the crate, `n` posts for glibc.
    fn release_n(&self, n: u32);
    /// Registered waiters, read from the `sem_t` image.
    fn waiters(&self) -> u32;
}

impl Sem for NamedSemaphore {
    #[inline]
    fn acquire(&self) {
        NamedSemaphore::acquire(self).expect("acquire").forget();
    }
    #[inline]
    fn try_acquire(&self) -> bool {
        let got = NamedSemaphore::try_acquire(self).expect("try_acquire");
        got.map(Permit::forget).is_some()
    }
    fn acquire_timeout(&self, timeout: Duration) -> bool {
        let got = NamedSemaphore::acquire_timeout(self, timeout).expect("acquire_timeout");
        got.map(Permit::forget).is_some()
    }
    #[inline]
    fn release(&self) {
        NamedSemaphore::release(self).expect("release");
    }
    fn release_n(&self, n: u32) {
        NamedSemaphore::release_n(self, n).expect("release_n");
    }
    fn waiters(&self) -> u32 {
        self.as_raw().waiters()
    }
}

/// A glibc semaphore from `sem_open`, closed on drop.
pub struct Glibc(*mut libc::sem_t);

// SAFETY: a `sem_t` from sem_open is meant to be used from every thread of
// the process; glibc's sem_* functions are thread-safe.
unsafe impl Sync for Glibc {}
// SAFETY: as above; the pointer may be closed from any thread.
unsafe impl Send for Glibc {}

impl Glibc {
    /// `sem_open("/NAME", flags, 0600, value)`; panics if it fails.
    pub fn open(name: &str, flags: libc::c_int, value: u32) -> Glibc {
        let c = CString::new(format!("/{name}")).expect("name");
        // SAFETY: `c` is a valid C string; with O_CREAT, sem_open takes a mode
        // and a value, passed with the C default argument promotions.
        let sem = unsafe {
            libc::sem_open(
                c.as_ptr(),
                flags,
                0o600 as libc::c_uint,
                value as libc::c_uint,
            )
        };
        assert_ne!(
            sem,
            libc::SEM_FAILED,
            "sem_open: {}",
            std::io::Error::last_os_error()
        );
        Glibc(sem)
    }
}

impl Drop for Glibc {
    fn drop(&mut self) {
        // SAFETY: the pointer came from sem_open and is not used after this.
        unsafe { libc::sem_close(self.0) };
    }
}

impl Sem for Glibc {
    #[inline]
    fn acquire(&self) {
        // SAFETY: the pointer came from sem_open and is open.
        while unsafe { libc::sem_wait(self.0) } != 0 {
            assert_eq!(errno(), libc::EINTR, "sem_wait");
        }
    }
    #[inline]
    fn try_acquire(&self) -> bool {
        // SAFETY: the pointer came from sem_open and is open.
        unsafe { libc::sem_trywait(self.0) == 0 }
    }
    fn acquire_timeout(&self, timeout: Duration) -> bool {
        // sem_timedwait takes an absolute CLOCK_REALTIME deadline.
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        let nsec = ts.tv_nsec as u64 + u64::from(timeout.subsec_nanos());
        ts.tv_sec += (timeout.as_secs() + nsec / 1_000_000_000) as libc::time_t;
        ts.tv_nsec = (nsec % 1_000_000_000) as _;
        loop {
            // SAFETY: the pointer came from sem_open; `ts` is valid.
            if unsafe { libc::sem_timedwait(self.0, &ts) } == 0 {
                return true;
            }
            match errno() {
                libc::EINTR => {}
                libc::ETIMEDOUT => return false,
                e => panic!("sem_timedwait: errno {e}"),
            }
        }
    }
    #[inline]
    fn release(&self) {
        // SAFETY: the pointer came from sem_open and is open.
        assert_eq!(unsafe { libc::sem_post(self.0) }, 0, "sem_post");
    }
    fn release_n(&self, n: u32) {
        for _ in 0..n {
            self.release();
        }
    }
    fn waiters(&self) -> u32 {
        // The crate reads glibc's image the same way: its `sem_t` layout is
        // glibc's on this target.
        // SAFETY: a sem_t is RawSemaphore::SIZE bytes with the alignment of its
        // atomics, and RawSemaphore is a transparent view of those bytes that
        // only reads them atomically.
        let raw = unsafe { &*self.0.cast::<RawSemaphore>() };
        raw.waiters()
    }
}

/// The calling thread's `errno`.
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}
