//! What the user asked for: the [`Command`] with its checked arguments, and
//! the directory ([`Cli`]), as the parser (`cli`) makes them.

use std::ffi::OsString;
use std::time::Duration;

/// The commands, as typed.
pub const COMMANDS: [&str; 8] = [
    "list", "info", "create", "post", "wait", "unlink", "run", "recover",
];

/// A timeout as given: the duration, and the text for messages.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeout {
    pub duration: Duration,
    pub text: String,
}

impl Timeout {
    /// `--try`: one attempt, no waiting.
    pub fn now() -> Self {
        Timeout {
            duration: Duration::ZERO,
            text: "0".into(),
        }
    }

    /// Whether this is a single attempt (`--try` or `--timeout 0`).
    pub fn is_try(&self) -> bool {
        self.duration.is_zero()
    }
}

/// `list --watch`: how often to redraw, and after how many draws to stop.
#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    pub interval: Duration,
    pub count: Option<u64>,
}

/// What to do.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// The help: general (`None`) or of one command.
    Help(Option<&'static str>),
    Version,
    List {
        json: bool,
        watch: Option<Watch>,
        /// Only the names that match one of these (all if none).
        patterns: Vec<String>,
    },
    Info {
        name: String,
        json: bool,
    },
    Create {
        name: String,
        /// `--value`: the value if it creates; with `--robust`, also the
        /// limit of a record it adds to an existing semaphore.
        value: Option<u32>,
        mode: u32,
        exist_ok: bool,
        /// With a record of its holders (robust mode).
        robust: bool,
    },
    Post {
        name: String,
        n: u32,
    },
    Wait {
        name: String,
        timeout: Option<Timeout>,
    },
    Unlink {
        names: Vec<String>,
    },
    Run {
        name: String,
        timeout: Option<Timeout>,
        command: Vec<OsString>,
        /// Holding the token as a recorded holder of a robust semaphore.
        robust: bool,
    },
    /// Gives back the tokens of a robust semaphore's dead holders.
    Recover {
        name: String,
        json: bool,
    },
}

/// The parsed command line.
#[derive(Debug)]
pub struct Cli {
    pub dir: String,
    pub command: Command,
}
