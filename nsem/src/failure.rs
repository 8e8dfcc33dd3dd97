//! What goes wrong, and how `nsem` exits: the exit codes, a [`Failure`]
//! (the code and the one line for stderr), and the two kinds every command
//! makes: usage errors and failed operations on a semaphore.

use named_semaphores::Error;

/// Success.
pub const EXIT_OK: u8 = 0;
/// `--try` found no token, or a `--timeout` ran out.
pub const EXIT_BUSY: u8 = 1;
/// The operation failed: no such semaphore, invalid name, permissions, ...
pub const EXIT_ERROR: u8 = 2;
/// The command line could not be understood.
pub const EXIT_USAGE: u8 = 64;
/// `run`: the command was found but could not be started.
pub const EXIT_CANNOT_RUN: u8 = 126;
/// `run`: the command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// A failure on the way out: the exit code and the one line for stderr.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

/// A usage error about `command` (`None`: the command line as a whole).
pub fn usage(command: Option<&str>, message: impl std::fmt::Display) -> Failure {
    let see = match command {
        Some(c) => format!("nsem {c} --help"),
        None => "nsem --help".to_owned(),
    };
    Failure {
        code: EXIT_USAGE,
        message: format!("{message} (see {see})"),
    }
}

/// `/NAME` as the user meant it, for messages.
pub fn shown(name: &str) -> String {
    format!("/{}", name.trim_start_matches('/'))
}

/// A failed operation on the semaphore `name`. The library's message names
/// the operation and the semaphore (`open "/jobs": ...`); `name` is added
/// only where the error does not carry it.
pub fn error(name: &str, err: Error) -> Failure {
    let message = if err.name().is_some() {
        err.to_string()
    } else {
        format!("{}: {err}", shown(name))
    };
    Failure {
        code: EXIT_ERROR,
        message,
    }
}
