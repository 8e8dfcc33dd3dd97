//! Many processes on one semaphore, half of them this crate and half glibc's
//! `sem_wait`/`sem_post` through `libc`:
//!
//! - value 1 as a mutex around a non-atomic read-modify-write of a counter in
//!   shared memory: the final count is exact, and an occupancy counter,
//!   updated atomically on every entry and exit, never saw two inside;
//! - value K > 1: the occupancy never exceeds K;
//! - producers (with `release_n` bursts) and consumers: every token produced
//!   is consumed exactly once, never before it was produced, and the final
//!   value is zero.
//!
//! Sizes: `NSEM_STRESS_ITERS` operations per process (default 4000), with
//! 8 processes. Set it higher for a long run.
// glibc's half runs through the `libc` crate, which is glibc only on -gnu
// targets (on musl it is musl's own, incompatible sem_open).
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod common;

use std::ffi::CString;
use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::time::Duration;

use common::{code, finish, spawn, took, TestName};
use named_semaphores::NamedSemaphore;

/// Processes per test: half this crate, half glibc.
const PROCESSES: usize = 8;

fn iterations() -> u64 {
    std::env::var("NSEM_STRESS_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000)
}

/// The block of shared memory every process maps.
#[repr(C)]
struct Shared {
    /// Incremented inside the critical section with a plain (volatile) load
    /// and store, not atomically: updates are lost unless the semaphore
    /// excludes.
    counter: u64,
    /// Entries completed, counted atomically (the exact total with K > 1).
    entries: AtomicU32,
    /// Processes inside the critical section now.
    inside: AtomicU32,
    /// The most ever seen inside at once.
    max_inside: AtomicU32,
    /// Entries that found the section already full.
    violations: AtomicU32,
    /// Start barrier.
    ready: AtomicU32,
    /// Tokens announced by producers (before releasing them).
    produced: AtomicU32,
    /// Tokens taken by consumers.
    consumed: AtomicU32,
    /// Consumptions that found more tokens consumed than produced.
    early: AtomicU32,
}

/// A file in /dev/shm holding a zeroed [`Shared`], mapped; the file is
/// removed when the creator's handle drops (also on panic).
struct Shm {
    ptr: *mut Shared,
    path: Option<String>,
}

const SHM_LEN: usize = 4096;

impl Shm {
    fn create(tag: &str) -> Shm {
        let path = format!("/dev/shm/nsem-test-{}-{tag}-shm", std::process::id());
        let file = std::fs::File::create(&path).expect("create shm file");
        file.set_len(SHM_LEN as u64).expect("size shm file");
        let mut shm = Shm::open(&path);
        shm.path = Some(path);
        shm
    }

    fn open(path: &str) -> Shm {
        let c = CString::new(path).unwrap();
        // SAFETY: valid C string; plain open/mmap/close of a file we own.
        unsafe {
            let fd = libc::open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
            assert!(fd >= 0, "open {path}: {}", std::io::Error::last_os_error());
            let p = libc::mmap(
                std::ptr::null_mut(),
                SHM_LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED, "mmap {path}");
            libc::close(fd);
            Shm {
                ptr: p.cast(),
                path: None,
            }
        }
    }

    fn get(&self) -> &Shared {
        // SAFETY: a live shared mapping of SHM_LEN >= size_of::<Shared>()
        // bytes, page aligned, zero-initialised (valid for every field); all
        // fields but `counter` are atomics, and `counter` is only accessed
        // through raw pointers.
        unsafe { &*self.ptr }
    }

    fn path(&self) -> &str {
        self.path.as_deref().unwrap()
    }

    /// The non-atomic increment.
    fn bump_counter(&self, iteration: u64) {
        // SAFETY: `counter` is in the live mapping; concurrent access is what
        // the test is about (it is only ever accessed with volatile loads and
        // stores of an aligned u64, which do not tear on the targets tested).
        unsafe {
            let c = std::ptr::addr_of_mut!((*self.ptr).counter);
            let v = c.read_volatile();
            if iteration % 64 == 0 {
                // Widen the window now and then: a preempted holder must not
                // let anyone else in.
                libc::sched_yield();
            } else {
                for _ in 0..20 {
                    std::hint::spin_loop();
                }
            }
            c.write_volatile(v + 1);
        }
    }

    /// Enter, bump, leave; `k` is the semaphore's capacity.
    fn critical_section(&self, k: u32, iteration: u64) {
        let s = self.get();
        let before = s.inside.fetch_add(1, SeqCst);
        if before >= k {
            s.violations.fetch_add(1, SeqCst);
        }
        s.max_inside.fetch_max(before + 1, SeqCst);
        if k == 1 {
            self.bump_counter(iteration);
        } else if iteration % 16 == 0 {
            // SAFETY: no preconditions.
            unsafe { libc::sched_yield() };
        }
        s.entries.fetch_add(1, SeqCst);
        s.inside.fetch_sub(1, SeqCst);
    }

    /// Waits until `n` processes have arrived, so that they all contend.
    fn barrier(&self, n: u32) {
        let s = self.get();
        s.ready.fetch_add(1, SeqCst);
        while s.ready.load(SeqCst) < n {
            std::thread::yield_now();
        }
    }
}

impl Drop for Shm {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `open`, not used after this.
        unsafe { libc::munmap(self.ptr.cast(), SHM_LEN) };
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A tiny deterministic generator (burst sizes, wait styles).
fn lcg(state: &mut u64) -> u64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *state >> 33
}

/// glibc's side, through `libc`.
struct Glibc(*mut libc::sem_t);

impl Glibc {
    fn open(name: &str) -> Glibc {
        let c = CString::new(format!("/{name}")).unwrap();
        // SAFETY: valid C string; oflag 0 takes no more arguments.
        let sem = unsafe { libc::sem_open(c.as_ptr(), 0) };
        assert_ne!(sem, libc::SEM_FAILED, "sem_open");
        Glibc(sem)
    }

    /// One of `sem_wait`, `sem_trywait` then `sem_wait`, `sem_timedwait`.
    fn wait(&self, style: u64) {
        loop {
            // SAFETY: `self.0` came from sem_open and stays open.
            let r = unsafe {
                match style % 3 {
                    0 => libc::sem_wait(self.0),
                    1 => {
                        if libc::sem_trywait(self.0) == 0 {
                            0
                        } else {
                            libc::sem_wait(self.0)
                        }
                    }
                    _ => {
                        let mut ts = libc::timespec {
                            tv_sec: 0,
                            tv_nsec: 0,
                        };
                        libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts);
                        ts.tv_sec += 60;
                        libc::sem_timedwait(self.0, &ts)
                    }
                }
            };
            if r == 0 {
                return;
            }
            let e = std::io::Error::last_os_error();
            assert!(
                matches!(e.raw_os_error(), Some(libc::EINTR | libc::EAGAIN)),
                "glibc wait: {e}"
            );
        }
    }

    fn post(&self) {
        // SAFETY: `self.0` came from sem_open and stays open.
        assert_eq!(unsafe { libc::sem_post(self.0) }, 0, "sem_post");
    }
}

