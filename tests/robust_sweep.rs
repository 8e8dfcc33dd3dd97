//! Robust mode: the beacon files of holders that died while opening are
//! swept away, and a live holder's beacon never is.
//!
//! - A holder killed in the middle of its open leaves a beacon file no
//!   record names; the next `recover()` removes it. Made deterministic with
//!   `strace`, which kills the opener (`inject=flock:signal=SIGKILL`) at a
//!   chosen `flock` of its open: in the way used where a file cannot be made
//!   without a name (`linkat` refused), killed before it locks its empty
//!   beacon; and in the `O_TMPFILE` way, with every slot taken, killed once
//!   its tagged beacon is linked and it finds no slot. These need the
//!   `strace` program: `#[ignore]`d in a plain `cargo test`, run by
//!   `ci/reliability.sh`.
//! - Openers race sweeps: no live holder's beacon is ever removed (a
//!   removed one would make its holder undecided), and nothing is left.
//! - A sweep leaves alone what is not its own: another semaphore's beacons,
//!   a beacon a slot names, a locked beacon, a file that is not a beacon.

#![cfg(target_has_atomic = "64")]

mod common;
#[path = "common/robust.rs"]
mod robust;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{finish, TestDir};
use named_semaphores::NamedSemaphore;
use robust::{self as r, beacons, ForgedBeacon};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    let Some((role, a)) = common::role() else {
        return;
    };
    match role.as_str() {
        // Opens a robust handle (killed by strace in the middle).
        "open" => drop(r::open(&a[0], &a[1])),
        other => panic!("unknown role {other}"),
    }
    std::process::exit(0);
}

/// Runs the `open` role on semaphore `s` of `dir` under strace with the
/// injection rules `rules`, and asserts that strace killed it.
fn open_under_strace(dir: &str, rules: &[&str]) {
    let mut args: Vec<String> = vec!["-f".into(), "-qq".into(), "-o".into(), "/dev/null".into()];
    for rule in rules {
        args.extend(["-e".into(), format!("inject={rule}")]);
    }
    let child = {
        let _quiet = r::no_fork();
        Command::new("strace")
            .args(&args)
            .arg(std::env::current_exe().unwrap())
            .args(["child", "--exact", "--ignored", "--test-threads=1", "-q"])
            .env("NSEM_ROLE", "open")
            .env("NSEM_ARGS", format!("{dir}\u{1f}s"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("these tests need strace (Debian package strace)")
    };
    let out = finish(child, LIMIT);
    // strace exits as its tracee did: killed by SIGKILL.
    assert_eq!(
        out.status.signal().or(out.status.code().map(|c| c - 128)),
        Some(libc::SIGKILL),
        "the opener was not killed where meant: {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The beacon files of `dir` no live handle of this process owns.
fn strays(dir: &str, sem: &NamedSemaphore, others: &[&NamedSemaphore]) -> Vec<String> {
    let ours: Vec<String> = std::iter::once(sem)
        .chain(others.iter().copied())
        .flat_map(|s| s.holders().unwrap())
        .map(|h| format!("nsem-holder.{:016x}", h.beacon))
        .collect();
    beacons(dir)
        .into_iter()
        .filter(|b| !ours.contains(b))
        .collect()
}

#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn an_opener_killed_before_it_locks_its_named_beacon_leaves_nothing_after_a_recovery() {
    let dir = TestDir::new("sweep-named");
    let sem = r::create(&dir.0, "s", 2);
    // linkat refused: the beacon is created under its name (the way used
    // without O_TMPFILE); the opener dies at the flock of that file (its
    // first flock is the one on the O_TMPFILE file it could not link).
    open_under_strace(
        &dir.0,
        &["linkat:error=EPERM", "flock:signal=SIGKILL:when=2"],
    );
    let left = strays(&dir.0, &sem, &[]);
    assert_eq!(left.len(), 1, "the leak was not reproduced: {left:?}");
    let size = std::fs::metadata(format!("{}/{}", dir.0, left[0]))
        .unwrap()
        .len();
    assert_eq!(size, 0, "an untagged beacon");
    let done = sem.recover().unwrap();
    assert_eq!((done.beacons, done.holders, done.tokens), (1, 0, 0));
    assert_eq!(strays(&dir.0, &sem, &[]), Vec::<String>::new());
    assert_eq!(sem.value(), 2);
}

#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn an_opener_killed_after_its_beacon_is_linked_leaves_nothing_after_a_recovery() {
    let dir = TestDir::new("sweep-linked");
    let sem = r::create(&dir.0, "s", 2);
    // Every slot taken by live handles of this process: the opener links
    // its beacon, finds no slot, and recovers, probing the first holder's
    // beacon with its second flock, where it dies.
    let fill: Vec<NamedSemaphore> = (1..r::SLOTS).map(|_| r::open(&dir.0, "s")).collect();
    open_under_strace(&dir.0, &["flock:signal=SIGKILL:when=2"]);
    let all: Vec<&NamedSemaphore> = fill.iter().collect();
    let left = strays(&dir.0, &sem, &all);
    assert_eq!(left.len(), 1, "the leak was not reproduced: {left:?}");
    let tagged = std::fs::read(format!("{}/{}", dir.0, left[0])).unwrap();
    let st = std::fs::metadata(r::sem_path(&dir.0, "s")).unwrap();
    assert_eq!(&tagged[..8], b"nsem-hb1");
    assert_eq!(&tagged[8..16], &st.dev().to_ne_bytes());
    assert_eq!(&tagged[16..], &st.ino().to_ne_bytes());
    let done = sem.recover().unwrap();
    assert_eq!((done.beacons, done.holders, done.tokens), (1, 0, 0));
    assert_eq!(strays(&dir.0, &sem, &all), Vec::<String>::new());
    drop(fill);
    assert_eq!(beacons(&dir.0).len(), 1, "only the first handle's");
}

#[test]
fn openers_racing_sweeps_never_lose_a_live_beacon() {
    let dir = TestDir::new("sweep-race");
    let sem = r::create(&dir.0, "s", 4);
    let rounds = 150;
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..rounds {
                    let h = r::open(&dir.0, "s");
                    let p = h.acquire().unwrap();
                    // A live holder whose beacon is gone is undecided for
                    // every recovery (the recovery checks the slot still
                    // names it): this handle's own, at least, is alive now.
                    let done = h.recover().unwrap();
                    assert_eq!((done.undecided, done.tokens), (0, 0), "{done:?}");
                    drop(p);
                }
            });
        }
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..rounds * 2 {
                    let done = sem.recover().unwrap();
                    assert_eq!(
                        (done.undecided, done.tokens, done.beacons),
                        (0, 0, 0),
                        "{done:?}"
                    );
                }
            });
        }
    });
    assert_eq!(beacons(&dir.0).len(), 1, "only the first handle's");
    assert_eq!(sem.value(), 4);
}

