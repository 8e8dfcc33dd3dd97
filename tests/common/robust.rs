//! Support for the robust-mode tests: the record's documented layout (to
//! read and forge slots as another program would), beacon files, and child
//! roles that hold tokens until they are killed.
#![allow(dead_code)]

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use named_semaphores::{Existence, NamedSemaphore, Permit};

/// The record's layout, as docs/design.md gives it.
pub const HEADER_OFFSET: u64 = 64;
pub const SLOTS_OFFSET: u64 = 128;
pub const SLOT_LEN: u64 = 32;
pub const SLOTS: usize = 124;
/// A slot's two lanes: one token in the exclusive lane (`own`), its count
/// and its BUSY bit (the bits above are a generation); one token, one pending operation and the RECOVERING flag in
/// the shared lane.
pub const TOKEN: u64 = 1;
pub const COUNT: u64 = 0xffff_ffff;
pub const BUSY: u64 = 1 << 32;
pub const SHARED_TOKEN: u64 = 1 << 32;
pub const PENDING: u64 = 1;
pub const RECOVERING: u64 = 1 << (16 + 2);

/// Held while a child process is started, and by a test that checks what a
/// handle's drop gives back: a child started by another test thread holds a
/// copy of every descriptor of this process until its `exec`, beacons
/// included, and a beacon held by someone keeps its holder alive.
static FORKING: Mutex<()> = Mutex::new(());

/// No child is being started while this is held.
pub fn no_fork() -> MutexGuard<'static, ()> {
    FORKING.lock().unwrap_or_else(|e| e.into_inner())
}

/// [`crate::common::spawn`], while no test checks a drop.
pub fn spawn(role: &str, args: &[&str]) -> Child {
    let _quiet = no_fork();
    crate::common::spawn(role, args)
}

/// The file of semaphore `name` in `dir`.
pub fn sem_path(dir: &str, name: &str) -> PathBuf {
    Path::new(dir).join(format!("sem.{name}"))
}

/// The beacon file of holder `id` in `dir`.
pub fn beacon_path(dir: &str, id: u64) -> PathBuf {
    Path::new(dir).join(format!("nsem-holder.{id:016x}"))
}

/// The beacon files in `dir`, sorted.
pub fn beacons(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.starts_with("nsem-holder.").then_some(name)
        })
        .collect();
    v.sort();
    v
}

/// Creates a robust semaphore `name` in `dir` with `limit` tokens.
pub fn create(dir: &str, name: &str, limit: u32) -> NamedSemaphore {
    NamedSemaphore::options()
        .directory(dir)
        .robust(true)
        .initial_value(limit)
        .existence(Existence::CreateNew)
        .check_period(Duration::from_millis(20))
        .open(name)
        .expect("create robust semaphore")
}

/// Opens the robust semaphore `name` in `dir` as another holder.
pub fn open(dir: &str, name: &str) -> NamedSemaphore {
    NamedSemaphore::options()
        .directory(dir)
        .robust(true)
        .check_period(Duration::from_millis(20))
        .open(name)
        .expect("open robust semaphore")
}

/// Whether the record shows process `pid` holding `tokens` tokens, with no
/// operation in flight. The semaphore's value drops before the take is
/// recorded (a window of a few instructions, wide under emulation): a test
/// that stops or kills a holder waits for this, not for the value, or its
/// holder may be caught in that window (its token then uncertain).
pub fn holds(sem: &NamedSemaphore, pid: u32, tokens: u32) -> bool {
    sem.holders()
        .expect("holders")
        .any(|h| h.pid == pid && h.tokens == tokens && h.pending == 0)
}

/// Takes a token that the handle records.
pub fn hold(sem: &NamedSemaphore) -> Permit<'_> {
    sem.acquire().expect("acquire")
}

/// Reads slot `index`: (beacon, own lane, shared lane, pid).
pub fn read_slot(path: &Path, index: usize) -> (u64, u64, u64, u32) {
    let f = File::open(path).expect("open semaphore file");
    let mut b = [0u8; 32];
    f.read_exact_at(&mut b, SLOTS_OFFSET + index as u64 * SLOT_LEN)
        .expect("read slot");
    let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().unwrap());
    (
        u64_at(0),
        u64_at(8),
        u64_at(16),
        u32::from_ne_bytes(b[24..28].try_into().unwrap()),
    )
}

/// Writes slot `index` as another program could: beacon, both lanes, pid.
pub fn write_slot(path: &Path, index: usize, beacon: u64, own: u64, shared: u64, pid: u32) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open semaphore file for writing");
    let mut b = [0u8; 32];
    b[0..8].copy_from_slice(&beacon.to_ne_bytes());
    b[8..16].copy_from_slice(&own.to_ne_bytes());
    b[16..24].copy_from_slice(&shared.to_ne_bytes());
    b[24..28].copy_from_slice(&pid.to_ne_bytes());
    f.write_all_at(&b, SLOTS_OFFSET + index as u64 * SLOT_LEN)
        .expect("write slot");
}

/// A beacon file made by the test: `locked` holds an exclusive `flock` on
/// it (a live holder) until dropped; otherwise it is a dead holder's.
pub struct ForgedBeacon {
    pub id: u64,
    pub path: PathBuf,
    _file: File,
}

impl ForgedBeacon {
    pub fn new(dir: &str, id: u64, locked: bool) -> ForgedBeacon {
        let path = beacon_path(dir, id);
        let file = File::create(&path).expect("create beacon");
        if locked {
            // SAFETY: a valid descriptor owned by `file`.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            assert_eq!(r, 0, "flock: {}", std::io::Error::last_os_error());
        }
        ForgedBeacon {
            id,
            path,
            _file: file,
        }
    }
}

impl Drop for ForgedBeacon {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Sends `signal` to `pid`.
pub fn signal(pid: u32, signal: i32) {
    // SAFETY: plain kill(2).
    let r = unsafe { libc::kill(pid as i32, signal) };
    assert_eq!(
        r,
        0,
        "kill({pid}, {signal}): {}",
        std::io::Error::last_os_error()
    );
}

/// Whether the process `pid` exists (a zombie counts).
pub fn exists(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

/// The inode of this process's PID namespace.
pub fn pid_namespace() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/pid")
        .map(|m| m.ino())
        .unwrap_or(0)
}
