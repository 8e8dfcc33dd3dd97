//! Creating a semaphore file and publishing it under its name atomically:
//! the complete image is written to a file that has no name yet (an
//! `O_TMPFILE` file on Linux 6.10 and later) or a temporary one, mapped, and
//! only then linked to the name (or, for `UnlinkAndCreate`, renamed over the
//! file at the name under that file's lock: see [`super::name_lock`]).

use core::ffi::CStr;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{self, Mode, OFlags};
use rustix::io::{self as rio, Errno};

use super::{map, temp_suffix, Mapping, TEMP_ATTEMPTS};
use crate::error::{Error, ErrorKind};
use crate::name::{CPath, Directory};
use crate::raw::RawSemaphore;
use crate::robust::record::write_new_header;
use crate::robust::ROBUST_FILE_LEN;

/// How a new file takes its name.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Publish {
    /// `link`: fails with `EEXIST` if the name exists; never overwrites.
    Link,
    /// `rename` over the file at the name, locked and re-checked first
    /// (`link` where the name is free): replaces whatever is there, with no
    /// moment when the name is missing or names a partial file.
    Replace,
}

/// Creates a semaphore file holding `value` and publishes it at `path`;
/// with `robust`, a file of [`ROBUST_FILE_LEN`] bytes whose record has
/// `value` for its limit and every slot free.
///
/// The complete image is written to a file that is not yet under the
/// semaphore's name, mapped, and only then given that name, so no process can
/// ever open a partially written semaphore.
///
/// For [`Publish::Link`] on Linux 6.10 or later the file is made with
/// `O_TMPFILE` and named with `linkat(fd, "", ..., AT_EMPTY_PATH)`, which
/// 6.10 allows without `CAP_DAC_READ_SEARCH`: no temporary name ever shows
/// in the directory. Older kernels use a temporary `sem.XXXXXX` file, as
/// glibc does, moved to the name with `renameat2(RENAME_NOREPLACE)` (glibc
/// links it and removes the temporary name), even where `O_TMPFILE` would
/// work: before 6.0 an `O_TMPFILE` file on a tmpfs without POSIX ACLs
/// ignored the umask, which would give a semaphore wider permissions than
/// glibc's. Either way the file never has two links.
pub(crate) fn create(
    dir: &Directory,
    path: &CStr,
    value: u32,
    mode: Mode,
    publish: Publish,
    robust: bool,
) -> Result<Mapping, Error> {
    let sem = RawSemaphore::new(value)?.to_bytes();
    let mut file = [0u8; ROBUST_FILE_LEN];
    file[..sem.len()].copy_from_slice(&sem);
    let image = if robust {
        write_new_header(&mut file, value);
        &file[..]
    } else {
        &file[..sem.len()]
    };
    if publish == Publish::Link && unnamed::usable() {
        match create_unnamed(dir, path, image, mode) {
            Unnamed::Done(result) => return result,
            Unnamed::NotHere => {}
            Unnamed::Never => unnamed::disable(),
        }
    }
    create_named(dir, path, image, mode, publish)
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
fn create_unnamed(dir: &Directory, path: &CStr, image: &[u8], mode: Mode) -> Unnamed {
    let flags = OFlags::RDWR | OFlags::TMPFILE | OFlags::CLOEXEC;
    let fd = match fs::open(CPath::directory(dir).as_c_str(), flags, mode) {
        Ok(fd) => fd,
        // No O_TMPFILE: EOPNOTSUPP from the file system; EISDIR or EINVAL
        // from a kernel that does not know the flag.
        Err(Errno::OPNOTSUPP | Errno::ISDIR | Errno::INVAL) => return Unnamed::Never,
        Err(Errno::PERM | Errno::ACCESS | Errno::NOSYS) => return Unnamed::NotHere,
        Err(e) => return Unnamed::Done(Err(Error::from_errno(e))),
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
        Err(e) => Unnamed::Done(Err(Error::from_errno(e))),
    }
}

/// glibc's way of [`create`], nearly: a named temporary file, then moved to
/// the name ([`name_lock::publish_noreplace`](super::name_lock::publish_noreplace),
/// where glibc links it and removes the temporary name; or, for
/// [`Publish::Replace`], [`name_lock::replace`](super::name_lock::replace)).
/// The temporary name is removed if publishing fails.
fn create_named(
    dir: &Directory,
    path: &CStr,
    image: &[u8],
    mode: Mode,
    publish: Publish,
) -> Result<Mapping, Error> {
    let (tmp, fd) = create_temporary(dir, mode)?;
    let result = write_image(&fd, image).and_then(|()| map(&fd, false));
    drop(fd);
    let published = result.and_then(|mapping| {
        match publish {
            Publish::Link => super::name_lock::publish_noreplace(tmp.as_c_str(), path)
                .map_err(Error::from_errno)?,
            Publish::Replace => super::name_lock::replace(tmp.as_c_str(), path)?,
        }
        Ok(mapping)
    });
    if published.is_err() {
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
            Err(e) => return Err(Error::from_errno(e)),
        }
    }
    Err(Error::new(
        ErrorKind::Os,
        Errno::AGAIN,
        "no free temporary name",
    ))
}

fn write_image(fd: impl AsFd, image: &[u8]) -> Result<(), Error> {
    let mut rest = image;
    while !rest.is_empty() {
        match rio::write(&fd, rest) {
            Ok(0) => return Err(Error::from_errno(Errno::NOSPC)),
            Ok(n) => rest = &rest[n..],
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::from_errno(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::name_lock::is_at;
    use crate::file_id::FileId;
    use crate::name::Name;
    use crate::test_dir::TestDir;

    /// Creates `name` in `dir` one way, and checks what it left behind.
    fn check_creation(
        tag: &str,
        make: impl Fn(&Directory, &CStr, &[u8]) -> Result<Mapping, Error>,
    ) {
        let dir = TestDir::new(tag);
        let directory = Directory::parse(&dir.0).unwrap();
        let path = CPath::semaphore(&directory, &Name::parse(b"x").unwrap());
        let image = RawSemaphore::new(7).unwrap().to_bytes();

        let mapping = make(&directory, path.as_c_str(), &image).unwrap();
        assert_eq!(mapping.sem().value(), 7);
        assert_eq!(dir.files(), ["sem.x"], "only the semaphore, no temporary");
        let on_disk = std::fs::read(std::format!("{}/sem.x", dir.0)).unwrap();
        assert_eq!(on_disk, image);
        let st = fs::stat(path.as_c_str()).unwrap();
        assert_eq!(mapping.id(), FileId::of(&st));
        assert_eq!(
            st.st_mode & 0o777 & !0o600,
            0,
            "no more than the mode asked"
        );
        // The mapping is the file: a token taken through it shows on disk.
        assert!(mapping.sem().take_now());
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
        let path = CPath::semaphore(&directory, &Name::parse(b"r").unwrap());
        let mode = Mode::from_raw_mode(0o600);
        let first = create(&directory, path.as_c_str(), 1, mode, Publish::Link, false).unwrap();
        let second = create(
            &directory,
            path.as_c_str(),
            2,
            mode,
            Publish::Replace,
            false,
        )
        .unwrap();
        assert_eq!(dir.files(), ["sem.r"]);
        assert_ne!(first.id(), second.id());
        assert!(is_at(path.as_c_str(), second.id()) && !is_at(path.as_c_str(), first.id()));
        assert_eq!((first.sem().value(), second.sem().value()), (1, 2));
    }
}
