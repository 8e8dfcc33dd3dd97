//! The text of `/proc` files, read without allocating: `maps` and
//! `syscall` lines, and the target facts needed to read them (the `futex`
//! system call numbers, the futex word's place in `sem_t`).

use rustix::fd::OwnedFd;
use rustix::io::{self as rio, Errno};

use crate::file_id::FileId;

/// The most mappings of the semaphore per process that are checked for
/// blocked threads; more are counted.
pub(super) const MAPPINGS_CHECKED: usize = 8;

/// The longest start of a `maps` line before its path: the address range
/// (2 x 16 hex digits and a dash), permissions (4), offset (up to 16 hex
/// digits), device (`major:minor`, up to 3 + 5 hex digits), inode (up to 20
/// digits), and the spaces between them and after (the kernel pads to
/// column 73 on 64-bit targets): under 100 bytes, and the buffer that
/// [`scan_maps`] reads through is never shorter than 1,024.
const MAPS_FIELDS_MAX: usize = 100;

/// The byte offset of the futex word in glibc's `sem_t`: the value, which
/// is the low half of the 64-bit `data` field in the wide layout (offset 4
/// on big-endian targets) and the first word in the narrow one.
const FUTEX_OFFSET: u64 = if cfg!(all(target_pointer_width = "64", target_endian = "big")) {
    4
} else {
    0
};

/// The `futex` system call numbers of this target (`futex_time64` too on
/// 32-bit targets). Empty where unknown: no thread is then seen as blocked.
const FUTEX_CALLS: &[u64] = if cfg!(all(target_arch = "x86_64", target_pointer_width = "32")) {
    // x32: the x86_64 number with __X32_SYSCALL_BIT.
    &[0x4000_0000 + 202]
} else if cfg!(target_arch = "x86_64") {
    &[202]
} else if cfg!(any(
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "loongarch64"
)) {
    &[98]
} else if cfg!(any(target_arch = "x86", target_arch = "arm")) {
    &[240, 422]
} else if cfg!(target_arch = "riscv32") {
    &[422]
} else if cfg!(target_arch = "powerpc64") {
    &[221]
} else if cfg!(target_arch = "powerpc") {
    &[221, 422]
} else if cfg!(target_arch = "s390x") {
    &[238]
} else {
    &[]
};

