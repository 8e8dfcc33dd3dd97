//! `--json` output, written by hand: a few string escapes cost far less
//! than `serde_json` in a binary meant for devices (see `docs/nsem.md`). A
//! property test below has `serde_json` parse every shape of output.

use std::fmt::Write;

use named_semaphores::{Liveness, OwnedEntry, Recovery, SemaphoreInfo, Status};

use crate::names::Names;
use crate::output::{bare, Users};
use crate::robust::{holder_flags, liveness_word, record_flags, uncertain, Record};

/// One semaphore's fields, as written.
struct Fields<'a> {
    name: &'a [u8],
    value: Option<u32>,
    waiters: Option<u32>,
    mode: u32,
    uid: u32,
    gid: u32,
    user: Option<String>,
    group: Option<String>,
    kind: &'a str,
    size: u64,
    status: &'a str,
    error: Option<String>,
    temporary: bool,
    robust: bool,
}

impl<'a> Fields<'a> {
    fn of(names: &mut Names, name: &'a [u8], info: &SemaphoreInfo) -> Self {
        Fields {
            name,
            value: info.value,
            waiters: info.waiters,
            mode: info.mode,
            uid: info.uid,
            gid: info.gid,
            user: names.user(info.uid).map(str::to_owned),
            group: names.group(info.gid).map(str::to_owned),
            kind: info.kind.as_str(),
            size: info.size,
            status: info.status.as_str(),
            error: match info.status {
                Status::Unreadable(e) => Some(e.to_string()),
                _ => None,
            },
            temporary: info.temporary,
            robust: info.robust,
        }
    }
}

/// A JSON string literal.
fn string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

