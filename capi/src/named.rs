//! The named calls: `sem_open`, `sem_close` and `sem_unlink`.
//!
//! `sem_open` first looks for the semaphore among those this process has
//! open, by the identity of the file at the name (`open` and `fstat`, as
//! glibc does), and hands out the pointer it already has without mapping
//! the file again. An existing semaphore not open yet is checked and mapped
//! from that same descriptor by the crate's file layer
//! (`named_semaphores::c_library`, the checks every open by the crate
//! makes); creation, and every error to report, go through the crate too.
//! The mappings stay in the table (`table.rs`) until the last `sem_close`.

use core::ffi::{c_char, c_int, c_uint, CStr};
use core::ptr::NonNull;

use named_semaphores::{
    c_library, Error, ErrorKind, Existence, NamedSemaphore, NAME_MAX, VALUE_MAX,
};
use rustix::fd::OwnedFd;
use rustix::fs::{self, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::robust;
use crate::table::{self, Added, FileId, Reservation};
use crate::{bare_name, e, errno, name_bytes, sem_t, SEM_FAILED};

/// `O_CREAT` and `O_EXCL` (the same on every supported target).
const O_CREAT: c_int = 0o100;
const O_EXCL: c_int = 0o200;

/// What a `sem_open`-style call (`sem_open`, `namedsem_open_robust`)
/// asks: the name's bytes, whether `oflag` has `O_CREAT`, and what to ask
/// of the crate. `None`, with errno `EINVAL` set, for a null name.
///
/// # Safety
///
/// A non-null `name` must point to a NUL-terminated string.
pub(crate) unsafe fn open_request<'a>(
    name: *const c_char,
    oflag: c_int,
    value: c_uint,
) -> Option<(&'a [u8], bool, Existence)> {
    // SAFETY: the caller passes a C string or null.
    let Some(name) = (unsafe { name_bytes(name) }) else {
        errno::set(e::EINVAL);
        return None;
    };
    Some((name, oflag & O_CREAT != 0, existence_of(oflag, value)))
}

/// What `sem_open`'s `oflag` (and `value`) ask of the crate.
fn existence_of(oflag: c_int, value: c_uint) -> Existence {
    match (oflag & O_CREAT != 0, oflag & O_EXCL != 0) {
        (false, _) => Existence::OpenExisting,
        (true, true) => Existence::CreateNew,
        // glibc checks the value only when it is about to create: an
        // existing semaphore opens whatever `value` says.
        (true, false) if value > VALUE_MAX => Existence::OpenExisting,
        (true, false) => Existence::OpenOrCreate,
    }
}

/// Where glibc puts a semaphore named `NAME`: this prefix, then `NAME`.
const PATH_PREFIX: &[u8] = b"/dev/shm/sem.";

/// The longest name, without leading slashes, whose `sem_unlink` fails with
/// `ENAMETOOLONG` in glibc (the kernel's answer for a file name `sem.NAME`
/// over 255 bytes); glibc reports longer names as `ENOENT`.
const UNLINK_NAMETOOLONG_MAX: usize = 255;

/// `/dev/shm/sem.NAME`, NUL-terminated, on the stack.
struct SemPath {
    buf: [u8; PATH_PREFIX.len() + NAME_MAX + 1],
    len: usize,
}

impl SemPath {
    /// The path of a name glibc and the crate both accept (leading slashes
    /// dropped; 1 to `NAME_MAX` bytes, no `/`); `None` for any other name,
    /// which the crate then refuses with the right error.
    fn new(name: &[u8]) -> Option<SemPath> {
        let bare = bare_name(name);
        if bare.is_empty() || bare.len() > NAME_MAX || bare.contains(&b'/') {
            return None;
        }
        let mut buf = [0; PATH_PREFIX.len() + NAME_MAX + 1];
        buf[..PATH_PREFIX.len()].copy_from_slice(PATH_PREFIX);
        let len = PATH_PREFIX.len() + bare.len();
        buf[PATH_PREFIX.len()..len].copy_from_slice(bare);
        Some(SemPath { buf, len })
    }

    fn as_c_str(&self) -> &CStr {
        // The name has no NUL (it came from a C string) and buf[len] is 0.
        CStr::from_bytes_with_nul(&self.buf[..=self.len]).unwrap_or(c"")
    }
}

