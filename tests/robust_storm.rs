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
//! Sizes (environment): NSEM_STORM_SECS (time limit, default 20),
//! NSEM_STORM_KILLS (stop after this many kills, default 3000),
//! NSEM_STORM_WORKERS (robust holders, default 6), NSEM_STORM_GLIBC (glibc
//! peers, default 2), NSEM_STORM_LIMIT (K, default 3).
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

use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use common::{spawn, TestName};
use named_semaphores::{Existence, NamedSemaphore};

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

/// The storm's shared words, in a file of their own mapped by every
/// participant.
#[repr(C)]
struct Shared {
    /// 2 bits per participant: the tokens it holds.
    held: AtomicU64,
    /// Set when the storm is over.
    stop: AtomicU32,
    /// Times a participant saw more than K tokens held.
    violations: AtomicU32,
    /// The most tokens seen held at once.
    most: AtomicU32,
    _pad: AtomicU32,
    /// Tokens taken, in all.
    entries: AtomicU64,
}

impl Shared {
    /// Maps the state file at `path` (created by the test) for the life of
    /// the process.
    fn map(path: &str) -> &'static Shared {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .expect("open state file");
        use std::os::unix::io::AsRawFd;
        // SAFETY: a new shared mapping of a file of at least one page.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "mmap state");
        // SAFETY: page-aligned, zero-initialised atomics, mapped for the
        // rest of the process; only accessed atomically.
        unsafe { &*p.cast::<Shared>() }
    }

    fn total(word: u64) -> u32 {
        (0..32).map(|i| ((word >> (2 * i)) & 3) as u32).sum()
    }

    /// Counts one more token held by participant `i`.
    fn enter(&self, i: u32, limit: u32) {
        let now = self.held.fetch_add(1 << (2 * i), SeqCst) + (1 << (2 * i));
        let total = Self::total(now);
        self.most.fetch_max(total, SeqCst);
        if total > limit {
            self.violations.fetch_add(1, SeqCst);
        }
        self.entries.fetch_add(1, SeqCst);
    }

    /// Counts one token fewer held by participant `i`.
    fn leave(&self, i: u32) {
        self.held.fetch_sub(1 << (2 * i), SeqCst);
    }

    /// Takes participant `i` (stopped) out of the count.
    fn forget(&self, i: u32) {
        let mine = (self.held.load(SeqCst) >> (2 * i)) & 3;
        self.held.fetch_sub(mine << (2 * i), SeqCst);
    }
}

/// A small random number generator (no allocation: it runs in forked
/// children).
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

fn spin(iterations: u64) {
    for _ in 0..iterations {
        std::hint::spin_loop();
    }
}

