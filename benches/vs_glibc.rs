//! Side-by-side benchmarks: this crate against glibc's `sem_*` (through the
//! `libc` crate), in the same process and the same run.
//!
//! ```text
//! cargo bench --bench vs_glibc                    # the full measurement
//! cargo bench --bench vs_glibc -- --quick         # a smoke run: proves every case runs
//! cargo bench --bench vs_glibc -- --runs 9 pingpong   # more runs, cases whose name contains "pingpong"
//! ```
//!
//! Every case is run `--runs` times (default 7), alternating crate and glibc
//! within each run so that both see the same machine load. The table gives
//! the median of the runs for each side, the spread (min..max) and the ratio
//! of the medians, crate / glibc, in the case's own unit: for times, lower is
//! better and a ratio below 1 means the crate is faster; for throughputs
//! (`/s`), higher is better and a ratio above 1 means the crate is faster.
//!
//! Both sides use named semaphores (`/dev/shm/sem.NAME`): `NamedSemaphore`
//! for the crate, `sem_open` for glibc. Every name is unique to this process
//! and removed at the end, also when a case panics.

use std::ffi::CString;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use named_semaphores::{NamedSemaphore, RawSemaphore};

// ---------------------------------------------------------------------------
// The two implementations behind one interface.

/// One semaphore, of either kind, usable from any thread and (being a
/// `MAP_SHARED` mapping) from a forked child.
trait Sem: Sync {
    fn acquire(&self);
    fn try_acquire(&self) -> bool;
    /// Waits at most `timeout`; true if a token came.
    fn acquire_timeout(&self, timeout: Duration) -> bool;
    fn release(&self);
    /// `n` tokens: one call for the crate, `n` posts for glibc.
    fn release_n(&self, n: u32);
    /// Registered waiters, read from the `sem_t` image.
    fn waiters(&self) -> u32;
}

impl Sem for NamedSemaphore {
    #[inline]
    fn acquire(&self) {
        NamedSemaphore::acquire(self).expect("acquire");
    }
    #[inline]
    fn try_acquire(&self) -> bool {
        NamedSemaphore::try_acquire(self).expect("try_acquire")
    }
    fn acquire_timeout(&self, timeout: Duration) -> bool {
        NamedSemaphore::acquire_timeout(self, timeout).expect("acquire_timeout")
    }
    #[inline]
    fn release(&self) {
        NamedSemaphore::release(self).expect("release");
    }
    fn release_n(&self, n: u32) {
        NamedSemaphore::release_n(self, n).expect("release_n");
    }
    fn waiters(&self) -> u32 {
        self.as_raw().waiters()
    }
}

/// A glibc semaphore from `sem_open`, closed on drop.
struct Glibc(*mut libc::sem_t);

// SAFETY: a `sem_t` from sem_open is meant to be used from every thread of
// the process; glibc's sem_* functions are thread-safe.
unsafe impl Sync for Glibc {}
// SAFETY: as above; the pointer may be closed from any thread.
unsafe impl Send for Glibc {}

impl Glibc {
    fn open(name: &str, flags: libc::c_int, value: u32) -> Glibc {
        let c = CString::new(format!("/{name}")).expect("name");
        // SAFETY: `c` is a valid C string; with O_CREAT, sem_open takes a mode
        // and a value, passed with the C default argument promotions.
        let sem = unsafe {
            libc::sem_open(
                c.as_ptr(),
                flags,
                0o600 as libc::c_uint,
                value as libc::c_uint,
            )
        };
        assert_ne!(
            sem,
            libc::SEM_FAILED,
            "sem_open: {}",
            std::io::Error::last_os_error()
        );
        Glibc(sem)
    }
}

impl Drop for Glibc {
    fn drop(&mut self) {
        // SAFETY: the pointer came from sem_open and is not used after this.
        unsafe { libc::sem_close(self.0) };
    }
}

