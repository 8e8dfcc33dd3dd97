//! `nsem`: POSIX named semaphores from the shell, the tool Linux lacks
//! beside `ipcs`/`ipcrm` (which only know System V semaphores).
//!
//! Works on the same `/dev/shm/sem.NAME` objects as glibc's `sem_open`.
//! This file holds the exit codes and the entry point; the command line is
//! read in `cli` (option values in `values`, help texts in `help`), carried
//! out in `commands`, `run` (with `signals`) and `watch`, and printed by
//! `output` and `json` (owner names from `names`).

mod cli;
mod commands;
mod glob;
mod help;
mod json;
mod names;
mod output;
mod run;
mod signals;
mod values;
mod watch;

use std::process::ExitCode;

/// Success.
const EXIT_OK: u8 = 0;
/// `--try` found no token, or a `--timeout` ran out.
const EXIT_BUSY: u8 = 1;
/// The operation failed: no such semaphore, invalid name, permissions, ...
const EXIT_ERROR: u8 = 2;
/// The command line could not be understood.
const EXIT_USAGE: u8 = 64;
/// `run`: the command was found but could not be started.
const EXIT_CANNOT_RUN: u8 = 126;
/// `run`: the command was not found.
const EXIT_NOT_FOUND: u8 = 127;

/// A failure on the way out: the exit code and the one line for stderr.
#[derive(Debug)]
pub struct Failure {
    code: u8,
    message: String,
}

fn main() -> ExitCode {
    let result = cli::parse(std::env::args_os().skip(1).collect()).and_then(commands::run);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("nsem: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}
