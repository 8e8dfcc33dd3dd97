//! The printed tables: the header (the machine, the runs), one row per case
//! (each side's median with its spread, and the ratio of the first side to
//! the second, in the case's [`Unit`]) and the closing line; also [`median`].
//! The first table sets the crate against glibc; a case may start a table of
//! its own with other sides ([`Report::table`]).

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
    /// Wake-ups counted; lower is better.
    Wakes,
}

impl Unit {
    /// As printed after each figure.
    fn label(self) -> &'static str {
        match self {
            Unit::Nanos => "ns",
            Unit::Micros => "us",
            Unit::PerSec => "/s",
            Unit::Wakes => "wakes",
        }
    }
}

/// The rows printed so far, the notes to print below the tables, when the
/// run started, and the head of a table to print before the next row.
pub struct Report {
    rows: Vec<String>,
    notes: Vec<String>,
    started: Instant,
    head: Option<String>,
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
        let mut report = Report {
            rows: Vec::new(),
            notes: Vec::new(),
            started,
            head: None,
        };
        report.table("crate", "glibc");
        report
    }

    /// Starts a table whose two sides are `first` and `second`: its head is
    /// printed before its first row (not at all if no case of it runs).
    pub fn table(&mut self, first: &str, second: &str) {
        self.head = Some(format!(
            "| case | {first} | {second} | {first}/{second} |\n|---|---|---|---|"
        ));
    }

    /// Prints the row of `case`: each side's median of its runs, their
    /// spread and the ratio of the medians (a dash if the second is 0).
    pub fn row(&mut self, case: &str, unit: Unit, first_runs: &mut [f64], second_runs: &mut [f64]) {
        if let Some(head) = self.head.take() {
            println!();
            println!("{head}");
        }
        let (first, second) = (median(first_runs), median(second_runs));
        let ratio = if second == 0.0 {
            "–".to_owned()
        } else {
            format!("{:.2}", first / second)
        };
        let prec = if matches!(unit, Unit::PerSec | Unit::Wakes) {
            0
        } else {
            1
        };
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
            "| {case} | {first:.prec$} {u} ({fs}) | {second:.prec$} {u} ({ss}) | {ratio} |",
            u = unit.label(),
            fs = spread(first_runs),
            ss = spread(second_runs),
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
