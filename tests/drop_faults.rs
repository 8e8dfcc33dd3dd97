//! The drop's unlink (`file::unlink_if_ours`, under the lock of
//! `src/file/name_lock.rs`) against glibc processes, made deterministic with
//! `strace`: a dropper child runs under strace, which holds chosen system
//! calls of its drop at their entry (`-e inject=...:delay_enter=...`), and
//! while it is held there this process, through glibc's own `sem_*` (the
//! `libc` crate), removes or replaces the name. The test sees where the
//! dropper is held from `/proc/PID/syscall`, so nothing depends on timing.
//!
//! The cases of the review that replaced the rename-aside protocol:
//!
//! - a newcomer replaces the name while the dropper takes its lock: the
//!   drop leaves the newcomer alone, and an `O_CREAT` open at any moment of
//!   the drop opens the newcomer;
//! - a `sem_unlink` at any step of the drop returns 0, and the name never
//!   comes back;
//! - the one window left, a replacement between the locked re-check and the
//!   unlink: the name is then absent or the newest semaphore, never an
//!   older one, and no file is left behind.
//!
//! The delayed calls also include `renameat2`, which this drop never makes:
//! run against the rename-aside protocol, the same tests hold its move
//! aside and its put-back, and the first two fail there.
//!
//! These need the `strace` program, so they are `#[ignore]`d in a plain
//! `cargo test`; `ci/reliability.sh` installs strace and runs them with
//! `--ignored`. The strace rules and the call numbers are x86_64's (the
//! host CI runs them on); other targets have other calls (`fstatat64`, no
//! `open` or `unlink`), so the file builds for x86_64 only.
#![cfg(all(target_os = "linux", target_env = "gnu", target_arch = "x86_64"))]

mod common;

use std::mem::MaybeUninit;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{code, finish, glibc, wait_until, TestName, OK};
use named_semaphores::{processes_using, Existence, FileId, NamedSemaphore, PROCESSES_BUFFER_LEN};

const LIMIT: Duration = Duration::from_secs(60);
/// How long strace holds each delayed system call of the dropper: only an
/// upper bound on how long the test has to act (it acts as soon as it sees
/// the dropper held).
const DELAY_US: u64 = 1_000_000;
/// How long the dropper must stay in one call to count as held there.
const STEADY: Duration = Duration::from_millis(100);

/// The dropper: opens `DROP_NAME` as its owner (unlinks on drop), waits on
/// the gate semaphore `DROP_GATE`, then drops the handle.
#[test]
#[ignore = "entry point of the dropper child"]
fn dropper() {
    let (Ok(name), Ok(gate)) = (std::env::var("DROP_NAME"), std::env::var("DROP_GATE")) else {
        return;
    };
    let sem = NamedSemaphore::options()
        .existence(Existence::OpenExisting)
        .unlink_on_drop(true)
        .open(&name)
        .expect("open");
    NamedSemaphore::open(&gate)
        .expect("open gate")
        .acquire()
        .expect("gate")
        .forget();
    drop(sem);
}

/// The calls held, as strace `inject` rules (`SYSCALLS[:when=N]`), and their
/// numbers, to recognise them in `/proc/PID/syscall`.
struct Held {
    rules: &'static [&'static str],
    numbers: &'static [libc::c_long],
}

/// The drop's open of the name (the second open of it: the first is the
/// dropper's own `open`).
const OPEN: Held = Held {
    rules: &["open,openat:when=2"],
    numbers: &[libc::SYS_open, libc::SYS_openat],
};
/// The lock, and the rename-aside protocol's move aside and put-back.
const LOCK: Held = Held {
    rules: &["flock,renameat2"],
    numbers: &[libc::SYS_flock, libc::SYS_renameat2],
};
/// The `fstat` under the lock (the second of the file: the first is the
/// dropper's own `open`).
const FSTAT: Held = Held {
    rules: &["fstat,newfstatat:when=2"],
    numbers: &[libc::SYS_fstat, libc::SYS_newfstatat],
};
/// The unlink.
const UNLINK: Held = Held {
    rules: &["unlink,unlinkat"],
    numbers: &[libc::SYS_unlink, libc::SYS_unlinkat],
};

/// A dropper under strace, holding the calls of `held`.
struct Traced {
    child: Option<Child>,
    pid: u32,
    numbers: Vec<libc::c_long>,
}

