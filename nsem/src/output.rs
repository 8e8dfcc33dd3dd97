//! What `list` and `info` print for people: a table and `key: value`
//! lines (JSON is in `json`).

use std::fmt::Write;

use named_semaphores::{Layout, OwnedEntry, ProcessUse, SemaphoreInfo, Status, UseSummary};

use crate::names::Names;

/// One process using a semaphore, owned (see `ProcessUse`).
pub struct Process {
    pub pid: u32,
    pub uid: u32,
    pub command: Vec<u8>,
    pub blocked: Vec<u32>,
    pub blocked_count: u32,
    pub threads_unreadable: u32,
}

impl From<&ProcessUse<'_>> for Process {
    fn from(p: &ProcessUse<'_>) -> Self {
        Process {
            pid: p.pid,
            uid: p.uid,
            command: p.command.to_vec(),
            blocked: p.blocked.to_vec(),
            blocked_count: p.blocked_count,
            threads_unreadable: p.threads_unreadable,
        }
    }
}

/// Who uses a semaphore: the processes, and what could not be read.
pub struct Users {
    pub processes: Vec<Process>,
    pub summary: UseSummary,
}

/// A command name for display: control characters and bytes that are not
/// UTF-8 escaped as in [`display_name`].
pub fn display_command(command: &[u8]) -> String {
    display_name(command)[1..].to_owned()
}

/// A listed name (`/NAME`, as the library gives it) without its slash, as
/// the tool's own functions take names.
pub fn bare(name: &[u8]) -> &[u8] {
    name.strip_prefix(b"/").unwrap_or(name)
}

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

pub fn opt(v: Option<u32>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The status word, with the temporary-file mark.
pub fn status_text(info: &SemaphoreInfo) -> String {
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
    if let Status::OtherLayout(layout) = info.status {
        let bits = match layout {
            Layout::Narrow => 32,
            Layout::Wide => 64,
        };
        let _ = write!(s, " (made by a {bits}-bit process)");
    }
    if info.robust {
        s.push_str(", robust");
    }
    if info.temporary {
        s.push_str(", temporary");
    }
    s
}

/// The `list` table.
pub fn list_table(entries: &[OwnedEntry]) -> String {
    let mut names = Names::default();
    let header = ["NAME", "VALUE", "WAITERS", "MODE", "OWNER", "STATUS"];
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            [
                display_name(bare(&e.name)),
                opt(e.info.value),
                opt(e.info.waiters),
                format!("{:04o}", e.info.mode),
                names.owner(e.info.uid, e.info.gid),
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
    let mut names = Names::default();
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
    let (user, group) = (
        names.user(info.uid).map(str::to_owned),
        names.group(info.gid).map(str::to_owned),
    );
    field("owner", who(user.as_deref(), info.uid));
    field("group", who(group.as_deref(), info.gid));
    field("type", info.kind.as_str().to_owned());
    field("size", info.size.to_string());
    field("status", status_text(info));
    out
}

/// `info`'s part on the processes using the semaphore.
pub fn users_text(users: &Users) -> String {
    let mut names = Names::default();
    let s = &users.summary;
    let mut out = format!(
        "used by: {} process{}, {} thread{} blocked on it\n",
        s.processes,
        if s.processes == 1 { "" } else { "es" },
        s.blocked_threads,
        if s.blocked_threads == 1 { "" } else { "s" },
    );
    if s.processes_unreadable > 0 {
        let _ = writeln!(
            out,
            "         {} process{} could not be read (not permitted): not counted above",
            s.processes_unreadable,
            if s.processes_unreadable == 1 {
                ""
            } else {
                "es"
            },
        );
    }
    if s.others_hidden {
        let _ = writeln!(
            out,
            "         other users' processes are hidden from this one (/proc hidepid): not counted above"
        );
    }
    if s.threads_unreadable > 0 {
        let _ = writeln!(
            out,
            "         {} thread{} could not be checked (not permitted to trace)",
            s.threads_unreadable,
            if s.threads_unreadable == 1 { "" } else { "s" },
        );
    }
    if users.processes.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "  {:>7}  {:<12} {:<16} BLOCKED THREADS",
        "PID", "USER", "COMMAND"
    );
    for p in &users.processes {
        let user = names.user(p.uid).map_or(p.uid.to_string(), str::to_owned);
        let mut blocked: Vec<String> = p.blocked.iter().map(u32::to_string).collect();
        if p.blocked_count as usize > p.blocked.len() {
            blocked.push(format!("(+{})", p.blocked_count as usize - p.blocked.len()));
        }
        if p.threads_unreadable > 0 {
            blocked.push(format!("({} not checked)", p.threads_unreadable));
        }
        let blocked = if blocked.is_empty() {
            "-".to_owned()
        } else {
            blocked.join(" ")
        };
        let line = format!(
            "  {:>7}  {user:<12} {:<16} {blocked}",
            p.pid,
            display_command(&p.command)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
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
}
