//! The atomics the protocol uses, in one place so that a model checker can
//! substitute its own.
//!
//! Under `--cfg loom` (model checking: `cargo test --lib model`, see
//! `model.rs`) they are loom's instrumented atomics and `futex` is a model of
//! the kernel's futex; otherwise they are `core`'s. Under loom this file also
//! holds the robust mode's crash points (`robust_model.rs`).

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};
// Only the Wide layout uses it; some 32-bit targets (powerpc, mips) have none.
#[cfg(all(not(loom), target_has_atomic = "64"))]
#[allow(unused_imports)]
pub(crate) use core::sync::atomic::AtomicU64;

#[cfg(loom)]
pub(crate) use self::crash::{arm_crash, crash_point, Died};

// Where there are no 64-bit atomics, the robust mode is refused and its
// record never made: this stand-in cannot be made either.
#[cfg(all(not(loom), not(target_has_atomic = "64")))]
pub(crate) use self::no_atomic64::AtomicU64;

#[cfg(loom)]
pub(crate) use self::model::{AtomicI32, AtomicU32, AtomicU64, Ordering};

#[cfg(loom)]
mod model {
    //! loom's atomics behind a `const fn new`: the image is built in const
    //! context (`RawSemaphore::new` is a `const fn`), but a loom atomic can
    //! only be made inside a model execution. Each one is therefore made on
    //! first use, from the value given to `new`. Model tests touch every field
    //! on the main thread before spawning, so that creation is never part of a
    //! race.

    pub(crate) use loom::sync::atomic::Ordering;
    use std::sync::OnceLock;

    macro_rules! lazy_atomic {
        ($name:ident, $loom:ty, $int:ty) => {
            pub(crate) struct $name {
                init: $int,
                cell: OnceLock<$loom>,
            }

            #[allow(dead_code)]
            impl $name {
                pub(crate) const fn new(v: $int) -> Self {
                    Self {
                        init: v,
                        cell: OnceLock::new(),
                    }
                }
                fn get(&self) -> &$loom {
                    self.cell.get_or_init(|| <$loom>::new(self.init))
                }
                pub(crate) fn load(&self, o: Ordering) -> $int {
                    self.get().load(o)
                }
                pub(crate) fn store(&self, v: $int, o: Ordering) {
                    self.get().store(v, o)
                }
                pub(crate) fn fetch_add(&self, v: $int, o: Ordering) -> $int {
                    self.get().fetch_add(v, o)
                }
                pub(crate) fn fetch_sub(&self, v: $int, o: Ordering) -> $int {
                    self.get().fetch_sub(v, o)
                }
                pub(crate) fn fetch_and(&self, v: $int, o: Ordering) -> $int {
                    self.get().fetch_and(v, o)
                }
                pub(crate) fn fetch_or(&self, v: $int, o: Ordering) -> $int {
                    self.get().fetch_or(v, o)
                }
                pub(crate) fn compare_exchange(
                    &self,
                    current: $int,
                    new: $int,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$int, $int> {
                    self.get().compare_exchange(current, new, success, failure)
                }
                pub(crate) fn compare_exchange_weak(
                    &self,
                    current: $int,
                    new: $int,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$int, $int> {
                    self.get()
                        .compare_exchange_weak(current, new, success, failure)
                }
            }
        };
    }

    lazy_atomic!(AtomicI32, loom::sync::atomic::AtomicI32, i32);
    lazy_atomic!(AtomicU32, loom::sync::atomic::AtomicU32, u32);
    lazy_atomic!(AtomicU64, loom::sync::atomic::AtomicU64, u64);
}

#[cfg(loom)]
mod crash {
    //! The deaths of the robust mode's model: `crash_point` (called between
    //! the steps of the robust protocol) ends the calling model thread, by
    //! unwinding with [`Died`], once it has passed the number of points it
    //! was armed with, or as soon as another thread of its "process" died.

    use core::cell::RefCell;
    use loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
    use loom::sync::Arc;

    /// The payload of a model thread's death.
    pub(crate) struct Died;

    struct Plan {
        left: u32,
        /// Shared by the threads of one process (none for a process of one
        /// thread).
        process: Option<Arc<AtomicBool>>,
    }

    loom::thread_local! {
        static PLAN: RefCell<Option<Plan>> = RefCell::new(None);
    }

    /// Arms this model thread: it dies at its `after`-th crash point (never
    /// if `u32::MAX`), or at the first one after `process` is marked dead;
    /// its own death marks `process`.
    pub(crate) fn arm_crash(after: u32, process: Option<Arc<AtomicBool>>) {
        PLAN.with(|p| {
            *p.borrow_mut() = Some(Plan {
                left: after,
                process,
            })
        });
    }

    pub(crate) fn crash_point() {
        let die = PLAN.with(|p| {
            let mut p = p.borrow_mut();
            let Some(plan) = p.as_mut() else { return false };
            if plan.process.as_ref().is_some_and(|dead| dead.load(SeqCst)) {
                return true;
            }
            if plan.left == 0 {
                if let Some(dead) = &plan.process {
                    dead.store(true, SeqCst);
                }
                return true;
            }
            plan.left = plan.left.saturating_sub(u32::from(plan.left != u32::MAX));
            false
        });
        if die {
            std::panic::resume_unwind(std::boxed::Box::new(Died));
        }
    }
}

#[cfg(all(not(loom), not(target_has_atomic = "64")))]
mod no_atomic64 {
    //! A stand-in for `AtomicU64` on targets without 64-bit atomics (some
    //! 32-bit powerpc and mips): a type with no values, so that the robust
    //! record compiles but can never exist there (`file.rs` never maps one,
    //! and the robust mode refuses to start).

    use super::Ordering;
    use core::convert::Infallible;

    pub(crate) struct AtomicU64(Infallible);

    #[allow(dead_code)]
    impl AtomicU64 {
        pub(crate) fn load(&self, _: Ordering) -> u64 {
            match self.0 {}
        }
        pub(crate) fn store(&self, _: u64, _: Ordering) {
            match self.0 {}
        }
        pub(crate) fn fetch_add(&self, _: u64, _: Ordering) -> u64 {
            match self.0 {}
        }
        pub(crate) fn fetch_sub(&self, _: u64, _: Ordering) -> u64 {
            match self.0 {}
        }
        pub(crate) fn fetch_or(&self, _: u64, _: Ordering) -> u64 {
            match self.0 {}
        }
        pub(crate) fn fetch_and(&self, _: u64, _: Ordering) -> u64 {
            match self.0 {}
        }
        pub(crate) fn compare_exchange(
            &self,
            _: u64,
            _: u64,
            _: Ordering,
            _: Ordering,
        ) -> Result<u64, u64> {
            match self.0 {}
        }
    }
}