/// What the file at a semaphore's path is, to this process.
enum Probe {
    /// A semaphore this process has open: here is its pointer, with one
    /// more reference counted.
    Open(*mut sem_t),
    /// Nothing at the name.
    Missing,
    /// A file this process does not have open: its descriptor, status and
    /// identity.
    NotOpen(OwnedFd, Stat, FileId),
    /// An error the crate will report precisely.
    Other,
    /// The reference count is full.
    Failed(Errno),
}

/// Opens the file at `path` as glibc's `sem_open` does (`O_RDWR |
/// O_NOFOLLOW | O_CLOEXEC`, plus `O_NONBLOCK` against a FIFO planted at
/// the name), and looks its identity up in the table. The descriptor is
/// closed again either way.
fn probe(path: &SemPath) -> Probe {
    let flags = OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd = match fs::open(path.as_c_str(), flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Probe::Missing,
        Err(_) => return Probe::Other,
    };
    let Ok(st) = fs::fstat(&fd) else {
        return Probe::Other;
    };
    #[allow(clippy::unnecessary_cast)] // st_dev/st_ino widths differ by target
    let id = FileId::new(st.st_dev as u64, st.st_ino as u64);
    match table::reopen(id) {
        Ok(Some(sem)) => Probe::Open(sem),
        Ok(None) => Probe::NotOpen(fd, st, id),
        Err(errno) => Probe::Failed(errno),
    }
}

/// Room in the table, or the errno of `sem_open` without it.
fn reserve() -> Result<Reservation, c_int> {
    table::reserve().map_err(|errno| errno.raw_os_error())
}

/// Enters a mapping this call made into the table, with the room reserved
/// for it, and returns the pointer to hand out: this one, or the one another
/// thread entered for the same file meanwhile (this mapping is then
/// dropped).
fn enter(room: Reservation, sem: *mut sem_t, id: FileId) -> *mut sem_t {
    match table::add(room, sem, id) {
        Added::New => sem,
        Added::Existing(theirs) => {
            unmap(sem);
            theirs
        }
    }
}

/// Maps a semaphore the lookup found but this process does not have open.
fn open_found(fd: &OwnedFd, st: &Stat, id: FileId) -> Result<*mut sem_t, c_int> {
    let room = reserve()?;
    let sem = c_library::map_file(fd, st).map_err(|err| err.raw_os_error())?;
    Ok(enter(room, sem.as_ptr(), id))
}

/// Takes the mapping out of a handle opened with `unlink_on_drop(false)`:
/// its address and file identity, for the table to keep and [`unmap`] to
/// end.
fn into_mapping(sem: NamedSemaphore) -> (*mut sem_t, FileId) {
    let (raw, id) = sem.into_raw_mapping();
    (raw.as_ptr(), id)
}

/// Unmaps a semaphore mapped by [`into_mapping`] or `c_library::map_file`
/// that nothing uses any more.
fn unmap(sem: *mut sem_t) {
    let Some(sem) = NonNull::new(sem) else { return };
    // SAFETY: `sem` is the start of a mapping made by `map_file` or given up
    // by a handle (`into_mapping`), and the caller has the last use of it:
    // no pointer to it is handed out again.
    unsafe { c_library::unmap(sem) };
}

/// The errno for an open that failed in the crate.
pub(crate) fn open_errno(create: bool, existence: Existence, err: &Error) -> c_int {
    if create && existence == Existence::OpenExisting && err.kind() == ErrorKind::NotFound {
        e::EINVAL // it would have been created with a bad value
    } else {
        err.raw_os_error()
    }
}

