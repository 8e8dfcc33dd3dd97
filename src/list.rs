//! Listing the named semaphores in a directory: what `ls /dev/shm` shows,
//! decoded.
//!
//! Every `sem.*` file is reported, valid or not: a file of the wrong size or
//! type is an entry with a [`Status`] saying so, never skipped, and a name
//! that is not UTF-8 is given as its bytes. Values are read with `pread`
//! from a descriptor opened read-only, never through a mapping, so a file
//! truncated while it is being read cannot raise `SIGBUS`.

use core::ffi::CStr;
use core::fmt;
use core::mem::MaybeUninit;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{self, AtFlags, FileType, Mode, OFlags, RawDir, CWD};
use rustix::io::{self as rio, Errno};

use crate::name::{CPath, Directory, Name};
use crate::raw::FUTEX_SHARED;
use crate::{
    Error, ErrorKind, Layout, Operation, RawSemaphore, DEFAULT_DIRECTORY, NAME_MAX, VALUE_MAX,
};

/// A comfortable size for the buffer given to [`list`]: room for several
/// directory entries of the longest name. Any buffer of at least 300 bytes
/// works (one entry must fit); a bigger one needs fewer system calls.
pub const LIST_BUFFER_LEN: usize = 4096;

/// The file-name prefix of semaphore files.
const PREFIX: &[u8] = b"sem.";

/// The kind of file at a semaphore's path.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// A regular file of [`RawSemaphore::SIZE`] bytes with glibc's header:
    /// [`NamedSemaphore::open`](crate::NamedSemaphore::open) accepts it.
    Valid,
    /// Not a regular file (see [`SemaphoreInfo::kind`]).
    NotRegularFile,
    /// A regular file whose size is not [`RawSemaphore::SIZE`]: a file made
    /// by a process of the other word size, a temporary file being written,
    /// or something else entirely. Opening it would fail (glibc would map
    /// it, and raise `SIGBUS` on a file that is too short).
    WrongSize,
    /// The right size, but the `private` field is not 128 or the value is
    /// above [`VALUE_MAX`]: not something glibc or this crate wrote.
    BadHeader,
    /// The file could not be opened or read (most often: no read
    /// permission); its value is unknown.
    Unreadable(Error),
}

impl Status {
    /// A short lower-case word for the status: `"ok"`, `"not-regular-file"`,
    /// `"wrong-size"`, `"bad-header"` or `"unreadable"`.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Valid => "ok",
            Status::NotRegularFile => "not-regular-file",
            Status::WrongSize => "wrong-size",
            Status::BadHeader => "bad-header",
            Status::Unreadable(_) => "unreadable",
        }
    }

    /// Whether the file is a valid semaphore for this target.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Whether it is a valid semaphore for this target.
    pub status: Status,
    /// Whether this looks like a temporary file of glibc's or this crate's
    /// create step (`sem.` and six random letters and digits, and either
    /// shorter than a semaphore or still linked under a second name), rather than a
    /// semaphore someone named. A heuristic: a temporary file left by a
    /// creator that died after writing it looks like a semaphore with a
    /// six-character name.
    pub temporary: bool,
}

/// One `sem.*` file found by [`list`]: its name, borrowed from the
/// directory buffer, and what it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry<'a> {
    /// The semaphore's name: the file name without its `sem.` prefix and
    /// without a leading slash. Not necessarily UTF-8.
    pub name: &'a [u8],
    /// What the file holds.
    pub info: SemaphoreInfo,
}

impl<'a> Entry<'a> {
    /// The name as a `&str`, if it is UTF-8.
    #[must_use]
    pub fn name_str(&self) -> Option<&'a str> {
        core::str::from_utf8(self.name).ok()
    }

    /// An owning copy of the entry.
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_owned(&self) -> OwnedEntry {
        OwnedEntry {
            name: self.name.into(),
            info: self.info,
        }
    }
}

