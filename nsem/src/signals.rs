//! Signals while `nsem` waits or runs a command.
//!
//! `SIGINT`, `SIGTERM`, `SIGHUP`, `SIGQUIT`, `SIGUSR1`, `SIGUSR2` and
//! `SIGALRM` are caught rather than left to kill the process, so that `nsem` never dies holding a token or leaves
//! a stale waiter count behind:
//! - while waiting for a token, a caught signal ends the wait (the waits are
//!   short slices that check for it), and `nsem` exits with 128 + signal;
//! - while a command runs, the signal is passed on to the command, unless
//!   the terminal sent it (Ctrl-C, Ctrl-\, hang-up): the terminal signals
//!   the whole foreground process group, command included, so passing it on
//!   would deliver it twice. `nsem` then waits for the command, releases
//!   the token and exits with the command's status.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signals handled.
const SIGNALS: [libc::c_int; 7] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
];

/// The last signal caught, 0 if none.
static CAUGHT: AtomicI32 = AtomicI32::new(0);
/// The running command's process id, 0 before it starts.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// A signal to pass on that arrived before the command started.
static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn handler(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    CAUGHT.store(sig, Ordering::SeqCst);
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler.
    let from_terminal = !info.is_null() && unsafe { (*info).si_code } == libc::SI_KERNEL;
    if from_terminal {
        return;
    }
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        // SAFETY: kill is async-signal-safe; `child` is our own unreaped
        // child, so the pid cannot have been reused.
        unsafe { libc::kill(child, sig) };
    } else {
        PENDING.store(sig, Ordering::SeqCst);
    }
}

/// Installs the handler for the signals above.
pub fn install() {
    for sig in SIGNALS {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler
        // only touches atomics and calls kill, both async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = handler;
            action.sa_sigaction = f as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// The last signal caught, if any.
pub fn caught() -> Option<i32> {
    match CAUGHT.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// Records the started command, and passes on a signal that came before.
pub fn child_started(pid: u32) {
    let pid = pid as i32;
    CHILD.store(pid, Ordering::SeqCst);
    // A signal caught before the store is pending; one caught after it was
    // passed on by the handler. `swap` takes it exactly once.
    let sig = PENDING.swap(0, Ordering::SeqCst);
    if sig != 0 {
        // SAFETY: plain kill of our own unreaped child.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Waits until the command has ended without reaping it, then forgets its
/// pid: while it is unreaped the pid cannot be reused, so the handler never
/// signals a stranger. The caller reaps it afterwards.
pub fn wait_for_child_end(pid: u32) {
    loop {
        // SAFETY: a zeroed siginfo_t is a valid out-buffer for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: plain system call on our own child with a valid buffer.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    CHILD.store(-1, Ordering::SeqCst);
}