impl Sem for Glibc {
    #[inline]
    fn acquire(&self) {
        // SAFETY: the pointer came from sem_open and is open.
        while unsafe { libc::sem_wait(self.0) } != 0 {
            assert_eq!(errno(), libc::EINTR, "sem_wait");
        }
    }
    #[inline]
    fn try_acquire(&self) -> bool {
        // SAFETY: the pointer came from sem_open and is open.
        unsafe { libc::sem_trywait(self.0) == 0 }
    }
    fn acquire_timeout(&self, timeout: Duration) -> bool {
        // sem_timedwait takes an absolute CLOCK_REALTIME deadline.
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        let nsec = ts.tv_nsec as u64 + u64::from(timeout.subsec_nanos());
        ts.tv_sec += (timeout.as_secs() + nsec / 1_000_000_000) as libc::time_t;
        ts.tv_nsec = (nsec % 1_000_000_000) as _;
        loop {
            // SAFETY: the pointer came from sem_open; `ts` is valid.
            if unsafe { libc::sem_timedwait(self.0, &ts) } == 0 {
                return true;
            }
            match errno() {
                libc::EINTR => {}
                libc::ETIMEDOUT => return false,
                e => panic!("sem_timedwait: errno {e}"),
            }
        }
    }
    #[inline]
    fn release(&self) {
        // SAFETY: the pointer came from sem_open and is open.
        assert_eq!(unsafe { libc::sem_post(self.0) }, 0, "sem_post");
    }
    fn release_n(&self, n: u32) {
        for _ in 0..n {
            self.release();
        }
    }
    fn waiters(&self) -> u32 {
        // The crate reads glibc's image the same way: its `sem_t` layout is
        // glibc's on this target.
        // SAFETY: a sem_t is RawSemaphore::SIZE bytes with the alignment of its
        // atomics, and RawSemaphore is a transparent view of those bytes that
        // only reads them atomically.
        let raw = unsafe { &*self.0.cast::<RawSemaphore>() };
        raw.waiters()
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

// ---------------------------------------------------------------------------
// Names, processes, CPUs.

/// Every name this run made, removed at exit and on panic.
struct Names {
    list: std::sync::Mutex<Vec<String>>,
    counter: AtomicU32,
}

static NAMES: Names = Names {
    list: std::sync::Mutex::new(Vec::new()),
    counter: AtomicU32::new(0),
};

impl Names {
    fn fresh(&self, tag: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("nsem-bench-{}-{tag}-{n}", std::process::id());
        self.list.lock().unwrap().push(name.clone());
        name
    }

    fn remove_all(&self) {
        let list = std::mem::take(&mut *self.list.lock().unwrap_or_else(|e| e.into_inner()));
        for name in list {
            let _ = std::fs::remove_file(format!("/dev/shm/sem.{name}"));
        }
    }
}

/// Removes every bench semaphore file when dropped (panics included).
struct Cleanup;

impl Drop for Cleanup {
    fn drop(&mut self) {
        NAMES.remove_all();
    }
}

/// A crate semaphore with a fresh name, its file removed by the `Names` list.
fn crate_sem(tag: &str, value: u32) -> NamedSemaphore {
    NamedSemaphore::options()
        .initial_value(value)
        .existence(named_semaphores::Existence::CreateNew)
        .unlink_on_drop(false)
        .open(NAMES.fresh(tag))
        .expect("create")
}

fn glibc_sem(tag: &str, value: u32) -> Glibc {
    Glibc::open(&NAMES.fresh(tag), libc::O_CREAT | libc::O_EXCL, value)
}

/// Pins the calling thread (or process) to the `nth` CPU it may use.
fn pin(nth: usize) {
    let allowed = &start_affinity().0;
    let Some(cpu) = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: CPU_ISSET reads inside a valid set.
        .filter(|&c| unsafe { libc::CPU_ISSET(c, allowed) })
        .nth(nth)
    else {
        return;
    };
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        // Best effort: if it fails, the case runs unpinned.
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The affinity the process started with, and how many CPUs it allows.
static START_AFFINITY: std::sync::OnceLock<(libc::cpu_set_t, usize)> = std::sync::OnceLock::new();

fn start_affinity() -> &'static (libc::cpu_set_t, usize) {
    START_AFFINITY.get_or_init(|| {
        // SAFETY: a zeroed cpu_set_t is a valid empty set for the kernel to fill.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_getaffinity(0, size, &mut set) != 0 {
                for cpu in 0..libc::CPU_SETSIZE as usize {
                    libc::CPU_SET(cpu, &mut set);
                }
            }
            let count = libc::CPU_COUNT(&set) as usize;
            (set, count.max(1))
        }
    })
}