impl Traced {
    /// X is created at `name` (kept, not owned, by this process); the
    /// traced dropper owns it and starts dropping.
    fn start(name: &TestName, gate: &TestName, held: &[&Held]) -> (Traced, NamedSemaphore) {
        let x = NamedSemaphore::create(name, 0).unwrap();
        x.set_unlink_on_drop(false);
        let g = NamedSemaphore::create(gate, 0).unwrap();
        let mut args: Vec<String> =
            vec!["-f".into(), "-qq".into(), "-o".into(), "/dev/null".into()];
        args.extend(["-P".into(), name.path().to_str().unwrap().into()]);
        for rule in held.iter().flat_map(|h| h.rules) {
            args.extend(["-e".into(), format!("inject={rule}:delay_enter={DELAY_US}")]);
        }
        let child = Command::new("strace")
            .args(&args)
            .arg(std::env::current_exe().unwrap())
            .args(["dropper", "--exact", "--ignored", "--test-threads=1", "-q"])
            .env("DROP_NAME", &name.name)
            .env("DROP_GATE", &gate.name)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("these tests need strace (Debian package strace)");
        wait_until("the dropper at the gate", LIMIT, || {
            g.as_raw().waiters() == 1
        });
        // The dropper is the process other than this one that maps the gate.
        let mut buf = [MaybeUninit::uninit(); PROCESSES_BUFFER_LEN];
        let mut pid = 0;
        processes_using(&gate.name, &mut buf, |p| {
            if p.pid != std::process::id() {
                pid = p.pid;
            }
        })
        .unwrap();
        assert_ne!(pid, 0, "the dropper maps the gate");
        g.release().unwrap();
        let numbers = held.iter().flat_map(|h| h.numbers).copied().collect();
        (
            Traced {
                child: Some(child),
                pid,
                numbers,
            },
            x,
        )
    }

    /// `/proc/PID/task/TID/syscall` of each thread of the dropper; `None`
    /// once it has ended.
    fn syscalls(&self) -> Option<Vec<String>> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid)).ok()?;
        let lines = tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("syscall")).ok())
            .collect();
        Some(lines)
    }

    /// Waits until the dropper is held in one of the delayed calls, in
    /// another call than `after` (the line of the one it was held in
    /// before), and returns that call's line; `None` if it finished first.
    /// Held means seen in the same call for [`STEADY`]: strace stops the
    /// dropper at every system call, but only for microseconds where it
    /// does not delay it.
    fn held(&self, after: Option<&str>) -> Option<String> {
        let start = Instant::now();
        let mut seen: Option<(String, Instant)> = None;
        while start.elapsed() < LIMIT {
            let now = self.syscalls()?.into_iter().find(|line| {
                let nr = line.split(' ').next().and_then(|n| n.trim().parse().ok());
                nr.is_some_and(|nr| self.numbers.contains(&nr)) && Some(line.as_str()) != after
            });
            match (now, &seen) {
                (Some(line), Some((was, since))) if line == *was => {
                    if since.elapsed() >= STEADY {
                        return Some(line);
                    }
                }
                (Some(line), _) => seen = Some((line, Instant::now())),
                (None, _) => seen = None,
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        panic!("the dropper was never held");
    }

    /// Waits for the dropper to finish, calling `during` until then.
    fn finish(mut self, mut during: impl FnMut()) {
        let start = Instant::now();
        while self.child.as_mut().unwrap().try_wait().unwrap().is_none() {
            assert!(start.elapsed() < LIMIT, "the dropper hangs");
            during();
            std::thread::sleep(Duration::from_millis(2));
        }
        let child = self.child.take().unwrap();
        assert_eq!(code(&finish(child, LIMIT)), OK, "the dropper failed");
    }
}

impl Drop for Traced {
    /// A test that fails while the dropper runs ends it, and strace, before
    /// the names' guards remove the files: a dropper left running could put
    /// a file back at a name afterwards.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                let pid = libc::pid_t::try_from(self.pid).expect("a pid");
                // SAFETY: a plain system call; while strace runs, the
                // dropper's pid is not reused (strace reaps it first).
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn id_at(name: &TestName) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    let m = name.path().symlink_metadata().ok()?;
    Some(FileId::new(m.dev(), m.ino()))
}

/// glibc's `sem_unlink` and then `sem_open(O_CREAT | O_EXCL, 5)`: the
/// newcomer's identity.
fn glibc_replace(name: &TestName) -> FileId {
    assert_eq!(glibc::unlink(name), OK, "glibc sem_unlink");
    assert_eq!(
        glibc::create(name, 5),
        OK,
        "glibc sem_open(O_CREAT | O_EXCL)"
    );
    id_at(name).expect("the newcomer is at the name")
}

/// `sem.XXXXXX` files in /dev/shm holding `id`, removed before returning.
fn take_temporaries_of(id: FileId) -> Vec<std::path::PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let found: Vec<_> = std::fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name().into_string().ok()?;
            let m = e.path().symlink_metadata().ok()?;
            (n.len() == 10 && n.starts_with("sem.") && FileId::new(m.dev(), m.ino()) == id)
                .then(|| e.path())
        })
        .collect();
    for p in &found {
        let _ = std::fs::remove_file(p);
    }
    found
}

