//! The Rust side of the check of the README's Python and C table
//! (`ci/mapping.sh`): a process that reads one command a line on standard
//! input (its words separated by tabs, since a name may hold spaces), makes
//! that row's call through the crate, and answers one line on
//! standard output (`ok ...`, or `err KIND` with the error's `ErrorKind`).
//! The Python side runs the package's own calls against the same semaphore
//! and compares.
//!
//! ```text
//! open HOW NAME [VALUE] [keep|unlink]   a handle, kept under NAME (the newest one
//!                                       answers the commands below); HOW is
//!                                       create, open, open_or_create, replace
//!                                       or options (defaults); keep/unlink sets
//!                                       unlink_on_drop; answers created= name=
//! hold NAME                             `let _permit = sem.acquire()?`, kept
//! let_go NAME                           drops every permit held
//! forget NAME                           `sem.acquire()?.forget()`
//! try NAME                              `try_acquire`, a token kept; true/false
//! timeout NAME MILLIS                   `acquire_timeout`, a token kept; true/false
//! release NAME N                        `release_n(N)`
//! value NAME | created NAME | unlinks NAME
//! set_unlink_on_drop NAME true|false
//! unlink NAME                           `named_semaphores::unlink(NAME)`
//! drop NAME                             drops the newest handle
//! ```

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use named_semaphores::{Error, Existence, NamedSemaphore, OwnedPermit};

/// The open handles, newest last, and the permits they hold.
#[derive(Default)]
struct Peer {
    handles: Vec<(String, Arc<NamedSemaphore>)>,
    permits: Vec<(String, OwnedPermit)>,
}

impl Peer {
    fn sem(&self, name: &str) -> Result<&Arc<NamedSemaphore>, String> {
        self.handles
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, sem)| sem)
            .ok_or_else(|| format!("no handle for {name}"))
    }

    fn open(&mut self, args: &[&str]) -> Result<String, String> {
        let (how, name) = match args {
            [how, name, ..] => (*how, *name),
            _ => return Err("open HOW NAME [VALUE] [keep|unlink]".into()),
        };
        let mut options = NamedSemaphore::options();
        for arg in &args[2..] {
            match *arg {
                "keep" => options.unlink_on_drop(false),
                "unlink" => options.unlink_on_drop(true),
                value => options.initial_value(number(value)?),
            };
        }
        let existence = match how {
            "create" => Existence::CreateNew,
            "open" => Existence::OpenExisting,
            "open_or_create" => Existence::OpenOrCreate,
            "replace" => Existence::UnlinkAndCreate,
            "options" => Existence::OpenExisting, // the defaults, untouched
            _ => return Err(format!("unknown HOW {how}")),
        };
        if how != "options" {
            options.existence(existence);
        }
        let sem = match options.open(name) {
            Ok(sem) => sem,
            Err(e) => return Ok(failed(e)),
        };
        let answer = format!("ok created={} name={}", sem.created(), sem.name());
        self.handles.push((name.to_string(), Arc::new(sem)));
        Ok(answer)
    }

    fn run(&mut self, line: &str) -> Result<String, String> {
        let words: Vec<&str> = line.split('\t').collect();
        let (command, name) = match words.as_slice() {
            [command, name, ..] => (*command, *name),
            _ => return Err(format!("bad command line {line:?}")),
        };
        let arg = |i: usize| words.get(i).copied().ok_or("missing argument");
        let answer = match command {
            "open" => return self.open(&words[1..]),
            "hold" => {
                let permit = self.sem(name)?.acquire_owned();
                match permit {
                    Ok(permit) => self.permits.push((name.to_string(), permit)),
                    Err(e) => return Ok(failed(e)),
                }
                "ok".to_string()
            }
            "let_go" => {
                self.permits.retain(|(n, _)| n != name);
                "ok".to_string()
            }
            "forget" => match self.sem(name)?.acquire() {
                Ok(permit) => {
                    permit.forget();
                    "ok".to_string()
                }
                Err(e) => failed(e),
            },
            "try" | "timeout" => {
                let sem = self.sem(name)?;
                let got = if command == "try" {
                    sem.try_acquire_owned()
                } else {
                    let ms = number(arg(2)?)?;
                    sem.acquire_owned_timeout(Duration::from_millis(u64::from(ms)))
                };
                match got {
                    Ok(Some(permit)) => {
                        self.permits.push((name.to_string(), permit));
                        "ok true".to_string()
                    }
                    Ok(None) => "ok false".to_string(),
                    Err(e) => failed(e),
                }
            }
            "release" => match self.sem(name)?.release_n(number(arg(2)?)?) {
                Ok(()) => "ok".to_string(),
                Err(e) => failed(e),
            },
            "value" => format!("ok {}", self.sem(name)?.value()),
            "created" => format!("ok {}", self.sem(name)?.created()),
            "unlinks" => format!("ok {}", self.sem(name)?.unlinks_on_drop()),
            "set_unlink_on_drop" => {
                self.sem(name)?.set_unlink_on_drop(arg(2)? == "true");
                "ok".to_string()
            }
            "unlink" => match named_semaphores::unlink(name) {
                Ok(()) => "ok".to_string(),
                Err(e) => failed(e),
            },
            "drop" => {
                // Its permits first: they hold the handle too.
                self.permits.retain(|(n, _)| n != name);
                let at = self.handles.iter().rposition(|(n, _)| n == name);
                let at = at.ok_or_else(|| format!("no handle for {name}"))?;
                drop(self.handles.remove(at));
                "ok".to_string()
            }
            _ => return Err(format!("unknown command {command}")),
        };
        Ok(answer)
    }
}

fn number(s: &str) -> Result<u32, String> {
    s.parse().map_err(|e| format!("bad number {s:?}: {e}"))
}

fn failed(e: Error) -> String {
    format!("err {:?}", e.kind())
}

fn main() {
    let mut peer = Peer::default();
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let answer = peer.run(&line).unwrap_or_else(|e| format!("bad {e}"));
        if writeln!(out, "{answer}")
            .and_then(|()| out.flush())
            .is_err()
        {
            break;
        }
    }
}
