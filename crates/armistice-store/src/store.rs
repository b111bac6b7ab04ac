//! The store behind a trait: what the command line, the server and the
//! queries need of a log, whatever keeps it. The sled [`Ledger`] is the
//! embedded implementation; a second backend implements the same trait
//! (reusing [`crate::stage`] for every decision) without touching its callers.

use crate::error::StoreError;
use crate::trust::InclusionProof;
use crate::types::{AppendOptions, Appended, Head, OperatorKeys};
use crate::verify::VerifyReport;
use armistice_core::entry::{Hash, Header, Record};
use armistice_core::json::Submission;
use armistice_core::Timestamp;
use armistice_merkle::checkpoint::SignedCheckpoint;

/// Stored entries in seq order, as (seq, stored bytes).
pub type EntryIter<'a> = Box<dyn Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + Send + 'a>;
/// Records in seq order.
pub type RecordIter<'a> = Box<dyn Iterator<Item = Result<Record, StoreError>> + Send + 'a>;

/// An append of several chunks that lands whole or not at all.
pub trait StoreSession {
    /// Stages a chunk after the chunks before it; a rejection ends the session.
    fn append(
        &mut self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError>;
    /// Makes everything staged durable and visible; returns the new head.
    fn commit(self: Box<Self>) -> Result<Head, StoreError>;
}

/// An append-only Armistice log.
pub trait Store: Send + Sync {
    /// The checkpoint origin (and the operator key's name).
    fn origin(&self) -> String;
    /// The operator's keys along the log.
    fn operator_keys(&self) -> OperatorKeys;
    /// The newest durable entry.
    fn head(&self) -> Head;
    /// A channel that sees every new durable head (for feeds).
    fn watch_head(&self) -> tokio::sync::watch::Receiver<Head>;
    /// Starts a session (an import).
    fn begin_session(&self) -> Result<Box<dyn StoreSession + '_>, StoreError>;
    /// Appends one batch, durably, or nothing.
    fn append(
        &self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        let mut session = self.begin_session()?;
        let appended = session.append(batch, options)?;
        session.commit()?;
        Ok(appended)
    }
    /// The stored bytes of committed entry `seq`.
    fn entry_bytes(&self, seq: u64) -> Result<Vec<u8>, StoreError>;
    /// The committed entry at `seq`.
    fn record(&self, seq: u64) -> Result<Record, StoreError>;
    /// The header of committed entry `seq`.
    fn record_header(&self, seq: u64) -> Result<Header, StoreError>;
    /// Committed entries `from..=to` (clamped to the head), in order.
    fn entries(&self, from: u64, to: u64) -> EntryIter<'_>;
    /// Committed records `from..=to`, decoded ahead where the backend can.
    fn records_ahead(&self, from: u64, to: u64) -> RecordIter<'_>;
    /// Every committed entry of one stream, in version order.
    fn stream_records(&self, stream: &str) -> Result<Vec<Record>, StoreError>;
    /// Every committed entry of every party's stream, in seq order.
    fn party_records(&self) -> Result<Vec<Record>, StoreError>;
    /// Every committed entry a question about one agreement needs, in seq order.
    fn agreement_records(&self, agreement: &str) -> Result<Vec<Record>, StoreError>;
    /// The largest seq recorded at or before `at` (0 if none).
    fn last_seq_recorded_by(&self, at: Timestamp) -> Result<u64, StoreError>;
    /// The entries up to `last` that occurred by `at` (and every party's),
    /// when at most `max` are to be read; `None` when a full read is cheaper.
    fn records_occurred_by(
        &self,
        at: Timestamp,
        last: u64,
        max: u64,
    ) -> Result<Option<Vec<Record>>, StoreError>;
    /// The hash of a complete subtree of committed entries.
    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError>;
    /// The tree root over the first `size` entries.
    fn root(&self, size: u64) -> Result<Hash, StoreError>;
    /// Proof that entry `seq` is in the tree of `size` entries.
    fn inclusion_proof(&self, seq: u64, size: u64) -> Result<InclusionProof, StoreError>;
    /// Proof that the tree of `size2` entries extends the tree of `size1`.
    fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, StoreError>;
    /// Signs (and keeps) the checkpoint of `size` entries.
    fn sign_checkpoint(&self, size: u64) -> Result<SignedCheckpoint, StoreError>;
    /// Signs the checkpoint of `size` entries without keeping it (a receipt's).
    fn checkpoint_note(&self, size: u64) -> Result<SignedCheckpoint, StoreError>;
    /// Keeps a checkpoint signed elsewhere (a copy keeps its source's).
    fn keep_checkpoint(&self, signed: &SignedCheckpoint) -> Result<(), StoreError>;
    /// Every checkpoint kept, by size.
    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, StoreError>;
    /// Whether this store holds the operator's secret key (it signs).
    fn can_sign(&self) -> bool;
    /// Re-checks everything stored.
    fn verify(&self) -> Result<VerifyReport, StoreError>;
}

impl StoreSession for crate::ledger::Session<'_> {
    fn append(
        &mut self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        crate::ledger::Session::append(self, batch, options)
    }

