//! `nsem`: POSIX named semaphores from the shell, the tool Linux lacks
//! beside `ipcs`/`ipcrm` (which only know System V semaphores).
//!
//! Works on the same `/dev/shm/sem.NAME` objects as glibc's `sem_open`.
#![warn(clippy::undocumented_unsafe_blocks)]

mod output;
mod signals;

use std::ffi::OsString;
use std::io::Write;
use std::process::{Command as Process, ExitCode};
use std::time::{Duration, Instant};

use named_semaphores::{Error, Existence, NamedSemaphore, DEFAULT_DIRECTORY};

/// Success.
const EXIT_OK: u8 = 0;
/// `wait --try` found no token, or a `--timeout` ran out.
const EXIT_BUSY: u8 = 1;
/// The operation failed: no such semaphore, invalid name, permissions, ...
const EXIT_ERROR: u8 = 2;
/// The command line could not be understood.
const EXIT_USAGE: u8 = 64;
/// `run`: the command was found but could not be started.
const EXIT_CANNOT_RUN: u8 = 126;
/// `run`: the command was not found.
const EXIT_NOT_FOUND: u8 = 127;

/// How long one slice of a blocking wait lasts before `nsem` checks for
/// signals (the library's waits retry on signals by design).
const SLICE: Duration = Duration::from_millis(100);

const HELP: &str = "\
nsem: POSIX named semaphores (glibc's sem_open objects in /dev/shm)

Usage:
  nsem [--dir DIR] list [--json]
  nsem [--dir DIR] info NAME [--json]
  nsem [--dir DIR] create NAME [--value N] [--mode MODE] [--exist-ok]
  nsem [--dir DIR] post NAME [N]
  nsem [--dir DIR] wait NAME [--timeout SECONDS | --try]
  nsem [--dir DIR] unlink NAME...
  nsem [--dir DIR] run NAME [--timeout SECONDS] [--] COMMAND [ARGS...]

Commands:
  list     Every semaphore file: name, value, waiters, mode, owner, status.
  info     One semaphore in detail.
  create   A new semaphore with N tokens (default 1) and MODE (octal,
           default 0600, less the umask). --exist-ok: an existing one is fine
           (left as it is).
  post     Give back N tokens (default 1): sem_post.
  wait     Take a token: sem_wait. --try: only if one is free now.
           --timeout: give up after SECONDS (decimals allowed).
  unlink   Remove the names: sem_unlink. Processes using them keep them.
  run      Take a token, run COMMAND, give the token back when it ends
           (also if it fails or is killed), and exit with its status.
           SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGALRM
           sent to nsem are passed on to the command (not those the
           terminal already sent it); nsem still gives the token back.

Options:
  --dir DIR   Look in DIR instead of /dev/shm (a tmpfs). Any position.
  --json      Machine-readable output.
  -h, --help  This help.  -V, --version  The version.

NAME is a semaphore name as sem_open takes it: \"jobs\" and \"/jobs\" are the same.

Exit status:
  0    success
  1    busy or timed out (wait --try, --timeout)
  2    error: no such semaphore, invalid name, permission denied, ...
  64   usage error
  128+N  wait or run ended by signal N before it took a token
  run: the command's status, 128+N if a signal N killed it,
       126 if it could not be started, 127 if it was not found.
";

/// A failure on the way out: the exit code and the one line for stderr.
#[derive(Debug)]
struct Failure {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_USAGE,
        message: format!("{} (see nsem --help)", message.into()),
    }
}

/// `/NAME` as the user meant it, for messages.
fn shown(name: &str) -> String {
    format!("/{}", name.trim_start_matches('/'))
}

fn error(name: &str, err: Error) -> Failure {
    Failure {
        code: EXIT_ERROR,
        message: format!("{}: {err}", shown(name)),
    }
}

#[derive(Debug)]
enum Command {
    Help,
    Version,
    List {
        json: bool,
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
        timeout: Option<(Duration, String)>,
    },
    Unlink {
        names: Vec<String>,
    },
    Run {
        name: String,
        timeout: Option<(Duration, String)>,
        command: Vec<OsString>,
    },
}

struct Cli {
    dir: String,
    command: Command,
}

/// The arguments being parsed.
struct Args {
    rest: std::vec::IntoIter<OsString>,
}

impl Args {
    fn next(&mut self) -> Option<OsString> {
        self.rest.next()
    }

    fn value_of(&mut self, option: &str, inline: Option<String>) -> Result<String, Failure> {
        if let Some(v) = inline {
            return Ok(v);
        }
        let v = self
            .next()
            .ok_or_else(|| usage(format!("{option} needs a value")))?;
        utf8(v, option)
    }
}

