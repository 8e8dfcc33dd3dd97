//! The per-process table of open named semaphores, as glibc keeps one:
//! `sem_open` of a semaphore this process already has open returns the same
//! pointer and counts a reference; `sem_close` unmaps it when the count
//! drops to zero.
//!
//! Fixed storage, no allocation: [`MAX_OPEN`] distinct semaphores at a time.
//! Entries are keyed on the file's (device, inode), so every name that
//! reaches one file (`"x"`, `"/x"`, `"//x"`) gives one pointer. The keys sit
//! in a compact array of their own, so a lookup reads a few pages, not the
//! handles.

use core::cell::UnsafeCell;
use core::ptr;

use named_semaphores::{FileId, NamedSemaphore, RawSemaphore};

use crate::lock::Lock;

/// How many distinct named semaphores a process can have open at once
/// (POSIX's `_POSIX_SEM_NSEMS_MAX` is 256). `sem_open` fails with `EMFILE`
/// beyond that.
pub(crate) const MAX_OPEN: usize = 1024;

#[derive(Clone, Copy)]
struct Key {
    /// The semaphore's address in this process; null for a free slot.
    sem: *const RawSemaphore,
    /// Device and inode of its file.
    id: FileId,
    /// `sem_open` calls not yet matched by `sem_close`.
    refs: usize,
}

const FREE: Key = Key {
    sem: ptr::null(),
    id: FileId::new(0, 0),
    refs: 0,
};

struct Slots {
    keys: [Key; MAX_OPEN],
    handles: [Option<NamedSemaphore>; MAX_OPEN],
}

struct Table {
    lock: Lock,
    slots: UnsafeCell<Slots>,
}

// SAFETY: `slots` is only accessed while `lock` is held (see `with`), and
// what it holds is `Send` (`NamedSemaphore`) or plain data (the pointers are
// addresses of process-wide mappings, only compared, never dereferenced here).
unsafe impl Sync for Table {}

static TABLE: Table = Table {
    lock: Lock::new(),
    slots: UnsafeCell::new(Slots {
        keys: [FREE; MAX_OPEN],
        handles: [const { None }; MAX_OPEN],
    }),
};

/// Runs `f` on the slots with the table locked.
fn with<R>(f: impl FnOnce(&mut Slots) -> R) -> R {
    let _guard = TABLE.lock.lock();
    // SAFETY: the lock is held until `_guard` drops after `f` returns, so
    // this is the only reference to the slots; `f` cannot leak it (the
    // borrow ends with the call).
    f(unsafe { &mut *TABLE.slots.get() })
}

/// Records a semaphore that `sem_open` just mapped and returns the pointer
/// to hand out: the one already in the table if this process has the same
/// file open (the new mapping is then dropped), else the new one. `None`
/// if the table is full.
pub(crate) fn insert(sem: NamedSemaphore) -> Option<*mut RawSemaphore> {
    let id = sem.file_id();
    let mut spare = Some(sem);
    let found = with(|slots| {
        if let Some(key) = slots
            .keys
            .iter_mut()
            .find(|k| !k.sem.is_null() && k.id == id)
        {
            key.refs += 1;
            return Some(key.sem);
        }
        let free = slots.keys.iter().position(|k| k.sem.is_null())?;
        let sem = spare.take()?;
        let raw: *const RawSemaphore = sem.as_raw();
        slots.keys[free] = Key {
            sem: raw,
            id,
            refs: 1,
        };
        slots.handles[free] = Some(sem);
        Some(raw)
    });
    // An unused new mapping is unmapped here, outside the lock.
    drop(spare);
    found.map(<*const RawSemaphore>::cast_mut)
}

/// Drops one reference to the semaphore at `sem`; unmaps it when that was
/// the last. `false` if `sem` is not a pointer `sem_open` returned (or it
/// was closed as often as it was opened).
pub(crate) fn remove(sem: *const RawSemaphore) -> bool {
    let mut last = None;
    let found = with(|slots| {
        let Some(i) = slots
            .keys
            .iter()
            .position(|k| k.sem == sem && !sem.is_null())
        else {
            return false;
        };
        slots.keys[i].refs -= 1;
        if slots.keys[i].refs == 0 {
            slots.keys[i] = FREE;
            last = slots.handles[i].take();
        }
        true
    });
    // The last reference: unmap outside the lock.
    drop(last);
    found
}
