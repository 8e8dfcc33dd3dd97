//! The calls on any semaphore, named or unnamed: `sem_init`,
//! `sem_destroy`, `sem_post`, `sem_getvalue`, `sem_trywait` and `sem_wait`
//! (the timed waits are in `timed.rs`).

use core::ffi::{c_int, c_uint};

use named_semaphores::{RawSemaphore, VALUE_MAX};

use crate::{e, errno, sem_ref, sem_t, Sem};

/// `int sem_init(sem_t *sem, int pshared, unsigned int value)`: makes an
/// unnamed semaphore in the caller's memory.
///
/// Writes glibc's process-shared image whatever `pshared` says (0 or not),
/// so the semaphore works in memory shared between processes as well as
/// between threads. Returns 0, or -1 with errno `EINVAL` if `value` is above
/// `SEM_VALUE_MAX` (or `sem` is null or misaligned).
///
/// # Safety
///
/// `sem` must point to `sizeof(sem_t)` writable bytes, aligned for `sem_t`,
/// on which no thread is waiting.
#[no_mangle]
pub unsafe extern "C" fn sem_init(sem: *mut sem_t, pshared: c_int, value: c_uint) -> c_int {
    let _ = pshared;
    if sem.is_null() || !sem.is_aligned() {
        return errno::fail(e::EINVAL);
    }
    match RawSemaphore::new(value) {
        // SAFETY: the caller gives us sizeof(sem_t) writable, aligned bytes
        // that no one else uses now; RawSemaphore is exactly that size.
        Ok(image) => unsafe { sem.write(image) },
        Err(err) => return errno::fail(err.raw_os_error()),
    }
    0
}

/// `int sem_destroy(sem_t *sem)`: ends an unnamed semaphore. As in glibc,
/// there is nothing to free; returns 0 (-1 with `EINVAL` for a null or
/// misaligned pointer).
///
/// # Safety
///
/// `sem` must be a semaphore from `sem_init`.
#[no_mangle]
pub unsafe extern "C" fn sem_destroy(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    match unsafe { sem_ref(sem) } {
        Some(Sem::Plain(_)) => 0,
        // A robust handle is ended by `sem_close`.
        Some(Sem::Robust(_)) => errno::fail(e::EINVAL),
        None => -1,
    }
}

/// `int sem_post(sem_t *sem)`: gives back a token and wakes a waiter.
/// Async-signal-safe. Returns 0, or -1 with errno `EOVERFLOW` at
/// `SEM_VALUE_MAX` (the value is unchanged).
///
/// # Safety
///
/// `sem` must be a live semaphore (from `sem_open` or `sem_init`).
#[no_mangle]
pub unsafe extern "C" fn sem_post(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    let sem = match unsafe { sem_ref(sem) } {
        Some(Sem::Plain(sem)) => sem,
        Some(Sem::Robust(sem)) => return sem.post(),
        None => return -1,
    };
    match sem.release() {
        Ok(()) => 0,
        Err(err) => errno::fail(err.raw_os_error()),
    }
}

/// `int sem_getvalue(sem_t *sem, int *sval)`: stores the current value
/// (never negative, as in glibc). Returns 0, or -1 with `EINVAL` for null
/// pointers.
///
/// # Safety
///
/// `sem` must be a live semaphore and `sval` must point to a writable `int`.
#[no_mangle]
pub unsafe extern "C" fn sem_getvalue(sem: *mut sem_t, sval: *mut c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    let value = match unsafe { sem_ref(sem) } {
        Some(Sem::Plain(sem)) => sem.value(),
        Some(Sem::Robust(sem)) => sem.value(),
        None => return -1,
    };
    if sval.is_null() {
        return errno::fail(e::EINVAL);
    }
    // The value is at most VALUE_MAX, which fits an int.
    let value = value.min(VALUE_MAX) as c_int;
    // SAFETY: the caller gives a writable int.
    unsafe { sval.write_unaligned(value) };
    0
}

/// `int sem_trywait(sem_t *sem)`: takes a token if one is available.
/// Returns 0, or -1 with errno `EAGAIN` when the value is 0.
///
/// # Safety
///
/// `sem` must be a live semaphore.
#[no_mangle]
pub unsafe extern "C" fn sem_trywait(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    let sem = match unsafe { sem_ref(sem) } {
        Some(Sem::Plain(sem)) => sem,
        Some(Sem::Robust(sem)) => return sem.try_take(),
        None => return -1,
    };
    match sem.try_acquire() {
        // `sem_trywait` keeps the token taken.
        Ok(Some(permit)) => {
            permit.forget();
            0
        }
        Ok(None) => errno::fail(e::EAGAIN),
        Err(err) => errno::fail(err.raw_os_error()),
    }
}

/// `int sem_wait(sem_t *sem)`: takes a token, sleeping until one is
/// available. Returns 0, or -1 with errno `EINTR` if a signal handler
/// installed without `SA_RESTART` ran (with `SA_RESTART` the sleep goes on).
/// Not a cancellation point.
///
/// # Safety
///
/// `sem` must be a live semaphore.
#[no_mangle]
pub unsafe extern "C" fn sem_wait(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    let sem = match unsafe { sem_ref(sem) } {
        Some(Sem::Plain(sem)) => sem,
        Some(Sem::Robust(sem)) => return sem.wait(None),
        None => return -1,
    };
    // The fast path: a token free now, kept taken as `sem_wait` keeps it.
    if let Ok(Some(permit)) = sem.try_acquire() {
        permit.forget();
        return 0;
    }
    crate::timed::wait(sem, None)
}
