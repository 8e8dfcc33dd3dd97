//! Who uses a semaphore: the processes that have its file mapped, and which
//! of their threads are blocked on it right now.
//!
//! Read from `/proc`: a process maps a semaphore's file to use it (glibc's
//! `sem_open` and this crate alike), so its `/proc/PID/maps` names the
//! file's device and inode; a thread blocked in `sem_wait` sits in a
//! `futex` wait on the semaphore's futex word, which
//! `/proc/PID/task/TID/syscall` shows with its address. Nothing here
//! changes anything, and nothing allocates: the caller lends the buffer.
//!
//! The answer is a snapshot, and only as complete as `/proc` lets it be: a
//! process whose `maps` cannot be read (another user's, when not root) or a
//! thread whose `syscall` cannot be read (the kernel requires the right to
//! trace it) is counted in [`UseSummary`], never silently left out. A
//! process that ended while being read is left out.

use core::ffi::CStr;
use core::fmt;
use core::mem::MaybeUninit;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{self, AtFlags, Mode, OFlags, RawDir, CWD};
use rustix::io::{self as rio, Errno};

use crate::name::{CPath, Directory, Name, Quoted};

mod proc_text;
use crate::error::{Error, ErrorKind, Operation};
use crate::file_id::FileId;
use crate::name::DEFAULT_DIRECTORY;
use proc_text::{number, read_all, scan_maps, waits_on, MAPPINGS_CHECKED};

/// A comfortable size for the buffer given to [`processes_using`]. At least
/// 2048 bytes are needed (half for the `/proc` directory, half for one
/// process's files), and they are enough for any name: a `maps` line longer
/// than its half (a name of newlines, each shown there as `\012`, makes one
/// of over 1,000 bytes) is recognised by its first fields, which name the
/// file's device and inode.
pub const PROCESSES_BUFFER_LEN: usize = 8192;

/// The most blocked thread ids one [`ProcessUse`] lists; more are counted.
pub const BLOCKED_SHOWN: usize = 16;

/// One process that has the semaphore mapped, as seen by
/// [`processes_using`].
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessUse<'a> {
    /// The process id.
    pub pid: u32,
    /// The user id owning the process's `/proc` entry (its effective user
    /// id, for a process that has not changed its dumpable flag).
    pub uid: u32,
    /// The command name (`/proc/PID/comm`: at most 15 bytes, any bytes).
    pub command: &'a [u8],
    /// How many times the process has the semaphore's file mapped.
    pub mappings: u32,
    /// The ids of its threads blocked on the semaphore now: at most
    /// [`BLOCKED_SHOWN`] of them.
    pub blocked: &'a [u32],
    /// How many of its threads are blocked on the semaphore now (may be more
    /// than `blocked` holds).
    pub blocked_count: u32,
    /// How many of its threads could not be checked (their `syscall` file
    /// was not readable).
    pub threads_unreadable: u32,
}

/// Every field, the command as text (bytes that are not UTF-8 as `\xNN`).
impl fmt::Debug for ProcessUse<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessUse")
            .field("pid", &self.pid)
            .field("uid", &self.uid)
            .field("command", &Quoted(self.command))
            .field("mappings", &self.mappings)
            .field("blocked", &self.blocked)
            .field("blocked_count", &self.blocked_count)
            .field("threads_unreadable", &self.threads_unreadable)
            .finish()
    }
}

/// Totals of one [`processes_using`] run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UseSummary {
    /// Processes found with the semaphore mapped.
    pub processes: u32,
    /// Their threads blocked on it.
    pub blocked_threads: u32,
    /// Processes whose mappings could not be read: any of them may use it.
    pub processes_unreadable: u32,
    /// Threads of the processes found that could not be checked.
    pub threads_unreadable: u32,
    /// Whether `/proc` hides other users' processes from this one (mounted
    /// with `hidepid=2`, systemd's `ProtectProc=invisible`): any of them may
    /// use the semaphore without being counted anywhere. (Processes of other
    /// PID namespaces are never visible either.)
    pub others_hidden: bool,
}