/// An [`Entry`] that owns its name, as returned by [`list_all`].
#[cfg(feature = "alloc")]
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnedEntry {
    /// The semaphore's name, without the `sem.` prefix or a leading slash.
    /// Not necessarily UTF-8.
    pub name: alloc::vec::Vec<u8>,
    /// What the file holds.
    pub info: SemaphoreInfo,
}

#[cfg(feature = "alloc")]
impl OwnedEntry {
    /// The name as a `&str`, if it is UTF-8.
    #[must_use]
    pub fn name_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.name).ok()
    }
}

/// An iterator over the semaphores of a directory, made by [`list`] or
/// [`list_in`].
///
/// Its [`next`](Listing::next) lends each [`Entry`] from the caller's buffer,
/// so it is not an [`Iterator`]: use `while let`. Entries come in directory
/// order. A file removed while the listing runs is left out; one created
/// while it runs may or may not appear.
pub struct Listing<'buf> {
    dir: RawDir<'buf, OwnedFd>,
    /// A second descriptor of the directory for `statat`/`openat`: the
    /// first one belongs to `dir`.
    fd: OwnedFd,
    /// The current entry's file name and its NUL (a file name is at most
    /// 255 bytes on Linux).
    file: [u8; 256],
    len: usize,
}

impl fmt::Debug for Listing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listing").finish_non_exhaustive()
    }
}

impl Listing<'_> {
    /// The next semaphore file, or `None` at the end of the directory.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] if the buffer is too small for the next
    /// directory entry (see [`LIST_BUFFER_LEN`]); [`ErrorKind::Os`] or
    /// [`ErrorKind::PermissionDenied`] if reading the directory or a file's
    /// metadata fails. A file that cannot be opened for its value is not an
    /// error: its entry has [`Status::Unreadable`].
    #[allow(clippy::should_implement_trait)] // a lending iterator
    pub fn next(&mut self) -> Option<Result<Entry<'_>, Error>> {
        loop {
            let entry = match self.dir.next()? {
                Ok(entry) => entry,
                Err(Errno::INVAL) => {
                    return Some(Err(Error::new(
                        ErrorKind::InvalidArgument,
                        Errno::INVAL,
                        "directory buffer too small",
                    )))
                }
                Err(e) => return Some(Err(Error::from_errno(e).during(Operation::List))),
            };
            let file = entry.file_name().to_bytes_with_nul();
            if !file.starts_with(PREFIX) || file.len() > self.file.len() {
                continue;
            }
            // The entry borrows the directory reader; keep the name here.
            self.file[..file.len()].copy_from_slice(file);
            self.len = file.len() - 1;
            let Ok(file) = CStr::from_bytes_with_nul(&self.file[..=self.len]) else {
                continue; // unreachable: a directory entry holds one NUL
            };
            match inspect_file(self.fd.as_fd(), file, &file.to_bytes()[PREFIX.len()..]) {
                Ok(Some(info)) => {
                    let name = &self.file[PREFIX.len()..self.len];
                    return Some(Ok(Entry { name, info }));
                }
                // Removed since the directory was read.
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Lists the semaphores in `/dev/shm`, using `buf` for directory entries.
///
/// No allocation: the entries borrow their names from `buf`. See
/// [`list_all`] for an owning version.
///
/// # Errors
///
/// [`ErrorKind::NotFound`] or [`ErrorKind::PermissionDenied`] if the
/// directory cannot be opened; [`ErrorKind::Os`] for other failures.
///
/// # Examples
///
/// ```
/// use core::mem::MaybeUninit;
/// use named_semaphores::{list, NamedSemaphore, LIST_BUFFER_LEN};
/// # let name = format!("doc-list-{}", std::process::id());
///
/// let sem = NamedSemaphore::create(&name, 2)?;
/// let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
/// let mut listing = list(&mut buf)?;
/// let mut found = false;
/// while let Some(entry) = listing.next() {
///     let entry = entry?;
///     if entry.name == name.as_bytes() {
///         assert_eq!(entry.info.value, Some(2));
///         assert!(entry.info.status.is_valid());
///         found = true;
///     }
/// }
/// assert!(found);
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn list(buf: &mut [MaybeUninit<u8>]) -> Result<Listing<'_>, Error> {
    list_in(DEFAULT_DIRECTORY, buf)
}

/// [`list`] in another directory.
///
/// # Errors
///
/// As for [`list`], and [`ErrorKind::InvalidArgument`] for an unusable
/// directory path.
pub fn list_in<'buf>(
    directory: &str,
    buf: &'buf mut [MaybeUninit<u8>],
) -> Result<Listing<'buf>, Error> {
    open_listing(directory, buf).map_err(|e| e.during(Operation::List))
}

