//! A small command-line peer for cross-process and cross-library checks:
//! each command does one thing to a named semaphore and reports through its
//! exit status. `ci/cross/peer.c` is the same program written against
//! glibc's `sem_open`, so a script can pair any side with any other, on any
//! target (natively, under qemu-user, or as a static musl binary).
//!
//! ```text
//! peer create NAME VALUE          create (must not exist), value VALUE; exit 0
//! peer wait NAME MILLIS           take a token within MILLIS; exit 0, or 3 on timeout
//! peer post NAME                  release one token; exit 0
//! peer value NAME                 print the value; exit 0
//! peer await-waiter NAME MILLIS   exit 0 once a waiter is registered, or 3 on timeout
//! peer unlink NAME                remove the name; exit 0
//! ```
//!
//! Any error prints a message and exits 1; a bad command line exits 2.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use named_semaphores::{Existence, NamedSemaphore};

const TIMED_OUT: u8 = 3;

fn millis(s: &str) -> Result<Duration, String> {
    s.parse()
        .map(Duration::from_millis)
        .map_err(|e| format!("bad milliseconds {s:?}: {e}"))
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let fail = |e: named_semaphores::Error| e.to_string();
    match args {
        [cmd, name, value] if cmd == "create" => {
            let value = value.parse().map_err(|e| format!("bad value: {e}"))?;
            NamedSemaphore::options()
                .existence(Existence::CreateNew)
                .initial_value(value)
                .unlink_on_drop(false)
                .open(name)
                .map_err(fail)?;
            Ok(ExitCode::SUCCESS)
        }
        [cmd, name, ms] if cmd == "wait" => {
            let sem = NamedSemaphore::open(name).map_err(fail)?;
            // `sem_timedwait`: the token stays taken after this process ends.
            let got = sem.acquire_timeout(millis(ms)?).map_err(fail)?;
            match got {
                Some(permit) => {
                    permit.forget();
                    Ok(ExitCode::SUCCESS)
                }
                None => Ok(ExitCode::from(TIMED_OUT)),
            }
        }
        [cmd, name] if cmd == "post" => {
            NamedSemaphore::open(name)
                .map_err(fail)?
                .release()
                .map_err(fail)?;
            Ok(ExitCode::SUCCESS)
        }
        [cmd, name] if cmd == "value" => {
            println!("{}", NamedSemaphore::open(name).map_err(fail)?.value());
            Ok(ExitCode::SUCCESS)
        }
        [cmd, name, ms] if cmd == "await-waiter" => {
            let sem = NamedSemaphore::open(name).map_err(fail)?;
            let limit = millis(ms)?;
            let start = Instant::now();
            while sem.as_raw().waiters() == 0 {
                if start.elapsed() > limit {
                    return Ok(ExitCode::from(TIMED_OUT));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        [cmd, name] if cmd == "unlink" => {
            named_semaphores::unlink(name).map_err(fail)?;
            Ok(ExitCode::SUCCESS)
        }
        _ => {
            eprintln!(
                "usage: peer create NAME VALUE | wait NAME MILLIS | post NAME | value NAME \
                 | await-waiter NAME MILLIS | unlink NAME"
            );
            Ok(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    run(&args).unwrap_or_else(|e| {
        eprintln!("peer: {e}");
        ExitCode::FAILURE
    })
}
