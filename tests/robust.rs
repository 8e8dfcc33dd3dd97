//! Robust mode: the file format as other programs see it, which tokens the
//! record follows, and recovery of a holder killed while holding tokens.

#![cfg(target_has_atomic = "64")]

mod common;
#[path = "common/robust.rs"]
mod robust;

use std::time::Duration;

use common::{finish, wait_until, TestDir, TestName};
use named_semaphores::{
    holders_in, inspect, inspect_in, ErrorKind, Existence, Liveness, NamedSemaphore, Permit,
    RawSemaphore, RecordFlags, ROBUST_FILE_LEN,
};
use robust::{self as r, beacons, hold, sem_path};
use robust::{no_fork, spawn};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    let Some((role, a)) = common::role() else {
        return;
    };
    match role.as_str() {
        // Holds `a[2]` recorded tokens until killed.
        "hold" => {
            let sem = r::open(&a[0], &a[1]);
            let n: usize = a[2].parse().expect("count");
            let permits: Vec<_> = (0..n).map(|_| hold(&sem)).collect();
            std::thread::sleep(LIMIT);
            drop(permits);
        }
        // Creates a robust semaphore in `a[0]`, takes and gives back a
        // recorded token `a[1]` times, and exits (for `strace -c`: the
        // system calls must not grow with the count).
        "pairs" => {
            let n: u64 = a[1].parse().expect("count");
            let sem = r::create(&a[0], "pairs", 1);
            for _ in 0..n {
                drop(hold(&sem));
            }
        }
        other => panic!("unknown role {other}"),
    }
    std::process::exit(0);
}

#[test]
fn a_robust_file_is_glibc_image_then_record() {
    let name = TestName::new("format");
    let sem = NamedSemaphore::options()
        .robust(true)
        .initial_value(3)
        .existence(Existence::CreateNew)
        .open(&name)
        .unwrap();
    let bytes = name.bytes();
    assert_eq!(bytes.len(), ROBUST_FILE_LEN);
    assert_eq!(
        bytes[..RawSemaphore::SIZE],
        RawSemaphore::new(3).unwrap().to_bytes()
    );
    assert!(bytes[RawSemaphore::SIZE..64].iter().all(|&b| b == 0));
    if cfg!(target_endian = "little") {
        assert_eq!(&bytes[64..68], b"NSRB");
    }
    let info = inspect(&name).unwrap();
    assert!(info.status.is_valid() && info.robust, "{info:?}");
    assert_eq!(info.value, Some(3));

    // glibc shares it: its sem_wait and sem_post work on the same value.
    // (Where the C library is musl, whose sem_t is another format, the
    // static musl rows check glibc peers with C programs instead.)
    if cfg!(target_env = "gnu") {
        let g = common::glibc::wait(&name, Duration::from_secs(5));
        assert_eq!(g, common::OK);
        assert_eq!(sem.value(), 2);
        assert_eq!(common::glibc::post(&name), common::OK);
        assert_eq!(sem.value(), 3);
    }

    // Its one holder is this handle, holding nothing.
    let me: Vec<_> = sem.holders().unwrap().collect();
    assert_eq!(me.len(), 1);
    assert_eq!((me[0].pid, me[0].tokens), (std::process::id(), 0));
    assert_eq!(me[0].pid_namespace, r::pid_namespace());
    let ids: Vec<_> = me.iter().map(|h| h.beacon).collect();
    let _quiet = no_fork();
    drop(sem);
    for id in ids {
        assert!(
            !r::beacon_path("/dev/shm", id).exists(),
            "the drop removes the beacon"
        );
    }
}

#[test]
fn permits_are_recorded_and_bare_tokens_are_not() {
    let dir = TestDir::new("recorded");
    let sem = r::create(&dir.0, "s", 4);
    let tokens = || sem.holders().unwrap().next().unwrap().tokens;
    let a = hold(&sem);
    let b = sem.try_acquire().unwrap().unwrap();
    let c = sem
        .acquire_timeout(Duration::from_millis(5))
        .unwrap()
        .unwrap();
    assert_eq!((tokens(), sem.value()), (3, 1));
    drop(b);
    assert_eq!((tokens(), sem.value()), (2, 2));
    c.forget(); // handed on: no longer recorded, still taken
    assert_eq!((tokens(), sem.value()), (1, 2));
    sem.acquire().unwrap().forget(); // handed on: count-style, not recorded
    assert!(sem.try_acquire().unwrap().map(Permit::forget).is_some());
    assert_eq!((tokens(), sem.value()), (1, 0));
    assert!(sem
        .acquire_timeout(Duration::from_millis(5))
        .unwrap()
        .is_none());
    sem.release_n(3).unwrap(); // adding tokens changes no record
    drop(a);
    assert_eq!((tokens(), sem.value()), (0, 4));
}

