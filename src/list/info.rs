//! Decoding one semaphore file: its metadata ([`FileKind`], [`Status`],
//! [`SemaphoreInfo`]) and its `sem_t` image, read with `pread` from a
//! descriptor opened read-only (never mapped), so that a file truncated
//! meanwhile cannot raise `SIGBUS`. The directory walk that finds the files
//! is in `list.rs`.

use core::ffi::CStr;
use core::fmt;

use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::{self, AtFlags, FileType, Mode, OFlags};
use rustix::io::{self as rio, Errno};

use crate::error::{Error, Operation};
use crate::file::format::{self, SizeClass, HEADER_LEN, OTHER_LAYOUT};
use crate::file_id::FileId;
use crate::raw::{Layout, RawSemaphore};
use crate::robust::record::ROBUST_FILE_LEN;
use crate::robust::record::{HeaderState, HEADER_OFFSET};

/// The kind of file at a semaphore's path.
///
/// `#[non_exhaustive]`: a kind the kernel may add (or one this crate learns
/// to tell apart from [`FileKind::Unknown`]) must not break callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A regular file: the only kind that can be a semaphore.
    Regular,
    /// A directory.
    Directory,
    /// A symbolic link (never followed).
    Symlink,
    /// A named pipe.
    Fifo,
    /// A Unix-domain socket.
    Socket,
    /// A character device.
    CharDevice,
    /// A block device.
    BlockDevice,
    /// Anything else the kernel reported.
    Unknown,
}

impl FileKind {
    fn from_mode(st_mode: u32) -> Self {
        match FileType::from_raw_mode(st_mode) {
            FileType::RegularFile => FileKind::Regular,
            FileType::Directory => FileKind::Directory,
            FileType::Symlink => FileKind::Symlink,
            FileType::Fifo => FileKind::Fifo,
            FileType::Socket => FileKind::Socket,
            FileType::CharacterDevice => FileKind::CharDevice,
            FileType::BlockDevice => FileKind::BlockDevice,
            _ => FileKind::Unknown,
        }
    }

    /// A short lower-case word for the kind: `"regular"`, `"directory"`,
    /// `"symlink"`, `"fifo"`, `"socket"`, `"char-device"`, `"block-device"`
    /// or `"unknown"`.
    ///
    /// ```
    /// use named_semaphores::{inspect, FileKind, NamedSemaphore};
    /// # let name = format!("doc-kind-{}", std::process::id());
    ///
    /// let _sem = NamedSemaphore::create(&name, 1)?;
    /// let kind = inspect(&name)?.kind;
    /// assert_eq!((kind, kind.as_str()), (FileKind::Regular, "regular"));
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Regular => "regular",
            FileKind::Directory => "directory",
            FileKind::Symlink => "symlink",
            FileKind::Fifo => "fifo",
            FileKind::Socket => "socket",
            FileKind::CharDevice => "char-device",
            FileKind::BlockDevice => "block-device",
            FileKind::Unknown => "unknown",
        }
    }
}

