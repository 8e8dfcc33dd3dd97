//! The owning side of listing (feature `alloc`): [`OwnedEntry`], an entry
//! that outlives the listing's buffer, and [`list_all`], which collects a
//! whole directory.

use super::{list_in, Entry, SemaphoreInfo, LIST_BUFFER_LEN};
use crate::error::Error;
use crate::name::Quoted;
use crate::name::DEFAULT_DIRECTORY;

impl Entry<'_> {
    /// An owning copy of the entry, which outlives the listing's buffer.
    ///
    /// (Not `to_owned`: `Entry` is `Clone`, so `entry.to_owned()` is the
    /// standard library's `ToOwned` and gives an `Entry`, with or without
    /// this crate's `alloc` feature.)
    ///
    /// ```
    /// use named_semaphores::{list, NamedSemaphore, OwnedEntry, LIST_BUFFER_LEN};
    /// # let name = format!("doc-into-owned-{}", std::process::id());
    ///
    /// let _sem = NamedSemaphore::create(&name, 1)?;
    /// let mut kept: Vec<OwnedEntry> = Vec::new();
    /// {
    ///     let mut buf = [core::mem::MaybeUninit::uninit(); LIST_BUFFER_LEN];
    ///     let mut listing = list(&mut buf)?;
    ///     while let Some(entry) = listing.next() {
    ///         kept.push(entry?.into_owned());
    ///     }
    /// } // the buffer is gone; the owned entries remain
    /// assert!(kept.iter().any(|e| e.name == format!("/{name}").as_bytes()));
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
    #[must_use]
    pub fn into_owned(self) -> OwnedEntry {
        OwnedEntry {
            name: self.name.into(),
            info: self.info,
        }
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl From<Entry<'_>> for OwnedEntry {
    fn from(entry: Entry<'_>) -> Self {
        entry.into_owned()
    }
}

/// An [`Entry`] that owns its name, as returned by [`list_all`].
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OwnedEntry {
    /// The semaphore's name in its canonical form, `/NAME`, as
    /// [`Entry::name`] has it. Not necessarily UTF-8.
    pub name: alloc::vec::Vec<u8>,
    /// What the file holds.
    pub info: SemaphoreInfo,
}

/// As [`Entry`]'s: the name as text, and the info.
impl core::fmt::Debug for OwnedEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("OwnedEntry")
            .field("name", &Quoted(&self.name))
            .field("info", &self.info)
            .finish()
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl OwnedEntry {
    /// The name as a `&str` (`"/jobs"`), if it is UTF-8.
    ///
    /// ```
    /// use named_semaphores::{list_all_in, Existence, NamedSemaphore};
    /// # struct Guard(String);
    /// # impl Drop for Guard { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
    /// # let guard = Guard(format!("/dev/shm/doc-owned-name-{}", std::process::id()));
    /// # std::fs::create_dir(&guard.0).unwrap();
    /// # let dir: &str = &guard.0;
    ///
    /// let mut options = NamedSemaphore::options();
    /// let _sem = options.directory(dir).existence(Existence::CreateNew).open("jobs")?;
    /// assert_eq!(list_all_in(dir)?[0].name_str(), Some("/jobs"));
    /// # Ok::<(), named_semaphores::Error>(())
    /// ```
    #[must_use]
    pub fn name_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.name).ok()
    }
}

/// Every semaphore in `/dev/shm`, with owned names.
///
/// # Errors
///
/// As for [`list`](crate::list).
///
/// ```
/// use named_semaphores::{list_all, NamedSemaphore};
/// # let name = format!("doc-list-all-{}", std::process::id());
///
/// let _sem = NamedSemaphore::create(&name, 1)?;
/// let all = list_all()?;
/// assert!(all.iter().any(|e| e.name_str() == Some(_sem.name())));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub fn list_all() -> Result<alloc::vec::Vec<OwnedEntry>, Error> {
    list_all_in(DEFAULT_DIRECTORY)
}

/// [`list_all`] in another directory.
///
/// # Errors
///
/// As for [`list_in`].
///
/// # Examples
///
/// ```
/// use named_semaphores::{list_all_in, Existence, NamedSemaphore};
/// # struct Guard(String);
/// # impl Drop for Guard { fn drop(&mut self) { let _ = std::fs::remove_dir_all(&self.0); } }
/// # let guard = Guard(format!("/dev/shm/doc-list-all-in-{}", std::process::id()));
/// # std::fs::create_dir(&guard.0).unwrap();
/// # let dir: &str = &guard.0;
///
/// let mut options = NamedSemaphore::options();
/// let _sem = options.directory(dir).initial_value(3).existence(Existence::CreateNew).open("jobs")?;
/// let all = list_all_in(dir)?;
/// assert_eq!(all.len(), 1);
/// assert_eq!((&all[0].name[..], all[0].info.value), (&b"/jobs"[..], Some(3)));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub fn list_all_in(directory: &str) -> Result<alloc::vec::Vec<OwnedEntry>, Error> {
    let mut buf = alloc::vec::Vec::with_capacity(LIST_BUFFER_LEN);
    let mut listing = list_in(directory, buf.spare_capacity_mut())?;
    let mut out = alloc::vec::Vec::new();
    while let Some(entry) = listing.next() {
        out.push(entry?.into_owned());
    }
    Ok(out)
}
