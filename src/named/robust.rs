//! The robust mode of a [`NamedSemaphore`]: making a handle a holder,
//! [`recover`](NamedSemaphore::recover), [`holders`](NamedSemaphore::holders)
//! and the waits of a robust handle. The record, beacons and recovery
//! themselves are in `robust.rs` and `robust/`.

use core::time::Duration;

use rustix::io::Errno;

use crate::error::{Error, ErrorKind, Operation};
use crate::futex::{self, Deadline, WaitMode};
use crate::named::NamedSemaphore;
use crate::raw::deadline::Clock;
use crate::raw::interruptible_wait;
use crate::raw::permit::Permit;
use crate::robust::record::{corrupt, HeaderState, Slot, RECORD_LEN};
use crate::robust::source::Source;
use crate::robust::{protocol, recover, sweep, Holders, Recovery, Registration, Scope};

/// A handle maps the file as it was when it opened: one opened before a
/// record was added does not see it, and says so.
fn not_robust() -> Error {
    Error::new(
        ErrorKind::NotRobust,
        Errno::OPNOTSUPP,
        "as of this handle's open: open the semaphore again if one was added since",
    )
}

impl NamedSemaphore {
    /// Makes this handle a holder of its semaphore (the open path of
    /// [`OpenOptions::robust`](crate::OpenOptions::robust)): completes the
    /// record of a plain semaphore's file that was extended for one, with
    /// `limit` as its limit, then registers.
    pub(crate) fn make_robust(
        &mut self,
        limit: Option<u32>,
        period: Duration,
    ) -> Result<(), Error> {
        let record = self.map.record().ok_or_else(not_robust)?;
        match record.header.state() {
            HeaderState::Robust(_) => {}
            // Another opener is adding the record, its limit already set.
            HeaderState::Upgrading(_) => {
                record.header.upgrade(0)?;
            }
            HeaderState::Empty => {
                let invalid = |why| Error::new(ErrorKind::InvalidArgument, Errno::INVAL, why);
                let limit = limit.ok_or_else(|| {
                    invalid(
                        "semaphore has no robust record: give initial_value (the value it was \
                         created with) to add one",
                    )
                })?;
                if self.map.sem().value() > limit {
                    return Err(invalid(
                        "semaphore has no robust record, and its value is above the \
                         initial_value given as its limit",
                    ));
                }
                record.header.upgrade(limit)?;
            }
            HeaderState::Corrupt => return Err(corrupt("robust record header is not valid")),
        }
        self.register(period)
    }

    /// Registers this handle in its record.
    pub(crate) fn register(&mut self, period: Duration) -> Result<(), Error> {
        let record = self.map.record().ok_or_else(not_robust)?;
        let file = (self.map.access(), self.map.id());
        let registration = Registration::register(self.map.sem(), record, &self.dir, file, period)?;
        self.robust = Some(registration);
        Ok(())
    }

    /// The drop's part: gives back what this handle's slot still records
    /// and frees it (unless a forked child still holds the handle).
    pub(super) fn unregister(&mut self) {
        let Some(registration) = self.robust.take() else {
            return;
        };
        if let Some(record) = self.map.record() {
            registration.close(self.map.sem(), record, &self.dir);
        }
    }

    /// Whether this handle is robust: its tokens are recorded and come back
    /// if the process dies holding them ([`OpenOptions::robust`]).
    ///
    /// [`OpenOptions::robust`]: crate::OpenOptions::robust
    ///
    /// ```
    /// use named_semaphores::{Existence, NamedSemaphore};
    /// # let name = format!("doc-is-robust-{}", std::process::id());
    /// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
    ///
    /// let robust = NamedSemaphore::options()
    ///     .robust(true)
    ///     .existence(Existence::CreateNew)
    ///     .open(&name)?;
    /// let plain = NamedSemaphore::open(&name)?; // the same semaphore
    /// assert!(robust.is_robust() && !plain.is_robust());
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    #[inline]
    pub fn is_robust(&self) -> bool {
        self.robust.is_some()
    }

