//! The file lifecycle: open and validate an existing semaphore file, map
//! it, unlink it; creating and publishing a new one atomically is in
//! [`create`], and removing or replacing a name under the lock that
//! serialises it among cooperating processes in [`name_lock`].
//!
//! Mirrors glibc's `sem_open.c` and `sem_unlink.c`, with the checks glibc
//! leaves out: the file must be a regular file of exactly
//! [`RawSemaphore::SIZE`] bytes with glibc's header, or of
//! [`ROBUST_FILE_LEN`] bytes with a robust semaphore's record after it, or it
//! is refused before the first access could raise `SIGBUS` (which sizes mean
//! what is decided in [`format`], for the listing too). The headers are read
//! with `pread` before mapping, so that opening a semaphore does not fault in
//! its page (the first operation does, as with glibc). Every handle maps the
//! whole file (one page either way), so that any handle can recover a robust
//! semaphore's dead holders.
#![allow(unsafe_code)]

use core::ffi::CStr;
use core::ptr::{self, NonNull};

use rustix::fd::OwnedFd;
use rustix::fs::{self, FileType, Mode, OFlags, Stat};
use rustix::io::{self as rio, Errno};
use rustix::mm::{self, MapFlags, ProtFlags};

use crate::error::{Error, ErrorKind};
use crate::file_id::FileId;
use crate::name::{CPath, Directory};
use crate::raw::{RawSemaphore, FUTEX_SHARED};
use crate::robust::record::{HeaderState, Record, HEADER_OFFSET, SLOTS};
use crate::robust::source::Source;
use crate::robust::{Access, ROBUST_FILE_LEN};

mod create;
pub(crate) mod format;
mod name_lock;

pub(crate) use create::{create, Publish};
use format::SizeClass;
pub(crate) use name_lock::{unlink, unlink_if_ours};

/// How many temporary names to try before giving up, as glibc does.
pub(super) const TEMP_ATTEMPTS: usize = 50;

/// `statfs` magic numbers of the memory file systems a semaphore may live on.
const TMPFS_MAGIC: u64 = 0x0102_1994;
const RAMFS_MAGIC: u64 = 0x8584_58f6;

/// A `MAP_SHARED` mapping of one semaphore file, unmapped on drop. No file
/// descriptor stays open.
pub(crate) struct Mapping {
    sem: NonNull<RawSemaphore>,
    /// The length mapped: the file's, [`RawSemaphore::SIZE`] or
    /// [`ROBUST_FILE_LEN`].
    len: usize,
    /// Device and inode of the mapped file, to tell it apart from a later
    /// semaphore published under the same name.
    id: FileId,
    /// The file's permission bits and group, for a robust holder's beacon.
    access: Access,
}

impl Mapping {
    /// The robust record after the `sem_t`, if the file has room for one
    /// (its header may still be all zero: see [`HeaderState`]).
    pub(crate) fn record(&self) -> Option<&Record> {
        // Without 64-bit atomics there is no record to use (robust mode is
        // refused there).
        if self.len != ROBUST_FILE_LEN || !cfg!(target_has_atomic = "64") {
            return None;
        }
        // SAFETY: the mapping is ROBUST_FILE_LEN bytes, page-aligned, so
        // HEADER_OFFSET is inside it and 8-aligned, and a `Record` (which is
        // ROBUST_FILE_LEN - HEADER_OFFSET bytes of atomics, valid for any
        // bit pattern) fits up to its end. It stays mapped until `self` is
        // dropped; other processes change it only through atomics.
        Some(unsafe {
            &*self
                .sem
                .as_ptr()
                .cast::<u8>()
                .add(HEADER_OFFSET)
                .cast::<Record>()
        })
    }

