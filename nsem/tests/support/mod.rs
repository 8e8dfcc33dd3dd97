//! Helpers shared by the `nsem` integration tests: running the built tool
//! and checking its exit code, output and messages.
#![allow(dead_code, unused_imports)]

#[path = "../../../tests/common/mod.rs"]
pub mod common;

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub use common::{finish, glibc, wait_until, TestDir, TestName};
use serde_json::Value;

pub const LIMIT: Duration = Duration::from_secs(60);

pub const EXIT_BUSY: i32 = 1;
pub const EXIT_ERROR: i32 = 2;
pub const EXIT_USAGE: i32 = 64;

pub fn start(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_nsem"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nsem")
}

/// Runs nsem to the end: (exit code, stdout, stderr).
pub fn nsem(args: &[&str]) -> (i32, String, String) {
    let out = finish(start(args), LIMIT);
    outcome(&out)
}

pub fn outcome(out: &Output) -> (i32, String, String) {
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
pub fn ok(args: &[&str]) -> String {
    let (code, out, err) = nsem(args);
    assert_eq!(code, 0, "nsem {args:?} failed: {err}");
    assert!(err.is_empty(), "nsem {args:?} wrote to stderr: {err}");
    out
}

/// Checks a failure: the exit code, and one line on stderr that names the
/// semaphore and contains `cause`.
pub fn fails(args: &[&str], want: i32, name: &str, cause: &str) {
    let (code, _, err) = nsem(args);
    assert_eq!(code, want, "nsem {args:?}: stderr {err}");
    assert_eq!(err.lines().count(), 1, "one line expected: {err:?}");
    assert!(err.starts_with("nsem: "), "{err}");
    assert!(err.contains(name), "{err:?} does not name {name}");
    assert!(err.contains(cause), "{err:?} does not say {cause:?}");
}

pub fn list_json(args: &[&str]) -> Vec<Value> {
    let out = ok(args);
    let v: Value = serde_json::from_str(&out).expect("list --json is JSON");
    v.as_array().expect("an array").clone()
}

pub fn find<'a>(entries: &'a [Value], name: &str) -> &'a Value {
    let slashed = format!("/{name}");
    entries
        .iter()
        .find(|e| e["name"] == slashed.as_str())
        .unwrap_or_else(|| panic!("{slashed} not listed"))
}

pub fn kill(pid: u32, sig: i32) {
    // SAFETY: plain system call on a child process this test started.
    assert_eq!(unsafe { libc::kill(pid as i32, sig) }, 0);
}

pub fn ok_output(out: Output) -> String {
    let (code, stdout, stderr) = outcome(&out);
    assert_eq!(code, 0, "{stderr}");
    stdout
}

/// Makes `cmd` run as nobody (65534), without supplementary groups.
pub fn as_nobody(cmd: &mut Command) {
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
}
