//! The kill storm: robust holders (this crate) take, hold and give back
//! tokens of a robust semaphore with limit K while a killer sends SIGKILL to
//! random ones at random moments, and glibc peers (not robust) use the same
//! semaphore at the same time, under CPU load.
//!
//! Asserts that never more than K tokens are held at once by the processes
//! that are running, that the value never exceeds K, and that once every
//! survivor has given its tokens back the value is K, less at most the
//! tokens recoveries reported uncertain.
//!
//! `kill_storm_with_c_holders` does the same with robust holders of both
//! kinds: processes of this crate and C programs using the C library
//! (`capi/tests/storm_holder.c`: `namedsem_open_robust`, `sem_wait`,
//! `sem_post`), killed alike. It needs that program, which `ci/capi.sh`
//! builds and names in NSEM_STORM_C_HOLDER; it is ignored by a plain
//! `cargo test`, and fails if run without the program.
//!
//! Sizes (environment): NSEM_STORM_SECS (time limit, default 20),
//! NSEM_STORM_KILLS (stop after this many kills, default 3000),
//! NSEM_STORM_WORKERS (robust holders of this crate, default 6),
//! NSEM_STORM_C_WORKERS (C holders, default 3, with C holders only),
//! NSEM_STORM_GLIBC (glibc peers, default 2; 0 where the libc is not glibc), NSEM_STORM_LIMIT (K, default
//! 3).
//!
//! How "held at once" is counted soundly while processes die: one shared
//! 64-bit word holds a 2-bit count per participant (its tokens), changed
//! only by atomic adds, so the total a participant computes from the word
//! it replaced is a true snapshot. A participant adds 1 right after it takes
//! a token and subtracts 1 right before it gives one back. The killer first
//! stops its victim (SIGSTOP, and waits until it has stopped), takes the
//! victim's count out of the word, then kills it: a stopped process holds
//! its tokens but is not running, and its tokens come back only after its
//! death, so the word never counts a token twice.

#![cfg(target_has_atomic = "64")]

mod common;
#[path = "robust_storm/participants.rs"]
mod participants;
#[path = "robust_storm/shared.rs"]
mod shared;

use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{spawn, TestName};
use named_semaphores::{Existence, NamedSemaphore};
use participants::{c_holder_program, fork_worker, glibc_peer, spawn_c_holder, wait_pid};
use shared::{spin, Kind, Rng, Shared};

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    let Some((role, a)) = common::role() else {
        return;
    };
    assert_eq!(role, "storm-glibc", "unknown role");
    let shared = Shared::map(&a[1]);
    let index: u32 = a[2].parse().expect("index");
    let limit: u32 = a[3].parse().expect("limit");
    glibc_peer(&a[0], shared, index, limit);
    std::process::exit(0);
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The beacon files in /dev/shm.
fn shm_beacons() -> Vec<String> {
    std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| {
            let n = e.ok()?.file_name().to_string_lossy().into_owned();
            n.starts_with("nsem-holder.").then_some(n)
        })
        .collect()
}

/// The semaphore file of `name` in /dev/shm.
fn sem_file(name: &TestName) -> String {
    format!("/dev/shm/sem.{}", name.name)
}

/// What a beacon of the semaphore whose file is `path` holds (design.md):
/// `"nsem-hb1"`, then the file's device and inode numbers.
fn beacon_tag(path: &str) -> Vec<u8> {
    use std::os::unix::fs::MetadataExt;
    let st = std::fs::metadata(path).unwrap();
    let mut tag = b"nsem-hb1".to_vec();
    tag.extend(st.dev().to_ne_bytes());
    tag.extend(st.ino().to_ne_bytes());
    tag
}

/// Removes the state file, also when the test fails.
struct StateFile(String);

impl Drop for StateFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn kill_storm() {
    storm(None);
}

#[test]
#[ignore = "needs the C library's storm holder: run by ci/capi.sh (NSEM_STORM_C_HOLDER)"]
fn kill_storm_with_c_holders() {
    storm(Some(c_holder_program()));
}