fn utf8(arg: OsString, what: &str) -> Result<String, Failure> {
    arg.into_string()
        .map_err(|a| usage(format!("{what}: {a:?} is not valid UTF-8")))
}

fn parse_timeout(s: &str) -> Result<(Duration, String), Failure> {
    let secs: f64 = s
        .parse()
        .map_err(|_| usage(format!("--timeout: {s:?} is not a number of seconds")))?;
    let d = Duration::try_from_secs_f64(secs)
        .map_err(|_| usage(format!("--timeout: {s:?} is not a number of seconds >= 0")))?;
    Ok((d, s.to_owned()))
}

fn parse_u32(s: &str, what: &str) -> Result<u32, Failure> {
    s.parse().map_err(|_| {
        usage(format!(
            "{what}: {s:?} is not a whole number from 0 to 4294967295"
        ))
    })
}

fn parse_mode(s: &str) -> Result<u32, Failure> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o7777 && !digits.is_empty() => Ok(m),
        _ => Err(usage(format!(
            "--mode: {s:?} is not an octal mode like 0600"
        ))),
    }
}

fn parse(args: Vec<OsString>) -> Result<Cli, Failure> {
    let mut args = Args {
        rest: args.into_iter(),
    };
    let mut dir = None;
    let mut command = None;
    let mut positional: Vec<String> = Vec::new();
    let mut json = false;
    let mut value = None;
    let mut mode = None;
    let mut exist_ok = false;
    let mut timeout = None;
    let mut try_only = false;
    let mut run_command: Option<Vec<OsString>> = None;

    while let Some(arg) = args.next() {
        // After `run NAME`, the first argument that is not an option of
        // nsem's, or everything after `--`, is the command.
        if command.as_deref() == Some("run") && !positional.is_empty() {
            if arg == "--" {
                run_command = Some(args.rest.by_ref().collect());
                break;
            }
            let is_option = arg.to_str().is_some_and(|a| a.starts_with('-') && a != "-");
            if !is_option {
                let mut cmd = vec![arg];
                cmd.extend(args.rest.by_ref());
                run_command = Some(cmd);
                break;
            }
        }
        let arg = utf8(arg, "argument")?;
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let takes_no_value = |inline: &Option<String>| match inline {
            Some(_) => Err(usage(format!("{flag} takes no value"))),
            None => Ok(()),
        };
        match flag.as_str() {
            "-h" | "--help" => {
                return Ok(Cli {
                    dir: String::new(),
                    command: Command::Help,
                })
            }
            "-V" | "--version" => {
                return Ok(Cli {
                    dir: String::new(),
                    command: Command::Version,
                })
            }
            "--dir" => dir = Some(args.value_of("--dir", inline)?),
            "--json" => {
                takes_no_value(&inline)?;
                json = true;
            }
            "--value" => value = Some(parse_u32(&args.value_of("--value", inline)?, "--value")?),
            "--mode" => mode = Some(parse_mode(&args.value_of("--mode", inline)?)?),
            "--exist-ok" => {
                takes_no_value(&inline)?;
                exist_ok = true;
            }
            "--timeout" => timeout = Some(parse_timeout(&args.value_of("--timeout", inline)?)?),
            "--try" => {
                takes_no_value(&inline)?;
                try_only = true;
            }
            "--" => {
                for a in args.rest.by_ref() {
                    positional.push(utf8(a, "argument")?);
                }
            }
            f if f.starts_with('-') && f != "-" && f.len() > 1 => {
                return Err(usage(format!("unknown option {f}")))
            }
            _ if command.is_none() => command = Some(arg),
            _ => positional.push(arg),
        }
    }

    let Some(name) = command else {
        return Err(usage("no command given"));
    };
    // Which options each command takes.
    let allowed: &[&str] = match name.as_str() {
        "list" => &["json"],
        "info" => &["json"],
        "create" => &["value", "mode", "exist-ok"],
        "post" | "unlink" => &[],
        "wait" => &["timeout", "try"],
        "run" => &["timeout"],
        other => return Err(usage(format!("unknown command {other:?}"))),
    };
    let given = [
        ("json", json),
        ("value", value.is_some()),
        ("mode", mode.is_some()),
        ("exist-ok", exist_ok),
        ("timeout", timeout.is_some()),
        ("try", try_only),
    ];
    for (option, set) in given {
        if set && !allowed.contains(&option) {
            return Err(usage(format!("{name} does not take --{option}")));
        }
    }
    let one_name = |positional: &mut Vec<String>, extra_ok: usize| {
        if positional.is_empty() {
            return Err(usage(format!("{name} needs a semaphore NAME")));
        }
        if positional.len() > 1 + extra_ok {
            return Err(usage(format!(
                "{name}: unexpected argument {:?}",
                positional[1 + extra_ok]
            )));
        }
        Ok(positional.remove(0))
    };
    let command = match name.as_str() {
        "list" => {
            if let Some(extra) = positional.first() {
                return Err(usage(format!("list: unexpected argument {extra:?}")));
            }
            Command::List { json }
        }
        "info" => Command::Info {
            name: one_name(&mut positional, 0)?,
            json,
        },
        "create" => Command::Create {
            name: one_name(&mut positional, 0)?,
            value: value.unwrap_or(1),
            mode: mode.unwrap_or(0o600),
            exist_ok,
        },
        "post" => {
            let name = one_name(&mut positional, 1)?;
            let n = match positional.first() {
                Some(n) => parse_u32(n, "post N")?,
                None => 1,
            };
            Command::Post { name, n }
        }
        "wait" => {
            if try_only && timeout.is_some() {
                return Err(usage("wait takes --timeout or --try, not both"));
            }
            Command::Wait {
                name: one_name(&mut positional, 0)?,
                timeout: if try_only {
                    Some((Duration::ZERO, "0".into()))
                } else {
                    timeout
                },
            }
        }
        "unlink" => {
            if positional.is_empty() {
                return Err(usage("unlink needs at least one semaphore NAME"));
            }
            Command::Unlink { names: positional }
        }
        "run" => {
            let name = one_name(&mut positional, 0)?;
            let command = run_command.unwrap_or_default();
            if command.is_empty() {
                return Err(usage("run needs a COMMAND to run"));
            }
            Command::Run {
                name,
                timeout,
                command,
            }
        }
        _ => unreachable!("checked above"),
    };
    Ok(Cli {
        dir: dir.unwrap_or_else(|| DEFAULT_DIRECTORY.to_owned()),
        command,
    })
}