    fn commit(self: Box<Self>) -> Result<Head, StoreError> {
        crate::ledger::Session::commit(*self)
    }
}

impl Store for crate::ledger::Ledger {
    fn origin(&self) -> String {
        crate::ledger::Ledger::origin(self).to_owned()
    }
    fn operator_keys(&self) -> OperatorKeys {
        crate::ledger::Ledger::operator_keys(self)
    }
    fn head(&self) -> Head {
        crate::ledger::Ledger::head(self)
    }
    fn watch_head(&self) -> tokio::sync::watch::Receiver<Head> {
        crate::ledger::Ledger::watch_head(self)
    }
    fn begin_session(&self) -> Result<Box<dyn StoreSession + '_>, StoreError> {
        Ok(Box::new(self.begin()?))
    }
    fn append(
        &self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        crate::ledger::Ledger::append(self, batch, options)
    }
    fn entry_bytes(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        crate::ledger::Ledger::entry_bytes(self, seq)
    }
    fn record(&self, seq: u64) -> Result<Record, StoreError> {
        crate::ledger::Ledger::record(self, seq)
    }
    fn record_header(&self, seq: u64) -> Result<Header, StoreError> {
        crate::ledger::Ledger::record_header(self, seq)
    }
    fn entries(&self, from: u64, to: u64) -> EntryIter<'_> {
        Box::new(crate::ledger::Ledger::entries(self, from, to))
    }
    fn records_ahead(&self, from: u64, to: u64) -> RecordIter<'_> {
        Box::new(crate::ledger::Ledger::records_ahead(self, from, to))
    }
    fn stream_records(&self, stream: &str) -> Result<Vec<Record>, StoreError> {
        crate::ledger::Ledger::stream_records(self, stream)
    }
    fn party_records(&self) -> Result<Vec<Record>, StoreError> {
        crate::ledger::Ledger::party_records(self)
    }
    fn agreement_records(&self, agreement: &str) -> Result<Vec<Record>, StoreError> {
        crate::ledger::Ledger::agreement_records(self, agreement)
    }
    fn last_seq_recorded_by(&self, at: Timestamp) -> Result<u64, StoreError> {
        crate::ledger::Ledger::last_seq_recorded_by(self, at)
    }
    fn records_occurred_by(
        &self,
        at: Timestamp,
        last: u64,
        max: u64,
    ) -> Result<Option<Vec<Record>>, StoreError> {
        crate::ledger::Ledger::records_occurred_by(self, at, last, max)
    }
    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        crate::ledger::Ledger::node(self, level, index)
    }
    fn root(&self, size: u64) -> Result<Hash, StoreError> {
        crate::ledger::Ledger::root(self, size)
    }
    fn inclusion_proof(&self, seq: u64, size: u64) -> Result<InclusionProof, StoreError> {
        crate::ledger::Ledger::inclusion_proof(self, seq, size)
    }
    fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, StoreError> {
        crate::ledger::Ledger::consistency_proof(self, size1, size2)
    }
    fn sign_checkpoint(&self, size: u64) -> Result<SignedCheckpoint, StoreError> {
        crate::ledger::Ledger::sign_checkpoint(self, size)
    }
    fn checkpoint_note(&self, size: u64) -> Result<SignedCheckpoint, StoreError> {
        crate::ledger::Ledger::checkpoint_note(self, size)
    }
    fn keep_checkpoint(&self, signed: &SignedCheckpoint) -> Result<(), StoreError> {
        crate::ledger::Ledger::keep_checkpoint(self, signed)
    }
    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, StoreError> {
        crate::ledger::Ledger::checkpoints(self)
    }
    fn can_sign(&self) -> bool {
        self.operator_key().is_some()
    }
    fn verify(&self) -> Result<VerifyReport, StoreError> {
        crate::ledger::Ledger::verify(self)
    }
}
