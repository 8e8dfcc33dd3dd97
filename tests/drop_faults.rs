//! The drop's unlink (`file::unlink_if_ours`) under system-call faults and a
//! lost race, made deterministic with `strace`: a dropper child runs under
//! strace, which holds its `lstat`s on the semaphore's path for a while (so
//! another process can replace the name in between) and makes chosen calls
//! fail (`-e inject=...`), standing in for old kernels, sandboxes and memory
//! pressure.
//!
//! These need the `strace` program, so they are `#[ignore]`d in a plain
//! `cargo test`; `ci/reliability.sh` installs strace and runs them with
//! `--ignored`.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{code, finish, wait_until, TestName, OK};
use named_semaphores::{Existence, FileId, NamedSemaphore};

const LIMIT: Duration = Duration::from_secs(60);
/// How long strace holds each delayed system call of the dropper.
const DELAY_US: u64 = 1_500_000;

/// The dropper: opens `NAME` as its owner (unlinks on drop), waits on the
/// gate semaphore `GATE`, then drops the handle.
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

/// Starts [`dropper`] under strace with `strace_args`.
fn traced_dropper(name: &TestName, gate: &TestName, strace_args: &[String]) -> Child {
    Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .args(strace_args)
        .arg(std::env::current_exe().unwrap())
        .args(["dropper", "--exact", "--ignored", "--test-threads=1", "-q"])
        .env("DROP_NAME", &name.name)
        .env("DROP_GATE", &gate.name)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("these tests need strace (Debian package strace)")
}

fn id_at(name: &TestName) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    let m = name.path().symlink_metadata().ok()?;
    Some(FileId::new(m.dev(), m.ino()))
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

/// strace arguments that delay the dropper's `lstat`s of the semaphore's
/// path, plus `extra` (`inject=...` of other calls).
fn delayed_lstat(name: &TestName, extra: &str) -> Vec<String> {
    vec![
        "-P".into(),
        name.path().to_str().unwrap().into(),
        "-e".into(),
        "trace=newfstatat,statx,renameat2,lstat".into(),
        "-e".into(),
        format!("inject=newfstatat,statx,lstat:delay_exit={DELAY_US}"),
        "-e".into(),
        extra.into(),
    ]
}

/// X at `name` (kept here, not owned); the traced dropper owns it and
/// starts dropping; while its first `lstat` (which saw X) is held, the name
/// is replaced by Y (returned), so the dropper loses the race and must put
/// Y back.
fn lose_the_race(name: &TestName, gate: &TestName, args: &[String]) -> (Child, NamedSemaphore) {
    let x = NamedSemaphore::create(name, 0).unwrap();
    x.set_unlink_on_drop(false);
    let g = NamedSemaphore::create(gate, 0).unwrap();
    let a = traced_dropper(name, gate, args);
    wait_until("the dropper at the gate", LIMIT, || {
        g.as_raw().waiters() == 1
    });
    g.release().unwrap();
    std::thread::sleep(Duration::from_micros(DELAY_US / 3));
    let y = NamedSemaphore::options()
        .existence(Existence::UnlinkAndCreate)
        .unlink_on_drop(false)
        .open(name)
        .unwrap();
    (a, y)
}

/// Without `RENAME_NOREPLACE` (an old kernel says `EINVAL`), the put-back
/// falls back to `link`, and then removes the temporary name too.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn put_back_by_link_leaves_no_temporary() {
    let name = TestName::new("df-link");
    let gate = TestName::new("df-link-gate");
    let args = delayed_lstat(&name, "inject=renameat2:error=EINVAL:when=2");
    let (a, y) = lose_the_race(&name, &gate, &args);
    assert_eq!(code(&finish(a, LIMIT)), OK);
    let leaked = take_temporaries_of(y.file_id());
    assert!(leaked.is_empty(), "temporary names left: {leaked:?}");
    assert_eq!(id_at(&name), Some(y.file_id()), "Y is back at its name");
}

/// A put-back that fails once for a reason other than "the name is taken"
/// (`ENOMEM` here) is tried again: the newcomer keeps its name.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn a_put_back_that_fails_once_is_retried() {
    let name = TestName::new("df-enomem");
    let gate = TestName::new("df-enomem-gate");
    let args = delayed_lstat(&name, "inject=renameat2:error=ENOMEM:when=2");
    let (a, y) = lose_the_race(&name, &gate, &args);
    assert_eq!(code(&finish(a, LIMIT)), OK);
    let leaked = take_temporaries_of(y.file_id());
    assert_eq!(
        id_at(&name),
        Some(y.file_id()),
        "Y keeps its name (aside: {leaked:?})"
    );
}

/// A put-back that keeps failing leaves the newcomer's file aside, not
/// destroyed: its data and its holders are untouched, and the file is
/// still there under a temporary name.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn a_put_back_that_keeps_failing_destroys_nothing() {
    let name = TestName::new("df-enomem-all");
    let gate = TestName::new("df-enomem-all-gate");
    let args = delayed_lstat(&name, "inject=renameat2,link,linkat:error=ENOMEM:when=2+");
    let (a, y) = lose_the_race(&name, &gate, &args);
    assert_eq!(code(&finish(a, LIMIT)), OK);
    let leaked = take_temporaries_of(y.file_id());
    assert_eq!(
        leaked.len(),
        1,
        "Y left aside once, not unlinked: {leaked:?}"
    );
}

/// A sandbox that refuses `renameat2` (`EPERM`, as a system-call filter
/// says) does not stop an owner's drop from removing its name.
#[test]
#[ignore = "needs strace; run by ci/reliability.sh"]
fn a_refused_renameat2_still_unlinks() {
    let name = TestName::new("df-eperm");
    let gate = TestName::new("df-eperm-gate");
    let x = NamedSemaphore::create(&name, 0).unwrap();
    x.set_unlink_on_drop(false);
    let g = NamedSemaphore::create(&gate, 0).unwrap();
    let args: Vec<String> = [
        "-e",
        "trace=renameat2",
        "-e",
        "inject=renameat2:error=EPERM",
    ]
    .map(String::from)
    .to_vec();
    let a = traced_dropper(&name, &gate, &args);
    wait_until("the dropper at the gate", LIMIT, || {
        g.as_raw().waiters() == 1
    });
    g.release().unwrap();
    assert_eq!(code(&finish(a, LIMIT)), OK);
    assert_eq!(id_at(&name), None, "the owner's drop removed its name");
    assert!(take_temporaries_of(x.file_id()).is_empty());
}
