//! Hostile and corrupt input: semaphore files with corrupt contents, files
//! truncated after they were opened, things that are not semaphore files at
//! the name, other users' files, unusable directories, and any name at all
//! (property-based: `NSEM_FUZZ_CASES` cases, default 3000).

mod common;

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{code, finish, spawn, took, TestName};
use named_semaphores::{ErrorKind, Existence, Layout, NamedSemaphore, RawSemaphore, VALUE_MAX};
use proptest::prelude::*;

const LIMIT: Duration = Duration::from_secs(30);

/// A semaphore image for this target's layout with the given raw fields:
/// the value word (count, not shifted), the waiter count and `private`.
fn image(value: u32, waiters: u32, private: i32) -> Vec<u8> {
    let mut b = vec![0u8; RawSemaphore::SIZE];
    match RawSemaphore::LAYOUT {
        Layout::Wide => {
            let data = u64::from(value) | u64::from(waiters) << 32;
            b[0..8].copy_from_slice(&data.to_ne_bytes());
            b[8..12].copy_from_slice(&private.to_ne_bytes());
        }
        Layout::Narrow => {
            // The count sits above the waiter bit; set the bit when waiters
            // are claimed, as glibc would have.
            let word = value << 1 | u32::from(waiters != 0);
            b[0..4].copy_from_slice(&word.to_ne_bytes());
            b[4..8].copy_from_slice(&private.to_ne_bytes());
            b[12..16].copy_from_slice(&waiters.to_ne_bytes());
        }
    }
    b
}

/// The raw waiter-count field of a semaphore image.
fn waiter_field(bytes: &[u8]) -> u32 {
    let at = match RawSemaphore::LAYOUT {
        Layout::Wide if cfg!(target_endian = "little") => 4,
        Layout::Wide => 0,
        Layout::Narrow => 12,
    };
    u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn plant(name: &TestName, bytes: &[u8]) {
    std::fs::write(name.path(), bytes).unwrap();
}

fn open(name: &TestName) -> NamedSemaphore {
    NamedSemaphore::open(name).expect("open planted semaphore")
}

fn kind(r: Result<NamedSemaphore, named_semaphores::Error>) -> ErrorKind {
    r.map(|_| ()).expect_err("expected an error").kind()
}

// ---- corrupt contents -------------------------------------------------

/// A value above `VALUE_MAX` (possible only in the 64-bit layout, whose value
/// field is 32 bits wide): releasing refuses with `Overflow` and changes no
/// byte, so nothing can carry into the waiter count; taking still works.
#[test]
fn value_above_max_never_carries_into_the_waiter_count() {
    if RawSemaphore::LAYOUT == Layout::Narrow {
        // 31 bits of count cannot exceed VALUE_MAX: covered by the next test.
        return value_at_max_never_carries_into_the_waiter_count();
    }
    for value in [VALUE_MAX + 1, u32::MAX - 1, u32::MAX] {
        let name = TestName::new("abovemax");
        plant(&name, &image(value, 0, 128));
        let sem = open(&name);
        let before = name.bytes();
        for n in [1, 2, VALUE_MAX] {
            assert_eq!(sem.release_n(n).unwrap_err().kind(), ErrorKind::Overflow);
        }
        assert_eq!(name.bytes(), before, "a refused release changed the file");
        assert_eq!(waiter_field(&name.bytes()), 0);
        // Taking tokens still works and never hangs.
        sem.acquire().unwrap().forget();
        assert!(took(sem.try_acquire().unwrap()));
        assert!(took(
            sem.acquire_timeout(Duration::from_millis(10)).unwrap()
        ));
        assert_eq!(sem.value(), value - 3);
        assert_eq!(waiter_field(&name.bytes()), 0);
    }
}

/// At `VALUE_MAX`, with any waiter count, a release is refused and no byte
/// changes.
#[test]
fn value_at_max_never_carries_into_the_waiter_count() {
    for waiters in [0, 1, 0x7fff_ffff, u32::MAX] {
        let name = TestName::new("atmax");
        plant(&name, &image(VALUE_MAX, waiters, 128));
        let sem = open(&name);
        let before = name.bytes();
        assert_eq!(sem.release().unwrap_err().kind(), ErrorKind::Overflow);
        assert_eq!(
            sem.release_n(u32::MAX).unwrap_err().kind(),
            ErrorKind::Overflow
        );
        assert_eq!(name.bytes(), before);
        assert!(took(sem.try_acquire().unwrap()));
        sem.release().unwrap();
        assert_eq!(name.bytes(), before);
    }
}

/// Garbage in the waiter count: a timed wait that gives up restores it
/// exactly (its registration wraps in the waiter field alone), releases only
/// wake more than needed, and a blocked waiter is woken when a token comes.
#[test]
fn garbage_waiter_count_costs_wake_ups_not_correctness() {
    for garbage in [1, 0x8000_0000, u32::MAX - 1, u32::MAX] {
        let name = TestName::new("garbage");
        plant(&name, &image(0, garbage, 128));
        let sem = Arc::new(open(&name));
        let before = name.bytes();
        assert!(!took(
            sem.acquire_timeout(Duration::from_millis(5)).unwrap()
        ));
        assert_eq!(name.bytes(), before, "timed-out wait left a trace");

        sem.release_n(2).unwrap();
        assert_eq!(sem.value(), 2);
        assert_eq!(waiter_field(&name.bytes()), garbage);
        assert!(took(sem.try_acquire().unwrap()));
        sem.acquire().unwrap().forget();
        assert_eq!(sem.value(), 0);

        // A real waiter among the phantom ones is woken by a release.
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || took(sem.acquire_timeout(LIMIT).unwrap()))
        };
        common::wait_until("the waiter to register", LIMIT, || {
            sem.as_raw().waiters() != garbage
        });
        match RawSemaphore::LAYOUT {
            // Registered: the count is not zero (2^32 - 1 + 1 must not read
            // as "nobody waits", or the release below would not wake it).
            named_semaphores::Layout::Wide => assert_ne!(sem.as_raw().waiters(), 0),
            // The 32-bit layout's posters look at the waiter bit, not at the
            // count (which wraps here as it does in glibc): the bit must be
            // set before the waiter sleeps.
            named_semaphores::Layout::Narrow => {
                common::wait_until("the waiter bit", LIMIT, || {
                    u32::from_ne_bytes(name.bytes()[0..4].try_into().unwrap()) & 1 == 1
                });
            }
        }
        sem.release().unwrap();
        assert!(waiter.join().unwrap(), "waiter not woken");
        assert_eq!(sem.value(), 0);
        assert_eq!(waiter_field(&name.bytes()), garbage);
    }
}

