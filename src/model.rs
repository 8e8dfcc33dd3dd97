//! Model checking of the post/wait protocol, both glibc layouts, with loom.
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test --release --lib model
//! ```
//!
//! Under `--cfg loom` the atomics are loom's (`sync.rs`) and the futex is a
//! model of the kernel's (`futex.rs`): a wake with no sleeper is lost, a wait
//! on a changed value returns at once, a signal or spurious wake-up
//! ([`futex::interrupt_all`]) and the passing of a deadline
//! ([`futex::expire`]) can happen at any point, because a thread of the test
//! calls them and loom schedules that thread everywhere.
//!
//! Only one layout is compiled into the crate for a real target, so both
//! layout files are included here again, whatever the target, and every
//! scenario runs against each. A lost wake-up shows as a loom deadlock (a
//! thread asleep forever); the scenarios then check that tokens are
//! conserved and the waiter count is back to zero.
//!
//! loom explores every interleaving up to a bound on preemptions: 2 unless
//! `LOOM_MAX_PREEMPTIONS` says otherwise (3 takes about ten times longer).

// Compiled a second time on purpose (see above).
#[allow(clippy::duplicate_mod)]
#[path = "raw/narrow.rs"]
pub(crate) mod narrow;
#[allow(clippy::duplicate_mod)]
#[path = "raw/wide.rs"]
pub(crate) mod wide;

// What the layout files refer to as `super::...`.
use crate::raw::{overflow, wait_failed, RawSemaphore, FUTEX_SHARED};

use crate::error::Error;
use crate::futex::{self, Deadline, WaitMode};
use crate::sync::{AtomicU32, Ordering::*};
use loom::sync::Arc;
use loom::thread;
use rustix::io::Errno;

/// The preemption bound used when `LOOM_MAX_PREEMPTIONS` is not set.
const DEFAULT_PREEMPTIONS: usize = 2;

/// The operations of one layout's image.
pub(crate) trait Image: Send + Sync + 'static {
    const NAME: &'static str;
    fn new(value: u32) -> Self;
    fn try_acquire(&self) -> bool;
    fn acquire_slow(&self, deadline: Option<&Deadline>, mode: WaitMode) -> Result<bool, Error>;
    fn spin_available(&self) -> bool;
    fn wait_available(&self, deadline: Option<&Deadline>, mode: WaitMode) -> Result<bool, Error>;
    fn release_n(&self, n: u32) -> Result<(), Error>;
    fn value(&self) -> u32;
    fn waiters(&self) -> u32;
    fn to_bytes(&self) -> [u8; RawSemaphore::SIZE];
    const PRIVATE_OFFSET: usize;
}

macro_rules! image {
    ($ty:ty, $name:literal) => {
        impl Image for $ty {
            const NAME: &'static str = $name;
            fn new(value: u32) -> Self {
                <$ty>::new(value)
            }
            fn try_acquire(&self) -> bool {
                <$ty>::try_acquire(self)
            }
            fn acquire_slow(
                &self,
                deadline: Option<&Deadline>,
                mode: WaitMode,
            ) -> Result<bool, Error> {
                <$ty>::acquire_slow(self, deadline, mode)
            }
            fn spin_available(&self) -> bool {
                <$ty>::spin_available(self)
            }
            fn wait_available(
                &self,
                deadline: Option<&Deadline>,
                mode: WaitMode,
            ) -> Result<bool, Error> {
                <$ty>::wait_available(self, deadline, mode)
            }
            fn release_n(&self, n: u32) -> Result<(), Error> {
                <$ty>::release_n(self, n)
            }
            fn value(&self) -> u32 {
                <$ty>::value(self)
            }
            fn waiters(&self) -> u32 {
                <$ty>::waiters(self)
            }
            fn to_bytes(&self) -> [u8; RawSemaphore::SIZE] {
                <$ty>::to_bytes(self)
            }
            const PRIVATE_OFFSET: usize = <$ty>::PRIVATE_OFFSET;
        }
    };
}

image!(wide::Image, "wide");
image!(narrow::Image, "narrow");

/// A deadline; the model's clock decides when it passes ([`futex::expire`]).
const DEADLINE: Deadline = Deadline {
    tv_sec: 1,
    tv_nsec: 0,
};

/// How a model waiter waits.
#[derive(Clone, Copy)]
enum How {
    /// `acquire`: until it has a token.
    Forever,
    /// `acquire_timeout`: may give up when the deadline passes.
    Timed,
    /// `acquire_interruptible`: may also give up with `EINTR`.
    Interruptible,
}

