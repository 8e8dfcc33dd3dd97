//! Processes and CPUs: pinning to a CPU and back, the CPUs the process may
//! use, forked children (started, seen asleep and reaped), the process's
//! sleeps, and [`SharedCounter`], a counter in shared memory that forked
//! children see.

use std::time::{Duration, Instant};

/// Pins the calling thread (or process) to the `nth` CPU it may use.
pub fn pin(nth: usize) {
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

/// [`START_AFFINITY`], read on first use.
pub fn start_affinity() -> &'static (libc::cpu_set_t, usize) {
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
pub fn unpin() {
    let set = &start_affinity().0;
    // SAFETY: `set` is a valid cpu_set_t of the size passed.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
}

/// CPUs this process may use (as it started).
pub fn cpus() -> usize {
    start_affinity().1
}

/// Runs `body` in `count` forked children (each gets its index) and returns
/// their pids, for [`reap`]; a child whose `body` panics exits with status 1.
/// The caller must have no other threads running.
pub fn in_children(count: usize, body: impl Fn(usize)) -> Vec<libc::pid_t> {
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

/// Waits for every child in `pids`; panics if one of them failed.
pub fn reap(pids: Vec<libc::pid_t>) {
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

/// Waits until the process `pid` sleeps (state `S` in `/proc/PID/stat`);
/// panics after 30 s.
pub fn wait_asleep(pid: libc::pid_t) {
    let path = format!("/proc/{pid}/stat");
    let limit = Instant::now() + Duration::from_secs(30);
    loop {
        let stat = std::fs::read_to_string(&path).expect("read the child's stat");
        // The state follows the command name, which is in brackets and may
        // hold anything.
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if state == Some('S') {
            return;
        }
        assert!(Instant::now() < limit, "process {pid} never slept");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// How often the calling process has gone to sleep so far: its voluntary
/// context switches.
pub fn sleeps() -> u64 {
    // SAFETY: a zeroed rusage is a valid out-buffer for getrusage to fill.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut usage), 0);
        usage
    };
    usage.ru_nvcsw as u64
}

/// A `u64` counter in anonymous shared memory, visible to forked children.
pub struct SharedCounter(pub *mut u64);

// SAFETY: the counter is only touched under the benchmark's own mutex
// (the semaphore being measured) or after every writer has finished.
unsafe impl Sync for SharedCounter {}
// SAFETY: as above.
unsafe impl Send for SharedCounter {}

impl SharedCounter {
    /// A zeroed counter on a fresh page.
    pub fn new() -> Self {
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
    pub fn bump(&self) {
        // SAFETY: the pointer is valid for the mapping's lifetime; callers
        // hold the semaphore, so no other writer runs concurrently.
        unsafe {
            let v = std::ptr::read_volatile(self.0);
            std::ptr::write_volatile(self.0, v + 1);
        }
    }

    /// The value, read when no writer runs.
    pub fn get(&self) -> u64 {
        // SAFETY: the pointer is valid; called when no writer runs.
        unsafe { std::ptr::read_volatile(self.0) }
    }

    /// Sets the value (to start a gate or stop the hogs), when no writer runs.
    pub fn set(&self, v: u64) {
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