/// `sem_t *sem_open(const char *name, int oflag, ...)`: opens, or with
/// `O_CREAT` creates, the named semaphore `/dev/shm/sem.NAME`.
///
/// # Variadic arguments on stable Rust
///
/// C declares `sem_open` variadic: `mode_t mode, unsigned int value` follow
/// `oflag` when it has `O_CREAT`. Stable Rust cannot define a C-variadic
/// function, so this one is defined with those two as fixed parameters.
/// That is ABI-correct for a variadic call on every supported target,
/// because each passes the first integer arguments of a variadic call
/// exactly where it passes the same fixed arguments:
/// - x86_64 System V: `rdi, rsi, rdx, rcx` either way; a variadic caller
///   also sets `al` (the count of vector registers used), which a
///   non-variadic callee ignores.
/// - i686 (cdecl): all arguments on the stack, in order, either way.
/// - armv7 (AAPCS, hard-float too): integer arguments in `r0`-`r3` either
///   way (hard-float only changes floating-point arguments).
/// - aarch64 Linux (AAPCS64): integer arguments in `x0`-`x7` either way
///   (Apple's arm64 ABI, which puts variadic arguments on the stack, is not
///   a target here).
///
/// `mode` is `mode_t` (32-bit `unsigned int` on Linux) and `value` is
/// `unsigned int`, both 32 bits, so default argument promotion changes
/// nothing. Without `O_CREAT` a caller passes only two arguments; the other
/// two parameters then hold whatever the registers or stack slots held, and
/// they are not read. (On i686 those slots are in the caller's frame, which
/// is always mapped.) Any bit pattern is a valid `u32`, so this is sound on
/// the Rust side too. The build refuses other targets.
///
/// Semantics and errno values are glibc's: `O_CREAT | O_EXCL` fails with
/// `EEXIST` if the name exists; `O_CREAT` alone opens an existing semaphore
/// (ignoring `mode` and `value`) or creates one; no `O_CREAT` needs an
/// existing one (`ENOENT`). `value` above `SEM_VALUE_MAX` is `EINVAL` when a
/// semaphore is created. Invalid names are `EINVAL` (`ENAMETOOLONG` above
/// 251 bytes, as glibc 2.38 and later); `EACCES` for permissions; `ENOMEM`
/// if the memory for the mapping or the table cannot be had. Opening a
/// semaphore this process has open returns the same pointer and counts a
/// reference. A failed call leaves nothing behind: a semaphore it created
/// is not published unless the call succeeds.
///
/// # Safety
///
/// `name` must be a NUL-terminated string (or null: `EINVAL`).
#[no_mangle]
pub unsafe extern "C" fn sem_open(
    name: *const c_char,
    oflag: c_int,
    mode: c_uint,
    value: c_uint,
) -> *mut sem_t {
    // SAFETY: the caller passes a C string or null.
    let Some((name, create, existence)) = (unsafe { open_request(name, oflag, value) }) else {
        return SEM_FAILED;
    };
    let path = SemPath::new(name);
    loop {
        // What to ask of the crate: `existence`, or, when the name was
        // found free just now, a creation that fails if someone else
        // created it meanwhile (then this loop looks again).
        let mut now = existence;
        if let (Some(path), false) = (&path, existence == Existence::CreateNew) {
            match probe(path) {
                Probe::Open(sem) => return sem,
                Probe::NotOpen(fd, st, id) => {
                    return open_found(&fd, &st, id).unwrap_or_else(|errno| {
                        errno::set(errno);
                        SEM_FAILED
                    })
                }
                Probe::Failed(errno) => {
                    errno::set(errno.raw_os_error());
                    return SEM_FAILED;
                }
                Probe::Missing if existence == Existence::OpenExisting => {
                    errno::set(if create { e::EINVAL } else { e::ENOENT });
                    return SEM_FAILED;
                }
                Probe::Missing => now = Existence::CreateNew,
                Probe::Other => {}
            }
        }
        // Room in the table first: once a creation is published, nothing
        // may fail.
        let room = match reserve() {
            Ok(room) => room,
            Err(errno) => {
                errno::set(errno);
                return SEM_FAILED;
            }
        };
        let mut options = NamedSemaphore::options();
        options.existence(now).unlink_on_drop(false);
        if create {
            options.initial_value(value).mode(mode);
        }
        match options.open(name) {
            Ok(sem) => {
                let (sem, id) = into_mapping(sem);
                return enter(room, sem, id);
            }
            Err(err) if now != existence && err.kind() == ErrorKind::AlreadyExists => {}
            Err(err) => {
                errno::set(open_errno(create, existence, &err));
                return SEM_FAILED;
            }
        }
    }
}

/// `int sem_close(sem_t *sem)`: drops one reference to a semaphore from
/// `sem_open`; the last one unmaps it. Does not remove the name. On a
/// robust handle (`namedsem_open_robust`), gives back the tokens it still
/// holds, as the death of its process would, and ends the handle.
///
/// Returns 0, or -1 with errno `EINVAL` if `sem` is not an open named
/// semaphore of this process.
///
/// # Safety
///
/// After the last `sem_close`, the caller must not use `sem` again.
#[no_mangle]
pub unsafe extern "C" fn sem_close(sem: *mut sem_t) -> c_int {
    if robust::is_tagged(sem) {
        // SAFETY: forwarded from the caller.
        return unsafe { robust::close_handle(sem) };
    }
    match table::release(sem) {
        Some(true) => {
            unmap(sem);
            0
        }
        Some(false) => 0,
        None => errno::fail(e::EINVAL),
    }
}

