//! The kill storm's shared state (a file every participant maps: who holds
//! how many tokens, counted soundly while processes die, and what was seen)
//! and the small tools its participants share: a random number generator
//! that does not allocate, and a spin loop.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::SeqCst};

/// The storm's shared words, in a file of their own mapped by every
/// participant.
#[repr(C)]
pub struct Shared {
    /// 2 bits per participant: the tokens it holds.
    pub held: AtomicU64,
    /// Set when the storm is over.
    pub stop: AtomicU32,
    /// Times a participant saw more than K tokens held.
    pub violations: AtomicU32,
    /// The most tokens seen held at once.
    pub most: AtomicU32,
    _pad: AtomicU32,
    /// Tokens taken, in all.
    pub entries: AtomicU64,
    /// Tokens taken by each kind of participant ([`Kind`]).
    pub kind_entries: [AtomicU64; 3],
}

/// The kinds of participants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A robust holder of this crate (a forked child).
    Crate = 0,
    /// A robust holder in C, through the C library (`storm_holder.c`).
    C = 1,
    /// A glibc peer, not robust, never killed.
    Glibc = 2,
}

impl Shared {
    /// Maps the state file at `path` (created by the test) for the life of
    /// the process.
    pub fn map(path: &str) -> &'static Shared {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .expect("open state file");
        use std::os::unix::io::AsRawFd;
        // SAFETY: a new shared mapping of a file of at least one page.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        assert_ne!(p, libc::MAP_FAILED, "mmap state");
        // SAFETY: page-aligned, zero-initialised atomics, mapped for the
        // rest of the process; only accessed atomically.
        unsafe { &*p.cast::<Shared>() }
    }

    fn total(word: u64) -> u32 {
        (0..32).map(|i| ((word >> (2 * i)) & 3) as u32).sum()
    }

    /// Counts one more token held by participant `i`, of kind `kind`.
    pub fn enter(&self, i: u32, limit: u32, kind: Kind) {
        let now = self.held.fetch_add(1 << (2 * i), SeqCst) + (1 << (2 * i));
        let total = Self::total(now);
        self.most.fetch_max(total, SeqCst);
        if total > limit {
            self.violations.fetch_add(1, SeqCst);
        }
        self.entries.fetch_add(1, SeqCst);
        self.kind_entries[kind as usize].fetch_add(1, SeqCst);
    }

    /// Counts one token fewer held by participant `i`.
    pub fn leave(&self, i: u32) {
        self.held.fetch_sub(1 << (2 * i), SeqCst);
    }

    /// Takes participant `i` (stopped) out of the count: the tokens it
    /// was counted with.
    pub fn forget(&self, i: u32) -> u64 {
        let mine = (self.held.load(SeqCst) >> (2 * i)) & 3;
        self.held.fetch_sub(mine << (2 * i), SeqCst);
        mine
    }
}

/// A small random number generator (no allocation: it runs in forked
/// children).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

pub fn spin(iterations: u64) {
    for _ in 0..iterations {
        std::hint::spin_loop();
    }
}
