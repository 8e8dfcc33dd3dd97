//! `nsem` as a user meets it: help for every command, usage errors (exit
//! 64 with a one-line hint), `--try`, `list --watch`, and `info`'s report
//! of the processes using a semaphore.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};

use named_semaphores::NamedSemaphore;
use serde_json::Value;
use support::*;

const COMMANDS: [&str; 7] = ["list", "info", "create", "post", "wait", "unlink", "run"];

#[test]
fn help_is_there_for_every_command_however_asked() {
    let general = ok(&["help"]);
    assert_eq!(ok(&["--help"]), general);
    assert_eq!(ok(&["-h"]), general);
    for cmd in COMMANDS {
        assert!(
            general.contains(&format!("\n  {cmd} ")),
            "{cmd} not in\n{general}"
        );
        let own = ok(&["help", cmd]);
        assert!(own.starts_with(&format!("Usage: nsem {cmd}")), "{own}");
        assert_eq!(ok(&[cmd, "--help"]), own, "{cmd} --help");
        assert_eq!(ok(&[cmd, "-h"]), own, "{cmd} -h");
    }
    // After a NAME, and wherever --dir is.
    assert_eq!(
        ok(&["--dir", "/tmp", "run", "x", "--help"]),
        ok(&["help", "run"])
    );
    // --try and --timeout 0 are documented where they apply.
    for cmd in ["run", "wait"] {
        let h = ok(&["help", cmd]);
        assert!(h.contains("--try") && h.contains("0: only if"), "{h}");
    }
    assert!(ok(&["--version"]).starts_with("nsem "));
}

