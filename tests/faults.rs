//! Faults: processes killed (SIGKILL) while blocked and while holding a
//! permit, and signal storms during `acquire` and `acquire_timeout`.
// Its killed waiters include glibc peers through the `libc` crate, which is
// glibc only on -gnu targets; on musl this file is not built (see the
// README's platform table).
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod common;

use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{code, finish, spawn, took, wait_until, TestName};
use named_semaphores::{Existence, NamedSemaphore, RawSemaphore};

const LIMIT: Duration = Duration::from_secs(30);

fn create(name: &TestName, value: u32) -> NamedSemaphore {
    NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .initial_value(value)
        .unlink_on_drop(false)
        .open(name)
        .unwrap()
}

fn glibc_open(name: &str) -> *mut libc::sem_t {
    let c = CString::new(format!("/{name}")).unwrap();
    // SAFETY: valid C string; oflag 0 takes no more arguments.
    let sem = unsafe { libc::sem_open(c.as_ptr(), 0) };
    assert_ne!(sem, libc::SEM_FAILED, "sem_open");
    sem
}

fn glibc_wait(sem: *mut libc::sem_t) {
    // SAFETY: `sem` came from sem_open.
    while unsafe { libc::sem_wait(sem) } != 0 {
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR)
        );
    }
}

/// Child roles of this test binary.
#[test]
#[ignore]
fn child() {
    let Ok(role) = std::env::var("NSEM_ROLE") else {
        return;
    };
    let name = std::env::var("NSEM_ARGS").unwrap_or_default();
    match role.as_str() {
        // Block until a token comes, then exit.
        "crate-wait" => NamedSemaphore::open(&name)
            .unwrap()
            .acquire()
            .unwrap()
            .forget(),
        "glibc-wait" => glibc_wait(glibc_open(&name)),
        // Take a token and keep it until killed.
        "crate-hold" => {
            let sem = NamedSemaphore::open(&name).unwrap();
            let permit = sem.acquire().unwrap();
            thread::sleep(Duration::from_secs(600));
            drop(permit);
        }
        "glibc-hold" => {
            glibc_wait(glibc_open(&name));
            thread::sleep(Duration::from_secs(600));
        }
        _ => common::child_main(),
    }
    std::process::exit(common::OK);
}

fn kill(mut child: std::process::Child) {
    child.kill().expect("SIGKILL");
    let status = child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

/// Waiters (this crate's and glibc's) killed while blocked leave their
/// registration behind, as glibc's do. The survivors still get their tokens,
/// new waiters still block and wake, and the stale count only makes every
/// later release issue a wake-up call that finds nobody.
#[test]
fn sigkill_blocked_waiters() {
    let name = TestName::new("killwait");
    let sem = create(&name, 0);
    let crate_a = spawn("crate-wait", &[&name]);
    let crate_b = spawn("crate-wait", &[&name]);
    let glibc_a = spawn("glibc-wait", &[&name]);
    let glibc_b = spawn("glibc-wait", &[&name]);
    wait_until("4 blocked waiters", LIMIT, || sem.as_raw().waiters() == 4);

    kill(crate_a);
    kill(glibc_a);
    // Nothing unregisters the dead: the count is stale by two.
    assert_eq!(sem.as_raw().waiters(), 4);
    assert_eq!(sem.value(), 0);

    // The survivors get the two tokens.
    sem.release_n(2).unwrap();
    for child in [crate_b, glibc_b] {
        assert_eq!(code(&finish(child, LIMIT)), common::OK);
    }
    assert_eq!(sem.value(), 0);
    assert_eq!(sem.as_raw().waiters(), 2, "stale registrations stay");

    // It keeps working: releases with nobody asleep, fast-path takes, and a
    // new waiter from each side that blocks and is woken.
    sem.release().unwrap();
    assert_eq!(sem.value(), 1);
    assert!(took(sem.try_acquire().unwrap()));
    for role in ["crate-wait", "glibc-wait"] {
        let child = spawn(role, &[&name]);
        wait_until("a new blocked waiter", LIMIT, || {
            sem.as_raw().waiters() == 3
        });
        sem.release().unwrap();
        assert_eq!(code(&finish(child, LIMIT)), common::OK);
        assert_eq!(sem.as_raw().waiters(), 2);
    }
    assert_eq!(sem.value(), 0);
    assert!(!took(
        sem.acquire_timeout(Duration::from_millis(20)).unwrap()
    ));
    assert_eq!(sem.as_raw().waiters(), 2);
}

/// A token held by a process that is killed is lost, with this crate as with
/// glibc: nothing can tell a dead holder from a slow one. The others keep
/// working with the tokens that remain.
#[test]
fn sigkill_permit_holders_loses_their_tokens() {
    let name = TestName::new("killhold");
    let sem = create(&name, 3);
    let holders = [spawn("crate-hold", &[&name]), spawn("glibc-hold", &[&name])];
    wait_until("both holders", LIMIT, || sem.value() == 1);
    for child in holders {
        kill(child);
    }
    // Two tokens are gone for good; one remains and keeps circulating.
    assert_eq!(sem.value(), 1);
    assert!(took(
        sem.acquire_timeout(Duration::from_millis(50)).unwrap()
    ));
    assert!(!took(
        sem.acquire_timeout(Duration::from_millis(50)).unwrap()
    ));
    sem.release().unwrap();
    assert_eq!(sem.value(), 1);
    assert_eq!(sem.as_raw().waiters(), 0);
}

// ---- signal storms ----------------------------------------------------

/// Signals handled, by any thread.
static HANDLED: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    HANDLED.fetch_add(1, SeqCst);
}

