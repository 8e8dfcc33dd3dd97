//! The robust extension: `namedsem_open_robust` and `namedsem_recover`, and
//! how the `sem_*` calls tell a robust handle from a plain semaphore.
//!
//! A robust handle is the crate's robust [`NamedSemaphore`] (its slot in
//! the semaphore's record, its beacon), kept in a page of anonymous memory
//! of its own, mapped by `namedsem_open_robust` and unmapped by
//! `sem_close`. The `sem_t *` handed to C is that page's address plus
//! [`TAG`]: never aligned for a `sem_t`, so the plain calls, which already
//! refuse a misaligned pointer, look for a handle only on that path (see
//! [`handle`]) and cost nothing more. The page starts with [`MAGIC`] and its
//! own address, which a misaligned pointer that is not a handle does not
//! have (`EINVAL`, as before).
//!
//! The plain calls reach a handle's operations through [`Calls`], a table
//! of function pointers that `namedsem_open_robust` installs: a static
//! program that never calls it links none of the robust code (the linker's
//! `--gc-sections` drops it), and until it is called no misaligned pointer
//! is taken for a handle.
//!
//! On a handle, `sem_wait`, `sem_trywait` and the timed waits take a token
//! and keep it recorded in the handle's slot (the permit is forgotten with
//! `mem::forget`, not `Permit::forget`, which would drop it from the
//! record), `sem_post` gives back a recorded token
//! ([`NamedSemaphore::release_held`]), `sem_close` gives back what the
//! handle still holds and leaves the record, as the death of the process
//! would.

use core::ffi::{c_char, c_int, c_uint};
use core::mem::size_of;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use core::time::Duration;

use named_semaphores::{inspect, Clock, NamedSemaphore};
use rustix::mm::{self, MapFlags, ProtFlags};

use crate::named::{open_errno, open_request};
use crate::{e, errno, sem_t, SEM_FAILED};

/// Added to a handle's page address to make its `sem_t *`.
const TAG: usize = 1;
/// The size of a handle's page (Linux's smallest page).
const PAGE: usize = 4096;
/// The first word of a handle's page: "nsemrob1".
const MAGIC: u64 = u64::from_be_bytes(*b"nsemrob1");

/// A handle's page.
#[repr(C)]
struct Handle {
    magic: u64,
    /// The page's own address.
    this: usize,
    sem: NamedSemaphore,
}

const _: () = assert!(size_of::<Handle>() <= PAGE);

/// A handle's operations, for the plain calls.
pub(crate) struct Calls {
    wait: fn(&NamedSemaphore, Option<(Clock, Duration)>) -> c_int,
    try_take: fn(&NamedSemaphore) -> c_int,
    post: fn(&NamedSemaphore) -> c_int,
    value: fn(&NamedSemaphore) -> u32,
    /// `sem_close` of a live handle's page.
    close: unsafe fn(*mut Handle) -> c_int,
}

static CALLS: Calls = Calls {
    wait,
    try_take,
    post,
    value: NamedSemaphore::value,
    close,
};

/// `&CALLS` once `namedsem_open_robust` has run in this process, null
/// before: no handle can exist before.
static INSTALLED: AtomicPtr<Calls> = AtomicPtr::new(ptr::null_mut());

/// A robust handle, as the plain calls see it.
pub(crate) struct Robust<'a> {
    sem: &'a NamedSemaphore,
    calls: &'static Calls,
}

impl Robust<'_> {
    /// `sem_wait`, `sem_timedwait`, `sem_clockwait`: `deadline` is
    /// validated.
    pub(crate) fn wait(&self, deadline: Option<(Clock, Duration)>) -> c_int {
        (self.calls.wait)(self.sem, deadline)
    }

    /// `sem_trywait`.
    pub(crate) fn try_take(&self) -> c_int {
        (self.calls.try_take)(self.sem)
    }

    /// `sem_post`.
    pub(crate) fn post(&self) -> c_int {
        (self.calls.post)(self.sem)
    }

    /// `sem_getvalue`.
    pub(crate) fn value(&self) -> u32 {
        (self.calls.value)(self.sem)
    }
}