    /// Where a permit recorded in slot `slot` of this robust semaphore's
    /// record gives its token back; `None` without a record.
    #[inline]
    pub(crate) fn slot_source(&self, slot: usize) -> Option<Source<'_>> {
        self.record()?;
        if slot >= SLOTS {
            return None;
        }
        // SAFETY: the mapping is a robust semaphore's whole file, made by
        // `mmap` (page-aligned), and stays mapped while `self` is borrowed;
        // `slot` is below SLOTS.
        Some(unsafe { Source::robust(self.sem, slot) })
    }

    /// The file's permission bits and group.
    pub(crate) fn access(&self) -> Access {
        self.access
    }

    pub(crate) fn sem(&self) -> &RawSemaphore {
        // SAFETY: `sem` points to a live, page-aligned shared mapping of
        // SIZE bytes, which stays mapped until `self` is dropped. All access
        // to it goes through atomics, so other processes writing it
        // concurrently is expected.
        unsafe { self.sem.as_ref() }
    }

    /// Device and inode numbers of the mapped file.
    pub(crate) fn id(&self) -> FileId {
        self.id
    }

    /// Ends the ownership of the mapping without unmapping it: its address,
    /// which [`unmap_raw`] unmaps. For the C library, whose table keeps
    /// addresses (`crate::c_library`).
    pub(crate) fn into_raw(self) -> NonNull<RawSemaphore> {
        let sem = self.sem;
        // The mapping is all a `Mapping` owns: forgetting it leaves the
        // mapping, unmapped by `unmap_raw`.
        core::mem::forget(self);
        sem
    }

    /// A second mapping of the same pages, made without the file:
    /// `mremap` with an old size of 0 on a shared mapping maps its pages
    /// again at a new address and leaves the first mapping in place.
    /// (Android's rustix, which calls bionic, has no `mremap`: there this
    /// fails with `ENOSYS`, and the caller opens the file again.)
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn try_clone(&self) -> Result<Mapping, Error> {
        Err(Error::from_errno(Errno::NOSYS))
    }

    /// See the other `try_clone`.
    #[cfg(target_os = "linux")]
    pub(crate) fn try_clone(&self) -> Result<Mapping, Error> {
        // SAFETY: `sem` is the start of our live shared mapping of SIZE
        // bytes; with an old size of 0 (and MAYMOVE, which the kernel
        // requires then), `mremap` does not touch it and returns a new
        // mapping of the same pages, at an address no Rust object uses.
        let ptr = unsafe {
            mm::mremap(
                self.sem.as_ptr().cast(),
                0,
                self.len,
                mm::MremapFlags::MAYMOVE,
            )
        }
        .map_err(Error::from_errno)?;
        let sem =
            NonNull::new(ptr.cast::<RawSemaphore>()).ok_or(Error::from_errno(Errno::NOMEM))?;
        Ok(Mapping { sem, ..*self })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `map` with this address and length
        // and nothing refers to it once its owner is dropped.
        let _ = unsafe { mm::munmap(self.sem.as_ptr().cast(), self.len) };
    }
}

// A mapping is one page whichever length the file has (the C library's
// `unmap_raw` relies on it): the smallest page Linux has is 4096 bytes.
const _: () = assert!(RawSemaphore::SIZE <= 4096 && ROBUST_FILE_LEN <= 4096);

/// Unmaps a mapping given up by [`Mapping::into_raw`].
///
/// # Safety
///
/// `sem` came from [`Mapping::into_raw`], is not unmapped yet, and nothing
/// uses it after this call.
pub(crate) unsafe fn unmap_raw(sem: NonNull<RawSemaphore>) {
    // SAFETY: `sem` starts a mapping of one page (of `RawSemaphore::SIZE` or
    // `ROBUST_FILE_LEN` bytes, both within the first page, asserted above),
    // which `munmap` of SIZE bytes removes whole; the caller has the last
    // use of it.
    let _ = unsafe { mm::munmap(sem.as_ptr().cast(), RawSemaphore::SIZE) };
}

// SAFETY: the mapping is process-wide memory that is only ever accessed
// through atomics; the pointer may be used and unmapped from any thread.
unsafe impl Send for Mapping {}
// SAFETY: as for Send: shared references only perform atomic operations.
unsafe impl Sync for Mapping {}

fn invalid_object(detail: &'static str) -> Error {
    Error::new(ErrorKind::InvalidObject, Errno::INVAL, detail)
}

/// Whether a file of the other word size's `sizeof(sem_t)` holds a sound
/// header in that layout: a semaphore made by such a process, which this
/// one must refuse, but can name the cause of.
fn other_layout_header(fd: &OwnedFd) -> bool {
    let mut head = [0u8; format::HEADER_LEN];
    matches!(rio::pread(fd, &mut head, 0), Ok(n) if n == head.len())
        && format::decode(&head, format::OTHER_LAYOUT).is_sound()
}

/// Checks the descriptor is a semaphore file and maps it.
pub(super) fn map(fd: &OwnedFd, check_header: bool) -> Result<Mapping, Error> {
    let st = fs::fstat(fd).map_err(Error::from_errno)?;
    map_with_stat(fd, &st, check_header)
}

