//! Robust mode: whose tokens come back, one test per case of liveness. A
//! stopped holder keeps them; a parent whose forked child keeps the handle
//! keeps them until the child dies; `exec` gives them back; a PID in the
//! record decides nothing (PID reuse); a holder in another PID namespace is
//! alive while it lives; many threads of one process hold through one
//! handle; and a blocked waiter checks before it sleeps and then once per
//! check period.

#![cfg(target_has_atomic = "64")]

mod common;
#[path = "common/robust.rs"]
mod robust;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{finish, wait_until, TestDir};
use named_semaphores::{Liveness, NamedSemaphore};
use robust::{self as r, hold, spawn, ForgedBeacon};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    let Some((role, a)) = common::role() else {
        return;
    };
    let sem = r::open(&a[0], &a[1]);
    match role.as_str() {
        // Holds one recorded token until killed.
        "hold" => {
            let _p = hold(&sem);
            std::thread::sleep(LIMIT);
        }
        // `a[2]` threads each hold a recorded token through the one handle.
        "hold-threads" => {
            let n: usize = a[2].parse().expect("count");
            std::thread::scope(|s| {
                for _ in 0..n {
                    s.spawn(|| {
                        let _p = hold(&sem);
                        std::thread::sleep(LIMIT);
                    });
                }
            });
        }
        // Holds a token, then forks a child that keeps the handle (and
        // sleeps); prints the child's pid.
        "hold-fork" => {
            let permit = hold(&sem);
            // SAFETY: the child only sleeps; nothing it runs allocates.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                loop {
                    // SAFETY: plain sleep.
                    unsafe { libc::sleep(60) };
                }
            }
            println!("RESULT {pid}");
            std::thread::sleep(LIMIT);
            drop(permit);
        }
        // Holds a token, then becomes another program.
        "hold-exec" => {
            use std::os::unix::process::CommandExt;
            let permit = hold(&sem);
            let err = Command::new("sleep").arg("60").exec();
            drop(permit);
            panic!("exec: {err}");
        }
        other => panic!("unknown role {other}"),
    }
    std::process::exit(0);
}

/// The first `RESULT` line a running child prints.
fn first_result(child: &mut Child) -> String {
    let out = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(out).lines();
    loop {
        let line = lines.next().expect("child output").expect("read");
        if let Some(v) = line.strip_prefix("RESULT ") {
            return v.to_owned();
        }
    }
}

/// Waits until `pid` (our child) has stopped.
fn wait_stopped(pid: u32) {
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is writable.
    let r = unsafe { libc::waitpid(pid as i32, &mut status, libc::WUNTRACED) };
    assert_eq!(r, pid as i32);
    assert!(libc::WIFSTOPPED(status));
}

#[test]
fn a_stopped_holder_keeps_its_tokens() {
    let dir = TestDir::new("stopped");
    let sem = r::create(&dir.0, "s", 1);
    let child = spawn("hold", &[&dir.0, "s"]);
    let pid = child.id();
    wait_until("the holder to hold", LIMIT, || r::holds(&sem, pid, 1));
    r::signal(pid, libc::SIGSTOP);
    wait_stopped(pid);
    assert_eq!(sem.recover().unwrap().tokens, 0);
    let h: Vec<_> = sem.holders().unwrap().filter(|h| h.pid == pid).collect();
    assert_eq!((h[0].tokens, h[0].liveness), (1, Liveness::Alive));
    // A blocked waiter checks too, and finds it alive.
    assert!(sem
        .acquire_timeout(Duration::from_millis(200))
        .unwrap()
        .is_none());
    r::signal(pid, libc::SIGKILL);
    drop(finish(child, LIMIT));
    assert_eq!(sem.recover().unwrap().tokens, 1);
    assert_eq!(sem.value(), 1);
}

#[test]
fn a_forked_child_keeps_its_parents_tokens_alive() {
    let dir = TestDir::new("fork");
    let sem = r::create(&dir.0, "s", 1);
    let mut holder = spawn("hold-fork", &[&dir.0, "s"]);
    let forked: u32 = first_result(&mut holder).parse().expect("pid");
    assert_eq!(sem.value(), 0);
    r::signal(holder.id(), libc::SIGKILL);
    // (Not `finish`: the forked child keeps the output pipes open.)
    holder.wait().unwrap();
    assert_eq!(sem.recover().unwrap().tokens, 0, "the child still has it");
    let h: Vec<_> = sem.holders().unwrap().filter(|h| h.tokens == 1).collect();
    assert_eq!(h[0].liveness, Liveness::Alive);
    r::signal(forked, libc::SIGKILL);
    wait_until("the child's death to release the holder", LIMIT, || {
        sem.recover().unwrap().tokens == 1
    });
    assert_eq!(sem.value(), 1);
}

