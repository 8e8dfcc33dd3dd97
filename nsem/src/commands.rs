//! Carrying out the commands other than `run`: each turns the library's
//! answer into output or a [`Failure`].

use std::io::Write;

use named_semaphores::{ErrorKind, Existence, NamedSemaphore, PROCESSES_BUFFER_LEN};

use crate::command::{Cli, Command};
use crate::failure::{error, Failure, EXIT_ERROR, EXIT_OK};
use crate::output::{self, Users};
use crate::run::{self, Acquired};
use crate::semaphores::{entries, open};
use crate::{help, json, robust, signals, watch};

/// The processes using the semaphore `name`.
fn users(dir: &str, name: &str) -> Result<Users, Failure> {
    let mut buf = vec![std::mem::MaybeUninit::uninit(); PROCESSES_BUFFER_LEN];
    let mut processes = Vec::new();
    let summary = named_semaphores::processes_using_in(dir, name, &mut buf, |p| {
        processes.push(output::Process::from(p));
    })
    .map_err(|e| error(name, e))?;
    processes.sort_by_key(|p| p.pid);
    Ok(Users { processes, summary })
}

/// Carries out the command; the exit code.
pub fn run(cli: Cli) -> Result<u8, Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match &cli.command {
        Command::Help(topic) => {
            let text = topic.map_or(help::GENERAL, help::of);
            let _ = out.write_all(text.as_bytes());
        }
        Command::Version => {
            let _ = writeln!(out, "nsem {}", env!("CARGO_PKG_VERSION"));
        }
        Command::List {
            json,
            watch,
            patterns,
        } => {
            if let Some(watch) = watch {
                return watch::run(&cli.dir, patterns, watch, &mut out);
            }
            let entries = entries(&cli.dir, patterns)?;
            let text = if *json {
                json::list(&entries)
            } else {
                output::list_table(&entries)
            };
            let _ = out.write_all(text.as_bytes());
        }
        Command::Info { name, json } => {
            let info = named_semaphores::inspect_in(&cli.dir, name).map_err(|e| error(name, e))?;
            let users = users(&cli.dir, name)?;
            let record = if info.robust {
                robust::record(&cli.dir, name)?
            } else {
                None
            };
            let bare = name.trim_start_matches('/').as_bytes();
            let text = if *json {
                json::info(bare, &info, &users, record.as_ref()) + "\n"
            } else {
                output::info_text(bare, &info, &cli.dir)
                    + &robust::record_text(record.as_ref())
                    + &output::users_text(&users)
            };
            let _ = out.write_all(text.as_bytes());
        }
        Command::Create {
            name,
            value,
            mode,
            exist_ok,
            robust,
        } => {
            let existence = if *exist_ok {
                Existence::OpenOrCreate
            } else {
                Existence::CreateNew
            };
            let mut options = NamedSemaphore::options();
            if let Some(value) = value {
                options.initial_value(*value);
            }
            options
                .directory(&cli.dir)
                .mode(*mode)
                .existence(existence)
                .robust(*robust)
                .unlink_on_drop(false)
                .open(name)
                .map_err(|e| error(name, e))?;
        }
        Command::Post { name, n } => {
            let sem = open(&cli, name)?;
            sem.release_n(*n).map_err(|e| error(name, e))?;
        }
        Command::Wait { name, timeout } => {
            let sem = open(&cli, name)?;
            signals::install();
            match run::acquire(&sem, timeout.as_ref()).map_err(|e| error(name, e))? {
                // `wait` is `sem_wait`: the token stays taken after exit.
                Acquired::Yes(permit) => permit.forget(),
                Acquired::TimedOut => return Err(run::busy(&sem, timeout.as_ref())),
                Acquired::Interrupted(sig) => return Ok(128u8.wrapping_add(sig as u8)),
            };
        }
        Command::Unlink { names } => {
            let mut failed = None;
            for name in names {
                if let Err(e) = named_semaphores::unlink_in(&cli.dir, name) {
                    // Report each failure; carry on with the other names.
                    eprintln!("nsem: {}", error(name, e).message);
                    failed = Some(EXIT_ERROR);
                }
            }
            if let Some(code) = failed {
                return Ok(code);
            }
        }
        Command::Run {
            name,
            timeout,
            command,
            robust,
        } => {
            drop(out);
            return run::run_command(&cli, name, timeout.as_ref(), command, *robust);
        }
        Command::Recover { name, json } => {
            // Opened plainly: this process is no holder of its own.
            let sem = open(&cli, name)?;
            let done = sem.recover().map_err(|e| {
                let no_record = e.kind() == ErrorKind::NotRobust;
                let mut failure = error(name, e);
                if no_record {
                    failure
                        .message
                        .push_str(" (not made with nsem create --robust)");
                }
                failure
            })?;
            let value = sem.value();
            let text = if *json {
                json::recovery(sem.name(), &done, value)
            } else {
                robust::recovery_text(sem.name(), &done, value)
            };
            let _ = out.write_all(text.as_bytes());
        }
    }
    Ok(EXIT_OK)
}
