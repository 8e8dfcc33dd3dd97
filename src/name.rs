//! Names and paths: how a semaphore name becomes `DIR/sem.NAME`, exactly as
//! glibc maps it (`posix/shm-directory.c`), in fixed buffers on the stack.

use core::ffi::CStr;
use core::fmt;

use rustix::io::Errno;

use crate::error::{Error, ErrorKind};

/// The longest semaphore name, in bytes, without its leading slash: the file
/// name `sem.NAME` must fit the kernel's 255-byte limit on a path component.
pub const NAME_MAX: usize = 251;

/// The longest directory path accepted by
/// [`OpenOptions::directory`](crate::OpenOptions::directory), in bytes.
pub const DIRECTORY_MAX: usize = 255;

/// Where glibc keeps named semaphores.
pub const DEFAULT_DIRECTORY: &str = "/dev/shm";

/// The file-name prefix glibc gives semaphores in the directory.
const PREFIX: &[u8] = b"sem.";

/// The file-name prefix of a robust holder's beacon file, in the
/// semaphore's directory; never `sem.`, so listings do not take it for a
/// semaphore.
pub(crate) const BEACON_PREFIX: &[u8] = b"nsem-holder.";

/// A valid semaphore name, stored in its canonical `/NAME` form.
#[derive(Clone)]
pub(crate) struct Name {
    buf: [u8; NAME_MAX + 1],
    len: u8,
}

impl Name {
    /// Maps `name` as glibc does: strip every leading `/`; what remains must
    /// be non-empty, at most [`NAME_MAX`] bytes, with no `/` and no NUL.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidName`] (errno `EINVAL`, or `ENAMETOOLONG` for a
    /// name that is too long).
    pub(crate) fn parse(name: &[u8]) -> Result<Name, Error> {
        let slashes = name.iter().take_while(|&&b| b == b'/').count();
        let bare = &name[slashes..];
        if bare.is_empty() {
            return Err(invalid_name(Errno::INVAL, "empty name"));
        }
        if bare.contains(&b'/') {
            return Err(invalid_name(Errno::INVAL, "'/' inside the name"));
        }
        if bare.contains(&0) {
            return Err(invalid_name(Errno::INVAL, "NUL byte in the name"));
        }
        if bare.len() > NAME_MAX {
            return Err(invalid_name(
                Errno::NAMETOOLONG,
                "longer than NAME_MAX bytes",
            ));
        }
        let mut buf = [0; NAME_MAX + 1];
        buf[0] = b'/';
        buf[1..=bare.len()].copy_from_slice(bare);
        Ok(Name {
            buf,
            len: (bare.len() + 1) as u8,
        })
    }

    /// The canonical `/NAME` form: any bytes but `/` and NUL after the
    /// slash, as glibc allows.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// [`as_bytes`](Self::as_bytes) if it is UTF-8, else the part before the
    /// first byte that is not.
    pub(crate) fn as_str(&self) -> &str {
        utf8_prefix(self.as_bytes())
    }

    /// `NAME`, without the slash.
    fn bare(&self) -> &[u8] {
        &self.buf[1..usize::from(self.len)]
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_quoted(f, self.as_bytes())
    }
}

/// Bytes shown by `Debug` as [`write_quoted`] writes them.
pub(crate) struct Quoted<'a>(pub(crate) &'a [u8]);

impl fmt::Debug for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_quoted(f, self.0)
    }
}

/// The longest prefix of `bytes` that is UTF-8.
pub(crate) fn utf8_prefix(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        // `valid_up_to` bytes are UTF-8; the fallback is unreachable.
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    }
}

/// Writes `bytes` as a quoted string, like `Debug` for `str`, with each byte
/// that is not UTF-8 as `\xNN`.
pub(crate) fn write_quoted(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str("\"")?;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            fmt::Display::fmt(&c.escape_debug(), f)?;
        }
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    f.write_str("\"")
}