#[test]
fn tokens_held_without_permits_are_recorded_until_released() {
    // The C library's way: take with a permit and forget the permit (not
    // `Permit::forget`: the token stays recorded), give back with
    // `release_held`.
    let dir = TestDir::new("held");
    let sem = r::create(&dir.0, "s", 3);
    let tokens = || sem.holders().unwrap().next().unwrap().tokens;
    std::mem::forget(hold(&sem));
    std::mem::forget(hold(&sem));
    assert_eq!((tokens(), sem.value()), (2, 1));
    assert!(sem.release_held().unwrap());
    assert_eq!((tokens(), sem.value()), (1, 2));
    assert!(sem.release_held().unwrap());
    // None left: a count-style post, no record change.
    assert!(!sem.release_held().unwrap());
    assert_eq!((tokens(), sem.value()), (0, 4));
    // Threads mixing both ways end with nothing recorded.
    while sem.try_acquire().unwrap().map(Permit::forget).is_some() {}
    sem.release_n(3).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let sem = &sem;
            s.spawn(move || {
                for i in 0..1_000 {
                    let p = hold(sem);
                    if (t + i) % 2 == 0 {
                        std::mem::forget(p);
                        assert!(sem.release_held().unwrap());
                    }
                }
            });
        }
    });
    assert_eq!((tokens(), sem.value()), (0, 3));
    let plain = NamedSemaphore::options()
        .directory(&dir.0)
        .open("s")
        .unwrap();
    assert!(
        !plain.release_held().unwrap(),
        "a plain handle records nothing"
    );
}

#[cfg(feature = "alloc")]
#[test]
fn owned_permits_are_recorded() {
    use std::sync::Arc;
    let dir = TestDir::new("owned");
    let sem = Arc::new(r::create(&dir.0, "s", 3));
    let tokens = || sem.holders().unwrap().next().unwrap().tokens;
    let a = sem.acquire_owned().unwrap();
    let b = sem.try_acquire_owned().unwrap().unwrap();
    let c = sem
        .acquire_owned_timeout(Duration::from_millis(5))
        .unwrap()
        .unwrap();
    assert_eq!((tokens(), sem.value()), (3, 0));
    std::thread::spawn(move || drop(a)).join().unwrap();
    assert_eq!((tokens(), sem.value()), (2, 1));
    b.forget();
    assert_eq!((tokens(), sem.value()), (1, 1));
    drop(c);
    assert_eq!((tokens(), sem.value()), (0, 2));
}

#[test]
fn a_dropped_handle_gives_back_what_it_still_records() {
    let dir = TestDir::new("drop");
    let owner = r::create(&dir.0, "s", 2);
    let other = r::open(&dir.0, "s");
    std::mem::forget(hold(&other));
    std::mem::forget(hold(&other));
    assert_eq!(owner.value(), 0);
    assert_eq!(beacons(&dir.0).len(), 2);
    let _quiet = no_fork();
    drop(other);
    assert_eq!(owner.value(), 2);
    assert_eq!(beacons(&dir.0).len(), 1, "its beacon is gone");
    assert_eq!(owner.holders().unwrap().count(), 1);
}

#[test]
fn a_killed_holders_tokens_come_back_once() {
    let dir = TestDir::new("killed");
    let sem = r::create(&dir.0, "s", 3);
    let child = spawn("hold", &[&dir.0, "s", "2"]);
    let pid = child.id();
    wait_until("the child to hold 2 tokens", LIMIT, || {
        r::holds(&sem, pid, 2)
    });
    assert_eq!(sem.value(), 1);
    let held: Vec<_> = sem.holders().unwrap().filter(|h| h.pid == pid).collect();
    assert_eq!(held.len(), 1);
    assert_eq!((held[0].tokens, held[0].liveness), (2, Liveness::Alive));
    assert_eq!(sem.recover().unwrap().tokens, 0, "a live holder keeps them");

    r::signal(pid, libc::SIGKILL);
    let out = finish(child, LIMIT);
    assert!(!out.status.success());
    let dead: Vec<_> = sem.holders().unwrap().filter(|h| h.pid == pid).collect();
    assert_eq!(dead[0].liveness, Liveness::Dead);
    let done = sem.recover().unwrap();
    assert_eq!((done.tokens, done.holders, done.uncertain), (2, 1, 0));
    assert_eq!(sem.value(), 3);
    assert_eq!(sem.recover().unwrap().tokens, 0, "only once");
    assert_eq!(beacons(&dir.0).len(), 1, "the dead holder's beacon is gone");
    assert_eq!(holders_in(&dir.0, "s").unwrap().recovered(), 2);
}

