//! The command line: what the user asked for, parsed with `lexopt`, and the
//! usage errors (exit 64, one line, pointing at the command's help).

use std::ffi::OsString;
use std::time::Duration;

use lexopt::prelude::*;
use named_semaphores::DEFAULT_DIRECTORY;

use crate::values::{parse_count, parse_mode, parse_seconds};
use crate::{Failure, EXIT_USAGE};

/// The commands, as typed.
pub const COMMANDS: [&str; 7] = ["list", "info", "create", "post", "wait", "unlink", "run"];

/// How long `list --watch` waits between redraws when no interval is given.
const WATCH_DEFAULT: Duration = Duration::from_secs(2);

/// The shortest `list --watch` interval; shorter ones are raised to it, as
/// watch(1) does.
const WATCH_MIN: Duration = Duration::from_millis(100);

/// A timeout as given: the duration, and the text for messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeout {
    pub duration: Duration,
    pub text: String,
}

impl Timeout {
    /// `--try`: one attempt, no waiting.
    fn now() -> Self {
        Timeout {
            duration: Duration::ZERO,
            text: "0".into(),
        }
    }

    /// Whether this is a single attempt (`--try` or `--timeout 0`).
    pub fn is_try(&self) -> bool {
        self.duration.is_zero()
    }
}

/// `list --watch`: how often to redraw, and after how many draws to stop.
#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    pub interval: Duration,
    pub count: Option<u64>,
}

/// What to do.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// The help: general (`None`) or of one command.
    Help(Option<&'static str>),
    Version,
    List {
        json: bool,
        watch: Option<Watch>,
        /// Only the names that match one of these (all if none).
        patterns: Vec<String>,
    },
    Info {
        name: String,
        json: bool,
    },
    Create {
        name: String,
        value: u32,
        mode: u32,
        exist_ok: bool,
    },
    Post {
        name: String,
        n: u32,
    },
    Wait {
        name: String,
        timeout: Option<Timeout>,
    },
    Unlink {
        names: Vec<String>,
    },
    Run {
        name: String,
        timeout: Option<Timeout>,
        command: Vec<OsString>,
    },
}

