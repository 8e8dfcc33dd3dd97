//! The kill storm's participants: the crate's robust holders (forked
//! children), the C library's (the program `capi/tests/storm_holder.c`,
//! started by path), the glibc peers (this test binary in a role), and
//! waiting for them.

use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use named_semaphores::NamedSemaphore;

use super::shared::{spin, Kind, Rng, Shared};

/// A robust holder, in a forked child: loops until the storm stops. Uses
/// only the crate, atomics and `_exit`: nothing that allocates.
pub fn robust_worker(name: &str, shared: &Shared, i: u32, limit: u32) -> ! {
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
        shared.enter(i, limit, Kind::Crate);
        // Sometimes a second token, held through the same work.
        let second = if rng.next(4) == 0 {
            sem.try_acquire().ok().flatten()
        } else {
            None
        };
        if second.is_some() {
            shared.enter(i, limit, Kind::Crate);
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
pub fn glibc_peer(name: &str, shared: &Shared, i: u32, limit: u32) {
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
        shared.enter(i, limit, Kind::Glibc);
        spin(rng.next(2_000));
        shared.leave(i);
        // SAFETY: `sem` came from sem_open.
        assert_eq!(unsafe { libc::sem_post(sem) }, 0);
    }
    // SAFETY: `sem` came from sem_open and is not used again.
    unsafe { libc::sem_close(sem) };
}

/// Forks a robust worker.
pub fn fork_worker(name: &str, shared: &Shared, i: u32, limit: u32) -> libc::pid_t {
    // SAFETY: the child runs only `robust_worker`, which does not allocate
    // or take locks another thread of this process could hold.
    match unsafe { libc::fork() } {
        -1 => panic!("fork: {}", std::io::Error::last_os_error()),
        0 => robust_worker(name, shared, i, limit),
        pid => pid,
    }
}

/// Waits for `pid`; with `stopped`, until it has stopped.
pub fn wait_pid(pid: libc::pid_t, stopped: bool) -> i32 {
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

/// The C library's storm holder, named by NSEM_STORM_C_HOLDER.
pub fn c_holder_program() -> String {
    let path = std::env::var("NSEM_STORM_C_HOLDER").unwrap_or_default();
    assert!(
        !path.is_empty() && std::path::Path::new(&path).is_file(),
        "NSEM_STORM_C_HOLDER must name the C storm holder (capi/tests/storm_holder.c, \
         built by ci/capi.sh), got {path:?}"
    );
    path
}

/// Starts a C holder (the program `c_holder`) as participant `i`, and
/// returns its PID: the storm reaps it with `waitpid` ([`wait_pid`]), not
/// through the `Child`.
#[allow(clippy::zombie_processes)] // reaped by pid, with waitpid
pub fn spawn_c_holder(c_holder: &str, name: &str, state: &str, i: u32, limit: u32) -> libc::pid_t {
    let child = std::process::Command::new(c_holder)
        .args([name, state, &i.to_string(), &limit.to_string()])
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("spawn the C holder");
    child.id() as libc::pid_t
}
