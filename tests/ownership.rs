//! Who owns a name: which handles unlink it on drop, that `open_or_create`
//! keeps its limit across processes, and that a drop never removes the name
//! of a semaphore another process published since.

mod common;

use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use common::{code, finish, results, spawn, took, wait_until, TestName, OK};
use named_semaphores::{Existence, FileId, NamedSemaphore};

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

/// Device and inode of the file at `path`, if any.
fn id_at(path: &std::path::Path) -> Option<FileId> {
    let meta = path.symlink_metadata().ok()?;
    Some(FileId::new(meta.dev(), meta.ino()))
}

/// Races A, another process (`UnlinkAndCreate`, then drop: unlinks), against
/// B, this one (replaces the name too, keeps it on drop, then looks at the
/// name), with every core busy, and checks that A's drop never removes B's
/// name for good. A brief absence while A's drop has B's file moved aside is
/// counted and printed, not failed.
#[test]
fn a_drop_never_removes_a_newer_semaphores_name() {
    const RUN: Duration = Duration::from_secs(4);
    let name = TestName::new("steal");
    let path = name.path();
    // A's creations started and finished, as semaphore values; `busy` is
    // held by A through each round, so B takes it to see A idle.
    let counters: Vec<TestName> = ["started", "finished", "busy", "stop"]
        .iter()
        .map(|tag| TestName::new(tag))
        .collect();
    let sems: Vec<NamedSemaphore> = counters
        .iter()
        .zip([0, 0, 1, 0])
        .map(|(n, v)| NamedSemaphore::create(n, v).unwrap())
        .collect();
    let [started, finished, busy, stop] = &sems[..] else {
        unreachable!()
    };
    let side = TestName::new("steal-side");
    let hogs_stop = AtomicBool::new(false);
    let (mut rounds, mut transient, mut replaced, mut lost) = (0u64, 0u64, 0u64, 0u64);

    let a = spawn(
        "crate-replace-and-drop",
        &[
            &name,
            &counters[0],
            &counters[1],
            &counters[2],
            &counters[3],
        ],
    );
    thread::scope(|s| {
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        for _ in 0..cores {
            s.spawn(|| {
                while !hogs_stop.load(SeqCst) {
                    std::hint::spin_loop();
                }
            });
        }
        // B's semaphore for most rounds: published again and again by linking
        // it to a temporary name and renaming that over the name, which is
        // how `UnlinkAndCreate` publishes, at a few microseconds a round.
        let fixed = open(&side, Existence::CreateNew);
        let tmp = TestName::new("steal-tmp");
        let tmp = &tmp.path();
        let start = Instant::now();
        while start.elapsed() < RUN {
            rounds += 1;
            // A's creations finished before B publishes: an A creation that
            // replaces B's semaphore must start after this.
            let done_before;
            let own;
            let b = if rounds % 8 == 0 {
                // Every eighth round, `UnlinkAndCreate` itself.
                done_before = finished.value();
                own = open(&name, Existence::UnlinkAndCreate);
                own.set_unlink_on_drop(false);
                &own
            } else {
                std::fs::hard_link(side.path(), tmp).unwrap();
                done_before = finished.value();
                std::fs::rename(tmp, &path).unwrap();
                // Renaming a file over another link to it does nothing.
                let _ = std::fs::remove_file(tmp);
                &fixed
            };
            let ours = Some(b.file_id());
            let first = id_at(&path);
            // With A idle between rounds (its drop finished), and no A
            // creation started since B published, the name must be B's.
            let held = busy.acquire().unwrap();
            let (now, started_now) = (id_at(&path), started.value());
            drop(held);
            if now == ours {
                transient += u64::from(first != ours);
            } else if started_now == done_before {
                lost += 1;
            } else {
                replaced += 1;
            }
        }
        stop.release().unwrap();
        hogs_stop.store(true, SeqCst);
    });
    assert_eq!(code(&finish(a, LIMIT)), OK);
    println!(
        "{rounds} rounds: {lost} names lost, {transient} transient absences, \
         {replaced} replaced by A, {} creations by A",
        started.value()
    );
    assert_eq!(lost, 0, "a drop removed a newer semaphore's name");
    assert!(rounds > 100, "the race ran only {rounds} rounds");
    assert!(
        started.value() > 100,
        "A ran only {} rounds",
        started.value()
    );
}
