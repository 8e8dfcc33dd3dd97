//! `nsem run`: a counting lock around a command, exit statuses, timeouts,
//! and the token given back whatever happens to the command.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::process::Child;

use named_semaphores::NamedSemaphore;
use serde_json::Value;
use support::*;

/// The largest number of `in` lines not yet matched by `out` lines.
fn max_inside(log: &str) -> usize {
    let (mut now, mut max) = (0usize, 0usize);
    for line in log.lines() {
        match line {
            "in" => {
                now += 1;
                max = max.max(now);
            }
            "out" => now -= 1,
            other => panic!("unexpected log line {other:?}"),
        }
    }
    max
}

#[test]
fn run_limits_concurrency_to_the_value() {
    const VALUE: usize = 2;
    const RUNS: usize = 6;
    let name = TestName::new("run-limit");
    let dir = TestDir::new("run-limit");
    let log = format!("{}/log", dir.0);
    let sem = NamedSemaphore::create(&name, VALUE as u32).unwrap();
    // Each command logs its entry, waits (at most 10 s) until VALUE entries
    // have been logged, so that the first VALUE commands are certainly
    // inside together, stays a little, and logs its exit.
    let script = format!(
        "echo in >> {log}; i=0; \
         while [ $(grep -c in {log}) -lt {VALUE} ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done; \
         sleep 0.1; echo out >> {log}"
    );
    let runs: Vec<Child> = (0..RUNS)
        .map(|_| start(&["run", &name, "--", "sh", "-c", &script]))
        .collect();
    for run in runs {
        let (code, _, err) = outcome(&finish(run, LIMIT));
        assert_eq!(code, 0, "{err}");
    }
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(log.lines().filter(|l| *l == "in").count(), RUNS);
    assert_eq!(max_inside(&log), VALUE, "log:\n{log}");
    assert_eq!(sem.value(), VALUE as u32);
    assert_eq!(sem.as_raw().waiters(), 0);
}

#[test]
fn run_passes_on_the_exit_status_and_always_releases() {
    let name = TestName::new("run-status");
    let sem = NamedSemaphore::create(&name, 1).unwrap();
    let (code, out, _) = nsem(&["run", &name, "sh", "-c", "echo held; exit 7"]);
    assert_eq!((code, out.as_str()), (7, "held\n"));
    assert_eq!(sem.value(), 1);
    // The command runs with the token taken.
    let (code, out, _) = nsem(&[
        "run",
        &name,
        "--",
        env!("CARGO_BIN_EXE_nsem"),
        "info",
        &name,
        "--json",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["value"], 0);
    assert_eq!(sem.value(), 1);
    // A command that cannot be found: 127, and the token is back.
    let (code, _, err) = nsem(&["run", &name, "--", "/nonexistent/command"]);
    assert_eq!(code, 127, "{err}");
    assert!(
        err.contains(&name.name) && err.contains("cannot run"),
        "{err}"
    );
    assert_eq!(sem.value(), 1);
}

#[test]
fn run_times_out_without_running_the_command() {
    let name = TestName::new("run-busy");
    let dir = TestDir::new("run-busy");
    let marker = format!("{}/ran", dir.0);
    let sem = NamedSemaphore::create(&name, 0).unwrap();
    fails(
        &["run", &name, "--timeout", "0.2", "--", "touch", &marker],
        EXIT_BUSY,
        &name,
        "timed out",
    );
    assert!(!std::path::Path::new(&marker).exists());
    assert_eq!((sem.value(), sem.as_raw().waiters()), (0, 0));
}

/// Starts `nsem run NAME -- sh -c 'echo $$ > PIDFILE; exec sleep 60'` and
/// returns it with the command's pid once it is running.
fn run_sleeper(name: &TestName, dir: &TestDir) -> (Child, u32) {
    let pidfile = format!("{}/pid", dir.0);
    let script = format!("echo $$ > {pidfile}.tmp && mv {pidfile}.tmp {pidfile} && exec sleep 60");
    let run = start(&["run", name, "--", "sh", "-c", &script]);
    let mut pid = 0;
    wait_until("the command to start", LIMIT, || {
        pid = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        pid != 0
    });
    (run, pid)
}

#[test]
fn run_releases_when_the_command_is_killed() {
    let name = TestName::new("run-killed");
    let dir = TestDir::new("run-killed");
    let sem = NamedSemaphore::create(&name, 1).unwrap();
    let (run, pid) = run_sleeper(&name, &dir);
    assert_eq!(sem.value(), 0);
    kill(pid, libc::SIGKILL);
    let (code, _, err) = outcome(&finish(run, LIMIT));
    assert_eq!(code, 128 + libc::SIGKILL, "{err}");
    assert_eq!(sem.value(), 1);
}

#[test]
fn run_passes_sigterm_on_and_releases() {
    let name = TestName::new("run-term");
    let dir = TestDir::new("run-term");
    let sem = NamedSemaphore::create(&name, 1).unwrap();
    let (run, _pid) = run_sleeper(&name, &dir);
    assert_eq!(sem.value(), 0);
    kill(run.id(), libc::SIGTERM);
    let (code, _, err) = outcome(&finish(run, LIMIT));
    // The command (sleep) died of the forwarded SIGTERM; nsem reports it.
    assert_eq!(code, 128 + libc::SIGTERM, "{err}");
    assert_eq!(sem.value(), 1);
}
