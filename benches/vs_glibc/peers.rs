//! The peers of case 8, what programs use today for a lock that the kernel
//! gives back when its holder dies: [`SysV`], a private System V semaphore
//! set taken and given back with `semop(SEM_UNDO)`, and [`LockFile`], a file
//! in `/dev/shm` locked whole with `flock` or with `lockf` (an `fcntl` record
//! lock). Each removes what it made when dropped, also when a case panics.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use crate::names::NAMES;
use crate::sem::errno;

/// A System V set of one semaphore of value 1, made with `IPC_PRIVATE` (only
/// this process and its children know its id) and removed with `IPC_RMID`
/// when dropped.
pub struct SysV(libc::c_int);

impl SysV {
    /// A new private set; panics if the kernel refuses one.
    pub fn private() -> SysV {
        // SAFETY: a plain system call; no pointers.
        let id = unsafe { libc::semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600) };
        assert!(id >= 0, "semget: errno {}", errno());
        let set = SysV(id);
        // SAFETY: SETVAL reads its argument as `union semun`, whose `val`
        // member is an int, passed as the C default promotions pass it.
        let r = unsafe { libc::semctl(id, 0, libc::SETVAL, 1 as libc::c_int) };
        assert_eq!(r, 0, "semctl(SETVAL): errno {}", errno());
        set
    }

    /// `semop(-1, SEM_UNDO)`: the kernel adds the token back if the process
    /// dies before [`release`](Self::release).
    pub fn acquire(&self) {
        self.op(-1);
    }

    /// `semop(+1, SEM_UNDO)`.
    pub fn release(&self) {
        self.op(1);
    }

    fn op(&self, delta: libc::c_short) {
        let mut op = libc::sembuf {
            sem_num: 0,
            sem_op: delta,
            sem_flg: libc::SEM_UNDO as libc::c_short,
        };
        // SAFETY: `op` is one valid sembuf, and the call is told of one.
        retry("semop", || unsafe { libc::semop(self.0, &mut op, 1) });
    }
}

impl Drop for SysV {
    fn drop(&mut self) {
        // SAFETY: a plain system call on the set this value made.
        unsafe { libc::semctl(self.0, 0, libc::IPC_RMID) };
    }
}

/// A file in `/dev/shm` under a name unique to the process, open for reading
/// and writing (`lockf` needs write access). The one [`create`](Self::create)
/// made removes the file when dropped.
pub struct LockFile {
    file: File,
    path: Option<PathBuf>,
}

impl LockFile {
    /// A new empty file; panics if it cannot be made.
    pub fn create(tag: &str) -> LockFile {
        let path = PathBuf::from(format!("/dev/shm/{}", NAMES.unique(tag)));
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .expect("create the lock file");
        LockFile {
            file,
            path: Some(path),
        }
    }

    /// The same file under a second open file description. `flock` locks
    /// belong to a description, shared by every process that inherited it,
    /// so a second process contends only through a description of its own.
    pub fn open_again(&self) -> LockFile {
        let path = self.path.as_ref().expect("the file's creator");
        let file = File::options()
            .read(true)
            .write(true)
            .open(path)
            .expect("open the lock file");
        LockFile { file, path: None }
    }

    /// `flock(op)`: `LOCK_EX` waits for the whole file, `LOCK_UN` lets go.
    /// The kernel lets go when the description's last descriptor closes,
    /// so also when its only holder dies.
    pub fn flock(&self, op: libc::c_int) {
        // SAFETY: the descriptor is open for as long as `self`.
        retry("flock", || unsafe {
            libc::flock(self.file.as_raw_fd(), op)
        });
    }

    /// `lockf(cmd, 0)` from offset 0: `F_LOCK` waits for the whole file,
    /// `F_ULOCK` lets go. An `fcntl` record lock, owned by the process: the
    /// kernel lets go when the process dies (or closes any descriptor of the
    /// file).
    pub fn lockf(&self, cmd: libc::c_int) {
        // SAFETY: the descriptor is open for as long as `self`.
        retry("lockf", || unsafe {
            libc::lockf(self.file.as_raw_fd(), cmd, 0)
        });
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Calls `call` until it returns anything but -1 with `EINTR`; panics unless
/// that is 0.
fn retry(what: &str, mut call: impl FnMut() -> libc::c_int) {
    loop {
        match call() {
            0 => return,
            -1 if errno() == libc::EINTR => {}
            r => panic!("{what}: {r}, errno {}", errno()),
        }
    }
}
