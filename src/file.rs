//! The file lifecycle: open and validate an existing semaphore file, create
//! and publish a new one atomically, map it, unlink it.
//!
//! Mirrors glibc's `sem_open.c` and `sem_unlink.c`, with the checks glibc
//! leaves out: the file must be a regular file of exactly
//! [`RawSemaphore::SIZE`] bytes with glibc's header, or it is refused before
//! the first access could raise `SIGBUS`. The header is read with `pread`
//! before mapping, so that opening a semaphore does not fault in its page
//! (the first operation does, as with glibc).
#![allow(unsafe_code)]

use core::ffi::CStr;
use core::ptr::{self, NonNull};

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{self, FileType, Mode, OFlags};
use rustix::io::{self as rio, Errno};
use rustix::mm::{self, MapFlags, ProtFlags};

use crate::name::{CPath, Directory};
use crate::raw::{RawSemaphore, FUTEX_SHARED};
use crate::{Error, ErrorKind};

/// How many temporary names to try before giving up, as glibc does.
const TEMP_ATTEMPTS: usize = 50;

/// `statfs` magic numbers of the memory file systems a semaphore may live on.
const TMPFS_MAGIC: u64 = 0x0102_1994;
const RAMFS_MAGIC: u64 = 0x8584_58f6;

/// A `MAP_SHARED` mapping of one semaphore file, unmapped on drop. No file
/// descriptor stays open.
pub(crate) struct Mapping {
    sem: NonNull<RawSemaphore>,
    /// Device and inode of the mapped file, to tell it apart from a later
    /// semaphore published under the same name.
    id: (u64, u64),
}

impl Mapping {
    pub(crate) fn sem(&self) -> &RawSemaphore {
        // SAFETY: `sem` points to a live, page-aligned shared mapping of
        // SIZE bytes, which stays mapped until `self` is dropped. All access
        // to it goes through atomics, so other processes writing it
        // concurrently is expected.
        unsafe { self.sem.as_ref() }
    }

    /// Device and inode numbers of the mapped file.
    pub(crate) fn id(&self) -> (u64, u64) {
        self.id
    }

    /// Whether `path` currently names the file this mapping was made from.
    pub(crate) fn is_at(&self, path: &CStr) -> bool {
        fs::lstat(path).is_ok_and(|st| file_id(&st) == self.id)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `map` with this address and length
        // and nothing refers to it once its owner is dropped.
        let _ = unsafe { mm::munmap(self.sem.as_ptr().cast(), RawSemaphore::SIZE) };
    }
}

// SAFETY: the mapping is process-wide memory that is only ever accessed
// through atomics; the pointer may be used and unmapped from any thread.
unsafe impl Send for Mapping {}
// SAFETY: as for Send: shared references only perform atomic operations.
unsafe impl Sync for Mapping {}

#[allow(clippy::unnecessary_cast)] // st_dev/st_ino widths differ by target
fn file_id(st: &fs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

fn invalid_object(detail: &'static str) -> Error {
    Error::new(ErrorKind::InvalidObject, Errno::INVAL, detail)
}

/// Checks the descriptor is a semaphore file and maps it.
fn map(fd: &OwnedFd, check_header: bool) -> Result<Mapping, Error> {
    let st = fs::fstat(fd)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(invalid_object("not a regular file"));
    }
    if st.st_size != RawSemaphore::SIZE as i64 {
        return Err(invalid_object("file size is not sizeof(sem_t)"));
    }
    if check_header {
        let mut private = [0u8; 4];
        let read = rio::pread(fd, &mut private, RawSemaphore::PRIVATE_OFFSET as u64)?;
        if read != private.len() || i32::from_ne_bytes(private) != FUTEX_SHARED {
            return Err(invalid_object("private field is not 128"));
        }
    }
    // SAFETY: a fresh mapping chosen by the kernel (null hint) cannot overlap
    // any memory Rust knows about. The file is exactly SIZE bytes, so every
    // byte of the mapping is backed while the file keeps its size.
    let ptr = unsafe {
        mm::mmap(
            ptr::null_mut(),
            RawSemaphore::SIZE,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            fd,
            0,
        )?
    };
    let sem = NonNull::new(ptr.cast::<RawSemaphore>()).ok_or(Errno::NOMEM)?;
    let mapping = Mapping {
        sem,
        id: file_id(&st),
    };
    Ok(mapping)
}

/// Opens an existing semaphore file as glibc does (`O_RDWR | O_NOFOLLOW |
/// O_CLOEXEC`, plus `O_NONBLOCK` so that a FIFO planted at the name cannot
/// block the open), then validates and maps it.
pub(crate) fn open(path: &CStr) -> Result<Mapping, Error> {
    let flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = fs::open(path, flags, Mode::empty())?;
    map(&fd, true)
}