fn invalid_name(errno: Errno, detail: &'static str) -> Error {
    Error::new(ErrorKind::InvalidName, errno, detail)
}

/// The directory semaphores live in, stored without trailing slashes.
#[derive(Clone)]
pub(crate) struct Directory {
    buf: [u8; DIRECTORY_MAX],
    len: u8,
}

impl Default for Directory {
    fn default() -> Self {
        // DEFAULT_DIRECTORY is valid, so the fallback is unreachable.
        Directory::parse(DEFAULT_DIRECTORY).unwrap_or(Directory {
            buf: [0; DIRECTORY_MAX],
            len: 0,
        })
    }
}

impl Directory {
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`] for an empty path, a NUL byte, or more
    /// than [`DIRECTORY_MAX`] bytes.
    pub(crate) fn parse(dir: &str) -> Result<Directory, Error> {
        let trimmed = dir.trim_end_matches('/');
        // "/" trims to "", and stays the root.
        let bytes = if trimmed.is_empty() && !dir.is_empty() {
            b"/".as_slice()
        } else {
            trimmed.as_bytes()
        };
        let invalid = |errno, detail| Err(Error::new(ErrorKind::InvalidArgument, errno, detail));
        if bytes.is_empty() {
            return invalid(Errno::INVAL, "empty directory path");
        }
        // A relative path would be resolved again at every call, the drop
        // included, against whatever the current directory is then.
        if bytes[0] != b'/' {
            return invalid(Errno::INVAL, "directory path is not absolute");
        }
        if bytes.contains(&0) {
            return invalid(Errno::INVAL, "NUL byte in the directory path");
        }
        if bytes.len() > DIRECTORY_MAX {
            return invalid(Errno::INVAL, "directory path longer than DIRECTORY_MAX");
        }
        let mut buf = [0; DIRECTORY_MAX];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(Directory {
            buf,
            len: bytes.len() as u8,
        })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    pub(crate) fn is_default(&self) -> bool {
        self.as_bytes() == DEFAULT_DIRECTORY.as_bytes()
    }
}

impl fmt::Debug for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&core::str::from_utf8(self.as_bytes()).unwrap_or("?"), f)
    }
}

/// A NUL-terminated path `DIR/sem.SUFFIX`, built on the stack.
pub(crate) struct CPath {
    buf: [u8; DIRECTORY_MAX + 1 + PREFIX.len() + NAME_MAX + 1],
    len: usize,
}

impl CPath {
    fn join(dir: &Directory, file: &[u8]) -> CPath {
        CPath::join_with(dir, PREFIX, file)
    }

    fn join_with(dir: &Directory, prefix: &[u8], file: &[u8]) -> CPath {
        let mut path = CPath {
            buf: [0; DIRECTORY_MAX + 1 + PREFIX.len() + NAME_MAX + 1],
            len: 0,
        };
        for part in [dir.as_bytes(), b"/", prefix, file] {
            path.buf[path.len..path.len + part.len()].copy_from_slice(part);
            path.len += part.len();
        }
        path
    }

    /// `DIR` itself.
    pub(crate) fn directory(dir: &Directory) -> CPath {
        let mut path = CPath::join(dir, b"");
        path.len = dir.as_bytes().len();
        path.buf[path.len] = 0;
        path
    }

    /// `DIR/sem.NAME`: the file of the semaphore `name`.
    pub(crate) fn semaphore(dir: &Directory, name: &Name) -> CPath {
        CPath::join(dir, name.bare())
    }

    /// `DIR/sem.XXXXXX`: a temporary file name, as glibc's `sem_open` makes.
    pub(crate) fn temporary(dir: &Directory, suffix: &[u8; 6]) -> CPath {
        CPath::join(dir, suffix)
    }

    /// `DIR/nsem-holder.<16 hex digits>`: the beacon file of a robust
    /// holder whose id is `id` (see `robust/beacon.rs`).
    pub(crate) fn beacon(dir: &Directory, id: u64) -> CPath {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [0u8; 16];
        for (i, d) in digits.iter_mut().enumerate() {
            *d = HEX[((id >> (60 - 4 * i)) & 0xf) as usize];
        }
        CPath::join_with(dir, BEACON_PREFIX, &digits)
    }

    pub(crate) fn as_c_str(&self) -> &CStr {
        // Names and directories hold no NUL and the buffer ends with one, so
        // this finds the terminator; the fallback is unreachable.
        CStr::from_bytes_until_nul(&self.buf[..=self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::ToOwned;
    use std::string::String;

    #[test]
    fn leading_slashes_are_stripped() {
        for n in ["foo", "/foo", "//foo", "///foo"] {
            assert_eq!(Name::parse(n.as_bytes()).unwrap().as_str(), "/foo");
        }
    }

    #[test]
    fn dots_are_names() {
        assert_eq!(Name::parse(b".").unwrap().as_str(), "/.");
        assert_eq!(Name::parse(b"..").unwrap().as_str(), "/..");
    }

    #[test]
    fn bad_names() {
        for n in ["", "/", "//", "a/b", "/a/", "a\0b"] {
            let e = Name::parse(n.as_bytes()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidName, "{n:?}");
            assert_eq!(e.raw_os_error(), 22, "{n:?}");
        }
    }

    #[test]
    fn length_limit() {
        let ok: String = "x".repeat(NAME_MAX);
        assert_eq!(
            Name::parse(ok.as_bytes()).unwrap().as_str().len(),
            NAME_MAX + 1
        );
        let long: String = "x".repeat(NAME_MAX + 1);
        let e = Name::parse(long.as_bytes()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidName);
        // ENAMETOOLONG: 36 on most architectures, 78 on mips.
        assert_eq!(
            e.raw_os_error(),
            rustix::io::Errno::NAMETOOLONG.raw_os_error()
        );
    }

    #[test]
    fn paths() {
        let name = Name::parse(b"/jobs").unwrap();
        let dir = Directory::default();
        assert_eq!(
            CPath::semaphore(&dir, &name).as_c_str().to_bytes(),
            b"/dev/shm/sem.jobs"
        );
        let dir = Directory::parse("/run/shm//").unwrap();
        assert_eq!(
            CPath::temporary(&dir, b"abcdef").as_c_str().to_bytes(),
            b"/run/shm/sem.abcdef"
        );
        let root = Directory::parse("/").unwrap();
        assert_eq!(
            CPath::semaphore(&root, &name).as_c_str().to_bytes(),
            b"//sem.jobs"
        );
    }

    #[test]
    fn names_are_bytes() {
        let name = Name::parse(b"/caf\xe9\xff").unwrap();
        assert_eq!(name.as_bytes(), b"/caf\xe9\xff");
        assert_eq!(name.as_str(), "/caf");
        assert_eq!(std::format!("{name:?}"), r#""/caf\xe9\xff""#);
        let dir = Directory::default();
        assert_eq!(
            CPath::semaphore(&dir, &name).as_c_str().to_bytes(),
            b"/dev/shm/sem.caf\xe9\xff"
        );
        let quoted = Name::parse("tab\t\"q\"".as_bytes()).unwrap();
        assert_eq!(std::format!("{quoted:?}"), r#""/tab\t\"q\"""#);
    }

    #[test]
    fn bad_directories() {
        for d in ["", "a\0b", "relative", "./shm", "../dev/shm"] {
            let e = Directory::parse(d).unwrap_err();
            assert_eq!(
                (e.kind(), e.raw_os_error()),
                (ErrorKind::InvalidArgument, 22),
                "{d:?}"
            );
        }
        let long: String = "/".to_owned() + &"d".repeat(DIRECTORY_MAX);
        let e = Directory::parse(&long).unwrap_err();
        assert_eq!(
            (e.kind(), e.raw_os_error()),
            (ErrorKind::InvalidArgument, 22)
        );
        assert!(Directory::parse(&long[..DIRECTORY_MAX]).is_ok());
    }
}