/// Whether a file is a valid semaphore for this target.
///
/// `#[non_exhaustive]`: later versions may check more and say more precisely
/// why a file is not valid; a `match` needs a fallback arm, and
/// [`Status::is_valid`] is the stable question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// A regular file of [`RawSemaphore::SIZE`] bytes with glibc's header,
    /// or of [`ROBUST_FILE_LEN`](crate::ROBUST_FILE_LEN) bytes with a
    /// robust semaphore's record after it:
    /// [`NamedSemaphore::open`](crate::NamedSemaphore::open) accepts it.
    Valid,
    /// Not a regular file (see [`SemaphoreInfo::kind`]).
    NotRegularFile,
    /// A regular file whose size is neither [`RawSemaphore::SIZE`], nor a
    /// robust semaphore's [`ROBUST_FILE_LEN`], nor that of a semaphore of
    /// the other layout ([`Status::OtherLayout`]): a temporary file being
    /// written, or something else entirely. Opening it would fail (glibc
    /// would map it, and raise `SIGBUS` on a file that is too short).
    WrongSize,
    /// The right size, but the `private` field is not 128, the value is
    /// above [`VALUE_MAX`](crate::VALUE_MAX), or a robust semaphore's record
    /// header is not one this crate writes: not something glibc or this
    /// crate wrote.
    BadHeader,
    /// A semaphore in glibc's other layout (given), made by a process of the
    /// other word size: a 16-byte file seen from a 64-bit process
    /// ([`Layout::Narrow`]), a 32-byte one seen from a 32-bit process
    /// ([`Layout::Wide`]), with a sound header in that layout. Its value and
    /// waiters are decoded from that layout, read-only: opening it fails
    /// (with [`ErrorKind::InvalidObject`](crate::ErrorKind::InvalidObject),
    /// "made by a 32-bit process"), as 32-bit and 64-bit glibc processes
    /// cannot share a semaphore either.
    OtherLayout(Layout),
    /// The file could not be opened or read (most often: no read
    /// permission); its value is unknown.
    Unreadable(Error),
}

impl Status {
    /// A short lower-case word for the status: `"ok"`, `"not-regular-file"`,
    /// `"wrong-size"`, `"bad-header"`, `"other-layout"` or `"unreadable"`.
    ///
    /// ```
    /// use named_semaphores::{inspect, NamedSemaphore};
    /// # let name = format!("doc-status-{}", std::process::id());
    ///
    /// let _sem = NamedSemaphore::create(&name, 1)?;
    /// assert_eq!(inspect(&name)?.status.as_str(), "ok");
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Valid => "ok",
            Status::NotRegularFile => "not-regular-file",
            Status::WrongSize => "wrong-size",
            Status::BadHeader => "bad-header",
            Status::OtherLayout(_) => "other-layout",
            Status::Unreadable(_) => "unreadable",
        }
    }

    /// Whether the file is a valid semaphore for this target.
    ///
    /// ```
    /// use named_semaphores::{inspect, NamedSemaphore};
    /// # let name = format!("doc-is-valid-{}", std::process::id());
    ///
    /// let _sem = NamedSemaphore::create(&name, 1)?;
    /// assert!(inspect(&name)?.status.is_valid());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn is_valid(&self) -> bool {
        *self == Status::Valid
    }
}

/// What a semaphore file holds and who owns it, as read at one moment.
///
/// The value and waiter count are a snapshot: other processes may change
/// them at any time. The waiter count is approximate by nature: a waiter
/// killed while blocked stays counted (see
/// [`RawSemaphore::waiters`]).
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SemaphoreInfo {
    /// The number of tokens, if the file could be read and decoded.
    pub value: Option<u32>,
    /// The number of registered waiters, if the file could be read.
    pub waiters: Option<u32>,
    /// The owner's user id.
    pub uid: u32,
    /// The owner's group id.
    pub gid: u32,
    /// The permission bits (`0o7777` at most), without the file type.
    pub mode: u32,
    /// The kind of file.
    pub kind: FileKind,
    /// The file size in bytes.
    pub size: u64,
    /// The number of hard links to the file.
    pub links: u64,
    /// The file's identity: equal to
    /// [`NamedSemaphore::file_id`](crate::NamedSemaphore::file_id) of every
    /// handle that mapped this file.
    pub file_id: FileId,
    /// Whether it is a valid semaphore for this target.
    pub status: Status,
    /// Whether it is a robust semaphore: its file holds a record of its
    /// holders ([`holders`](crate::holders) lists them).
    pub robust: bool,
    /// Whether this looks like a temporary file of glibc's or this crate's
    /// create step (`sem.` and six random letters and digits, and either
    /// shorter than a semaphore or still linked under a second name), rather than a
    /// semaphore someone named. A heuristic: a temporary file left by a
    /// creator that died after writing it looks like a semaphore with a
    /// six-character name.
    pub temporary: bool,
}

