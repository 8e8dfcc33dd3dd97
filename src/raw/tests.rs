//! Unit tests of [`RawSemaphore`](super::RawSemaphore): the image it writes, and
//! the protocol across threads.

use super::*;
use core::sync::atomic::Ordering;
use core::time::Duration;
use std::sync::Arc;
use std::thread;
use std::vec::Vec;

fn image(sem: &RawSemaphore) -> [u8; RawSemaphore::SIZE] {
    sem.to_bytes()
}

#[test]
fn new_image_matches_glibc() {
    let sem = RawSemaphore::new(3).unwrap();
    let bytes = image(&sem);
    let mut want = [0u8; RawSemaphore::SIZE];
    match RawSemaphore::LAYOUT {
        Layout::Wide => {
            let off = if cfg!(target_endian = "big") { 4 } else { 0 };
            want[off..off + 4].copy_from_slice(&3u32.to_ne_bytes());
            want[8..12].copy_from_slice(&128i32.to_ne_bytes());
        }
        Layout::Narrow => {
            want[0..4].copy_from_slice(&6u32.to_ne_bytes());
            want[4..8].copy_from_slice(&128i32.to_ne_bytes());
        }
    }
    assert_eq!(bytes, want);
}

#[test]
fn initial_value_range() {
    assert!(RawSemaphore::new(VALUE_MAX).is_ok());
    let err = RawSemaphore::new(VALUE_MAX + 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn try_acquire_counts_down() {
    let sem = RawSemaphore::new(2).unwrap();
    assert!(sem.take_now());
    assert!(sem.take_now());
    assert!(!sem.take_now());
    assert_eq!(sem.value(), 0);
}

#[test]
fn release_overflow_changes_nothing() {
    let sem = RawSemaphore::new(VALUE_MAX - 1).unwrap();
    assert_eq!(sem.release_n(2).unwrap_err().kind(), ErrorKind::Overflow);
    assert_eq!(sem.value(), VALUE_MAX - 1);
    sem.release().unwrap();
    assert_eq!(sem.release().unwrap_err().kind(), ErrorKind::Overflow);
    assert_eq!(
        sem.release_n(u32::MAX).unwrap_err().kind(),
        ErrorKind::Overflow
    );
    assert_eq!(sem.value(), VALUE_MAX);
    assert_eq!(sem.waiters(), 0);
}

#[test]
fn release_n_zero_is_a_no_op() {
    let sem = RawSemaphore::new(0).unwrap();
    sem.release_n(0).unwrap();
    assert_eq!(sem.value(), 0);
}

#[test]
fn permit_releases_on_drop_and_forget_keeps_token() {
    let sem = RawSemaphore::new(1).unwrap();
    {
        let _p = sem.acquire().unwrap();
        assert_eq!(sem.value(), 0);
        assert!(sem.try_acquire().unwrap().is_none());
    }
    assert_eq!(sem.value(), 1);
    sem.try_acquire().unwrap().unwrap().forget();
    assert_eq!(sem.value(), 0);
    sem.release().unwrap();
    let timed = sem.acquire_timeout(Duration::from_millis(1)).unwrap();
    assert_eq!((timed.is_some(), sem.value()), (true, 0));
    drop(timed);
    let past = Some((crate::raw::deadline::Clock::Monotonic, Duration::ZERO));
    let interruptible = sem.acquire_interruptible(past).unwrap();
    assert_eq!((interruptible.is_some(), sem.value()), (true, 0));
    drop(interruptible);
    assert_eq!(sem.value(), 1);
}

#[test]
fn zero_timeout_is_try() {
    let sem = RawSemaphore::new(0).unwrap();
    assert!(!sem.take_timeout(Duration::ZERO).unwrap());
    assert_eq!(sem.waiters(), 0);
    sem.release().unwrap();
    assert!(sem.take_timeout(Duration::ZERO).unwrap());
}

#[test]
fn timeout_unregisters_waiter() {
    let sem = RawSemaphore::new(0).unwrap();
    assert!(sem
        .acquire_timeout(Duration::from_millis(5))
        .unwrap()
        .is_none());
    assert_eq!(sem.waiters(), 0);
    assert_eq!(sem.value(), 0);
}

#[test]
fn blocked_waiters_are_woken_by_release_n() {
    let sem = Arc::new(RawSemaphore::new(0).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let sem = Arc::clone(&sem);
            thread::spawn(move || sem.take().unwrap())
        })
        .collect();
    while sem.waiters() < 4 {
        thread::yield_now();
    }
    sem.release_n(4).unwrap();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(sem.value(), 0);
    assert_eq!(sem.waiters(), 0);
}

#[test]
fn mutual_exclusion_across_threads() {
    let sem = Arc::new(RawSemaphore::new(1).unwrap());
    let inside = Arc::new(core::sync::atomic::AtomicU32::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (sem, inside) = (Arc::clone(&sem), Arc::clone(&inside));
            thread::spawn(move || {
                for _ in 0..2000 {
                    let _p = sem.acquire().unwrap();
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(sem.value(), 1);
    assert_eq!(sem.waiters(), 0);
}
