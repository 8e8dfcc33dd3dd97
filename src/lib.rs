//! POSIX named semaphores for Linux, without libc, byte-compatible with
//! glibc's `sem_open`.
//!
//! A [`NamedSemaphore`] is the file `/dev/shm/sem.NAME` holding glibc's
//! `sem_t` image, mapped into every process that opens it. A C, Python or any
//! other glibc program calling `sem_open("/NAME", ...)` gets the same
//! semaphore: both sides block on it and wake each other. The crate makes
//! its system calls directly through [`rustix`]'s `linux_raw` backend, so it
//! works where libc has no such semaphores (musl's are a different format,
//! Android's bionic has none) and in programs with no libc at all.
//!
//! ```
//! use named_semaphores::{Existence, NamedSemaphore};
//! # let name = format!("doc-crate-{}", std::process::id());
//!
//! // At most 3 holders at a time, across every process using this name.
//! let sem = NamedSemaphore::open_or_create(&name, 3)?;
//! {
//!     let _permit = sem.acquire()?;  // blocks while 3 others hold one
//!     // ... work ...
//! }                                  // released here
//! # named_semaphores::unlink(&name)?;
//! # Ok::<(), named_semaphores::Error>(())
//! ```
//!
//! # Who owns the name
//!
//! A handle that created the semaphore on purpose
//! ([`NamedSemaphore::create`], [`Existence::CreateNew`],
//! [`Existence::UnlinkAndCreate`]) owns the name and unlinks it when
//! dropped. Every other handle leaves the name in place, including one that
//! created the semaphore through [`NamedSemaphore::open_or_create`]: which
//! process creates there is an accident of timing, and a creator that
//! removed the name on exit would let the next process create a second
//! semaphore beside the one the others still use. Either default can be
//! changed with [`OpenOptions::unlink_on_drop`].
//!
//! A drop removes only its own semaphore's name, never one that another
//! process published at the same name since (with
//! [`Existence::UnlinkAndCreate`], or glibc's `sem_unlink` and `sem_open`).
//! Linux has no "unlink if this file" call, so every removal or replacement
//! of a name (a drop, [`unlink`], [`NamedSemaphore::unlink`],
//! [`Existence::UnlinkAndCreate`], the C library's `sem_unlink`) first takes
//! an exclusive `flock` on the file at the name, checks under it that the
//! name still refers to that file, and only then unlinks it or renames over
//! it. Among processes using this crate or its C library that is exact: a
//! drop never removes a newer semaphore's name, and a name is never missing
//! except by an unlink. glibc takes no lock: a glibc process that replaces
//! the name in the microseconds between a drop's check and its unlink has
//! its new semaphore's name removed, as by a `sem_unlink` right after its
//! creation. A lock held by someone else (for ever, perhaps) delays a
//! removal by 100 ms at most, after which it is done the plain way, as
//! glibc does it. `sem_wait` and `sem_post` never take the lock.
//!
//! A token held by a process that dies is lost, also with
//! `open_or_create`, where nobody unlinks the name: remove it
//! ([`unlink`], or `nsem unlink NAME`) to start again from the initial
//! value, or open the semaphore in [robust mode](#robust-mode).
//!
//! # Robust mode
//!
//! A handle opened with [`OpenOptions::robust`] records the tokens it holds
//! in the semaphore file, after glibc's `sem_t`, and holds a lock that the
//! kernel drops when its process dies: a dead holder's tokens then come
//! back, exactly once, when any robust handle of the semaphore would block
//! (before it sleeps, and once per check period while it waits) or when
//! anyone calls [`NamedSemaphore::recover`]. glibc programs share the
//! semaphore unchanged (their own tokens are not recorded).
//!
//! ```
//! use named_semaphores::{Existence, NamedSemaphore};
//! # let name = format!("doc-crate-robust-{}", std::process::id());
//! # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
//!
//! let sem = NamedSemaphore::options()
//!     .robust(true)
//!     .initial_value(3)
//!     .existence(Existence::OpenOrCreate)
//!     .open(&name)?;
//! let _permit = sem.acquire()?; // comes back if this process is killed now
//! let holders = sem.holders()?;
//! assert_eq!(holders.limit(), 3);
//! # drop(_permit);
//! # named_semaphores::unlink(&name)?;
//! # Ok::<(), named_semaphores::Error>(())
//! ```
//!
//! What it promises, fork, `exec`, `SIGSTOP` and PID namespaces, and how it
//! compares with System V's `SEM_UNDO` and robust mutexes: `docs/robust.md`
//! in the repository; the record and its protocol: `docs/design.md`.
//!
//! # Features
//!
//! The crate is `#![no_std]`, and its core never allocates. Optional
//! features add conveniences:
//! - `alloc`: `list_all`, `list_all_in`, `OwnedEntry`,
//!   `Entry::into_owned`, and `OwnedPermit` through
//!   `NamedSemaphore::acquire_owned` (a permit that can move into a spawned
//!   thread).
//! - `std` (implies `alloc`): `From<Error> for std::io::Error`, so `?`
//!   works in functions returning `std::io::Result`.
//!
//! The `nsem` command-line tool and the C library (`libnamedsem`, glibc's
//! `sem_*` for C programs) are separate packages in the same repository.
//!
//! # Limits shared by every named semaphore
//!
//! - A token held by a process that dies is lost: nothing returns it,
//!   except in [robust mode](#robust-mode).
//! - A waiter killed while blocked leaves the waiter count one too high;
//!   that costs later releases a spare wake-up, nothing more.
//! - If another process truncates the file after it was opened, any access
//!   raises `SIGBUS` in every implementation; the crate refuses files of the
//!   wrong size at open, but cannot defend a mapping made earlier.
//! - 32-bit and 64-bit processes cannot share one semaphore: glibc's two
//!   layouts differ ([`RawSemaphore::LAYOUT`]).
#![no_std]
#![deny(missing_docs, unsafe_code, unsafe_op_in_unsafe_fn)]
#![warn(missing_debug_implementations, clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The crate speaks Linux's futex and `/dev/shm` protocol through rustix's
// `linux_raw` backend: say so plainly rather than fail deep in rustix.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
compile_error!(
    "named-semaphores supports only Linux and Android targets: it implements glibc's \
     sem_open protocol on Linux futexes and /dev/shm"
);

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[doc(hidden)]
pub mod c_library;
mod error;
mod file;
mod file_id;
mod futex;
mod list;
#[cfg(all(test, loom))]
mod model;
#[cfg(doctest)]
mod must_use;
mod name;
mod named;
mod options;
#[cfg(feature = "alloc")]
mod owned;
mod raw;
mod robust;
#[cfg(all(test, loom))]
mod robust_model;
mod sync;
#[cfg(test)]
mod test_dir;
mod users;

