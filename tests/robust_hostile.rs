//! Robust mode on hostile input: a truncated file, a corrupt header, forged
//! holder slots, slots claiming more than the limit, beacons that are
//! symbolic links, FIFOs, directories or missing, and random records. Each
//! gives a typed error or is ignored; nothing panics, and no recovery raises
//! the value above the record's limit.

#![cfg(target_has_atomic = "64")]

mod common;
#[path = "common/robust.rs"]
mod robust;

use std::os::unix::fs::FileExt;

use common::TestDir;
use named_semaphores::{
    holders_in, inspect_in, ErrorKind, Liveness, NamedSemaphore, RecordFlags, Status,
};
use proptest::prelude::*;
use robust::{self as r, ForgedBeacon, BUSY, COUNT, PENDING, RECOVERING, SHARED_TOKEN, TOKEN};

/// Opens `name` in `dir`, plain or robust.
fn open(dir: &str, robust: bool) -> Result<NamedSemaphore, named_semaphores::Error> {
    NamedSemaphore::options()
        .directory(dir)
        .robust(robust)
        .open("s")
}

#[test]
fn a_truncated_record_is_refused() {
    let dir = TestDir::new("truncated");
    let sem = r::create(&dir.0, "s", 2);
    let path = r::sem_path(&dir.0, "s");
    sem.set_unlink_on_drop(false);
    drop(sem);
    for len in [100u64, 2000, 4095, 4097] {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len)
            .unwrap();
        for robust in [false, true] {
            let err = open(&dir.0, robust).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidObject, "{len} {robust}");
        }
        assert_eq!(
            holders_in(&dir.0, "s").unwrap_err().kind(),
            ErrorKind::InvalidObject
        );
        assert_eq!(inspect_in(&dir.0, "s").unwrap().status, Status::WrongSize);
    }
}

#[test]
fn a_corrupt_header_is_refused() {
    let dir = TestDir::new("header");
    let sem = r::create(&dir.0, "s", 2);
    sem.set_unlink_on_drop(false);
    drop(sem);
    let path = r::sem_path(&dir.0, "s");
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    let good = std::fs::read(&path).unwrap();
    // A wrong magic; a limit word without its "recorded" bit; no ident and
    // a limit without that bit (not a half-done upgrade); a foreign version.
    let no_ident = [[0u8; 8].as_slice(), &5u32.to_ne_bytes()].concat();
    let forgeries: [(u64, &[u8]); 4] = [
        (r::HEADER_OFFSET, b"XXXX"),
        (r::HEADER_OFFSET + 8, &2u32.to_ne_bytes()),
        (r::HEADER_OFFSET, &no_ident),
        (r::HEADER_OFFSET + 4, &[9, 9, 9, 9]),
    ];
    for (at, bytes) in forgeries {
        f.write_all_at(&good, 0).unwrap();
        f.write_all_at(bytes, at).unwrap();
        for robust in [false, true] {
            let err = open(&dir.0, robust).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::CorruptRecord, "{at} {robust}");
            assert_eq!(err.raw_os_error(), libc::EUCLEAN);
        }
        assert_eq!(
            holders_in(&dir.0, "s").unwrap_err().kind(),
            ErrorKind::CorruptRecord
        );
        assert_eq!(inspect_in(&dir.0, "s").unwrap().status, Status::BadHeader);
    }
    // A handle opened before the header went bad reports it too.
    f.write_all_at(&good, 0).unwrap();
    let sem = open(&dir.0, true).unwrap();
    f.write_all_at(b"XXXX", r::HEADER_OFFSET).unwrap();
    assert_eq!(sem.recover().unwrap_err().kind(), ErrorKind::CorruptRecord);
    assert_eq!(sem.holders().unwrap_err().kind(), ErrorKind::CorruptRecord);
    assert!(sem.try_acquire().unwrap().is_some(), "tokens still work");
    f.write_all_at(&good[64..128], r::HEADER_OFFSET).unwrap();
}