impl Drop for Glibc {
    fn drop(&mut self) {
        // SAFETY: from sem_open, not used after this.
        unsafe { libc::sem_close(self.0) };
    }
}

/// Child roles of this test binary.
#[test]
#[ignore]
fn child() {
    let Some((role, args)) = common::role() else {
        return;
    };
    let num = |i: usize| -> u64 { args[i].parse().expect("number") };
    let (name, shm) = (&args[0], Shm::open(&args[1]));
    let mut rng = std::process::id() as u64;
    match role.as_str() {
        // args: name, shm, iterations, k, processes
        "crate-section" => {
            let sem = NamedSemaphore::open(name).expect("open");
            shm.barrier(num(4) as u32);
            for i in 0..num(2) {
                match lcg(&mut rng) % 3 {
                    // A bare `sem_wait` and `sem_post` pair.
                    0 => {
                        sem.acquire().expect("acquire").forget();
                        shm.critical_section(num(3) as u32, i);
                        sem.release().expect("release");
                    }
                    1 => {
                        let _permit = sem.acquire().expect("acquire");
                        shm.critical_section(num(3) as u32, i);
                    }
                    _ => {
                        let permit = sem
                            .acquire_timeout(Duration::from_secs(60))
                            .expect("acquire_timeout");
                        assert!(permit.is_some());
                        shm.critical_section(num(3) as u32, i);
                    }
                }
            }
        }
        "glibc-section" => {
            let sem = Glibc::open(name);
            shm.barrier(num(4) as u32);
            for i in 0..num(2) {
                sem.wait(lcg(&mut rng));
                shm.critical_section(num(3) as u32, i);
                sem.post();
            }
        }
        // args: name, shm, tokens to produce, processes
        "crate-produce" => {
            let sem = NamedSemaphore::open(name).expect("open");
            shm.barrier(num(3) as u32);
            let mut left = num(2);
            while left > 0 {
                let burst = (lcg(&mut rng) % 8 + 1).min(left);
                shm.get().produced.fetch_add(burst as u32, SeqCst);
                sem.release_n(burst as u32).expect("release_n");
                left -= burst;
                if lcg(&mut rng) % 4 == 0 {
                    std::thread::yield_now();
                }
            }
        }
        "glibc-produce" => {
            let sem = Glibc::open(name);
            shm.barrier(num(3) as u32);
            let mut left = num(2);
            while left > 0 {
                let burst = (lcg(&mut rng) % 8 + 1).min(left);
                shm.get().produced.fetch_add(burst as u32, SeqCst);
                for _ in 0..burst {
                    sem.post();
                }
                left -= burst;
                if lcg(&mut rng) % 4 == 0 {
                    std::thread::yield_now();
                }
            }
        }
        // args: name, shm, tokens to consume, processes
        "crate-consume" | "glibc-consume" => {
            let crate_sem = (role == "crate-consume").then(|| NamedSemaphore::open(name).unwrap());
            let glibc_sem = (role == "glibc-consume").then(|| Glibc::open(name));
            shm.barrier(num(3) as u32);
            for _ in 0..num(2) {
                let style = lcg(&mut rng);
                match (&crate_sem, &glibc_sem) {
                    (Some(sem), _) => match style % 3 {
                        0 => sem.acquire().expect("acquire").forget(),
                        1 => {
                            if !took(sem.try_acquire().unwrap()) {
                                sem.acquire().expect("acquire").forget();
                            }
                        }
                        _ => assert!(took(sem.acquire_timeout(Duration::from_secs(60)).unwrap())),
                    },
                    (None, Some(sem)) => sem.wait(style),
                    _ => unreachable!(),
                }
                let s = shm.get();
                let consumed = s.consumed.fetch_add(1, SeqCst) + 1;
                if consumed > s.produced.load(SeqCst) {
                    s.early.fetch_add(1, SeqCst);
                }
            }
        }
        _ => common::child_main(),
    }
    std::process::exit(common::OK);
}

