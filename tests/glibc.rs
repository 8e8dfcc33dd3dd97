//! Interoperation with glibc's own `sem_*`, both ways, across processes:
//! each side creates, blocks and wakes the other, and they agree on values
//! and names. glibc is reached through the `libc` crate, so these run
//! against whichever glibc the target links (i386 glibc on i686, and so on).
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod common;

use std::time::Duration;

use common::{code, finish, glibc, results, spawn, took, wait_until, TestName, EXISTS, OK};
use named_semaphores::{ErrorKind, NamedSemaphore};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    common::child_main();
}

#[test]
fn glibc_waiter_is_woken_by_crate_release() {
    let name = TestName::new("g-wait");
    let sem = NamedSemaphore::create(&name, 0).unwrap();
    let peer = spawn("glibc-wait", &[&name, "30000"]);
    // glibc registers in the same waiter count the crate reads.
    wait_until("glibc to block", LIMIT, || sem.as_raw().waiters() == 1);
    sem.release().unwrap();
    assert_eq!(code(&finish(peer, LIMIT)), OK);
    assert_eq!(sem.value(), 0);
    assert_eq!(sem.as_raw().waiters(), 0);
}

#[test]
fn crate_waiter_is_woken_by_glibc_post() {
    let name = TestName::new("g-post");
    let sem = NamedSemaphore::create(&name, 0).unwrap();
    let waiter = spawn("crate-acquire", &[&name, "30000"]);
    wait_until("the crate waiter to block", LIMIT, || {
        sem.as_raw().waiters() == 1
    });
    let poster = spawn("glibc-post", &[&name]);
    assert_eq!(code(&finish(poster, LIMIT)), OK);
    assert_eq!(code(&finish(waiter, LIMIT)), OK);
    assert_eq!(sem.value(), 0);
}

#[test]
fn semaphore_created_by_glibc_is_used_by_the_crate() {
    let name = TestName::new("g-create");
    assert_eq!(
        code(&finish(spawn("glibc-create", &[&name, "2"]), LIMIT)),
        OK
    );
    let sem = NamedSemaphore::open(&name).unwrap();
    assert!(!sem.created());
    assert_eq!(sem.value(), 2);
    assert!(took(sem.try_acquire().unwrap()));
    assert!(took(sem.try_acquire().unwrap()));
    // Now block in this process and let a glibc process wake us.
    let poster = spawn("glibc-post", &[&name]);
    assert!(took(sem.acquire_timeout(Duration::from_secs(30)).unwrap()));
    assert_eq!(code(&finish(poster, LIMIT)), OK);
    // And a glibc waiter on glibc's own semaphore, woken by the crate.
    let peer = spawn("glibc-wait", &[&name, "30000"]);
    wait_until("glibc to block", LIMIT, || sem.as_raw().waiters() == 1);
    sem.release().unwrap();
    assert_eq!(code(&finish(peer, LIMIT)), OK);
}

#[test]
fn create_new_and_glibc_o_excl_see_each_other() {
    let name = TestName::new("g-excl");
    let _sem = NamedSemaphore::create(&name, 1).unwrap();
    assert_eq!(
        code(&finish(spawn("glibc-create", &[&name, "1"]), LIMIT)),
        EXISTS
    );
    let other = TestName::new("g-excl2");
    assert_eq!(
        code(&finish(spawn("glibc-create", &[&other, "1"]), LIMIT)),
        OK
    );
    assert_eq!(
        NamedSemaphore::create(&other, 1).unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
}

#[test]
fn values_agree() {
    let name = TestName::new("g-value");
    let sem = NamedSemaphore::create(&name, 5).unwrap();
    let value = |n: &str| {
        let out = finish(spawn("glibc-value", &[n]), LIMIT);
        assert_eq!(code(&out), OK);
        results(&out)[0].parse::<u32>().unwrap()
    };
    assert_eq!(value(&name), 5);
    sem.release_n(10).unwrap();
    assert_eq!(value(&name), 15);
    assert_eq!(glibc::value(&name), 15, "in this process too");
    assert_eq!(code(&finish(spawn("glibc-post", &[&name]), LIMIT)), OK);
    assert_eq!(sem.value(), 16);
}

#[test]
fn unlink_and_sem_unlink_see_each_other() {
    let name = TestName::new("g-unlink");
    let sem = NamedSemaphore::create(&name, 1).unwrap();
    assert_eq!(code(&finish(spawn("glibc-unlink", &[&name]), LIMIT)), OK);
    assert!(!name.exists());
    assert_eq!(sem.unlink().unwrap_err().kind(), ErrorKind::NotFound);

    assert_eq!(
        code(&finish(spawn("glibc-create", &[&name, "1"]), LIMIT)),
        OK
    );
    named_semaphores::unlink(&name).unwrap();
    assert!(!name.exists());
    assert_ne!(code(&finish(spawn("glibc-unlink", &[&name]), LIMIT)), OK);
}

#[test]
fn glibc_and_crate_agree_on_name_mapping() {
    let name = TestName::new("g-names");
    // glibc strips leading slashes too: "//NAME" is "/NAME".
    let sem = NamedSemaphore::create(format!("//{}", &*name), 4).unwrap();
    assert_eq!(glibc::value(&name), 4);
    drop(sem);
}

/// A semaphore whose name is not UTF-8, made by glibc in this process: the
/// listing finds it, and the name it gives opens and unlinks it.
#[test]
fn non_utf8_names_made_by_glibc_can_be_reached() {
    let name = TestName::new("g-bytes");
    // The test name plus two bytes that are not UTF-8; the guard removes the
    // file at the plain name, so remove the real one here as well.
    let mut bytes = format!("/{}-", &*name).into_bytes();
    bytes.extend_from_slice(b"\xff\xfe");
    let c_name = std::ffi::CString::new(bytes.clone()).unwrap();
    // SAFETY: a valid C string; O_CREAT with mode and value as glibc expects.
    let sem = unsafe { libc::sem_open(c_name.as_ptr(), libc::O_CREAT | libc::O_EXCL, 0o600, 3) };
    assert_ne!(sem, libc::SEM_FAILED);
    // SAFETY: `sem` came from sem_open.
    unsafe { libc::sem_close(sem) };
    let path = std::path::PathBuf::from(
        <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(
            [&b"/dev/shm/sem."[..], &bytes[1..]].concat(),
        ),
    );
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _cleanup = Remove(path.clone());

    let mut buf = vec![std::mem::MaybeUninit::uninit(); named_semaphores::LIST_BUFFER_LEN];
    let mut listing = named_semaphores::list(&mut buf).unwrap();
    let mut listed = None;
    while let Some(entry) = listing.next() {
        let entry = entry.unwrap();
        if entry.name == bytes {
            listed = Some(entry.name.to_vec());
        }
    }
    let listed = listed.expect("listed");
    let sem = NamedSemaphore::open(&listed).unwrap();
    assert_eq!(sem.value(), 3);
    assert_eq!(sem.name_bytes(), &bytes[..]);
    assert!(format!("{sem:?}").contains(r"\xff\xfe"), "{sem:?}");
    named_semaphores::unlink(&listed).unwrap();
    assert!(!path.exists());
    let err = NamedSemaphore::open(&bytes).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.name_bytes(),
        Some(&bytes[..err.name_bytes().unwrap().len()])
    );
}