/// Installs the counting handler for SIGUSR2 *without* `SA_RESTART`, so that
/// every signal ends a blocking system call with `EINTR`.
fn install_handler() {
    // SAFETY: a zeroed sigaction is valid; the handler is async-signal-safe
    // (one atomic add).
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = 0;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
            0
        );
    }
}

/// The interval between two signals of a storm.
const PERIOD: Duration = Duration::from_micros(100);

/// A thread id to signal from another thread. On musl `pthread_t` is a
/// pointer, which is not `Send`; here it is only passed back to
/// `pthread_kill`, never dereferenced.
struct ThreadId(libc::pthread_t);

// SAFETY: the id is an opaque handle used only with pthread_kill, which may
// be called from any thread.
unsafe impl Send for ThreadId {}

impl ThreadId {
    /// Sends `signal` to the thread. A method, so that closures capture the
    /// whole `Send` wrapper rather than its field.
    fn kill(&self, signal: libc::c_int) {
        // SAFETY: callers keep the thread joinable (not joined) while they
        // signal it, so the id stays valid (the thread may have returned).
        unsafe { libc::pthread_kill(self.0, signal) };
    }
}

/// A thread sending SIGUSR2 to `target` every [`PERIOD`] until dropped.
struct Storm {
    stop: Arc<AtomicBool>,
    sender: Option<thread::JoinHandle<u64>>,
}

impl Storm {
    fn start(target: ThreadId) -> Storm {
        install_handler();
        let stop = Arc::new(AtomicBool::new(false));
        let sender = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut sent = 0;
                let mut next = Instant::now();
                while !stop.load(SeqCst) {
                    // Pace by the clock, not by sleeping: a 100 µs sleep
                    // lasts about 300 µs with the kernel's timer slack.
                    next += PERIOD;
                    while Instant::now() < next {
                        std::hint::spin_loop();
                    }
                    // `target` is not joined before the storm stops.
                    target.kill(libc::SIGUSR2);
                    sent += 1;
                }
                sent
            })
        };
        Storm {
            stop,
            sender: Some(sender),
        }
    }

    fn stop(mut self) -> u64 {
        self.stop.store(true, SeqCst);
        self.sender.take().unwrap().join().unwrap()
    }
}

impl Drop for Storm {
    fn drop(&mut self) {
        self.stop.store(true, SeqCst);
    }
}

/// Runs `body` on a new thread with a signal storm aimed at it; returns what
/// `body` returned, the signals sent and the signals handled meanwhile.
fn under_storm<T: Send + 'static>(
    body: impl FnOnce() -> T + Send + 'static,
    during: impl FnOnce(),
) -> (T, u64, u64) {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        // SAFETY: no preconditions.
        tx.send(ThreadId(unsafe { libc::pthread_self() })).unwrap();
        body()
    });
    let target = rx.recv().unwrap();
    let handled_before = HANDLED.load(SeqCst);
    let storm = Storm::start(target);
    during();
    // Stop the storm before the worker can exit (pthread_kill on an exited
    // thread is undefined); the worker may still be blocked here.
    let sent = storm.stop();
    let handled = u64::from(HANDLED.load(SeqCst) - handled_before);
    (worker.join().unwrap(), sent, handled)
}