/// Lets the calling thread run on every CPU it started with again.
fn unpin() {
    let set = &start_affinity().0;
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
}

/// CPUs this process may use (as it started).
fn cpus() -> usize {
    start_affinity().1
}

/// Runs `body` in `count` forked children (each gets its index) and waits
/// for all of them; panics if any fails. The caller must have no other
/// threads running.
fn in_children(count: usize, body: impl Fn(usize)) -> Vec<libc::pid_t> {
    let mut pids = Vec::new();
    for i in 0..count {
        // SAFETY: the benchmark is single-threaded whenever it forks; the
        // child runs `body` and leaves with _exit, never returning into the
        // parent's code.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(i))).is_ok();
            // SAFETY: leaves the child at once, running no destructors or
            // atexit handlers of the parent's state (such as name cleanup).
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        pids.push(pid);
    }
    pids
}

fn reap(pids: Vec<libc::pid_t>) {
    for pid in pids {
        let mut status = 0;
        // SAFETY: `pid` is our child; `status` is a valid out-pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(r, pid, "waitpid");
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "child failed: status {status:#x}"
        );
    }
}

/// A `u64` counter in anonymous shared memory, visible to forked children.
struct SharedCounter(*mut u64);

// SAFETY: the counter is only touched under the benchmark's own mutex
// (the semaphore being measured) or after every writer has finished.
unsafe impl Sync for SharedCounter {}
// SAFETY: as above.
unsafe impl Send for SharedCounter {}

impl SharedCounter {
    fn new() -> Self {
        // SAFETY: a fresh anonymous shared mapping of one page.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "mmap");
        SharedCounter(p.cast())
    }

    /// The critical section: a non-atomic read-modify-write, which loses
    /// increments unless the semaphore really excludes.
    #[inline]
    fn bump(&self) {
        // SAFETY: the pointer is valid for the mapping's lifetime; callers
        // hold the semaphore, so no other writer runs concurrently.
        unsafe {
            let v = std::ptr::read_volatile(self.0);
            std::ptr::write_volatile(self.0, v + 1);
        }
    }

    fn get(&self) -> u64 {
        // SAFETY: the pointer is valid; called when no writer runs.
        unsafe { std::ptr::read_volatile(self.0) }
    }

    fn set(&self, v: u64) {
        // SAFETY: as for `get`.
        unsafe { std::ptr::write_volatile(self.0, v) }
    }
}

impl Drop for SharedCounter {
    fn drop(&mut self) {
        // SAFETY: unmaps the page mapped in `new`; no reference outlives self.
        unsafe { libc::munmap(self.0.cast(), 4096) };
    }
}

// ---------------------------------------------------------------------------
// Measurement.

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    /// Nanoseconds per operation; lower is better.
    Nanos,
    /// Microseconds; lower is better.
    Micros,
    /// Operations per second; higher is better.
    PerSec,
}

impl Unit {
    fn label(self) -> &'static str {
        match self {
            Unit::Nanos => "ns",
            Unit::Micros => "us",
            Unit::PerSec => "/s",
        }
    }
}

struct Config {
    runs: usize,
    quick: bool,
    filter: Vec<String>,
}

impl Config {
    /// `full` iterations normally; a small fraction in a quick run.
    fn iters(&self, full: u64) -> u64 {
        if self.quick {
            (full / 100).max(10)
        } else {
            full
        }
    }
}

struct Report {
    rows: Vec<String>,
}

