//! Robust semaphores from the shell: `info` shows each holder process and
//! whether it lives, `recover` gives back what dead holders held (and only
//! theirs), `run --robust` is such a holder, and a semaphore without a
//! record is refused. The holders are real processes: this test binary
//! re-executed in a role, or `nsem` itself, killed with SIGKILL.
#![cfg(all(target_os = "linux", target_env = "gnu", target_has_atomic = "64"))]

mod support;

use std::os::unix::fs::FileExt;
use std::process::Child;

use named_semaphores::{holders_in, inspect_in, Existence, NamedSemaphore};
use serde_json::Value;
use support::*;

/// A slot's offset in the record, and where its shared lane sits in it (see
/// docs/design.md: the count of operations in flight is the shared lane's
/// low 16 bits).
const SLOTS_OFFSET: u64 = 128;
const SLOT_LEN: u64 = 32;
const SHARED_LANE: u64 = 16;

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    let Some((role, a)) = common::role() else {
        return;
    };
    match role.as_str() {
        // Opens the robust semaphore `a[1]` in `a[0]` and holds one
        // recorded token until killed (at most LIMIT).
        "robust-hold" => {
            let sem = NamedSemaphore::options()
                .directory(&a[0])
                .robust(true)
                .unlink_on_drop(false)
                .open(&a[1])
                .expect("open robust");
            let permit = sem.acquire().expect("acquire");
            std::thread::sleep(LIMIT);
            drop(permit);
        }
        other => panic!("unknown role {other}"),
    }
    std::process::exit(0);
}

/// A child process killed (and reaped) when the test ends, also when it
/// fails.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Reaped {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL, and waits until the process is gone.
    fn kill_now(&mut self) {
        kill(self.pid(), libc::SIGKILL);
        let _ = self.0.wait();
    }
}

/// A robust semaphore `s` made by `nsem create --robust` in a directory of
/// its own (removed with the holders' files at the end).
fn robust_sem(tag: &str, value: u32) -> TestDir {
    let dir = TestDir::new(tag);
    ok(&[
        "--dir",
        &dir.0,
        "create",
        "s",
        "--robust",
        "--value",
        &value.to_string(),
    ]);
    dir
}

fn value(dir: &TestDir) -> u32 {
    inspect_in(&dir.0, "s").unwrap().value.unwrap()
}

/// A holder process of `s` holding one token, once its record says so (the
/// value drops a few instructions before the take is recorded: a holder
/// killed in between leaves its token uncertain).
fn holder(dir: &TestDir, before: u32) -> Reaped {
    let child = Reaped(common::spawn("robust-hold", &[&dir.0, "s"]));
    let pid = child.pid();
    wait_until("the holder to take its token", LIMIT, || {
        holders_in(&dir.0, "s")
            .unwrap()
            .any(|h| h.pid == pid && h.tokens == 1 && h.pending == 0)
    });
    assert_eq!(value(dir), before - 1);
    child
}

fn info_json(dir: &TestDir) -> Value {
    let out = ok(&["--dir", &dir.0, "info", "s", "--json"]);
    serde_json::from_str(&out).expect("info --json is JSON")
}

/// The holders listed by `info --json`.
fn holders(dir: &TestDir) -> Vec<Value> {
    info_json(dir)["record"]["holders"]
        .as_array()
        .expect("a robust semaphore's record lists holders")
        .clone()
}

fn holder_of(holders: &[Value], pid: u32) -> &Value {
    holders
        .iter()
        .find(|h| h["pid"] == pid)
        .unwrap_or_else(|| panic!("pid {pid} not among the holders {holders:?}"))
}

fn recover_json(dir: &TestDir) -> Value {
    let out = ok(&["--dir", &dir.0, "recover", "s", "--json"]);
    serde_json::from_str(&out).expect("recover --json is JSON")
}

fn beacons(dir: &TestDir) -> usize {
    dir.files()
        .iter()
        .filter(|f| f.starts_with("nsem-holder."))
        .count()
}

