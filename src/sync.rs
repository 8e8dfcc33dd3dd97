//! The atomics the protocol uses, in one place so that a model checker can
//! substitute its own.

#[allow(unused_imports)]
pub(crate) use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
