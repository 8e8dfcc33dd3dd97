//! No allocation on any of the crate's paths: a counting global allocator
//! counts every allocation made on a thread while that thread has counting
//! switched on, and each test switches it on only around calls into the
//! crate (names and threads are made before).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use common::{took, TestName};
use named_semaphores::{Existence, NamedSemaphore, RawSemaphore};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator may run while the thread's locals are being
    // torn down; such allocations are not ours to count.
    let on = COUNTING.try_with(Cell::get).unwrap_or(false);
    if on {
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }
}

// SAFETY: every method forwards to the system allocator with the caller's
// arguments unchanged; counting touches only const-initialised thread locals,
// which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations `f` made on this thread.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (COUNT.with(Cell::get), r)
}

#[track_caller]
fn assert_no_allocation<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let (n, r) = allocations(f);
    assert_eq!(n, 0, "{what} allocated {n} times");
    r
}

#[test]
fn the_counter_sees_allocations() {
    // Without this the other tests could pass with a broken counter.
    let (n, b) = allocations(|| Box::new(std::hint::black_box(7u64)));
    assert_eq!(*b, 7);
    assert!(n >= 1, "a Box allocation was not counted");
    let (n, v) = allocations(|| vec![0u8; 100]);
    assert_eq!(v.len(), 100);
    assert!(n >= 1, "a Vec allocation was not counted");
}

#[test]
fn raw_semaphore_operations() {
    assert_no_allocation("RawSemaphore operations", || {
        let sem = RawSemaphore::new(1).unwrap();
        sem.acquire().unwrap().forget();
        assert!(!took(sem.try_acquire().unwrap()));
        sem.release().unwrap();
        assert!(took(sem.try_acquire().unwrap()));
        assert!(!took(
            sem.acquire_timeout(Duration::from_millis(2)).unwrap()
        ));
        sem.release_n(64).unwrap();
        assert!(took(sem.acquire_timeout(Duration::from_millis(2)).unwrap()));
        {
            let _p = sem.acquire().unwrap();
            let _q = sem.try_acquire().unwrap().unwrap();
            let _r = sem
                .acquire_timeout(Duration::from_millis(1))
                .unwrap()
                .unwrap();
            let _s = sem.acquire_interruptible(None).unwrap().unwrap();
        }
        assert_eq!(sem.value(), 63);
        assert_eq!(sem.waiters(), 0);
        let _ = sem.to_bytes();
        // Errors are built without allocating too.
        let full = RawSemaphore::new(named_semaphores::VALUE_MAX).unwrap();
        assert!(full.release().is_err());
        assert!(RawSemaphore::new(u32::MAX).is_err());
    });
}

#[test]
fn named_semaphore_lifecycle() {
    let name = TestName::new("noalloc-life");
    let other = TestName::new("noalloc-other");
    let missing = TestName::new("noalloc-missing");
    let (name_s, other_s, missing_s) = (&*name, &*other, &*missing);
    assert_no_allocation("the named semaphore lifecycle", || {
        let sem = NamedSemaphore::create(name_s, 2).unwrap();
        assert!(sem.created());
        assert!(!sem.name().is_empty());
        let again = NamedSemaphore::open(name_s).unwrap();
        let third = NamedSemaphore::open_or_create(name_s, 5).unwrap();
        assert!(!third.created());
        again.acquire().unwrap().forget();
        third.release().unwrap();
        assert!(took(sem.try_acquire().unwrap()));
        assert!(took(sem.acquire_timeout(Duration::from_millis(1)).unwrap()));
        assert!(!took(
            sem.acquire_timeout(Duration::from_millis(1)).unwrap()
        ));
        sem.release_n(3).unwrap();
        assert_eq!(sem.value(), 3);
        drop((again, third));
        let replaced = NamedSemaphore::options()
            .initial_value(0)
            .existence(Existence::UnlinkAndCreate)
            .mode(0o600)
            .open(other_s)
            .unwrap();
        replaced.unlink().unwrap();
        drop(replaced);
        // Error paths: not found, already exists, invalid name, unlink of a
        // missing name.
        assert!(NamedSemaphore::open(missing_s).is_err());
        assert!(NamedSemaphore::create(name_s, 0).is_err());
        assert!(NamedSemaphore::open("bad/name").is_err());
        assert!(named_semaphores::unlink(missing_s).is_err());
        assert!(named_semaphores::unlink_in("/dev/shm", missing_s).is_err());
        // The creator unlinks on drop.
        drop(sem);
    });
    assert!(!name.exists(), "the creator's drop did not unlink");
    assert!(!other.exists());
}

#[test]
fn blocking_paths_across_threads() {
    // One thread sleeps in acquire (spin, register, futex wait) until the
    // other releases; both count their own allocations.
    let sem = RawSemaphore::new(0).unwrap();
    let rounds = 200;
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            assert_no_allocation("blocking acquires", || {
                for _ in 0..rounds {
                    sem.acquire().unwrap().forget();
                }
                // And a timed wait that times out after sleeping.
                assert!(!took(
                    sem.acquire_timeout(Duration::from_millis(5)).unwrap()
                ));
            });
        });
        let mut saw_sleeper = 0;
        assert_no_allocation("releases that wake a sleeper", || {
            for i in 0..rounds {
                if i % 20 == 0 {
                    // Let the waiter register and fall asleep now and then,
                    // so that releases take the wake-up path too.
                    let limit = std::time::Instant::now() + Duration::from_secs(10);
                    while sem.waiters() == 0 && std::time::Instant::now() < limit {
                        std::thread::yield_now();
                    }
                    saw_sleeper += usize::from(sem.waiters() > 0);
                }
                sem.release().unwrap();
            }
        });
        waiter.join().unwrap();
        assert!(
            saw_sleeper > 0,
            "the waiter never registered: no wake-up path ran"
        );
    });
    assert_eq!(sem.value(), 0);
}

#[test]
fn contended_mutex_threads() {
    let name = TestName::new("noalloc-mutex");
    let sem = NamedSemaphore::create(&name, 1).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                assert_no_allocation("contended access", || {
                    for _ in 0..2000 {
                        let _p = sem.acquire().unwrap();
                        std::hint::spin_loop();
                    }
                });
            });
        }
    });
    assert_eq!(sem.value(), 1);
}

#[cfg(target_has_atomic = "64")]
#[test]
fn robust_mode_operations() {
    let name = TestName::new("noalloc-robust");
    let name_s = &*name;
    assert_no_allocation("robust mode", || {
        let sem = NamedSemaphore::options()
            .robust(true)
            .initial_value(2)
            .check_period(Duration::from_millis(1))
            .existence(Existence::CreateNew)
            .open(name_s)
            .unwrap();
        let other = NamedSemaphore::options().robust(true).open(name_s).unwrap();
        let held = other.acquire().unwrap();
        let p = sem.acquire().unwrap();
        assert!(sem.try_acquire().unwrap().is_none());
        // Blocks: checks the other holder (alive) before sleeping and at
        // each period, then times out.
        assert!(sem
            .acquire_timeout(Duration::from_millis(5))
            .unwrap()
            .is_none());
        assert_eq!(sem.holders().unwrap().map(|h| h.tokens).sum::<u32>(), 2);
        assert_eq!(named_semaphores::holders(name_s).unwrap().count(), 2);
        assert_eq!(sem.recover().unwrap().tokens, 0);
        drop(p);
        core::mem::forget(sem.acquire().unwrap());
        assert!(sem.release_held().unwrap());
        drop(held);
        let clone = other.try_clone().unwrap();
        drop((other, clone));
        drop(sem);
    });
    assert!(!name.exists());
}
