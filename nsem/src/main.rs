//! `nsem`: POSIX named semaphores from the shell, the tool Linux lacks
//! beside `ipcs`/`ipcrm` (which only know System V semaphores).
//!
//! Works on the same `/dev/shm/sem.NAME` objects as glibc's `sem_open`.
//! This file holds the entry point. The command line is read in `cli`,
//! checked in `given` (option values in `values`) into a `command`, whose
//! help texts are in `help`; it is carried out in `commands`, `run` (with
//! `signals`) and `watch`, on semaphores reached through `semaphores`, and
//! printed by `output` and `json` (owner names from `names`; robust
//! semaphores' records and recoveries from `robust`). Exit codes
//! and failures are in `failure`.

mod cli;
mod command;
mod commands;
mod failure;
mod given;
mod glob;
mod help;
mod json;
mod names;
mod output;
mod robust;
mod run;
mod semaphores;
mod signals;
mod values;
mod watch;

use std::process::ExitCode;

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
