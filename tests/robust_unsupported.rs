//! Robust mode where the target has no 64-bit atomics (some 32-bit powerpc
//! and mips): refused with a typed error, before the file is touched.
#![cfg(not(target_has_atomic = "64"))]

mod common;

use common::TestName;
use named_semaphores::{ErrorKind, Existence, NamedSemaphore};

#[test]
fn robust_mode_is_refused_without_64_bit_atomics() {
    let name = TestName::new("no-atomic64");
    let err = NamedSemaphore::options()
        .robust(true)
        .existence(Existence::CreateNew)
        .open(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotRobust);
    assert!(!name.exists(), "nothing was created");
    let plain = NamedSemaphore::create(&name, 1).unwrap();
    let err = NamedSemaphore::options()
        .robust(true)
        .open(&name)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotRobust);
    assert_eq!(
        name.bytes().len(),
        named_semaphores::RawSemaphore::SIZE,
        "not extended"
    );
    assert_eq!(plain.recover().unwrap_err().kind(), ErrorKind::NotRobust);
}
