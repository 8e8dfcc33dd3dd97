//! The command line, read with `lexopt` into the options given
//! (`given::Given`), then checked against the command (`given::build`).

use std::ffi::OsString;

use lexopt::prelude::*;
use named_semaphores::DEFAULT_DIRECTORY;

use crate::command::{Cli, Command, COMMANDS};
use crate::failure::{usage, Failure};
use crate::given::{build, Given};

fn text(arg: OsString, what: &str, cmd: Option<&str>) -> Result<String, Failure> {
    arg.into_string()
        .map_err(|a| usage(cmd, format!("{what}: {a:?} is not valid UTF-8")))
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
            Long("robust") => g.robust = true,
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

#[cfg(test)]
#[path = "cli_tests.rs"]
mod tests;