#[test]
fn slots_claiming_too_much_give_back_nothing_over_the_limit() {
    let dir = TestDir::new("too-much");
    let sem = r::create(&dir.0, "s", 3);
    let path = r::sem_path(&dir.0, "s");
    // One dead slot claims more than the limit: corrupt, left alone.
    let a = ForgedBeacon::new(&dir.0, 0xa, false);
    r::write_slot(&path, 10, a.id, 4 * TOKEN, 0, 1);
    let done = sem.recover().unwrap();
    assert_eq!((done.tokens, done.corrupt), (0, 1));
    assert_eq!(sem.value(), 3);
    let bad: Vec<_> = sem.holders().unwrap().filter(|h| h.slot == 10).collect();
    assert!(bad[0].corrupt);
    assert!(sem
        .holders()
        .unwrap()
        .flags()
        .contains(RecordFlags::CORRUPT_SLOT));

    // Two dead slots each claim the whole limit: together they would pass
    // it; the value stops at the limit.
    sem.acquire().unwrap().forget();
    let b = ForgedBeacon::new(&dir.0, 0xb, false);
    let c = ForgedBeacon::new(&dir.0, 0xc, false);
    r::write_slot(&path, 11, b.id, 3 * TOKEN, 0, 1);
    // The lanes sum modulo 2^32: 4 + (-1) = 3.
    r::write_slot(&path, 12, c.id, 4 * TOKEN, SHARED_TOKEN.wrapping_neg(), 1);
    let done = sem.recover().unwrap();
    assert_eq!((done.tokens, done.holders), (1, 2));
    assert_eq!(sem.value(), 3);
    assert!(sem.holders().unwrap().flags().contains(RecordFlags::CAPPED));
    drop((a, b, c));
}

#[test]
fn a_slot_left_mid_recovery_is_uncertain_not_given_twice() {
    let dir = TestDir::new("mid-recovery");
    let sem = r::create(&dir.0, "s", 3);
    let path = r::sem_path(&dir.0, "s");
    sem.acquire().unwrap().forget();
    let a = ForgedBeacon::new(&dir.0, 0xd, false);
    let shared = 2 * SHARED_TOKEN + PENDING + RECOVERING;
    r::write_slot(&path, 20, a.id, 0, shared, 1);
    let done = sem.recover().unwrap();
    assert_eq!((done.tokens, done.uncertain, done.holders), (0, 3, 1));
    assert_eq!(sem.value(), 2);
    assert_eq!(sem.holders().unwrap().uncertain(), 3);
}

#[test]
fn a_holder_dead_in_the_middle_of_an_operation_leaves_one_uncertain() {
    let dir = TestDir::new("mid-operation");
    let sem = r::create(&dir.0, "s", 4);
    let path = r::sem_path(&dir.0, "s");
    for _ in 0..4 {
        sem.acquire().unwrap().forget();
    }
    // Two tokens held, and a third in flight in the exclusive lane.
    let a = ForgedBeacon::new(&dir.0, 0xd1, false);
    r::write_slot(&path, 21, a.id, (2 * TOKEN) | BUSY, 0, 1);
    let done = sem.recover().unwrap();
    assert_eq!((done.tokens, done.uncertain), (2, 1));
    assert_eq!(sem.value(), 2);
}

