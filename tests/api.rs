//! The public API within one process: constructors, every `Existence`,
//! options, names, unlink and unlink-on-drop, timeouts, threads (permits:
//! tests/permits.rs).

mod common;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::{took, TestName};
use named_semaphores::{unlink, ErrorKind, Existence, NamedSemaphore, VALUE_MAX};

#[test]
fn create_then_open_share_one_semaphore() {
    let name = TestName::new("share");
    let a = NamedSemaphore::create(&name, 3).unwrap();
    assert!(a.created());
    assert_eq!(a.value(), 3);
    let b = NamedSemaphore::open(&name).unwrap();
    assert!(!b.created());
    assert!(took(b.try_acquire().unwrap()));
    assert_eq!(a.value(), 2);
    a.release_n(4).unwrap();
    assert_eq!(b.value(), 6);
}

#[test]
fn create_new_fails_if_it_exists_and_changes_nothing() {
    let name = TestName::new("createnew");
    let a = NamedSemaphore::create(&name, 2).unwrap();
    let before = name.bytes();
    let err = NamedSemaphore::create(&name, 5).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(err.raw_os_error(), libc::EEXIST);
    assert_eq!(name.bytes(), before);
    assert_eq!(a.value(), 2);
}

#[test]
fn open_existing_fails_if_missing_and_creates_nothing() {
    let name = TestName::new("missing");
    let err = NamedSemaphore::open(&name).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.raw_os_error(), libc::ENOENT);
    assert!(!name.exists());
}

#[test]
fn open_or_create_creates_then_opens_ignoring_value() {
    let name = TestName::new("ooc");
    let a = NamedSemaphore::open_or_create(&name, 2).unwrap();
    assert!(a.created());
    let b = NamedSemaphore::open_or_create(&name, 9).unwrap();
    assert!(!b.created());
    assert_eq!(b.value(), 2);
}

#[test]
fn unlink_and_create_replaces_the_name() {
    let name = TestName::new("uac");
    let old = NamedSemaphore::create(&name, 1).unwrap();
    let new = NamedSemaphore::options()
        .existence(Existence::UnlinkAndCreate)
        .initial_value(7)
        .open(&name)
        .unwrap();
    assert!(new.created());
    assert_eq!(NamedSemaphore::open(&name).unwrap().value(), 7);
    // The old handle is detached but still works, and its drop must not
    // unlink the new semaphore that now owns the name.
    old.release().unwrap();
    assert_eq!(old.value(), 2);
    drop(old);
    assert!(name.exists());
    assert_eq!(NamedSemaphore::open(&name).unwrap().value(), 7);
    drop(new);
    assert!(!name.exists());
}

#[test]
fn unlink_and_create_without_existing() {
    let name = TestName::new("uac-fresh");
    let sem = NamedSemaphore::options()
        .existence(Existence::UnlinkAndCreate)
        .initial_value(0)
        .open(&name)
        .unwrap();
    assert!(sem.created());
    assert_eq!(sem.value(), 0);
}