/// What `RawSemaphore::acquire*` does: the fast path, then the slow one.
/// Returns whether a token was taken.
fn acquire<I: Image>(sem: &I, how: How) -> bool {
    if sem.try_acquire() {
        return true;
    }
    let (deadline, mode) = match how {
        How::Forever => (None, WaitMode::default()),
        How::Timed => (Some(&DEADLINE), WaitMode::default()),
        How::Interruptible => (
            Some(&DEADLINE),
            WaitMode {
                interruptible: true,
                ..WaitMode::default()
            },
        ),
    };
    match sem.acquire_slow(deadline, mode) {
        Ok(taken) => {
            assert!(
                taken || deadline.is_some(),
                "an untimed wait returned without a token"
            );
            taken
        }
        Err(e)
            if matches!(how, How::Interruptible)
                && e.raw_os_error() == Errno::INTR.raw_os_error() =>
        {
            false
        }
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

/// Runs `f` under loom for every interleaving within the preemption bound,
/// and prints how many executions that was, under the test's name.
pub(crate) fn check<F: Fn() + Sync + Send + 'static>(f: F) {
    check_as(std::thread::current().name().unwrap_or("model"), f);
}

/// [`check`], printing `label` for the scenario.
pub(crate) fn check_as<F: Fn() + Sync + Send + 'static>(label: &str, f: F) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(DEFAULT_PREEMPTIONS);
    }
    let executions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = executions.clone();
    builder.check(move || {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
    });
    std::println!(
        "{label}: {} executions, preemption bound {:?}",
        executions.load(std::sync::atomic::Ordering::Relaxed),
        builder.preemption_bound
    );
}

/// A new image whose loom atomics are all made now, on the main thread.
pub(crate) fn image<I: Image>(value: u32) -> Arc<I> {
    let sem = Arc::new(I::new(value));
    let bytes = sem.to_bytes();
    let private = &bytes[I::PRIVATE_OFFSET..I::PRIVATE_OFFSET + 4];
    assert_eq!(
        i32::from_ne_bytes(private.try_into().unwrap()),
        FUTEX_SHARED
    );
    sem
}

/// The end state every scenario must reach: `value` tokens left, no waiter
/// registered.
pub(crate) fn assert_settled<I: Image>(sem: &I, value: u32) {
    assert_eq!(sem.value(), value, "{}: tokens not conserved", I::NAME);
    assert_eq!(sem.waiters(), 0, "{}: waiter count not back to 0", I::NAME);
}

/// Two waiters block; one poster releases two tokens one at a time (or both
/// in one `release_n`). Both waiters get one; nothing is lost.
fn two_waiters_one_poster<I: Image>(burst: bool) {
    check(move || {
        let sem = image::<I>(0);
        let waiters: [_; 2] = core::array::from_fn(|_| {
            let sem = sem.clone();
            thread::spawn(move || assert!(acquire(&*sem, How::Forever)))
        });
        let poster = {
            let sem = sem.clone();
            thread::spawn(move || {
                if burst {
                    sem.release_n(2).unwrap();
                } else {
                    sem.release_n(1).unwrap();
                    sem.release_n(1).unwrap();
                }
            })
        };
        for t in waiters {
            t.join().unwrap();
        }
        poster.join().unwrap();
        assert_settled(&*sem, 0);
    });
}

/// One waiter takes two tokens, each released by a different poster.
fn one_waiter_two_posters<I: Image>() {
    check(|| {
        let sem = image::<I>(0);
        let posters: [_; 2] = core::array::from_fn(|_| {
            let sem = sem.clone();
            thread::spawn(move || sem.release_n(1).unwrap())
        });
        assert!(acquire(&*sem, How::Forever));
        assert!(acquire(&*sem, How::Forever));
        for t in posters {
            t.join().unwrap();
        }
        assert_settled(&*sem, 0);
    });
}

/// A timed waiter and an untimed one; one post, and the deadline passes at
/// any moment (the main thread is the clock). The timed waiter either takes
/// the token or gives up without taking one and without swallowing the
/// wake-up meant for the other: the untimed waiter then gets the token (or,
/// if the timed one took it, a second post that comes late).
fn timed_out_waiter<I: Image>(how: How) {
    check(move || {
        let sem = image::<I>(0);
        let timed = {
            let sem = sem.clone();
            thread::spawn(move || acquire(&*sem, how))
        };
        let forever = {
            let sem = sem.clone();
            thread::spawn(move || assert!(acquire(&*sem, How::Forever)))
        };
        let poster = {
            let sem = sem.clone();
            thread::spawn(move || sem.release_n(1).unwrap())
        };
        match how {
            How::Interruptible => futex::interrupt_all(),
            _ => futex::expire(),
        }
        futex::expire();
        let took = timed.join().unwrap();
        poster.join().unwrap();
        if took {
            sem.release_n(1).unwrap();
        }
        forever.join().unwrap();
        assert_settled(&*sem, 0);
    });
}