/// A header glibc would not write is refused, whatever the rest says.
#[test]
fn private_other_than_128_is_refused() {
    for private in [0, 1, 127, 129, -128, i32::MIN, i32::MAX] {
        let name = TestName::new("private");
        plant(&name, &image(1, 0, private));
        assert_eq!(kind(NamedSemaphore::open(&name)), ErrorKind::InvalidObject);
        assert_eq!(
            kind(NamedSemaphore::open_or_create(&name, 1)),
            ErrorKind::InvalidObject
        );
        assert_eq!(name.bytes(), image(1, 0, private), "refused file changed");
    }
}

/// Wrong sizes are refused by every opening policy and left untouched.
#[test]
fn wrong_sizes_are_refused_by_every_policy() {
    for size in [
        0,
        1,
        8,
        RawSemaphore::SIZE / 2,
        RawSemaphore::SIZE - 1,
        RawSemaphore::SIZE + 1,
        // (4096 bytes is a robust semaphore's size: tests/robust_hostile.rs.)
        4095,
        4097,
    ] {
        let name = TestName::new("size");
        let mut bytes = image(1, 0, 128);
        bytes.resize(size, 0);
        plant(&name, &bytes);
        assert_eq!(
            kind(NamedSemaphore::open(&name)),
            ErrorKind::InvalidObject,
            "{size}"
        );
        assert_eq!(
            kind(NamedSemaphore::open_or_create(&name, 1)),
            ErrorKind::InvalidObject,
            "{size}"
        );
        assert_eq!(
            kind(NamedSemaphore::create(&name, 1)),
            ErrorKind::AlreadyExists
        );
        assert_eq!(name.bytes(), bytes);
    }
}

// ---- truncation after open ----------------------------------------------

