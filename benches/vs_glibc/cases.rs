//! The benchmark cases, one per module, numbered as their rows are. Each
//! `run` adds its rows to the report through the side-by-side runner; the
//! semaphores a case shares with others come from `main`.

pub mod contended;
pub mod fairness;
pub mod lateness;
pub mod open_close;
pub mod ping_pong;
pub mod recovery;
pub mod robust;
pub mod try_zero;
pub mod uncontended;
pub mod wake;
