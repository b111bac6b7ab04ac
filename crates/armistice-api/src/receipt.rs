//! Checking a receipt offline: the answer to an append shows that the
//! ledger accepted each statement at its place, to anyone holding the
//! operator's verifier key and nothing else.
//!
//! A receipt holds the signed checkpoint covering the batch and one
//! inclusion proof per entry at the checkpoint's size (and, from this
//! server, each entry's leaf: the bytes the entry's hash and the Merkle
//! leaf cover). [`verify_receipt`] checks the checkpoint's signature, each
//! proof against its root, and that every leaf is the entry the receipt
//! names (its seq, event id, stream, version and hash).

use crate::wire::{InclusionProofJson, Receipt};
use armistice_core::entry::{sha256, Hash, Header};
use armistice_merkle::checkpoint::{parse_note, SignedCheckpoint};
use armistice_merkle::note::NoteVerifier;
use armistice_merkle::{leaf_hash, verify_inclusion};
use base64::Engine;

/// Why a receipt does not show what it says.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The checkpoint note cannot be read.
    #[error("the receipt's checkpoint is not a checkpoint note: {0}")]
    Note(String),
    /// The checkpoint is not signed by the key given.
    #[error("the receipt's checkpoint is not signed by the operator key {key}: {detail}")]
    Signature {
        /// The verifier key expected.
        key: String,
        /// What failed.
        detail: String,
    },
    /// The lists do not match or a field is malformed.
    #[error("the receipt is malformed: {0}")]
    Malformed(String),
    /// A proof does not place its entry under the signed root.
    #[error("entry {seq}: {detail}")]
    Entry {
        /// The entry.
        seq: u64,
        /// What failed.
        detail: String,
    },
}

/// What a receipt shows, once checked.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The signed checkpoint.
    pub checkpoint: SignedCheckpoint,
    /// Whether each entry's leaf was given and matched (else only its proof was checked).
    pub leaves_checked: bool,
}

fn hash_of(text: &str, what: &str) -> Result<Hash, ReceiptError> {
    armistice_core::event::parse_hex_array::<32>(text)
        .map_err(|e| ReceiptError::Malformed(format!("{what}: {e}")))
}

/// Checks a receipt against the operator's verifier key: the checkpoint's
/// signature, one proof per appended entry at the checkpoint's size, each
/// verifying to its root, and each leaf (when given) hashing to the entry's
/// hash and naming the entry's seq, event id, stream and version.
pub fn verify_receipt(receipt: &Receipt, operator: &NoteVerifier) -> Result<Checked, ReceiptError> {
    let signed = parse_note(&receipt.checkpoint).map_err(|e| ReceiptError::Note(e.to_string()))?;
    signed
        .verify(operator.name(), operator.verifying_key())
        .map_err(|e| ReceiptError::Signature {
            key: operator.to_string(),
            detail: e.to_string(),
        })?;
    if receipt.proofs.len() != receipt.appended.len() {
        return Err(ReceiptError::Malformed(format!(
            "{} entries but {} proofs",
            receipt.appended.len(),
            receipt.proofs.len()
        )));
    }
    let leaves_checked = !receipt.leaves.is_empty();
    if leaves_checked && receipt.leaves.len() != receipt.appended.len() {
        return Err(ReceiptError::Malformed(format!(
            "{} entries but {} leaves",
            receipt.appended.len(),
            receipt.leaves.len()
        )));
    }
    let size = signed.checkpoint.size;
    for (index, (appended, proof)) in receipt.appended.iter().zip(&receipt.proofs).enumerate() {
        let seq = appended.seq;
        let fail = |detail: String| ReceiptError::Entry { seq, detail };
        check_proof(proof, seq, size, &signed.checkpoint.root).map_err(fail)?;
        if let Some(leaf) = receipt.leaves.get(index) {
            check_leaf(leaf, appended, proof).map_err(fail)?;
        }
    }
    Ok(Checked {
        checkpoint: signed,
        leaves_checked,
    })
}

fn check_proof(proof: &InclusionProofJson, seq: u64, size: u64, root: &Hash) -> Result<(), String> {
    if seq == 0 || proof.leaf_index != seq - 1 {
        return Err(format!(
            "its proof is for leaf index {}, not {}",
            proof.leaf_index,
            seq.saturating_sub(1)
        ));
    }
    if proof.tree_size != size {
        return Err(format!(
            "its proof is for a tree of {} entries, but the checkpoint signs {size}",
            proof.tree_size
        ));
    }
    let leaf = hash_of(&proof.leaf_hash, "leaf_hash").map_err(|e| e.to_string())?;
    let path = proof
        .path
        .iter()
        .map(|h| hash_of(h, "path"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    verify_inclusion(&leaf, proof.leaf_index, size, &path, root)
        .map_err(|e| format!("its inclusion proof fails against the signed root: {e}"))
}

fn check_leaf(
    leaf_b64: &str,
    appended: &crate::wire::AppendedJson,
    proof: &InclusionProofJson,
) -> Result<(), String> {
    let leaf = base64::engine::general_purpose::STANDARD
        .decode(leaf_b64)
        .map_err(|e| format!("its leaf is not base64: {e}"))?;
    if hex::encode(sha256(&leaf)) != appended.hash {
        return Err("its leaf does not hash to the entry's hash".to_owned());
    }
    if hex::encode(leaf_hash(&leaf)) != proof.leaf_hash {
        return Err("its leaf is not the leaf the proof is about".to_owned());
    }
    let (header, used) =
        Header::decode(&leaf).map_err(|e| format!("its leaf cannot be read: {e}"))?;
    let named = header.seq == appended.seq
        && header.event_id.to_string() == appended.event_id
        && header.stream == appended.stream
        && header.version == appended.version;
    if used != leaf.len() || !named {
        return Err(format!(
            "its leaf is entry {} ({} of {} v{}), not the entry the receipt names",
            header.seq, header.event_id, header.stream, header.version
        ));
    }
    Ok(())
}