/// Child roles of this test binary.
#[test]
#[ignore]
fn child() {
    let Some((role, args)) = common::role() else {
        return;
    };
    match role.as_str() {
        // Open, let the file be truncated to nothing, then touch the mapping.
        "truncate-then-use" => {
            let sem = NamedSemaphore::open(&args[0]).unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&args[1])
                .unwrap()
                .set_len(0)
                .unwrap();
            println!("RESULT truncated");
            let _ = sem.value();
            println!("RESULT survived");
        }
        // Try to open and unlink as the user `nobody`.
        "as-nobody" => {
            drop_privileges();
            match NamedSemaphore::open(&args[0]) {
                Ok(_) => println!("RESULT open ok"),
                Err(e) => println!("RESULT open {:?}", e.kind()),
            }
            match named_semaphores::unlink(&args[0]) {
                Ok(()) => println!("RESULT unlink ok"),
                Err(e) => println!("RESULT unlink {:?}", e.kind()),
            }
        }
        _ => common::child_main(),
    }
    std::process::exit(common::OK);
}

fn drop_privileges() {
    // SAFETY: plain system calls with constant arguments, in a child that
    // runs only this role.
    unsafe {
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0);
        assert_eq!(libc::setgid(65534), 0);
        assert_eq!(libc::setuid(65534), 0);
    }
}

/// A file truncated to zero after it was mapped cannot be defended: the next
/// access to the mapping raises SIGBUS, in this crate as in glibc (the crate
/// refuses such a file at open, but a mapping made earlier has no way to
/// know). This test pins that behaviour down so that the documentation stays
/// true.
#[test]
fn truncation_to_zero_after_open_raises_sigbus() {
    use std::os::unix::process::ExitStatusExt;
    let name = TestName::new("trunc0");
    let _sem = NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .initial_value(1)
        .unlink_on_drop(false)
        .open(&name)
        .unwrap();
    let path = name.path().to_str().unwrap().to_owned();
    let out = finish(spawn("truncate-then-use", &[&name, &path]), LIMIT);
    assert_eq!(common::results(&out), ["truncated"]);
    assert_eq!(out.status.signal(), Some(libc::SIGBUS), "{:?}", out.status);
}

/// Truncation that keeps any part of the file keeps the page mapped: the
/// bytes cut off read as zero, and the semaphore keeps working (on the
/// 64-bit layout the whole value/waiter word is in the first 8 bytes and
/// survives a cut to 8 bytes). Growing the file back after a cut to zero
/// gives a zeroed semaphore, which also works. Neither crashes.
#[test]
fn partial_truncation_after_open_keeps_working() {
    let name = TestName::new("truncpart");
    let sem = NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .initial_value(5)
        .unlink_on_drop(false)
        .open(&name)
        .unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(name.path())
        .unwrap();
    file.set_len(8).unwrap();
    if RawSemaphore::LAYOUT == Layout::Wide {
        assert_eq!(sem.value(), 5);
    }
    let value = sem.value();
    sem.release().unwrap();
    assert!(took(sem.try_acquire().unwrap()));
    assert_eq!(sem.value(), value);

    file.set_len(0).unwrap();
    file.set_len(RawSemaphore::SIZE as u64).unwrap();
    assert_eq!(sem.value(), 0, "regrown file reads as zeroes");
    assert!(!took(
        sem.acquire_timeout(Duration::from_millis(5)).unwrap()
    ));
    sem.release().unwrap();
    assert!(took(sem.try_acquire().unwrap()));
    // The regrown file has private = 0: a new opener refuses it.
    assert_eq!(kind(NamedSemaphore::open(&name)), ErrorKind::InvalidObject);
}

// ---- things that are not semaphore files --------------------------------

/// Opens with `existence` on a thread, failing the test if it blocks.
fn open_bounded(name: &TestName, existence: Existence) -> ErrorKind {
    let n = name.name.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let r = NamedSemaphore::options()
            .existence(existence)
            .unlink_on_drop(false)
            .open(&n);
        let _ = tx.send(r.map(|_| ()).map_err(|e| e.kind()));
    });
    rx.recv_timeout(LIMIT)
        .expect("open blocked")
        .expect_err("opened something that is not a semaphore")
}

