//! Processes and threads of this crate racing to replace, create, unlink and
//! drop one name, with every core busy, for a bounded time: the lock on the
//! file at the name (`src/file/name_lock.rs`) must make every outcome that
//! of some serial order. Among the crate's own processes there is no
//! window: a drop never removes a newer semaphore's name, a name never
//! comes back, and no file is left behind.
//!
//! A checker (this test's main thread) replaces the name with its own
//! semaphore K (`UnlinkAndCreate`, two rounds in three) or unlinks it
//! (`unlink`, the third), while owners (threads of this process and child
//! processes) loop: create a semaphore where the name is free
//! (`CreateNew`), hold it a moment, drop it (which unlinks it if it is
//! still theirs). Nothing but the checker may change a name that refers to
//! K: a `CreateNew` fails while it exists, and a drop may only remove its
//! own semaphore. So after publishing K the checker looks at the name at
//! once and again after letting the owners run, and anything but K is an
//! anomaly:
//!
//! - the name missing: a drop removed K's name (a name missing while a
//!   semaphore was published there);
//! - another owner's semaphore: K's name was lost and taken by a newcomer
//!   (a lost newer name);
//! - an older K: a resurrection.
//!
//! Owners whose semaphore the checker replaced while they held it drop a
//! handle whose name is no longer theirs: these drops, the lost races the
//! lock must get right, are counted and printed. At the end no file may be
//! left in the directory. `NSEM_RACE_SECS` sets the length of each run
//! (default 3 s).

mod common;

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use common::{code, finish, role, spawn, TestDir, TestName, OK};
use named_semaphores::{ErrorKind, Existence, FileId, NamedSemaphore};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    match role() {
        Some((role, a)) if role == "race-owner" => {
            own_and_drop(&a[0], &a[1], &Counters::open(&a[2..]));
            std::process::exit(OK);
        }
        _ => common::child_main(),
    }
}

/// The shared counters, as semaphores (a release counts one).
struct Counters {
    /// Non-zero: stop.
    stop: NamedSemaphore,
    /// Semaphores the owners created.
    created: NamedSemaphore,
    /// Drops that found their semaphore replaced at the name.
    stale: NamedSemaphore,
}

const COUNTERS: [&str; 3] = ["stop", "created", "stale"];

impl Counters {
    fn open(names: &[String]) -> Counters {
        let s = |i: usize| NamedSemaphore::open(&names[i]).expect("open counter");
        Counters {
            stop: s(0),
            created: s(1),
            stale: s(2),
        }
    }
}

fn id_at(path: &Path) -> Option<FileId> {
    let m = path.symlink_metadata().ok()?;
    Some(FileId::new(m.dev(), m.ino()))
}

/// An owner's loop, until `stop`: create the semaphore where the name is
/// free, hold it a moment (yielding the processor), drop it.
fn own_and_drop(dir: &str, name: &str, c: &Counters) {
    let path = PathBuf::from(format!("{dir}/sem.{name}"));
    let mut round = 0u32;
    while c.stop.value() == 0 {
        round = round.wrapping_add(1);
        let created = NamedSemaphore::options()
            .directory(dir)
            .existence(Existence::CreateNew)
            .open(name);
        let sem = match created {
            Ok(sem) => sem,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("create: {e}"),
        };
        c.created.release().expect("count");
        // Hold it a moment, now and then across a yield of the processor.
        for _ in 0..(round % 8) * 200 {
            std::hint::spin_loop();
        }
        if round % 4 == 0 {
            thread::yield_now();
        }
        if id_at(&path) != Some(sem.file_id()) {
            c.stale.release().expect("count");
        }
        drop(sem);
    }
}

/// What the checker saw.
#[derive(Default, Debug)]
struct Tally {
    rounds: u64,
    unlinks: u64,
    /// Looks at the name that found K.
    fine: u64,
    lost: u64,
    missing: u64,
    resurrected: u64,
}

