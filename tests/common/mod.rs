//! Shared test support: unique names that clean up after themselves, child
//! processes (the test binary re-executed in a role), and glibc peers
//! through the `libc` crate.
#![allow(dead_code)]

use std::ffi::CString;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use named_semaphores::NamedSemaphore;

/// Exit codes of child roles.
pub const OK: i32 = 0;
pub const TIMED_OUT: i32 = 3;
pub const EXISTS: i32 = 4;
pub const FAILED: i32 = 5;

/// A semaphore name unique to this process and call; its file (and any file
/// left at it) is removed when the guard drops, also when a test panics.
pub struct TestName {
    pub name: String,
    pub dir: PathBuf,
}

impl TestName {
    pub fn new(tag: &str) -> Self {
        Self::in_dir(tag, "/dev/shm")
    }

    pub fn in_dir(tag: &str, dir: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        TestName {
            name: format!("nsem-test-{}-{tag}-{n}", std::process::id()),
            dir: PathBuf::from(dir),
        }
    }

    /// The `/NAME` form glibc's `sem_open` takes.
    pub fn slashed(&self) -> String {
        format!("/{}", self.name)
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("sem.{}", self.name))
    }

    pub fn exists(&self) -> bool {
        self.path().symlink_metadata().is_ok()
    }

    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.path()).expect("read semaphore file")
    }
}

impl std::ops::Deref for TestName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl AsRef<[u8]> for TestName {
    fn as_ref(&self) -> &[u8] {
        self.name.as_bytes()
    }
}

