//! Unit tests of the command-line parser.

use std::time::Duration;

use super::*;
use crate::failure::EXIT_USAGE;
use crate::given::WATCH_DEFAULT;
use crate::values::{parse_mode, parse_seconds};

fn args(a: &[&str]) -> Vec<OsString> {
    a.iter().map(OsString::from).collect()
}

fn command(a: &[&str]) -> Command {
    parse(args(a))
        .unwrap_or_else(|f| panic!("{a:?}: {}", f.message))
        .command
}

#[test]
fn run_takes_everything_after_the_name() {
    let cmd = command(&["run", "jobs", "--timeout", "2", "--", "sh", "-c", "x"]);
    let Command::Run {
        name,
        timeout,
        command: argv,
        robust,
    } = cmd
    else {
        panic!("{cmd:?}")
    };
    assert_eq!(name, "jobs");
    assert_eq!(timeout.unwrap().duration, Duration::from_secs(2));
    assert_eq!(argv, args(&["sh", "-c", "x"]));
    assert!(!robust);
    let cli = parse(args(&[
        "--dir=/run/shm",
        "run",
        "jobs",
        "ls",
        "--dir",
        "-h",
    ]))
    .unwrap();
    assert_eq!(cli.dir, "/run/shm");
    match cli.command {
        Command::Run { command, .. } => assert_eq!(command, args(&["ls", "--dir", "-h"])),
        other => panic!("{other:?}"),
    }
}

#[test]
fn robust_goes_with_create_and_run_and_recover_takes_a_name() {
    match command(&["run", "--robust", "jobs", "--", "make", "--robust"]) {
        Command::Run {
            robust, command, ..
        } => {
            assert!(robust);
            assert_eq!(command, args(&["make", "--robust"]));
        }
        other => panic!("{other:?}"),
    }
    match command(&["create", "jobs", "--robust", "--value", "3"]) {
        Command::Create { robust, value, .. } => assert_eq!((robust, value), (true, Some(3))),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        command(&["recover", "/jobs", "--json"]),
        Command::Recover {
            name: "/jobs".into(),
            json: true
        }
    );
    assert_eq!(
        command(&["help", "recover"]),
        Command::Help(Some("recover"))
    );
}