#[test]
fn a_blocked_waiter_recovers_by_itself() {
    let dir = TestDir::new("waiter");
    let sem = r::create(&dir.0, "s", 1);
    let child = spawn("hold", &[&dir.0, "s", "1"]);
    let pid = child.id();
    wait_until("the child to hold the token", LIMIT, || {
        r::holds(&sem, pid, 1)
    });
    std::thread::scope(|s| {
        let waiter = s.spawn(|| sem.acquire_timeout(LIMIT).unwrap().map(|p| p.forget()));
        std::thread::sleep(Duration::from_millis(50));
        r::signal(pid, libc::SIGKILL);
        assert!(
            waiter.join().unwrap().is_some(),
            "recovered within the wait"
        );
    });
    drop(finish(child, LIMIT));
    assert_eq!(sem.value(), 0);
}

#[test]
fn a_record_is_added_only_with_a_given_limit_not_below_the_value() {
    // A guessed limit (the default initial value, 1) below the value the
    // semaphore was made with would make a recovery keep back a dead
    // holder's tokens: the open is refused, and the semaphore stays usable.
    let dir = TestDir::new("no-limit");
    let plain = NamedSemaphore::options()
        .directory(&dir.0)
        .initial_value(3)
        .existence(Existence::CreateNew)
        .open("s")
        .unwrap();
    let robust = |value: Option<u32>, existence| {
        let mut o = NamedSemaphore::options();
        o.directory(&dir.0).robust(true).existence(existence);
        if let Some(v) = value {
            o.initial_value(v);
        }
        o.open("s")
    };
    for (value, existence) in [
        (None, Existence::OpenExisting),
        (None, Existence::OpenOrCreate),
        (Some(2), Existence::OpenExisting),
    ] {
        let e = robust(value, existence).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{value:?}: {e}");
        assert!(e.to_string().contains("no robust record"), "{e}");
    }
    assert!(!inspect_in(&dir.0, "s").unwrap().robust);
    assert_eq!(plain.value(), 3);
    let sem = robust(Some(3), Existence::OpenExisting).unwrap();
    assert_eq!(sem.holders().unwrap().limit(), 3);
    // Once it has a record, no value is needed.
    assert!(robust(None, Existence::OpenExisting).unwrap().is_robust());
}

#[test]
fn a_plain_semaphore_gains_a_record_when_opened_robust() {
    let dir = TestDir::new("upgrade");
    let plain = NamedSemaphore::options()
        .directory(&dir.0)
        .initial_value(2)
        .existence(Existence::CreateNew)
        .open("s")
        .unwrap();
    assert_eq!(plain.recover().unwrap_err().kind(), ErrorKind::NotRobust);
    let path = sem_path(&dir.0, "s");
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        32.min(RawSemaphore::SIZE as u64)
    );
    let robust = NamedSemaphore::options()
        .directory(&dir.0)
        .robust(true)
        .initial_value(2)
        .open("s")
        .unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        ROBUST_FILE_LEN as u64
    );
    let h = robust.holders().unwrap();
    assert_eq!((h.limit(), h.flags()), (2, RecordFlags::UPGRADED));
    let info = inspect_in(&dir.0, "s").unwrap();
    assert!(info.status.is_valid() && info.robust);
    // The handle opened before keeps working on the same value.
    let _p = hold(&robust);
    assert!(plain.try_acquire().unwrap().map(Permit::forget).is_some());
    assert_eq!((plain.value(), robust.value()), (0, 0));
    // A plain handle opened now accepts the longer file, and can recover.
    let late = NamedSemaphore::options()
        .directory(&dir.0)
        .open("s")
        .unwrap();
    assert!(!late.is_robust());
    assert_eq!(late.recover().unwrap().tokens, 0);
}

#[test]
fn every_slot_taken_is_a_typed_error() {
    let dir = TestDir::new("full");
    let first = r::create(&dir.0, "s", 1);
    let mut more: Vec<_> = (1..r::SLOTS).map(|_| r::open(&dir.0, "s")).collect();
    let err = NamedSemaphore::options()
        .directory(&dir.0)
        .robust(true)
        .open("s")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RecordFull);
    assert_eq!(
        beacons(&dir.0).len(),
        r::SLOTS,
        "no beacon left by the refused open"
    );
    let _quiet = no_fork();
    more.pop();
    let again = r::open(&dir.0, "s");
    assert!(again.is_robust());
    drop((first, more, again));
    assert!(beacons(&dir.0).is_empty());
}

#[test]
fn a_clone_of_a_robust_handle_is_a_holder_of_its_own() {
    let dir = TestDir::new("clone");
    let sem = r::create(&dir.0, "s", 2);
    let twin = sem.try_clone().unwrap();
    assert!(twin.is_robust());
    std::mem::forget(hold(&twin));
    let holders: Vec<_> = sem.holders().unwrap().map(|h| h.tokens).collect();
    assert_eq!(holders.len(), 2);
    assert_eq!(holders.iter().sum::<u32>(), 1);
    let _quiet = no_fork();
    drop(twin);
    assert_eq!(sem.value(), 2);
}
