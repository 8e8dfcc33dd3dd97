//! What a semaphore file holds, judged from its size and its first bytes:
//! the one place where file sizes are told apart ([`classify_size`]) and a
//! `sem_t` image is decoded in either of glibc's layouts ([`decode`]). A
//! robust semaphore's file (`ROBUST_FILE_LEN` bytes, a record after the
//! `sem_t`) is recognised here too; its record is `robust/record.rs`'s.
//!
//! The opener (`file.rs`) and the listing (`list/info.rs`) both ask here, so
//! that a size this crate learns to accept is accepted by both. A file of
//! this target's `sizeof(sem_t)` is a semaphore it can open; one of the
//! other word size's (16 bytes seen from a 64-bit process, 32 from a 32-bit
//! one) with a sound header was made by a process of that word size, in
//! glibc's other layout: it can be read, and is listed with its value, but
//! never opened, as glibc's processes of the two word sizes cannot share a
//! semaphore either.

use crate::raw::{Layout, RawSemaphore, FUTEX_SHARED};
use crate::robust::record::ROBUST_FILE_LEN;
use crate::VALUE_MAX;

/// The bytes of a `sem_t` image that hold its fields in both layouts: the
/// value word(s) and `private` (offset 8 in the wide layout, 4 in the
/// narrow one) and the narrow layout's waiter count at offset 12.
pub(crate) const HEADER_LEN: usize = 16;

/// glibc's layout in a process of the other word size.
pub(crate) const OTHER_LAYOUT: Layout = if cfg!(target_pointer_width = "64") {
    Layout::Narrow
} else {
    Layout::Wide
};

/// `sizeof(sem_t)` in a process of the other word size.
pub(crate) const OTHER_SIZE: usize = if cfg!(target_pointer_width = "64") {
    16
} else {
    32
};

/// Why an other-layout semaphore cannot be opened, for errors.
pub(crate) const MADE_BY_OTHER: &str = if cfg!(target_pointer_width = "64") {
    "made by a 32-bit process: a 64-bit one cannot share it"
} else {
    "made by a 64-bit process: a 32-bit one cannot share it"
};

/// What a regular file's size says it may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SizeClass {
    /// `sizeof(sem_t)` on this target: a semaphore this process can open.
    Native,
    /// [`ROBUST_FILE_LEN`]: this target's `sem_t`, then a robust
    /// semaphore's record (its header tells whether it is sound).
    Robust,
    /// `sizeof(sem_t)` for the other word size: perhaps a semaphore in
    /// [`OTHER_LAYOUT`] (its header tells).
    OtherLayout,
    /// Neither: not a semaphore (or one still being written).
    Wrong,
}

/// Classifies the size of a regular file at a semaphore's path.
pub(crate) fn classify_size(size: u64) -> SizeClass {
    if size == RawSemaphore::SIZE as u64 {
        SizeClass::Native
    } else if size == ROBUST_FILE_LEN as u64 {
        SizeClass::Robust
    } else if size == OTHER_SIZE as u64 {
        SizeClass::OtherLayout
    } else {
        SizeClass::Wrong
    }
}

/// The fields of a `sem_t` image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// The number of tokens.
    pub(crate) value: u32,
    /// The registered waiters.
    pub(crate) waiters: u32,
    /// The `private` field: 128 in every shared semaphore.
    pub(crate) private: i32,
}

impl Decoded {
    /// Whether glibc or this crate could have written this header: `private`
    /// is 128 and the value at most [`VALUE_MAX`].
    pub(crate) fn is_sound(&self) -> bool {
        self.private == FUTEX_SHARED && self.value <= VALUE_MAX
    }
}

