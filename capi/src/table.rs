//! The per-process table of open named semaphores, as glibc keeps one:
//! `sem_open` of a semaphore this process already has open returns the same
//! pointer and counts a reference; `sem_close` unmaps it when the count
//! drops to zero.
//!
//! An entry is what the table needs and no more: the file's identity
//! (device, inode), the address of its mapping and the reference count, 32
//! bytes on 64-bit targets. Entries keyed on the file, so every name that
//! reaches one file (`"x"`, `"/x"`, `"//x"`) gives one pointer.
//!
//! The entries live in anonymous memory mapped on demand (see [`Entries`]),
//! so there is no fixed limit and no static storage beyond a few words: the
//! kernel's limit on mappings per process (`vm.max_map_count`, 65,530 by
//! default) is the limit, as for glibc. Lookups scan the live entries,
//! which are kept contiguous.
//!
//! Creating a semaphore is irrevocable once the name is published, so room
//! for its entry is reserved *before* the creation ([`reserve`]): the only
//! step that can fail after it (adding the entry) then cannot.

use core::cell::UnsafeCell;
use core::ptr;

use named_semaphores::RawSemaphore;
use rustix::io::Errno;
use rustix::mm::{self, MapFlags, ProtFlags};

use crate::lock::Lock;

pub(crate) use named_semaphores::FileId;

#[derive(Clone, Copy)]
struct Entry {
    /// The semaphore's address in this process (the start of its mapping).
    sem: *mut RawSemaphore,
    id: FileId,
    /// `sem_open` calls not yet matched by `sem_close`.
    refs: usize,
}

/// A growable array of entries in anonymous mappings: no allocator, and
/// nothing mapped until the first named semaphore is opened.
struct Entries {
    base: *mut Entry,
    /// Live entries: `base[..len]`.
    len: usize,
    /// Entries the mapping has room for.
    cap: usize,
    /// Room promised to creations in progress ([`Reservation`]).
    reserved: usize,
}

/// The first mapping's size; each growth doubles it.
const FIRST_BYTES: usize = 4096;

impl Entries {
    fn live(&mut self) -> &mut [Entry] {
        if self.base.is_null() {
            return &mut [];
        }
        // SAFETY: `base` is a mapping of `cap` entries, of which the first
        // `len` are initialised; the table's lock (held by the caller, who
        // has `&mut self`) makes this the only reference to them.
        unsafe { core::slice::from_raw_parts_mut(self.base, self.len) }
    }

    fn find_id(&mut self, id: FileId) -> Option<&mut Entry> {
        self.live().iter_mut().find(|e| e.id == id)
    }

    /// Makes room for `extra` more entries beyond the live and reserved
    /// ones, moving them to a mapping twice as large if needed.
    fn make_room(&mut self, extra: usize) -> Result<(), Errno> {
        let need = self
            .len
            .checked_add(self.reserved)
            .and_then(|n| n.checked_add(extra))
            .ok_or(Errno::NOMEM)?;
        if need <= self.cap {
            return Ok(());
        }
        let size = core::mem::size_of::<Entry>();
        let mut bytes = if self.cap == 0 {
            FIRST_BYTES
        } else {
            self.cap * size
        };
        while bytes / size < need {
            bytes = bytes.checked_mul(2).ok_or(Errno::NOMEM)?;
        }
        // SAFETY: a fresh private anonymous mapping at an address the kernel
        // picks overlaps nothing.
        let new = unsafe {
            mm::mmap_anonymous(
                ptr::null_mut(),
                bytes,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )?
        }
        .cast::<Entry>();
        if !self.base.is_null() {
            // SAFETY: the old mapping holds `len` initialised entries, the
            // new one has room for more; they do not overlap. The old one
            // was mapped with `cap * size` bytes and is no longer used.
            unsafe {
                ptr::copy_nonoverlapping(self.base, new, self.len);
                let _ = mm::munmap(self.base.cast(), self.cap * size);
            }
        }
        self.base = new;
        self.cap = bytes / size;
        Ok(())
    }

    fn push(&mut self, entry: Entry) {
        debug_assert!(self.len < self.cap);
        // SAFETY: `len < cap` (room was made or reserved), so the slot is in
        // the mapping.
        unsafe { self.base.add(self.len).write(entry) };
        self.len += 1;
    }
}

struct Table {
    lock: Lock,
    entries: UnsafeCell<Entries>,
}

// SAFETY: `entries` is only accessed while `lock` is held (see `with`); the
// pointers in it are addresses of process-wide mappings.
unsafe impl Sync for Table {}

/// All zeroes: the table costs `.bss`, not `.data`.
static TABLE: Table = Table {
    lock: Lock::new(),
    entries: UnsafeCell::new(Entries {
        base: ptr::null_mut(),
        len: 0,
        cap: 0,
        reserved: 0,
    }),
};