/// A BUSY bit in a live handle's exclusive lane that nobody will settle:
/// forged here, and left the same way by a forked child that shares the
/// handle and is killed inside an operation, or by a signal handler calling
/// the C library's `sem_post` (async-signal-safe) that interrupts its own
/// thread's `sem_wait` or `sem_post` between the mark and the settlement.
/// `release_held` reads the lane as it stands and gives the token through
/// the shared lane (`protocol::give_if_held`); the holder's count, the sum
/// of both lanes, is right once the lane is settled. (A wait for the lane
/// without a bound hung here.) If it does not return, the lane is put back
/// after the timeout so that the thread finishes.
#[test]
fn a_busy_lane_nobody_settles_does_not_block_release_held() {
    let dir = TestDir::new("busy-lane");
    let sem = r::create(&dir.0, "s", 2);
    let path = r::sem_path(&dir.0, "s");
    core::mem::forget(r::hold(&sem)); // one token, recorded in the exclusive lane
    let (beacon, own, shared, pid) = r::read_slot(&path, 0);
    assert_eq!((own & COUNT, own & BUSY), (TOKEN, 0));
    r::write_slot(&path, 0, beacon, own | BUSY, shared, pid);
    let returned = std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let sem = &sem;
        s.spawn(move || tx.send(sem.release_held()).unwrap());
        let got = rx.recv_timeout(std::time::Duration::from_secs(20));
        if got.is_err() {
            r::write_slot(&path, 0, beacon, own, shared, pid);
        }
        got
    });
    let gave = returned.expect("release_held did not return within 20 s");
    assert!(gave.unwrap(), "the recorded token went back");
    assert_eq!(sem.value(), 2);
    // The forged mark's thread "settles": the lane as it was.
    let (_, own_now, _, _) = r::read_slot(&path, 0);
    assert_eq!(own_now, own | BUSY, "the marked lane is not written");
    r::write_slot(&path, 0, beacon, own, r::read_slot(&path, 0).2, pid);
    let me = sem.holders().unwrap().next().unwrap();
    assert_eq!((me.tokens, me.pending), (0, 0));
    // Nothing recorded now: a plain post.
    assert!(!sem.release_held().unwrap());
    assert_eq!(sem.value(), 3);
}

#[test]
fn beacons_that_are_not_files_tell_nothing() {
    let dir = TestDir::new("beacons");
    let sem = r::create(&dir.0, "s", 4);
    let path = r::sem_path(&dir.0, "s");
    for _ in 0..4 {
        sem.acquire().unwrap().forget();
    }
    let target = ForgedBeacon::new(&dir.0, 0xe0, false);
    let link = r::beacon_path(&dir.0, 0xe1);
    std::os::unix::fs::symlink(&target.path, &link).unwrap();
    let fifo = r::beacon_path(&dir.0, 0xe2);
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::fs::create_dir(r::beacon_path(&dir.0, 0xe3)).unwrap();
    // 0xe4: no beacon file at all.
    for (i, id) in [0xe1u64, 0xe2, 0xe3, 0xe4].into_iter().enumerate() {
        r::write_slot(&path, 30 + i, id, TOKEN, 0, 1);
    }
    let done = sem.recover().unwrap();
    assert_eq!((done.tokens, done.undecided), (0, 4));
    assert_eq!(sem.value(), 0);
    for h in sem.holders().unwrap().filter(|h| h.slot >= 30) {
        assert!(matches!(h.liveness, Liveness::Unknown(_)), "{h:?}");
    }
    assert!(
        fifo.exists() && link.symlink_metadata().is_ok(),
        "left alone"
    );
}

/// A record of random bytes (after a valid header and a valid `sem_t`).
fn random_record(seed: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0u8; 4096 - 128];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = seed[i % seed.len()].wrapping_mul(i as u8 | 1);
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("NSEM_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    /// Random slots (beacon ids that exist or not, any counts and flags):
    /// recovery and listing never panic, and the value never passes the
    /// limit.
    #[test]
    fn random_slots_never_pass_the_limit(
        seed in proptest::collection::vec(any::<u8>(), 1..64),
        limit in 0u32..5,
        dead in proptest::collection::vec(0usize..124, 0..6),
    ) {
        let dir = TestDir::new("random");
        let sem = r::create(&dir.0, "s", limit);
        let path = r::sem_path(&dir.0, "s");
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        // Keep this handle's own slot (0) intact.
        f.write_all_at(&random_record(&seed)[32..], r::SLOTS_OFFSET + 32).unwrap();
        // Some slots get a dead beacon of their own.
        let beacons: Vec<_> = dead
            .iter()
            .filter(|&&i| i > 0)
            .map(|&i| {
                let id = 0xf000 + i as u64;
                let b = ForgedBeacon::new(&dir.0, id, false);
                let (_, own, shared, _) = r::read_slot(&path, i);
                r::write_slot(&path, i, id, own, shared, 7);
                b
            })
            .collect();
        let _ = sem.recover().unwrap();
        prop_assert!(sem.value() <= limit);
        let _ = sem.holders().unwrap().count();
        let _ = holders_in(&dir.0, "s").unwrap().count();
        drop(beacons);
    }
}