/// Decodes the first [`HEADER_LEN`] bytes of a `sem_t` image in `layout`,
/// in this machine's byte order (a file is shared only within one machine).
///
/// Wide: a `u64` at 0 (value in the low half, waiters in the high half),
/// `private` at 8. Narrow: `count << 1 | waiter bit` at 0, `private` at 4,
/// the waiter count at 12 (see `raw/wide.rs` and `raw/narrow.rs`).
pub(crate) fn decode(bytes: &[u8; HEADER_LEN], layout: Layout) -> Decoded {
    let word = |at: usize| [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    match layout {
        Layout::Wide => {
            let mut data = [0u8; 8];
            data.copy_from_slice(&bytes[0..8]);
            let data = u64::from_ne_bytes(data);
            Decoded {
                value: data as u32,
                waiters: (data >> 32) as u32,
                private: i32::from_ne_bytes(word(8)),
            }
        }
        Layout::Narrow => Decoded {
            value: u32::from_ne_bytes(word(0)) >> 1,
            waiters: u32::from_ne_bytes(word(12)),
            private: i32::from_ne_bytes(word(4)),
        },
    }
}

/// The first 16 bytes of glibc's image in `layout` for `value` tokens and
/// `waiters` registered waiters, in this machine's byte order (for tests).
#[cfg(test)]
pub(crate) fn image(layout: Layout, value: u32, waiters: u32) -> [u8; HEADER_LEN] {
    let mut b = [0u8; HEADER_LEN];
    match layout {
        Layout::Wide => {
            let data = u64::from(value) | u64::from(waiters) << 32;
            b[0..8].copy_from_slice(&data.to_ne_bytes());
            b[8..12].copy_from_slice(&128i32.to_ne_bytes());
        }
        Layout::Narrow => {
            let bit = u32::from(waiters > 0);
            b[0..4].copy_from_slice(&(value << 1 | bit).to_ne_bytes());
            b[4..8].copy_from_slice(&128i32.to_ne_bytes());
            b[12..16].copy_from_slice(&waiters.to_ne_bytes());
        }
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_this_targets_own_image() {
        let sem = RawSemaphore::new(5).unwrap();
        sem.try_acquire().unwrap().expect("a token").forget();
        let mut head = [0u8; HEADER_LEN];
        head.copy_from_slice(&sem.to_bytes()[..HEADER_LEN]);
        let d = decode(&head, RawSemaphore::LAYOUT);
        let want = Decoded {
            value: 4,
            waiters: 0,
            private: 128,
        };
        assert_eq!(d, want);
        assert!(d.is_sound());
    }

    #[test]
    fn decodes_both_layouts_with_waiters() {
        for layout in [Layout::Wide, Layout::Narrow] {
            for (value, waiters) in [(0, 1), (3, 0), (VALUE_MAX, 2)] {
                let d = decode(&image(layout, value, waiters), layout);
                assert_eq!((d.value, d.waiters, d.private), (value, waiters, 128));
                assert!(d.is_sound(), "{layout:?} {value} {waiters}");
            }
        }
    }

    #[test]
    fn glibc_byte_images_of_value_3() {
        // As glibc writes them on little-endian machines (the ABI notes):
        // wide 03000000 00000000 80000000 ..., narrow 06000000 80000000 ...
        if cfg!(target_endian = "little") {
            let mut wide = [0u8; HEADER_LEN];
            wide[0] = 3;
            wide[8] = 0x80;
            assert_eq!(decode(&wide, Layout::Wide).value, 3);
            let mut narrow = [0u8; HEADER_LEN];
            narrow[0] = 6;
            narrow[4] = 0x80;
            assert_eq!(decode(&narrow, Layout::Narrow).value, 3);
            // Each read in the other layout is not a sound header.
            assert!(!decode(&wide, Layout::Narrow).is_sound());
            assert!(!decode(&narrow, Layout::Wide).is_sound());
        }
    }

    #[test]
    fn unsound_headers() {
        let mut b = image(OTHER_LAYOUT, 1, 0);
        let at = if OTHER_LAYOUT == Layout::Wide { 8 } else { 4 };
        b[at..at + 4].copy_from_slice(&0i32.to_ne_bytes());
        assert!(!decode(&b, OTHER_LAYOUT).is_sound(), "private 0");
        let d = Decoded {
            value: VALUE_MAX + 1,
            waiters: 0,
            private: 128,
        };
        assert!(!d.is_sound(), "value above VALUE_MAX");
    }

    #[test]
    fn sizes() {
        assert_eq!(classify_size(RawSemaphore::SIZE as u64), SizeClass::Native);
        assert_eq!(classify_size(OTHER_SIZE as u64), SizeClass::OtherLayout);
        assert_eq!(classify_size(ROBUST_FILE_LEN as u64), SizeClass::Robust);
        for wrong in [0, 1, 8, 15, 17, 31, 33, 64, 4095, 4097] {
            if wrong != RawSemaphore::SIZE as u64 && wrong != OTHER_SIZE as u64 {
                assert_eq!(classify_size(wrong), SizeClass::Wrong, "{wrong}");
            }
        }
        assert_ne!(OTHER_SIZE, RawSemaphore::SIZE);
    }
}
