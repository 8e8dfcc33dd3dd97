//! Bad input gets a typed error and creates nothing: invalid names, values
//! out of range, files at the name that are not semaphores, permissions.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{code, finish, results, spawn, TestName, OK};
use named_semaphores::{ErrorKind, Existence, NamedSemaphore, RawSemaphore, NAME_MAX, VALUE_MAX};

const ALL: [Existence; 4] = [
    Existence::CreateNew,
    Existence::OpenOrCreate,
    Existence::OpenExisting,
    Existence::UnlinkAndCreate,
];

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    common::child_main();
}

fn open_with(existence: Existence, name: &str) -> Result<NamedSemaphore, named_semaphores::Error> {
    NamedSemaphore::options()
        .existence(existence)
        .initial_value(1)
        .open(name)
}

#[test]
fn invalid_names_are_refused_for_every_existence() {
    let long = "x".repeat(NAME_MAX + 1);
    for name in ["", "/", "///", "a/b", "/a/b", "a/", "a\0b", long.as_str()] {
        for existence in ALL {
            let err = open_with(existence, name).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidName, "{name:?} {existence:?}");
        }
        assert_eq!(
            named_semaphores::unlink(name).unwrap_err().kind(),
            ErrorKind::InvalidName,
            "{name:?}"
        );
    }
    // 251 bytes is the longest name, and it works.
    let name = TestName::new("x");
    let longest = format!("{}{}", &*name, "y".repeat(NAME_MAX - name.len()));
    let guard = TestName {
        name: longest.clone(),
        dir: name.dir.clone(),
    };
    let sem = NamedSemaphore::create(&longest, 1).unwrap();
    assert_eq!(sem.name().len(), NAME_MAX + 1);
    assert!(guard.exists());
}

#[test]
fn nothing_is_created_for_a_bad_name() {
    let name = TestName::new("nothing");
    let bad = format!("{}/x", &*name);
    assert!(NamedSemaphore::create(&bad, 1).is_err());
    assert!(!name.exists());
}

#[test]
fn initial_value_above_max() {
    let name = TestName::new("value");
    for existence in [
        Existence::CreateNew,
        Existence::OpenOrCreate,
        Existence::UnlinkAndCreate,
    ] {
        let err = NamedSemaphore::options()
            .existence(existence)
            .initial_value(VALUE_MAX + 1)
            .open(&name)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{existence:?}");
        assert_eq!(err.raw_os_error(), libc::EINVAL);
        assert!(!name.exists());
    }
    assert_eq!(
        NamedSemaphore::create(&name, u32::MAX).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert!(NamedSemaphore::create(&name, VALUE_MAX).is_ok());
}

/// Plants `make` at the semaphore's path, then checks every way of opening
/// gives `InvalidObject` (CreateNew: AlreadyExists) and leaves it in place.
fn refused(name: &TestName, what: &str) {
    for existence in [Existence::OpenExisting, Existence::OpenOrCreate] {
        let err = open_with(existence, name).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidObject,
            "{what} {existence:?}: {err}"
        );
    }
    assert_eq!(
        open_with(Existence::CreateNew, name).unwrap_err().kind(),
        ErrorKind::AlreadyExists,
        "{what}"
    );
    assert!(name.exists(), "{what} left in place");
}

#[test]
fn empty_file_is_invalid_not_sigbus() {
    let name = TestName::new("empty");
    std::fs::write(name.path(), b"").unwrap();
    refused(&name, "0-byte file");
}

#[test]
fn wrong_size_files_are_invalid() {
    // (4096 bytes is a robust semaphore's size: tests/robust_hostile.rs.)
    for size in [
        1,
        RawSemaphore::SIZE - 1,
        RawSemaphore::SIZE + 1,
        4095,
        4097,
    ] {
        let name = TestName::new("size");
        let mut bytes = vec![0u8; size];
        if size >= 12 {
            bytes[8..12].copy_from_slice(&128i32.to_ne_bytes());
        }
        std::fs::write(name.path(), &bytes).unwrap();
        refused(&name, &format!("{size}-byte file"));
    }
}