fn open_listing<'buf>(
    directory: &str,
    buf: &'buf mut [MaybeUninit<u8>],
) -> Result<Listing<'buf>, Error> {
    let dir = Directory::parse(directory)?;
    let path = CPath::directory(&dir);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = fs::openat(CWD, path.as_c_str(), flags, Mode::empty()).map_err(directory_error)?;
    let second = rio::dup(&fd).map_err(Error::from_errno)?;
    Ok(Listing {
        dir: RawDir::new(fd, buf),
        fd: second,
        file: [0; 256],
        len: 0,
    })
}

/// Every semaphore in `/dev/shm`, with owned names.
///
/// # Errors
///
/// As for [`list`].
///
/// ```
/// use named_semaphores::{list_all, NamedSemaphore};
/// # let name = format!("doc-list-all-{}", std::process::id());
///
/// let _sem = NamedSemaphore::create(&name, 1)?;
/// let all = list_all()?;
/// assert!(all.iter().any(|e| e.name_str() == Some(&name)));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[cfg(feature = "alloc")]
pub fn list_all() -> Result<alloc::vec::Vec<OwnedEntry>, Error> {
    list_all_in(DEFAULT_DIRECTORY)
}

/// [`list_all`] in another directory.
///
/// # Errors
///
/// As for [`list_in`].
#[cfg(feature = "alloc")]
pub fn list_all_in(directory: &str) -> Result<alloc::vec::Vec<OwnedEntry>, Error> {
    let mut buf = alloc::vec::Vec::with_capacity(LIST_BUFFER_LEN);
    let mut listing = list_in(directory, buf.spare_capacity_mut())?;
    let mut out = alloc::vec::Vec::new();
    while let Some(entry) = listing.next() {
        out.push(entry?.to_owned());
    }
    Ok(out)
}

/// What the file of the semaphore `name` in `/dev/shm` holds, valid or not.
///
/// # Errors
///
/// [`ErrorKind::InvalidName`] for an invalid name, [`ErrorKind::NotFound`]
/// if there is no file at the name; [`ErrorKind::PermissionDenied`] or
/// [`ErrorKind::Os`] if its metadata cannot be read. A file that exists but
/// is not a valid semaphore is not an error: see [`SemaphoreInfo::status`].
///
/// ```
/// use named_semaphores::{inspect, NamedSemaphore, Status};
/// # let name = format!("doc-inspect-{}", std::process::id());
///
/// let _sem = NamedSemaphore::create(&name, 4)?;
/// let info = inspect(&name)?;
/// assert_eq!((info.value, info.status), (Some(4), Status::Valid));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
pub fn inspect(name: impl AsRef<[u8]>) -> Result<SemaphoreInfo, Error> {
    inspect_in(DEFAULT_DIRECTORY, name)
}

/// [`inspect`] in another directory.
///
/// # Errors
///
/// As for [`inspect`], and [`ErrorKind::InvalidArgument`] for an unusable
/// directory path.
pub fn inspect_in(directory: &str, name: impl AsRef<[u8]>) -> Result<SemaphoreInfo, Error> {
    let name = name.as_ref();
    inspect_name(directory, name).map_err(|e| e.on(Operation::List, name))
}