/// A newcomer replaces the name while the dropper takes its lock (with the
/// rename-aside protocol: between its `lstat` and its move aside). The
/// drop leaves the newcomer alone; a glibc `sem_open(O_CREAT, 0)` at any
/// moment of the drop opens the newcomer (value 5), never creates.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn a_newcomer_during_the_lock_is_left_alone() {
    let name = TestName::new("df-newcomer");
    let gate = TestName::new("df-newcomer-gate");
    let (dropper, x) = Traced::start(&name, &gate, &[&LOCK]);
    dropper.held(None).expect("the dropper reaches its lock");
    let b = glibc_replace(&name);
    assert_ne!(b, x.file_id());
    let mut opens = 0;
    dropper.finish(|| {
        assert_eq!(
            glibc::open_or_create_value(&name, 0),
            5,
            "an O_CREAT open during the drop found the newcomer"
        );
        opens += 1;
    });
    assert_eq!(id_at(&name), Some(b), "the newcomer keeps its name");
    assert_eq!(glibc::open_or_create_value(&name, 0), 5);
    assert!(opens > 0);
    assert!(take_temporaries_of(b).is_empty());
}

/// Which step of the drop `sem_unlink` runs in.
fn unlink_during(tag: &str, held: &Held) {
    let name = TestName::new(tag);
    let gate = TestName::new(&format!("{tag}-gate"));
    let (dropper, x) = Traced::start(&name, &gate, &[held]);
    let reached = dropper.held(None).is_some();
    assert!(reached, "the dropper made no such call");
    assert_eq!(
        glibc::unlink(&name),
        OK,
        "glibc sem_unlink of a semaphore that exists"
    );
    dropper.finish(|| assert_eq!(id_at(&name), None, "the name came back"));
    assert_eq!(id_at(&name), None, "the name came back");
    assert!(take_temporaries_of(x.file_id()).is_empty());
}

/// A glibc `sem_unlink` while the drop opens the name returns 0, and the
/// name never comes back.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn sem_unlink_during_the_open() {
    unlink_during("df-unlink-open", &OPEN);
}

/// ... while it takes the lock.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn sem_unlink_during_the_lock() {
    unlink_during("df-unlink-lock", &LOCK);
}

/// ... while it re-checks under the lock.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn sem_unlink_during_the_check() {
    unlink_during("df-unlink-check", &FSTAT);
}

/// ... while it unlinks.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn sem_unlink_during_the_unlink() {
    unlink_during("df-unlink-unlink", &UNLINK);
}

/// A newcomer replaces the name while the dropper takes its lock, and a
/// glibc `sem_unlink` of the newcomer at the drop's next held step returns
/// 0: the name never comes back. (With the rename-aside protocol the
/// newcomer is then aside, `sem_unlink` says `ENOENT`, and the put-back
/// brings the name back.)
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn sem_unlink_of_a_newcomer_during_the_drop() {
    let name = TestName::new("df-unlink-newcomer");
    let gate = TestName::new("df-unlink-newcomer-gate");
    let (dropper, _x) = Traced::start(&name, &gate, &[&LOCK, &FSTAT, &UNLINK]);
    let first = dropper.held(None).expect("the dropper reaches its lock");
    let b = glibc_replace(&name);
    let second = dropper.held(Some(&first));
    assert!(
        second.is_some(),
        "the drop made no second held call after {first}"
    );
    assert_eq!(
        glibc::unlink(&name),
        OK,
        "glibc sem_unlink of the newcomer, which exists (held in {first} then {second:?})"
    );
    dropper.finish(|| assert_eq!(id_at(&name), None, "the name came back"));
    assert_eq!(id_at(&name), None, "the name came back");
    assert!(take_temporaries_of(b).is_empty());
}

/// The one window left: a glibc process replaces the name between the
/// dropper's locked re-check and its unlink. The drop then removes the
/// newcomer's name, as a `sem_unlink` right after its creation would: the
/// name is absent or the newest semaphore, never the old one, and no file
/// is left behind.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn a_replacement_between_the_check_and_the_unlink() {
    let name = TestName::new("df-window");
    let gate = TestName::new("df-window-gate");
    let (dropper, x) = Traced::start(&name, &gate, &[&UNLINK]);
    dropper.held(None).expect("the dropper reaches its unlink");
    let b = glibc_replace(&name);
    let never_old = || {
        let now = id_at(&name);
        assert!(
            now.is_none() || now == Some(b),
            "an older semaphore at the name: {now:?}"
        );
    };
    dropper.finish(never_old);
    never_old();
    assert_eq!(
        id_at(&name),
        None,
        "removed as by a sem_unlink after its creation"
    );
    assert!(
        take_temporaries_of(b).is_empty(),
        "a file of the newcomer left behind"
    );
    assert!(
        take_temporaries_of(x.file_id()).is_empty(),
        "a file of the old one left behind"
    );
}