impl Report {
    fn row(&mut self, case: &str, unit: Unit, crate_runs: &mut [f64], glibc_runs: &mut [f64]) {
        let (c, g) = (median(crate_runs), median(glibc_runs));
        let ratio = c / g;
        let prec = if unit == Unit::PerSec { 0 } else { 1 };
        let spread = |runs: &[f64]| {
            format!(
                "{:.*}..{:.*}",
                prec,
                runs.iter().copied().fold(f64::INFINITY, f64::min),
                prec,
                runs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            )
        };
        let line = format!(
            "| {case} | {c:.prec$} {u} ({cs}) | {g:.prec$} {u} ({gs}) | {ratio:.2} |",
            u = unit.label(),
            cs = spread(crate_runs),
            gs = spread(glibc_runs),
        );
        println!("{line}");
        self.rows.push(line);
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Runs `crate_run` and `glibc_run` alternately `cfg.runs` times and adds a
/// row with their medians. Which side goes first alternates too.
fn compare(
    cfg: &Config,
    report: &mut Report,
    case: &str,
    unit: Unit,
    mut crate_run: impl FnMut() -> f64,
    mut glibc_run: impl FnMut() -> f64,
) {
    let mut turn = 0;
    compare_both(cfg, report, case, unit, || {
        turn += 1;
        in_turn(turn, &mut crate_run, &mut glibc_run)
    });
}

/// [`compare`] for a measurement that yields both sides' figures of one run
/// at once, `(crate, glibc)`.
fn compare_both(
    cfg: &Config,
    report: &mut Report,
    case: &str,
    unit: Unit,
    mut both: impl FnMut() -> (f64, f64),
) {
    if !cfg.filter.is_empty() && !cfg.filter.iter().any(|f| case.contains(f.as_str())) {
        return;
    }
    // One untimed warm-up of each side.
    both();
    let (mut c, mut g) = (Vec::new(), Vec::new());
    for _ in 0..cfg.runs {
        let (crate_figure, glibc_figure) = both();
        c.push(crate_figure);
        g.push(glibc_figure);
    }
    report.row(case, unit, &mut c, &mut g);
}

/// Runs both sides once, the crate's first on odd turns and glibc's first on
/// even ones, so that neither side always runs on the machine the other left.
fn in_turn<C, G>(
    turn: usize,
    crate_side: impl FnOnce() -> C,
    glibc_side: impl FnOnce() -> G,
) -> (C, G) {
    if turn % 2 == 1 {
        let c = crate_side();
        (c, glibc_side())
    } else {
        let g = glibc_side();
        (crate_side(), g)
    }
}

fn nanos_per(iters: u64, elapsed: Duration) -> f64 {
    elapsed.as_nanos() as f64 / iters as f64
}

// ---------------------------------------------------------------------------
// The cases.

/// Case 1: Uncontended acquire + release, one thread: ns per pair.
fn uncontended(sem: &dyn Sem, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        black_box(sem).acquire();
        black_box(sem).release();
    }
    nanos_per(iters, start.elapsed())
}

/// Case 2: try_acquire on a zero semaphore: ns per failed attempt.
fn try_zero(sem: &dyn Sem, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        assert!(!black_box(sem).try_acquire());
    }
    nanos_per(iters, start.elapsed())
}

/// Case 3: Ping-pong between this process and a forked child over two
/// semaphores: µs per round trip. `placement` pins the two processes.
fn ping_pong(ping: &dyn Sem, pong: &dyn Sem, iters: u64, placement: Placement) -> f64 {
    let warm = match placement {
        Placement::Moved { warm } => warm,
        _ => 0,
    };
    let answer = |rounds| {
        for _ in 0..rounds {
            ping.acquire();
            pong.release();
        }
    };
    let call = |rounds| {
        for _ in 0..rounds {
            ping.release();
            pong.acquire();
        }
    };
    let pids = in_children(1, |_| {
        if warm > 0 {
            pin(0);
            answer(warm);
        }
        placement.pin_child();
        answer(iters);
    });
    if warm > 0 {
        pin(0);
        call(warm);
    }
    placement.pin_parent();
    let start = Instant::now();
    call(iters);
    let elapsed = start.elapsed();
    unpin();
    reap(pids);
    elapsed.as_nanos() as f64 / iters as f64 / 1000.0
}

#[derive(Clone, Copy)]
enum Placement {
    /// Parent on CPU 0, child on CPU 1.
    OwnCores,
    /// Both on CPU 0: two runnable processes for one core.
    OneCore,
    /// Not pinned (used with background load).
    Free,
    /// `warm` untimed round trips with both on CPU 0, then parent on CPU 0
    /// and child on CPU 1: how soon the spin, shrunk to its floor on one
    /// core, pays again.
    Moved { warm: u64 },
}

impl Placement {
    fn pin_parent(self) {
        match self {
            Placement::OwnCores | Placement::OneCore | Placement::Moved { .. } => pin(0),
            Placement::Free => {}
        }
    }
    fn pin_child(self) {
        match self {
            Placement::OwnCores | Placement::Moved { .. } => pin(1),
            Placement::OneCore => pin(0),
            Placement::Free => {}
        }
    }
}

