//! [`Source`]: where a permit's token goes back, in one word: a plain
//! semaphore, or a robust handle's slot, so that a permit (and the `Result`
//! it comes in) stays the size of a reference and a plain permit costs what
//! it did before the robust mode.
//!
//! A robust slot's address says where its semaphore is: the record shares
//! its semaphore's mapping, which starts at the `sem_t` and is page-aligned
//! ([`ROBUST_FILE_LEN`] bytes, at most one page), so rounding a slot's
//! address down to [`ROBUST_FILE_LEN`] gives the semaphore's. The low bit of
//! the word says which kind it is (both are at least 4-aligned).
#![allow(unsafe_code)]

use core::marker::PhantomData;
use core::ptr::NonNull;

use super::record::{Slot, ROBUST_FILE_LEN, SLOTS, SLOTS_OFFSET, SLOT_LEN};
use crate::raw::RawSemaphore;

/// The tag of a robust slot's address.
const ROBUST: usize = 1;

/// A plain semaphore, or a robust slot and (implied) its semaphore.
#[derive(Clone, Copy)]
pub(crate) struct Source<'a> {
    tagged: NonNull<u8>,
    _borrow: PhantomData<&'a RawSemaphore>,
}

// SAFETY: a `Source` stands for shared references to a `RawSemaphore` and a
// `Slot`, which are `Sync` (atomics only).
unsafe impl Send for Source<'_> {}
// SAFETY: as above.
unsafe impl Sync for Source<'_> {}

impl<'a> Source<'a> {
    /// A plain semaphore's tokens.
    #[inline]
    pub(crate) fn plain(sem: &'a RawSemaphore) -> Self {
        Source {
            tagged: NonNull::from(sem).cast(),
            _borrow: PhantomData,
        }
    }

    /// The slot `slot` of the robust record after `base`.
    ///
    /// # Safety
    ///
    /// `base` is the start of a mapping of a robust semaphore's file
    /// ([`ROBUST_FILE_LEN`] bytes, page-aligned, from `mmap`), which stays
    /// mapped for `'a`; `slot` is below [`SLOTS`].
    #[inline]
    pub(crate) unsafe fn robust(base: NonNull<RawSemaphore>, slot: usize) -> Self {
        debug_assert!(slot < SLOTS);
        debug_assert_eq!(base.as_ptr() as usize % ROBUST_FILE_LEN, 0);
        let at = SLOTS_OFFSET + slot * SLOT_LEN + ROBUST;
        // Derived from the mapping's own pointer, whose provenance covers
        // the whole mapping, semaphore and record.
        let tagged = base.as_ptr().cast::<u8>().wrapping_add(at);
        Source {
            // SAFETY: an address inside the mapping (`at` is less than its
            // length), so not null.
            tagged: unsafe { NonNull::new_unchecked(tagged) },
            _borrow: PhantomData,
        }
    }

    /// The semaphore.
    #[inline]
    pub(crate) fn sem(self) -> &'a RawSemaphore {
        let p = self.tagged.as_ptr();
        let back = if p as usize & ROBUST == 0 {
            0
        } else {
            p as usize % ROBUST_FILE_LEN
        };
        // SAFETY: plain: the reference `plain` was made from, valid for 'a.
        // Robust: the mapping's start (see `robust`), which holds the
        // semaphore and stays mapped for 'a.
        unsafe { &*p.wrapping_sub(back).cast::<RawSemaphore>() }
    }

    /// The robust slot, if any.
    #[inline]
    pub(crate) fn slot(self) -> Option<&'a Slot> {
        let p = self.tagged.as_ptr();
        if p as usize & ROBUST == 0 {
            return None;
        }
        // SAFETY: a slot of the record in the mapping (see `robust`): inside
        // it, 8-aligned, atomics only, mapped for 'a.
        Some(unsafe { &*p.wrapping_sub(ROBUST).cast::<Slot>() })
    }
}