/// [`map`] of a descriptor whose `fstat` the caller already has (`st`).
pub(crate) fn map_with_stat(fd: &OwnedFd, st: &Stat, check_header: bool) -> Result<Mapping, Error> {
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        // glibc maps whatever it opened, and mmap refuses a FIFO or a
        // device with ENODEV: the same errno for the same cause.
        return Err(Error::new(
            ErrorKind::InvalidObject,
            Errno::NODEV,
            "not a regular file",
        ));
    }
    #[allow(clippy::unnecessary_cast)] // st_size is i64 or i32 by target
    let size = st.st_size as u64;
    let len = match format::classify_size(size) {
        SizeClass::Native => RawSemaphore::SIZE,
        SizeClass::Robust => ROBUST_FILE_LEN,
        SizeClass::OtherLayout if other_layout_header(fd) => {
            return Err(invalid_object(format::MADE_BY_OTHER));
        }
        SizeClass::OtherLayout | SizeClass::Wrong => {
            return Err(invalid_object(
                "file size is neither sizeof(sem_t) nor a robust semaphore's",
            ));
        }
    };
    if check_header {
        let mut private = [0u8; 4];
        let read = rio::pread(fd, &mut private, RawSemaphore::PRIVATE_OFFSET as u64)
            .map_err(Error::from_errno)?;
        if read != private.len() || i32::from_ne_bytes(private) != FUTEX_SHARED {
            return Err(invalid_object("private field is not 128"));
        }
        if len == ROBUST_FILE_LEN {
            let mut header = [0u8; 12];
            let read =
                rio::pread(fd, &mut header, HEADER_OFFSET as u64).map_err(Error::from_errno)?;
            if read != header.len() || HeaderState::of_bytes(&header) == HeaderState::Corrupt {
                return Err(crate::robust::record::corrupt(
                    "robust record header is not valid",
                ));
            }
        }
    }
    // SAFETY: a fresh mapping chosen by the kernel (null hint) cannot overlap
    // any memory Rust knows about. The file is exactly `len` bytes, so every
    // byte of the mapping is backed while the file keeps its size.
    let ptr = unsafe {
        mm::mmap(
            ptr::null_mut(),
            len,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            fd,
            0,
        )
        .map_err(Error::from_errno)?
    };
    let sem = NonNull::new(ptr.cast::<RawSemaphore>()).ok_or(Error::from_errno(Errno::NOMEM))?;
    #[allow(clippy::unnecessary_cast)] // field widths differ by target
    let access = Access {
        mode: st.st_mode as u32 & 0o7777,
        gid: st.st_gid as u32,
    };
    Ok(Mapping {
        sem,
        len,
        id: FileId::of(st),
        access,
    })
}

/// Opens an existing semaphore file as glibc does (`O_RDWR | O_NOFOLLOW |
/// O_CLOEXEC`, plus `O_NONBLOCK` so that a FIFO planted at the name cannot
/// block the open), then validates and maps it.
///
/// With `room_for_record`, a plain semaphore's file is first extended to
/// [`ROBUST_FILE_LEN`] (with zeros: the record's header is then all zero,
/// and the caller completes it). glibc programs never look past the
/// `sem_t`; a plain handle accepts either size.
pub(crate) fn open(path: &CStr, room_for_record: bool) -> Result<Mapping, Error> {
    let flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = fs::open(path, flags, Mode::empty()).map_err(Error::from_errno)?;
    let mapping = map(&fd, true)?;
    if !room_for_record || mapping.len == ROBUST_FILE_LEN {
        return Ok(mapping);
    }
    drop(mapping);
    fs::ftruncate(&fd, ROBUST_FILE_LEN as u64).map_err(Error::from_errno)?;
    map(&fd, true)
}

/// Checks that a directory other than the default exists and is a memory
/// file system (tmpfs or ramfs), where a semaphore file belongs.
///
/// # Errors
///
/// [`ErrorKind::NotFound`] if it does not exist,
/// [`ErrorKind::PermissionDenied`] if a component cannot be searched,
/// [`ErrorKind::InvalidArgument`] (`EINVAL`) if it is not a directory or not
/// a tmpfs or ramfs.
pub(crate) fn check_directory(dir: &Directory) -> Result<(), Error> {
    let path = CPath::directory(dir);
    let invalid = |detail| Error::new(ErrorKind::InvalidArgument, Errno::INVAL, detail);
    let st = fs::statfs(path.as_c_str()).map_err(Error::from_directory_errno)?;
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    let magic = st.f_type as u64;
    // f_type is signed on some targets: compare the low 32 bits.
    if magic & 0xffff_ffff != TMPFS_MAGIC && magic & 0xffff_ffff != RAMFS_MAGIC {
        return Err(invalid("directory is not a tmpfs or ramfs"));
    }
    // statfs also answers for a file on a tmpfs.
    let st = fs::stat(path.as_c_str()).map_err(Error::from_directory_errno)?;
    if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
        return Err(invalid("not a directory"));
    }
    Ok(())
}

/// Six random characters from `[A-Za-z0-9]`.
///
/// A process-wide splitmix64 sequence, seeded once from `getrandom` and mixed
/// with the clock on every call, so a creation costs no `getrandom` call and
/// processes forked from one parent still draw different names. The names
/// need only be unlikely to collide: `O_EXCL` makes a collision harmless.
/// The sequence's state is pointer-sized (64 bits on 64-bit targets), as some
/// 32-bit targets (powerpc, mips) have no 64-bit atomics.
pub(super) fn temp_suffix(attempt: usize) -> [u8; 6] {
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