/// Finds the processes that have the semaphore `name` of `/dev/shm`
/// mapped, calling `visit` for each, with `buf` as working space.
///
/// # Errors
///
/// [`ErrorKind::InvalidName`](crate::ErrorKind::InvalidName) for an invalid
/// name; [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) if there is no
/// file at the name; an error of errno `EINVAL` if `buf` is shorter than
/// 2048 bytes; [`ErrorKind::Os`](crate::ErrorKind::Os) if `/proc` cannot be
/// read. Processes and threads that cannot be read are counted in the
/// summary, not errors.
///
/// ```
/// use core::mem::MaybeUninit;
/// use named_semaphores::{processes_using, NamedSemaphore, PROCESSES_BUFFER_LEN};
/// # let name = format!("doc-users-{}", std::process::id());
///
/// let _sem = NamedSemaphore::create(&name, 1)?;
/// let mut buf = [MaybeUninit::uninit(); PROCESSES_BUFFER_LEN];
/// let mut me = false;
/// processes_using(&name, &mut buf, |p| me |= p.pid == std::process::id())?;
/// assert!(me, "this process maps the semaphore it opened");
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn processes_using(
    name: impl AsRef<[u8]>,
    buf: &mut [MaybeUninit<u8>],
    visit: impl FnMut(&ProcessUse<'_>),
) -> Result<UseSummary, Error> {
    processes_using_in(DEFAULT_DIRECTORY, name, buf, visit)
}

/// [`processes_using`] for a semaphore in another directory.
///
/// # Errors
///
/// As for [`processes_using`], and
/// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an
/// unusable directory path.
pub fn processes_using_in(
    directory: &str,
    name: impl AsRef<[u8]>,
    buf: &mut [MaybeUninit<u8>],
    visit: impl FnMut(&ProcessUse<'_>),
) -> Result<UseSummary, Error> {
    let name = name.as_ref();
    scan(directory, name, buf, visit).map_err(|e| e.on(Operation::Inspect, name))
}

fn scan(
    directory: &str,
    name: &[u8],
    buf: &mut [MaybeUninit<u8>],
    mut visit: impl FnMut(&ProcessUse<'_>),
) -> Result<UseSummary, Error> {
    let name = Name::parse(name)?;
    let dir = Directory::parse(directory)?;
    let path = CPath::semaphore(&dir, &name);
    let st =
        fs::statat(CWD, path.as_c_str(), AtFlags::SYMLINK_NOFOLLOW).map_err(Error::from_errno)?;
    let file = FileId::of(&st);
    if buf.len() < 2048 {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            Errno::INVAL,
            "buffer shorter than 2048 bytes",
        ));
    }
    let (dir_buf, work) = buf.split_at_mut(buf.len() / 2);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let proc_fd = fs::openat(CWD, c"/proc", flags, Mode::empty()).map_err(Error::from_errno)?;
    let mut procs = RawDir::new(rio::dup(&proc_fd).map_err(Error::from_errno)?, dir_buf);
    let mut summary = UseSummary {
        others_hidden: others_hidden(proc_fd.as_fd()),
        ..UseSummary::default()
    };
    while let Some(entry) = procs.next() {
        let entry = entry.map_err(Error::from_errno)?;
        let Some(pid) = number(entry.file_name().to_bytes()) else {
            continue;
        };
        match process(proc_fd.as_fd(), entry.file_name(), pid, &file, work) {
            Ok(Some(found)) => {
                summary.processes += 1;
                summary.blocked_threads += found.blocked_count;
                summary.threads_unreadable += found.threads_unreadable;
                visit(&found.as_use());
            }
            Ok(None) => {}
            Err(Seen::Gone) => {}
            Err(Seen::Unreadable) => summary.processes_unreadable += 1,
        }
    }
    Ok(summary)
}

/// Whether `/proc` hides processes of other users: process 1 exists in
/// every PID namespace, so if it is missing from `/proc`, `hidepid=2` (or
/// `invisible`) is in force for this process.
fn others_hidden(proc_fd: BorrowedFd<'_>) -> bool {
    matches!(
        fs::statat(proc_fd, c"1", AtFlags::empty()),
        Err(Errno::NOENT)
    )
}

/// Why a process was not examined.
enum Seen {
    /// It ended meanwhile.
    Gone,
    /// Its files could not be read.
    Unreadable,
}

fn seen(e: Errno) -> Seen {
    match e {
        Errno::NOENT | Errno::SRCH => Seen::Gone,
        _ => Seen::Unreadable,
    }
}

/// A process found, with its names and thread ids held here.
struct Found {
    pid: u32,
    uid: u32,
    comm: [u8; 16],
    comm_len: usize,
    mappings: u32,
    blocked: [u32; BLOCKED_SHOWN],
    blocked_count: u32,
    threads_unreadable: u32,
}

impl Found {
    fn as_use(&self) -> ProcessUse<'_> {
        ProcessUse {
            pid: self.pid,
            uid: self.uid,
            command: &self.comm[..self.comm_len],
            mappings: self.mappings,
            blocked: &self.blocked[..(self.blocked_count as usize).min(BLOCKED_SHOWN)],
            blocked_count: self.blocked_count,
            threads_unreadable: self.threads_unreadable,
        }
    }
}