    /// Gives back the tokens of every dead holder of this robust semaphore,
    /// now, and says what it did. Any handle of a semaphore with a record
    /// may call it, robust or not; robust handles also do it by themselves
    /// before they sleep and every check period while they wait.
    ///
    /// A holder is dead when no process holds its beacon's lock: it exited,
    /// was killed, or `exec`ed another program. A stopped process, or a
    /// parent whose forked child still holds the handle, is alive. A dead
    /// holder's tokens come back once, however many processes recover at the
    /// same moment; tokens it was moving as it died are reported as
    /// uncertain and not given back. It also removes the beacon files of
    /// holders that died while opening ([`Recovery::beacons`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotRobust`] if the semaphore has no record;
    /// [`ErrorKind::CorruptRecord`] if its header is not one this crate
    /// writes (nothing is given back).
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::{Existence, NamedSemaphore};
    /// # let name = format!("doc-recover-{}", std::process::id());
    /// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
    ///
    /// let sem = NamedSemaphore::options()
    ///     .robust(true)
    ///     .initial_value(1)
    ///     .existence(Existence::CreateNew)
    ///     .open(&name)?;
    /// let done = sem.recover()?;
    /// assert_eq!((done.tokens, done.holders, done.uncertain), (0, 0, 0)); // nobody died
    ///
    /// // A plain handle may recover too; a semaphore without a record cannot.
    /// let plain = NamedSemaphore::open(&name)?;
    /// assert_eq!(plain.recover()?.tokens, 0);
    /// # let other = format!("{name}-plain");
    /// let no_record = NamedSemaphore::create(&other, 1)?;
    /// let err = no_record.recover().unwrap_err();
    /// assert_eq!(err.kind(), named_semaphores::ErrorKind::NotRobust);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn recover(&self) -> Result<Recovery, Error> {
        let record = self.map.record().ok_or_else(not_robust);
        let own = self.robust.as_ref().map_or(0, Registration::id);
        record
            .and_then(|record| {
                let mut done = recover(self.map.sem(), record, &self.dir, own, Scope::All)?;
                done.beacons = sweep::sweep(record, &self.dir, self.map.id());
                Ok(done)
            })
            .map_err(|e| e.on(Operation::Recover, self.name_bytes()))
    }

    /// The holders recorded in this robust semaphore's record, read now:
    /// each with the tokens it holds and whether it lives. Any handle of a
    /// semaphore with a record may call it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotRobust`] if the semaphore has no record;
    /// [`ErrorKind::CorruptRecord`] if its header is not one this crate
    /// writes.
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::{Existence, Liveness, NamedSemaphore};
    /// # let name = format!("doc-holders-method-{}", std::process::id());
    /// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
    ///
    /// let sem = NamedSemaphore::options()
    ///     .robust(true)
    ///     .initial_value(2)
    ///     .existence(Existence::CreateNew)
    ///     .open(&name)?;
    /// let _a = sem.acquire()?;
    /// let _b = sem.acquire()?;
    /// let me = sem.holders()?.next().expect("this handle");
    /// assert_eq!((me.tokens, me.liveness), (2, Liveness::Alive));
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn holders(&self) -> Result<Holders, Error> {
        let record = self
            .map
            .record()
            .ok_or_else(not_robust)
            .map_err(|e| e.on(Operation::Inspect, self.name_bytes()))?;
        let mut bytes = [0u8; RECORD_LEN];
        record.copy_to(&mut bytes);
        Holders::from_bytes(bytes, self.dir.clone())
            .map_err(|e| e.on(Operation::Inspect, self.name_bytes()))
    }

    /// Gives back one token this robust handle's record holds (the token of
    /// a permit that was `mem::forget`ed rather than dropped), or, if it
    /// holds none, releases one as [`release`](Self::release) does.
    /// Returns whether a recorded token went back.
    ///
    /// For holders that cannot keep a permit, such as a C program's
    /// `sem_post` after a `sem_wait` made elsewhere: take with a permit and
    /// `core::mem::forget` it (the token stays recorded, and comes back if
    /// the process dies), give back with this. The record then counts the
    /// handle's takes not yet matched by a release. On a plain handle this
    /// is [`release`](Self::release).
    ///
    /// # Errors
    ///
    /// As for [`release`](Self::release).
    ///
    /// # Examples
    ///
    /// ```
    /// use named_semaphores::{Existence, NamedSemaphore};
    /// # let name = format!("doc-release-held-{}", std::process::id());
    /// # if cfg!(not(target_has_atomic = "64")) { return Ok(()); } // no robust mode there
    ///
    /// let sem = NamedSemaphore::options()
    ///     .robust(true)
    ///     .initial_value(1)
    ///     .existence(Existence::CreateNew)
    ///     .open(&name)?;
    /// core::mem::forget(sem.acquire()?); // held and recorded, with no permit
    /// assert_eq!(sem.holders()?.next().unwrap().tokens, 1);
    /// assert!(sem.release_held()?); // the recorded token goes back
    /// assert!(!sem.release_held()?); // none left: a plain release
    /// assert_eq!(sem.value(), 2);
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    pub fn release_held(&self) -> Result<bool, Error> {
        let released = match self.robust_slot() {
            Some(slot) => protocol::give_if_held(self.map.sem(), slot),
            None => self.map.sem().release().map(|()| false),
        };
        released.map_err(|e| e.on(Operation::Release, self.name_bytes()))
    }

    /// The record, directory and file identity a sweep works on (unit
    /// tests; not built for the loom models, which do not sweep).
    #[cfg(all(test, not(loom), target_has_atomic = "64"))]
    pub(crate) fn sweep_parts(
        &self,
    ) -> Option<(
        &crate::robust::record::Record,
        &crate::name::Directory,
        crate::file_id::FileId,
    )> {
        Some((self.map.record()?, &self.dir, self.map.id()))
    }

    /// This handle's slot, if it is robust.
    #[inline]
    pub(crate) fn robust_slot(&self) -> Option<&Slot> {
        Some(self.robust.as_ref()?.slot(self.map.record()?))
    }

    /// A permit for a token just taken by this handle (and recorded in its
    /// slot if it is robust).
    #[inline]
    pub(crate) fn permit(&self) -> Permit<'_> {
        let robust = self.robust.as_ref();
        match robust.and_then(|r| self.map.slot_source(r.slot_index())) {
            Some(source) => Permit::from_source(source),
            None => Permit::from_source(Source::plain(self.map.sem())),
        }
    }

    /// `acquire` past a plain handle's uncontended path: a robust handle's
    /// (its token recorded in its slot), or a plain handle's wait. Out of
    /// line, so that a plain handle's uncontended `acquire` stays as small
    /// as it was.
    #[inline(never)]
    pub(crate) fn acquire_rest(&self) -> Result<Permit<'_>, Error> {
        self.take_token()
            .map_err(|e| e.on(Operation::Acquire, self.name_bytes()))?;
        Ok(self.permit())
    }

    /// Takes a token, sleeping until one comes (a robust handle records it
    /// in its slot, and checks for dead holders while it waits).
    #[inline]
    pub(crate) fn take_token(&self) -> Result<(), Error> {
        match self.robust_take(None, WaitMode::default()) {
            Some(taken) => taken.map(|_| ()),
            None => self.map.sem().take(),
        }
    }

    /// Takes a token if one is available now (recorded by a robust handle).
    #[inline]
    pub(crate) fn take_token_now(&self) -> bool {
        match self.robust_slot() {
            Some(slot) => protocol::take_once(self.map.sem(), slot),
            None => self.map.sem().take_now(),
        }
    }

    /// Takes a token, waiting at most `timeout`: whether one came.
    pub(crate) fn take_token_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        if self.robust.is_some() {
            if timeout.is_zero() {
                return Ok(self.take_token_now());
            }
            let deadline = futex::deadline_after(timeout);
            if let Some(taken) = self.robust_take(deadline.as_ref(), WaitMode::default()) {
                return taken;
            }
        }
        self.map.sem().take_timeout(timeout)
    }

    /// Takes a token with `sem_clockwait`'s semantics: whether one came.
    pub(crate) fn take_token_interruptible(
        &self,
        deadline: Option<(Clock, Duration)>,
    ) -> Result<bool, Error> {
        let (at, mode) = interruptible_wait(deadline);
        match self.robust_take(at.as_ref(), mode) {
            Some(taken) => taken,
            None => self.map.sem().take_interruptible(deadline),
        }
    }

    /// A robust handle's take, recorded in its slot: `None` for a plain
    /// handle.
    #[inline]
    fn robust_take(
        &self,
        deadline: Option<&Deadline>,
        mode: WaitMode,
    ) -> Option<Result<bool, Error>> {
        let registration = self.robust.as_ref()?;
        let record = self.map.record()?;
        let sem = self.map.sem();
        // The uncontended path, inline; the wait and its checks are not.
        if protocol::take_once(sem, registration.slot(record)) {
            return Some(Ok(true));
        }
        Some(registration.take(sem, record, &self.dir, deadline, mode))
    }
}
