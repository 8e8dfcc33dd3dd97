//! A program with no libc at all, using the crate's named semaphores.
//!
//! No C runtime, no libc, no dynamic loader: the entry point is `_start`
//! below, every system call is made by the crate (through rustix's
//! `linux_raw` backend) or by the few lines of `exit` here, and the result is
//! reported through the exit status. For Linux on x86_64, 32-bit ARM (EABI),
//! aarch64 and riscv64.
//!
//! ```text
//! nolibc-check check NAME   create NAME, share it between two handles,
//!                           acquire, time out, release, unlink; exit 0 if
//!                           every step did what it should, else the
//!                           number of the first step that did not
//! nolibc-check post NAME    release one token on the existing NAME; exit 0
//! ```
//!
//! A bad command line exits 2; a panic exits 101.
#![no_std]
#![no_main]

use core::ffi::{c_char, CStr};
use core::time::Duration;

use named_semaphores::{Error, ErrorKind, Existence, NamedSemaphore, Permit, RawSemaphore};

// The kernel starts a static executable at `_start` with the stack pointer
// at `argc`, followed by the `argv` pointers. Each architecture's `_start`
// passes that address to Rust (first argument register) with the stack
// aligned as its C ABI requires for a call, and `exit` is its `exit_group`
// system call.
/// `_start` and `exit` for x86_64.
#[cfg(target_arch = "x86_64")]
mod arch {
    core::arch::global_asm!(
        ".globl _start",
        ".type _start, @function",
        "_start:",
        "xor ebp, ebp",
        "mov rdi, rsp",
        "and rsp, -16",
        "call {main}",
        "ud2",
        main = sym super::start,
    );

    /// Terminates the process with `code`, by the `exit_group` system call.
    pub fn exit(code: i32) -> ! {
        // SAFETY: exit_group (231 on x86_64) takes one argument and never
        // returns; it touches no memory of this process.
        unsafe {
            core::arch::asm!("syscall", in("rax") 231, in("rdi") code, options(noreturn, nostack));
        }
    }
}

/// `_start` and `exit` for 32-bit ARM, EABI.
#[cfg(target_arch = "arm")]
mod arch {
    core::arch::global_asm!(
        ".globl _start",
        ".type _start, %function",
        "_start:",
        "mov r0, sp",
        "mov r1, #0",
        "mov fp, r1",
        "mov lr, r1",
        "bic r1, r0, #15",
        "mov sp, r1",
        "bl {main}",
        "udf #0",
        main = sym super::start,
    );

    /// Terminates the process with `code`, by the `exit_group` system call.
    pub fn exit(code: i32) -> ! {
        // SAFETY: exit_group (248 on ARM EABI) takes one argument and never
        // returns; it touches no memory of this process. r7 carries the
        // system call number; it may be the frame pointer, which this
        // non-returning code has no need to restore.
        unsafe {
            core::arch::asm!("mov r7, #248", "svc 0", in("r0") code, options(noreturn, nostack));
        }
    }
}

/// `_start` and `exit` for aarch64.
#[cfg(target_arch = "aarch64")]
mod arch {
    core::arch::global_asm!(
        ".globl _start",
        ".type _start, %function",
        "_start:",
        "mov x29, #0",
        "mov x30, #0",
        "mov x0, sp",
        "and sp, x0, #-16",
        "bl {main}",
        "brk #0",
        main = sym super::start,
    );

    /// Terminates the process with `code`, by the `exit_group` system call.
    pub fn exit(code: i32) -> ! {
        // SAFETY: exit_group (94 on aarch64) takes one argument and never
        // returns; it touches no memory of this process.
        unsafe {
            core::arch::asm!("svc #0", in("x8") 94, in("x0") code, options(noreturn, nostack));
        }
    }
}

