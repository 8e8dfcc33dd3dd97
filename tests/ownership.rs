//! Who owns a name: which handles unlink it on drop, that `open_or_create`
//! keeps its limit across processes, and that a lock held for ever on a
//! semaphore's file delays a removal by a bounded time but never stops it.
//! (That a drop never removes the name of a semaphore another process
//! published since is raced in `tests/name_races.rs` and driven step by step
//! in `tests/drop_faults.rs`.)

mod common;

use std::time::{Duration, Instant};

use common::{code, finish, results, spawn, took, wait_until, TestName, OK};
use named_semaphores::{Existence, NamedSemaphore};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    common::child_main();
}

fn open(name: &str, existence: Existence) -> NamedSemaphore {
    NamedSemaphore::options()
        .existence(existence)
        .open(name)
        .unwrap()
}

#[test]
fn only_deliberate_creators_own_the_name() {
    let name = TestName::new("owner");
    // open_or_create that happens to create: not the owner.
    let first = NamedSemaphore::open_or_create(&name, 1).unwrap();
    assert!(first.created() && !first.unlinks_on_drop());
    let second = NamedSemaphore::open_or_create(&name, 1).unwrap();
    assert!(!second.created() && !second.unlinks_on_drop());
    drop(first);
    drop(second);
    assert!(name.exists(), "no open_or_create handle unlinks");

    // Asked for: it does.
    let asked = NamedSemaphore::options()
        .existence(Existence::OpenOrCreate)
        .unlink_on_drop(true)
        .open(&name)
        .unwrap();
    assert!(!asked.created() && asked.unlinks_on_drop());
    drop(asked);
    assert!(!name.exists());

    // CreateNew and UnlinkAndCreate own the name; openers do not.
    let created = open(&name, Existence::CreateNew);
    let opened = open(&name, Existence::OpenExisting);
    assert!(created.unlinks_on_drop() && !opened.unlinks_on_drop());
    drop(opened);
    assert!(name.exists());
    let replaced = open(&name, Existence::UnlinkAndCreate);
    assert!(replaced.unlinks_on_drop());
    drop(created);
    assert!(
        name.exists(),
        "the replaced creator leaves the new name alone"
    );
    drop(replaced);
    assert!(!name.exists());
}

/// The scenario that broke the old rule: P1 creates with `open_or_create`,
/// P2 opens, P1 takes and gives back the token and exits; P2 takes the
/// token; P3's `open_or_create` must find P2's semaphore and get no token.
#[test]
fn open_or_create_keeps_its_limit_across_processes() {
    let name = TestName::new("ooc-limit");
    let gate = TestName::new("ooc-limit-gate");
    let g = NamedSemaphore::create(&gate, 0).unwrap();

    let p1 = spawn("crate-ooc-take-release", &[&name, &gate]);
    wait_until("P1 at the gate", LIMIT, || g.as_raw().waiters() == 1);
    let p2 = NamedSemaphore::open_or_create(&name, 1).unwrap();
    assert!(!p2.created(), "P1 created it");
    g.release().unwrap();
    let out = finish(p1, LIMIT);
    assert_eq!(code(&out), OK);
    assert_eq!(results(&out), ["created=true"]);
    assert!(name.exists(), "P1's exit left the name");

    assert!(took(p2.try_acquire().unwrap()), "P2 takes the one token");
    let out = finish(spawn("crate-ooc-try", &[&name]), LIMIT);
    assert_eq!(code(&out), OK);
    assert_eq!(
        results(&out),
        ["created=false", "token=false"],
        "P3 joins P2's semaphore and is refused a token"
    );
    p2.release().unwrap();
}

/// A process holds the lock on the semaphore's file for ever (any user who
/// can open the file can): an owner's drop and `unlink` still finish, after
/// a bounded wait, and remove the name the plain way.
#[test]
fn a_lock_held_for_ever_delays_but_never_stops_a_removal() {
    // The crate polls for at most 100 ms; this bound only catches a hang.
    const BOUND: Duration = Duration::from_secs(10);
    let name = TestName::new("held-lock");
    let path = name.path();
    /// The holder, killed however the test ends.
    struct Holder(std::process::Child);
    impl Drop for Holder {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let hold = |path: &std::path::Path| {
        let holder = Holder(spawn("flock-hold", &[path.to_str().unwrap(), "120000"]));
        wait_until("the holder's lock", LIMIT, || {
            common::flock_held_elsewhere(path)
        });
        holder
    };
    let waited = Duration::from_millis(100);

    let owner = NamedSemaphore::create(&name, 0).unwrap();
    let holder = hold(&path);
    let start = Instant::now();
    drop(owner);
    let took = start.elapsed();
    assert!(!name.exists(), "the drop removed its name");
    assert!(
        took >= waited,
        "the drop did not wait for the lock: {took:?}"
    );
    assert!(took < BOUND, "the drop took {took:?}");
    drop(holder);

    let sem = NamedSemaphore::create(&name, 0).unwrap();
    sem.set_unlink_on_drop(false);
    let holder = hold(&path);
    let start = Instant::now();
    named_semaphores::unlink(&name).unwrap();
    let took = start.elapsed();
    assert!(!name.exists(), "unlink removed the name");
    assert!(took >= waited, "unlink did not wait for the lock: {took:?}");
    assert!(took < BOUND, "unlink took {took:?}");
    drop(holder);
}