/// A semaphore in glibc's other layout (made by a process of the other word
/// size) is refused, and the error says who made it; the listing reads its
/// value.
#[test]
fn other_layout_is_refused_and_named() {
    use named_semaphores::{inspect, Layout, Status};
    let name = TestName::new("other-layout");
    // glibc's image of value 2 in the other layout, this machine's byte order.
    let (layout, bytes, made_by) = if RawSemaphore::SIZE == 32 {
        let mut b = vec![0u8; 16];
        b[0..4].copy_from_slice(&(2u32 << 1).to_ne_bytes());
        b[4..8].copy_from_slice(&128i32.to_ne_bytes());
        (Layout::Narrow, b, "made by a 32-bit process")
    } else {
        let mut b = vec![0u8; 32];
        b[0..8].copy_from_slice(&2u64.to_ne_bytes());
        b[8..12].copy_from_slice(&128i32.to_ne_bytes());
        (Layout::Wide, b, "made by a 64-bit process")
    };
    std::fs::write(name.path(), &bytes).unwrap();
    refused(&name, "the other layout");
    let err = NamedSemaphore::open(&name).unwrap_err();
    assert_eq!(err.raw_os_error(), libc::EINVAL);
    assert!(err.to_string().contains(made_by), "{err}");
    let info = inspect(&*name).unwrap();
    assert_eq!(info.status, Status::OtherLayout(layout));
    assert_eq!((info.value, info.waiters), (Some(2), Some(0)));
    assert_eq!(std::fs::read(name.path()).unwrap(), bytes, "left as it was");

    // The other size with a header that is not glibc's: just a wrong size.
    let odd = TestName::new("other-size");
    std::fs::write(odd.path(), vec![0xffu8; bytes.len()]).unwrap();
    let err = NamedSemaphore::open(&odd).unwrap_err();
    assert!(
        err.to_string()
            .contains("file size is neither sizeof(sem_t)"),
        "{err}"
    );
    assert_eq!(inspect(&*odd).unwrap().status, Status::WrongSize);
}

#[test]
fn wrong_header_is_invalid() {
    let name = TestName::new("private");
    // Right size, private = 0: glibc peers would use private futexes on it
    // and never wake across processes.
    std::fs::write(name.path(), vec![0u8; RawSemaphore::SIZE]).unwrap();
    refused(&name, "private = 0");
}

#[test]
fn directory_at_the_name_is_invalid() {
    let name = TestName::new("dir");
    std::fs::create_dir(name.path()).unwrap();
    refused(&name, "directory");
}

#[test]
fn symlink_at_the_name_is_invalid_and_not_followed() {
    let target = TestName::new("target");
    let real = NamedSemaphore::create(&target, 3).unwrap();
    let name = TestName::new("link");
    std::os::unix::fs::symlink(target.path(), name.path()).unwrap();
    refused(&name, "symlink to a semaphore");
    let err = open_with(Existence::OpenExisting, &name).unwrap_err();
    assert_eq!(err.raw_os_error(), libc::ELOOP);
    assert_eq!(real.value(), 3);
    // A dangling symlink is refused too, and nothing is created through it.
    let dangling = TestName::new("dangling");
    let nowhere = TestName::new("nowhere");
    std::os::unix::fs::symlink(nowhere.path(), dangling.path()).unwrap();
    refused(&dangling, "dangling symlink");
    assert!(!nowhere.exists());
}

#[test]
fn fifo_at_the_name_is_invalid_and_does_not_block() {
    let name = TestName::new("fifo");
    let path = std::ffi::CString::new(name.path().to_str().unwrap()).unwrap();
    // SAFETY: valid C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    refused(&name, "FIFO");
    // The errno glibc's sem_open gives for a FIFO (its mmap fails).
    let err = NamedSemaphore::open(&name).unwrap_err();
    assert_eq!(err.raw_os_error(), libc::ENODEV, "{err}");
}

#[test]
fn unlink_and_create_replaces_bad_files() {
    let name = TestName::new("replace");
    std::fs::write(name.path(), b"garbage").unwrap();
    let sem = open_with(Existence::UnlinkAndCreate, &name).unwrap();
    assert_eq!(sem.value(), 1);
    assert_eq!(name.bytes().len(), RawSemaphore::SIZE);
}

#[test]
fn permission_denied() {
    let name = TestName::new("perm");
    let sem = NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .mode(0o600)
        .unlink_on_drop(true)
        .open(&name)
        .unwrap();
    if common::is_root() {
        // Root bypasses permission bits: ask an unprivileged child.
        let out = finish(
            spawn("crate-open-kind", &[&name, "nobody"]),
            Duration::from_secs(60),
        );
        assert_eq!(code(&out), OK);
        // Opening: EACCES on the 0600 file. Unlinking and replacing: the
        // sticky /dev/shm forbids removing another user's file, which the
        // kernel reports as EPERM; one errno per kind: EACCES (13) each time.
        assert_eq!(
            results(&out),
            [
                "PermissionDenied 13",
                "PermissionDenied 13",
                "PermissionDenied 13"
            ]
        );
        assert_eq!(sem.value(), 1, "the replacement did not happen");
    } else {
        std::fs::set_permissions(name.path(), std::fs::Permissions::from_mode(0o000)).unwrap();
        let err = NamedSemaphore::open(&name).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert_eq!(err.raw_os_error(), libc::EACCES);
    }
    assert!(name.exists());
    drop(sem);
    assert!(!name.exists());
}

#[test]
fn errors_display_their_cause() {
    let name = TestName::new("display");
    std::fs::write(name.path(), b"").unwrap();
    let err = NamedSemaphore::open(&name).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("not a valid semaphore") && text.contains("size"),
        "{text}"
    );
    let dbg = format!("{err:?}");
    assert!(dbg.contains("InvalidObject"), "{dbg}");
}
