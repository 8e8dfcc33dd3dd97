//! The atomics the protocol uses, in one place so that a model checker can
//! substitute its own.
//!
//! Under `--cfg loom` (model checking: `cargo test --lib model`, see
//! `model.rs`) they are loom's instrumented atomics and `futex` is a model of
//! the kernel's futex; otherwise they are `core`'s.

#[cfg(not(loom))]
#[allow(unused_imports)]
pub(crate) use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};
// Only the Wide layout uses it; some 32-bit targets (powerpc, mips) have none.
#[cfg(all(not(loom), target_has_atomic = "64"))]
#[allow(unused_imports)]
pub(crate) use core::sync::atomic::AtomicU64;

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