impl Drop for TestName {
    fn drop(&mut self) {
        let path = self.path();
        if let Ok(meta) = path.symlink_metadata() {
            if meta.is_dir() {
                let _ = std::fs::remove_dir_all(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// A private directory under /dev/shm, removed with its contents on drop.
pub struct TestDir(pub String);

impl TestDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = format!("/dev/shm/nsem-test-dir-{}-{tag}-{n}", std::process::id());
        std::fs::create_dir(&dir).expect("create test directory");
        TestDir(dir)
    }

    /// The file names in the directory, sorted.
    pub fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&self.0)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether an acquire got a token; a token it got stays taken (the permit
/// is forgotten), as after C's `sem_trywait` or `sem_timedwait`.
pub fn took(got: Option<named_semaphores::Permit<'_>>) -> bool {
    got.map(named_semaphores::Permit::forget).is_some()
}

/// Starts this test binary again, running only its `child` entry point, in
/// `role` with `args`.
pub fn spawn(role: &str, args: &[&str]) -> Child {
    Command::new(std::env::current_exe().expect("current_exe"))
        .args([
            "child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("NSEM_ROLE", role)
        .env("NSEM_ARGS", args.join("\u{1f}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child")
}

/// Waits for `child`, killing it if it runs past `limit`.
pub fn finish(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("wait_with_output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait_with_output");
            panic!(
                "child ran past {limit:?}; stdout: {} stderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The exit code of a finished child, with its output in the panic message
/// if it died of a signal.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or_else(|| {
        panic!(
            "child killed: {:?}; stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Lines the child printed with the `RESULT ` prefix.
pub fn results(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("RESULT ").map(str::to_owned))
        .collect()
}

/// Polls `cond` until it holds, failing the test after `limit`.
pub fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The role and arguments this process was started with by [`spawn`], or
/// `None` in a normal test run.
pub fn role() -> Option<(String, Vec<String>)> {
    let role = std::env::var("NSEM_ROLE").ok()?;
    let args = std::env::var("NSEM_ARGS")
        .unwrap_or_default()
        .split('\u{1f}')
        .map(str::to_owned)
        .collect();
    Some((role, args))
}

/// The body of each test binary's ignored `child` test: runs the role named
/// in `NSEM_ROLE` and exits with its code.
pub fn child_main() {
    let Some((role, a)) = role() else {
        // Run by hand without a role: nothing to do.
        return;
    };
    let ms = |i: usize| Duration::from_millis(a[i].parse().expect("milliseconds"));
    let code = match role.as_str() {
        "crate-acquire" => {
            let sem = NamedSemaphore::open(&a[0]).expect("open");
            // A bare `sem_timedwait`: the token stays taken.
            let got = sem.acquire_timeout(ms(1)).expect("acquire");
            match got {
                Some(permit) => {
                    permit.forget();
                    OK
                }
                None => TIMED_OUT,
            }
        }
        "crate-release" => {
            let sem = NamedSemaphore::open(&a[0]).expect("open");
            sem.release().expect("release");
            OK
        }
        "crate-create-new" => {
            gate(&a[1]);
            match NamedSemaphore::options()
                .directory(&a[2])
                .existence(named_semaphores::Existence::CreateNew)
                .initial_value(0)
                .unlink_on_drop(false)
                .open(&a[0])
            {
                Ok(_) => OK,
                Err(e) if e.kind() == named_semaphores::ErrorKind::AlreadyExists => EXISTS,
                Err(e) => {
                    eprintln!("create-new: {e}");
                    FAILED
                }
            }
        }
        "crate-open-or-create" => {
            gate(&a[1]);
            let sem = NamedSemaphore::options()
                .directory(&a[2])
                .existence(named_semaphores::Existence::OpenOrCreate)
                .initial_value(0)
                .unlink_on_drop(false)
                .open(&a[0])
                .expect("open_or_create");
            sem.release().expect("release");
            println!("RESULT created={}", sem.created());
            OK
        }
        "crate-open-kind" => {
            if a[1] == "nobody" {
                drop_privileges();
            }
            let report = |r: Result<(), named_semaphores::Error>| match r {
                Ok(()) => println!("RESULT ok"),
                Err(e) => println!("RESULT {:?} {}", e.kind(), e.raw_os_error()),
            };
            report(NamedSemaphore::open(&a[0]).map(drop));
            report(named_semaphores::unlink(&a[0]));
            report(
                NamedSemaphore::options()
                    .existence(named_semaphores::Existence::UnlinkAndCreate)
                    .open(&a[0])
                    .map(drop),
            );
            OK
        }
        // `open_or_create` with value 1; waits at the gate, takes the token,
        // gives it back and exits (dropping its handle).
        "crate-ooc-take-release" => {
            let sem = NamedSemaphore::open_or_create(&a[0], 1).expect("open_or_create");
            println!("RESULT created={}", sem.created());
            gate(&a[1]);
            drop(sem.acquire().expect("acquire")); // takes it and gives it back
            OK
        }
        // `open_or_create` with value 1, then one `try_acquire`.
        "crate-ooc-try" => {
            let sem = NamedSemaphore::open_or_create(&a[0], 1).expect("open_or_create");
            println!("RESULT created={}", sem.created());
            let got = sem.try_acquire().expect("try_acquire");
            println!("RESULT token={}", got.is_some());
            drop(got); // gives the token back
            OK
        }
        // Holds `flock(LOCK_EX)` on the file at the path `a[0]` until killed
        // (at most `a[1]` milliseconds), as a process that keeps the lock on
        // purpose would.
        "flock-hold" => {
            use std::os::fd::AsRawFd;
            let file = std::fs::File::open(&a[0]).expect("open the file to lock");
            // SAFETY: a valid descriptor, kept open until the process ends.
            assert_eq!(unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) }, 0);
            std::thread::sleep(ms(1));
            OK
        }
        "glibc-wait" => glibc::wait(&a[0], ms(1)),
        "glibc-post" => glibc::post(&a[0]),
        "glibc-create" => glibc::create(&a[0], a[1].parse().expect("value")),
        "glibc-value" => {
            println!("RESULT {}", glibc::value(&a[0]));
            OK
        }
        "glibc-unlink" => glibc::unlink(&a[0]),
        other => panic!("unknown child role {other}"),
    };
    std::process::exit(code);
}

/// Whether another open file description holds `flock` on the file at
/// `path` (tried with `LOCK_NB`, and released at once if it was free).
pub fn flock_held_elsewhere(path: &std::path::Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    // SAFETY: a valid descriptor; the lock goes with it.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EWOULDBLOCK)
}

/// Blocks on the gate semaphore `gate` (if named), so that racing children
/// start together when the parent opens it.
fn gate(gate: &str) {
    if !gate.is_empty() {
        NamedSemaphore::open(gate)
            .expect("open gate")
            .acquire()
            .expect("acquire gate")
            .forget(); // the parent opened the gate with one token per child
    }
}

fn drop_privileges() {
    // SAFETY: plain system calls with constant arguments, in a single-threaded
    // child about to exit.
    unsafe {
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
        assert_eq!(libc::setgid(65534), 0);
        assert_eq!(libc::setuid(65534), 0);
    }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// glibc's own `sem_*`, called through the `libc` crate.
pub mod glibc {
    use super::*;

    fn c(name: &str) -> CString {
        CString::new(format!("/{}", name.trim_start_matches('/'))).expect("name")
    }

    fn open(name: &str) -> *mut libc::sem_t {
        // SAFETY: `c(name)` is a valid C string; sem_open with oflag 0 takes
        // no further arguments.
        let sem = unsafe { libc::sem_open(c(name).as_ptr(), 0) };
        assert_ne!(
            sem,
            libc::SEM_FAILED,
            "glibc sem_open({name}): {}",
            std::io::Error::last_os_error()
        );
        sem
    }

    /// `sem_timedwait` with a deadline `timeout` from now: OK or TIMED_OUT.
    pub fn wait(name: &str, timeout: Duration) -> i32 {
        let sem = open(name);
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-pointer.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
        ts.tv_sec = add_secs(ts.tv_sec, timeout.as_secs());
        loop {
            // SAFETY: `sem` came from sem_open; `ts` is a valid timespec.
            if unsafe { libc::sem_timedwait(sem, &ts) } == 0 {
                return OK;
            }
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::ETIMEDOUT) => return TIMED_OUT,
                e => panic!("sem_timedwait: {e:?}"),
            }
        }
    }

    /// `t + secs` for whatever integer `time_t` is on the target (naming
    /// `libc::time_t` is deprecated on musl).
    fn add_secs<T: TryFrom<u64> + std::ops::Add<Output = T>>(t: T, secs: u64) -> T {
        t + T::try_from(secs).ok().expect("timeout fits time_t")
    }

    pub fn post(name: &str) -> i32 {
        let sem = open(name);
        // SAFETY: `sem` came from sem_open.
        assert_eq!(unsafe { libc::sem_post(sem) }, 0);
        // SAFETY: `sem` came from sem_open and is not used again.
        unsafe { libc::sem_close(sem) };
        OK
    }

    /// `sem_open(name, O_CREAT | O_EXCL, 0600, value)`.
    pub fn create(name: &str, value: u32) -> i32 {
        // SAFETY: valid C string; O_CREAT takes a mode and a value, passed
        // with the C default argument promotions.
        let sem = unsafe {
            libc::sem_open(
                c(name).as_ptr(),
                libc::O_CREAT | libc::O_EXCL,
                0o600 as libc::c_uint,
                value as libc::c_uint,
            )
        };
        if sem == libc::SEM_FAILED {
            return if std::io::Error::last_os_error().raw_os_error() == Some(libc::EEXIST) {
                EXISTS
            } else {
                FAILED
            };
        }
        // SAFETY: `sem` came from sem_open and is not used again.
        unsafe { libc::sem_close(sem) };
        OK
    }

    pub fn value(name: &str) -> i32 {
        let sem = open(name);
        let mut v = -1;
        // SAFETY: `sem` came from sem_open; `v` is a valid out-pointer.
        assert_eq!(unsafe { libc::sem_getvalue(sem, &mut v) }, 0);
        // SAFETY: `sem` came from sem_open and is not used again.
        unsafe { libc::sem_close(sem) };
        v
    }

    /// `sem_open(name, O_CREAT, 0600, value)` (opens the semaphore at the
    /// name, or creates one), and the value of what it opened.
    pub fn open_or_create_value(name: &str, value: u32) -> i32 {
        // SAFETY: valid C string; O_CREAT takes a mode and a value, passed
        // with the C default argument promotions.
        let sem = unsafe {
            libc::sem_open(
                c(name).as_ptr(),
                libc::O_CREAT,
                0o600 as libc::c_uint,
                value as libc::c_uint,
            )
        };
        assert_ne!(sem, libc::SEM_FAILED, "glibc sem_open(O_CREAT)");
        let mut v = -1;
        // SAFETY: `sem` came from sem_open; `v` is a valid out-pointer.
        assert_eq!(unsafe { libc::sem_getvalue(sem, &mut v) }, 0);
        // SAFETY: `sem` came from sem_open and is not used again.
        unsafe { libc::sem_close(sem) };
        v
    }

    pub fn unlink(name: &str) -> i32 {
        // SAFETY: valid C string.
        if unsafe { libc::sem_unlink(c(name).as_ptr()) } == 0 {
            OK
        } else {
            FAILED
        }
    }
}