#[test]
fn try_and_timeout_zero_are_one_attempt() {
    for a in [
        &["wait", "x", "--try"][..],
        &["wait", "x", "--timeout", "0"],
    ] {
        match command(a) {
            Command::Wait {
                timeout: Some(t), ..
            } => assert!(t.is_try(), "{a:?}"),
            other => panic!("{other:?}"),
        }
    }
    match command(&["run", "x", "--try", "true"]) {
        Command::Run {
            timeout: Some(t), ..
        } => assert!(t.is_try()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn watch_takes_an_optional_interval() {
    let watch = |a: &[&str]| match command(a) {
        Command::List { watch, .. } => watch,
        other => panic!("{other:?}"),
    };
    assert_eq!(watch(&["list"]), None);
    let w = watch(&["list", "--watch"]).unwrap();
    assert_eq!((w.interval, w.count), (WATCH_DEFAULT, None));
    let w = watch(&["list", "--watch", "0.5", "--count", "3"]).unwrap();
    assert_eq!((w.interval, w.count), (Duration::from_millis(500), Some(3)));
    assert_eq!(
        watch(&["list", "--watch=7"]).unwrap().interval,
        Duration::from_secs(7)
    );
}

#[test]
fn list_takes_patterns_and_a_number_after_watch_is_its_interval() {
    let list = |a: &[&str]| match command(a) {
        Command::List {
            watch, patterns, ..
        } => (watch.map(|w| w.interval), patterns),
        other => panic!("{other:?}"),
    };
    let secs = Duration::from_secs;
    assert_eq!(list(&["list"]), (None, vec![]));
    assert_eq!(
        list(&["list", "j*", "x?"]),
        (None, vec!["j*".into(), "x?".into()])
    );
    assert_eq!(list(&["list", "--watch", "5"]), (Some(secs(5)), vec![]));
    assert_eq!(
        list(&["list", "--watch", "j*"]),
        (Some(WATCH_DEFAULT), vec!["j*".into()])
    );
    assert_eq!(
        list(&["list", "5", "--watch"]),
        (Some(WATCH_DEFAULT), vec!["5".into()])
    );
    assert_eq!(
        list(&["list", "--watch", "3", "5"]),
        (Some(secs(3)), vec!["5".into()])
    );
    assert_eq!(
        list(&["list", "--watch", "--count", "2", "5"]),
        (Some(WATCH_DEFAULT), vec!["5".into()])
    );
    assert_eq!(
        list(&["list", "--watch=1", "2"]),
        (Some(secs(1)), vec!["2".into()])
    );
    // A number right after --watch that is not a valid interval is an error.
    assert!(parse(args(&["list", "--watch", "1.2.3"])).is_err());
}

#[test]
fn help_forms() {
    assert_eq!(command(&["help"]), Command::Help(None));
    assert_eq!(command(&["-h"]), Command::Help(None));
    for a in [
        &["help", "post"][..],
        &["post", "-h"],
        &["post", "x", "--help"],
    ] {
        assert_eq!(command(a), Command::Help(Some("post")), "{a:?}");
    }
}

#[test]
fn usage_errors() {
    for bad in [
        &[][..],
        &["frobnicate"],
        &["list", "extra", "--count", "1"],
        &["info"],
        &["--dir", "list"],
        &["--dir"],
        &["wait", "x", "--try", "--timeout", "1"],
        &["wait", "x", "--timeout", "-1"],
        &["wait", "x", "--timeout", "soon"],
        &["create", "x", "--mode", "0999"],
        &["create", "x", "--value", "-1"],
        &["create", "x", "--value", "3000000000"],
        &["create", "x", "--value", "2147483648"],
        &["post", "x", "1", "2"],
        &["post", "x", "--json"],
        &["run", "x"],
        &["list", "--bogus"],
        &["list", "--json=yes"],
        &["list", "--count", "1"],
        &["help", "x"],
        &["help", "run", "more"],
        &["recover"],
        &["recover", "a", "b"],
        &["recover", "x", "--try"],
        &["wait", "x", "--robust"],
        &["post", "x", "--robust"],
        &["info", "x", "--robust"],
    ] {
        let err = parse(args(bad))
            .err()
            .unwrap_or_else(|| panic!("{bad:?} parsed"));
        assert_eq!(err.code, EXIT_USAGE, "{bad:?}");
        assert!(!err.message.contains('\n'), "{bad:?}: {}", err.message);
    }
    assert!(parse(args(&["create", "x", "--value", "2147483647"])).is_ok());
}

#[test]
fn seconds_are_read_exactly() {
    let secs = |s: &str| parse_seconds(s, "--timeout", "wait").ok();
    assert_eq!(secs("2"), Some(Duration::from_secs(2)));
    assert_eq!(secs("0"), Some(Duration::ZERO));
    assert_eq!(secs("0.25"), Some(Duration::from_millis(250)));
    assert_eq!(secs(".5"), Some(Duration::from_millis(500)));
    assert_eq!(secs("1."), Some(Duration::from_secs(1)));
    assert_eq!(secs("0.0000000019"), Some(Duration::from_nanos(1)));
    for bad in [
        "",
        ".",
        "-1",
        "1e3",
        "soon",
        "1.2.3",
        " 1",
        "+1",
        "99999999999999999999",
    ] {
        assert_eq!(secs(bad), None, "{bad:?}");
    }
}

#[test]
fn modes_are_octal() {
    assert_eq!(parse_mode("0600").ok(), Some(0o600));
    assert_eq!(parse_mode("644").ok(), Some(0o644));
    assert_eq!(parse_mode("0o1777").ok(), Some(0o1777));
    assert!(parse_mode("").is_err());
    assert!(parse_mode("17777").is_err());
}
