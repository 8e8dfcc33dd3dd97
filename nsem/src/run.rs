//! Taking a token with a timeout while watching for signals, and `run`:
//! a command under a token that is always given back.

use std::ffi::OsString;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use named_semaphores::{Error, NamedSemaphore, Permit};

use crate::command::{Cli, Timeout};
use crate::failure::{error, Failure, EXIT_BUSY, EXIT_CANNOT_RUN, EXIT_ERROR, EXIT_NOT_FOUND};
use crate::semaphores::{open, open_holder};
use crate::signals;

/// How long one slice of a blocking wait lasts before `nsem` checks for
/// signals (the library's waits retry on signals by design).
const SLICE: Duration = Duration::from_millis(100);

/// How an acquire ended.
pub enum Acquired<'a> {
    /// With a token, held by the permit.
    Yes(Permit<'a>),
    TimedOut,
    Interrupted(i32),
}

/// Takes a token: only if one is free now for `--try` and `--timeout 0`,
/// else waiting at most `timeout` (forever if `None`) in short slices, so
/// that a caught signal ends the wait without leaving this process counted
/// as a waiter.
pub fn acquire<'a>(
    sem: &'a NamedSemaphore,
    timeout: Option<&Timeout>,
) -> Result<Acquired<'a>, Error> {
    if timeout.is_some_and(Timeout::is_try) {
        return Ok(match sem.try_acquire()? {
            Some(permit) => Acquired::Yes(permit),
            None => Acquired::TimedOut,
        });
    }
    let deadline = timeout.map(|t| Instant::now().checked_add(t.duration));
    loop {
        if let Some(sig) = signals::caught() {
            return Ok(Acquired::Interrupted(sig));
        }
        let slice = match deadline {
            Some(Some(d)) => d.saturating_duration_since(Instant::now()).min(SLICE),
            // Too far to represent: as good as forever.
            Some(None) | None => SLICE,
        };
        if let Some(permit) = sem.acquire_timeout(slice)? {
            if let Some(sig) = signals::caught() {
                drop(permit); // gives the token back
                return Ok(Acquired::Interrupted(sig));
            }
            return Ok(Acquired::Yes(permit));
        }
        if let Some(Some(d)) = deadline {
            if Instant::now() >= d {
                return Ok(Acquired::TimedOut);
            }
        }
    }
}

/// The failure of a `--try` that found no token or a `--timeout` that ran
/// out.
pub fn busy(sem: &NamedSemaphore, timeout: Option<&Timeout>) -> Failure {
    let message = match timeout {
        Some(t) if !t.is_try() => format!("{}: timed out after {} s", sem.name(), t.text),
        _ => format!("{}: busy (no token available)", sem.name()),
    };
    Failure {
        code: EXIT_BUSY,
        message,
    }
}

/// `run`: takes a token, runs `command`, gives the token back when it
/// ends; the command's exit code. `robust`: as a recorded holder, whose
/// token comes back if `nsem` itself is killed.
pub fn run_command(
    cli: &Cli,
    name: &str,
    timeout: Option<&Timeout>,
    command: &[OsString],
    robust: bool,
) -> Result<u8, Failure> {
    let sem = if robust {
        open_holder(cli, name)?
    } else {
        open(cli, name)?
    };
    signals::install();
    let permit = match acquire(&sem, timeout).map_err(|e| error(name, e))? {
        Acquired::Yes(permit) => permit,
        Acquired::TimedOut => return Err(busy(&sem, timeout)),
        Acquired::Interrupted(sig) => return Ok(128u8.wrapping_add(sig as u8)),
    };
    // From here on the token is ours: the permit gives it back on every
    // path below.
    let mut child = match Process::new(&command[0]).args(&command[1..]).spawn() {
        Ok(child) => child,
        Err(e) => {
            drop(permit);
            let code = if e.kind() == std::io::ErrorKind::NotFound {
                EXIT_NOT_FOUND
            } else {
                EXIT_CANNOT_RUN
            };
            return Err(Failure {
                code,
                message: format!(
                    "{}: cannot run {}: {e}",
                    sem.name(),
                    command[0].to_string_lossy()
                ),
            });
        }
    };
    signals::child_started(child.id());
    signals::wait_for_child_end(child.id());
    let status = child.wait();
    drop(permit);
    let code = match status {
        Ok(status) => {
            use std::os::unix::process::ExitStatusExt;
            match (status.code(), status.signal()) {
                (Some(code), _) => code as u8,
                (None, Some(sig)) => 128u8.wrapping_add(sig as u8),
                (None, None) => EXIT_ERROR,
            }
        }
        Err(e) => {
            eprintln!("nsem: {}: waiting for the command: {e}", sem.name());
            EXIT_ERROR
        }
    };
    Ok(code)
}