/// `_start` and `exit` for riscv64.
#[cfg(target_arch = "riscv64")]
mod arch {
    // `gp` must hold `__global_pointer$` before any code the linker may
    // have relaxed to gp-relative addressing runs; the load itself must not
    // be relaxed.
    core::arch::global_asm!(
        ".globl _start",
        ".type _start, @function",
        "_start:",
        ".option push",
        ".option norelax",
        "lla gp, __global_pointer$",
        ".option pop",
        "li ra, 0",
        "mv a0, sp",
        "andi sp, sp, -16",
        "call {main}",
        "unimp",
        main = sym super::start,
    );

    /// Terminates the process with `code`, by the `exit_group` system call.
    pub fn exit(code: i32) -> ! {
        // SAFETY: exit_group (94 on riscv64) takes one argument and never
        // returns; it touches no memory of this process.
        unsafe {
            core::arch::asm!("ecall", in("a7") 94, in("a0") code, options(noreturn, nostack));
        }
    }
}

use arch::exit;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    exit(101)
}

/// The Rust entry point, called from `_start` with the initial stack pointer.
///
/// # Safety
///
/// `sp` must be the stack pointer the kernel gave `_start`: `argc` followed
/// by `argc` valid pointers to NUL-terminated strings.
unsafe extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: per this function's contract, `sp` points at `argc` and the
    // `argv` array follows it.
    let (argc, argv) = unsafe { (*sp, sp.add(1).cast::<*const c_char>()) };
    let arg = |i: usize| -> Option<&'static str> {
        if i >= argc {
            return None;
        }
        // SAFETY: `i < argc`, so `argv[i]` is a valid pointer to a
        // NUL-terminated string that lives as long as the process.
        unsafe { CStr::from_ptr(*argv.add(i)) }.to_str().ok()
    };
    let code = match (arg(1), arg(2), argc) {
        (Some("check"), Some(name), 3) => check(name),
        (Some("post"), Some(name), 3) => post(name),
        _ => 2,
    };
    exit(code)
}

fn post(name: &str) -> i32 {
    match NamedSemaphore::open(name).map(|s| s.release()) {
        Ok(Ok(())) => 0,
        _ => 1,
    }
}

/// Each step returns its number if it fails.
fn check(name: &str) -> i32 {
    // 10: create it, fresh, holding one token, in glibc's exact format.
    let Ok(first) = NamedSemaphore::options()
        .existence(Existence::CreateNew)
        .initial_value(1)
        .open(name)
    else {
        return 10;
    };
    if !first.created() || first.value() != 1 {
        return 11;
    }
    match RawSemaphore::new(1) {
        Ok(fresh) if fresh.to_bytes() == first.as_raw().to_bytes() => {}
        _ => return 12,
    }

    // 20: a second handle (a second mapping) is the same semaphore.
    let Ok(second) = NamedSemaphore::open(name) else {
        return 20;
    };
    if second.created() || !took(second.try_acquire()) {
        return 21;
    }
    if first.value() != 0 || !matches!(first.try_acquire(), Ok(None)) {
        return 22;
    }

    // 30: with no token, a timed acquire sleeps in the kernel and times out.
    if !matches!(first.acquire_timeout(Duration::from_millis(20)), Ok(None)) {
        return 30;
    }

    // 40: a release through one handle is seen and taken through the other.
    if second.release().is_err() || first.value() != 1 {
        return 40;
    }
    if first.acquire().map(Permit::forget).is_err() || second.value() != 0 {
        return 41;
    }
    if first.release().is_err() || second.value() != 1 {
        return 42;
    }

    // 50: unlink removes the name; the open handles keep working.
    if first.unlink().is_err() {
        return 50;
    }
    match NamedSemaphore::open(name) {
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        _ => return 51,
    }
    if !took(second.try_acquire()) {
        return 52;
    }
    0
}

/// Whether a `try_acquire` got a token, which then stays taken
/// (`sem_trywait`).
fn took(got: Result<Option<Permit<'_>>, Error>) -> bool {
    matches!(got.map(|p| p.map(Permit::forget).is_some()), Ok(true))
}
