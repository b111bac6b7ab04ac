//! The JSON shapes the command line prints and the server answers with:
//! one set of types, so that one parser serves both.

use armistice_store::{Appended, InclusionProof};
use serde::{Deserialize, Serialize};

/// One appended (or already recorded) event: `record --json` and the
/// `appended` list of a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppendedJson {
    /// Its place in the log.
    pub seq: u64,
    /// Its id.
    pub event_id: String,
    /// Its stream.
    pub stream: String,
    /// Its version in the stream.
    pub version: u64,
    /// Its hash, hex.
    pub hash: String,
    /// Whether it was stored already (nothing was added).
    pub duplicate: bool,
}

impl From<&Appended> for AppendedJson {
    fn from(a: &Appended) -> Self {
        AppendedJson {
            seq: a.seq,
            event_id: a.event_id.to_string(),
            stream: a.stream.clone(),
            version: a.version,
            hash: hex::encode(a.hash),
            duplicate: a.duplicate,
        }
    }
}

/// An inclusion proof, as `prove inclusion --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InclusionProofJson {
    /// The leaf's index (`seq - 1`).
    pub leaf_index: u64,
    /// The tree size the proof is for.
    pub tree_size: u64,
    /// SHA-256(0x00 || leaf), hex.
    pub leaf_hash: String,
    /// The root at `tree_size`, hex.
    pub root_hash: String,
    /// The audit path, leaf to root, hex.
    pub path: Vec<String>,
}

impl From<&InclusionProof> for InclusionProofJson {
    fn from(p: &InclusionProof) -> Self {
        InclusionProofJson {
            leaf_index: p.leaf_index,
            tree_size: p.tree_size,
            leaf_hash: hex::encode(p.leaf_hash),
            root_hash: hex::encode(p.root_hash),
            path: p.path.iter().map(hex::encode).collect(),
        }
    }
}

/// A consistency proof, as `prove consistency --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsistencyProofJson {
    /// The older size.
    pub first: u64,
    /// The newer size.
    pub second: u64,
    /// The root at `first`, hex.
    pub first_root: String,
    /// The root at `second`, hex.
    pub second_root: String,
    /// The proof, hex.
    pub proof: Vec<String>,
}

/// The answer to an append: the submitter's receipt. With it anyone can
/// show, offline, that the ledger accepted the statements at those places:
/// the checkpoint is signed by the operator and covers them, and each proof
/// places one entry under the checkpoint's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Receipt {
    /// What each event became.
    pub appended: Vec<AppendedJson>,
    /// The signed checkpoint note (C2SP) covering the batch.
    pub checkpoint: String,
    /// One inclusion proof per appended entry, at the checkpoint's size.
    pub proofs: Vec<InclusionProofJson>,
    /// Each appended entry's leaf, base64: the bytes its hash and its Merkle
    /// leaf cover (seq, event id, stream, version, payload digest, signature),
    /// so that the receipt names the statement, not only a position.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leaves: Vec<String>,
}

/// An error answer: what is wrong, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What is wrong, in words.
    pub error: String,
    /// The input line at fault (from 1), when the input was JSON Lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A registered party and its current key (`GET /v1/parties`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PartyJson {
    /// Its id.
    pub party: String,
    /// Its name.
    pub name: String,
    /// `belligerent`, `mediator` or `monitor`.
    pub role: String,
    /// Its current Ed25519 public key, hex, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Its current key as a signed-note verifier key (`<party>+<id>+<key>`),
    /// if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vkey: Option<String>,
    /// The seq of the entry that registered or last replaced its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_since_seq: Option<u64>,
}

/// A signed checkpoint, as `checkpoint --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckpointJson {
    /// The log's origin.
    pub origin: String,
    /// The tree size.
    pub size: u64,
    /// The root, hex.
    pub root_hash: String,
    /// The operator's public key for this size, hex.
    pub public_key: String,
    /// The operator's verifier key (`<name>+<id>+<key>`).
    pub vkey: String,
    /// The signed-note key id, hex.
    pub key_id: String,
    /// The operator's signature, hex.
    pub signature: Option<String>,
    /// The recorded_at of entry `size`.
    pub timestamp: Option<String>,
    /// The signed note.
    pub note: String,
}
