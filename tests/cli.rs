//! The `nsem` tool, run as a separate program: listing, the single
//! operations against glibc peers, `run` as a counting lock, signals, exit
//! codes and messages, JSON output.
#![cfg(all(feature = "cli", target_os = "linux", target_env = "gnu"))]

mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::{finish, glibc, wait_until, TestDir, TestName};
use named_semaphores::{inspect, NamedSemaphore, RawSemaphore};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

const EXIT_BUSY: i32 = 1;
const EXIT_ERROR: i32 = 2;
const EXIT_USAGE: i32 = 64;

fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nsem"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nsem")
}

/// Runs nsem to the end: (exit code, stdout, stderr).
fn nsem(args: &[&str]) -> (i32, String, String) {
    let out = finish(start(args), LIMIT);
    outcome(&out)
}

fn outcome(out: &Output) -> (i32, String, String) {
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("nsem killed: {:?}", out.status));
    (
        code,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs nsem and insists on success.
fn ok(args: &[&str]) -> String {
    let (code, out, err) = nsem(args);
    assert_eq!(code, 0, "nsem {args:?} failed: {err}");
    assert!(err.is_empty(), "nsem {args:?} wrote to stderr: {err}");
    out
}

/// Checks a failure: the exit code, and one line on stderr that names the
/// semaphore and contains `cause`.
fn fails(args: &[&str], want: i32, name: &str, cause: &str) {
    let (code, _, err) = nsem(args);
    assert_eq!(code, want, "nsem {args:?}: stderr {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("nsem: "), "{err}");
    assert!(err.contains(name), "{err:?} does not name {name}");
    assert!(err.contains(cause), "{err:?} does not say {cause:?}");
}

fn list_json(args: &[&str]) -> Vec<Value> {
    let out = ok(args);
    let v: Value = serde_json::from_str(&out).expect("list --json is JSON");
    v.as_array().expect("an array").clone()
}

fn find<'a>(entries: &'a [Value], name: &str) -> &'a Value {
    let slashed = format!("/{name}");
    entries
        .iter()
        .find(|e| e["name"] == slashed.as_str())
        .unwrap_or_else(|| panic!("{slashed} not listed"))
}

#[test]
fn list_shows_crate_and_glibc_semaphores() {
    let ours = TestName::new("list-crate");
    let theirs = TestName::new("list-glibc");
    let _sem = NamedSemaphore::create(&ours, 3).unwrap();
    assert_eq!(glibc::create(&theirs, 5), common::OK);

    let table = ok(&["list"]);
    let header = table.lines().next().unwrap();
    for column in ["NAME", "VALUE", "WAITERS", "MODE", "OWNER", "STATUS"] {
        assert!(header.contains(column), "{header}");
    }
    for (name, value) in [(&ours, "3"), (&theirs, "5")] {
        let row = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(&format!("/{}", name.name)))
            .unwrap_or_else(|| panic!("{} not in\n{table}", name.name));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[1], value, "{row}");
        assert_eq!(cells[2], "0", "{row}");
        assert_eq!(cells[3], "0600", "{row}");
        assert_eq!(cells[5], "ok", "{row}");
    }

    let entries = list_json(&["list", "--json"]);
    for (name, value) in [(&ours, 3), (&theirs, 5)] {
        let e = find(&entries, name);
        assert_eq!(e["value"], value);
        assert_eq!(e["waiters"], 0);
        assert_eq!(e["status"], "ok");
        assert_eq!(e["mode"], "0600");
        assert_eq!(e["size"], RawSemaphore::SIZE);
        assert_eq!(e["temporary"], false);
        let meta = std::fs::metadata(name.path()).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(e["uid"], meta.uid());
        assert_eq!(e["gid"], meta.gid());
    }
}

#[test]
fn post_and_wait_are_seen_by_glibc() {
    let name = TestName::new("postwait");
    assert_eq!(glibc::create(&name, 0), common::OK);
    ok(&["post", &name, "3"]);
    assert_eq!(glibc::value(&name), 3);
    ok(&["post", &name.slashed()]);
    assert_eq!(glibc::value(&name), 4);
    ok(&["wait", &name]);
    ok(&["wait", &name, "--try"]);
    ok(&["wait", &name, "--timeout", "5"]);
    assert_eq!(glibc::value(&name), 1);
    ok(&["wait", &name, "--timeout=0"]);
    assert_eq!(glibc::value(&name), 0);
    fails(&["wait", &name, "--try"], EXIT_BUSY, &name, "busy");
    fails(
        &["wait", &name, "--timeout", "0.2"],
        EXIT_BUSY,
        &name,
        "timed out",
    );
    assert_eq!(glibc::value(&name), 0);
    // A timed-out wait leaves no waiter behind.
    assert_eq!(inspect(&name).unwrap().waiters, Some(0));
}

