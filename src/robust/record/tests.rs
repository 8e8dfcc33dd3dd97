//! Unit tests of the record's layout and checks.

use super::*;

#[test]
fn header_states() {
    assert_eq!(
        HeaderState::of(IDENT, 3 | LIMIT_SET),
        HeaderState::Robust(3)
    );
    assert_eq!(HeaderState::of(0, 0), HeaderState::Empty);
    assert_eq!(HeaderState::of(0, LIMIT_SET), HeaderState::Upgrading(0));
    assert_eq!(HeaderState::of(IDENT, 3), HeaderState::Corrupt);
    assert_eq!(
        HeaderState::of(IDENT ^ 1, 3 | LIMIT_SET),
        HeaderState::Corrupt
    );
    assert_eq!(HeaderState::of(7, 0), HeaderState::Corrupt);
    assert_eq!(HeaderState::of_bytes(&[0; 5]), HeaderState::Corrupt);
    let mut file = [0u8; ROBUST_FILE_LEN];
    write_new_header(&mut file, 5);
    assert_eq!(
        HeaderState::of_bytes(&file[HEADER_OFFSET..]),
        HeaderState::Robust(5)
    );
    // The ident is one native-endian word (its bytes differ on big-endian
    // targets); its low half is MAGIC.
    let word = u64::from_ne_bytes(file[HEADER_OFFSET..HEADER_OFFSET + 8].try_into().unwrap());
    assert_eq!((word, word as u32), (IDENT, MAGIC));
}

#[test]
fn state_words() {
    let shared = SHARED_TOKEN + 2 * PENDING + flag_bits(HolderFlags::CLOSING);
    let s = SlotState::of(2 * TOKEN + BUSY, shared);
    assert_eq!((s.tokens, s.pending, s.flags), (3, 3, HolderFlags::CLOSING));
    assert!(s.check(3).is_ok());
    assert_eq!(s.check(2).unwrap_err().kind(), ErrorKind::CorruptRecord);
    assert_eq!((s.uncertain(5), s.uncertain(1)), (3, 1));
    // The shared lane below zero while the exclusive one holds tokens.
    let s = SlotState::of(3 * TOKEN, SHARED_TOKEN.wrapping_neg());
    assert_eq!((s.tokens, s.pending), (2, 0));
    // Unknown flag bits are ignored, never a panic.
    assert_eq!(SlotState::of(u64::MAX, u64::MAX).flags, HolderFlags::all());
}

#[test]
fn slots_from_bytes() {
    let mut record = [0u8; ROBUST_FILE_LEN - HEADER_OFFSET];
    let at = SLOTS_OFFSET - HEADER_OFFSET + 2 * SLOT_LEN;
    record[at..at + 8].copy_from_slice(&9u64.to_ne_bytes());
    record[at + 8..at + 16].copy_from_slice(&(4 * TOKEN).to_ne_bytes());
    record[at + 16..at + 24].copy_from_slice(&PENDING.to_ne_bytes());
    record[at + 24..at + 28].copy_from_slice(&77u32.to_ne_bytes());
    let s = SlotCopy::of_bytes(&record, 2);
    assert_eq!(
        (s.beacon, s.state.tokens, s.state.pending, s.pid),
        (9, 4, 1, 77)
    );
    assert_eq!(SlotCopy::of_bytes(&record[..10], 2), SlotCopy::default());
    assert_eq!(SlotCopy::of_bytes(&record, SLOTS + 5), SlotCopy::default());
}
