//! Copies of a robust record: the whole record as bytes (for a listing,
//! which must not keep the mapping borrowed), and the header's and a slot's
//! fields read back from bytes (a record read with `pread`, or copied).

use super::{
    HeaderState, Record, RecordFlags, Slot, SlotState, HEADER_OFFSET, ROBUST_FILE_LEN,
    SLOTS_OFFSET, SLOT_LEN,
};
use crate::sync::Ordering::*;

/// The size of the record: the file from [`HEADER_OFFSET`] to its end.
pub(crate) const RECORD_LEN: usize = ROBUST_FILE_LEN - HEADER_OFFSET;

impl Record {
    /// The record's bytes as they are now, each word read atomically (the
    /// words are not read at one instant).
    pub(crate) fn copy_to(&self, out: &mut [u8; RECORD_LEN]) {
        let h = &self.header;
        let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
        put(0, &h.ident.load(Acquire).to_ne_bytes());
        put(8, &h.limit.load(Relaxed).to_ne_bytes());
        put(12, &h.flags.load(Relaxed).to_ne_bytes());
        put(16, &h.uncertain.load(Relaxed).to_ne_bytes());
        put(24, &h.recovered.load(Relaxed).to_ne_bytes());
        for (i, slot) in self.slots.iter().enumerate() {
            let at = SLOTS_OFFSET - HEADER_OFFSET + i * SLOT_LEN;
            put(at, &slot.beacon.load(Acquire).to_ne_bytes());
            put(at + 8, &slot.own.load(Relaxed).to_ne_bytes());
            put(at + 16, &slot.shared.load(Relaxed).to_ne_bytes());
            put(at + 24, &slot.pid.load(Relaxed).to_ne_bytes());
            put(at + 28, &slot.pid_ns.load(Relaxed).to_ne_bytes());
        }
    }
}

/// The header's fields, read from a record's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HeaderCopy {
    pub(crate) state: HeaderState,
    pub(crate) flags: RecordFlags,
    pub(crate) uncertain: u32,
    pub(crate) recovered: u64,
}

impl HeaderCopy {
    pub(crate) fn of_bytes(record: &[u8]) -> HeaderCopy {
        let word = |at: usize, len: usize| {
            let mut b = [0u8; 8];
            if let Some(src) = record.get(at..at + len) {
                b[..len].copy_from_slice(src);
            }
            b
        };
        let u32_at = |at| {
            let b = word(at, 4);
            u32::from_ne_bytes([b[0], b[1], b[2], b[3]])
        };
        HeaderCopy {
            state: HeaderState::of_bytes(record),
            flags: RecordFlags::from_bits_truncate(u32_at(12)),
            uncertain: u32_at(16),
            recovered: u64::from_ne_bytes(word(24, 8)),
        }
    }
}

/// A slot as read at one moment, from the mapping or from bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SlotCopy {
    pub(crate) beacon: u64,
    pub(crate) state: SlotState,
    pub(crate) pid: u32,
    pub(crate) pid_ns: u32,
}

impl SlotCopy {
    pub(crate) fn of(slot: &Slot) -> SlotCopy {
        SlotCopy {
            beacon: slot.beacon.load(Acquire),
            state: slot.state(),
            pid: slot.pid.load(Relaxed),
            pid_ns: slot.pid_ns.load(Relaxed),
        }
    }

    /// Slot `index` of a record read as bytes (`record` starts at
    /// [`HEADER_OFFSET`]); all zero if the bytes are short.
    pub(crate) fn of_bytes(record: &[u8], index: usize) -> SlotCopy {
        let at = SLOTS_OFFSET - HEADER_OFFSET + index * SLOT_LEN;
        let u64_at = |o: usize| {
            record
                .get(at + o..at + o + 8)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_ne_bytes)
        };
        let u32_at = |o: usize| {
            record
                .get(at + o..at + o + 4)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_ne_bytes)
        };
        SlotCopy {
            beacon: u64_at(0),
            state: SlotState::of(u64_at(8), u64_at(16)),
            pid: u32_at(24),
            pid_ns: u32_at(28),
        }
    }
}
