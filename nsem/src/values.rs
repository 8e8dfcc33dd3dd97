//! Option values: seconds, token counts and modes, each checked fully, so a
//! value out of range is a usage error before anything is done.

use std::time::Duration;

use named_semaphores::VALUE_MAX;

use crate::failure::{usage, Failure};

/// Seconds, decimals allowed (to the nanosecond), at least 0. Read without
/// floating point, whose parsing code would weigh more than the rest of
/// the parser.
pub fn parse_seconds(s: &str, option: &str, cmd: &str) -> Result<Duration, Failure> {
    let bad = || {
        usage(
            Some(cmd),
            format!("{option}: {s:?} is not a number of seconds >= 0"),
        )
    };
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut nanos = 0u32;
    for (i, b) in fraction.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    Ok(Duration::new(secs, nanos))
}

/// A token count: 0 to `VALUE_MAX`, the most a semaphore holds.
pub fn parse_count(s: &str, what: &str, cmd: &str) -> Result<u32, Failure> {
    match s.parse::<u32>() {
        Ok(n) if n <= VALUE_MAX => Ok(n),
        _ => Err(usage(
            Some(cmd),
            format!("{what}: {s:?} is not a whole number from 0 to {VALUE_MAX}"),
        )),
    }
}

/// An octal mode like `0600` or `0o644`, at most `07777`.
pub fn parse_mode(s: &str) -> Result<u32, Failure> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    match u32::from_str_radix(digits, 8) {
        Ok(m) if m <= 0o7777 && !digits.is_empty() => Ok(m),
        _ => Err(usage(
            Some("create"),
            format!("--mode: {s:?} is not an octal mode like 0600"),
        )),
    }
}