fn open(cli: &Cli, name: &str) -> Result<NamedSemaphore, Failure> {
    NamedSemaphore::options()
        .directory(&cli.dir)
        .unlink_on_drop(false)
        .open(name)
        .map_err(|e| error(name, e))
}

/// How a blocking acquire ended.
enum Acquired {
    Yes,
    TimedOut,
    Interrupted(i32),
}

/// Takes a token, waiting at most `timeout` (forever if `None`), in short
/// slices so that a caught signal ends the wait without leaving this process
/// counted as a waiter.
fn acquire(sem: &NamedSemaphore, timeout: Option<Duration>) -> Result<Acquired, Error> {
    let deadline = timeout.map(|t| Instant::now().checked_add(t));
    loop {
        if let Some(sig) = signals::caught() {
            return Ok(Acquired::Interrupted(sig));
        }
        let slice = match deadline {
            Some(Some(d)) => d.saturating_duration_since(Instant::now()).min(SLICE),
            // Too far to represent: as good as forever.
            Some(None) | None => SLICE,
        };
        if sem.acquire_timeout(slice)? {
            if let Some(sig) = signals::caught() {
                sem.release()?;
                return Ok(Acquired::Interrupted(sig));
            }
            return Ok(Acquired::Yes);
        }
        if let Some(Some(d)) = deadline {
            if Instant::now() >= d {
                return Ok(Acquired::TimedOut);
            }
        }
    }
}

fn busy(sem: &NamedSemaphore, timeout: &str, try_only: bool) -> Failure {
    let message = if try_only {
        format!("{}: busy (no token available)", sem.name())
    } else {
        format!("{}: timed out after {timeout} s", sem.name())
    };
    Failure {
        code: EXIT_BUSY,
        message,
    }
}

