//! The printed table: its header (the machine, the runs), one row per case
//! (each side's median with its spread, and the ratio crate / glibc, in the
//! case's [`Unit`]) and the closing line; also [`median`].

use std::time::Instant;

use crate::config::Config;
use crate::procs::cpus;

/// The unit of a case's figures, which says which way is better.
#[derive(Clone, Copy, PartialEq)]
pub enum Unit {
    /// Nanoseconds per operation; lower is better.
    Nanos,
    /// Microseconds; lower is better.
    Micros,
    /// Operations per second; higher is better.
    PerSec,
}

impl Unit {
    /// As printed after each figure.
    fn label(self) -> &'static str {
        match self {
            Unit::Nanos => "ns",
            Unit::Micros => "us",
            Unit::PerSec => "/s",
        }
    }
}

/// The rows printed so far, the notes to print below the table, and when
/// the run started.
pub struct Report {
    rows: Vec<String>,
    notes: Vec<String>,
    started: Instant,
}

impl Report {
    /// Prints the header (the machine, the runs per case, the table's head)
    /// and starts the clock of the run.
    pub fn start(cfg: &Config) -> Report {
        let started = Instant::now();
        println!("machine: {}", machine());
        println!(
            "runs per case: {}{}; figures are medians (min..max) of the runs",
            cfg.runs,
            if cfg.quick {
                " (quick: tiny iteration counts, figures meaningless)"
            } else {
                ""
            }
        );
        println!();
        println!("| case | crate | glibc | crate/glibc |");
        println!("|---|---|---|---|");
        Report {
            rows: Vec::new(),
            notes: Vec::new(),
            started,
        }
    }

    /// Prints the row of `case`: each side's median of its runs, their
    /// spread and the ratio of the medians.
    pub fn row(&mut self, case: &str, unit: Unit, crate_runs: &mut [f64], glibc_runs: &mut [f64]) {
        let (c, g) = (median(crate_runs), median(glibc_runs));
        let ratio = c / g;
        let prec = if unit == Unit::PerSec { 0 } else { 1 };
        let spread = |runs: &[f64]| {
            format!(
                "{:.*}..{:.*}",
                prec,
                runs.iter().copied().fold(f64::INFINITY, f64::min),
                prec,
                runs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
            )
        };
        let line = format!(
            "| {case} | {c:.prec$} {u} ({cs}) | {g:.prec$} {u} ({gs}) | {ratio:.2} |",
            u = unit.label(),
            cs = spread(crate_runs),
            gs = spread(glibc_runs),
        );
        println!("{line}");
        self.rows.push(line);
    }

    /// Keeps `line` (a figure that is not a timing) to print below the table.
    pub fn note(&mut self, line: String) {
        self.notes.push(line);
    }

    /// Prints the notes, then the closing line: how many cases, how long,
    /// the machine after.
    pub fn finish(self) {
        println!();
        for note in &self.notes {
            println!("{note}");
        }
        if !self.notes.is_empty() {
            println!();
        }
        println!(
            "{} cases in {:.1} s; machine after: {}",
            self.rows.len(),
            self.started.elapsed().as_secs_f64(),
            machine()
        );
    }
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The CPUs, their model and the load average.
fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "{} CPUs, {model}; load average {}",
        cpus(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}