/// Signal storms run one at a time (the handler counter is shared).
static STORMS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `acquire` under a signal every ~100 µs returns only with a token, and
/// only after it was released.
#[test]
fn signal_storm_during_acquire() {
    let _one = STORMS.lock().unwrap_or_else(|e| e.into_inner());
    let sem = Arc::new(RawSemaphore::new(0).unwrap());
    let released = Arc::new(AtomicBool::new(false));
    let (woke_after_release, sent, handled) = under_storm(
        {
            let (sem, released) = (Arc::clone(&sem), Arc::clone(&released));
            move || {
                sem.acquire().unwrap().forget();
                released.load(SeqCst)
            }
        },
        || {
            wait_until("the waiter to block", LIMIT, || sem.waiters() == 1);
            let start = HANDLED.load(SeqCst);
            // Keep it blocked through a few hundred signals.
            wait_until("signals to arrive", LIMIT, || {
                HANDLED.load(SeqCst) - start >= 300
            });
            assert_eq!(sem.waiters(), 1, "the waiter left without a token");
            released.store(true, SeqCst);
            sem.release().unwrap();
            wait_until("the waiter to take it", LIMIT, || sem.waiters() == 0);
        },
    );
    assert!(woke_after_release, "acquire returned before the release");
    assert_eq!(sem.value(), 0);
    assert!(
        handled >= 300 && sent >= handled,
        "sent {sent}, handled {handled}"
    );
    println!("acquire: {handled} signals handled while blocked");
}

/// `acquire_timeout` under a signal storm ends at its deadline: not early,
/// and not later than a generous scheduling tolerance (each signal restarting
/// a relative timeout would make it never end).
#[test]
fn signal_storm_during_acquire_timeout() {
    let _one = STORMS.lock().unwrap_or_else(|e| e.into_inner());
    const TIMEOUT: Duration = Duration::from_millis(300);
    const TOLERANCE: Duration = Duration::from_millis(250);
    let sem = Arc::new(RawSemaphore::new(0).unwrap());
    let ((got, elapsed), sent, handled) = under_storm(
        {
            let sem = Arc::clone(&sem);
            move || {
                let start = Instant::now();
                let got = took(sem.acquire_timeout(TIMEOUT).unwrap());
                (got, start.elapsed())
            }
        },
        || {
            wait_until("the waiter to block", LIMIT, || sem.waiters() == 1);
            wait_until("the waiter to time out", LIMIT, || sem.waiters() == 0);
        },
    );
    assert!(!got);
    assert!(elapsed >= TIMEOUT, "returned early: {elapsed:?}");
    assert!(
        elapsed <= TIMEOUT + TOLERANCE,
        "deadline overrun: {elapsed:?} for {TIMEOUT:?}"
    );
    assert!(handled >= 100, "only {handled} signals (sent {sent})");
    assert_eq!(sem.value(), 0);
    println!(
        "acquire_timeout({TIMEOUT:?}): returned after {elapsed:?} with {handled} signals handled"
    );
}

/// A token released in the middle of a stormy timed wait is taken, and only
/// after it was released.
#[test]
fn signal_storm_during_acquire_timeout_with_release() {
    let _one = STORMS.lock().unwrap_or_else(|e| e.into_inner());
    let sem = Arc::new(RawSemaphore::new(0).unwrap());
    let released = Arc::new(AtomicBool::new(false));
    let (result, _, handled) = under_storm(
        {
            let (sem, released) = (Arc::clone(&sem), Arc::clone(&released));
            move || {
                let got = took(sem.acquire_timeout(Duration::from_secs(20)).unwrap());
                (got, released.load(SeqCst))
            }
        },
        || {
            wait_until("the waiter to block", LIMIT, || sem.waiters() == 1);
            let start = HANDLED.load(SeqCst);
            wait_until("signals to arrive", LIMIT, || {
                HANDLED.load(SeqCst) - start >= 300
            });
            released.store(true, SeqCst);
            sem.release().unwrap();
            wait_until("the waiter to take it", LIMIT, || sem.waiters() == 0);
        },
    );
    assert_eq!(result, (true, true));
    assert_eq!(sem.value(), 0);
    assert!(handled >= 300);
}

/// A plain timed wait that runs out. `ci/reliability.sh` runs this test under
/// `strace` to show which clock the kernel measures the deadline on: the
/// futex call must be `FUTEX_WAIT_BITSET` with an absolute deadline and
/// without `FUTEX_CLOCK_REALTIME`, i.e. on `CLOCK_MONOTONIC`, which changes
/// of the wall clock do not move.
#[test]
fn timed_wait_runs_out_on_its_deadline() {
    let sem = RawSemaphore::new(0).unwrap();
    let start = Instant::now();
    assert!(!took(
        sem.acquire_timeout(Duration::from_millis(50)).unwrap()
    ));
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(50), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(sem.waiters(), 0);
}
