//! Unit tests of the sweep and of the ways a beacon is made.

use std::format;
use std::string::String;
use std::vec::Vec;

use super::*;
use crate::named::NamedSemaphore;
use crate::options::Existence;
use crate::robust::beacon::{self as b, Access, Beacon};
use crate::test_dir::TestDir;

const ACCESS: Access = Access {
    mode: 0o600,
    gid: 0,
};

fn robust(dir: &TestDir, name: &str) -> NamedSemaphore {
    NamedSemaphore::options()
        .directory(&dir.0)
        .robust(true)
        .initial_value(1)
        .existence(Existence::CreateNew)
        .open(name)
        .unwrap()
}

fn beacon_files(dir: &TestDir) -> Vec<String> {
    dir.files()
        .into_iter()
        .filter(|f| f.starts_with("nsem-holder."))
        .collect()
}

#[test]
fn beacon_names_parse_back() {
    let dir = Directory::parse("/d").unwrap();
    for id in [1u64, 0xdead_beef, u64::MAX] {
        let path = CPath::beacon(&dir, id);
        let name = &path.as_c_str().to_bytes()[3..];
        assert_eq!(beacon_id(name), Some(id));
    }
    for bad in [
        &b"nsem-holder.0000000000000000"[..],
        b"nsem-holder.000000000000000g",
        b"nsem-holder.00000000000000001",
        b"nsem-holder.ABCDEF0123456789",
        b"sem.nsem-holder.0000000000000001",
        b"nsem-holder.",
    ] {
        assert_eq!(beacon_id(bad), None, "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn one_sweep_per_period() {
    let sem = robust(&TestDir::new("sweep-due"), "s");
    let (record, _, _) = sem.sweep_parts().unwrap();
    let h = &record.header;
    // Two at the same moment: one at most is due.
    assert!(!h.sweep_due(1_000, 1_000_000_000) || !h.sweep_due(1_000, 1_000_000_000));
    assert!(h.sweep_due(5_000, 10));
    assert!(!h.sweep_due(5_000, 10));
    assert!(!h.sweep_due(5_009, 10));
    assert!(h.sweep_due(5_010, 10));
    // A clock behind the record's (another time namespace): due.
    assert!(h.sweep_due(3, 10));
}

#[test]
fn a_beacon_made_without_a_name_is_tagged_and_locked_before_it_has_one() {
    let dir = TestDir::new("sweep-unnamed");
    let sem = robust(&dir, "s");
    let (_, d, owner) = sem.sweep_parts().unwrap();
    if !std::path::Path::new("/proc/self/fd").exists() {
        // Without /proc, O_TMPFILE may not be linkable here: the named way
        // is then the one used, and is tested below.
        return;
    }
    let beacon = Beacon::create_unnamed(d, ACCESS, owner).expect("O_TMPFILE on tmpfs");
    let path = format!("{}/nsem-holder.{:016x}", dir.0, beacon.id());
    assert_eq!(std::fs::read(&path).unwrap(), b::tag(owner));
    assert!(matches!(b::probe(d, beacon.id(), true), b::Probe::Alive));
    assert!(beacon.named_here(d));
    // Through /proc too (the way without a capability).
    let flags = rustix::fs::OFlags::TMPFILE | rustix::fs::OFlags::RDWR;
    let fd = rustix::fs::open(
        dir.0.as_str(),
        flags,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    b::link_through_proc(&fd, &CPath::beacon(d, 7)).unwrap();
    assert!(beacon_files(&dir).contains(&String::from("nsem-holder.0000000000000007")));
    let digits = b::proc_fd_path(&fd);
    let text = core::ffi::CStr::from_bytes_until_nul(&digits).unwrap();
    use rustix::fd::AsRawFd;
    assert_eq!(
        text.to_str().unwrap(),
        format!("/proc/self/fd/{}", fd.as_raw_fd())
    );
    beacon.discard(d);
    assert!(!std::path::Path::new(&path).exists());
}

/// Openers in the named way (where O_TMPFILE cannot be used) race sweeps:
/// a beacon that was still named after its holder claimed a slot is never
/// removed while it lives; one removed before (while it was empty and
/// unlocked) is seen by its holder, which starts again.
#[test]
fn named_openers_racing_sweeps_keep_every_claimed_beacon() {
    let dir = TestDir::new("sweep-named-race");
    let sem = robust(&dir, "s");
    let (record, d, owner) = sem.sweep_parts().unwrap();
    let swept = core::sync::atomic::AtomicU32::new(0);
    let done = core::sync::atomic::AtomicBool::new(false);
    let started_again = std::thread::scope(|s| {
        let sweepers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    while !done.load(Relaxed) {
                        swept.fetch_add(sweep(record, d, owner), Relaxed);
                    }
                })
            })
            .collect();
        let openers: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let mut again = 0u32;
                    for _ in 0..300 {
                        let beacon = Beacon::create_named(d, ACCESS, owner).unwrap();
                        let slot = (0..record.slots.len())
                            .find(|&i| record.slots[i].claim(beacon.id(), 1, 0))
                            .expect("a free slot");
                        if beacon.named_here(d) {
                            // Claimed and named: no sweep may take it now.
                            std::thread::yield_now();
                            assert!(beacon.named_here(d), "a claimed beacon was swept");
                            assert!(matches!(b::probe(d, beacon.id(), true), b::Probe::Alive));
                        } else {
                            again += 1;
                        }
                        record.slots[slot].release_claim(beacon.id());
                        beacon.discard(d);
                    }
                    again
                })
            })
            .collect();
        let again: u32 = openers.into_iter().map(|t| t.join().unwrap()).sum();
        done.store(true, Relaxed);
        for t in sweepers {
            t.join().unwrap();
        }
        again
    });
    assert_eq!(beacon_files(&dir).len(), 1, "only the handle's own");
    std::eprintln!(
        "named openers: {started_again} started again after a sweep took their empty beacon; \
         sweeps removed {}",
        swept.load(Relaxed)
    );
}
