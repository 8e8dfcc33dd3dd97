//! Mapping an existing semaphore file that this process does not have open
//! yet, from the descriptor `sem_open`'s lookup already holds, so that a
//! first open costs what glibc's does (`open`, `fstat`, `mmap`, `close`, and
//! here one `pread`) instead of opening the file a second time through the
//! crate.
//!
//! The checks are the ones the crate makes when it opens a semaphore: a
//! regular file of exactly `sizeof(sem_t)` bytes (or a robust semaphore's
//! `ROBUST_FILE_LEN`, of which only the `sem_t` is mapped) whose `private`
//! field holds
//! glibc's 128, refused with `EINVAL` otherwise, before anything could map
//! a file whose first use would raise `SIGBUS`. Unmapping is `named.rs`'s
//! `unmap`, as for a mapping taken from the crate.

use core::ptr;

use named_semaphores::{Layout, RawSemaphore, ROBUST_FILE_LEN};
use rustix::fd::OwnedFd;
use rustix::fs::{FileType, Stat};
use rustix::io::{self as rio, Errno};
use rustix::mm::{self, MapFlags, ProtFlags};

use crate::sem_t;

/// Byte offset of glibc's `private` field in `sem_t`: after the 64-bit
/// value word (wide layout), or after the 32-bit value (narrow layout).
const PRIVATE_OFFSET: u64 = match RawSemaphore::LAYOUT {
    Layout::Wide => 8,
    Layout::Narrow => 4,
};

/// The `private` value of every process-shared semaphore (glibc's
/// `FUTEX_SHARED`).
const SHARED: i32 = 128;

/// Checks that the file open at `fd` (whose `fstat` is `st`) is a
/// semaphore, and maps it shared, read-write.
///
/// # Errors
///
/// `EINVAL` for a file that is not a semaphore; what `pread` or `mmap`
/// report (`ENOMEM`, ...).
pub(crate) fn map(fd: &OwnedFd, st: &Stat) -> Result<*mut sem_t, Errno> {
    // A FIFO or a device: glibc's mmap of it fails with ENODEV.
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Errno::NODEV);
    }
    // A robust semaphore's file is longer (its record follows the sem_t);
    // `sem_open` shares it as glibc does, mapping the sem_t only.
    if st.st_size != RawSemaphore::SIZE as i64 && st.st_size != ROBUST_FILE_LEN as i64 {
        return Err(Errno::INVAL);
    }
    let mut private = [0u8; 4];
    let read = rio::pread(fd, &mut private, PRIVATE_OFFSET)?;
    if read != private.len() || i32::from_ne_bytes(private) != SHARED {
        return Err(Errno::INVAL);
    }
    // SAFETY: a fresh mapping at an address the kernel picks (null hint)
    // overlaps nothing. The file is at least SIZE bytes, so every byte of
    // the mapping is backed while the file keeps its size, as with the
    // crate's own mappings.
    let sem = unsafe {
        mm::mmap(
            ptr::null_mut(),
            RawSemaphore::SIZE,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::SHARED,
            fd,
            0,
        )?
    };
    Ok(sem.cast())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_is_where_the_crate_writes_it() {
        let image = RawSemaphore::new(5).unwrap().to_bytes();
        let at = PRIVATE_OFFSET as usize;
        let private = i32::from_ne_bytes(image[at..at + 4].try_into().unwrap());
        assert_eq!(private, SHARED);
    }

    /// A robust semaphore's file (its record after the sem_t) is mapped as
    /// glibc maps it: the sem_t, shared with the crate's handle.
    #[cfg(target_has_atomic = "64")]
    #[test]
    fn a_robust_semaphore_maps_too() {
        use named_semaphores::{Existence, NamedSemaphore};
        use rustix::fs::{self, Mode, OFlags};

        let name = std::format!("nsem-capi-unit-{}-robust", std::process::id());
        let sem = NamedSemaphore::options()
            .robust(true)
            .initial_value(2)
            .existence(Existence::CreateNew)
            .open(&name)
            .unwrap();
        let path = std::format!("/dev/shm/sem.{name}");
        let fd = fs::open(path.as_str(), OFlags::RDWR | OFlags::CLOEXEC, Mode::empty()).unwrap();
        let st = fs::fstat(&fd).unwrap();
        assert_eq!(st.st_size, ROBUST_FILE_LEN as i64);
        let mapped = map(&fd, &st).unwrap();
        // SAFETY: a live mapping of the sem_t, unmapped below.
        let raw = unsafe { RawSemaphore::from_ptr(mapped.cast()) }.unwrap();
        raw.try_acquire().unwrap().expect("a token").forget();
        assert_eq!(sem.value(), 1);
        // SAFETY: `raw` is not used after this.
        unsafe { rustix::mm::munmap(mapped.cast(), RawSemaphore::SIZE) }.unwrap();
    }
}