/// The parsed command line.
#[derive(Debug)]
pub struct Cli {
    pub dir: String,
    pub command: Command,
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

fn text(arg: OsString, what: &str, cmd: Option<&str>) -> Result<String, Failure> {
    arg.into_string()
        .map_err(|a| usage(cmd, format!("{what}: {a:?} is not valid UTF-8")))
}

/// What the options given so far set, before the command checks them.
#[derive(Default)]
struct Given {
    dir: Option<String>,
    json: bool,
    value: Option<String>,
    mode: Option<String>,
    exist_ok: bool,
    timeout: Option<String>,
    try_only: bool,
    watch: Option<Option<String>>,
    count: Option<String>,
    help: bool,
    positional: Vec<String>,
    run_command: Vec<OsString>,
}

/// Parses the arguments after the program name.
pub fn parse(args: Vec<OsString>) -> Result<Cli, Failure> {
    let mut p = lexopt::Parser::from_args(args);
    let mut g = Given::default();
    let mut command: Option<&'static str> = None;
    // Whether the previous argument was a bare `--watch`, whose interval
    // may follow as the next word.
    let mut after_watch = false;
    while let Some(arg) = p.next().map_err(|e| usage(command, e))? {
        let cmd = command;
        let watch_before = std::mem::take(&mut after_watch);
        let value = |p: &mut lexopt::Parser, what: &str| -> Result<String, Failure> {
            let v = p.value().map_err(|e| usage(cmd, e))?;
            text(v, what, cmd)
        };
        match arg {
            Short('h') | Long("help") => g.help = true,
            Short('V') | Long("version") if command.is_none() => {
                return Ok(Cli {
                    dir: String::new(),
                    command: Command::Version,
                })
            }
            Long("dir") => {
                let dir = value(&mut p, "--dir")?;
                if dir.is_empty() || dir.starts_with('-') {
                    return Err(usage(cmd, "--dir needs a directory"));
                }
                // (A command name is reported below, once it is clear
                // that no command followed.)
                if !dir.starts_with('/') && !COMMANDS.contains(&dir.as_str()) {
                    return Err(usage(
                        cmd,
                        format!("--dir needs an absolute path, not {dir:?}"),
                    ));
                }
                g.dir = Some(dir);
            }
            Long("json") => g.json = true,
            Long("value") => g.value = Some(value(&mut p, "--value")?),
            Long("mode") => g.mode = Some(value(&mut p, "--mode")?),
            Long("exist-ok") => g.exist_ok = true,
            Long("timeout") => g.timeout = Some(value(&mut p, "--timeout")?),
            Long("try") => g.try_only = true,
            Long("watch") => {
                let v = p.optional_value().map(|v| text(v, "--watch", cmd));
                let v = v.transpose()?;
                after_watch = v.is_none();
                g.watch = Some(v);
            }
            Long("count") => g.count = Some(value(&mut p, "--count")?),
            Value(v) if command.is_none() => {
                let v = text(v, "command", None)?;
                if v == "help" {
                    return help_command(&mut p);
                }
                command = Some(
                    COMMANDS
                        .into_iter()
                        .find(|c| *c == v)
                        .ok_or_else(|| usage(None, format!("unknown command {v:?}")))?,
                );
            }
            // `run NAME COMMAND...`: the first word after the name starts
            // the command; everything after it is the command's.
            Value(v) if command == Some("run") && !g.positional.is_empty() => {
                g.run_command.push(v);
                g.run_command
                    .extend(p.raw_args().map_err(|e| usage(cmd, e))?);
            }
            // `list --watch 5`: a number right after a bare --watch is its
            // interval (a PATTERN that looks like one goes first:
            // `list 5 --watch`).
            Value(v) if command == Some("list") && watch_before && looks_numeric(&v) => {
                g.watch = Some(Some(text(v, "--watch", cmd)?));
            }
            Value(v) => g.positional.push(text(v, "argument", cmd)?),
            other => return Err(usage(cmd, other.unexpected())),
        }
    }
    let Some(name) = command else {
        if g.help {
            return Ok(Cli {
                dir: String::new(),
                command: Command::Help(None),
            });
        }
        // `nsem --dir list`: the command was taken as the directory.
        if let Some(dir) = g.dir.as_deref().filter(|d| COMMANDS.contains(d)) {
            return Err(usage(
                None,
                format!("--dir needs a directory (\"{dir}\" is a command)"),
            ));
        }
        return Err(usage(None, "no command given"));
    };
    if g.help {
        return Ok(Cli {
            dir: String::new(),
            command: Command::Help(Some(name)),
        });
    }
    let dir = g.dir.take().unwrap_or_else(|| DEFAULT_DIRECTORY.to_owned());
    Ok(Cli {
        dir,
        command: build(name, g)?,
    })
}

/// Whether a word is made of digits and dots, as a `--watch` interval is.
fn looks_numeric(word: &std::ffi::OsStr) -> bool {
    let bytes = word.as_encoded_bytes();
    bytes.iter().any(u8::is_ascii_digit) && bytes.iter().all(|&b| b.is_ascii_digit() || b == b'.')
}

/// `nsem help [COMMAND]`.
fn help_command(p: &mut lexopt::Parser) -> Result<Cli, Failure> {
    let topic = match p.next().map_err(|e| usage(None, e))? {
        None => None,
        Some(Value(v)) => {
            let v = text(v, "help", None)?;
            Some(
                COMMANDS
                    .into_iter()
                    .find(|c| *c == v)
                    .ok_or_else(|| usage(None, format!("help: unknown command {v:?}")))?,
            )
        }
        Some(other) => return Err(usage(None, other.unexpected())),
    };
    if let Some(extra) = p.next().map_err(|e| usage(None, e))? {
        return Err(usage(None, extra.unexpected()));
    }
    Ok(Cli {
        dir: String::new(),
        command: Command::Help(topic),
    })
}

/// Takes the semaphore NAME off the positional arguments, which may hold
/// `extra_ok` more.
fn one_name(p: &mut Vec<String>, cmd: &str, extra_ok: usize) -> Result<String, Failure> {
    if p.is_empty() {
        return Err(usage(Some(cmd), format!("{cmd} needs a semaphore NAME")));
    }
    if p.len() > 1 + extra_ok {
        return Err(usage(
            Some(cmd),
            format!("{cmd}: unexpected argument {:?}", p[1 + extra_ok]),
        ));
    }
    Ok(p.remove(0))
}

/// Checks the options and arguments against what `name` takes.
fn build(name: &'static str, mut g: Given) -> Result<Command, Failure> {
    let allowed: &[&str] = match name {
        "list" => &["json", "watch", "count"],
        "info" => &["json"],
        "create" => &["value", "mode", "exist-ok"],
        "wait" | "run" => &["timeout", "try"],
        _ => &[],
    };
    let set = [
        ("json", g.json),
        ("value", g.value.is_some()),
        ("mode", g.mode.is_some()),
        ("exist-ok", g.exist_ok),
        ("timeout", g.timeout.is_some()),
        ("try", g.try_only),
        ("watch", g.watch.is_some()),
        ("count", g.count.is_some()),
    ];
    for (option, given) in set {
        if given && !allowed.contains(&option) {
            return Err(usage(
                Some(name),
                format!("{name} does not take --{option}"),
            ));
        }
    }
    let timeout = |g: &Given| -> Result<Option<Timeout>, Failure> {
        match (&g.timeout, g.try_only) {
            (Some(_), true) => Err(usage(
                Some(name),
                format!("{name} takes --timeout or --try, not both"),
            )),
            (None, true) => Ok(Some(Timeout::now())),
            (Some(t), false) => Ok(Some(Timeout {
                duration: parse_seconds(t, "--timeout", name)?,
                text: t.clone(),
            })),
            (None, false) => Ok(None),
        }
    };
    Ok(match name {
        "list" => {
            let watch = g.watch.clone();
            if g.count.is_some() && watch.is_none() {
                return Err(usage(Some(name), "--count goes with --watch"));
            }
            if g.json && watch.is_some() {
                return Err(usage(Some(name), "--json does not go with --watch"));
            }
            let watch = match watch {
                None => None,
                Some(interval) => Some(Watch {
                    // As watch(1): no faster than ten redraws a second.
                    interval: match interval {
                        Some(s) => parse_seconds(&s, "--watch", name)?.max(WATCH_MIN),
                        None => WATCH_DEFAULT,
                    },
                    count: match &g.count {
                        Some(c) => Some(match c.parse::<u64>() {
                            Ok(n) if n > 0 => n,
                            _ => {
                                return Err(usage(
                                    Some(name),
                                    format!("--count: {c:?} is not a whole number above 0"),
                                ))
                            }
                        }),
                        None => None,
                    },
                }),
            };
            Command::List {
                json: g.json,
                watch,
                patterns: g.positional,
            }
        }
        "info" => Command::Info {
            name: one_name(&mut g.positional, name, 0)?,
            json: g.json,
        },
        "create" => Command::Create {
            name: one_name(&mut g.positional, name, 0)?,
            value: match &g.value {
                Some(v) => parse_count(v, "--value", name)?,
                None => 1,
            },
            mode: g.mode.as_deref().map_or(Ok(0o600), parse_mode)?,
            exist_ok: g.exist_ok,
        },
        "post" => {
            let sem = one_name(&mut g.positional, name, 1)?;
            let n = match g.positional.first() {
                Some(n) => parse_count(n, "N", name)?,
                None => 1,
            };
            Command::Post { name: sem, n }
        }
        "wait" => Command::Wait {
            name: one_name(&mut g.positional, name, 0)?,
            timeout: timeout(&g)?,
        },
        "unlink" => {
            if g.positional.is_empty() {
                return Err(usage(
                    Some(name),
                    "unlink needs at least one semaphore NAME",
                ));
            }
            Command::Unlink {
                names: g.positional,
            }
        }
        _ => {
            let timeout = timeout(&g)?;
            let sem = one_name(&mut g.positional, name, 0)?;
            if g.run_command.is_empty() {
                return Err(usage(Some(name), "run needs a COMMAND to run"));
            }
            Command::Run {
                name: sem,
                timeout,
                command: g.run_command,
            }
        }
    })
}

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