/// Every field, the mode in octal (`mode: 0o600`).
impl fmt::Debug for SemaphoreInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreInfo")
            .field("value", &self.value)
            .field("waiters", &self.waiters)
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("mode", &format_args!("{:#o}", self.mode))
            .field("kind", &self.kind)
            .field("size", &self.size)
            .field("links", &self.links)
            .field("file_id", &self.file_id)
            .field("status", &self.status)
            .field("robust", &self.robust)
            .field("temporary", &self.temporary)
            .finish()
    }
}

/// Reads the metadata and, for a regular file of the right size, the value
/// of `file` in `dir`. `Ok(None)` if the file no longer exists.
pub(super) fn inspect_file(
    dir: BorrowedFd<'_>,
    file: &CStr,
    name: &[u8],
) -> Result<Option<SemaphoreInfo>, Error> {
    let st = match fs::statat(dir, file, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(Error::from_errno(e)),
    };
    let mut info = info_from_stat(&st, name);
    if readable_layout(&info).is_none() {
        return Ok(Some(info));
    }
    // O_NONBLOCK: should a FIFO replace the file since the stat, the open
    // must not block. O_NOFOLLOW: nor follow a symbolic link put there.
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = match fs::openat(dir, file, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => {
            info.status = Status::Unreadable(Error::from_errno(e).during(Operation::List));
            return Ok(Some(info));
        }
    };
    // What was opened is what counts: it may have been replaced since.
    let st = fs::fstat(&fd).map_err(Error::from_errno)?;
    info = info_from_stat(&st, name);
    let Some(layout) = readable_layout(&info) else {
        return Ok(Some(info));
    };
    let mut bytes = [0u8; HEADER_LEN];
    let mut header = [0u8; 12];
    let read = read_exact_at(&fd, &mut bytes, 0).and_then(|whole| {
        if whole && info.size == ROBUST_FILE_LEN as u64 {
            read_exact_at(&fd, &mut header, HEADER_OFFSET as u64)
        } else {
            Ok(whole)
        }
    });
    match read {
        Ok(true) => {}
        // Truncated since the fstat.
        Ok(false) => {
            info.status = Status::WrongSize;
            return Ok(Some(info));
        }
        Err(e) => {
            info.status = Status::Unreadable(Error::from_errno(e).during(Operation::List));
            return Ok(Some(info));
        }
    }
    let image = format::decode(&bytes, layout);
    let record = if info.size == ROBUST_FILE_LEN as u64 {
        HeaderState::of_bytes(&header)
    } else {
        HeaderState::Empty
    };
    if info.status == Status::Valid {
        info.value = Some(image.value);
        info.waiters = Some(image.waiters);
        info.robust = matches!(record, HeaderState::Robust(_));
        if !image.is_sound() || record == HeaderState::Corrupt {
            info.status = Status::BadHeader;
        }
    } else if image.is_sound() {
        // The other layout's semaphore, decoded read-only.
        info.value = Some(image.value);
        info.waiters = Some(image.waiters);
    } else {
        // Only its size is that of a semaphore.
        info.status = Status::WrongSize;
    }
    Ok(Some(info))
}

/// The layout to decode a file in, for a file whose size says it may hold
/// a `sem_t` image (see [`info_from_stat`]); `None` for any other.
fn readable_layout(info: &SemaphoreInfo) -> Option<Layout> {
    match info.status {
        Status::Valid => Some(RawSemaphore::LAYOUT),
        Status::OtherLayout(layout) => Some(layout),
        _ => None,
    }
}