fn inspect_name(directory: &str, name: &[u8]) -> Result<SemaphoreInfo, Error> {
    let name = Name::parse(name)?;
    let dir = Directory::parse(directory)?;
    let path = CPath::directory(&dir);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = fs::openat(CWD, path.as_c_str(), flags, Mode::empty()).map_err(directory_error)?;
    // `sem.NAME` and its NUL, on the stack; the name holds no NUL.
    let bare = &name.as_bytes()[1..];
    let mut buf = [0u8; PREFIX.len() + NAME_MAX + 1];
    buf[..PREFIX.len()].copy_from_slice(PREFIX);
    buf[PREFIX.len()..PREFIX.len() + bare.len()].copy_from_slice(bare);
    let file = CStr::from_bytes_until_nul(&buf)
        .map_err(|_| Error::new(ErrorKind::InvalidName, Errno::INVAL, "NUL byte in the name"))?;
    match inspect_file(fd.as_fd(), file, bare)? {
        Some(info) => Ok(info),
        None => Err(Error::from_errno(Errno::NOENT)),
    }
}

fn directory_error(errno: Errno) -> Error {
    match errno {
        Errno::NOENT => Error::new(ErrorKind::NotFound, errno, "no such directory"),
        Errno::NOTDIR => Error::new(ErrorKind::InvalidArgument, Errno::INVAL, "not a directory"),
        e => Error::from_errno(e),
    }
}