#[test]
fn a_sweep_leaves_alone_what_is_not_its_own() {
    let dir = TestDir::new("sweep-foreign");
    let sem = r::create(&dir.0, "s", 1);
    let other = r::create(&dir.0, "t", 1);
    let path = r::sem_path(&dir.0, "s");
    let st = std::fs::metadata(&path).unwrap();
    let tag_of = |st: &std::fs::Metadata| {
        let mut t = b"nsem-hb1".to_vec();
        t.extend(st.dev().to_ne_bytes());
        t.extend(st.ino().to_ne_bytes());
        t
    };
    // Dead (unlocked) beacons: one tagged for the other semaphore, one
    // tagged for this one but named by a slot (a dead holder's, the
    // recovery's to finish), one with other content; a live (locked) one
    // tagged for this semaphore; a file whose name is not a beacon's.
    let foreign = ForgedBeacon::new(&dir.0, 0x1111, false);
    std::fs::write(
        &foreign.path,
        tag_of(&std::fs::metadata(r::sem_path(&dir.0, "t")).unwrap()),
    )
    .unwrap();
    let named = ForgedBeacon::new(&dir.0, 0x2222, false);
    std::fs::write(&named.path, tag_of(&st)).unwrap();
    r::write_slot(&path, r::SLOTS - 1, 0x2222, 0, 0, 1);
    let garbage = ForgedBeacon::new(&dir.0, 0x3333, false);
    std::fs::write(&garbage.path, b"not a tag").unwrap();
    let live = ForgedBeacon::new(&dir.0, 0x4444, true);
    std::fs::write(&live.path, tag_of(&st)).unwrap();
    let not_beacon = format!("{}/nsem-holder.xyz", dir.0);
    std::fs::write(&not_beacon, b"").unwrap();
    // What it does remove: an empty beacon and one tagged for it, unnamed.
    let empty = ForgedBeacon::new(&dir.0, 0x5555, false);
    let ours = ForgedBeacon::new(&dir.0, 0x6666, false);
    std::fs::write(&ours.path, tag_of(&st)).unwrap();

    let done = sem.recover().unwrap();
    // The named dead holder is recovered (nothing to give back): its beacon
    // goes with its slot, by the recovery.
    assert_eq!((done.beacons, done.holders), (2, 1), "{done:?}");
    assert!(!empty.path.exists() && !ours.path.exists() && !named.path.exists());
    assert!(foreign.path.exists() && garbage.path.exists() && live.path.exists());
    assert!(std::path::Path::new(&not_beacon).exists());
    assert_eq!(
        other.recover().unwrap().beacons,
        1,
        "the other's tagged one"
    );
    assert!(!foreign.path.exists());
}