#[test]
fn a_killed_holder_shows_dead_and_recover_gives_its_token_back() {
    let dir = robust_sem("killed", 2);
    let table = ok(&["--dir", &dir.0, "list"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("/s ") && l.ends_with(" ok, robust")),
        "{table}"
    );
    let mut a = holder(&dir, 2);
    let b = holder(&dir, 1);
    let listed = holders(&dir);
    assert_eq!(listed.len(), 2, "{listed:?}");
    for pid in [a.pid(), b.pid()] {
        let h = holder_of(&listed, pid);
        assert_eq!(
            (h["tokens"].as_u64(), h["liveness"].as_str()),
            (Some(1), Some("alive"))
        );
    }
    a.kill_now();
    assert_eq!(
        value(&dir),
        0,
        "a killed holder's token is not back by itself"
    );
    let listed = holders(&dir);
    assert_eq!(holder_of(&listed, a.pid())["liveness"], "dead");
    assert_eq!(holder_of(&listed, b.pid())["liveness"], "alive");
    let text = ok(&["--dir", &dir.0, "info", "s"]);
    let line = |pid: u32| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(&pid.to_string()))
            .unwrap_or_else(|| panic!("no holder line for {pid} in\n{text}"))
            .to_owned()
    };
    assert!(line(a.pid()).ends_with(" 1  dead"), "{text}");
    assert!(line(b.pid()).ends_with(" 1  alive"), "{text}");
    assert!(text.contains("robust:  yes, limit 2"), "{text}");

    let out = ok(&["--dir", &dir.0, "recover", "s"]);
    assert_eq!(out, "/s: gave back 1 token of 1 dead holder; value now 1\n");
    assert_eq!(value(&dir), 1);
    // Once only: the holder's slot is free, its file gone.
    let again = recover_json(&dir);
    assert_eq!(
        (again["tokens"].as_u64(), again["holders"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(again["value"].as_u64(), Some(1));
    let listed = holders(&dir);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(beacons(&dir), 1, "the live holder's file only");
    let record = &info_json(&dir)["record"];
    assert_eq!(record["recovered"].as_u64(), Some(1));
    drop(b);
}

#[test]
fn a_stopped_holder_is_alive_and_recover_gives_nothing() {
    let dir = robust_sem("stopped", 1);
    let mut h = holder(&dir, 1);
    kill(h.pid(), libc::SIGSTOP);
    let listed = holders(&dir);
    assert_eq!(holder_of(&listed, h.pid())["liveness"], "alive");
    let done = recover_json(&dir);
    assert_eq!(
        (done["tokens"].as_u64(), done["holders"].as_u64()),
        (Some(0), Some(0))
    );
    assert_eq!(value(&dir), 0);
    // Killed while stopped: now it is dead, and its token comes back.
    h.kill_now();
    let done = recover_json(&dir);
    assert_eq!(
        (done["tokens"].as_u64(), done["holders"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(done["uncertain"].as_u64(), Some(0));
    assert_eq!(value(&dir), 1);
    assert_eq!(beacons(&dir), 0);
}

#[test]
fn a_holder_killed_mid_operation_is_uncertain() {
    let dir = robust_sem("uncertain", 1);
    let mut h = holder(&dir, 1);
    let slot = holder_of(&holders(&dir), h.pid())["slot"].as_u64().unwrap();
    h.kill_now();
    // As if it died inside an operation: one in flight in its slot.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(format!("{}/sem.s", dir.0))
        .unwrap();
    let at = SLOTS_OFFSET + slot * SLOT_LEN + SHARED_LANE;
    let mut lane = [0u8; 8];
    file.read_exact_at(&mut lane, at).unwrap();
    let shared = u64::from_ne_bytes(lane) + 1;
    file.write_all_at(&shared.to_ne_bytes(), at).unwrap();
    let listed = holders(&dir);
    let dead = holder_of(&listed, h.pid());
    assert_eq!(
        (dead["liveness"].as_str(), dead["uncertain"].as_u64()),
        (Some("dead"), Some(1))
    );
    let text = ok(&["--dir", &dir.0, "info", "s"]);
    assert!(
        text.contains(" 1  dead, 1 uncertain (not given back)"),
        "{text}"
    );
    let out = ok(&["--dir", &dir.0, "recover", "s"]);
    assert!(
        out.starts_with("/s: gave back 1 token of 1 dead holder; value now 1\n"),
        "{out}"
    );
    assert!(out.contains("1 token uncertain"), "{out}");
    assert_eq!(
        value(&dir),
        1,
        "the recorded token back, never above the limit"
    );
    assert_eq!(info_json(&dir)["record"]["uncertain"].as_u64(), Some(1));
}

#[test]
fn run_robust_gives_the_token_back_when_nsem_is_killed() {
    let dir = robust_sem("run", 1);
    let pidfile = format!("{}/command.pid", dir.0);
    let script = format!("echo $$ > {pidfile}; exec sleep 60");
    let mut run = Reaped(start(&[
        "--dir", &dir.0, "run", "--robust", "s", "--", "sh", "-c", &script,
    ]));
    wait_until("the command to start", LIMIT, || {
        std::fs::read_to_string(&pidfile).is_ok_and(|s| s.ends_with('\n'))
    });
    let command: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The command is killed at the end, whatever happens.
    let _command = Killed(command);
    assert_eq!(value(&dir), 0);
    assert_eq!(holder_of(&holders(&dir), run.pid())["liveness"], "alive");
    run.kill_now();
    // nsem is gone; the command it started does not hold its record.
    assert_eq!(holder_of(&holders(&dir), run.pid())["liveness"], "dead");
    let done = recover_json(&dir);
    assert_eq!(done["tokens"].as_u64(), Some(1));
    assert_eq!(value(&dir), 1);
}

/// A process killed with SIGKILL when the test ends (not a child of this
/// one: reaped by its parent).
struct Killed(u32);

impl Drop for Killed {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on a process this test started.
        unsafe { libc::kill(self.0 as i32, libc::SIGKILL) };
    }
}

#[test]
fn a_semaphore_without_a_record_is_refused() {
    let name = TestName::new("plain");
    ok(&["create", &name]);
    fails(&["recover", &name], EXIT_ERROR, &name, "no robust record");
    fails(
        &["run", "--robust", &name, "--", "true"],
        EXIT_ERROR,
        &name,
        "not a robust semaphore",
    );
    assert_eq!(glibc::value(&name), 1, "nothing taken");
    // A record is added only with the limit given, never below the value.
    fails(
        &["create", &name, "--robust", "--exist-ok"],
        EXIT_ERROR,
        &name,
        "give initial_value",
    );
    ok(&["post", &name, "2"]);
    fails(
        &["create", &name, "--robust", "--exist-ok", "--value", "2"],
        EXIT_ERROR,
        &name,
        "above the initial_value",
    );
    ok(&["wait", &name]);
    ok(&["wait", &name]);
    let text = ok(&["info", &name]);
    assert!(text.lines().any(|l| l == "robust:  no"), "{text}");
    let v: Value = serde_json::from_str(&ok(&["info", &name, "--json"])).unwrap();
    assert_eq!(
        (v["robust"].as_bool(), v["record"].is_null()),
        (Some(false), true)
    );
    fails(
        &["recover", "nsem-no-such-semaphore-at-all"],
        EXIT_ERROR,
        "nsem-no-such",
        "does not exist",
    );
}

#[test]
fn recover_leaves_plain_holders_and_glibc_tokens_alone() {
    // Tokens taken by glibc or plain handles are not recorded: a recovery
    // does not give them back, even once their process is gone.
    let dir = robust_sem("plain-holders", 2);
    let sem = NamedSemaphore::options()
        .directory(&dir.0)
        .existence(Existence::OpenExisting)
        .unlink_on_drop(false)
        .open("s")
        .unwrap();
    sem.acquire().unwrap().forget();
    let done = recover_json(&dir);
    assert_eq!(
        (done["tokens"].as_u64(), done["value"].as_u64()),
        (Some(0), Some(1))
    );
}

#[test]
fn recover_removes_the_beacons_of_holders_killed_while_opening() {
    // A holder killed between naming its beacon and claiming a slot leaves
    // a beacon that no slot names, tagged for its semaphore ("nsem-hb1",
    // then the device and inode of the semaphore's file). Recover removes
    // it, and says so; another semaphore's beacon stays.
    use std::os::unix::fs::MetadataExt;
    let dir = robust_sem("sweep", 1);
    let st = std::fs::metadata(format!("{}/sem.s", dir.0)).unwrap();
    let tag = |ino: u64| {
        let mut t = b"nsem-hb1".to_vec();
        t.extend(st.dev().to_ne_bytes());
        t.extend(ino.to_ne_bytes());
        t
    };
    let ours = format!("{}/nsem-holder.00000000000000a1", dir.0);
    let other = format!("{}/nsem-holder.00000000000000a2", dir.0);
    std::fs::write(&ours, tag(st.ino())).unwrap();
    std::fs::write(&other, tag(st.ino() ^ 1)).unwrap();
    let out = ok(&["--dir", &dir.0, "recover", "s"]);
    assert!(
        out.contains("1 beacon file of holders killed while opening removed"),
        "{out}"
    );
    assert!(
        !std::path::Path::new(&ours).exists(),
        "the stale beacon stays"
    );
    assert!(
        std::path::Path::new(&other).exists(),
        "another's beacon went"
    );
    assert_eq!(recover_json(&dir)["beacons"].as_u64(), Some(0));
    std::fs::remove_file(&other).unwrap();
}