/// How a new file takes its name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publish {
    /// `link`: fails with `EEXIST` if the name exists; never overwrites.
    Link,
    /// `rename`: atomically replaces whatever is at the name, so there is
    /// never a moment when the name is missing or names a partial file.
    Replace,
}

/// Creates a semaphore file holding `value` and publishes it at `path`.
///
/// The complete image is written to a file that is not yet under the
/// semaphore's name, mapped, and only then given that name, so no process can
/// ever open a partially written semaphore.
///
/// For [`Publish::Link`] on Linux 6.10 or later the file is made with
/// `O_TMPFILE` and named with `linkat(fd, "", ..., AT_EMPTY_PATH)`, which
/// 6.10 allows without `CAP_DAC_READ_SEARCH`: one system call fewer than a
/// named temporary file (no temporary name to remove). Older kernels use
/// glibc's way, a temporary `sem.XXXXXX` file `link`ed to the name and then
/// removed, even where `O_TMPFILE` would work: before 6.0 an `O_TMPFILE` file
/// on a tmpfs without POSIX ACLs ignored the umask, which would give a
/// semaphore wider permissions than glibc's.
pub(crate) fn create(
    dir: &Directory,
    path: &CStr,
    value: u32,
    mode: Mode,
    publish: Publish,
) -> Result<Mapping, Error> {
    let image = RawSemaphore::new(value)?;
    if publish == Publish::Link && unnamed::usable() {
        match create_unnamed(dir, path, &image, mode) {
            Unnamed::Done(result) => return result,
            Unnamed::NotHere => {}
            Unnamed::Never => unnamed::disable(),
        }
    }
    create_named(dir, path, &image, mode, publish)
}

/// Whether the process creates semaphores with `O_TMPFILE`: decided from the
/// kernel's version on first use, and turned off for good if the kernel or
/// the file system turns out unable to. (That is a per-process decision for
/// what is a per-file-system property: a process that once creates in a
/// directory without `O_TMPFILE` goes the slower way everywhere after.)
mod unnamed {
    use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

    const UNKNOWN: u8 = 0;
    const YES: u8 = 1;
    const NO: u8 = 2;
    static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

    pub(super) fn usable() -> bool {
        match STATE.load(Relaxed) {
            YES => true,
            NO => false,
            _ => {
                let uname = rustix::system::uname();
                let yes = super::kernel_version(uname.release().to_bytes()) >= Some((6, 10));
                STATE.store(if yes { YES } else { NO }, Relaxed);
                yes
            }
        }
    }

    pub(super) fn disable() {
        STATE.store(NO, Relaxed);
    }
}

/// `(major, minor)` from a kernel release string such as `6.10.2-arch1`.
fn kernel_version(release: &[u8]) -> Option<(u32, u32)> {
    fn number(s: &[u8]) -> Option<(u32, &[u8])> {
        let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut n: u32 = 0;
        for &b in &s[..digits] {
            n = n.checked_mul(10)?.checked_add(u32::from(b - b'0'))?;
        }
        (digits > 0).then_some((n, &s[digits..]))
    }
    let (major, rest) = number(release)?;
    let (minor, _) = number(rest.strip_prefix(b".")?)?;
    Some((major, minor))
}

/// What [`create_unnamed`] did.
enum Unnamed {
    /// Created and published the semaphore, or failed for a reason the named
    /// way would fail for too.
    Done(Result<Mapping, Error>),
    /// Refused for this call (a sandbox or security module may refuse
    /// `O_TMPFILE` and still allow plain files): try the named way, which
    /// reports the real error if there is one.
    NotHere,
    /// This kernel or file system cannot do it: use the named way from now on.
    Never,
}

/// The `O_TMPFILE` way of [`create`] with [`Publish::Link`].
fn create_unnamed(dir: &Directory, path: &CStr, image: &RawSemaphore, mode: Mode) -> Unnamed {
    let flags = OFlags::RDWR | OFlags::TMPFILE | OFlags::CLOEXEC;
    let fd = match fs::open(CPath::directory(dir).as_c_str(), flags, mode) {
        Ok(fd) => fd,
        // No O_TMPFILE: EOPNOTSUPP from the file system; EISDIR or EINVAL
        // from a kernel that does not know the flag.
        Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => return Unnamed::Never,
        Err(Errno::PERM | Errno::ACCESS | Errno::NOSYS) => return Unnamed::NotHere,
        Err(e) => return Unnamed::Done(Err(e.into())),
    };
    let mapping = match write_image(&fd, image).and_then(|()| map(&fd, false)) {
        Ok(mapping) => mapping,
        Err(e) => return Unnamed::Done(Err(e)),
    };
    match fs::linkat(&fd, c"", fs::CWD, path, fs::AtFlags::EMPTY_PATH) {
        Ok(()) => Unnamed::Done(Ok(mapping)),
        // ENOENT: the kernel wants CAP_DAC_READ_SEARCH for AT_EMPTY_PATH
        // after all (a backport, or a vendor kernel); EPERM, EACCES: refused
        // by a security module. The named way may still work, and if not it
        // reports the error itself.
        Err(Errno::NOENT | Errno::PERM | Errno::ACCESS) => Unnamed::Never,
        Err(e) => Unnamed::Done(Err(e.into())),
    }
}

