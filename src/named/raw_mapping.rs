//! Giving up a [`NamedSemaphore`]'s mapping to the C library, whose table
//! keeps bare addresses (see `c_library.rs`).

#![allow(unsafe_code)]

use core::mem::ManuallyDrop;
use core::ptr::{self, NonNull};

use crate::file_id::FileId;
use crate::named::NamedSemaphore;
use crate::raw::RawSemaphore;

impl NamedSemaphore {
    /// Ends this handle without unmapping its semaphore or touching its
    /// name: the address of its `sem_t` and the identity of its file. A
    /// robust handle first gives back what it holds and leaves the record,
    /// as its drop would. Not part of the crate's API: the C library's
    /// (`c_library::unmap` ends the mapping).
    #[doc(hidden)]
    pub fn into_raw_mapping(self) -> (NonNull<RawSemaphore>, FileId) {
        let mut this = ManuallyDrop::new(self);
        this.unregister();
        let id = this.map.id();
        // SAFETY: `this` is never used or dropped again: its mapping is
        // read out once (and given up), and every other field is dropped in
        // place once, so nothing is dropped twice or leaked.
        let map = unsafe {
            let map = ptr::read(&this.map);
            ptr::drop_in_place(&mut this.name);
            ptr::drop_in_place(&mut this.dir);
            ptr::drop_in_place(&mut this.unlink_on_drop);
            ptr::drop_in_place(&mut this.robust);
            map
        };
        (map.into_raw(), id)
    }
}