/// The robust handle behind a misaligned `sem_t *`, or `None` (errno
/// `EINVAL`) for a null pointer or any other misaligned one. Out of line: the
/// plain calls reach it only on their error path.
///
/// # Safety
///
/// A `sem` that is a page address plus [`TAG`] must point into readable
/// memory (a live handle, or any mapped page): the contract of every
/// `sem_*` call is a live semaphore.
#[cold]
#[inline(never)]
pub(crate) unsafe fn handle<'a>(sem: *mut sem_t) -> Option<Robust<'a>> {
    let addr = sem as usize;
    let calls = INSTALLED.load(Ordering::Acquire);
    if addr % PAGE != TAG || calls.is_null() {
        errno::set(e::EINVAL);
        return None;
    }
    let page = (addr - TAG) as *const Handle;
    // SAFETY: page-aligned and readable, as the caller promises; the two
    // words are read before anything else is believed of the page.
    let (magic, this) = unsafe { (ptr::addr_of!((*page).magic).read(), (*page).this) };
    if magic != MAGIC || this != page as usize {
        errno::set(e::EINVAL);
        return None;
    }
    // SAFETY: a page with the magic and its own address is a live handle,
    // written by `namedsem_open_robust` and unmapped only by `sem_close`,
    // after which the caller may not use `sem`. `calls` is null or `&CALLS`.
    unsafe {
        Some(Robust {
            sem: &(*page).sem,
            calls: &*calls,
        })
    }
}

/// Whether `sem` has a handle's tag (the only pointers `sem_close` looks
/// up as handles).
pub(crate) fn is_tagged(sem: *mut sem_t) -> bool {
    sem as usize % PAGE == TAG
}

/// `sem_close` of a robust handle: gives back what it holds, leaves the
/// record and unmaps the page. Returns 0, or -1 with `EINVAL`.
///
/// # Safety
///
/// As for [`handle`]; the caller does not use `sem` afterwards.
pub(crate) unsafe fn close_handle(sem: *mut sem_t) -> c_int {
    // SAFETY: forwarded from the caller.
    let Some(handle) = (unsafe { handle(sem) }) else {
        return -1;
    };
    // SAFETY: `handle` checked that `sem` is a live handle's.
    unsafe { (handle.calls.close)((sem as usize - TAG) as *mut Handle) }
}

/// Ends the live handle at `page`.
///
/// # Safety
///
/// `page` is a live handle's, not used after this.
unsafe fn close(page: *mut Handle) -> c_int {
    // SAFETY: `page` is a live handle (the caller's promise); the magic is
    // cleared first, so that a second `sem_close` racing this one in the
    // same process finds none, then the handle is dropped once and the page
    // unmapped.
    unsafe {
        ptr::addr_of_mut!((*page).magic).write(0);
        ptr::drop_in_place(ptr::addr_of_mut!((*page).sem));
        let _ = mm::munmap(page.cast(), PAGE);
    }
    0
}