/// FIFO, socket-less special files, directories and symbolic links (to a
/// valid semaphore, or dangling) at the name: a clear error for every
/// policy but `UnlinkAndCreate`, nothing followed, created or changed.
#[test]
fn non_files_at_the_name() {
    let target = TestName::new("target");
    let real = NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .initial_value(4)
        .unlink_on_drop(false)
        .open(&target)
        .unwrap();
    let dangling = TestName::new("dangling-target");
    type Make<'a> = &'a dyn Fn(&Path);
    let kinds: [(&str, Make); 4] = [
        ("fifo", &|p| {
            let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
            // SAFETY: valid C string.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }),
        ("dir", &|p| std::fs::create_dir(p).unwrap()),
        ("symlink", &|p| symlink(target.path(), p).unwrap()),
        ("dangling", &|p| symlink(dangling.path(), p).unwrap()),
    ];
    for (what, make) in kinds {
        let name = TestName::new(what);
        make(&name.path());
        let before = name.path().symlink_metadata().unwrap().ino();
        for existence in [Existence::OpenExisting, Existence::OpenOrCreate] {
            assert_eq!(
                open_bounded(&name, existence),
                ErrorKind::InvalidObject,
                "{what}"
            );
        }
        assert_eq!(
            open_bounded(&name, Existence::CreateNew),
            ErrorKind::AlreadyExists,
            "{what}"
        );
        assert_eq!(
            name.path().symlink_metadata().unwrap().ino(),
            before,
            "{what} replaced"
        );
    }
    assert!(!dangling.exists(), "created through a dangling symlink");
    assert_eq!(real.value(), 4, "the symlink's target was touched");
}

/// Another user's file: opening and unlinking it without permission give
/// `PermissionDenied` (as root, the test switches to `nobody` in a child; as
/// another user, a mode-0 file of its own is just as forbidden). Root may
/// open anyone's semaphore, as with glibc.
#[test]
fn other_users_files() {
    let name = TestName::new("owner");
    plant(&name, &image(2, 0, 128));
    std::fs::set_permissions(name.path(), std::fs::Permissions::from_mode(0o600)).unwrap();
    if common::is_root() {
        let out = finish(spawn("as-nobody", &[&name]), LIMIT);
        assert_eq!(code(&out), common::OK);
        assert_eq!(
            common::results(&out),
            ["open PermissionDenied", "unlink PermissionDenied"]
        );
        // And root opens a file `nobody` owns.
        std::os::unix::fs::chown(name.path(), Some(65534), Some(65534)).unwrap();
        assert_eq!(open(&name).value(), 2);
    } else {
        std::fs::set_permissions(name.path(), std::fs::Permissions::from_mode(0o000)).unwrap();
        assert_eq!(
            kind(NamedSemaphore::open(&name)),
            ErrorKind::PermissionDenied
        );
    }
    assert!(name.exists());
}

/// A directory option that does not exist, is not a directory, or is not a
/// memory file system is refused before anything is created.
#[test]
fn unusable_directories() {
    let name = TestName::new("dir");
    let file = TestName::new("plainfile");
    plant(&file, b"x");
    let file_path = file.path();
    let missing = format!("/dev/shm/nsem-test-{}-missing/sub", std::process::id());
    for (dir, want) in [
        ("/proc", ErrorKind::InvalidArgument),
        ("/sys", ErrorKind::InvalidArgument),
        (missing.as_str(), ErrorKind::NotFound),
        (file_path.to_str().unwrap(), ErrorKind::InvalidArgument),
    ] {
        for existence in [
            Existence::CreateNew,
            Existence::OpenOrCreate,
            Existence::OpenExisting,
        ] {
            let err = NamedSemaphore::options()
                .existence(existence)
                .directory(dir)
                .open(&name)
                .unwrap_err();
            assert_eq!(err.kind(), want, "{dir}: {err}");
        }
    }
    assert!(!Path::new(&missing).exists());
}

// ---- any name -----------------------------------------------------------

/// glibc's rule for names, restated independently of the crate.
fn valid(name: &str) -> Option<&str> {
    let bare = name.trim_start_matches('/');
    (!bare.is_empty() && !bare.contains('/') && !bare.contains('\0') && bare.len() <= 251)
        .then_some(bare)
}

fn cases() -> u32 {
    std::env::var("NSEM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// A private tmpfs directory for names, removed at the end.
struct Dir(String);

impl Dir {
    fn new() -> Dir {
        let d = format!("/dev/shm/nsem-test-{}-names", std::process::id());
        std::fs::create_dir(&d).unwrap();
        Dir(d)
    }
    fn entries(&self) -> Vec<String> {
        std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn names() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[/a.\\x00 é-]{0,6}",
        "/{0,3}[^/]{240,260}",
        "/{0,3}[a-z./\\\\]{0,10}",
    ]
}

/// Any `&str`: either a semaphore file `sem.NAME` directly inside the
/// directory, or `InvalidName` with nothing created; never a panic, never a
/// file anywhere else.
#[test]
fn any_name_maps_inside_the_directory_or_is_invalid() {
    let dir = Dir::new();
    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(name in names())| {
        let result = NamedSemaphore::options()
            .existence(Existence::CreateNew)
            .directory(&dir.0)
            .unlink_on_drop(false)
            .open(&name);
        match valid(&name) {
            Some(bare) => {
                let sem = result.unwrap_or_else(|e| panic!("{name:?} refused: {e}"));
                prop_assert_eq!(sem.name(), format!("/{bare}"));
                let file = format!("sem.{bare}");
                prop_assert_eq!(dir.entries(), vec![file.clone()]);
                let meta = std::fs::symlink_metadata(Path::new(&dir.0).join(&file)).unwrap();
                prop_assert!(meta.is_file());
                prop_assert_eq!(meta.len(), RawSemaphore::SIZE as u64);
                drop(sem);
                named_semaphores::unlink_in(&dir.0, &name).unwrap();
            }
            None => {
                let err = result.map(|_| ()).unwrap_err();
                prop_assert_eq!(err.kind(), ErrorKind::InvalidName);
                prop_assert_eq!(
                    named_semaphores::unlink_in(&dir.0, &name).unwrap_err().kind(),
                    ErrorKind::InvalidName
                );
            }
        }
        prop_assert!(dir.entries().is_empty());
    });
}

// ---- the counter logic ---------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    Release(u32),
    TryAcquire,
    AcquireTimeout(bool),
    Acquire,
}

fn ops() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u32..16).prop_map(Op::Release),
        any::<u32>().prop_map(Op::Release),
        Just(Op::TryAcquire),
        any::<bool>().prop_map(Op::AcquireTimeout),
        Just(Op::Acquire),
    ]
}