/// glibc's way of [`create`]: a named temporary file, then `link` (or
/// `rename`), then the temporary name is removed.
fn create_named(
    dir: &Directory,
    path: &CStr,
    image: &RawSemaphore,
    mode: Mode,
    publish: Publish,
) -> Result<Mapping, Error> {
    let (tmp, fd) = create_temporary(dir, mode)?;
    let result = write_image(&fd, image).and_then(|()| map(&fd, false));
    drop(fd);
    let published = result.and_then(|mapping| {
        match publish {
            Publish::Link => fs::link(tmp.as_c_str(), path)?,
            Publish::Replace => fs::rename(tmp.as_c_str(), path)?,
        }
        Ok(mapping)
    });
    if !(publish == Publish::Replace && published.is_ok()) {
        let _ = fs::unlink(tmp.as_c_str());
    }
    published
}

/// Opens a new, empty `DIR/sem.XXXXXX` exclusively.
fn create_temporary(dir: &Directory, mode: Mode) -> Result<(CPath, OwnedFd), Error> {
    let flags = OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    for attempt in 0..TEMP_ATTEMPTS {
        let tmp = CPath::temporary(dir, &temp_suffix(attempt));
        match fs::open(tmp.as_c_str(), flags, mode) {
            Ok(fd) => return Ok((tmp, fd)),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::new(
        ErrorKind::Os,
        Errno::AGAIN,
        "no free temporary name",
    ))
}

/// Six random characters from `[A-Za-z0-9]`.
///
/// A process-wide splitmix64 sequence, seeded once from `getrandom` and mixed
/// with the clock on every call, so a creation costs no `getrandom` call and
/// processes forked from one parent still draw different names. The names
/// need only be unlikely to collide: `O_EXCL` makes a collision harmless.
/// The sequence's state is pointer-sized (64 bits on 64-bit targets), as some
/// 32-bit targets (powerpc, mips) have no 64-bit atomics.
fn temp_suffix(attempt: usize) -> [u8; 6] {
    use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const GAMMA: usize = 0x9e37_79b9_7f4a_7c15_u64 as usize;
    static STATE: AtomicUsize = AtomicUsize::new(0);

    let mut state = STATE.load(Relaxed);
    if state == 0 {
        let mut seed = [0u8; core::mem::size_of::<usize>()];
        // No entropy yet (early boot) or no getrandom: the clock alone still
        // makes collisions rare.
        let _ = rustix::rand::getrandom(&mut seed, rustix::rand::GetRandomFlags::NONBLOCK);
        state = usize::from_ne_bytes(seed) | 1;
        STATE.store(state, Relaxed);
    }
    let t = crate::futex::now();
    let clock = (t.tv_sec as u64).wrapping_mul(1_000_000_007) ^ (t.tv_nsec as u64);
    let mut z = STATE.fetch_add(GAMMA, Relaxed) as u64 ^ clock ^ (attempt as u64) << 48;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let mut n = z ^ (z >> 31);
    let mut out = [0u8; 6];
    for b in &mut out {
        *b = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    out
}

fn write_image(fd: impl AsFd, image: &RawSemaphore) -> Result<(), Error> {
    let bytes = image.to_bytes();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        match rio::write(&fd, rest) {
            Ok(0) => return Err(Errno::NOSPC.into()),
            Ok(n) => rest = &rest[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Removes the name, as `sem_unlink` does (`EPERM` is reported as `EACCES`).
pub(crate) fn unlink(path: &CStr) -> Result<(), Error> {
    match fs::unlink(path) {
        Ok(()) => Ok(()),
        Err(Errno::PERM) => Err(Errno::ACCESS.into()),
        Err(e) => Err(e.into()),
    }
}

/// Checks that a directory other than the default exists and is a memory
/// file system (tmpfs or ramfs), where a semaphore file belongs.
pub(crate) fn check_directory(dir: &Directory) -> Result<(), Error> {
    let path = CPath::directory(dir);
    let invalid = |errno, detail| Error::new(ErrorKind::InvalidArgument, errno, detail);
    let st = fs::statfs(path.as_c_str()).map_err(|e| invalid(e, "directory is not usable"))?;
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    let magic = st.f_type as u64;
    // f_type is signed on some targets: compare the low 32 bits.
    if magic & 0xffff_ffff != TMPFS_MAGIC && magic & 0xffff_ffff != RAMFS_MAGIC {
        return Err(invalid(Errno::INVAL, "directory is not a tmpfs or ramfs"));
    }
    // statfs also answers for a file on a tmpfs.
    let st = fs::stat(path.as_c_str()).map_err(|e| invalid(e, "directory is not usable"))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(invalid(Errno::NOTDIR, "not a directory"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::test_dir::TestDir;

    /// Creates `name` in `dir` one way, and checks what it left behind.
    fn check_creation(
        tag: &str,
        make: impl Fn(&Directory, &CStr, &RawSemaphore) -> Result<Mapping, Error>,
    ) {
        let dir = TestDir::new(tag);
        let directory = Directory::parse(&dir.0).unwrap();
        let path = CPath::semaphore(&directory, &Name::parse("x").unwrap());
        let image = RawSemaphore::new(7).unwrap();

        let mapping = make(&directory, path.as_c_str(), &image).unwrap();
        assert_eq!(mapping.sem().value(), 7);
        assert_eq!(dir.files(), ["sem.x"], "only the semaphore, no temporary");
        let on_disk = std::fs::read(std::format!("{}/sem.x", dir.0)).unwrap();
        assert_eq!(on_disk, image.to_bytes());
        let st = fs::stat(path.as_c_str()).unwrap();
        assert_eq!(mapping.id(), file_id(&st));
        assert_eq!(
            st.st_mode & 0o777 & !0o600,
            0,
            "no more than the mode asked"
        );
        // The mapping is the file: a token taken through it shows on disk.
        assert!(mapping.sem().try_acquire().unwrap());
        let on_disk = std::fs::read(std::format!("{}/sem.x", dir.0)).unwrap();
        assert_eq!(on_disk, RawSemaphore::new(6).unwrap().to_bytes());

        // A second creation at the name fails and leaves nothing behind.
        let again = make(&directory, path.as_c_str(), &image).map(|_| ());
        assert_eq!(again.unwrap_err().kind(), ErrorKind::AlreadyExists);
        assert_eq!(dir.files(), ["sem.x"]);
        assert_eq!(mapping.sem().value(), 6, "the first file is untouched");
    }

    #[test]
    fn unnamed_creation_publishes_a_complete_file() {
        if !unnamed::usable() {
            // Only `create_named` runs on this kernel; its test covers it.
            std::eprintln!("kernel older than 6.10: O_TMPFILE creation is not used here");
            assert!(kernel_version(rustix::system::uname().release().to_bytes()) < Some((6, 10)));
            return;
        }
        check_creation("unnamed", |dir, path, image| {
            match create_unnamed(dir, path, image, Mode::from_raw_mode(0o600)) {
                Unnamed::Done(result) => result,
                _ => panic!("O_TMPFILE and AT_EMPTY_PATH refused on tmpfs on Linux >= 6.10"),
            }
        });
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version(b"6.18.44-fc-v782"), Some((6, 18)));
        assert_eq!(kernel_version(b"6.10"), Some((6, 10)));
        assert_eq!(kernel_version(b"5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(kernel_version(b"4.19.325-cip-rt"), Some((4, 19)));
        for bad in [&b""[..], b"6", b"6.", b"x.1", b".5", b"99999999999.1"] {
            assert_eq!(kernel_version(bad), None, "{bad:?}");
        }
        assert!(kernel_version(b"6.9.12") < Some((6, 10)));
        assert!(kernel_version(b"7.0.1") >= Some((6, 10)));
        assert!(None < Some((6, 10)), "an unknown version counts as old");
    }

    #[test]
    fn named_creation_publishes_a_complete_file() {
        check_creation("named", |dir, path, image| {
            create_named(dir, path, image, Mode::from_raw_mode(0o600), Publish::Link)
        });
    }

    #[test]
    fn replacing_creation_leaves_no_temporary() {
        let dir = TestDir::new("replace");
        let directory = Directory::parse(&dir.0).unwrap();
        let path = CPath::semaphore(&directory, &Name::parse("r").unwrap());
        let mode = Mode::from_raw_mode(0o600);
        let first = create(&directory, path.as_c_str(), 1, mode, Publish::Link).unwrap();
        let second = create(&directory, path.as_c_str(), 2, mode, Publish::Replace).unwrap();
        assert_eq!(dir.files(), ["sem.r"]);
        assert_ne!(first.id(), second.id());
        assert!(second.is_at(path.as_c_str()) && !first.is_at(path.as_c_str()));
        assert_eq!((first.sem().value(), second.sem().value()), (1, 2));
    }
}
