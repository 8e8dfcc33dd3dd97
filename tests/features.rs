//! Features are additive: code written against the crate without a feature
//! still compiles, and means the same, when another crate in the build turns
//! the feature on. CI builds and runs this file both without features and
//! with all of them.

use std::mem::MaybeUninit;

use named_semaphores::{list_in, Entry, Existence, NamedSemaphore, LIST_BUFFER_LEN};

/// A private directory under /dev/shm, removed with its contents on drop.
struct Dir(String);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The standard library's `ToOwned` on a `Clone` type gives the same type;
/// no inherent method of `Entry` may shadow it under any feature.
fn copy_of<'a>(entry: &Entry<'a>) -> Entry<'a> {
    entry.to_owned()
}

#[test]
fn entry_to_owned_is_std_to_owned_under_every_feature_set() {
    let dir = Dir(format!(
        "/dev/shm/nsem-test-{}-features",
        std::process::id()
    ));
    std::fs::create_dir(&dir.0).unwrap();
    let _sem = NamedSemaphore::options()
        .directory(&dir.0)
        .initial_value(2)
        .existence(Existence::CreateNew)
        .open("one")
        .unwrap();

    let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
    let mut listing = list_in(&dir.0, &mut buf).unwrap();
    let entry = listing.next().expect("one entry").unwrap();
    let copy: Entry<'_> = entry.to_owned();
    assert_eq!(copy, entry);
    assert_eq!(copy_of(&entry), entry);
    assert_eq!((copy.name, copy.info.value), (&b"/one"[..], Some(2)));
}