#[test]
fn options_defaults() {
    let name = TestName::new("defaults");
    // Default existence is OpenExisting.
    assert_eq!(
        NamedSemaphore::options().open(&name).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let sem = NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .open(&name)
        .unwrap();
    assert_eq!(sem.value(), 1, "default initial value");
    let mode = std::fs::metadata(name.path()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600, "default mode");
    assert!(sem.unlinks_on_drop());
}

#[test]
fn mode_is_applied_under_umask() {
    use std::os::unix::fs::PermissionsExt;
    let name = TestName::new("mode");
    let _sem = NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .mode(0o640)
        .open(&name)
        .unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let umask = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .map(|m| u32::from_str_radix(m.trim(), 8).unwrap())
        .unwrap();
    let mode = std::fs::metadata(name.path()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640 & !umask);
}

#[test]
fn name_is_canonical_and_slashes_are_one_name() {
    let name = TestName::new("slashes");
    let a = NamedSemaphore::create(format!("//{}", &*name), 1).unwrap();
    assert_eq!(a.name(), format!("/{}", &*name));
    let b = NamedSemaphore::open(format!("/{}", &*name)).unwrap();
    assert_eq!(b.name(), a.name());
    assert!(name.exists());
}

#[test]
fn unlink_on_drop_only_for_creator_by_default() {
    let name = TestName::new("drop");
    let creator = NamedSemaphore::create(&name, 1).unwrap();
    let opener = NamedSemaphore::open(&name).unwrap();
    assert!(creator.unlinks_on_drop());
    assert!(!opener.unlinks_on_drop());
    drop(opener);
    assert!(name.exists());
    drop(creator);
    assert!(!name.exists());
}

#[test]
fn unlink_on_drop_can_be_overridden() {
    let name = TestName::new("keep");
    let sem = NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .unlink_on_drop(false)
        .open(&name)
        .unwrap();
    drop(sem);
    assert!(name.exists());
    let sem = NamedSemaphore::options()
        .unlink_on_drop(true)
        .open(&name)
        .unwrap();
    assert!(!sem.created());
    drop(sem);
    assert!(!name.exists());
}

#[test]
fn unlink_method_and_free_function() {
    let name = TestName::new("unlink");
    let sem = NamedSemaphore::create(&name, 0).unwrap();
    sem.unlink().unwrap();
    assert!(!name.exists());
    assert!(!sem.unlinks_on_drop());
    assert_eq!(sem.unlink().unwrap_err().kind(), ErrorKind::NotFound);
    // Still usable after unlink.
    sem.release().unwrap();
    assert!(took(sem.try_acquire().unwrap()));
    // A new semaphore under the same name is unrelated, and the old handle's
    // drop leaves it alone.
    let fresh = NamedSemaphore::create(&name, 5).unwrap();
    drop(sem);
    assert!(name.exists());
    unlink(&name).unwrap();
    assert_eq!(unlink(&name).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(fresh.value(), 5);
}

#[test]
fn try_acquire_and_timeouts() {
    let name = TestName::new("timeouts");
    let sem = NamedSemaphore::create(&name, 1).unwrap();
    assert!(took(sem.try_acquire().unwrap()));
    assert!(!took(sem.try_acquire().unwrap()));
    assert!(!took(sem.acquire_timeout(Duration::ZERO).unwrap()));
    let start = Instant::now();
    assert!(!took(
        sem.acquire_timeout(Duration::from_millis(50)).unwrap()
    ));
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(50),
        "returned early: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "generous sanity bound: {took:?}"
    );
    assert_eq!(sem.as_raw().waiters(), 0);
    sem.release().unwrap();
    assert!(common::took(
        sem.acquire_timeout(Duration::from_millis(50)).unwrap()
    ));
}

#[test]
fn overflow_changes_nothing() {
    let name = TestName::new("overflow");
    let sem = NamedSemaphore::create(&name, VALUE_MAX).unwrap();
    let before = name.bytes();
    let err = sem.release().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Overflow);
    assert_eq!(err.raw_os_error(), libc::EOVERFLOW);
    assert_eq!(sem.release_n(3).unwrap_err().kind(), ErrorKind::Overflow);
    assert_eq!(name.bytes(), before);
    assert!(took(sem.try_acquire().unwrap()));
    assert_eq!(sem.release_n(2).unwrap_err().kind(), ErrorKind::Overflow);
    sem.release_n(1).unwrap();
    assert_eq!(sem.value(), VALUE_MAX);
}

#[test]
fn threads_block_and_wake_through_two_handles() {
    let name = TestName::new("threads");
    let a = Arc::new(NamedSemaphore::create(&name, 0).unwrap());
    let b = NamedSemaphore::open(&name).unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let a = Arc::clone(&a);
            thread::spawn(move || took(a.acquire_timeout(Duration::from_secs(20)).unwrap()))
        })
        .collect();
    common::wait_until("3 registered waiters", Duration::from_secs(20), || {
        b.as_raw().waiters() == 3
    });
    b.release_n(3).unwrap();
    for w in waiters {
        assert!(w.join().unwrap(), "a waiter timed out");
    }
    assert_eq!(b.value(), 0);
    assert_eq!(b.as_raw().waiters(), 0);
}

#[test]
fn release_n_wakes_exactly_as_many_as_tokens() {
    let name = TestName::new("partial");
    let sem = Arc::new(NamedSemaphore::create(&name, 0).unwrap());
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let sem = Arc::clone(&sem);
            thread::spawn(move || took(sem.acquire_timeout(Duration::from_millis(1500)).unwrap()))
        })
        .collect();
    common::wait_until("4 registered waiters", Duration::from_secs(20), || {
        sem.as_raw().waiters() == 4
    });
    sem.release_n(2).unwrap();
    let got = waiters
        .into_iter()
        .map(|w| w.join().unwrap())
        .filter(|&g| g)
        .count();
    assert_eq!(got, 2);
    assert_eq!(sem.value(), 0);
    assert_eq!(sem.as_raw().waiters(), 0);
}

