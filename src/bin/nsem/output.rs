//! What `list` and `info` print: a table, `key: value` lines, or JSON.

use std::collections::HashMap;
use std::fmt::Write;

use named_semaphores::{OwnedEntry, SemaphoreInfo, Status};

/// A name for display: `/` and the name, with bytes that are not UTF-8
/// shown as `\xNN` and control characters and `\` escaped, so that every
/// name is visible and distinct.
pub fn display_name(name: &[u8]) -> String {
    let mut out = String::from("/");
    for chunk in name.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else if c.is_control() {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// User and group names from `/etc/passwd` and `/etc/group`, numbers when
/// a name is unknown.
struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Names {
    fn load() -> Self {
        Names {
            users: read_ids("/etc/passwd"),
            groups: read_ids("/etc/group"),
        }
    }

    fn user(&self, uid: u32) -> Option<&str> {
        self.users.get(&uid).map(String::as_str)
    }

    fn group(&self, gid: u32) -> Option<&str> {
        self.groups.get(&gid).map(String::as_str)
    }

    fn owner(&self, info: &SemaphoreInfo) -> String {
        let user = self
            .user(info.uid)
            .map_or(info.uid.to_string(), str::to_owned);
        let group = self
            .group(info.gid)
            .map_or(info.gid.to_string(), str::to_owned);
        format!("{user}:{group}")
    }
}

/// `name:x:id:...` lines: id -> name (the first name for an id wins).
fn read_ids(path: &str) -> HashMap<u32, String> {
    let mut map = HashMap::new();
    if let Ok(text) = std::fs::read_to_string(path) {
        for line in text.lines() {
            let mut fields = line.split(':');
            if let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) {
                if let Ok(id) = id.parse() {
                    map.entry(id).or_insert_with(|| name.to_owned());
                }
            }
        }
    }
    map
}

fn opt(v: Option<u32>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The status word, with the temporary-file mark.
fn status_text(info: &SemaphoreInfo) -> String {
    let mut s = info.status.as_str().to_owned();
    if let Status::Unreadable(e) = info.status {
        let _ = write!(s, " ({e})");
    }
    if info.status == Status::NotRegularFile {
        let _ = write!(s, " ({})", info.kind.as_str());
    }
    if info.status == Status::WrongSize {
        let _ = write!(s, " ({} bytes)", info.size);
    }
    if info.temporary {
        s.push_str(", temporary");
    }
    s
}

/// The `list` table.
pub fn list_table(entries: &[OwnedEntry]) -> String {
    let names = Names::load();
    let header = ["NAME", "VALUE", "WAITERS", "MODE", "OWNER", "STATUS"];
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                display_name(&e.name),
                opt(e.info.value),
                opt(e.info.waiters),
                format!("{:04o}", e.info.mode),
                names.owner(&e.info),
                status_text(&e.info),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 6]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let w = width[i];
            if i == 5 {
                l.push_str(cell);
            } else if i == 1 || i == 2 {
                let _ = write!(l, "{cell:>w$}  ");
            } else {
                let _ = write!(l, "{cell:<w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header);
    for row in &rows {
        line(row.each_ref().map(String::as_str));
    }
    out
}

/// `info` as `key: value` lines.
pub fn info_text(name: &[u8], info: &SemaphoreInfo, dir: &str) -> String {
    let names = Names::load();
    let mut out = String::new();
    let mut field = |key: &str, value: String| {
        let _ = writeln!(out, "{:<9}{value}", format!("{key}:"));
    };
    field("name", display_name(name));
    field(
        "path",
        format!(
            "{}/sem.{}",
            dir.trim_end_matches('/'),
            &display_name(name)[1..]
        ),
    );
    field("value", opt(info.value));
    field("waiters", opt(info.waiters));
    field("mode", format!("{:04o}", info.mode));
    let who = |name: Option<&str>, id: u32| match name {
        Some(n) => format!("{n} ({id})"),
        None => id.to_string(),
    };
    field("owner", who(names.user(info.uid), info.uid));
    field("group", who(names.group(info.gid), info.gid));
    field("type", info.kind.as_str().to_owned());
    field("size", info.size.to_string());
    field("status", status_text(info));
    out
}

/// A JSON string literal.
fn json_str(s: &str) -> String {
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

fn json_opt_u32(v: Option<u32>) -> String {
    v.map_or_else(|| "null".to_owned(), |v| v.to_string())
}

fn json_opt_str(v: Option<&str>) -> String {
    v.map_or_else(|| "null".to_owned(), json_str)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn entry_json_with(names: &Names, name: &[u8], info: &SemaphoreInfo) -> String {
    let utf8 = std::str::from_utf8(name).ok().map(|n| format!("/{n}"));
    let error = match info.status {
        Status::Unreadable(e) => Some(e.to_string()),
        _ => None,
    };
    format!(
        "{{\"name\":{},\"name_hex\":{},\"value\":{},\"waiters\":{},\"mode\":{},\
         \"uid\":{},\"gid\":{},\"user\":{},\"group\":{},\"type\":{},\"size\":{},\
         \"status\":{},\"error\":{},\"temporary\":{}}}",
        json_opt_str(utf8.as_deref()),
        json_str(&hex(name)),
        json_opt_u32(info.value),
        json_opt_u32(info.waiters),
        json_str(&format!("{:04o}", info.mode)),
        info.uid,
        info.gid,
        json_opt_str(names.user(info.uid)),
        json_opt_str(names.group(info.gid)),
        json_str(info.kind.as_str()),
        info.size,
        json_str(info.status.as_str()),
        json_opt_str(error.as_deref()),
        info.temporary,
    )
}

/// One semaphore as a JSON object. `name` is `/NAME`, or `null` if the name
/// is not UTF-8; `name_hex` always holds the name's bytes (without the
/// slash) in hexadecimal.
pub fn entry_json(name: &[u8], info: &SemaphoreInfo) -> String {
    entry_json_with(&Names::load(), name, info)
}

/// `list --json`: an array of [`entry_json`] objects, one a line.
pub fn list_json(entries: &[OwnedEntry]) -> String {
    let names = Names::load();
    let mut out = String::from("[");
    for (i, e) in entries.iter().enumerate() {
        out.push_str(if i == 0 { "\n  " } else { ",\n  " });
        out.push_str(&entry_json_with(&names, &e.name, &e.info));
    }
    out.push_str(if entries.is_empty() { "]\n" } else { "\n]\n" });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_shown_faithfully() {
        assert_eq!(display_name(b"jobs"), "/jobs");
        assert_eq!(display_name(b"caf\xc3\xa9"), "/café");
        assert_eq!(display_name(b"a\xffb"), "/a\\xffb");
        assert_eq!(display_name(b"a\nb\\"), "/a\\u{a}b\\\\");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }
}