fn opt_string(v: Option<&str>) -> String {
    v.map_or_else(|| "null".to_owned(), string)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A semaphore as a JSON object. `name` is `/NAME`, or `null` if the name
/// is not UTF-8; `name_hex` always holds the name's bytes (without the
/// slash) in hexadecimal.
fn object(f: &Fields<'_>) -> String {
    let utf8 = std::str::from_utf8(f.name).ok().map(|n| format!("/{n}"));
    format!(
        "{{\"name\":{},\"name_hex\":{},\"value\":{},\"waiters\":{},\"mode\":{},\
         \"uid\":{},\"gid\":{},\"user\":{},\"group\":{},\"type\":{},\"size\":{},\
         \"status\":{},\"error\":{},\"temporary\":{},\"robust\":{}}}",
        opt_string(utf8.as_deref()),
        string(&hex(f.name)),
        opt(f.value),
        opt(f.waiters),
        string(&format!("{:04o}", f.mode)),
        f.uid,
        f.gid,
        opt_string(f.user.as_deref()),
        opt_string(f.group.as_deref()),
        string(f.kind),
        f.size,
        string(f.status),
        opt_string(f.error.as_deref()),
        f.temporary,
        f.robust,
    )
}

/// `list --json`: an array of objects, one a line.
pub fn list(entries: &[OwnedEntry]) -> String {
    let mut names = Names::default();
    let objects: Vec<String> = entries
        .iter()
        .map(|e| object(&Fields::of(&mut names, bare(&e.name), &e.info)))
        .collect();
    array(&objects)
}

fn array(objects: &[String]) -> String {
    if objects.is_empty() {
        return "[]\n".to_owned();
    }
    format!("[\n  {}\n]\n", objects.join(",\n  "))
}

/// `info --json`: the semaphore's object with `processes` (pid, uid, user,
/// command, command_hex, blocked_threads, blocked_count,
/// threads_unreadable) and `processes_unreadable`, `threads_unreadable`,
/// and `record` (`null` for a plain semaphore, see [`record`]).
pub fn info(name: &[u8], info: &SemaphoreInfo, users: &Users, rec: Option<&Record>) -> String {
    let mut names = Names::default();
    let fields = Fields::of(&mut names, name, info);
    let object = with_users(&object(&fields), users, &mut |uid| {
        names.user(uid).map(str::to_owned)
    });
    let rec = rec.map_or_else(|| "null".to_owned(), record);
    format!(
        "{},\"record\":{rec}}}",
        object.strip_suffix('}').unwrap_or(&object)
    )
}

fn strings(v: &[String]) -> String {
    let v: Vec<String> = v.iter().map(|s| string(s)).collect();
    format!("[{}]", v.join(","))
}

/// A robust semaphore's record: `limit`, `recovered`, `uncertain`, `flags`
/// (names), and `holders`, each with `pid`, `pid_namespace`, `tokens`,
/// `pending`, `liveness` (`alive`, `dead`, `unknown`), `error` (why it is
/// unknown), `uncertain`, `flags`, `corrupt`, `slot` and `beacon` (the file
/// name).
fn record(r: &Record) -> String {
    let holders: Vec<String> = r
        .holders
        .iter()
        .map(|h| {
            let error = match &h.liveness {
                Liveness::Unknown(e) => Some(e.to_string()),
                _ => None,
            };
            format!(
                "{{\"pid\":{},\"pid_namespace\":{},\"tokens\":{},\"pending\":{},\
                 \"liveness\":{},\"error\":{},\"uncertain\":{},\"flags\":{},\
                 \"corrupt\":{},\"slot\":{},\"beacon\":{}}}",
                h.pid,
                h.pid_namespace,
                h.tokens,
                h.pending,
                string(liveness_word(&h.liveness)),
                opt_string(error.as_deref()),
                uncertain(h),
                strings(&holder_flags(h.flags)),
                h.corrupt,
                h.slot,
                string(&format!("nsem-holder.{:016x}", h.beacon)),
            )
        })
        .collect();
    format!(
        "{{\"limit\":{},\"recovered\":{},\"uncertain\":{},\"flags\":{},\"holders\":[{}]}}",
        r.limit,
        r.recovered,
        r.uncertain,
        strings(&record_flags(r.flags)),
        holders.join(","),
    )
}

/// `recover --json`: what the recovery did, and the value after it.
pub fn recovery(name: &str, done: &Recovery, value: u32) -> String {
    format!(
        "{{\"name\":{},\"tokens\":{},\"holders\":{},\"uncertain\":{},\"undecided\":{},\
         \"corrupt\":{},\"beacons\":{},\"value\":{value}}}\n",
        string(name),
        done.tokens,
        done.holders,
        done.uncertain,
        done.undecided,
        done.corrupt,
        done.beacons,
    )
}

fn with_users(object: &str, users: &Users, user: &mut dyn FnMut(u32) -> Option<String>) -> String {
    let processes: Vec<String> = users
        .processes
        .iter()
        .map(|p| {
            let blocked: Vec<String> = p.blocked.iter().map(u32::to_string).collect();
            format!(
                "{{\"pid\":{},\"uid\":{},\"user\":{},\"command\":{},\"command_hex\":{},\
                 \"blocked_threads\":[{}],\"blocked_count\":{},\"threads_unreadable\":{}}}",
                p.pid,
                p.uid,
                opt_string(user(p.uid).as_deref()),
                opt_string(std::str::from_utf8(&p.command).ok()),
                string(&hex(&p.command)),
                blocked.join(","),
                p.blocked_count,
                p.threads_unreadable,
            )
        })
        .collect();
    let s = &users.summary;
    format!(
        "{},\"processes\":[{}],\"processes_unreadable\":{},\"threads_unreadable\":{},\"others_hidden\":{}}}",
        object.strip_suffix('}').unwrap_or(object),
        processes.join(","),
        s.processes_unreadable,
        s.threads_unreadable,
        s.others_hidden,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Process;
    use proptest::prelude::*;
    use serde_json::Value;

    fn text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(any::<String>())
    }

    proptest! {
        #[test]
        fn serde_json_reads_every_object(
            name in proptest::collection::vec(any::<u8>(), 0..40),
            value in proptest::option::of(any::<u32>()),
            mode in 0u32..0o7777,
            user in text(),
            error in text(),
            command in proptest::collection::vec(any::<u8>(), 0..16),
            blocked in proptest::collection::vec(any::<u32>(), 0..3),
        ) {
            let f = Fields {
                name: &name, value, waiters: value, mode, uid: 7, gid: 8,
                user: user.clone(), group: user.clone(), kind: "regular", size: 32,
                status: "ok", error: error.clone(), temporary: true, robust: false,
            };
            let users = Users {
                processes: vec![Process {
                    pid: 1, uid: 7, command: command.clone(), blocked: blocked.clone(),
                    blocked_count: blocked.len() as u32, threads_unreadable: 0,
                }],
                summary: Default::default(),
            };
            let one = with_users(&object(&f), &users, &mut |_| user.clone());
            let v: Value = serde_json::from_str(&one).expect("valid JSON");
            let utf8 = std::str::from_utf8(&name).ok().map(|n| format!("/{n}"));
            prop_assert_eq!(v["name"].as_str(), utf8.as_deref());
            let (name_hex, mode_text) = (hex(&name), format!("{mode:04o}"));
            prop_assert_eq!(v["name_hex"].as_str(), Some(name_hex.as_str()));
            prop_assert_eq!(v["user"].as_str(), user.as_deref());
            prop_assert_eq!(v["error"].as_str(), error.as_deref());
            prop_assert_eq!(v["value"].as_u64(), value.map(u64::from));
            prop_assert_eq!(v["mode"].as_str(), Some(mode_text.as_str()));
            let p = &v["processes"][0];
            prop_assert_eq!(p["command"].as_str(), std::str::from_utf8(&command).ok());
            prop_assert_eq!(p["blocked_threads"].as_array().map(Vec::len), Some(blocked.len()));
            prop_assert_eq!(v["processes_unreadable"].as_u64(), Some(0));
            let all = array(&[object(&f), object(&f)]);
            let v: Value = serde_json::from_str(&all).expect("valid JSON array");
            prop_assert_eq!(v.as_array().map(Vec::len), Some(2));
        }
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
        assert_eq!(array(&[]), "[]\n");
    }
}
