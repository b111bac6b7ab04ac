//! The append-only, sled-backed Armistice log.
//!
//! One sled tree holds the entries, packed 64 to a value once their chunk
//! is complete, and, under other key prefixes, the indexes a point lookup
//! needs, per-chunk summaries and Merkle nodes (see [`layout`]). An entry
//! and everything that indexes it land in one atomic batch (concurrent
//! appends share that batch and its `flush` + `fdatasync`), and an append
//! returns only once it is durable and the head record beside the database
//! says so. Nothing here updates or deletes an entry, except redaction,
//! which deletes disclosures of chosen fields and keeps their digests (so
//! every hash, proof and signature still verifies).
//!
//! Staging — deciding each submission and encoding its entry — knows
//! nothing of sled ([`stage`]); a second backend reuses it.
#![warn(missing_docs)]

pub mod check;
pub mod chunk;
mod error;
mod guard;
pub mod head;
pub mod layout;
pub mod layout_v1;
mod ledger;
pub mod migrate;
mod read;
mod recover;
pub mod space;
pub mod stage;
mod store;
mod tree;
mod trust;
mod types;
mod verify;
mod write;

pub use error::StoreError;
pub use ledger::{default_origin, Ledger, OpenMode, Session, SLED_DIR};
pub use read::{decode_record, Entries, RecordStream};
pub use stage::BATCH_EVENTS_MAX;
pub use store::{EntryIter, RecordIter, Store, StoreSession};
pub use tree::{Frontier, STORED_LEVEL_MIN};
pub use trust::InclusionProof;
pub use types::{AppendOptions, Appended, Head, OperatorKeys};
pub use verify::{Problem, SignatureStatus, Signatures, VerifyReport, PROBLEMS_MAX};