/// Busy processes that keep every CPU oversubscribed while they live.
struct Hogs(Vec<libc::pid_t>, SharedCounter);

impl Hogs {
    fn start(count: usize) -> Hogs {
        let stop = SharedCounter::new();
        let flag = stop.0 as usize;
        let pids = in_children(count, move |_| {
            // SAFETY: the page stays mapped in the child for its lifetime.
            let p = flag as *const u64;
            // SAFETY: as above; the parent writes it once to stop us.
            while unsafe { std::ptr::read_volatile(p) } == 0 {
                std::hint::spin_loop();
            }
        });
        Hogs(pids, stop)
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.1.set(1);
        reap(std::mem::take(&mut self.0));
    }
}

/// Case 4: `workers` threads, each taking the value-1 semaphore `per_worker`
/// times around a non-atomic increment: acquisitions per second.
fn contended_threads(sem: &dyn Sem, workers: usize, per_worker: u64) -> f64 {
    let counter = SharedCounter::new();
    let go = AtomicBool::new(false);
    let start = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    while !go.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                    for _ in 0..per_worker {
                        sem.acquire();
                        counter.bump();
                        sem.release();
                    }
                })
            })
            .collect();
        let start = Instant::now();
        go.store(true, Ordering::Release);
        for h in handles {
            h.join().expect("worker");
        }
        start
    });
    let elapsed = start.elapsed();
    let total = workers as u64 * per_worker;
    assert_eq!(counter.get(), total, "the semaphore did not exclude");
    total as f64 / elapsed.as_secs_f64()
}

/// Case 4: The same with `workers` forked processes.
fn contended_processes(sem: &dyn Sem, workers: usize, per_worker: u64) -> f64 {
    let counter = SharedCounter::new();
    let gate = SharedCounter::new();
    let gate_addr = gate.0 as usize;
    let pids = in_children(workers, |_| {
        let p = gate_addr as *const u64;
        // SAFETY: the page stays mapped for the child's lifetime.
        while unsafe { std::ptr::read_volatile(p) } == 0 {
            std::hint::spin_loop();
        }
        for _ in 0..per_worker {
            sem.acquire();
            counter.bump();
            sem.release();
        }
    });
    let start = Instant::now();
    gate.set(1);
    reap(pids);
    let elapsed = start.elapsed();
    let total = workers as u64 * per_worker;
    assert_eq!(counter.get(), total, "the semaphore did not exclude");
    total as f64 / elapsed.as_secs_f64()
}