/// Fills `buf` from `offset`; `Ok(false)` if the file is shorter.
pub(crate) fn read_exact_at(fd: impl AsFd, buf: &mut [u8], offset: u64) -> Result<bool, Errno> {
    let mut done = 0;
    while done < buf.len() {
        match rio::pread(&fd, &mut buf[done..], offset + done as u64) {
            Ok(0) => return Ok(false),
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[allow(clippy::unnecessary_cast)] // field widths differ by target
pub(super) fn info_from_stat(st: &fs::Stat, name: &[u8]) -> SemaphoreInfo {
    let kind = FileKind::from_mode(st.st_mode as u32);
    let size = st.st_size as u64;
    let links = st.st_nlink as u64;
    // Provisional for the sizes of a semaphore: the header decides.
    let status = if kind != FileKind::Regular {
        Status::NotRegularFile
    } else {
        match format::classify_size(size) {
            SizeClass::Native | SizeClass::Robust => Status::Valid,
            SizeClass::OtherLayout => Status::OtherLayout(OTHER_LAYOUT),
            SizeClass::Wrong => Status::WrongSize,
        }
    };
    SemaphoreInfo {
        value: None,
        waiters: None,
        uid: st.st_uid as u32,
        gid: st.st_gid as u32,
        mode: st.st_mode as u32 & 0o7777,
        kind,
        size,
        links,
        file_id: FileId::of(st),
        status,
        robust: false,
        temporary: kind == FileKind::Regular
            && looks_temporary(name)
            && (size < RawSemaphore::SIZE as u64 || links > 1),
    }
}

/// Whether `name` has the shape of a temporary name: six random ASCII
/// letters and digits, as glibc's `sem_open` and this crate make them. Six
/// lower-case letters or six digits are taken for a word or a number someone
/// chose (a random name is like that once in about 170).
fn looks_temporary(name: &[u8]) -> bool {
    name.len() == 6
        && name.iter().all(u8::is_ascii_alphanumeric)
        && !name.iter().all(u8::is_ascii_lowercase)
        && !name.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_layout_semaphores_are_listed_read_only_with_their_value() {
        use crate::file::format::{image, OTHER_SIZE};
        use std::vec::Vec;

        let dir = crate::test_dir::TestDir::new("other-layout");
        let path = |name: &str| std::format!("{}/sem.{name}", dir.0);
        let mut old = image(OTHER_LAYOUT, 3, 1).to_vec();
        old.resize(OTHER_SIZE, 0);
        std::fs::write(path("old"), &old).unwrap();
        // The other layout's size, but not its header.
        std::fs::write(path("odd"), std::vec![0xff; OTHER_SIZE]).unwrap();

        let info = crate::inspect_in(&dir.0, "old").unwrap();
        assert_eq!(info.status, Status::OtherLayout(OTHER_LAYOUT));
        assert_eq!(
            (info.value, info.waiters, info.size),
            (Some(3), Some(1), OTHER_SIZE as u64)
        );
        assert_eq!(info.status.as_str(), "other-layout");
        assert!(!info.status.is_valid());
        let odd = crate::inspect_in(&dir.0, "odd").unwrap();
        assert_eq!((odd.status, odd.value), (Status::WrongSize, None));

        // The listing says the same.
        let mut buf = [core::mem::MaybeUninit::uninit(); crate::LIST_BUFFER_LEN];
        let mut listing = crate::list_in(&dir.0, &mut buf).unwrap();
        let mut seen = Vec::new();
        while let Some(entry) = listing.next() {
            let entry = entry.unwrap();
            seen.push((entry.name.to_vec(), entry.info.status, entry.info.value));
        }
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        let want = [
            (b"/odd".to_vec(), Status::WrongSize, None),
            (b"/old".to_vec(), Status::OtherLayout(OTHER_LAYOUT), Some(3)),
        ];
        assert_eq!(seen, want);
        // Reading changed nothing.
        assert_eq!(std::fs::read(path("old")).unwrap(), old);
    }

    #[test]
    fn temporary_names() {
        assert!(looks_temporary(b"aB3xY9"));
        assert!(!looks_temporary(b"aB3xY"));
        assert!(!looks_temporary(b"aB3xY9z"));
        assert!(!looks_temporary(b"aB-xY9"));
        assert!(!looks_temporary(b"broken"));
        assert!(!looks_temporary(b"123456"));
        assert!(looks_temporary(b"QWERTY"));
    }
}
