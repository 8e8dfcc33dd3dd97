//! Unit tests of the error type: messages, the first context recorded,
//! names cut inline, size.

use super::*;
use std::string::ToString;

#[test]
fn messages_name_the_operation_and_the_semaphore() {
    let err = Error::from_errno(Errno::PERM).on(Operation::Unlink, b"/jobs");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(err.raw_os_error(), 13, "EPERM is reported as EACCES");
    assert_eq!(
        err.to_string(),
        "unlink \"/jobs\": permission denied (os error 13)"
    );
    let raw = Error::from_errno(Errno::NOENT).during(Operation::Acquire);
    assert_eq!(
        raw.to_string(),
        "acquire: semaphore does not exist (os error 2)"
    );
}

#[test]
fn the_first_operation_and_name_recorded_win() {
    let err = Error::from_errno(Errno::NOENT)
        .on(Operation::Create, b"/a")
        .on(Operation::Open, b"/b");
    assert_eq!(
        (err.operation(), err.name()),
        (Some(Operation::Create), Some("/a"))
    );
    let bare = Error::from_raw_os_error(Errno::NOENT.raw_os_error());
    assert_eq!((bare.operation(), bare.name()), (None, None));
    assert_eq!(bare.to_string(), "semaphore does not exist (os error 2)");
}

#[test]
fn long_names_are_cut_at_a_character_boundary() {
    let long = "/".to_string() + &"é".repeat(100);
    let err = Error::from_errno(Errno::NOENT).on(Operation::Open, long.as_bytes());
    let kept = err.name().unwrap();
    assert!(err.name_is_cut() && long.starts_with(kept));
    assert!(kept.len() <= Error::NAME_INLINE && kept.len() >= Error::NAME_INLINE - 1);
    assert!(err
        .to_string()
        .starts_with(&std::format!("open {kept:?}...: ")));
    let exact = "x".repeat(Error::NAME_INLINE);
    let err = Error::from_errno(Errno::NOENT).on(Operation::Open, exact.as_bytes());
    assert_eq!(
        (err.name(), err.name_is_cut()),
        (Some(exact.as_str()), false)
    );
}

#[test]
fn small_and_copy() {
    #[cfg(target_pointer_width = "64")]
    assert_eq!(core::mem::size_of::<Error>(), 64);
    #[cfg(target_pointer_width = "32")]
    assert!(core::mem::size_of::<Error>() <= 56);
    fn copy<T: Copy>() {}
    copy::<Error>();
}

#[cfg(feature = "std")]
#[test]
fn the_errno_survives_the_io_error_through_a_downcast() {
    for (errno, io_kind) in [
        (Errno::NOENT, std::io::ErrorKind::NotFound),
        (Errno::ACCESS, std::io::ErrorKind::PermissionDenied),
        (Errno::NOMEM, std::io::ErrorKind::OutOfMemory),
    ] {
        let err = Error::from_errno(errno).on(Operation::Open, b"/jobs");
        let io: std::io::Error = err.into();
        assert_eq!(io.kind(), io_kind);
        assert_eq!(
            io.raw_os_error(),
            None,
            "documented: std keeps no errno here"
        );
        assert_eq!(io.to_string(), err.to_string(), "the message is kept whole");
        let back = io.get_ref().and_then(|e| e.downcast_ref::<Error>());
        assert_eq!(back, Some(&err));
        assert_eq!(back.map(Error::raw_os_error), Some(errno.raw_os_error()));
    }
}
