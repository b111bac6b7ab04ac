//! The append-only, sled-backed Armistice log.
//!
//! One sled tree holds the entries and, under other key prefixes, their
//! indexes and Merkle nodes; an entry and everything that indexes it land
//! in one atomic batch (concurrent appends share that batch and its
//! `flush` + `fdatasync`), and an append returns only once it is durable.
//! Nothing here updates or deletes an entry, except redaction, which swaps
//! a payload for its redacted reading copy and keeps the header (and so
//! every hash and proof) as it was.
#![warn(missing_docs)]

mod error;
pub mod keys;
mod ledger;
mod stream;
mod tree;
mod trust;
mod verify;

pub use error::StoreError;
pub use ledger::{decode_record, AppendOptions, Appended, Head, Ledger, Session, BATCH_EVENTS_MAX};
pub use stream::RecordStream;
pub use tree::STORED_LEVEL_MIN;
pub use trust::InclusionProof;
pub use verify::{Problem, SignatureStatus, Signatures, VerifyReport, PROBLEMS_MAX};
