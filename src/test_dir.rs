//! Unit tests' private semaphore directories.

use std::string::String;
use std::vec::Vec;

/// A private directory under /dev/shm, removed with its contents on drop.
pub(crate) struct TestDir(pub(crate) String);

impl TestDir {
    pub(crate) fn new(tag: &str) -> TestDir {
        let dir = std::format!("/dev/shm/nsem-unit-{}-{tag}", std::process::id());
        std::fs::create_dir(&dir).unwrap();
        TestDir(dir)
    }

    /// The file names in the directory, sorted.
    pub(crate) fn files(&self) -> Vec<String> {
        let mut v: Vec<_> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
