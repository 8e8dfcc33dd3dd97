//! Robust mode, threads of one handle: every recorded token is matched by
//! exactly one give, however the threads interleave.
//!
//! The threads share one slot of the record (`robust/protocol.rs`): permit
//! drops, forgotten permits given back with `release_held` (the C
//! library's `sem_post`), and posts of tokens the handle never recorded
//! (a producer's `sem_post`), all at once, on every core. A give that reads
//! the slot's two lanes at different moments can take a recorded token for
//! none (the record then keeps a token nobody holds, which a recovery would
//! give back once too often) or take one out twice (a count below zero,
//! which a recovery refuses as corrupt); both show here as a count other
//! than zero at the end.

#![cfg(target_has_atomic = "64")]

mod common;
#[path = "common/robust.rs"]
mod robust;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use common::TestDir;
use named_semaphores::NamedSemaphore;
use robust::{self as r, hold};

/// Threads per test: more than most machines have cores, so that threads
/// are preempted inside the protocol's windows.
const THREADS: usize = 8;
/// Rounds per thread.
const ROUNDS: usize = 50_000;

/// The handle's recorded tokens and operations in flight.
fn record(sem: &NamedSemaphore) -> (u32, u16) {
    let me = sem.holders().unwrap().next().expect("this handle's slot");
    (me.tokens, me.pending)
}

#[test]
fn a_forgotten_permit_given_back_is_always_found_recorded() {
    // Half the rounds drop their permit, half forget it and give it back
    // with `release_held`, which must find it recorded every time.
    let dir = TestDir::new("found");
    let sem = r::create(&dir.0, "s", THREADS as u32);
    let missed = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (sem, missed) = (&sem, &missed);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let permit = hold(sem);
                    if (t + i) % 2 == 0 {
                        std::mem::forget(permit);
                        if !sem.release_held().unwrap() {
                            missed.fetch_add(1, Relaxed);
                        }
                    }
                }
            });
        }
    });
    assert_eq!(missed.load(Relaxed), 0, "recorded tokens taken for none");
    assert_eq!(record(&sem), (0, 0));
    assert_eq!(sem.value(), THREADS as u32);
}

#[test]
fn producers_and_holders_match_each_recorded_token_once() {
    // Holders take recorded tokens and give them back with `release_held`;
    // producers take tokens through a plain handle (unrecorded) and post
    // them through the robust one with `release_held`. Which post matches
    // which take is up to the interleaving, but the posts that found a
    // recorded token are exactly the recorded takes.
    let dir = TestDir::new("producers");
    let sem = r::create(&dir.0, "s", 4);
    let plain = NamedSemaphore::options()
        .directory(&dir.0)
        .open("s")
        .unwrap();
    let matched = AtomicU64::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (sem, plain, matched) = (&sem, &plain, &matched);
            s.spawn(move || {
                for _ in 0..ROUNDS {
                    if t % 2 == 0 {
                        std::mem::forget(hold(sem));
                    } else {
                        plain.acquire().unwrap().forget();
                    }
                    if sem.release_held().unwrap() {
                        matched.fetch_add(1, Relaxed);
                    }
                }
            });
        }
    });
    let recorded_takes = (THREADS / 2 * ROUNDS) as u64;
    assert_eq!(matched.load(Relaxed), recorded_takes);
    assert_eq!(record(&sem), (0, 0));
    assert_eq!(sem.value(), 4);
}
