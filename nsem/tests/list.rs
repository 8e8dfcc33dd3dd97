//! `nsem list` with patterns, and semaphores of glibc's other layout (made
//! by a process of the other word size) in the listing, `info` and `wait`.
#![cfg(all(target_os = "linux", target_env = "gnu"))]

mod support;

use named_semaphores::RawSemaphore;
use serde_json::Value;
use support::*;

/// The names in a `list` table, in order.
fn names(table: &str) -> Vec<&str> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

#[test]
fn patterns_select_names() {
    let dir = TestDir::new("patterns");
    let d = dir.0.as_str();
    for name in ["jobs-1", "jobs-2", "jobs-10", "other", "a*b"] {
        ok(&["--dir", d, "create", name]);
    }
    let list = |args: &[&str]| {
        let mut all = vec!["--dir", d, "list"];
        all.extend_from_slice(args);
        ok(&all)
    };
    let every = list(&[]);
    assert_eq!(
        names(&every),
        ["/a*b", "/jobs-1", "/jobs-10", "/jobs-2", "/other"]
    );
    assert_eq!(names(&list(&["*"])), names(&every));
    assert_eq!(
        names(&list(&["jobs-*"])),
        ["/jobs-1", "/jobs-10", "/jobs-2"]
    );
    assert_eq!(names(&list(&["/jobs-?"])), ["/jobs-1", "/jobs-2"]);
    assert_eq!(names(&list(&["jobs-[!1]*"])), ["/jobs-2"]);
    assert_eq!(names(&list(&["other", "jobs-1?"])), ["/jobs-10", "/other"]);
    assert_eq!(names(&list(&["a\\*b"])), ["/a*b"]);
    assert_eq!(names(&list(&["a\\*"])), Vec::<&str>::new());
    // No match: the header alone, and success.
    assert_eq!(list(&["nothing*"]).lines().count(), 1);

    let json: Value = serde_json::from_str(&list(&["--json", "oth*"])).unwrap();
    let entries = json.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{json}");
    assert_eq!(entries[0]["name"], "/other");

    // With --watch: a number right after it is the interval, and the
    // pattern may come before or after.
    for args in [
        &["--watch", "0.1", "--count", "2", "jobs-2"][..],
        &["jobs-2", "--watch", "--count", "2"],
        &["--watch=0.1", "jobs-2", "--count=2"],
    ] {
        let out = list(args);
        let rows: Vec<&str> = out.lines().filter(|l| l.starts_with('/')).collect();
        assert_eq!(rows.len(), 2, "{args:?}: {out}");
        assert!(rows.iter().all(|r| r.starts_with("/jobs-2 ")), "{out}");
        assert!(out.contains("nsem list jobs-2 ("), "{out}");
    }
}

#[test]
fn the_other_layout_is_listed_with_its_value_and_refused_by_name() {
    let dir = TestDir::new("other-layout");
    let d = dir.0.as_str();
    // glibc's image of value 2 with one waiter in the other word size's
    // layout, in this machine's byte order.
    let (image, bits) = if RawSemaphore::SIZE == 32 {
        let mut b = vec![0u8; 16];
        b[0..4].copy_from_slice(&(2u32 << 1 | 1).to_ne_bytes());
        b[4..8].copy_from_slice(&128i32.to_ne_bytes());
        b[12..16].copy_from_slice(&1u32.to_ne_bytes());
        (b, 32)
    } else {
        let mut b = vec![0u8; 32];
        b[0..8].copy_from_slice(&(2u64 | 1 << 32).to_ne_bytes());
        b[8..12].copy_from_slice(&128i32.to_ne_bytes());
        (b, 64)
    };
    let path = format!("{d}/sem.old");
    std::fs::write(&path, &image).unwrap();
    let made_by = format!("made by a {bits}-bit process");

    let table = ok(&["--dir", d, "list"]);
    let row = table.lines().find(|l| l.starts_with("/old ")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!((cells[1], cells[2]), ("2", "1"), "{row}");
    assert!(row.contains(&format!("other-layout ({made_by})")), "{row}");

    let entries = list_json(&["--dir", d, "list", "--json"]);
    let e = find(&entries, "old");
    assert_eq!(
        (&e["status"], &e["value"]),
        (&"other-layout".into(), &2.into())
    );
    assert_eq!(e["waiters"], 1);
    assert_eq!(e["size"], image.len());

    let info = ok(&["--dir", d, "info", "old"]);
    assert!(info.lines().any(|l| l == "value:   2"), "{info}");
    assert!(info.contains(&made_by), "{info}");

    for args in [
        &["wait", "old"][..],
        &["post", "old"],
        &["run", "old", "true"],
    ] {
        let mut all = vec!["--dir", d];
        all.extend_from_slice(args);
        fails(&all, EXIT_ERROR, "/old", &made_by);
    }
    assert_eq!(std::fs::read(&path).unwrap(), image, "read, never changed");
}