/// `int sem_unlink(const char *name)`: removes the name. Processes that
/// have the semaphore open keep using it.
///
/// Returns 0, or -1 with errno `ENOENT` (no such semaphore, or an invalid
/// name, as glibc reports it), `ENAMETOOLONG` (a name of 252 to 255 bytes,
/// as glibc) or `EACCES` (permission; the kernel's `EPERM` is reported as
/// `EACCES`, as by glibc).
///
/// # Safety
///
/// `name` must be a NUL-terminated string (or null: `ENOENT`).
#[no_mangle]
pub unsafe extern "C" fn sem_unlink(name: *const c_char) -> c_int {
    // SAFETY: the caller passes a C string or null.
    let Some(name) = (unsafe { name_bytes(name) }) else {
        return errno::fail(e::ENOENT);
    };
    match named_semaphores::unlink(name) {
        Ok(()) => 0,
        Err(err) if err.kind() == ErrorKind::InvalidName => {
            let too_long = err.raw_os_error() == e::ENAMETOOLONG
                && bare_name(name).len() <= UNLINK_NAMETOOLONG_MAX;
            errno::fail(if too_long { e::ENAMETOOLONG } else { e::ENOENT })
        }
        Err(err) => errno::fail(err.raw_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::os::unix::fs::MetadataExt;
    use std::string::String;

    /// Unlinks the test's semaphore however the test ends.
    struct Unlink(String);
    impl Drop for Unlink {
        fn drop(&mut self) {
            let _ = named_semaphores::unlink(&self.0);
        }
    }

    /// How many mappings of the file `id` start at `addr`, by
    /// `/proc/self/maps`. (Another test thread may map something else at an
    /// address this test unmapped: only the file's own mappings count.)
    fn mappings_at(addr: usize, id: FileId) -> usize {
        let start = format!("{addr:08x}-");
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        maps.lines()
            .filter(|l| l.starts_with(&start))
            .filter(|l| {
                let f: std::vec::Vec<&str> = l.split_whitespace().collect();
                let Some((major, minor)) = f.get(3).and_then(|d| d.split_once(':')) else {
                    return false;
                };
                let hex = |s: &str| u32::from_str_radix(s, 16).unwrap();
                #[allow(clippy::useless_conversion)] // Dev is not u64 on every target
                let dev = u64::from(rustix::fs::makedev(hex(major), hex(minor)));
                f.get(4).and_then(|i| i.parse().ok()) == Some(id.ino()) && dev == id.dev()
            })
            .count()
    }

    #[test]
    fn a_forgotten_handle_leaves_exactly_its_mapping() {
        let name = Unlink(format!("nsem-capi-unit-{}", std::process::id()));
        let sem = NamedSemaphore::options()
            .existence(Existence::CreateNew)
            .initial_value(1)
            .unlink_on_drop(false)
            .open(&name.0)
            .unwrap();
        let (raw, id) = into_mapping(sem);
        let st = std::fs::metadata(format!("/dev/shm/sem.{}", name.0)).unwrap();
        assert_eq!(
            id,
            FileId::new(st.dev(), st.ino()),
            "the identity is the file's"
        );
        assert_eq!(mappings_at(raw as usize, id), 1, "still mapped");
        // SAFETY: `raw` is the live mapping `into_mapping` handed over.
        let value = unsafe {
            (*raw).release().unwrap();
            (*raw).value()
        };
        assert_eq!(value, 2);
        unmap(raw);
        assert_eq!(mappings_at(raw as usize, id), 0, "unmapped by unmap");
        assert!(std::path::Path::new(&format!("/dev/shm/sem.{}", name.0)).exists());
    }

    #[test]
    fn paths_of_valid_names_only() {
        let path = |name: &str| SemPath::new(name.as_bytes()).map(|p| p.as_c_str().to_owned());
        assert_eq!(path("x").unwrap().as_bytes(), b"/dev/shm/sem.x");
        assert_eq!(path("//x").unwrap().as_bytes(), b"/dev/shm/sem.x");
        assert_eq!(path("."), Some(c"/dev/shm/sem..".to_owned()));
        for bad in ["", "/", "///", "a/b", "/a/"] {
            assert!(path(bad).is_none(), "{bad:?}");
        }
        let longest = "n".repeat(NAME_MAX);
        assert_eq!(path(&longest).unwrap().as_bytes().len(), 13 + NAME_MAX);
        assert!(path(&(longest + "n")).is_none());
    }
}