#[test]
fn blocked_wait_is_woken_by_glibc_post() {
    let name = TestName::new("blocked");
    assert_eq!(glibc::create(&name, 0), common::OK);
    let waiter = start(&["wait", &name]);
    wait_until("nsem to block", LIMIT, || {
        inspect(&name).unwrap().waiters == Some(1)
    });
    assert_eq!(glibc::post(&name), common::OK);
    let (code, _, err) = outcome(&finish(waiter, LIMIT));
    assert_eq!(code, 0, "{err}");
    let info = inspect(&name).unwrap();
    assert_eq!((info.value, info.waiters), (Some(0), Some(0)));
}

#[test]
fn glibc_waiter_is_woken_by_nsem_post() {
    let name = TestName::new("gwake");
    assert_eq!(glibc::create(&name, 0), common::OK);
    let peer = std::thread::spawn({
        let name = name.name.clone();
        move || glibc::wait(&name, Duration::from_secs(30))
    });
    wait_until("glibc to block", LIMIT, || {
        inspect(&name).unwrap().waiters == Some(1)
    });
    ok(&["post", &name]);
    assert_eq!(peer.join().unwrap(), common::OK);
    assert_eq!(glibc::value(&name), 0);
}

#[test]
fn interrupted_wait_exits_130_and_leaves_no_waiter() {
    let name = TestName::new("sigint");
    let sem = NamedSemaphore::create(&name, 0).unwrap();
    let waiter = start(&["wait", &name]);
    wait_until("nsem to block", LIMIT, || sem.as_raw().waiters() == 1);
    kill(waiter.id(), libc::SIGINT);
    let (code, _, _) = outcome(&finish(waiter, LIMIT));
    assert_eq!(code, 128 + libc::SIGINT);
    assert_eq!(sem.as_raw().waiters(), 0);
    assert_eq!(sem.value(), 0);
}

#[test]
fn create_info_unlink() {
    let name = TestName::new("create");
    ok(&["create", &name, "--value", "7", "--mode", "0640"]);
    assert_eq!(glibc::value(&name), 7);
    let info = ok(&["info", &name]);
    for want in [
        format!("name:    /{}", name.name),
        "value:   7".to_owned(),
        "waiters: 0".to_owned(),
        "status:  ok".to_owned(),
        format!("path:    /dev/shm/sem.{}", name.name),
    ] {
        assert!(info.lines().any(|l| l == want), "{want:?} not in\n{info}");
    }
    // The umask may clear bits, never add them.
    let mode = std::fs::metadata(name.path()).unwrap().permissions();
    use std::os::unix::fs::PermissionsExt;
    let mode = mode.mode() & 0o7777;
    assert_eq!(mode & !0o640, 0);
    let json: Value = serde_json::from_str(&ok(&["info", &name, "--json"])).unwrap();
    assert_eq!(json["name"], format!("/{}", name.name).as_str());
    assert_eq!(json["value"], 7);
    assert_eq!(json["mode"], format!("{mode:04o}").as_str());

    fails(&["create", &name], EXIT_ERROR, &name, "already exists");
    ok(&["create", &name, "--exist-ok", "--value", "1"]);
    assert_eq!(glibc::value(&name), 7, "--exist-ok changed the value");

    let other = TestName::new("create-other");
    ok(&["create", &other, "--value", "0"]);
    ok(&["unlink", &name, &other]);
    assert!(!name.exists() && !other.exists());
    fails(&["unlink", &name], EXIT_ERROR, &name, "does not exist");
}