/// Examines one process: `Ok(None)` if it does not map the file.
fn process(
    proc_fd: BorrowedFd<'_>,
    pid_name: &CStr,
    pid: u32,
    file: &FileId,
    work: &mut [MaybeUninit<u8>],
) -> Result<Option<Found>, Seen> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let pid_fd = fs::openat(proc_fd, pid_name, flags, Mode::empty()).map_err(seen)?;
    let uid = fs::fstat(&pid_fd).map_err(seen)?.st_uid;
    let mut addresses = [0u64; MAPPINGS_CHECKED];
    let maps = open_file(pid_fd.as_fd(), c"maps")?;
    let mappings = scan_maps(&maps, fill(work), file, &mut addresses).map_err(seen)?;
    if mappings == 0 {
        return Ok(None);
    }
    let mut found = Found {
        pid,
        uid,
        comm: [0; 16],
        comm_len: 0,
        mappings,
        blocked: [0; BLOCKED_SHOWN],
        blocked_count: 0,
        threads_unreadable: 0,
    };
    if let Ok(comm) = open_file(pid_fd.as_fd(), c"comm") {
        let n = read_all(&comm, &mut found.comm).unwrap_or(0);
        found.comm_len = n - usize::from(n > 0 && found.comm[n - 1] == b'\n');
    }
    let checked = &addresses[..(mappings as usize).min(MAPPINGS_CHECKED)];
    let tasks = fs::openat(&pid_fd, c"task", flags, Mode::empty()).map_err(seen)?;
    let mut threads = RawDir::new(rio::dup(&tasks).map_err(seen)?, work);
    while let Some(entry) = threads.next() {
        let entry = entry.map_err(seen)?;
        let Some(tid) = number(entry.file_name().to_bytes()) else {
            continue;
        };
        match thread_waits_on(tasks.as_fd(), entry.file_name(), checked) {
            Ok(true) => {
                if let Some(slot) = found.blocked.get_mut(found.blocked_count as usize) {
                    *slot = tid;
                }
                found.blocked_count += 1;
            }
            Ok(false) | Err(Seen::Gone) => {}
            Err(Seen::Unreadable) => found.threads_unreadable += 1,
        }
    }
    Ok(Some(found))
}

fn open_file(dir: BorrowedFd<'_>, file: &CStr) -> Result<OwnedFd, Seen> {
    fs::openat(dir, file, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).map_err(seen)
}

/// The caller's buffer as bytes, zeroed so it can be read into.
#[allow(unsafe_code)]
fn fill(work: &mut [MaybeUninit<u8>]) -> &mut [u8] {
    for b in work.iter_mut() {
        b.write(0);
    }
    // SAFETY: every element was just initialized, and `MaybeUninit<u8>` has
    // the layout of `u8`; the new slice takes over the exclusive borrow.
    unsafe { core::slice::from_raw_parts_mut(work.as_mut_ptr().cast::<u8>(), work.len()) }
}

