//! The command line: [`Config`], parsed from the arguments, and the
//! iteration counts it scales down for a quick run.
//!
//! ```text
//! --runs N     runs per case (default 7; at most 1 with --quick)
//! --quick      tiny iteration counts: proves every case runs
//! WORD...      only the cases whose name contains one of the words
//! --bench      ignored (cargo passes it)
//! ```

/// What to run, and how often.
pub struct Config {
    /// Runs per case (each run measures both sides).
    pub runs: usize,
    /// A smoke run: tiny iteration counts, figures meaningless.
    pub quick: bool,
    /// Case filters: a case runs if its name contains one of them (all run
    /// if there is none).
    pub filter: Vec<String>,
}

impl Config {
    /// Parses the process arguments; panics on an unknown option or a bad
    /// `--runs`.
    pub fn from_args() -> Config {
        let mut cfg = Config {
            runs: 7,
            quick: false,
            filter: Vec::new(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--bench" => {}
                "--quick" => cfg.quick = true,
                "--runs" => {
                    cfg.runs = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .filter(|&n| n > 0)
                        .expect("--runs N")
                }
                f if !f.starts_with('-') => cfg.filter.push(f.to_owned()),
                other => panic!("unknown option {other}"),
            }
        }
        if cfg.quick {
            cfg.runs = cfg.runs.min(1);
        }
        cfg
    }

    /// `full` iterations normally; a small fraction in a quick run.
    pub fn iters(&self, full: u64) -> u64 {
        if self.quick {
            (full / 100).max(10)
        } else {
            full
        }
    }

    /// The same selection with at most `runs` runs per case.
    pub fn with_runs_at_most(&self, runs: usize) -> Config {
        Config {
            runs: self.runs.min(runs),
            quick: self.quick,
            filter: self.filter.clone(),
        }
    }

    /// Whether the case named `case` passes the filters.
    pub fn selects(&self, case: &str) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| case.contains(f.as_str()))
    }
}