#[test]
fn errors_name_the_semaphore_and_use_the_documented_codes() {
    let missing = TestName::new("missing");
    for cmd in ["info", "post", "wait"] {
        fails(&[cmd, &missing], EXIT_ERROR, &missing, "does not exist");
    }
    fails(
        &["run", &missing, "--", "true"],
        EXIT_ERROR,
        &missing,
        "does not exist",
    );
    assert!(!missing.exists());
    let nodir = format!("/dev/shm/{}-nodir", missing.name);
    fails(
        &["--dir", &nodir, "list"],
        EXIT_ERROR,
        &nodir,
        "cannot list the directory",
    );
    fails(
        &["create", "a/b"],
        EXIT_ERROR,
        "/a/b",
        "invalid semaphore name",
    );
    fails(&["wait", ""], EXIT_ERROR, "/", "invalid semaphore name");
    let long = "x".repeat(named_semaphores::NAME_MAX + 1);
    fails(
        &["info", &long],
        EXIT_ERROR,
        &long,
        "invalid semaphore name",
    );
    // Usage errors: one line, pointing at --help.
    for args in [
        &[][..],
        &["frobnicate"],
        &["wait"],
        &["wait", "x", "--try", "--timeout", "1"],
        &["post", "x", "many"],
        &["list", "--value", "3"],
        &["run", "x"],
    ] {
        let (code, out, err) = nsem(args);
        assert_eq!(code, EXIT_USAGE, "{args:?}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("--help"), "{err}");
    }
    let help = ok(&["--help"]);
    for documented in ["Exit status", "64", "126", "127", "128+N"] {
        assert!(help.contains(documented), "--help lacks {documented}");
    }
}

#[test]
fn post_overflow_is_an_error_and_changes_nothing() {
    let name = TestName::new("overflow");
    let sem = NamedSemaphore::create(&name, named_semaphores::VALUE_MAX - 1).unwrap();
    fails(&["post", &name, "2"], EXIT_ERROR, &name, "VALUE_MAX");
    assert_eq!(sem.value(), named_semaphores::VALUE_MAX - 1);
}

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

fn kill(pid: u32, sig: i32) {
    // SAFETY: plain system call on a child process this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
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

#[test]
fn list_reports_odd_files_faithfully() {
    let dir = TestDir::new("odd");
    let d = dir.0.as_str();
    ok(&["--dir", d, "create", "good", "--value", "2"]);
    let image = std::fs::read(format!("{d}/sem.good")).unwrap();
    // A valid semaphore whose name is not UTF-8.
    use std::os::unix::ffi::OsStrExt;
    let raw = std::ffi::OsStr::from_bytes(b"sem.caf\xe9");
    std::fs::write(std::path::Path::new(d).join(raw), &image).unwrap();
    std::fs::write(format!("{d}/sem.short"), [0u8; 10]).unwrap();
    std::fs::create_dir(format!("{d}/sem.adir")).unwrap();
    std::os::unix::fs::symlink(format!("{d}/sem.good"), format!("{d}/sem.link")).unwrap();
    // A glibc-style temporary file that is still empty.
    std::fs::write(format!("{d}/sem.Ab3xY9"), b"").unwrap();
    let mut header = image.clone();
    header[RawSemaphore::SIZE / 2..].fill(0xff);
    header[..RawSemaphore::SIZE / 2].fill(0);
    std::fs::write(format!("{d}/sem.garbled"), &header).unwrap();
    // Not a semaphore file at all: left out.
    std::fs::write(format!("{d}/notes.txt"), b"hello").unwrap();

    let entries = list_json(&["--dir", d, "list", "--json"]);
    let status = |hex: &str| -> &Value {
        entries
            .iter()
            .find(|e| e["name_hex"] == hex)
            .unwrap_or_else(|| panic!("{hex} not listed: {entries:?}"))
    };
    let hex = |s: &[u8]| s.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(entries.len(), 7, "{entries:#?}");
    let good = status(&hex(b"good"));
    assert_eq!((&good["status"], &good["value"]), (&"ok".into(), &2.into()));
    let odd = status(&hex(b"caf\xe9"));
    assert_eq!(odd["name"], Value::Null);
    assert_eq!((&odd["status"], &odd["value"]), (&"ok".into(), &2.into()));
    let short = status(&hex(b"short"));
    assert_eq!(
        (&short["status"], &short["size"]),
        (&"wrong-size".into(), &10.into())
    );
    assert_eq!(short["value"], Value::Null);
    assert_eq!(status(&hex(b"adir"))["status"], "not-regular-file");
    assert_eq!(status(&hex(b"adir"))["type"], "directory");
    assert_eq!(status(&hex(b"link"))["type"], "symlink");
    let tmp = status(&hex(b"Ab3xY9"));
    assert_eq!(
        (&tmp["status"], &tmp["temporary"]),
        (&"wrong-size".into(), &true.into())
    );
    assert_eq!(status(&hex(b"garbled"))["status"], "bad-header");

    let table = ok(&["--dir", d, "list"]);
    assert!(table.contains("/caf\\xe9 "), "{table}");
    assert!(table.contains("wrong-size (0 bytes), temporary"), "{table}");
    // The odd files are still refused by open, as listed.
    fails(
        &["--dir", d, "wait", "short"],
        EXIT_ERROR,
        "/short",
        "not a valid semaphore",
    );
}

#[test]
fn unreadable_semaphores_are_listed_with_their_owner() {
    let dir = TestDir::new("unreadable");
    let d = dir.0.as_str();
    ok(&[
        "--dir", d, "create", "locked", "--value", "1", "--mode", "0600",
    ]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nsem"));
    cmd.args(["--dir", d, "list", "--json"]);
    if common::is_root() {
        // Root reads everything: look as nobody instead.
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe system calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(65534) != 0
                    || libc::setuid(65534) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    } else {
        use std::os::unix::fs::PermissionsExt;
        let path = format!("{d}/sem.locked");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = ok_output(finish(child, LIMIT));
    let entries: Value = serde_json::from_str(&out).unwrap();
    let e = find(entries.as_array().unwrap(), "locked");
    assert_eq!(e["status"], "unreadable");
    assert_eq!(e["value"], Value::Null);
    assert!(
        e["error"].as_str().unwrap().contains("permission denied"),
        "{e}"
    );
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(format!("{d}/sem.locked")).unwrap();
    assert_eq!(
        (e["uid"].as_u64(), e["size"].as_u64()),
        (Some(meta.uid().into()), Some(RawSemaphore::SIZE as u64))
    );
}

fn ok_output(out: Output) -> String {
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, 0, "{stderr}");
    stdout
}