/// Whether thread `tid` (in the process's `task` directory) is in a futex wait on one of
/// `addresses`.
fn thread_waits_on(tasks: BorrowedFd<'_>, tid: &CStr, addresses: &[u64]) -> Result<bool, Seen> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let thread = fs::openat(tasks, tid, flags, Mode::empty()).map_err(seen)?;
    let syscall = open_file(thread.as_fd(), c"syscall")?;
    let mut line = [0u8; 256];
    let n = read_all(&syscall, &mut line).map_err(seen)?;
    Ok(waits_on(&line[..n], addresses))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A semaphore whose name is 251 newlines (its `maps` line is over
    /// 1,000 bytes) is found with the shortest buffer allowed.
    #[test]
    fn the_shortest_buffer_finds_the_longest_maps_line() {
        extern crate std;
        use crate::named::NamedSemaphore;
        use crate::test_dir::TestDir;

        let dir = TestDir::new("users-newlines");
        let name = [b'\n'; crate::name::NAME_MAX];
        let open = |existence| {
            NamedSemaphore::options()
                .directory(&dir.0)
                .existence(existence)
                .open(name)
                .unwrap()
        };
        let _created = open(crate::options::Existence::CreateNew);
        // Opened by its name, the mapping shows the name in `maps` (a file
        // created with `O_TMPFILE` shows the name it had then).
        let _opened = open(crate::options::Existence::OpenExisting);
        let mut buf = [MaybeUninit::uninit(); 2048];
        let mut mine = None;
        processes_using_in(&dir.0, name, &mut buf, |p| {
            if p.pid == std::process::id() {
                mine = Some(p.mappings);
            }
        })
        .unwrap();
        assert_eq!(mine, Some(2), "this process, which maps it twice");
    }

    #[test]
    fn debug_shows_the_command_as_text() {
        let process = ProcessUse {
            pid: 7,
            uid: 0,
            command: b"worker-\xff",
            mappings: 1,
            blocked: &[8],
            blocked_count: 1,
            threads_unreadable: 0,
        };
        let shown = std::format!("{process:?}");
        assert!(shown.contains(r#"command: "worker-\xff""#), "{shown}");
        assert!(shown.contains("blocked: [8]"), "{shown}");
    }

    #[test]
    // Native x86_64 only: under qemu-user (the other targets' test runs),
    // a thread's `syscall` file shows the emulator's host calls.
    #[cfg(target_arch = "x86_64")]
    fn a_blocked_thread_of_this_process_is_found() {
        extern crate std;
        use crate::named::NamedSemaphore;
        use crate::test_dir::TestDir;
        use std::sync::atomic::{AtomicU32, Ordering};

        let dir = TestDir::new("users");
        let sem = NamedSemaphore::options()
            .directory(&dir.0)
            .initial_value(0)
            .existence(crate::options::Existence::CreateNew)
            .open("users")
            .unwrap();
        let tid = AtomicU32::new(0);
        std::thread::scope(|s| {
            s.spawn(|| {
                tid.store(
                    rustix::thread::gettid().as_raw_nonzero().get() as u32,
                    Ordering::SeqCst,
                );
                sem.acquire().unwrap().forget();
            });
            let mut buf = [MaybeUninit::uninit(); PROCESSES_BUFFER_LEN];
            let me = std::process::id();
            let mut blocked = None;
            for _ in 0..1000 {
                let mut mine = None;
                let summary = processes_using_in(&dir.0, "users", &mut buf, |p| {
                    if p.pid == me {
                        mine = Some((p.mappings, p.blocked_count, p.blocked.first().copied()));
                    }
                })
                .unwrap();
                let (mappings, count, first) = mine.expect("this process is listed");
                assert_eq!(mappings, 1);
                assert!(summary.processes >= 1);
                if count == 1 {
                    blocked = first;
                    break;
                }
                std::thread::sleep(core::time::Duration::from_millis(10));
            }
            sem.release().unwrap();
            assert_eq!(
                blocked,
                Some(tid.load(Ordering::SeqCst)),
                "the waiting thread is seen"
            );
        });
    }
}