/// `sem_t *namedsem_open_robust(const char *name, int oflag, ...)`: opens,
/// or with `O_CREAT` creates, the named semaphore as `sem_open` does, as a
/// robust handle: the tokens taken through it are recorded in the
/// semaphore's file and come back if the process dies holding them. The
/// variadic `mode_t mode, unsigned int value` follow `oflag` when it has
/// `O_CREAT`, as for `sem_open` (taken as fixed parameters: see
/// `sem_open`'s documentation for why that is ABI-correct here).
///
/// `value` is the semaphore's limit when this call creates it, or adds a
/// record to a semaphore made without one. Each call makes a new handle with
/// its own slot (124 robust handles per semaphore at once); close each with
/// `sem_close`. A blocked `sem_wait` on it checks for dead holders before it
/// sleeps and every 100 ms.
///
/// Errors (`SEM_FAILED` and errno): those of `sem_open`; `EINVAL` also
/// without `O_CREAT` for a semaphore that has no record yet (the limit a
/// record needs is `value`: open it with `O_CREAT`); `ENOSPC` if every slot
/// of the record is taken by a live holder; `EUCLEAN` for a corrupt record
/// header; `EOPNOTSUPP` (`ENOTSUP`) on a target without 64-bit atomics;
/// `ENOMEM` if the handle's page cannot be mapped.
///
/// # Safety
///
/// `name` must be a NUL-terminated string (or null: `EINVAL`).
#[no_mangle]
pub unsafe extern "C" fn namedsem_open_robust(
    name: *const c_char,
    oflag: c_int,
    mode: c_uint,
    value: c_uint,
) -> *mut sem_t {
    // SAFETY: the caller passes a C string or null.
    let Some((name, create, existence)) = (unsafe { open_request(name, oflag, value) }) else {
        return SEM_FAILED;
    };
    if !create {
        // Adding a record needs a limit, which only `value` gives.
        if let Ok(info) = inspect(name) {
            if !info.robust {
                errno::set(e::EINVAL);
                return SEM_FAILED;
            }
        }
    }
    // SAFETY: a fresh private anonymous mapping at an address the kernel
    // picks overlaps nothing.
    let page = match unsafe {
        mm::mmap_anonymous(
            ptr::null_mut(),
            PAGE,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )
    } {
        Ok(page) => page.cast::<Handle>(),
        Err(err) => {
            errno::set(err.raw_os_error());
            return SEM_FAILED;
        }
    };
    let mut options = NamedSemaphore::options();
    options
        .robust(true)
        .existence(existence)
        .unlink_on_drop(false);
    if create {
        options.initial_value(value).mode(mode);
    }
    match options.open(name) {
        Ok(sem) => {
            // SAFETY: `page` is a fresh, page-aligned, writable mapping of
            // PAGE bytes, room for a `Handle` (asserted above).
            unsafe {
                page.write(Handle {
                    magic: MAGIC,
                    this: page as usize,
                    sem,
                })
            };
            INSTALLED.store(ptr::from_ref(&CALLS).cast_mut(), Ordering::Release);
            (page as usize + TAG) as *mut sem_t
        }
        Err(err) => {
            // SAFETY: the page was mapped above and holds nothing.
            let _ = unsafe { mm::munmap(page.cast(), PAGE) };
            errno::set(open_errno(create, existence, &err));
            SEM_FAILED
        }
    }
}

/// `int namedsem_recover(sem_t *sem)`: gives back, now, the tokens of every
/// dead holder of the robust semaphore behind the handle `sem`, and returns
/// how many went back (at most `INT_MAX`). A robust `sem_wait` does the
/// same by itself before it sleeps; this is for a supervisor that wants to
/// know, or to recover without waiting.
///
/// Returns -1 with errno `EINVAL` if `sem` is not a handle from
/// `namedsem_open_robust`, `EUCLEAN` if the record's header is corrupt
/// (nothing is given back).
///
/// # Safety
///
/// `sem` must be a live handle from `namedsem_open_robust` (or a live
/// semaphore: `EINVAL`).
#[no_mangle]
pub unsafe extern "C" fn namedsem_recover(sem: *mut sem_t) -> c_int {
    if !is_tagged(sem) {
        return errno::fail(e::EINVAL);
    }
    // SAFETY: forwarded from the caller.
    let Some(handle) = (unsafe { handle(sem) }) else {
        return -1;
    };
    match handle.sem.recover() {
        Ok(done) => c_int::try_from(done.tokens).unwrap_or(c_int::MAX),
        Err(err) => errno::fail(err.raw_os_error()),
    }
}

/// `sem_trywait` on a handle: a token if one is free, kept recorded.
fn try_take(sem: &NamedSemaphore) -> c_int {
    match sem.try_acquire() {
        // Kept taken and recorded: `mem::forget`, not `Permit::forget`.
        Ok(Some(permit)) => {
            core::mem::forget(permit);
            0
        }
        Ok(None) => errno::fail(e::EAGAIN),
        Err(err) => errno::fail(err.raw_os_error()),
    }
}

/// The waits on a handle (`sem_wait`, `sem_timedwait`, `sem_clockwait`),
/// with `deadline` already validated.
fn wait(sem: &NamedSemaphore, deadline: Option<(Clock, Duration)>) -> c_int {
    match sem.acquire_interruptible(deadline) {
        Ok(Some(permit)) => {
            core::mem::forget(permit);
            0
        }
        Ok(None) => errno::fail(e::ETIMEDOUT),
        Err(err) => errno::fail(err.raw_os_error()),
    }
}

/// `sem_post` on a handle: gives back a token it holds, or posts one.
fn post(sem: &NamedSemaphore) -> c_int {
    match sem.release_held() {
        Ok(_) => 0,
        Err(err) => errno::fail(err.raw_os_error()),
    }
}