/// Reads the metadata and, for a regular file of the right size, the value
/// of `file` in `dir`. `Ok(None)` if the file no longer exists.
fn inspect_file(
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
    if info.status != Status::Valid {
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
    if info.status != Status::Valid {
        return Ok(Some(info));
    }
    let mut bytes = [0u8; RawSemaphore::SIZE];
    match read_exact_at(&fd, &mut bytes) {
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
    let image = decode(&bytes);
    info.value = Some(image.value);
    info.waiters = Some(image.waiters);
    if image.private != FUTEX_SHARED || image.value > VALUE_MAX {
        info.status = Status::BadHeader;
    }
    Ok(Some(info))
}

/// Fills `buf` from offset 0; `Ok(false)` if the file is shorter.
fn read_exact_at(fd: impl AsFd, buf: &mut [u8]) -> Result<bool, Errno> {
    let mut done = 0;
    while done < buf.len() {
        match rio::pread(&fd, &mut buf[done..], done as u64) {
            Ok(0) => return Ok(false),
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[allow(clippy::unnecessary_cast)] // field widths differ by target
fn info_from_stat(st: &fs::Stat, name: &[u8]) -> SemaphoreInfo {
    let kind = FileKind::from_mode(st.st_mode as u32);
    let size = st.st_size as u64;
    let links = st.st_nlink as u64;
    let status = if kind != FileKind::Regular {
        Status::NotRegularFile
    } else if size != RawSemaphore::SIZE as u64 {
        Status::WrongSize
    } else {
        Status::Valid
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
        status,
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

/// The fields of a `sem_t` image, decoded with this target's layout.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Decoded {
    pub(crate) value: u32,
    pub(crate) waiters: u32,
    pub(crate) private: i32,
}

/// Decodes the bytes of a semaphore file (see `raw/wide.rs` and
/// `raw/narrow.rs` for the layouts).
pub(crate) fn decode(bytes: &[u8; RawSemaphore::SIZE]) -> Decoded {
    let word = |at: usize| [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
    match RawSemaphore::LAYOUT {
        Layout::Wide => {
            let mut data = [0u8; 8];
            data.copy_from_slice(&bytes[0..8]);
            let data = u64::from_ne_bytes(data);
            Decoded {
                value: data as u32,
                waiters: (data >> 32) as u32,
                private: i32::from_ne_bytes(word(RawSemaphore::PRIVATE_OFFSET)),
            }
        }
        Layout::Narrow => Decoded {
            value: u32::from_ne_bytes(word(0)) >> 1,
            waiters: u32::from_ne_bytes(word(12)),
            private: i32::from_ne_bytes(word(RawSemaphore::PRIVATE_OFFSET)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_matches_the_image() {
        let sem = RawSemaphore::new(5).unwrap();
        assert!(sem.try_acquire().unwrap());
        let d = decode(&sem.to_bytes());
        assert_eq!(
            d,
            Decoded {
                value: 4,
                waiters: 0,
                private: 128
            }
        );
    }

    #[test]
    fn decode_glibc_bytes_with_a_waiter() {
        // Byte images seen from glibc with one blocked waiter and value 0.
        let mut bytes = [0u8; RawSemaphore::SIZE];
        match RawSemaphore::LAYOUT {
            Layout::Wide => {
                bytes[0..8].copy_from_slice(&(1u64 << 32).to_ne_bytes());
                bytes[8..12].copy_from_slice(&128i32.to_ne_bytes());
            }
            Layout::Narrow => {
                bytes[0..4].copy_from_slice(&1u32.to_ne_bytes());
                bytes[4..8].copy_from_slice(&128i32.to_ne_bytes());
                bytes[12..16].copy_from_slice(&1u32.to_ne_bytes());
            }
        }
        let d = decode(&bytes);
        assert_eq!((d.value, d.waiters, d.private), (0, 1, 128));
    }

    #[test]
    fn lists_every_semaphore_file_and_only_those() {
        let dir = crate::test_dir::TestDir::new("every");
        let sem = crate::NamedSemaphore::options()
            .directory(&dir.0)
            .initial_value(4)
            .existence(crate::Existence::CreateNew)
            .open("one")
            .unwrap();
        assert!(sem.try_acquire().unwrap());
        std::fs::write(std::format!("{}/sem.two", dir.0), [0u8; 3]).unwrap();
        std::fs::write(std::format!("{}/other", dir.0), [0u8; 32]).unwrap();
        std::fs::create_dir(std::format!("{}/sem.three", dir.0)).unwrap();

        let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
        let mut listing = list_in(&dir.0, &mut buf).unwrap();
        let mut seen = std::vec::Vec::new();
        while let Some(entry) = listing.next() {
            let entry = entry.unwrap();
            seen.push((entry.name.to_vec(), entry.info));
        }
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        let names: std::vec::Vec<&[u8]> = seen.iter().map(|(n, _)| &n[..]).collect();
        assert_eq!(names, [&b"one"[..], b"three", b"two"]);
        let one = seen[0].1;
        assert_eq!(
            (one.value, one.waiters, one.status),
            (Some(3), Some(0), Status::Valid)
        );
        assert_eq!(
            (one.kind, one.size, one.links),
            (FileKind::Regular, RawSemaphore::SIZE as u64, 1)
        );
        assert_eq!(one.mode, 0o600 & one.mode);
        let three = seen[1].1;
        assert_eq!(
            (three.kind, three.status, three.value),
            (FileKind::Directory, Status::NotRegularFile, None)
        );
        let two = seen[2].1;
        assert_eq!(
            (two.size, two.status, two.value),
            (3, Status::WrongSize, None)
        );
        assert!(!two.temporary, "a three-letter name is not a temporary one");

        assert_eq!(inspect_in(&dir.0, "/one").unwrap(), one);
        assert_eq!(inspect_in(&dir.0, "two").unwrap().status, Status::WrongSize);
    }

    #[test]
    fn listing_errors() {
        let mut tiny = [MaybeUninit::uninit(); 16];
        let mut listing = list_in("/dev/shm", &mut tiny).unwrap();
        let err = listing.next().unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);

        let mut buf = [MaybeUninit::uninit(); 512];
        let err = list_in("/dev/shm/surely/not/here", &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = list_in("", &mut buf).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);

        let err = inspect("surely-nobody-made-this-one").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(inspect("a/b").unwrap_err().kind(), ErrorKind::InvalidName);
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