/// Checks a usage error: exit 64, nothing on stdout, one line on stderr
/// saying `what` and pointing at `help`.
fn usage_error(args: &[&str], what: &str, help: &str) {
    let (code, out, err) = nsem(args);
    assert_eq!(code, EXIT_USAGE, "{args:?}: {err}");
    assert!(out.is_empty(), "{args:?}: {out}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("nsem: "), "{err}");
    assert!(
        err.contains(what),
        "{args:?}: {err:?} does not say {what:?}"
    );
    assert!(err.contains(&format!("(see {help})")), "{args:?}: {err:?}");
}

#[test]
fn usage_errors_are_64_with_a_hint() {
    usage_error(&["--dir", "list"], "--dir needs a directory", "nsem --help");
    usage_error(&["--dir"], "--dir", "nsem --help");
    usage_error(
        &["--dir", "--json", "list"],
        "--dir needs a directory",
        "nsem --help",
    );
    usage_error(&[], "no command given", "nsem --help");
    usage_error(&["frobnicate"], "unknown command", "nsem --help");
    usage_error(&["help", "frobnicate"], "unknown command", "nsem --help");
    usage_error(&["--bogus", "list"], "--bogus", "nsem --help");
    usage_error(
        &["create", "x", "--value", "3000000000"],
        "2147483647",
        "nsem create --help",
    );
    usage_error(
        &["post", "x", "3000000000"],
        "2147483647",
        "nsem post --help",
    );
    usage_error(
        &["create", "x", "--mode", "0999"],
        "--mode",
        "nsem create --help",
    );
    usage_error(&["wait"], "NAME", "nsem wait --help");
    usage_error(
        &["wait", "x", "--try", "--timeout", "1"],
        "not both",
        "nsem wait --help",
    );
    usage_error(
        &["run", "x", "--timeout", "soon", "true"],
        "--timeout",
        "nsem run --help",
    );
    usage_error(&["run", "x"], "COMMAND", "nsem run --help");
    usage_error(&["list", "--json=yes"], "--json", "nsem list --help");
    usage_error(&["list", "--count", "2"], "--watch", "nsem list --help");
    usage_error(&["list", "--watch=soon"], "--watch", "nsem list --help");
    // A number right after --watch is its interval, and must be one.
    usage_error(&["list", "--watch", "1.5.5"], "--watch", "nsem list --help");
    usage_error(
        &["info", "x", "--value", "3"],
        "--value",
        "nsem info --help",
    );
    usage_error(&["--dir", "shm", "list"], "absolute", "nsem --help");
    usage_error(
        &["list", "--watch", "--json"],
        "--json does not go with --watch",
        "nsem list --help",
    );
    usage_error(
        &["list", "--watch", "1", "--count", "0"],
        "--count",
        "nsem list --help",
    );
}

#[test]
fn list_watch_redraws_at_most_ten_times_a_second() {
    let start = std::time::Instant::now();
    let (code, _, err) = nsem(&["list", "--watch", "0", "--count", "3"]);
    assert_eq!(code, 0, "{err}");
    // Three draws, two waits of at least 0.1 s between them.
    assert!(
        start.elapsed() >= std::time::Duration::from_millis(200),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn run_try_runs_only_if_a_token_is_free_now() {
    let name = TestName::new("run-try");
    let dir = TestDir::new("run-try");
    let marker = format!("{}/ran", dir.0);
    let sem = NamedSemaphore::create(&name, 1).unwrap();
    let (code, out, err) = nsem(&["run", &name, "--try", "--", "sh", "-c", "echo in"]);
    assert_eq!((code, out.as_str()), (0, "in\n"), "{err}");
    assert_eq!(sem.value(), 1);
    let held = sem.acquire().unwrap();
    for try_now in [&["--try"][..], &["--timeout", "0"]] {
        let mut args = vec!["run", &name];
        args.extend_from_slice(try_now);
        args.extend(["touch", &marker]);
        fails(&args, EXIT_BUSY, &name, "busy");
    }
    assert!(
        !std::path::Path::new(&marker).exists(),
        "ran without a token"
    );
    drop(held);
    assert_eq!((sem.value(), sem.as_raw().waiters()), (1, 0));
}

#[test]
fn list_watch_redraws_with_the_new_values() {
    let dir = TestDir::new("watch");
    let d = dir.0.as_str();
    let sem = NamedSemaphore::options()
        .directory(d)
        .initial_value(1)
        .existence(named_semaphores::Existence::CreateNew)
        .open("watched")
        .unwrap();
    let mut child = start(&["--dir", d, "list", "--watch", "3", "--count", "2"]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut row = |frame: &str| loop {
        let line = lines
            .next()
            .unwrap_or_else(|| panic!("{frame} frame missing"))
            .unwrap();
        if line.starts_with("/watched ") {
            return line;
        }
    };
    let first = row("first");
    assert_eq!(first.split_whitespace().nth(1), Some("1"), "{first}");
    sem.release_n(2).unwrap();
    let second = row("second");
    assert_eq!(second.split_whitespace().nth(1), Some("3"), "{second}");
    let (code, _, err) = outcome(&finish(child, LIMIT));
    assert_eq!(code, 0, "{err}");
}

/// `nsem info NAME --json`, parsed.
fn info(name: &str) -> Value {
    serde_json::from_str(&ok(&["info", name, "--json"])).expect("info --json is JSON")
}

fn process(v: &Value, pid: u32) -> Option<&Value> {
    v["processes"].as_array()?.iter().find(|p| p["pid"] == pid)
}

fn blocked(v: &Value, pid: u32) -> Vec<u64> {
    process(v, pid).map_or(Vec::new(), |p| {
        let ids = p["blocked_threads"].as_array().unwrap();
        ids.iter().map(|t| t.as_u64().unwrap()).collect()
    })
}

#[test]
fn info_shows_who_maps_the_semaphore_and_who_is_blocked() {
    let name = TestName::new("info-users");
    assert_eq!(glibc::create(&name, 0), common::OK);
    // A glibc waiter in this process, and nsem waiting in another.
    let tid = AtomicI32::new(0);
    let waiter_pid = std::thread::scope(|s| {
        let peer = s.spawn(|| {
            // SAFETY: gettid has no preconditions.
            tid.store(unsafe { libc::gettid() }, Ordering::SeqCst);
            glibc::wait(&name, LIMIT)
        });
        let waiter = start(&["wait", &name]);
        let (me, other) = (std::process::id(), waiter.id());
        let start = std::time::Instant::now();
        let last = loop {
            let last = info(&name);
            let t = tid.load(Ordering::SeqCst) as u64;
            if blocked(&last, me) == [t] && blocked(&last, other) == [u64::from(other)] {
                break last;
            }
            assert!(
                start.elapsed() < LIMIT,
                "both waiters never showed as blocked (glibc waiter {t}, nsem {other}): {last}"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        let nsem_row = process(&last, other).unwrap();
        assert_eq!(nsem_row["command"], "nsem");
        assert_eq!(nsem_row["blocked_count"], 1);
        let text = ok(&["info", &name]);
        assert!(text.contains("used by: "), "{text}");
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{other} "))),
            "{text}"
        );
        ok(&["post", &name, "2"]);
        assert_eq!(peer.join().unwrap(), common::OK);
        let (code, _, err) = outcome(&finish(waiter, LIMIT));
        assert_eq!(code, 0, "{err}");
        other
    });
    // The waiter is gone, and nobody is blocked any more.
    let v = info(&name);
    assert!(process(&v, waiter_pid).is_none(), "{v}");
    for p in v["processes"].as_array().unwrap() {
        assert_eq!(p["blocked_count"], 0, "{v}");
    }
}

#[test]
fn info_counts_the_processes_it_cannot_read() {
    let name = TestName::new("info-unreadable");
    let _sem = NamedSemaphore::create(&name, 1).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nsem"));
    cmd.args(["info", &name, "--json"]);
    let root = common::is_root();
    if root {
        // Look as nobody: this process (root's, mapping the semaphore) is
        // then unreadable, and must be counted, not shown.
        as_nobody(&mut cmd);
    } else if std::fs::read("/proc/1/maps").is_ok() {
        eprintln!("NOT CHECKED: not root, and process 1 is readable: nothing here is unreadable");
        return;
    }
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let v: Value = serde_json::from_str(&ok_output(finish(child, LIMIT))).unwrap();
    if root {
        assert!(process(&v, std::process::id()).is_none(), "{v}");
    }
    assert!(v["processes_unreadable"].as_u64().unwrap() >= 1, "{v}");
}
