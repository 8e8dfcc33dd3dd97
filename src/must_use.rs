//! Compile-fail doctests: every way of taking a token is `#[must_use]`, so
//! code that leaves the permit unused does not compile under
//! `#![deny(unused_must_use)]` (and warns without it).
//!
//! Each `compile_fail` example is the passing one below with one line
//! changed: a call whose result is dropped unused. The forms checked: each
//! acquire method called alone (`sem.acquire();`: the method's
//! `#[must_use]`), and `sem.acquire()?;` (the permit's own). Not checked,
//! because the compiler does not lint it: `sem.try_acquire()?;`, which drops
//! an `Option<Permit>` unused; that takes the token and gives it straight
//! back, so nothing leaks.

/// Every acquire, its permit bound: compiles under the same lints.
///
/// ```
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     let _p0 = raw.acquire()?;
///     let _p1 = raw.try_acquire()?;
///     let _p2 = raw.acquire_timeout(d)?;
///     let _p3 = raw.acquire_interruptible(None)?;
///     let _p4 = named.acquire()?;
///     let _p5 = named.try_acquire()?;
///     let _p6 = named.acquire_timeout(d)?;
///     let _p7 = named.acquire_interruptible(None)?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct Bound;

/// The owned permits, bound: compiles under the same lints.
///
/// ```
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     let _p0 = shared.acquire_owned()?;
///     let _p1 = shared.try_acquire_owned()?;
///     let _p2 = shared.acquire_owned_timeout(d)?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(all(doctest, feature = "alloc"))]
struct OwnedBound;

/// `RawSemaphore::acquire` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     raw.acquire();
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct RawSemaphoreAcquireAlone;

/// `RawSemaphore::try_acquire` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     raw.try_acquire();
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct RawSemaphoreTryAcquireAlone;

/// `RawSemaphore::acquire_timeout` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     raw.acquire_timeout(d);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct RawSemaphoreAcquireTimeoutAlone;

/// `RawSemaphore::acquire_interruptible` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     raw.acquire_interruptible(None);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct RawSemaphoreAcquireInterruptibleAlone;

/// `NamedSemaphore::acquire` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     named.acquire();
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct NamedSemaphoreAcquireAlone;

/// `NamedSemaphore::try_acquire` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     named.try_acquire();
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct NamedSemaphoreTryAcquireAlone;

/// `NamedSemaphore::acquire_timeout` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     named.acquire_timeout(d);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct NamedSemaphoreAcquireTimeoutAlone;

/// `NamedSemaphore::acquire_interruptible` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     named.acquire_interruptible(None);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct NamedSemaphoreAcquireInterruptibleAlone;

/// `RawSemaphore::acquire` with `?`: the permit unused.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     raw.acquire()?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct RawSemaphoreAcquireTried;

/// `NamedSemaphore::acquire` with `?`: the permit unused.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     named.acquire()?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(doctest)]
struct NamedSemaphoreAcquireTried;

/// `NamedSemaphore::acquire_owned` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     shared.acquire_owned();
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(all(doctest, feature = "alloc"))]
struct AcquireOwnedAlone;

/// `NamedSemaphore::try_acquire_owned` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     shared.try_acquire_owned();
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(all(doctest, feature = "alloc"))]
struct TryAcquireOwnedAlone;

/// `NamedSemaphore::acquire_owned_timeout` alone.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     shared.acquire_owned_timeout(d);
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(all(doctest, feature = "alloc"))]
struct AcquireOwnedTimeoutAlone;

/// `NamedSemaphore::acquire_owned` with `?`: the permit unused.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// use std::{sync::Arc, time::Duration};
/// use named_semaphores::{Error, NamedSemaphore, RawSemaphore};
///
/// fn f(raw: &RawSemaphore, named: &NamedSemaphore, shared: &Arc<NamedSemaphore>) -> Result<(), Error> {
///     let d = Duration::from_millis(1);
///     let _ = (raw, named, shared, d);
///     shared.acquire_owned()?;
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[cfg(all(doctest, feature = "alloc"))]
struct AcquireOwnedTried;
