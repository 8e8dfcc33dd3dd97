//! Model checking of the robust mode's accounting protocol with loom: a
//! holder, or a recoverer, dies between any two steps of its protocol, while
//! a plain peer takes and gives back tokens of the same semaphore.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --lib model
//! ```
//!
//! A death is modelled by the crash points of `robust/protocol.rs` and
//! `robust/recover.rs` (`sync::crash_point`): a model thread armed to die at
//! its n-th point unwinds from there, and every thread of the same process
//! stops at its next point. Each scenario runs once per crash point, and
//! once with no crash. A recovery of a dead holder starts only once all of
//! its threads have stopped, as the beacon's lock guarantees; it then runs
//! concurrently with the peer. Each checks that the value never exceeds the
//! limit, and that at the end, once every survivor has given its tokens
//! back, the value is the limit less at most the tokens reported uncertain.
//!
//! The files (beacons, their locks) are not modelled: the exclusion of two
//! recoveries of one holder is the kernel's `flock`, and the tests in
//! `tests/robust_*.rs` run it.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use loom::thread;

use crate::model::{self, check_as as check};
use crate::raw::RawSemaphore;
use crate::robust::protocol::{give, give_if_held, take_once};
use crate::robust::record::{Header, Slot, BUSY, TOKEN};
use crate::robust::recover::give_back;
use crate::sync::{arm_crash, Died};

/// The most crash points any scenario's dying thread passes.
const CRASH_POINTS: u32 = 8;

/// The shared state of one model run: the semaphore, the record's header
/// and the dying holder's slot, with every atomic made on the main thread.
struct World {
    sem: RawSemaphore,
    header: Header,
    slot: Slot,
    limit: u32,
}

fn world(limit: u32, value: u32, own: u64) -> Arc<World> {
    let w = Arc::new(World {
        sem: RawSemaphore::new(value).unwrap(),
        header: Header::new(limit),
        slot: Slot::new(1, own, 0),
        limit,
    });
    let _ = (w.sem.to_bytes(), w.header.touch());
    let _ = crate::robust::record::SlotCopy::of(&w.slot);
    w
}

/// Runs `body` as a process that may die (see the module docs); whether it
/// died.
fn mortal(crash_at: u32, process: Option<Arc<AtomicBool>>, body: impl FnOnce()) -> bool {
    arm_crash(crash_at, process);
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(()) => false,
        Err(payload) if payload.is::<Died>() => true,
        Err(payload) => resume_unwind(payload),
    }
}

/// A plain peer (a glibc program): one non-blocking take, given back.
fn peer(w: &World) {
    if w.sem.take_now() {
        assert!(w.sem.value() < w.limit, "more than the limit taken");
        w.sem.release().unwrap();
    }
}

/// A robust holder's thread: takes and gives back a token, then takes one
/// and holds it (its process ends holding it).
fn holder(w: &World) {
    if take_once(&w.sem, &w.slot) {
        give(&w.sem, &w.slot).unwrap();
    }
    let _ = take_once(&w.sem, &w.slot);
}

/// A holder's thread in the manner of the C library: takes, gives back
/// with `give_if_held` (no permit), then takes one and holds it.
fn holder_without_permits(w: &World) {
    if take_once(&w.sem, &w.slot) {
        assert!(
            give_if_held(&w.sem, &w.slot).unwrap(),
            "its token was recorded"
        );
    }
    let _ = take_once(&w.sem, &w.slot);
}

/// The end state: nothing over the limit, nothing lost but what was
/// reported uncertain, and the dead holder's slot cleared.
fn assert_end(w: &World) {
    let value = w.sem.value();
    let uncertain = w.header.touch();
    assert!(value <= w.limit, "value {value} over the limit {}", w.limit);
    assert!(
        value + uncertain >= w.limit,
        "value {value} + uncertain {uncertain} below the limit {}",
        w.limit
    );
    let left = w.slot.state();
    assert_eq!((left.tokens, left.pending), (0, 0), "slot not cleared");
}

