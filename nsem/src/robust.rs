//! Robust semaphores as `info` and `recover` show them: the record read
//! into a [`Record`] (its totals and each holder, with whether it lives),
//! and the text of both (their JSON is in `json`).

use std::fmt::Write;

use named_semaphores::{
    holders_in, ErrorKind, Holder, HolderFlags, Liveness, RecordFlags, Recovery,
};

use crate::failure::{error, Failure};

/// A robust semaphore's record, read at one moment.
pub struct Record {
    pub limit: u32,
    pub recovered: u64,
    pub uncertain: u32,
    pub flags: RecordFlags,
    pub holders: Vec<Holder>,
}

/// The record of the semaphore `name` in `dir`, read without opening it;
/// `None` if it has none (a plain semaphore).
pub fn record(dir: &str, name: &str) -> Result<Option<Record>, Failure> {
    let holders = match holders_in(dir, name) {
        Ok(holders) => holders,
        Err(e) if e.kind() == ErrorKind::NotRobust => return Ok(None),
        Err(e) => return Err(error(name, e)),
    };
    let (limit, recovered, uncertain, flags) = (
        holders.limit(),
        holders.recovered(),
        holders.uncertain(),
        holders.flags(),
    );
    let mut holders: Vec<Holder> = holders.collect();
    holders.sort_by_key(|h| (h.pid, h.slot));
    Ok(Some(Record {
        limit,
        recovered,
        uncertain,
        flags,
        holders,
    }))
}

/// `alive`, `dead` or `unknown`.
pub fn liveness_word(liveness: &Liveness) -> &'static str {
    match liveness {
        Liveness::Alive => "alive",
        Liveness::Dead => "dead",
        _ => "unknown",
    }
}

/// The tokens of a holder whose fate a recovery cannot tell: a dead
/// holder's operations in flight, and everything a dead holder's slot holds
/// if a recovery of it died half-way.
pub fn uncertain(h: &Holder) -> u32 {
    if h.liveness != Liveness::Dead {
        return 0;
    }
    let pending = u32::from(h.pending);
    if h.flags.contains(HolderFlags::RECOVERING) {
        h.tokens.saturating_add(pending)
    } else {
        pending
    }
}

/// The record's flags' names, in lower case (`upgraded`, `capped`).
pub fn record_flags(flags: RecordFlags) -> Vec<String> {
    flags
        .iter_names()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect()
}

/// A holder's flags' names, in lower case (`closing`, `recovering`).
pub fn holder_flags(flags: HolderFlags) -> Vec<String> {
    flags
        .iter_names()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `info`'s part on the record: `robust: no`, or its totals and a line per
/// holder.
pub fn record_text(record: Option<&Record>) -> String {
    let Some(r) = record else {
        return "robust:  no\n".to_owned();
    };
    let mut out = format!(
        "robust:  yes, limit {} (recovered so far: {}, {} uncertain)\n",
        r.limit,
        plural(r.recovered, "token", "tokens"),
        r.uncertain,
    );
    if !r.flags.is_empty() {
        let _ = writeln!(out, "record:  {}", record_flags(r.flags).join(", "));
    }
    let held: u64 = r.holders.iter().map(|h| u64::from(h.tokens)).sum();
    let dead = r
        .holders
        .iter()
        .filter(|h| h.liveness == Liveness::Dead && !h.corrupt)
        .count();
    let _ = write!(
        out,
        "holders: {}, holding {}",
        r.holders.len(),
        plural(held, "token", "tokens")
    );
    if dead > 0 {
        let _ = write!(
            out,
            "; {dead} dead (nsem recover gives back what they hold)"
        );
    }
    out.push('\n');
    if r.holders.is_empty() {
        return out;
    }
    let _ = writeln!(out, "  {:>7}  {:>6}  STATE", "PID", "TOKENS");
    for h in &r.holders {
        let _ = writeln!(out, "  {:>7}  {:>6}  {}", h.pid, h.tokens, state(h));
    }
    out
}

/// A holder's state for people: `alive`, `dead`, `unknown (why)`, and what
/// else its slot says.
fn state(h: &Holder) -> String {
    let mut s = match &h.liveness {
        Liveness::Unknown(e) => format!("unknown ({e}): never recovered"),
        other => liveness_word(other).to_owned(),
    };
    let uncertain = uncertain(h);
    if uncertain > 0 {
        let _ = write!(s, ", {uncertain} uncertain (not given back)");
    } else if h.pending > 0 {
        let _ = write!(s, ", {} in flight", h.pending);
    }
    for flag in holder_flags(h.flags) {
        let _ = write!(s, ", {flag}");
    }
    if h.corrupt {
        s.push_str(", corrupt (claims more than the limit: left alone)");
    }
    s
}

/// What `recover` did, for people; `value` is the value after it.
pub fn recovery_text(shown: &str, done: &Recovery, value: u32) -> String {
    let mut out = format!(
        "{shown}: gave back {} of {}; value now {value}\n",
        plural(u64::from(done.tokens), "token", "tokens"),
        plural(u64::from(done.holders), "dead holder", "dead holders"),
    );
    if done.uncertain > 0 {
        let _ = writeln!(
            out,
            "  {} uncertain: the holder died in the middle of taking or giving back \
             (not given back, so that none is given back twice)",
            plural(u64::from(done.uncertain), "token", "tokens"),
        );
    }
    if done.undecided > 0 {
        let _ = writeln!(
            out,
            "  {} undecided: liveness could not be told (beacon file missing or \
             unreadable): left alone",
            plural(u64::from(done.undecided), "holder", "holders"),
        );
    }
    if done.corrupt > 0 {
        let _ = writeln!(
            out,
            "  {} corrupt: claiming more tokens than the limit: left alone",
            plural(u64::from(done.corrupt), "slot", "slots"),
        );
    }
    if done.beacons > 0 {
        let _ = writeln!(
            out,
            "  {} of holders killed while opening removed",
            plural(u64::from(done.beacons), "beacon file", "beacon files"),
        );
    }
    out
}