/// Any sequence of operations on one semaphore in plain memory agrees with a
/// plain counter: the value, the `Overflow` refusals exactly above
/// `VALUE_MAX`, and a waiter count that is always back to zero. (The same
/// property as the `counter` fuzz target.)
#[test]
fn operations_match_a_plain_counter() {
    let config = ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let start = prop_oneof![0u32..64, (VALUE_MAX - 64)..=VALUE_MAX];
    proptest!(config, |(start in start, ops in proptest::collection::vec(ops(), 0..40))| {
        let sem = RawSemaphore::new(start).unwrap();
        let mut model = u64::from(start);
        for op in ops {
            match op {
                Op::Release(n) => match sem.release_n(n) {
                    Ok(()) => model += u64::from(n),
                    Err(e) => {
                        prop_assert_eq!(e.kind(), ErrorKind::Overflow);
                        prop_assert!(model + u64::from(n) > u64::from(VALUE_MAX));
                    }
                },
                Op::TryAcquire => {
                    let got = took(sem.try_acquire().unwrap());
                    prop_assert_eq!(got, model > 0);
                    model -= u64::from(got);
                }
                Op::AcquireTimeout(wait) => {
                    let timeout = Duration::from_micros(u64::from(wait));
                    let got = took(sem.acquire_timeout(timeout).unwrap());
                    prop_assert_eq!(got, model > 0);
                    model -= u64::from(got);
                }
                Op::Acquire if model > 0 => {
                    sem.acquire().unwrap().forget();
                    model -= 1;
                }
                Op::Acquire => prop_assert!(sem.try_acquire().unwrap().is_none()),
            }
            prop_assert_eq!(u64::from(sem.value()), model);
            prop_assert_eq!(sem.waiters(), 0);
        }
    });
}
