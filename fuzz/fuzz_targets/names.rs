//! Any string as a semaphore name: either a file `sem.NAME` directly inside
//! the directory (and nowhere else), or `InvalidName` with nothing created.
//! Never a panic.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use named_semaphores::{unlink_in, ErrorKind, Existence, NamedSemaphore, RawSemaphore};

/// A private directory on /dev/shm (a tmpfs), one per fuzzing process.
fn dir() -> &'static str {
    static DIR: OnceLock<String> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = format!("/dev/shm/nsem-fuzz-{}", std::process::id());
        std::fs::create_dir_all(&d).expect("fuzz directory");
        d
    })
}

fn entries(dir: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read fuzz directory")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect()
}

/// glibc's rule, restated independently of the crate.
fn valid(name: &str) -> Option<&str> {
    let bare = name.trim_start_matches('/');
    (!bare.is_empty() && !bare.contains('/') && !bare.contains('\0') && bare.len() <= 251)
        .then_some(bare)
}

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    let dir = dir();
    let result = NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .directory(dir)
        .unlink_on_drop(false)
        .open(name);
    match valid(name) {
        Some(bare) => {
            let sem = result.unwrap_or_else(|e| panic!("{name:?} refused: {e}"));
            assert_eq!(sem.name(), format!("/{bare}"));
            let file = format!("sem.{bare}");
            assert_eq!(entries(dir), std::slice::from_ref(&file));
            let meta = std::fs::symlink_metadata(Path::new(dir).join(&file)).expect("stat");
            assert!(meta.is_file());
            assert_eq!(meta.len(), RawSemaphore::SIZE as u64);
            drop(sem);
            unlink_in(dir, name).expect("unlink");
        }
        None => {
            let err = result.map(|_| ()).expect_err("invalid name accepted");
            assert_eq!(err.kind(), ErrorKind::InvalidName);
            assert_eq!(
                unlink_in(dir, name).unwrap_err().kind(),
                ErrorKind::InvalidName
            );
        }
    }
    assert!(entries(dir).is_empty(), "left a file behind for {name:?}");
});