#[test]
fn a_forked_child_that_drops_its_copy_leaves_the_parents_tokens() {
    let dir = TestDir::new("fork-drop");
    let sem = r::create(&dir.0, "s", 2);
    sem.set_unlink_on_drop(false); // the child's drop must not unlink it
    let permit = hold(&sem);
    // SAFETY: the child drops its copy of the handle (no allocation) and
    // ends at once.
    match unsafe { libc::fork() } {
        -1 => panic!("fork"),
        0 => {
            // SAFETY: the child's copy of the parent's handle, dropped once
            // here; the parent's own is never used by this process again.
            let copy = unsafe { std::ptr::read(&sem) };
            drop(copy);
            // SAFETY: ends the child without the test harness.
            unsafe { libc::_exit(0) }
        }
        pid => {
            let mut status = 0;
            // SAFETY: our child.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            assert_eq!(status, 0);
        }
    }
    let me = sem.holders().unwrap().next().unwrap();
    assert_eq!((me.tokens, me.liveness), (1, Liveness::Alive));
    assert!(me.flags.is_empty(), "{:?}", me.flags);
    assert_eq!(sem.value(), 1);
    drop(permit);
    assert_eq!(sem.value(), 2);
}

#[test]
fn exec_gives_the_tokens_back() {
    let dir = TestDir::new("exec");
    let sem = r::create(&dir.0, "s", 1);
    let child = spawn("hold-exec", &[&dir.0, "s"]);
    let pid = child.id();
    wait_until("the holder to become sleep(1)", LIMIT, || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    });
    // The process lives on as another program; the program that held the
    // token is gone, and so is its descriptor (O_CLOEXEC: the kernel closes
    // it during the exec, around when the name changes).
    wait_until("the exec to close the beacon", LIMIT, || {
        sem.recover().unwrap().tokens == 1
    });
    assert!(r::exists(pid), "recovered while the process still runs");
    assert_eq!(sem.value(), 1);
    r::signal(pid, libc::SIGKILL);
    drop(finish(child, LIMIT));
}

#[test]
fn a_pid_in_the_record_decides_nothing() {
    let dir = TestDir::new("pid-reuse");
    let sem = r::create(&dir.0, "s", 3);
    let path = r::sem_path(&dir.0, "s");
    sem.acquire().unwrap().forget(); // the token a forged dead holder will claim
    sem.acquire().unwrap().forget(); // the one a forged live holder claims

    // A PID that names a live process (this one), and a beacon nobody
    // holds: dead, recovered.
    let dead = ForgedBeacon::new(&dir.0, 0x1111_2222_3333_4444, false);
    r::write_slot(&path, 5, dead.id, r::TOKEN, 0, std::process::id());
    // A PID of a process that has exited (and may be reused), and a beacon
    // someone holds: alive, kept.
    let mut exited = Command::new("true").spawn().unwrap();
    let gone = exited.id();
    exited.wait().unwrap();
    assert!(!r::exists(gone));
    let live = ForgedBeacon::new(&dir.0, 0x5555_6666_7777_8888, true);
    r::write_slot(&path, 6, live.id, 0, r::SHARED_TOKEN, gone);

    let done = sem.recover().unwrap();
    assert_eq!((done.tokens, done.holders), (1, 1));
    assert_eq!(sem.value(), 2);
    assert_eq!(
        r::read_slot(&path, 5).0,
        0,
        "the dead holder's slot is free"
    );
    assert!(!dead.path.exists(), "its beacon is removed");
    let kept: Vec<_> = sem.holders().unwrap().filter(|h| h.slot == 6).collect();
    assert_eq!((kept[0].pid, kept[0].tokens), (gone, 1));
    assert_eq!(kept[0].liveness, Liveness::Alive);
    drop(live);
}

