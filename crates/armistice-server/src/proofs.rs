//! The inclusion proofs of a receipt: one per appended entry, all at the
//! same tree size, computed together so that they share what they read.
//! Entries of a batch are neighbours, so their proofs share most nodes:
//! the leaves around the batch (and at the tree's right edge) are read once,
//! in one pass, the nodes below the stored levels are hashed from them, and
//! every node is remembered for the next proof.

use crate::error::HttpError;
use armistice_api::wire::InclusionProofJson;
use armistice_core::entry::{split_entry, Hash};
use armistice_merkle::{NodeSource, ProofError};
use armistice_store::{Store, StoreError, STORED_LEVEL_MIN};
use std::cell::RefCell;
use std::collections::HashMap;

/// Most leaves read ahead for one receipt: a batch whose entries lie
/// further apart (duplicates of old entries) reads the rest node by node.
const LEAVES_AHEAD_MAX: u64 = 1 << 16;

/// Nodes of the tree of committed entries, remembered once read or hashed.
struct SharedNodes<'a> {
    store: &'a dyn Store,
    nodes: RefCell<HashMap<(u8, u64), Hash>>,
    /// The leaves of the entries proven, once read.
    leaves: RefCell<HashMap<u64, Vec<u8>>>,
}

impl NodeSource for SharedNodes<'_> {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        if let Some(hash) = self.nodes.borrow().get(&(level, index)) {
            return Ok(*hash);
        }
        let hash = if level == 0 || level >= STORED_LEVEL_MIN {
            self.store.node(level, index)?
        } else {
            let left = self.node(level - 1, 2 * index)?;
            let right = self.node(level - 1, 2 * index + 1)?;
            armistice_merkle::node_hash(&left, &right)
        };
        self.nodes.borrow_mut().insert((level, index), hash);
        Ok(hash)
    }
}

impl SharedNodes<'_> {
    /// Reads the leaf hashes of entries `from..=to` in one pass.
    fn read_leaves(&self, from: u64, to: u64) -> Result<(), HttpError> {
        let mut nodes = self.nodes.borrow_mut();
        for item in self.store.entries(from, to) {
            let (seq, bytes) = item?;
            let split = split_entry(&bytes)
                .map_err(|e| HttpError::internal(format!("entry {seq}: {e}")))?;
            nodes.insert((0, seq - 1), armistice_merkle::leaf_hash(split.leaf));
            if let Some(leaf) = self.leaves.borrow_mut().get_mut(&seq) {
                *leaf = split.leaf.to_vec();
            }
        }
        Ok(())
    }

    /// The leaf of entry `seq` (read ahead, or now).
    fn leaf(&self, seq: u64) -> Result<Vec<u8>, HttpError> {
        if let Some(leaf) = self.leaves.borrow().get(&seq).filter(|l| !l.is_empty()) {
            return Ok(leaf.clone());
        }
        let bytes = self.store.entry_bytes(seq)?;
        let split =
            split_entry(&bytes).map_err(|e| HttpError::internal(format!("entry {seq}: {e}")))?;
        Ok(split.leaf.to_vec())
    }
}

fn proof_error(error: ProofError<StoreError>) -> HttpError {
    match error {
        ProofError::Source(inner) => inner.into(),
        other => HttpError::internal(format!("Merkle tree: {other}")),
    }
}

/// The inclusion proof of each of `seqs` in the tree of `size` entries
/// (whose root is `root`), and each one's leaf (the bytes its hash covers).
pub fn inclusion_proofs(
    store: &dyn Store,
    seqs: &[u64],
    size: u64,
    root: Hash,
) -> Result<(Vec<InclusionProofJson>, Vec<Vec<u8>>), HttpError> {
    let nodes = SharedNodes {
        store,
        nodes: RefCell::new(HashMap::new()),
        leaves: RefCell::new(seqs.iter().map(|seq| (*seq, Vec::new())).collect()),
    };
    // The low subtrees around the batch, and the one at the right edge.
    let block = 1u64 << STORED_LEVEL_MIN;
    let (Some(first), Some(last)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok((Vec::new(), Vec::new()));
    };
    let from = (first - 1) / block * block + 1;
    let to = (last.div_ceil(block) * block).min(size);
    if to - from < LEAVES_AHEAD_MAX {
        nodes.read_leaves(from, to)?;
    }
    let proofs = seqs
        .iter()
        .map(|seq| {
            let index = seq - 1;
            let path =
                armistice_merkle::inclusion_proof(index, size, &nodes).map_err(proof_error)?;
            Ok(InclusionProofJson {
                leaf_index: index,
                tree_size: size,
                leaf_hash: hex::encode(nodes.node(0, index)?),
                root_hash: hex::encode(root),
                path: path.iter().map(hex::encode).collect(),
            })
        })
        .collect::<Result<Vec<_>, HttpError>>()?;
    let leaves = seqs
        .iter()
        .map(|seq| nodes.leaf(*seq))
        .collect::<Result<_, _>>()?;
    Ok((proofs, leaves))
}

#[cfg(test)]
mod tests {
    use super::*;
    use armistice_api::wire::InclusionProofJson;
    use armistice_store::{AppendOptions, Ledger};

    #[test]
    fn shared_proofs_are_the_stores_own() {
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let ledger = Ledger::create(
            &dir.path().join("l"),
            &key.verifying_key().to_bytes(),
            "test/log",
        )
        .unwrap();
        ledger.attach_operator_key(key).unwrap();
        let batch: Vec<_> = (0..100)
            .map(|n| {
                let line = format!(r#"{{"type":"party_registered","by":"operator","party":"P{n}","name":"P","role":"monitor"}}"#);
                armistice_core::json::parse_line(&line, uuid::Uuid::now_v7()).unwrap()
            })
            .collect();
        let options = AppendOptions {
            now: crate::now(),
            backfill: false,
        };
        ledger.append(&batch, &options).unwrap();
        for (seqs, size) in [
            (vec![40, 41, 42, 60], 100),
            (vec![1], 1),
            (vec![1, 100], 100),
            (vec![17, 33], 37),
        ] {
            let root = ledger.root(size).unwrap();
            let (proofs, leaves) = inclusion_proofs(&ledger, &seqs, size, root).unwrap();
            for ((seq, proof), leaf) in seqs.iter().zip(proofs).zip(leaves) {
                let expected =
                    InclusionProofJson::from(&ledger.inclusion_proof(*seq, size).unwrap());
                assert_eq!(proof, expected, "seq {seq} at size {size}");
                assert_eq!(
                    hex::encode(armistice_merkle::leaf_hash(&leaf)),
                    proof.leaf_hash
                );
            }
        }
    }
}