/// Case 5: 64 threads blocked on a zero semaphore; one `release_n(64)` (or 64
/// posts) and the time until every one of them has returned: µs, median of
/// `rounds`.
fn wake_64(sem: &(dyn Sem + Sync), rounds: usize) -> f64 {
    const N: u32 = 64;
    let mut times = Vec::new();
    for _ in 0..rounds {
        let running = AtomicU32::new(0);
        let elapsed = std::thread::scope(|s| {
            for _ in 0..N {
                s.spawn(|| {
                    sem.acquire();
                    running.fetch_add(1, Ordering::Release);
                });
            }
            // Every waiter registered, then a moment to be asleep in the kernel.
            let limit = Instant::now() + Duration::from_secs(30);
            while sem.waiters() < N {
                assert!(Instant::now() < limit, "waiters never blocked");
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(Duration::from_millis(2));
            let start = Instant::now();
            sem.release_n(N);
            while running.load(Ordering::Acquire) < N {
                std::hint::spin_loop();
            }
            start.elapsed()
        });
        times.push(elapsed.as_nanos() as f64 / 1000.0);
    }
    median(&mut times)
}

/// Case 6a: Open an existing semaphore and close it: µs per pair.
fn open_close_crate(name: &str, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        drop(black_box(NamedSemaphore::open(name).expect("open")));
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}

fn open_close_glibc(name: &str, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        drop(black_box(Glibc::open(name, 0, 0)));
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}

/// Case 6a, as used: open, one `try_acquire` (the first touch of the
/// mapping), close: µs per round. The crate reads the header at open, so it
/// takes the mapping's page fault inside `open`; glibc takes it at first use.
fn open_use_close<S: Sem>(open: impl Fn() -> S, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let sem = open();
        black_box(sem.try_acquire());
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}

/// Case 6b: Create a new semaphore and unlink it: µs per pair.
fn create_unlink_crate(name: &str, iters: u64) -> f64 {
    let start = Instant::now();
    for _ in 0..iters {
        let sem = NamedSemaphore::create(name, 0).expect("create");
        sem.unlink().expect("unlink");
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}

fn create_unlink_glibc(name: &str, iters: u64) -> f64 {
    let c = CString::new(format!("/{name}")).expect("name");
    let start = Instant::now();
    for _ in 0..iters {
        let sem = Glibc::open(name, libc::O_CREAT | libc::O_EXCL, 0);
        // SAFETY: valid C string.
        assert_eq!(unsafe { libc::sem_unlink(c.as_ptr()) }, 0, "sem_unlink");
        drop(sem);
    }
    nanos_per(iters, start.elapsed()) / 1000.0
}

/// Case 7: How late a 1 ms timed acquire on a zero semaphore returns, in µs,
/// sorted: `samples` waits on each side. The two sides take turns, one wait
/// each (in alternating order), so that a disturbance of the machine (the
/// only source of the tail) falls on both alike rather than on whichever side
/// happened to be running at the time.
fn lateness(crate_sem: &dyn Sem, glibc_sem: &dyn Sem, samples: usize) -> (Vec<f64>, Vec<f64>) {
    let timeout = Duration::from_millis(1);
    let late = |sem: &dyn Sem| {
        let start = Instant::now();
        assert!(!sem.acquire_timeout(timeout));
        let took = start.elapsed();
        assert!(took >= timeout, "returned early: {took:?}");
        (took - timeout).as_nanos() as f64 / 1000.0
    };
    let (mut c, mut g): (Vec<f64>, Vec<f64>) = (1..=samples)
        .map(|turn| in_turn(turn, || late(crate_sem), || late(glibc_sem)))
        .unzip();
    c.sort_by(f64::total_cmp);
    g.sort_by(f64::total_cmp);
    (c, g)
}

fn percentile(sorted: &[f64], pct: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * pct / 100.0).round() as usize;
    sorted[i]
}

// ---------------------------------------------------------------------------

fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} CPUs, {model}; load average {}",
        cpus(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

fn main() {
    let mut cfg = Config {
        runs: 7,
        quick: false,
        filter: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => {}
            "--quick" => cfg.quick = true,
            "--runs" => {
                cfg.runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .expect("--runs N")
            }
            f if !f.starts_with('-') => cfg.filter.push(f.to_owned()),
            other => panic!("unknown option {other}"),
        }
    }
    if cfg.quick {
        cfg.runs = cfg.runs.min(1);
    }
    let _cleanup = Cleanup;
    start_affinity();
    let started = Instant::now();
    println!("machine: {}", machine());
    println!(
        "runs per case: {}{}; figures are medians (min..max) of the runs",
        cfg.runs,
        if cfg.quick {
            " (quick: tiny iteration counts, figures meaningless)"
        } else {
            ""
        }
    );
    println!();
    println!("| case | crate | glibc | crate/glibc |");
    println!("|---|---|---|---|");
    let mut report = Report { rows: Vec::new() };
    let r = &mut report;

    // 1, 2.
    let (cs, gs) = (crate_sem("uncontended", 1), glibc_sem("uncontended", 1));
    let n = cfg.iters(20_000_000);
    compare(
        &cfg,
        r,
        "1 acquire+release, uncontended",
        Unit::Nanos,
        || uncontended(&cs, n),
        || uncontended(&gs, n),
    );
    let (cz, gz) = (crate_sem("zero", 0), glibc_sem("zero", 0));
    compare(
        &cfg,
        r,
        "2 try_acquire on zero",
        Unit::Nanos,
        || try_zero(&cz, n),
        || try_zero(&gz, n),
    );

    // 3.
    let (c1, c2) = (crate_sem("ping", 0), crate_sem("pong", 0));
    let (g1, g2) = (glibc_sem("ping", 0), glibc_sem("pong", 0));
    let n = cfg.iters(30_000);
    if cpus() >= 2 {
        compare(
            &cfg,
            r,
            "3 ping-pong round trip, own cores",
            Unit::Micros,
            || ping_pong(&c1, &c2, n, Placement::OwnCores),
            || ping_pong(&g1, &g2, n, Placement::OwnCores),
        );
        let moved = Placement::Moved {
            warm: cfg.iters(20_000),
        };
        compare(
            &cfg,
            r,
            "3 ping-pong round trip, own cores after one core",
            Unit::Micros,
            || ping_pong(&c1, &c2, n, moved),
            || ping_pong(&g1, &g2, n, moved),
        );
    }
    let n = cfg.iters(50_000);
    compare(
        &cfg,
        r,
        "3 ping-pong round trip, both on one core",
        Unit::Micros,
        || ping_pong(&c1, &c2, n, Placement::OneCore),
        || ping_pong(&g1, &g2, n, Placement::OneCore),
    );
    compare(
        &cfg,
        r,
        &format!("3 ping-pong round trip, {} busy processes beside", cpus()),
        Unit::Micros,
        || {
            let _h = Hogs::start(cpus());
            ping_pong(&c1, &c2, n, Placement::Free)
        },
        || {
            let _h = Hogs::start(cpus());
            ping_pong(&g1, &g2, n, Placement::Free)
        },
    );

    // 4.
    let (cm, gm) = (crate_sem("mutex", 1), glibc_sem("mutex", 1));
    for threads in [2, 4, 8] {
        let per = cfg.iters(1_600_000) / threads as u64;
        compare(
            &cfg,
            r,
            &format!("4 contended, {threads} threads"),
            Unit::PerSec,
            || contended_threads(&cm, threads, per),
            || contended_threads(&gm, threads, per),
        );
    }
    for procs in [2, 4] {
        let per = cfg.iters(1_600_000) / procs as u64;
        compare(
            &cfg,
            r,
            &format!("4 contended, {procs} processes"),
            Unit::PerSec,
            || contended_processes(&cm, procs, per),
            || contended_processes(&gm, procs, per),
        );
    }

    // 5.
    let rounds = if cfg.quick { 2 } else { 15 };
    compare(
        &cfg,
        r,
        "5 wake 64 blocked waiters (release_n(64) / 64 sem_post)",
        Unit::Micros,
        || wake_64(&cz, rounds),
        || wake_64(&gz, rounds),
    );

    // 6.
    let existing = NAMES.fresh("existing");
    drop(
        NamedSemaphore::options()
            .initial_value(0)
            .existence(named_semaphores::Existence::CreateNew)
            .unlink_on_drop(false)
            .open(&existing)
            .expect("create"),
    );
    let n = cfg.iters(30_000);
    compare(
        &cfg,
        r,
        "6 open existing + close",
        Unit::Micros,
        || open_close_crate(&existing, n),
        || open_close_glibc(&existing, n),
    );
    // The semaphore holds no token, so the try_acquire changes nothing.
    compare(
        &cfg,
        r,
        "6 open existing + try_acquire + close",
        Unit::Micros,
        || open_use_close(|| NamedSemaphore::open(&existing).expect("open"), n),
        || open_use_close(|| Glibc::open(&existing, 0, 0), n),
    );
    let fresh = NAMES.fresh("fresh");
    let n = cfg.iters(15_000);
    compare(
        &cfg,
        r,
        "6 create new + unlink",
        Unit::Micros,
        || create_unlink_crate(&fresh, n),
        || create_unlink_glibc(&fresh, n),
    );

    // 7.
    let samples = if cfg.quick { 20 } else { 500 };
    for (label, pct) in [("p50", 50.0), ("p99", 99.0)] {
        compare_both(
            &cfg,
            r,
            &format!("7 1 ms timed acquire: lateness {label}"),
            Unit::Micros,
            || {
                let (c, g) = lateness(&cz, &gz, samples);
                (percentile(&c, pct), percentile(&g, pct))
            },
        );
    }

    drop((cs, gs, cz, gz, c1, c2, g1, g2, cm, gm));
    println!();
    println!(
        "{} cases in {:.1} s; machine after: {}",
        report.rows.len(),
        started.elapsed().as_secs_f64(),
        machine()
    );
}
