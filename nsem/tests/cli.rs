//! The `nsem` tool, run as a separate program: listing, the single
//! operations against glibc peers, exit codes and messages, JSON output.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use named_semaphores::{inspect, NamedSemaphore, RawSemaphore};
use serde_json::Value;
use support::*;

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
    let (_, _, err) = nsem(&["unlink", &name]);
    assert_eq!(err.matches(&*name).count(), 1, "the name once: {err}");
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
        "\"a/b\"",
        "invalid semaphore name",
    );
    fails(&["wait", ""], EXIT_ERROR, "/", "invalid semaphore name");
    let long = "x".repeat(named_semaphores::NAME_MAX + 1);
    // An error keeps the first Error::NAME_INLINE bytes of a name.
    fails(
        &["info", &long],
        EXIT_ERROR,
        &format!("{}\"...", &long[..named_semaphores::Error::NAME_INLINE]),
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
        as_nobody(&mut cmd);
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