/// Per kind of robust holder: kills, and the tokens the killed ones were
/// counted holding (what recoveries had to give back, less what died in
/// the window between a take and its count).
#[derive(Default)]
struct Tally {
    kills: u64,
    held_at_kill: u64,
}

fn storm(c_holder: Option<String>) {
    let secs = env("NSEM_STORM_SECS", 20);
    let kill_target = env("NSEM_STORM_KILLS", 3000);
    let workers = env("NSEM_STORM_WORKERS", 6) as u32;
    let c_workers = match c_holder {
        Some(_) => env("NSEM_STORM_C_WORKERS", 3) as u32,
        None => 0,
    };
    // glibc peers only where the libc is glibc (musl's sem_t is another
    // format).
    let glibc = env(
        "NSEM_STORM_GLIBC",
        if cfg!(target_env = "gnu") { 2 } else { 0 },
    ) as u32;
    let limit = env("NSEM_STORM_LIMIT", 3) as u32;
    let holders = workers + c_workers;
    assert!(holders + glibc <= 32, "at most 32 participants");
    assert!(holders > 0 && (1..=3 * 32).contains(&limit));
    // Participants 0..workers are the crate's, then the C holders, then the
    // glibc peers.
    let kind = |i: u32| if i < workers { Kind::Crate } else { Kind::C };

    let name = TestName::new("storm");
    let state = StateFile(format!("/dev/shm/{}-state", name.name));
    std::fs::write(&state.0, [0u8; 4096]).unwrap();
    let shared = Shared::map(&state.0);
    let beacons_before = shm_beacons();

    let sem = NamedSemaphore::options()
        .robust(true)
        .initial_value(limit)
        .existence(Existence::CreateNew)
        .open(&name)
        .unwrap();
    let start_holder = |i: u32| match (kind(i), &c_holder) {
        (Kind::C, Some(program)) => spawn_c_holder(program, &name, &state.0, i, limit),
        _ => fork_worker(&name, shared, i, limit),
    };

    // CPU load: two spinning threads, as many as the cores CI has.
    let load_stop = AtomicBool::new(false);
    let over = AtomicU32::new(0);
    let outcome = std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while !load_stop.load(SeqCst) {
                    spin(10_000);
                }
            });
        }
        // Watches the value, which must never exceed K.
        s.spawn(|| {
            while shared.stop.load(SeqCst) == 0 {
                if sem.value() > limit {
                    over.fetch_add(1, SeqCst);
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        });

        let peers: Vec<_> = (0..glibc)
            .map(|j| {
                let index = (holders + j).to_string();
                spawn(
                    "storm-glibc",
                    &[&name, &state.0, &index, &limit.to_string()],
                )
            })
            .collect();
        let mut pids: Vec<_> = (0..holders).map(start_holder).collect();

        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ u64::from(std::process::id()));
        let start = Instant::now();
        let mut tally: [Tally; 2] = Default::default();
        let mut kills = 0u64;
        while kills < kill_target && start.elapsed() < Duration::from_secs(secs) {
            std::thread::sleep(Duration::from_micros(rng.next(3_000)));
            let i = rng.next(u64::from(holders)) as u32;
            let pid = pids[i as usize];
            // SAFETY: `pid` is our live child.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
            let status = wait_pid(pid, true);
            assert!(
                libc::WIFSTOPPED(status),
                "{:?} holder {pid} ended early: status {status:#x}",
                kind(i)
            );
            let held = shared.forget(i);
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            wait_pid(pid, false);
            kills += 1;
            let t = &mut tally[kind(i) as usize];
            t.kills += 1;
            t.held_at_kill += held;
            pids[i as usize] = start_holder(i);
        }
        let elapsed = start.elapsed();
        shared.stop.store(1, SeqCst);
        // A holder blocked in a wait with no token left to wake it (all
        // lost as uncertain) is stopped and killed the same way.
        for (i, pid) in pids.into_iter().enumerate() {
            let give_up = Instant::now() + Duration::from_secs(10);
            let mut status = 0;
            // SAFETY: `pid` is our child; `status` is writable.
            while unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == 0 {
                if Instant::now() > give_up {
                    // SAFETY: as above.
                    unsafe { libc::kill(pid, libc::SIGSTOP) };
                    wait_pid(pid, true);
                    shared.forget(i as u32);
                    // SAFETY: as above.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    status = wait_pid(pid, false);
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            assert!(
                libc::WIFSIGNALED(status)
                    || libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "{:?} holder {pid} failed: status {status:#x}",
                kind(i as u32)
            );
        }
        for peer in peers {
            let out = common::finish(peer, Duration::from_secs(60));
            assert!(
                out.status.success(),
                "glibc peer failed: {:?} {} {}",
                out.status.signal(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        load_stop.store(true, SeqCst);
        (kills, tally, elapsed, over.load(SeqCst))
    });
    let (kills, tally, elapsed, over) = outcome;

    // Every survivor has given its tokens back: give back what the last
    // dead holders still record, then count.
    let last = sem.recover().unwrap();
    let holders_now = sem.holders().unwrap();
    let (uncertain, recovered) = (holders_now.uncertain(), holders_now.recovered());
    let left: Vec<_> = holders_now
        .filter(|h| h.tokens > 0 || h.pending > 0)
        .collect();
    let value = sem.value();
    // Beacons of holders killed while opening are swept by the recoveries
    // (the final one included): none tagged for this semaphore may remain
    // but the one of this process's handle, which its record names.
    // Files that appeared meanwhile and are not its own belong to other
    // programs using /dev/shm; they are counted, not touched.
    let own_tag = beacon_tag(&sem_file(&name));
    let recorded: Vec<String> = sem
        .holders()
        .unwrap()
        .map(|h| format!("nsem-holder.{:016x}", h.beacon))
        .collect();
    let (ours, others): (Vec<_>, Vec<_>) = shm_beacons()
        .into_iter()
        .filter(|b| !beacons_before.contains(b) && !recorded.contains(b))
        .partition(|b| std::fs::read(format!("/dev/shm/{b}")).is_ok_and(|t| t == own_tag));
    for b in &ours {
        let _ = std::fs::remove_file(format!("/dev/shm/{b}"));
    }
    let taken = |k: Kind| shared.kind_entries[k as usize].load(SeqCst);
    println!(
        "kill storm: {kills} kills in {:.1} s ({workers} crate holders, {c_workers} C holders, \
         {glibc} glibc peers, limit {limit}); {} tokens taken; recoveries gave back \
         {recovered} tokens ({} in the final recover); uncertain {uncertain}; most held at \
         once {}; final value {value}; beacon files swept by the final recover: {}; of this \
         semaphore left: {} (other new beacon files in /dev/shm: {})",
        elapsed.as_secs_f64(),
        shared.entries.load(SeqCst),
        last.tokens,
        shared.most.load(SeqCst),
        last.beacons,
        ours.len(),
        others.len(),
    );
    for (k, t) in [(Kind::Crate, &tally[0]), (Kind::C, &tally[1])] {
        if k == Kind::C && c_workers == 0 {
            continue;
        }
        println!(
            "  {k:?} holders: {} kills, {} tokens held when killed, {} tokens taken",
            t.kills,
            t.held_at_kill,
            taken(k)
        );
    }
    println!("  glibc peers: {} tokens taken", taken(Kind::Glibc));
    assert_eq!(
        shared.violations.load(SeqCst),
        0,
        "more than K held at once"
    );
    assert_eq!(over, 0, "the value exceeded K");
    assert!(left.is_empty(), "holders still recorded: {left:?}");
    assert!(ours.is_empty(), "beacon files left: {ours:?}");
    assert!(
        value <= limit && value + uncertain >= limit,
        "value {value} with limit {limit} and {uncertain} uncertain"
    );
    assert!(kills > 0 && shared.entries.load(SeqCst) > kills);
    if c_workers > 0 {
        // The C holders took part: they were killed and took tokens.
        assert!(
            tally[1].kills > 0 && taken(Kind::C) > 0,
            "no C holder took part"
        );
    }
}