/// Runs PROCESSES children, half `crate_role`, half `glibc_role`, each with
/// `args`, and checks they all finish cleanly.
fn run_mixed(roles: &[(&str, Vec<String>)]) {
    let children: Vec<_> = roles
        .iter()
        .map(|(role, args)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            spawn(role, &args)
        })
        .collect();
    for child in children {
        let out = finish(child, Duration::from_secs(300));
        assert_eq!(
            code(&out),
            common::OK,
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn section_test(k: u32, tag: &str) -> (u64, u32) {
    let name = TestName::new(tag);
    let sem = NamedSemaphore::options()
        .existence(named_semaphores::Existence::CreateNew)
        .initial_value(k)
        .unlink_on_drop(false)
        .open(&name)
        .unwrap();
    let shm = Shm::create(tag);
    let iters = iterations();
    let roles: Vec<_> = (0..PROCESSES)
        .map(|i| {
            let role = if i % 2 == 0 {
                "crate-section"
            } else {
                "glibc-section"
            };
            let args = vec![
                name.name.clone(),
                shm.path().to_owned(),
                iters.to_string(),
                k.to_string(),
                PROCESSES.to_string(),
            ];
            (role, args)
        })
        .collect();
    run_mixed(&roles);
    let s = shm.get();
    let total = iters * PROCESSES as u64;
    assert_eq!(s.violations.load(SeqCst), 0, "more than {k} inside at once");
    assert!(s.max_inside.load(SeqCst) <= k);
    assert_eq!(s.inside.load(SeqCst), 0);
    assert_eq!(u64::from(s.entries.load(SeqCst)), total);
    assert_eq!(sem.value(), k, "tokens not all returned");
    assert_eq!(sem.as_raw().waiters(), 0, "waiter count not back to 0");
    if k == 1 {
        // SAFETY: every child has exited; nothing else touches the counter.
        let counter = unsafe { std::ptr::addr_of!((*shm.ptr).counter).read_volatile() };
        assert_eq!(counter, total, "lost updates: two processes were inside");
    }
    let max = s.max_inside.load(SeqCst);
    println!("k={k}: {PROCESSES} processes x {iters} entries, at most {max} inside at once");
    (total, max)
}

#[test]
fn mutex_across_crate_and_glibc_processes() {
    let (_, max) = section_test(1, "mutex");
    assert_eq!(max, 1);
}

#[test]
fn capacity_k_across_crate_and_glibc_processes() {
    const K: u32 = 3;
    let (_, max) = section_test(K, "capk");
    // The occupancy check is live: with 8 contenders and yields inside the
    // section, more than one holder was seen at once.
    assert!(max >= 2, "occupancy never above 1 with K = {K}");
}

#[test]
fn producers_and_consumers_with_bursts() {
    let name = TestName::new("prodcons");
    let sem = NamedSemaphore::options()
        .existence(named_semaphores::Existence::CreateNew)
        .initial_value(0)
        .unlink_on_drop(false)
        .open(&name)
        .unwrap();
    let shm = Shm::create("prodcons");
    let per = iterations();
    let n = PROCESSES.to_string();
    let roles: Vec<_> = [
        "crate-produce",
        "glibc-produce",
        "crate-produce",
        "glibc-produce",
    ]
    .into_iter()
    .chain([
        "crate-consume",
        "glibc-consume",
        "crate-consume",
        "glibc-consume",
    ])
    .map(|role| {
        let args = vec![
            name.name.clone(),
            shm.path().to_owned(),
            per.to_string(),
            n.clone(),
        ];
        (role, args)
    })
    .collect();
    run_mixed(&roles);
    let s = shm.get();
    let total = per * 4;
    assert_eq!(u64::from(s.produced.load(SeqCst)), total);
    assert_eq!(u64::from(s.consumed.load(SeqCst)), total);
    assert_eq!(
        s.early.load(SeqCst),
        0,
        "a token was consumed before it was produced"
    );
    assert_eq!(sem.value(), 0, "tokens left over or missing");
    assert_eq!(sem.as_raw().waiters(), 0);
    assert!(!took(sem.try_acquire().unwrap()));
    println!("{total} tokens produced in bursts and consumed by {PROCESSES} processes");
}