#[test]
fn debug_output_names_the_semaphore() {
    let name = TestName::new("debug");
    let sem = NamedSemaphore::create(&name, 2).unwrap();
    let s = format!("{sem:?}");
    assert!(s.contains(&*name) && s.contains("value: 2"), "{s}");
    let p = sem.acquire().unwrap();
    assert!(format!("{p:?}").contains("Permit"));
}

#[test]
fn custom_directory() {
    let dir = format!("/dev/shm/nsem-test-dir-{}", std::process::id());
    std::fs::create_dir(&dir).unwrap();
    struct RmDir(String);
    impl Drop for RmDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    let _rm = RmDir(dir.clone());
    let name = TestName::in_dir("customdir", &dir);
    let sem = NamedSemaphore::options()
        .directory(&dir)
        .existence(Existence::CreateNew)
        .initial_value(4)
        .open(&name)
        .unwrap();
    assert!(name.exists());
    assert!(format!("{sem:?}").contains(&dir));
    assert_eq!(
        NamedSemaphore::open(&name).unwrap_err().kind(),
        ErrorKind::NotFound,
        "not in /dev/shm"
    );
    let again = NamedSemaphore::options()
        .directory(&format!("{dir}/"))
        .open(&name)
        .unwrap();
    assert_eq!(again.value(), 4);
    named_semaphores::unlink_in(&dir, &name).unwrap();
    assert!(!name.exists());
}

#[test]
fn bad_directories_are_refused() {
    let name = TestName::new("baddir");
    let missing = format!("/dev/shm/nsem-test-no-such-dir-{}", std::process::id());
    let not_dir = format!("{}/sub", name.path().display());
    let cases = [
        ("", ErrorKind::InvalidArgument, libc::EINVAL),
        (missing.as_str(), ErrorKind::NotFound, libc::ENOENT),
        ("/proc/self", ErrorKind::InvalidArgument, libc::EINVAL),
        ("/etc/hostname", ErrorKind::InvalidArgument, libc::EINVAL),
        (not_dir.as_str(), ErrorKind::NotFound, libc::ENOENT),
    ];
    for (dir, kind, errno) in cases {
        let err = NamedSemaphore::options()
            .directory(dir)
            .existence(Existence::OpenOrCreate)
            .open(&name)
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.raw_os_error()),
            (kind, errno),
            "{dir:?}: {err}"
        );
    }
    assert!(!name.exists());
    // A path through a regular file: not a directory, whatever the errno.
    let _file = NamedSemaphore::create(&name, 0).unwrap();
    let err = NamedSemaphore::options()
        .directory(&not_dir)
        .open(&name)
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.raw_os_error()),
        (ErrorKind::InvalidArgument, libc::EINVAL),
        "{err}"
    );
}

