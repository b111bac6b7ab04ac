//! The store's errors.

use armistice_core::Rejection;
use std::path::PathBuf;

/// What can go wrong opening, appending to or reading a ledger.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An event of the batch may not be appended; the ledger is unchanged.
    #[error("event {} of the batch is rejected: {rejection}", index + 1)]
    Rejected {
        /// Position in the batch (or session), from 0.
        index: usize,
        /// Why.
        rejection: Rejection,
    },
    /// Another process has the ledger open.
    #[error("the ledger at {0} is in use by another process: give `--wait SECONDS` to wait for it, or, if `armistice serve` holds it, reach the ledger through the server (`--server URL`)")]
    Busy(PathBuf),
    /// No ledger at the path.
    #[error("no ledger at {0}: create one with `armistice init`")]
    NotALedger(PathBuf),
    /// `init` found something already there.
    #[error("{0} already exists; choose another path or remove it first")]
    AlreadyExists(PathBuf),
    /// The ledger was made by an older version; `armistice migrate` rewrites it.
    #[error("the ledger at {0} is in the storage format of an older Armistice: run `armistice migrate --ledger {0}` to rewrite it into the current one (same entries, hashes and checkpoints)")]
    OldFormat(PathBuf),
    /// `migrate` found a ledger in the current format already.
    #[error("the ledger at {0} is in the current storage format already: nothing to migrate")]
    AlreadyCurrent(PathBuf),
    /// The key given is not this ledger's operator key.
    #[error("this key is not the ledger's operator key in force")]
    WrongOperatorKey,
    /// The checkpoint of this size is signed by an earlier operator key.
    #[error("the checkpoint at size {size} is signed by the operator key in force then, which was rotated away; the stored checkpoints keep those signatures")]
    OldKey {
        /// The size asked for.
        size: u64,
    },
    /// Opened for reading only.
    #[error("the ledger at {0} is open for reading only")]
    ReadOnly(PathBuf),
    /// An earlier write of this handle failed.
    #[error("an earlier write to this ledger failed, so nothing more is appended through this handle; close and reopen it (after freeing disk space, if the disk was full)")]
    Broken,
    /// The folder was removed or replaced while the ledger was open.
    #[error("the ledger folder {0} was removed or replaced while the ledger was open: nothing is acknowledged that is not durable where the ledger is")]
    Vanished(PathBuf),
    /// The database holds less than the head record says was committed.
    #[error("acknowledged entries are missing: {detail} (head record: {recorded} entries, database: {found}); recover from a mirror, an export or the last checkpoint (see docs/RECOVERY.md)")]
    Lost {
        /// Entries the head record says were committed.
        recorded: u64,
        /// Entries the database holds.
        found: u64,
        /// What does not match.
        detail: String,
    },
    /// Too little free space to write safely; nothing was written.
    #[error("the disk is full: {available} bytes are free where this write needs {needed} to be safe; nothing was written (free space and try again)")]
    DiskFull {
        /// Bytes free.
        available: u64,
        /// Bytes needed (the write and a margin).
        needed: u64,
    },
    /// The head record file is unreadable.
    #[error("the head record is damaged: {0}")]
    HeadRecord(String),
    /// sled stopped on damaged data.
    #[error("the database is damaged: {0} (see docs/RECOVERY.md)")]
    Damaged(String),
    /// Stored bytes are damaged or unreadable.
    #[error("entry {seq} is damaged: {detail}")]
    Corrupt {
        /// The first damaged entry.
        seq: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// A seq outside the log.
    #[error("no entry {seq}: the log holds {len} entries")]
    NoSuchEntry {
        /// The seq asked for.
        seq: u64,
        /// How many entries there are.
        len: u64,
    },
    /// The commit of an append was sent but its outcome never came back
    /// (the connection to the database was lost, or the wait for a
    /// synchronous standby was cancelled): the entries may or may not have
    /// landed. Sending the same events again with the same event ids is
    /// safe: those already stored are answered as duplicates, never added
    /// twice.
    #[error("the outcome of the append is unknown ({0}): it may or may not have landed; send the same events again with the same event ids (those already stored are reported as duplicates, never added twice)")]
    OutcomeUnknown(String),
    /// A database server (the PostgreSQL store) failed or was unreachable;
    /// nothing was appended.
    #[error("database error: {0}")]
    Database(String),
    /// sled failed.
    #[error("storage error: {}", sled_message(.0))]
    Sled(#[from] sled::Error),
    /// The file system failed.
    #[error("{}", io_message(.0))]
    Io(#[from] std::io::Error),
}

fn io_message(error: &std::io::Error) -> String {
    match error.raw_os_error() {
        Some(28) => format!("the disk is full ({error}): free space and try again; nothing was acknowledged that is not durable"),
        Some(30) => format!("the file system is read-only ({error})"),
        _ => format!("I/O error: {error}"),
    }
}

fn sled_message(error: &sled::Error) -> String {
    match error {
        sled::Error::Io(io) => io_message(io),
        other => other.to_string(),
    }
}

impl StoreError {
    pub(crate) fn rejected(index: usize, rejection: Rejection) -> Self {
        StoreError::Rejected { index, rejection }
    }

    pub(crate) fn corrupt(seq: u64, detail: impl Into<String>) -> Self {
        StoreError::Corrupt {
            seq,
            detail: detail.into(),
        }
    }

    /// Whether the error says the disk is full.
    pub fn is_disk_full(&self) -> bool {
        let io = match self {
            StoreError::DiskFull { .. } => return true,
            StoreError::Io(io) => Some(io),
            StoreError::Sled(sled::Error::Io(io)) => Some(io),
            _ => None,
        };
        io.and_then(std::io::Error::raw_os_error) == Some(28)
    }
}