#[test]
fn a_holder_in_another_pid_namespace_is_alive_while_it_lives() {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        panic!(
            "NOT RUN: needs root for `unshare --pid` (CI runs as root); \
             run as root, or --skip this test"
        );
    }
    let dir = TestDir::new("pidns");
    let sem = r::create(&dir.0, "s", 1);
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("unshare")
        .args(["--pid", "--fork", "--kill-child"])
        .arg(exe)
        .args([
            "child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("NSEM_ROLE", "hold")
        .env("NSEM_ARGS", format!("{}\u{1f}s", dir.0))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare");
    let start = Instant::now();
    while sem.value() != 0 {
        assert!(start.elapsed() < LIMIT, "the holder never held");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("unshare ended: {status}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let h: Vec<_> = sem.holders().unwrap().filter(|h| h.tokens == 1).collect();
    assert_eq!(h[0].pid, 1, "its PID in its own namespace");
    assert_ne!(h[0].pid_namespace, r::pid_namespace());
    assert_eq!(h[0].liveness, Liveness::Alive);
    assert_eq!(sem.recover().unwrap().tokens, 0);
    // Killing unshare kills the namespace's first process (--kill-child).
    child.kill().unwrap();
    child.wait().unwrap();
    wait_until("the holder's death to be seen", LIMIT, || {
        sem.recover().unwrap().tokens == 1
    });
    assert_eq!(sem.value(), 1);
}

#[test]
fn many_threads_hold_through_one_handle() {
    let dir = TestDir::new("threads");
    let sem = r::create(&dir.0, "s", 8);
    // In this process: threads take and give back concurrently, and the
    // record ends at what they still hold.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for i in 0..2_000 {
                    let p = hold(&sem);
                    if i % 3 == 0 {
                        let q = sem.try_acquire().unwrap();
                        drop(q);
                    }
                    drop(p);
                }
            });
        }
    });
    let me = sem.holders().unwrap().next().unwrap();
    assert_eq!((me.tokens, me.pending, sem.value()), (0, 0, 8));

    // In another process, killed while 6 of its threads hold a token each.
    let child = spawn("hold-threads", &[&dir.0, "s", "6"]);
    let pid = child.id();
    wait_until("the threads to hold", LIMIT, || r::holds(&sem, pid, 6));
    assert_eq!(sem.value(), 2);
    let h: Vec<_> = sem.holders().unwrap().filter(|h| h.pid == pid).collect();
    assert_eq!((h.len(), h[0].tokens), (1, 6));
    r::signal(pid, libc::SIGKILL);
    drop(finish(child, LIMIT));
    let done = sem.recover().unwrap();
    assert_eq!((done.tokens, done.holders), (6, 1));
    assert_eq!(sem.value(), 8);
}

#[test]
fn a_waiter_checks_before_it_sleeps_and_once_per_period() {
    let dir = TestDir::new("period");
    let sem = r::create(&dir.0, "s", 1);
    let slow = NamedSemaphore::options()
        .directory(&dir.0)
        .robust(true)
        .check_period(Duration::from_secs(3600))
        .open("s")
        .unwrap();

    // Killed before the wait begins: the check before sleeping finds it.
    let child = spawn("hold", &[&dir.0, "s"]);
    wait_until("the holder to hold", LIMIT, || {
        r::holds(&sem, child.id(), 1)
    });
    r::signal(child.id(), libc::SIGKILL);
    drop(finish(child, LIMIT));
    let p = slow.acquire_timeout(LIMIT).unwrap();
    assert!(p.is_some(), "recovered before sleeping");
    drop(p);

    // Killed while it sleeps, with an hour between checks: it is not found
    // within the wait; with a short period it is.
    let child = spawn("hold", &[&dir.0, "s"]);
    let pid = child.id();
    wait_until("the holder to hold", LIMIT, || r::holds(&sem, pid, 1));
    std::thread::scope(|s| {
        let waiter = s.spawn(|| {
            slow.acquire_timeout(Duration::from_millis(400))
                .unwrap()
                .is_some()
        });
        std::thread::sleep(Duration::from_millis(100));
        r::signal(pid, libc::SIGKILL);
        assert!(!waiter.join().unwrap(), "no check within the hour");
    });
    drop(finish(child, LIMIT));
    let quick = sem.acquire_timeout(LIMIT).unwrap();
    assert!(quick.is_some(), "the 20 ms waiter recovers it");
}
