//! Case 8: what programs use today for a lock whose token the kernel gives
//! back when its holder dies ([`crate::peers`]: System V `semop` with
//! `SEM_UNDO`, `flock` and `lockf` on a file in `/dev/shm`), beside this
//! crate's robust mode, which gives the same guarantee, and its plain
//! acquire + release, which does not. A table of its
//! own: each row's [`Peer`] against the reference, this crate's plain pair on
//! a semaphore of its own, measured in the same runs:
//!
//! - an uncontended acquire + release, ns per pair (pairs for a fixed time,
//!   since the rows range from nanoseconds to a microsecond);
//! - a waiter in another process blocked 500 ms while this one holds: the
//!   wake-ups its wait cost, that is the times it went to sleep during its
//!   acquire less the one sleep its token ends (at most 3 runs: a count).

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::names::{crate_sem, robust_sem};
use crate::peers::{LockFile, SysV};
use crate::procs::{in_children, reap, sleeps, wait_asleep, SharedCounter};
use crate::report::{Report, Unit};
use crate::runner::{compare, compare_both, nanos_per};
use crate::sem::Sem;

/// Runs case 8 on semaphores (one robust), a System V set and files of its
/// own: two rows per peer.
pub fn run(cfg: &Config, r: &mut Report) {
    let (plain, own) = (crate_sem("plain", 1), crate_sem("reference", 1));
    let robust = robust_sem("robust", 1);
    let sysv = SysV::private();
    let (flock, lockf) = (LockFile::create("flock"), LockFile::create("lockf"));
    let flock_waiter = flock.open_again();
    let reference = Peer::sem("reference", &own);
    let peers = [
        Peer::sem("this crate, plain", &plain),
        // A recorded token, taken in one call and given back in another as
        // C's sem_wait and sem_post do: the permit is forgotten (its token
        // stays recorded) and release_held gives the recorded token back.
        // The waiter, in a forked child, shares this handle's holder.
        Peer::new(
            "this crate, robust",
            || std::mem::forget(robust.acquire().expect("acquire")),
            || {
                robust.release_held().expect("release_held");
            },
        ),
        Peer::new(
            "System V semop, SEM_UNDO",
            || sysv.acquire(),
            || sysv.release(),
        ),
        Peer::new(
            "flock",
            || flock.flock(libc::LOCK_EX),
            || flock.flock(libc::LOCK_UN),
        )
        .waiting_with(
            || flock_waiter.flock(libc::LOCK_EX),
            || flock_waiter.flock(libc::LOCK_UN),
        ),
        Peer::new(
            "lockf (fcntl record lock)",
            || lockf.lockf(libc::F_LOCK),
            || lockf.lockf(libc::F_ULOCK),
        ),
    ];
    r.table("peer", "plain");
    for peer in &peers {
        pairs_row(cfg, r, peer, &reference);
    }
    for peer in &peers {
        blocked_row(cfg, r, peer, &reference);
    }
}

/// An acquire and a release.
type Ops<'a> = (Box<dyn Fn() + 'a>, Box<dyn Fn() + 'a>);

/// One row of case 8: a name, the pair that is timed (and that holds while a
/// waiter blocks), and the pair of that waiter, which runs in another
/// process.
struct Peer<'a> {
    name: &'static str,
    ops: Ops<'a>,
    waiter: Option<Ops<'a>>,
}

impl<'a> Peer<'a> {
    /// A peer whose waiter uses the same pair.
    fn new(name: &'static str, acquire: impl Fn() + 'a, release: impl Fn() + 'a) -> Peer<'a> {
        Peer {
            name,
            ops: (Box::new(acquire), Box::new(release)),
            waiter: None,
        }
    }

    /// A peer of this crate's: `sem`'s acquire and release.
    fn sem(name: &'static str, sem: &'a dyn Sem) -> Peer<'a> {
        Peer::new(name, || sem.acquire(), || sem.release())
    }

    /// The same peer with a pair of the waiter's own.
    fn waiting_with(self, acquire: impl Fn() + 'a, release: impl Fn() + 'a) -> Peer<'a> {
        Peer {
            waiter: Some((Box::new(acquire), Box::new(release))),
            ..self
        }
    }

    fn waiter(&self) -> &Ops<'a> {
        self.waiter.as_ref().unwrap_or(&self.ops)
    }
}

/// The row of `peer`'s uncontended pairs against `reference`'s.
fn pairs_row(cfg: &Config, r: &mut Report, peer: &Peer, reference: &Peer) {
    let budget = Duration::from_millis(if cfg.quick { 1 } else { 100 });
    compare(
        cfg,
        r,
        &format!("8 acquire + release, with death recovery: {}", peer.name),
        Unit::Nanos,
        || pairs(&peer.ops, budget),
        || pairs(&reference.ops, budget),
    );
}

/// Acquire + release, one after the other, for at least `budget`: ns per
/// pair.
fn pairs((acquire, release): &Ops, budget: Duration) -> f64 {
    let start = Instant::now();
    let mut done = 0;
    loop {
        for _ in 0..256 {
            black_box(acquire)();
            black_box(release)();
        }
        done += 256;
        let elapsed = start.elapsed();
        if elapsed >= budget {
            return nanos_per(done, elapsed);
        }
    }
}

/// The row of the wake-ups of `peer`'s blocked waiter against those of
/// `reference`'s, both blocked at the same time.
fn blocked_row(cfg: &Config, r: &mut Report, peer: &Peer, reference: &Peer) {
    let window = Duration::from_millis(if cfg.quick { 10 } else { 500 });
    compare_both(
        &cfg.with_runs_at_most(3),
        r,
        &format!(
            "8 waiter blocked {} ms, with death recovery: {}",
            window.as_millis(),
            peer.name
        ),
        Unit::Wakes,
        || {
            let [p, q] = wakes_while_blocked([peer, reference], window);
            (p, q)
        },
    );
}

/// Holds each peer's lock, starts a waiter on each in a forked child, and
/// lets go `window` after both sleep: each waiter's sleeps during its
/// acquire, less the one that its token ends.
fn wakes_while_blocked(peers: [&Peer; 2], window: Duration) -> [f64; 2] {
    let counts = [SharedCounter::new(), SharedCounter::new()];
    for peer in peers {
        (peer.ops.0)();
    }
    let pids = in_children(2, |i| {
        let (acquire, release) = peers[i].waiter();
        let before = sleeps();
        acquire();
        counts[i].set(sleeps() - before);
        release();
    });
    for &pid in &pids {
        wait_asleep(pid);
    }
    std::thread::sleep(window);
    for peer in peers {
        (peer.ops.1)();
    }
    reap(pids);
    counts.map(|count| {
        let slept = count.get();
        assert!(slept >= 1, "a waiter never slept");
        (slept - 1) as f64
    })
}