pub use error::{Error, ErrorKind, Operation};
pub use file_id::FileId;
pub use list::{
    inspect, inspect_in, list, list_in, Entry, FileKind, Listing, SemaphoreInfo, Status,
    LIST_BUFFER_LEN,
};
#[cfg(feature = "alloc")]
pub use list::{list_all, list_all_in, OwnedEntry};
pub use name::{DEFAULT_DIRECTORY, DIRECTORY_MAX, NAME_MAX};
pub use named::{unlink, unlink_in, NamedSemaphore};
pub use options::{Existence, OpenOptions};
#[cfg(feature = "alloc")]
pub use owned::OwnedPermit;
pub use raw::{Clock, Layout, Permit, RawSemaphore};
pub use robust::{
    holders, holders_in, Holder, HolderFlags, Holders, Liveness, RecordFlags, Recovery,
    ROBUST_FILE_LEN,
};
pub use users::{
    processes_using, processes_using_in, ProcessUse, UseSummary, BLOCKED_SHOWN,
    PROCESSES_BUFFER_LEN,
};

/// The largest value a semaphore can hold: `SEM_VALUE_MAX`, 2³¹ − 1, as in
/// glibc on every target.
pub const VALUE_MAX: u32 = 0x7fff_ffff;

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The robust mode guide's examples, compiled as doctests.
#[cfg(all(doctest, target_has_atomic = "64"))]
#[doc = include_str!("../docs/robust.md")]
struct RobustGuideDoctests;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn handles_are_send_and_sync() {
        assert_send_sync::<NamedSemaphore>();
        assert_send_sync::<RawSemaphore>();
        assert_send_sync::<Error>();
    }
}