/// A robust holder, in a forked child: loops until the storm stops. Uses
/// only the crate, atomics and `_exit`: nothing that allocates.
fn robust_worker(name: &str, shared: &Shared, i: u32, limit: u32) -> ! {
    let sem = match NamedSemaphore::options()
        .robust(true)
        .check_period(Duration::from_millis(10))
        .open(name)
    {
        Ok(sem) => sem,
        // SAFETY: ends the forked child at once.
        Err(_) => unsafe { libc::_exit(2) },
    };
    let mut rng = Rng(u64::from(std::process::id()).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    while shared.stop.load(SeqCst) == 0 {
        let permit = match rng.next(4) {
            0 => sem.try_acquire(),
            1 => sem.acquire_timeout(Duration::from_millis(rng.next(20))),
            _ => sem.acquire().map(Some),
        };
        let Ok(Some(permit)) = permit else { continue };
        shared.enter(i, limit);
        // Sometimes a second token, held through the same work.
        let second = if rng.next(4) == 0 {
            sem.try_acquire().ok().flatten()
        } else {
            None
        };
        if second.is_some() {
            shared.enter(i, limit);
        }
        spin(rng.next(2_000));
        if let Some(p) = second {
            shared.leave(i);
            drop(p);
        }
        shared.leave(i);
        drop(permit);
        if rng.next(8) == 0 {
            std::thread::yield_now();
        }
    }
    drop(sem);
    // SAFETY: ends the forked child without running the parent's exit code.
    unsafe { libc::_exit(0) }
}

/// A glibc peer: `sem_timedwait`/`sem_trywait` and `sem_post` on the same
/// semaphore, not robust, never killed.
fn glibc_peer(name: &str, shared: &Shared, i: u32, limit: u32) {
    let c = std::ffi::CString::new(format!("/{name}")).unwrap();
    // SAFETY: a valid C string; no O_CREAT.
    let sem = unsafe { libc::sem_open(c.as_ptr(), 0) };
    assert_ne!(sem, libc::SEM_FAILED, "glibc sem_open");
    let mut rng = Rng(u64::from(std::process::id()) | 1);
    while shared.stop.load(SeqCst) == 0 {
        let got = if rng.next(2) == 0 {
            // SAFETY: `sem` came from sem_open.
            unsafe { libc::sem_trywait(sem) == 0 }
        } else {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: valid out-pointer.
            unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
            ts.tv_nsec += 20_000_000;
            if ts.tv_nsec >= 1_000_000_000 {
                ts.tv_nsec -= 1_000_000_000;
                ts.tv_sec += 1;
            }
            // SAFETY: `sem` came from sem_open; `ts` is valid.
            unsafe { libc::sem_timedwait(sem, &ts) == 0 }
        };
        if !got {
            continue;
        }
        shared.enter(i, limit);
        spin(rng.next(2_000));
        shared.leave(i);
        // SAFETY: `sem` came from sem_open.
        assert_eq!(unsafe { libc::sem_post(sem) }, 0);
    }
    // SAFETY: `sem` came from sem_open and is not used again.
    unsafe { libc::sem_close(sem) };
}

/// Forks a robust worker.
fn fork_worker(name: &str, shared: &Shared, i: u32, limit: u32) -> libc::pid_t {
    // SAFETY: the child runs only `robust_worker`, which does not allocate
    // or take locks another thread of this process could hold.
    match unsafe { libc::fork() } {
        -1 => panic!("fork: {}", std::io::Error::last_os_error()),
        0 => robust_worker(name, shared, i, limit),
        pid => pid,
    }
}

/// Waits for `pid`; with `stopped`, until it has stopped.
fn wait_pid(pid: libc::pid_t, stopped: bool) -> i32 {
    let mut status = 0;
    let flags = if stopped { libc::WUNTRACED } else { 0 };
    loop {
        // SAFETY: `pid` is our child; `status` is writable.
        let r = unsafe { libc::waitpid(pid, &mut status, flags) };
        if r == pid {
            return status;
        }
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR),
            "waitpid"
        );
    }
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
    let secs = env("NSEM_STORM_SECS", 20);
    let kill_target = env("NSEM_STORM_KILLS", 3000);
    let workers = env("NSEM_STORM_WORKERS", 6) as u32;
    let glibc = env("NSEM_STORM_GLIBC", 2) as u32;
    let limit = env("NSEM_STORM_LIMIT", 3) as u32;
    assert!(workers + glibc <= 32, "at most 32 participants");
    assert!((1..=3 * 32).contains(&limit));

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
                let index = (workers + j).to_string();
                spawn(
                    "storm-glibc",
                    &[&name, &state.0, &index, &limit.to_string()],
                )
            })
            .collect();
        let mut pids: Vec<_> = (0..workers)
            .map(|i| fork_worker(&name, shared, i, limit))
            .collect();

        let mut rng = Rng(0x2545_f491_4f6c_dd1d ^ u64::from(std::process::id()));
        let start = Instant::now();
        let mut kills = 0u64;
        while kills < kill_target && start.elapsed() < Duration::from_secs(secs) {
            std::thread::sleep(Duration::from_micros(rng.next(3_000)));
            let i = rng.next(u64::from(workers)) as usize;
            let pid = pids[i];
            // SAFETY: `pid` is our live child.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
            let status = wait_pid(pid, true);
            assert!(
                libc::WIFSTOPPED(status),
                "worker {pid} ended early: status {status:#x}"
            );
            shared.forget(i as u32);
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            wait_pid(pid, false);
            kills += 1;
            pids[i] = fork_worker(&name, shared, i as u32, limit);
        }
        let elapsed = start.elapsed();
        shared.stop.store(1, SeqCst);
        // A worker blocked in `acquire()` with no token left to wake it (all
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
                "worker {pid} failed: status {status:#x}"
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
        (kills, elapsed, over.load(SeqCst))
    });
    let (kills, elapsed, over) = outcome;

    // Every survivor has given its tokens back: give back what the last
    // dead holders still record, then count.
    let last = sem.recover().unwrap();
    let holders = sem.holders().unwrap();
    let (uncertain, recovered) = (holders.uncertain(), holders.recovered());
    let left: Vec<_> = holders.filter(|h| h.tokens > 0 || h.pending > 0).collect();
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
    println!(
        "kill storm: {kills} kills in {:.1} s ({} workers, {} glibc peers, limit {limit}); \
         {} tokens taken; recoveries gave back {recovered} tokens ({} in the final recover); \
         uncertain {uncertain}; most held at once {}; final value {value}; \
         beacon files swept by the final recover: {}; of this semaphore left: {} (other new beacon files in /dev/shm: {})",
        elapsed.as_secs_f64(),
        workers,
        glibc,
        shared.entries.load(SeqCst),
        last.tokens,
        shared.most.load(SeqCst),
        last.beacons,
        ours.len(),
        others.len(),
    );
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
}