fn race(tag: &str, threads: usize, processes: usize) {
    let secs: u64 = std::env::var("NSEM_RACE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let run = Duration::from_secs(secs);
    let dir = TestDir::new(tag);
    let name = format!("race-{tag}");
    let path = PathBuf::from(format!("{}/sem.{name}", dir.0));
    let counter_names: Vec<TestName> = COUNTERS
        .iter()
        .map(|t| TestName::new(&format!("{tag}-{t}")))
        .collect();
    let _counters: Vec<NamedSemaphore> = counter_names
        .iter()
        .map(|n| NamedSemaphore::create(n, 0).unwrap())
        .collect();
    let args: Vec<String> = counter_names.iter().map(|n| n.name.clone()).collect();
    let c = Counters::open(&args);
    let children: Vec<_> = (0..processes)
        .map(|_| {
            let mut a: Vec<&str> = vec![&dir.0, &name];
            a.extend(args.iter().map(String::as_str));
            spawn("race-owner", &a)
        })
        .collect();
    let hogs_stop = AtomicBool::new(false);
    let mut t = Tally::default();
    let mut ours: HashSet<FileId> = HashSet::new();
    thread::scope(|s| {
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        for _ in 0..cores {
            s.spawn(|| {
                while !hogs_stop.load(SeqCst) {
                    std::hint::spin_loop();
                }
            });
        }
        for _ in 0..threads {
            let (dir, name, args) = (&dir.0, &name, &args);
            s.spawn(move || own_and_drop(dir, name, &Counters::open(args)));
        }
        let judge =
            |seen: Option<FileId>, k: FileId, ours: &HashSet<FileId>, t: &mut Tally| match seen {
                Some(id) if id == k => t.fine += 1,
                Some(id) if ours.contains(&id) => t.resurrected += 1,
                Some(_) => t.lost += 1,
                None => t.missing += 1,
            };
        let start = Instant::now();
        while start.elapsed() < run {
            t.rounds += 1;
            if t.rounds % 3 == 0 {
                match named_semaphores::unlink_in(&dir.0, &name) {
                    Ok(()) => t.unlinks += 1,
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => panic!("unlink: {e}"),
                }
                // Let the owners create.
                thread::yield_now();
                continue;
            }
            let k = NamedSemaphore::options()
                .directory(&dir.0)
                .existence(Existence::UnlinkAndCreate)
                .unlink_on_drop(false)
                .open(&name)
                .unwrap();
            judge(id_at(&path), k.file_id(), &ours, &mut t);
            for _ in 0..2000 {
                std::hint::spin_loop();
            }
            judge(id_at(&path), k.file_id(), &ours, &mut t);
            ours.insert(k.file_id());
        }
        c.stop.release().unwrap();
        hogs_stop.store(true, SeqCst);
    });
    for child in children {
        assert_eq!(code(&finish(child, LIMIT)), OK);
    }
    // K's name, if it is still there, goes now.
    let _ = named_semaphores::unlink_in(&dir.0, &name);
    let left = dir.files();
    println!(
        "{tag}: {} rounds ({} unlinks), {} semaphores created by the owners, {} drops \
         that lost the race (found their semaphore replaced), {} looks that found K; \
         anomalies: {} lost newer names, {} names missing while published, {} \
         resurrections, {} files left",
        t.rounds,
        t.unlinks,
        c.created.value(),
        c.stale.value(),
        t.fine,
        t.lost,
        t.missing,
        t.resurrected,
        left.len()
    );
    assert_eq!(
        (t.lost, t.missing, t.resurrected),
        (0, 0, 0),
        "anomalies: {t:?}"
    );
    assert!(left.is_empty(), "files left in the directory: {left:?}");
    assert!(t.rounds > 100, "the race ran only {} rounds", t.rounds);
    assert!(
        c.stale.value() > 0,
        "no drop ever lost the race: nothing was tested"
    );
}

/// Owners that are threads of this process.
#[test]
fn crate_threads_race_on_one_name() {
    race("threads", 3, 0);
}

/// Owners that are child processes, and one thread.
#[test]
fn crate_processes_race_on_one_name() {
    race("processes", 1, 2);
}
