//! `nsem list --watch [SECONDS]`: the table redrawn until interrupted, for
//! a person watching semaphores pile up or stay at 0.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::command::Watch;
use crate::failure::{Failure, EXIT_OK};
use crate::output::list_table;
use crate::semaphores::entries;

/// Moves the cursor home and clears the screen.
const CLEAR: &str = "\x1b[H\x1b[2J";

/// Draws the table of the semaphores matching `patterns` (all if none)
/// every `watch.interval`, `watch.count` times (forever if `None`). On a terminal each draw replaces the previous one; otherwise
/// draws follow each other, a blank line apart. A directory that cannot be
/// listed ends the watch with an error.
pub fn run(
    dir: &str,
    patterns: &[String],
    watch: &Watch,
    out: &mut impl Write,
) -> Result<u8, Failure> {
    let terminal = std::io::stdout().is_terminal();
    let mut drawn = 0u64;
    let mut title = String::from("nsem list");
    for p in patterns {
        title.push(' ');
        title.push_str(p);
    }
    loop {
        let table = list_table(&entries(dir, patterns)?);
        let frame = format!(
            "{}Every {}s: {title} ({dir}){}\n\n{table}",
            if terminal { CLEAR } else { "" },
            seconds(watch.interval),
            if terminal { ", Ctrl-C to stop" } else { "" },
        );
        if drawn > 0 && !terminal {
            let _ = out.write_all(b"\n");
        }
        // A reader that went away (a closed pipe) ends the watch.
        if out
            .write_all(frame.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return Ok(EXIT_OK);
        }
        drawn += 1;
        if watch.count.is_some_and(|c| drawn >= c) {
            return Ok(EXIT_OK);
        }
        std::thread::sleep(watch.interval);
    }
}

/// `2`, `0.5`: the interval in seconds, to the millisecond, without
/// trailing zeros (integer arithmetic: no float formatting code).
fn seconds(d: Duration) -> String {
    let millis = d.subsec_millis();
    if millis == 0 {
        return d.as_secs().to_string();
    }
    let fraction = format!("{millis:03}");
    format!("{}.{}", d.as_secs(), fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_shown_as_given() {
        assert_eq!(seconds(Duration::from_secs(2)), "2");
        assert_eq!(seconds(Duration::from_millis(500)), "0.5");
        assert_eq!(seconds(Duration::from_millis(1250)), "1.25");
    }
}