/// Runs `f` on the entries with the table locked.
fn with<R>(f: impl FnOnce(&mut Entries) -> R) -> R {
    let _guard = TABLE.lock.lock();
    // SAFETY: the lock is held until `_guard` drops after `f` returns, so
    // this is the only reference; `f` cannot leak it (the borrow ends with
    // the call).
    f(unsafe { &mut *TABLE.entries.get() })
}

/// Counts one more reference to the open semaphore whose file is `id`, and
/// returns its pointer; `None` if this process does not have it open.
///
/// # Errors
///
/// `EMFILE` if the reference count would overflow.
pub(crate) fn reopen(id: FileId) -> Result<Option<*mut RawSemaphore>, Errno> {
    with(|entries| match entries.find_id(id) {
        Some(e) => {
            e.refs = e.refs.checked_add(1).ok_or(Errno::MFILE)?;
            Ok(Some(e.sem))
        }
        None => Ok(None),
    })
}

/// Room for one entry, promised until it is used by [`add`] or dropped.
#[must_use]
pub(crate) struct Reservation(());

/// Reserves room for one entry, mapping more storage if needed.
///
/// # Errors
///
/// `ENOMEM` if the storage cannot grow.
pub(crate) fn reserve() -> Result<Reservation, Errno> {
    with(|entries| {
        entries.make_room(1)?;
        entries.reserved += 1;
        Ok(Reservation(()))
    })
}

impl Drop for Reservation {
    fn drop(&mut self) {
        with(|entries| entries.reserved -= 1);
    }
}

/// What [`add`] did.
pub(crate) enum Added {
    /// The semaphore is now in the table with one reference.
    New,
    /// Another thread added the same file meanwhile: its pointer, with one
    /// more reference. The caller's mapping is not needed.
    Existing(*mut RawSemaphore),
}

/// Adds the semaphore mapped at `sem` (file `id`) with the room `room`
/// reserved for it, or counts a reference to the entry another thread made
/// for the same file in the meantime. Cannot fail.
pub(crate) fn add(room: Reservation, sem: *mut RawSemaphore, id: FileId) -> Added {
    let added = with(|entries| {
        // The reservation is used here (or not needed): release it in the
        // same critical section.
        entries.reserved -= 1;
        if let Some(e) = entries.find_id(id) {
            // Saturates only after usize::MAX opens without a close; a
            // count that sticks there leaves the semaphore mapped for good,
            // which is harmless.
            e.refs = e.refs.saturating_add(1);
            return Added::Existing(e.sem);
        }
        entries.push(Entry { sem, id, refs: 1 });
        Added::New
    });
    core::mem::forget(room);
    added
}

/// Drops one reference to the semaphore at `sem`. `Some(true)` if that was
/// the last one: the entry is gone and the caller unmaps the semaphore.
/// `None` if `sem` is not a pointer `sem_open` returned (or it was closed
/// as often as it was opened).
pub(crate) fn release(sem: *const RawSemaphore) -> Option<bool> {
    with(|entries| {
        let live = entries.live();
        let i = live.iter().position(|e| ptr::eq(e.sem, sem))?;
        live[i].refs -= 1;
        if live[i].refs > 0 {
            return Some(false);
        }
        // Keep the live entries contiguous: the last one takes the hole.
        let last = live.len() - 1;
        live.swap(i, last);
        entries.len -= 1;
        Some(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fake, distinct, never-dereferenced semaphore addresses.
    fn addr(i: usize) -> *mut RawSemaphore {
        (0x1000 * (i + 1)) as *mut RawSemaphore
    }

    #[test]
    fn grows_past_many_pages_and_shrinks() {
        // The table is process-wide: this test uses ids no other test uses.
        const N: u64 = 3000;
        let id = |i: u64| FileId::new(u64::MAX, i);
        for i in 0..N {
            assert!(reopen(id(i)).unwrap().is_none());
            let room = reserve().unwrap();
            assert!(matches!(add(room, addr(i as usize), id(i)), Added::New));
        }
        for i in 0..N {
            assert_eq!(reopen(id(i)).unwrap(), Some(addr(i as usize)));
        }
        for i in (0..N).rev() {
            assert_eq!(release(addr(i as usize)), Some(false));
            assert_eq!(release(addr(i as usize)), Some(true));
            assert_eq!(release(addr(i as usize)), None);
            assert!(reopen(id(i)).unwrap().is_none());
        }
    }

    #[test]
    fn a_second_add_of_one_file_counts_a_reference() {
        let id = FileId::new(u64::MAX - 1, 7);
        let (a, b) = (addr(100_000), addr(100_001));
        let room = reserve().unwrap();
        assert!(matches!(add(room, a, id), Added::New));
        let room = reserve().unwrap();
        assert!(matches!(add(room, b, id), Added::Existing(p) if p == a));
        assert_eq!(release(b), None, "the losing mapping is not in the table");
        assert_eq!(release(a), Some(false));
        assert_eq!(release(a), Some(true));
    }
}
