//! Unit tests of the listing: every `sem.*` file reported, valid or not,
//! with canonical names.

use super::*;
use crate::raw::RawSemaphore;

#[test]
fn lists_every_semaphore_file_and_only_those() {
    let dir = crate::test_dir::TestDir::new("every");
    let sem = crate::named::NamedSemaphore::options()
        .directory(&dir.0)
        .initial_value(4)
        .existence(crate::options::Existence::CreateNew)
        .open("one")
        .unwrap();
    assert!(sem.as_raw().take_now());
    std::fs::write(std::format!("{}/sem.two", dir.0), [0u8; 3]).unwrap();
    std::fs::write(std::format!("{}/other", dir.0), [0u8; 32]).unwrap();
    std::fs::create_dir(std::format!("{}/sem.three", dir.0)).unwrap();

    let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
    let mut listing = list_in(&dir.0, &mut buf).unwrap();
    let mut seen = std::vec::Vec::new();
    while let Some(entry) = listing.next() {
        let entry = entry.unwrap();
        seen.push((entry.name.to_vec(), entry.info));
    }
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let names: std::vec::Vec<&[u8]> = seen.iter().map(|(n, _)| &n[..]).collect();
    assert_eq!(names, [&b"/one"[..], b"/three", b"/two"]);
    let one = seen[0].1;
    assert_eq!(
        (one.value, one.waiters, one.status),
        (Some(3), Some(0), Status::Valid)
    );
    assert_eq!(
        (one.kind, one.size, one.links),
        (FileKind::Regular, RawSemaphore::SIZE as u64, 1)
    );
    assert_eq!(one.mode, 0o600 & one.mode);
    assert_eq!(one.file_id, sem.file_id());
    let three = seen[1].1;
    assert_eq!(
        (three.kind, three.status, three.value),
        (FileKind::Directory, Status::NotRegularFile, None)
    );
    let two = seen[2].1;
    assert_eq!(
        (two.size, two.status, two.value),
        (3, Status::WrongSize, None)
    );
    assert!(!two.temporary, "a three-letter name is not a temporary one");

    assert_eq!(inspect_in(&dir.0, "/one").unwrap(), one);
    assert_eq!(inspect_in(&dir.0, "two").unwrap().status, Status::WrongSize);
}

#[test]
fn listing_errors() {
    let mut tiny = [MaybeUninit::uninit(); 16];
    let mut listing = list_in("/dev/shm", &mut tiny).unwrap();
    let err = listing.next().unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    let mut buf = [MaybeUninit::uninit(); 512];
    let err = list_in("/dev/shm/surely/not/here", &mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = list_in("", &mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);

    let err = inspect("surely-nobody-made-this-one").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(inspect("a/b").unwrap_err().kind(), ErrorKind::InvalidName);
}

#[test]
fn debug_shows_names_as_text_and_the_mode_in_octal() {
    let dir = crate::test_dir::TestDir::new("debug");
    let _sem = crate::named::NamedSemaphore::options()
        .directory(&dir.0)
        .mode(0o640)
        .existence(crate::options::Existence::CreateNew)
        .open(b"caf\xc3\xa9-\xff")
        .unwrap();
    let mut buf = [MaybeUninit::uninit(); LIST_BUFFER_LEN];
    let mut listing = list_in(&dir.0, &mut buf).unwrap();
    let entry = listing.next().unwrap().unwrap();
    let shown = std::format!("{entry:?}");
    assert!(
        shown.starts_with(r#"Entry { name: "/café-\xff", "#),
        "{shown}"
    );
    assert!(shown.contains("mode: 0o640"), "{shown}");
    #[cfg(feature = "alloc")]
    {
        let owned = std::format!("{:?}", entry.into_owned());
        assert!(
            owned.starts_with(r#"OwnedEntry { name: "/café-\xff", "#),
            "{owned}"
        );
        assert!(owned.contains("mode: 0o640"), "{owned}");
    }
}
