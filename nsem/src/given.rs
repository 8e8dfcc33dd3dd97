//! Checking the options given against what the command takes, and making
//! the [`Command`] with its values (a usage error for anything else).

use std::ffi::OsString;
use std::time::Duration;

use crate::command::{Command, Timeout, Watch};
use crate::failure::{usage, Failure};
use crate::values::{parse_count, parse_mode, parse_seconds};

/// How long `list --watch` waits between redraws when no interval is given.
pub const WATCH_DEFAULT: Duration = Duration::from_secs(2);

/// The shortest `list --watch` interval; shorter ones are raised to it, as
/// watch(1) does.
const WATCH_MIN: Duration = Duration::from_millis(100);

/// What the options given so far set, before the command checks them.
#[derive(Default)]
pub struct Given {
    pub dir: Option<String>,
    pub json: bool,
    pub value: Option<String>,
    pub mode: Option<String>,
    pub exist_ok: bool,
    pub robust: bool,
    pub timeout: Option<String>,
    pub try_only: bool,
    pub watch: Option<Option<String>>,
    pub count: Option<String>,
    pub help: bool,
    pub positional: Vec<String>,
    pub run_command: Vec<OsString>,
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
pub fn build(name: &'static str, mut g: Given) -> Result<Command, Failure> {
    let allowed: &[&str] = match name {
        "list" => &["json", "watch", "count"],
        "info" | "recover" => &["json"],
        "create" => &["value", "mode", "exist-ok", "robust"],
        "wait" => &["timeout", "try"],
        "run" => &["timeout", "try", "robust"],
        _ => &[],
    };
    let set = [
        ("json", g.json),
        ("value", g.value.is_some()),
        ("mode", g.mode.is_some()),
        ("exist-ok", g.exist_ok),
        ("robust", g.robust),
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
        "recover" => Command::Recover {
            name: one_name(&mut g.positional, name, 0)?,
            json: g.json,
        },
        "create" => Command::Create {
            name: one_name(&mut g.positional, name, 0)?,
            value: match &g.value {
                Some(v) => Some(parse_count(v, "--value", name)?),
                None => None,
            },
            mode: g.mode.as_deref().map_or(Ok(0o600), parse_mode)?,
            exist_ok: g.exist_ok,
            robust: g.robust,
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
                robust: g.robust,
            }
        }
    })
}
