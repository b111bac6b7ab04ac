//! The store's errors.

use armistice_core::Rejection;
use std::path::PathBuf;

/// What can go wrong opening, appending to or reading a ledger.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An event of the batch may not be appended; the ledger is unchanged.
    #[error("event {} of the batch is rejected: {rejection}", index + 1)]
    Rejected {
        /// Position in the batch, from 0.
        index: usize,
        /// Why.
        rejection: Rejection,
    },
    /// Another process has the ledger open.
    #[error("the ledger at {0} is in use by another process; try again when it has finished")]
    Busy(PathBuf),
    /// No ledger at the path.
    #[error("no ledger at {0}: create one with `armistice init`")]
    NotALedger(PathBuf),
    /// `init` found something already there.
    #[error("{0} already exists; choose another path or remove it first")]
    AlreadyExists(PathBuf),
    /// The key given is not this ledger's operator key.
    #[error("this key is not the ledger's operator key")]
    WrongOperatorKey,
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
    /// sled failed.
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// The file system failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
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
}
