//! [`FileId`]: which file a semaphore is, whatever name it was reached by.

/// The identity of a semaphore file: the device and inode numbers `stat`
/// reports for it.
///
/// Two handles, or a handle and a listing entry, with equal `FileId`s are the
/// same semaphore, whatever names they were opened or found by (a file can be
/// linked under several names, and a name can be unlinked and made again for
/// a new file). Useful as the key of a table of open semaphores, as glibc
/// keeps one so that repeated `sem_open` calls return one pointer. The
/// ordering is that of `(dev, ino)`; it means nothing beyond making `FileId`
/// usable as a sorted key.
///
/// # Examples
///
/// ```
/// use named_semaphores::{inspect, FileId, NamedSemaphore};
/// # let name = format!("doc-file-id-{}", std::process::id());
///
/// let sem = NamedSemaphore::create(&name, 1)?;
/// let again = NamedSemaphore::open(&name)?;
/// assert_eq!(sem.file_id(), again.file_id());
/// assert_eq!(inspect(&name)?.file_id, sem.file_id());
///
/// let id: FileId = sem.file_id();
/// assert_eq!(id, FileId::new(id.dev(), id.ino()));
/// # Ok::<(), named_semaphores::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity made of a device and an inode number, as `stat`'s
    /// `st_dev` and `st_ino` give them.
    ///
    /// ```
    /// use named_semaphores::FileId;
    ///
    /// let id = FileId::new(0x2a, 7);
    /// assert_eq!((id.dev(), id.ino()), (0x2a, 7));
    /// ```
    #[must_use]
    pub const fn new(dev: u64, ino: u64) -> Self {
        FileId { dev, ino }
    }

    /// The device number of the file system holding the file (`st_dev`).
    ///
    /// ```
    /// # use named_semaphores::FileId;
    /// assert_eq!(FileId::new(3, 9).dev(), 3);
    /// ```
    #[must_use]
    pub const fn dev(self) -> u64 {
        self.dev
    }

    /// The inode number of the file on its device (`st_ino`).
    ///
    /// ```
    /// # use named_semaphores::FileId;
    /// assert_eq!(FileId::new(3, 9).ino(), 9);
    /// ```
    #[must_use]
    pub const fn ino(self) -> u64 {
        self.ino
    }

    /// The identity of the file `st` describes.
    #[allow(clippy::unnecessary_cast)] // st_dev/st_ino widths differ by target
    pub(crate) fn of(st: &rustix::fs::Stat) -> Self {
        FileId::new(st.st_dev as u64, st.st_ino as u64)
    }
}