fn run(cli: Cli) -> Result<u8, Failure> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match &cli.command {
        Command::Help => {
            let _ = out.write_all(HELP.as_bytes());
        }
        Command::Version => {
            let _ = writeln!(out, "nsem {}", env!("CARGO_PKG_VERSION"));
        }
        Command::List { json } => {
            let mut entries = named_semaphores::list_all_in(&cli.dir).map_err(|e| Failure {
                code: EXIT_ERROR,
                message: format!(
                    "{}: cannot list the directory: {}",
                    cli.dir,
                    std::io::Error::from_raw_os_error(e.raw_os_error())
                ),
            })?;
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            let text = if *json {
                output::list_json(&entries)
            } else {
                output::list_table(&entries)
            };
            let _ = out.write_all(text.as_bytes());
        }
        Command::Info { name, json } => {
            let info = named_semaphores::inspect_in(&cli.dir, name).map_err(|e| error(name, e))?;
            let bare = name.trim_start_matches('/');
            let text = if *json {
                output::entry_json(bare.as_bytes(), &info) + "\n"
            } else {
                output::info_text(bare.as_bytes(), &info, &cli.dir)
            };
            let _ = out.write_all(text.as_bytes());
        }
        Command::Create {
            name,
            value,
            mode,
            exist_ok,
        } => {
            let existence = if *exist_ok {
                Existence::OpenOrCreate
            } else {
                Existence::CreateNew
            };
            NamedSemaphore::options()
                .directory(&cli.dir)
                .initial_value(*value)
                .mode(*mode)
                .existence(existence)
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
            let try_only = timeout.as_ref().is_some_and(|(d, _)| d.is_zero());
            let got = if try_only {
                if sem.try_acquire().map_err(|e| error(name, e))? {
                    Acquired::Yes
                } else {
                    Acquired::TimedOut
                }
            } else {
                acquire(&sem, timeout.as_ref().map(|t| t.0)).map_err(|e| error(name, e))?
            };
            match got {
                Acquired::Yes => {}
                Acquired::TimedOut => {
                    let shown = timeout.as_ref().map_or("", |t| t.1.as_str());
                    return Err(busy(&sem, shown, try_only));
                }
                Acquired::Interrupted(sig) => return Ok(128u8.wrapping_add(sig as u8)),
            }
        }
        Command::Unlink { names } => {
            let mut failed = None;
            for name in names {
                if let Err(e) = named_semaphores::unlink_in(&cli.dir, name) {
                    // Report each failure; carry on with the other names.
                    eprintln!("nsem: {}: {e}", shown(name));
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
        } => {
            drop(out);
            return run_command(&cli, name, timeout.as_ref(), command);
        }
    }
    Ok(EXIT_OK)
}

fn run_command(
    cli: &Cli,
    name: &str,
    timeout: Option<&(Duration, String)>,
    command: &[OsString],
) -> Result<u8, Failure> {
    let sem = open(cli, name)?;
    signals::install();
    let try_only = timeout.is_some_and(|(d, _)| d.is_zero());
    match acquire(&sem, timeout.map(|t| t.0)).map_err(|e| error(name, e))? {
        Acquired::Yes => {}
        Acquired::TimedOut => {
            let shown = timeout.map_or("", |t| t.1.as_str());
            return Err(busy(&sem, shown, try_only));
        }
        Acquired::Interrupted(sig) => return Ok(128u8.wrapping_add(sig as u8)),
    }
    // From here on the token is ours: every path below gives it back.
    let mut child = match Process::new(&command[0]).args(&command[1..]).spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = sem.release();
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
    let released = sem.release();
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
    if let Err(e) = released {
        eprintln!("nsem: {}: {e}", sem.name());
    }
    Ok(code)
}

fn main() -> ExitCode {
    let result = parse(std::env::args_os().skip(1).collect()).and_then(run);
    match result {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("nsem: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn run_takes_everything_after_the_name() {
        let cli = parse(args(&[
            "run",
            "jobs",
            "--timeout",
            "2",
            "--",
            "sh",
            "-c",
            "x",
        ]))
        .unwrap();
        match cli.command {
            Command::Run {
                name,
                timeout,
                command,
            } => {
                assert_eq!(name, "jobs");
                assert_eq!(timeout.unwrap().0, Duration::from_secs(2));
                assert_eq!(command, args(&["sh", "-c", "x"]));
            }
            other => panic!("{other:?}"),
        }
        let cli = parse(args(&["--dir=/run/shm", "run", "jobs", "ls", "--dir", "x"])).unwrap();
        assert_eq!(cli.dir, "/run/shm");
        match cli.command {
            Command::Run { command, .. } => assert_eq!(command, args(&["ls", "--dir", "x"])),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &[][..],
            &["frobnicate"],
            &["list", "extra"],
            &["info"],
            &["wait", "x", "--try", "--timeout", "1"],
            &["wait", "x", "--timeout", "-1"],
            &["wait", "x", "--timeout", "soon"],
            &["create", "x", "--mode", "0999"],
            &["create", "x", "--value", "-1"],
            &["post", "x", "1", "2"],
            &["post", "x", "--json"],
            &["run", "x"],
            &["list", "--bogus"],
            &["list", "--json=yes"],
        ] {
            let err = parse(args(bad))
                .err()
                .unwrap_or_else(|| panic!("{bad:?} parsed"));
            assert_eq!(err.code, EXIT_USAGE, "{bad:?}");
        }
    }

    #[test]
    fn modes_are_octal() {
        assert_eq!(parse_mode("0600").ok(), Some(0o600));
        assert_eq!(parse_mode("644").ok(), Some(0o644));
        assert_eq!(parse_mode("0o1777").ok(), Some(0o1777));
        assert!(parse_mode("").is_err());
        assert!(parse_mode("17777").is_err());
    }
}
