//! Permits: every acquire returns one, a bound permit holds its token to the
//! end of its scope, `forget` keeps the token taken, and the owned permits
//! of an `Arc<NamedSemaphore>` do the same across threads.

mod common;

use std::time::Duration;
#[cfg(feature = "alloc")]
use std::{sync::Arc, thread};

use common::TestName;
use named_semaphores::{Clock, Error, NamedSemaphore, RawSemaphore};

/// A deadline already past: takes only a token that is free now.
const PAST: Option<(Clock, Duration)> = Some((Clock::Monotonic, Duration::ZERO));

#[test]
fn a_bound_permit_holds_its_token_to_the_end_of_its_scope() -> Result<(), Error> {
    let name = TestName::new("permit-scope");
    let sem = NamedSemaphore::create(&name, 5)?;
    {
        let _p = sem.acquire()?;
        assert_eq!(sem.value(), 4, "one lower inside the scope");
        {
            let _q = sem.try_acquire()?;
            let _r = sem.acquire_timeout(Duration::from_millis(5))?;
            let _s = sem.acquire_interruptible(PAST)?;
            assert_eq!(sem.value(), 1);
        }
        assert_eq!(sem.value(), 4, "the inner scope's permits are back");
    }
    assert_eq!(sem.value(), 5, "back after the scope");
    // `let _ =` is no binding: the permit is dropped at once.
    let _ = sem.acquire()?;
    assert_eq!(sem.value(), 5);
    Ok(())
}

#[test]
fn raw_permits_hold_their_tokens_to_the_end_of_their_scope() -> Result<(), Error> {
    let sem = RawSemaphore::new(4)?;
    {
        let _p = sem.acquire()?;
        let _q = sem.try_acquire()?;
        let _r = sem.acquire_timeout(Duration::from_millis(5))?;
        let _s = sem.acquire_interruptible(PAST)?;
        assert_eq!(sem.value(), 0);
        assert!(sem.try_acquire()?.is_none());
        assert!(sem.acquire_interruptible(PAST)?.is_none());
    }
    assert_eq!(sem.value(), 4);
    Ok(())
}

#[test]
fn forget_keeps_the_token_taken() {
    let name = TestName::new("permits");
    let sem = NamedSemaphore::create(&name, 1).unwrap();
    {
        let permit = sem.acquire().unwrap();
        assert_eq!(sem.value(), 0);
        assert!(sem.try_acquire().unwrap().is_none());
        assert!(sem
            .acquire_timeout(Duration::from_millis(5))
            .unwrap()
            .is_none());
        drop(permit);
    }
    assert_eq!(sem.value(), 1);
    let p = sem
        .acquire_timeout(Duration::from_millis(5))
        .unwrap()
        .unwrap();
    p.forget();
    assert_eq!(sem.value(), 0);
}

#[test]
fn a_permit_knows_its_semaphore_and_prints_it() -> Result<(), Error> {
    let name = TestName::new("permit-debug");
    let sem = NamedSemaphore::create(&name, 2)?;
    let p = sem.acquire()?;
    assert!(std::ptr::eq(p.semaphore(), sem.as_raw()));
    let shown = format!("{p:?}");
    assert!(
        shown.starts_with("Permit") && shown.contains("value: 1"),
        "{shown}"
    );
    Ok(())
}

#[cfg(feature = "alloc")]
#[test]
fn owned_permits_move_into_threads_and_release_on_drop() {
    let name = TestName::new("owned");
    let sem = Arc::new(NamedSemaphore::create(&name, 2).unwrap());
    let inside = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let peak = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let workers: Vec<_> = (0..6)
        .map(|_| {
            let permit = sem.acquire_owned().unwrap();
            let (inside, peak) = (inside.clone(), peak.clone());
            thread::spawn(move || {
                let now = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                peak.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                thread::sleep(Duration::from_millis(2));
                inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                drop(permit);
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 2);
    assert_eq!(sem.value(), 2);
    let held = sem.try_acquire_owned().unwrap().unwrap();
    let kept = sem
        .acquire_owned_timeout(Duration::from_millis(1))
        .unwrap()
        .unwrap();
    assert!(sem.try_acquire_owned().unwrap().is_none());
    kept.forget();
    drop(held);
    assert_eq!(sem.value(), 1, "the forgotten token stays taken");
}
