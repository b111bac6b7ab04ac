//! Proofs and checkpoints over the ledger's Merkle tree (RFC 6962): every
//! answer reads O(log n) stored complete-subtree hashes.

use crate::error::StoreError;
use crate::guard::guard;
use crate::layout;
use crate::ledger::Ledger;
use armistice_core::entry::Hash;
use armistice_merkle::checkpoint::{self, Checkpoint, SignedCheckpoint};
use armistice_merkle::{NodeSource, ProofError};

/// The Merkle nodes as sled holds them.
struct StoredNodes<'a>(&'a Ledger);

impl NodeSource for StoredNodes<'_> {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        self.0.node_any(level, index)
    }
}

/// An inclusion proof for one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The leaf's index (`seq - 1`).
    pub leaf_index: u64,
    /// The tree size the proof is for.
    pub tree_size: u64,
    /// SHA-256(0x00 || leaf).
    pub leaf_hash: Hash,
    /// The root at `tree_size`.
    pub root_hash: Hash,
    /// The audit path, leaf to root.
    pub path: Vec<Hash>,
}

fn proof_error(error: ProofError<StoreError>) -> StoreError {
    match error {
        ProofError::Source(inner) => inner,
        other => StoreError::corrupt(0, format!("Merkle tree: {other}")),
    }
}

impl Ledger {
    fn check_size(&self, size: u64) -> Result<(), StoreError> {
        let len = self.head().seq;
        if size > len {
            return Err(StoreError::NoSuchEntry { seq: size, len });
        }
        Ok(())
    }

    /// The hash of the complete subtree (`level`, `index`) of committed entries.
    pub fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        let last = index
            .checked_add(1)
            .and_then(|i| i.checked_mul(1u64.checked_shl(u32::from(level))?))
            .ok_or_else(|| StoreError::corrupt(0, "no such Merkle node"))?;
        self.check_size(last)?;
        self.node_any(level, index)
    }

    /// The tree root over the first `size` entries.
    pub fn root(&self, size: u64) -> Result<Hash, StoreError> {
        self.check_size(size)?;
        armistice_merkle::root(size, &StoredNodes(self)).map_err(proof_error)
    }

    /// Proof that entry `seq` is in the tree of `size` entries.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<InclusionProof, StoreError> {
        self.check_size(size)?;
        if seq == 0 || seq > size {
            return Err(StoreError::NoSuchEntry { seq, len: size });
        }
        let nodes = StoredNodes(self);
        Ok(InclusionProof {
            leaf_index: seq - 1,
            tree_size: size,
            leaf_hash: self.node_any(0, seq - 1)?,
            root_hash: armistice_merkle::root(size, &nodes).map_err(proof_error)?,
            path: armistice_merkle::inclusion_proof(seq - 1, size, &nodes).map_err(proof_error)?,
        })
    }

    /// Proof that the tree of `size2` entries extends the tree of `size1`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, StoreError> {
        self.check_size(size2)?;
        armistice_merkle::consistency_proof(size1, size2, &StoredNodes(self)).map_err(proof_error)
    }

    /// Signs (and keeps) the checkpoint for `size` entries with the operator
    /// key in force at that size. Refuses when the tree no longer matches the
    /// newest checkpoint kept: the log never signs two inconsistent checkpoints.
    pub fn sign_checkpoint(&self, size: u64) -> Result<SignedCheckpoint, StoreError> {
        self.check_size(size)?;
        let key = self.operator_key().ok_or(StoreError::WrongOperatorKey)?;
        if key.verifying_key().to_bytes() != self.operator_keys().for_checkpoint(size) {
            return Err(StoreError::OldKey { size });
        }
        if let Some(latest) = self.checkpoints()?.last() {
            let size = latest.checkpoint.size;
            if size <= self.head().seq && self.root(size)? != latest.checkpoint.root {
                return Err(StoreError::corrupt(size, format!(
                    "the tree no longer matches the checkpoint signed at size {size}; refusing to sign another"
                )));
            }
        }
        let note = Checkpoint::new(self.origin(), size, self.root(size)?);
        let signed = checkpoint::sign(&note, self.origin(), &key)
            .map_err(|e| StoreError::corrupt(0, format!("checkpoint: {e}")))?;
        if self.mode() == crate::OpenMode::Write {
            crate::space::ensure(self.path(), 4096)?;
            guard(|| {
                self.tree
                    .insert(layout::checkpoint(size), signed.to_note().into_bytes())
            })??;
            self.sync()?;
        }
        Ok(signed)
    }

    /// Signs the checkpoint for `size` entries without keeping it (a
    /// receipt's, signed for every append): the same checks as
    /// [`Ledger::sign_checkpoint`], but no write and no sync.
    pub fn checkpoint_note(&self, size: u64) -> Result<SignedCheckpoint, StoreError> {
        self.check_size(size)?;
        let key = self.operator_key().ok_or(StoreError::WrongOperatorKey)?;
        if key.verifying_key().to_bytes() != self.operator_keys().for_checkpoint(size) {
            return Err(StoreError::OldKey { size });
        }
        let note = Checkpoint::new(self.origin(), size, self.root(size)?);
        checkpoint::sign(&note, self.origin(), &key)
            .map_err(|e| StoreError::corrupt(0, format!("checkpoint: {e}")))
    }

    /// Every checkpoint signed so far, by size.
    pub fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let mut out = Vec::new();
        for item in guard(|| self.tree.scan_prefix([layout::CHECKPOINT]))? {
            let (key, value) = guard(|| item)??;
            let size = layout::tail_u64(&key).unwrap_or(0);
            let note = std::str::from_utf8(&value)
                .map_err(|_| StoreError::corrupt(size, "stored checkpoint is not text"))?;
            let signed = checkpoint::parse_note(note)
                .map_err(|e| StoreError::corrupt(size, format!("stored checkpoint: {e}")))?;
            out.push(signed);
        }
        Ok(out)
    }

    /// Keeps a checkpoint signed elsewhere (a copy keeps its source's).
    pub fn keep_checkpoint(&self, signed: &SignedCheckpoint) -> Result<(), StoreError> {
        let size = signed.checkpoint.size;
        self.check_size(size)?;
        if self.root(size)? != signed.checkpoint.root {
            return Err(StoreError::corrupt(
                size,
                format!("the checkpoint at size {size} does not match this ledger's tree"),
            ));
        }
        crate::space::ensure(self.path(), 4096)?;
        guard(|| {
            self.tree
                .insert(layout::checkpoint(size), signed.to_note().into_bytes())
        })??;
        self.sync()
    }
}