/// One timed waiter, two posters of one token each, the deadline passing at
/// any moment: whatever the waiter did, exactly the tokens it did not take
/// are left.
fn timed_waiter_two_posters<I: Image>() {
    check(|| {
        let sem = image::<I>(0);
        let posters: [_; 2] = core::array::from_fn(|_| {
            let sem = sem.clone();
            thread::spawn(move || sem.release_n(1).unwrap())
        });
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || acquire(&*sem, How::Timed))
        };
        futex::expire();
        let took = u32::from(waiter.join().unwrap());
        for t in posters {
            t.join().unwrap();
        }
        assert_settled(&*sem, 2 - took);
    });
}

/// Two waiters, one poster, and signals (spurious wake-ups) delivered to
/// every sleeper at any moment: the waiters retry and both end with a token.
fn interrupted_waiters<I: Image>() {
    check(|| {
        let sem = image::<I>(0);
        let waiters: [_; 2] = core::array::from_fn(|_| {
            let sem = sem.clone();
            thread::spawn(move || assert!(acquire(&*sem, How::Forever)))
        });
        let poster = {
            let sem = sem.clone();
            thread::spawn(move || {
                sem.release_n(1).unwrap();
                sem.release_n(1).unwrap();
            })
        };
        futex::interrupt_all();
        for t in waiters {
            t.join().unwrap();
        }
        poster.join().unwrap();
        assert_settled(&*sem, 0);
    });
}

macro_rules! both_layouts {
    ($($test:ident => $body:expr;)*) => {
        mod wide_layout {
            use super::*;
            type I = wide::Image;
            $(#[test] fn $test() { $body })*
        }
        mod narrow_layout {
            use super::*;
            type I = narrow::Image;
            $(#[test] fn $test() { $body })*
        }
    };
}

both_layouts! {
    two_waiters_one_poster => super::two_waiters_one_poster::<I>(false);
    two_waiters_one_burst => super::two_waiters_one_poster::<I>(true);
    one_waiter_two_posters => super::one_waiter_two_posters::<I>();
    timed_out_waiter => super::timed_out_waiter::<I>(How::Timed);
    interruptible_waiter => super::timed_out_waiter::<I>(How::Interruptible);
    timed_waiter_two_posters => super::timed_waiter_two_posters::<I>();
    interrupted_waiters => super::interrupted_waiters::<I>();
}

/// The model must be able to fail: a semaphore that wakes *before* it
/// publishes its token loses the wake-up when the waiter has checked the
/// value but not yet slept, and loom must find that interleaving and report
/// the sleeping waiter as a deadlock. loom's failure aborts the process, so
/// the control runs in a child process of this test binary.
#[test]
fn model_finds_a_lost_wake_up() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "model::lost_wake_up_control",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let text = std::format!(
        "{}{}",
        std::string::String::from_utf8_lossy(&out.stdout),
        std::string::String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the broken protocol passed the model"
    );
    assert!(
        text.contains("deadlock"),
        "failed, but not by a deadlock: {text}"
    );
}

/// The broken protocol of [`model_finds_a_lost_wake_up`].
#[test]
#[ignore = "expected to fail; run by model_finds_a_lost_wake_up"]
fn lost_wake_up_control() {
    check(|| {
        let value = Arc::new(AtomicU32::new(0));
        let _ = value.load(Relaxed);
        let poster = {
            let value = value.clone();
            thread::spawn(move || {
                futex::wake(&*value, 1);
                value.fetch_add(1, Release);
            })
        };
        loop {
            let v = value.load(Acquire);
            if v > 0 {
                value.fetch_sub(1, Relaxed);
                break;
            }
            let _ = futex::wait(&*value, 0, None, WaitMode::default());
        }
        poster.join().unwrap();
    });
}

/// And it must not cry wolf: the same semaphore with the wake after the
/// publication passes.
#[test]
fn model_accepts_wake_after_publish() {
    check(|| {
        let value = Arc::new(AtomicU32::new(0));
        let _ = value.load(Relaxed);
        let poster = {
            let value = value.clone();
            thread::spawn(move || {
                value.fetch_add(1, Release);
                futex::wake(&*value, 1);
            })
        };
        loop {
            let v = value.load(Acquire);
            if v > 0 {
                value.fetch_sub(1, Relaxed);
                break;
            }
            let _ = futex::wait(&*value, 0, None, WaitMode::default());
        }
        poster.join().unwrap();
    });
}