/// Reads `fd` until `buf` is full or the end; the number of bytes read.
pub(super) fn read_all(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut n = 0;
    while n < buf.len() {
        match rio::read(fd, &mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(Errno::INTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Streams `maps` through `buf`, counting the mappings of `file` and
/// keeping the futex addresses of the first ones in `addresses`. A line
/// longer than `buf` (a path of up to 4,096 bytes, with each newline in it
/// shown as the four bytes `\012`) is matched on its start, which holds
/// every field that identifies the file (at most [`MAPS_FIELDS_MAX`]
/// bytes), and the rest of it is skipped.
pub(super) fn scan_maps(
    maps: &OwnedFd,
    buf: &mut [u8],
    file: &FileId,
    addresses: &mut [u64; MAPPINGS_CHECKED],
) -> Result<u32, Errno> {
    debug_assert!(buf.len() >= MAPS_FIELDS_MAX);
    let (mut len, mut skipping, mut count) = (0usize, false, 0u32);
    loop {
        let n = loop {
            match rio::read(maps, &mut buf[len..]) {
                Err(Errno::INTR) => {}
                other => break other?,
            }
        };
        len += n;
        let mut start = 0;
        while let Some(end) = buf[start..len].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + end];
            start += end + 1;
            if core::mem::take(&mut skipping) {
                continue;
            }
            if let Some(address) = futex_address(line, file) {
                if let Some(slot) = addresses.get_mut(count as usize) {
                    *slot = address;
                }
                count += 1;
            }
        }
        buf.copy_within(start..len, 0);
        len -= start;
        if n == 0 {
            return Ok(count);
        }
        if len == buf.len() {
            // A line longer than the buffer: match it on its fields, which
            // come first, then drop it up to its newline.
            if !skipping {
                if let Some(address) = futex_address(&buf[..len], file) {
                    if let Some(slot) = addresses.get_mut(count as usize) {
                        *slot = address;
                    }
                    count += 1;
                }
            }
            len = 0;
            skipping = true;
        }
    }
}

/// For a `maps` line mapping `file` at an offset that covers the futex
/// word, the word's address.
fn futex_address(line: &[u8], file: &FileId) -> Option<u64> {
    let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let range = fields.next()?;
    let _perms = fields.next()?;
    let offset = hex(fields.next()?)?;
    let dev = fields.next()?;
    let inode = decimal(fields.next()?)?;
    let colon = dev.iter().position(|&b| b == b':')?;
    let major = u32::try_from(hex(&dev[..colon])?).ok()?;
    let minor = u32::try_from(hex(&dev[colon + 1..])?).ok()?;
    #[allow(clippy::useless_conversion)] // Dev is not u64 on every target
    let line_id = FileId::new(u64::from(rustix::fs::makedev(major, minor)), inode);
    if line_id != *file || offset > FUTEX_OFFSET {
        return None;
    }
    let dash = range.iter().position(|&b| b == b'-')?;
    Some(hex(&range[..dash])? + (FUTEX_OFFSET - offset))
}

/// Whether a `syscall` line (`NR ARG1 ARG2 ...`, `running`, or `-1 ...`)
/// is a futex wait on one of `addresses`.
pub(super) fn waits_on(line: &[u8], addresses: &[u64]) -> bool {
    let mut fields = line.split(|&b| b == b' ' || b == b'\n');
    let (Some(nr), Some(uaddr), Some(op)) = (fields.next(), fields.next(), fields.next()) else {
        return false;
    };
    let (Some(nr), Some(uaddr), Some(op)) = (decimal(nr), hex(uaddr), hex(op)) else {
        return false;
    };
    // FUTEX_WAIT (0) or FUTEX_WAIT_BITSET (9), with or without the private
    // and clock flags.
    let wait = matches!(op & 0x7f, 0 | 9);
    FUTEX_CALLS.contains(&nr) && wait && addresses.contains(&uaddr)
}

pub(super) fn number(s: &[u8]) -> Option<u32> {
    u32::try_from(decimal(s)?).ok()
}

fn decimal(s: &[u8]) -> Option<u64> {
    parse(s, 10)
}

fn hex(s: &[u8]) -> Option<u64> {
    parse(s.strip_prefix(b"0x").unwrap_or(s), 16)
}

fn parse(s: &[u8], radix: u32) -> Option<u64> {
    u64::from_str_radix(core::str::from_utf8(s).ok()?, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::useless_conversion)] // Dev is not u64 on every target
    fn file() -> FileId {
        FileId::new(u64::from(rustix::fs::makedev(0, 0x1a)), 4242)
    }

    #[test]
    fn maps_lines_are_matched_by_device_and_inode() {
        let ours = b"7f2c8a9e3000-7f2c8a9e4000 rw-s 00000000 00:1a 4242       /dev/shm/sem.x";
        assert_eq!(
            futex_address(ours, &file()),
            Some(0x7f2c_8a9e_3000 + FUTEX_OFFSET)
        );
        let deleted =
            b"7f2c8a9e3000-7f2c8a9e4000 rw-s 00000000 00:1a 4242 /dev/shm/sem.x (deleted)";
        assert!(futex_address(deleted, &file()).is_some());
        for other in [
            &b"7f2c8a9e3000-7f2c8a9e4000 rw-s 00000000 00:1a 4243       /dev/shm/sem.x"[..],
            b"7f2c8a9e3000-7f2c8a9e4000 rw-s 00000000 00:1b 4242       /dev/shm/sem.x",
            b"7f2c8a9e3000-7f2c8a9e4000 rw-s 00001000 00:1a 4242       /dev/shm/sem.x",
            b"7ffd1000-7ffd2000 r-xp 00000000 00:00 0                  [vdso]",
            b"",
            b"garbage",
        ] {
            assert_eq!(futex_address(other, &file()), None, "{other:?}");
        }
    }

    /// A `maps` line longer than the buffer is matched on its start: a path
    /// of 251 newlines, each shown as `\012`, through a buffer of 1,024
    /// bytes (the shortest `processes_using` reads `maps` through), one of
    /// 128, and one of [`MAPS_FIELDS_MAX`] with the widest fields there can
    /// be; the lines after it are still read.
    #[test]
    fn a_line_longer_than_the_buffer_is_matched_on_its_start() {
        use crate::test_dir::TestDir;
        use rustix::fs::{Mode, OFlags};
        let dir = TestDir::new("long-maps");
        let ours = "7f2c8a9e3000-7f2c8a9e4000 rw-s 00000000 00:1a 4242       /dev/shm/sem.";
        let long = std::format!("{ours}{}\n", "\\012".repeat(251));
        assert!(long.len() > 1024, "{}", long.len());
        // The widest fields there can be, for a file on device fff:fffff.
        let widest = "ffffffffffff0000-ffffffffffff1000 rw-s 0000000000000000 fff:fffff \
                      18446744073709551615 ";
        assert!(widest.len() < MAPS_FIELDS_MAX);
        #[allow(clippy::useless_conversion)] // Dev is not u64 on every target
        let far = FileId::new(u64::from(rustix::fs::makedev(0xfff, 0xfffff)), u64::MAX);
        let widest = std::format!("{widest}/dev/shm/sem.{}\n", "\\012".repeat(251));
        let text = std::format!(
            "{long}7ffd1000-7ffd2000 r-xp 00000000 00:00 0   [vdso]\n{long}{widest}{ours}x\n"
        );
        let path = std::format!("{}/maps", dir.0);
        std::fs::write(&path, &text).unwrap();
        for len in [1024, 128, MAPS_FIELDS_MAX] {
            let scan = |file: &FileId| {
                let fd = rustix::fs::open(path.as_str(), OFlags::RDONLY, Mode::empty()).unwrap();
                let mut buf = std::vec![0u8; len];
                let mut addresses = [0u64; MAPPINGS_CHECKED];
                (scan_maps(&fd, &mut buf, file, &mut addresses), addresses[0])
            };
            assert_eq!(
                scan(&file()),
                (Ok(3), 0x7f2c_8a9e_3000 + FUTEX_OFFSET),
                "{len}"
            );
            assert_eq!(
                scan(&far),
                (Ok(1), 0xffff_ffff_ffff_0000 + FUTEX_OFFSET),
                "{len}"
            );
        }
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn syscall_lines_show_futex_waits() {
        let nr = FUTEX_CALLS[0];
        let at = |line: &str| waits_on(line.as_bytes(), &[0x7f00_0000_1000]);
        assert!(at(&std::format!(
            "{nr} 0x7f0000001000 0x89 0x0 0x0 0x0 0x0 0x7ffd 0x7f01\n"
        )));
        assert!(at(&std::format!(
            "{nr} 0x7f0000001000 0x0 0x0 0x0 0x0 0x0 0x7ffd 0x7f01\n"
        )));
        // A wake, another address, another call, a running thread.
        assert!(!at(&std::format!(
            "{nr} 0x7f0000001000 0x1 0x1 0x0 0x0 0x0 0x7ffd 0x7f01\n"
        )));
        assert!(!at(&std::format!(
            "{nr} 0x7f0000002000 0x89 0x0 0x0 0x0 0x0 0x7ffd 0x7f01\n"
        )));
        assert!(!at("0 0x7f0000001000 0x89 0x0 0x0 0x0 0x0 0x7ffd 0x7f01\n"));
        assert!(!at("running\n"));
        assert!(!at("-1 0x7ffd 0x7f01\n"));
    }
}