#[cfg(feature = "std")]
#[test]
fn io_error_conversion() {
    let name = TestName::new("ioerr");
    let e: std::io::Error = NamedSemaphore::open(&name).unwrap_err().into();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    // The message keeps the operation and the name; the errno is inside.
    assert!(
        e.to_string()
            .starts_with(&format!("open \"/{}\": ", &*name)),
        "{e}"
    );
    let inner = e
        .get_ref()
        .and_then(|e| e.downcast_ref::<named_semaphores::Error>());
    assert_eq!(inner.map(|e| e.raw_os_error()), Some(libc::ENOENT));
    let e: std::io::Error = NamedSemaphore::open("a/b").unwrap_err().into();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn errors_say_which_operation_failed_on_which_semaphore() {
    use named_semaphores::Operation;
    let name = TestName::new("errmsg");
    let slashed = name.slashed();
    let check = |err: named_semaphores::Error, op: Operation, kind: ErrorKind| {
        assert_eq!((err.operation(), err.kind()), (Some(op), kind), "{err}");
        assert_eq!(err.name(), Some(slashed.as_str()));
        let text = err.to_string();
        assert!(text.starts_with(&format!("{op} {slashed:?}: ")), "{text}");
    };
    check(
        NamedSemaphore::open(&name).unwrap_err(),
        Operation::Open,
        ErrorKind::NotFound,
    );
    check(
        unlink(&name).unwrap_err(),
        Operation::Unlink,
        ErrorKind::NotFound,
    );
    let sem = NamedSemaphore::create(&name, VALUE_MAX).unwrap();
    check(
        NamedSemaphore::create(&name, 0).unwrap_err(),
        Operation::Create,
        ErrorKind::AlreadyExists,
    );
    check(
        sem.release().unwrap_err(),
        Operation::Release,
        ErrorKind::Overflow,
    );
    sem.unlink().unwrap();
    check(
        sem.unlink().unwrap_err(),
        Operation::Unlink,
        ErrorKind::NotFound,
    );
    // A name that does not parse is reported as given.
    let err = NamedSemaphore::create("a/b", 0).unwrap_err();
    assert_eq!(err.operation(), Some(Operation::Create));
    assert_eq!(err.name(), Some("a/b"));
}

#[test]
fn names_of_every_string_type_work() {
    let name = TestName::new("strtypes");
    let owned: String = name.name.clone();
    let sem = NamedSemaphore::create(&owned, 1).unwrap();
    for opened in [
        NamedSemaphore::open(owned.as_str()).unwrap(),
        NamedSemaphore::open(&owned).unwrap(),
        NamedSemaphore::open(owned.clone()).unwrap(),
        NamedSemaphore::open(owned.as_bytes()).unwrap(),
        NamedSemaphore::open(owned.clone().into_bytes()).unwrap(),
    ] {
        assert_eq!(opened.file_id(), sem.file_id());
    }
}

#[test]
fn try_clone_is_the_same_semaphore_whatever_the_name_does() {
    let name = TestName::new("clone");
    let sem = NamedSemaphore::create(&name, 1).unwrap();
    let twin = sem.try_clone().unwrap();
    assert!(!twin.created() && !twin.unlinks_on_drop());
    assert_eq!((twin.name(), twin.file_id()), (sem.name(), sem.file_id()));
    // Replace the name: the twin stays with the original.
    let newer = NamedSemaphore::options()
        .existence(Existence::UnlinkAndCreate)
        .initial_value(7)
        .open(&name)
        .unwrap();
    assert!(took(twin.try_acquire().unwrap()));
    assert_eq!((sem.value(), newer.value()), (0, 7));
    drop(sem); // its mapping goes; the twin's stays valid
    twin.release().unwrap();
    assert_eq!(twin.value(), 1);
    drop(twin);
    assert!(name.exists(), "a clone never unlinks");
    assert_eq!(NamedSemaphore::open(&name).unwrap().value(), 7);
}

#[test]
fn relative_directories_are_refused() {
    let name = TestName::new("reldir");
    for dir in [".", "dev/shm", "./x", "../shm"] {
        let err = NamedSemaphore::options()
            .directory(dir)
            .existence(Existence::CreateNew)
            .open(&name)
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.raw_os_error()),
            (ErrorKind::InvalidArgument, libc::EINVAL),
            "{dir:?}: {err}"
        );
        let err = named_semaphores::unlink_in(dir, &name).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{dir:?}: {err}");
    }
    assert!(!name.exists());
}

#[test]
fn error_kinds_keep_their_errno_everywhere() {
    use named_semaphores::Operation;
    let name = TestName::new("errno-kinds");
    // A regular file as the directory: InvalidArgument/EINVAL for open and
    // unlink alike.
    let _file = NamedSemaphore::create(&name, 0).unwrap();
    let file_dir = name.path().display().to_string();
    let open = NamedSemaphore::options()
        .directory(&file_dir)
        .open("x")
        .unwrap_err();
    let unlink = named_semaphores::unlink_in(&file_dir, "x").unwrap_err();
    for err in [open, unlink] {
        assert_eq!(
            (err.kind(), err.raw_os_error()),
            (ErrorKind::InvalidArgument, libc::EINVAL),
            "{err}"
        );
    }
    // A directory path that is too long: EINVAL too.
    let long = format!("/{}", "d".repeat(named_semaphores::DIRECTORY_MAX));
    let err = named_semaphores::unlink_in(&long, "x").unwrap_err();
    assert_eq!(
        (err.kind(), err.raw_os_error()),
        (ErrorKind::InvalidArgument, libc::EINVAL)
    );
    // inspect names the semaphore canonically and says "inspect".
    let err = named_semaphores::inspect("surely-not-here-either").unwrap_err();
    assert_eq!(err.operation(), Some(Operation::Inspect));
    assert_eq!(err.name(), Some("/surely-not-here-either"));
    // open_or_create with a value it cannot create with: a create error.
    let err = NamedSemaphore::open_or_create("surely-not-here-either", VALUE_MAX + 1).unwrap_err();
    assert_eq!(err.operation(), Some(Operation::Create));
    // A missing directory says so, whatever the operation.
    let err = NamedSemaphore::options()
        .directory("/dev/shm/surely-no-such-directory")
        .existence(Existence::CreateNew)
        .open("x")
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("no such directory"), "{err}");
    assert!(
        !err.to_string().contains("semaphore does not exist"),
        "{err}"
    );
    // Not an errno at all.
    assert_eq!(
        named_semaphores::Error::from_raw_os_error(65537).kind(),
        ErrorKind::InvalidArgument
    );
}
