//! Across processes: blocking and waking, creation races, and the byte image
//! of the semaphore file as another process sees it.

mod common;

use std::time::Duration;

use common::{
    code, finish, results, spawn, took, wait_until, TestDir, TestName, EXISTS, OK, TIMED_OUT,
};
use named_semaphores::{Layout, NamedSemaphore, RawSemaphore};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
#[ignore = "entry point of child processes started by the other tests"]
fn child() {
    common::child_main();
}

/// The image glibc's ABI gives for `value` tokens and `waiters` blocked
/// waiters on this target.
fn expected_image(value: u32, waiters: u32) -> Vec<u8> {
    let mut want = vec![0u8; RawSemaphore::SIZE];
    match RawSemaphore::LAYOUT {
        Layout::Wide => {
            let data = u64::from(value) | u64::from(waiters) << 32;
            want[0..8].copy_from_slice(&data.to_ne_bytes());
            want[8..12].copy_from_slice(&128i32.to_ne_bytes());
        }
        Layout::Narrow => {
            let v = value << 1 | u32::from(waiters > 0);
            want[0..4].copy_from_slice(&v.to_ne_bytes());
            want[4..8].copy_from_slice(&128i32.to_ne_bytes());
            want[12..16].copy_from_slice(&waiters.to_ne_bytes());
        }
    }
    want
}

#[test]
fn byte_images_match_the_abi() {
    let name = TestName::new("image");
    let sem = NamedSemaphore::create(&name, 3).unwrap();
    assert_eq!(name.bytes().len(), RawSemaphore::SIZE);
    assert_eq!(name.bytes(), expected_image(3, 0), "new, value 3");
    if cfg!(all(target_pointer_width = "64", target_endian = "little")) {
        // Literally the image from the ABI document.
        let mut doc = vec![3, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0];
        doc.resize(32, 0);
        assert_eq!(name.bytes(), doc);
    }
    sem.release().unwrap();
    assert_eq!(name.bytes(), expected_image(4, 0), "after a post");
    while took(sem.try_acquire().unwrap()) {}
    assert_eq!(name.bytes(), expected_image(0, 0), "drained");

    // A waiter blocked in another process.
    let child = spawn("crate-acquire", &[&name, "30000"]);
    wait_until("the child to block", LIMIT, || sem.as_raw().waiters() == 1);
    // Give it time to reach the futex; the image is the same before and after.
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(name.bytes(), expected_image(0, 1), "one blocked waiter");
    sem.release().unwrap();
    assert_eq!(code(&finish(child, LIMIT)), OK);
    assert_eq!(sem.value(), 0);
    assert_eq!(sem.as_raw().waiters(), 0);
}

#[test]
fn waiter_in_another_process_is_woken() {
    let name = TestName::new("xwake");
    let sem = NamedSemaphore::create(&name, 0).unwrap();
    let child = spawn("crate-acquire", &[&name, "30000"]);
    wait_until("the child to block", LIMIT, || sem.as_raw().waiters() == 1);
    sem.release().unwrap();
    assert_eq!(code(&finish(child, LIMIT)), OK);
    assert_eq!(sem.value(), 0);
}

#[test]
fn release_from_another_process_wakes_us() {
    let name = TestName::new("xpost");
    let sem = NamedSemaphore::create(&name, 0).unwrap();
    let child = spawn("crate-release", &[&name]);
    assert!(took(sem.acquire_timeout(Duration::from_secs(30)).unwrap()));
    assert_eq!(code(&finish(child, LIMIT)), OK);
}

#[test]
fn release_n_wakes_waiters_in_several_processes() {
    let name = TestName::new("xmany");
    let sem = NamedSemaphore::create(&name, 0).unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| spawn("crate-acquire", &[&name, "30000"]))
        .collect();
    wait_until("4 blocked children", LIMIT, || sem.as_raw().waiters() == 4);
    sem.release_n(4).unwrap();
    for c in children {
        assert_eq!(code(&finish(c, LIMIT)), OK);
    }
    assert_eq!(sem.value(), 0);
    assert_eq!(sem.as_raw().waiters(), 0);
}

#[test]
fn timeout_in_another_process() {
    let name = TestName::new("xtimeout");
    let sem = NamedSemaphore::create(&name, 0).unwrap();
    let child = spawn("crate-acquire", &[&name, "50"]);
    assert_eq!(code(&finish(child, LIMIT)), TIMED_OUT);
    assert_eq!(sem.as_raw().waiters(), 0);
    assert_eq!(sem.value(), 0);
}

#[test]
fn racing_create_new_yields_exactly_one_creator() {
    const N: usize = 8;
    let dir = TestDir::new("race-new");
    let name = TestName::in_dir("race-new", &dir.0);
    let gate = TestName::new("race-new-gate");
    let g = NamedSemaphore::create(&gate, 0).unwrap();
    let children: Vec<_> = (0..N)
        .map(|_| spawn("crate-create-new", &[&name, &gate, &dir.0]))
        .collect();
    wait_until("children at the gate", LIMIT, || {
        g.as_raw().waiters() == N as u32
    });
    g.release_n(N as u32).unwrap();
    let codes: Vec<i32> = children
        .into_iter()
        .map(|c| code(&finish(c, LIMIT)))
        .collect();
    assert_eq!(codes.iter().filter(|&&c| c == OK).count(), 1, "{codes:?}");
    assert_eq!(
        codes.iter().filter(|&&c| c == EXISTS).count(),
        N - 1,
        "{codes:?}"
    );
    let sem = NamedSemaphore::options()
        .directory(&dir.0)
        .open(&name)
        .unwrap();
    assert_eq!(sem.value(), 0);
    // The one published file, and no temporary left behind.
    assert_eq!(dir.files(), [format!("sem.{}", &*name)]);
}

#[test]
fn racing_open_or_create_yields_one_semaphore() {
    const N: usize = 8;
    let dir = TestDir::new("race-ooc");
    let name = TestName::in_dir("race-ooc", &dir.0);
    let gate = TestName::new("race-ooc-gate");
    let g = NamedSemaphore::create(&gate, 0).unwrap();
    let children: Vec<_> = (0..N)
        .map(|_| spawn("crate-open-or-create", &[&name, &gate, &dir.0]))
        .collect();
    wait_until("children at the gate", LIMIT, || {
        g.as_raw().waiters() == N as u32
    });
    g.release_n(N as u32).unwrap();
    let mut created = 0;
    for c in children {
        let out = finish(c, LIMIT);
        assert_eq!(code(&out), OK);
        let r = results(&out);
        assert_eq!(r.len(), 1, "{r:?}");
        created += usize::from(r[0] == "created=true");
    }
    assert_eq!(created, 1, "exactly one creator");
    // Every child released once into the same semaphore.
    let sem = NamedSemaphore::options()
        .directory(&dir.0)
        .open(&name)
        .unwrap();
    assert_eq!(sem.value(), N as u32);
    assert_eq!(dir.files(), [format!("sem.{}", &*name)]);
}