/// One holder of one thread dies at `crash_at` while a peer works; then a
/// recovery runs beside the peer.
fn holder_dies(crash_at: u32) {
    check(
        &std::format!("holder dies at point {crash_at}"),
        move || {
            let w = world(1, 1, 0);
            let h = {
                let w = w.clone();
                thread::spawn(move || mortal(crash_at, None, || holder(&w)))
            };
            let p = {
                let w = w.clone();
                thread::spawn(move || peer(&w))
            };
            h.join().unwrap();
            let r = {
                let w = w.clone();
                thread::spawn(move || {
                    give_back(&w.sem, &w.header, &w.slot, w.limit);
                })
            };
            r.join().unwrap();
            p.join().unwrap();
            assert_end(&w);
        },
    );
}

/// Two threads of one holder share its slot; the process dies when one of
/// them reaches `crash_at`, and the other stops at its next point. Their
/// gives are permit drops (`give`), or with `c_style` the C library's
/// (`give_if_held`).
fn threads_die(crash_at: u32, c_style: bool) {
    let body = if c_style {
        holder_without_permits
    } else {
        holder
    };
    check(
        &std::format!("two threads (c_style {c_style}), die at point {crash_at}"),
        move || {
            let w = world(2, 2, 0);
            let dead = Arc::new(AtomicBool::new(false));
            let threads: [_; 2] = core::array::from_fn(|i| {
                let (w, dead) = (w.clone(), dead.clone());
                let at = if i == 0 { crash_at } else { u32::MAX };
                thread::spawn(move || mortal(at, Some(dead), || body(&w)))
            });
            for t in threads {
                t.join().unwrap();
            }
            give_back(&w.sem, &w.header, &w.slot, w.limit);
            assert_end(&w);
        },
    );
}

/// A holder died holding 2 tokens, one more in flight; a first recovery
/// dies at `crash_at`, and a second one finishes, beside a peer.
fn recoverer_dies(crash_at: u32) {
    check(
        &std::format!("recoverer dies at point {crash_at}"),
        move || {
            let w = world(3, 0, (2 * TOKEN) | BUSY);
            let p = {
                let w = w.clone();
                thread::spawn(move || peer(&w))
            };
            let first = {
                let w = w.clone();
                thread::spawn(move || {
                    mortal(crash_at, None, || {
                        give_back(&w.sem, &w.header, &w.slot, w.limit);
                    })
                })
            };
            first.join().unwrap();
            give_back(&w.sem, &w.header, &w.slot, w.limit);
            p.join().unwrap();
            assert_end(&w);
        },
    );
}

#[test]
fn robust_model_holder_dies_anywhere() {
    for at in (0..CRASH_POINTS).chain([u32::MAX]) {
        holder_dies(at);
    }
}

#[test]
fn robust_model_threads_of_a_holder_die_together() {
    for at in (0..CRASH_POINTS).chain([u32::MAX]) {
        threads_die(at, false);
    }
}

#[test]
fn robust_model_threads_without_permits_die_together() {
    // More points: a conditional give that reads a lane changing under it
    // reads again, past one more point.
    for at in (0..CRASH_POINTS + 2).chain([u32::MAX]) {
        threads_die(at, true);
    }
}

#[test]
fn robust_model_recoverer_dies_anywhere() {
    for at in (0..CRASH_POINTS).chain([u32::MAX]) {
        recoverer_dies(at);
    }
}

/// Two threads of one holder, no deaths: one takes and drops permits
/// twice while the other gives its forgotten permit back with
/// `give_if_held`, which must find it recorded however the first moves the
/// lanes under its reads (a give that read the lanes at two moments took
/// it for none).
#[test]
fn robust_model_a_conditional_give_finds_its_token_among_permits() {
    check("conditional give among permit drops", || {
        let w = world(2, 2, 0);
        let drops = {
            let w = w.clone();
            thread::spawn(move || {
                for _ in 0..2 {
                    assert!(take_once(&w.sem, &w.slot));
                    give(&w.sem, &w.slot).unwrap();
                }
            })
        };
        assert!(take_once(&w.sem, &w.slot));
        assert!(
            give_if_held(&w.sem, &w.slot).unwrap(),
            "its token was recorded"
        );
        drops.join().unwrap();
        let s = w.slot.state();
        assert_eq!((s.tokens, s.pending, w.sem.value()), (0, 0, 2));
    });
}

/// One recorded token, two conditional gives at once (the C library's
/// `sem_post` from two threads, one of them a producer's): exactly one
/// finds it, and the count never goes below zero.
#[test]
fn robust_model_two_conditional_gives_take_one_token_once() {
    check("two conditional gives, one token", || {
        let w = world(1, 0, TOKEN);
        let other = {
            let w = w.clone();
            thread::spawn(move || give_if_held(&w.sem, &w.slot).unwrap())
        };
        let mine = give_if_held(&w.sem, &w.slot).unwrap();
        let theirs = other.join().unwrap();
        assert!(mine != theirs, "found by both or by neither");
        let s = w.slot.state();
        assert_eq!((s.tokens, s.pending, w.sem.value()), (0, 0, 2));
    });
}

/// A robust taker's blocking loop without its checks for dead holders
/// (which need files): wait for a token without taking it, then take it
/// with the record's marks.
fn robust_blocking_take(w: &World) {
    while !take_once(&w.sem, &w.slot) {
        let ready = w
            .sem
            .wait_available(None, crate::futex::WaitMode::default())
            .unwrap();
        assert!(ready, "an untimed wait returned without a token");
    }
}

/// A robust taker and a plain waiter both block; one poster posts two
/// tokens one at a time. Both get one (a lost wake-up is a loom deadlock),
/// and the robust one's is recorded.
#[test]
fn robust_model_blocked_robust_and_plain_waiters() {
    check("robust and plain waiters", || {
        let w = world(2, 0, 0);
        let robust = {
            let w = w.clone();
            thread::spawn(move || robust_blocking_take(&w))
        };
        let plain = {
            let w = w.clone();
            thread::spawn(move || w.sem.acquire().unwrap().forget())
        };
        for _ in 0..2 {
            w.sem.release().unwrap();
        }
        robust.join().unwrap();
        plain.join().unwrap();
        assert_eq!((w.sem.value(), w.sem.waiters()), (0, 0));
        let s = w.slot.state();
        assert_eq!((s.tokens, s.pending), (1, 0));
    });
}

/// Both layouts' wait that takes no token: a taker looping on "wait until
/// available, then take" and a plain waiter both block, and one poster
/// posts two tokens one at a time. Both get one (a lost wake-up is a loom
/// deadlock), and the waiter counts are back to zero.
fn available_then_take<I: model::Image>() {
    model::check(|| {
        let sem = model::image::<I>(0);
        let taker = {
            let sem = sem.clone();
            thread::spawn(move || loop {
                if sem.try_acquire() || sem.spin_available() && sem.try_acquire() {
                    break;
                }
                assert!(sem
                    .wait_available(None, crate::futex::WaitMode::default())
                    .unwrap());
            })
        };
        let plain = {
            let sem = sem.clone();
            thread::spawn(move || {
                if !sem.try_acquire() {
                    assert!(sem
                        .acquire_slow(None, crate::futex::WaitMode::default())
                        .unwrap());
                }
            })
        };
        sem.release_n(1).unwrap();
        sem.release_n(1).unwrap();
        taker.join().unwrap();
        plain.join().unwrap();
        model::assert_settled(&*sem, 0);
    });
}

#[test]
fn robust_model_wait_available_wide() {
    available_then_take::<model::wide::Image>();
}

#[test]
fn robust_model_wait_available_narrow() {
    available_then_take::<model::narrow::Image>();
}

/// The control: a give that posts before it updates the record (a
/// protocol without the pending mark), with another holder holding the
/// limit's other token, is caught giving a token back twice.
#[test]
#[should_panic(expected = "over the limit")]
fn robust_model_finds_a_double_give_back() {
    check("post before record", || {
        let w = world(2, 0, TOKEN);
        let h = {
            let w = w.clone();
            thread::spawn(move || {
                mortal(0, None, || {
                    w.sem.release().unwrap();
                    crate::robust::protocol::crash_point();
                    w.slot.own.fetch_sub(TOKEN, crate::sync::Ordering::Relaxed);
                })
            })
        };
        h.join().unwrap();
        give_back(&w.sem, &w.header, &w.slot, w.limit);
        let held_by_another = 1;
        assert!(
            w.sem.value() + held_by_another <= w.limit,
            "tokens over the limit"
        );
    });
}
