//! RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs over
//! stored complete subtrees, and C2SP signed-note checkpoints for the Armistice ledger.
//!
//! Beside the tree itself: [`checkpoint`] and [`note`] (C2SP signed notes and
//! keys), [`cosignature`] (witness `cosignature/v1` and the quorum check),
//! [`tiles`] (tlog-tiles paths, tile contents, entry bundles and a reader that
//! rebuilds roots and proofs from tiles) and [`tlog_proof`] (the tlog-proof
//! text format).
//!
//! The crate is pure: no I/O and no clock. Storage is abstracted by [`NodeSource`],
//! which the caller implements over whatever holds the stored subtree hashes.
//!
//! # Storage model
//!
//! Node `(level L, index i)` is `MTH(leaves[i * 2^L .. (i + 1) * 2^L])`, i.e. the hash
//! of a *complete* aligned subtree (the "stored hashes" of Go's `sumdb/tlog`). When a
//! leaf is appended, [`nodes_to_store`] returns the nodes that just became complete;
//! the caller writes them together with the entry. Roots and proofs are then built
//! from `O(log n)` stored nodes.
//!
//! ```
//! use armistice_merkle::{
//!     consistency_proof, inclusion_proof, leaf_hash, root, verify_consistency,
//!     verify_inclusion, MemoryTree,
//! };
//!
//! let mut tree = MemoryTree::new();
//! for entry in [&b"alpha"[..], b"beta", b"gamma", b"delta", b"epsilon"] {
//!     tree.push(entry);
//! }
//! let root3 = root(3, &tree)?;
//! let root5 = root(5, &tree)?;
//!
//! let proof = inclusion_proof(1, 5, &tree)?;
//! verify_inclusion(&leaf_hash(b"beta"), 1, 5, &proof, &root5)?;
//!
//! let proof = consistency_proof(3, 5, &tree)?;
//! verify_consistency(3, 5, &root3, &root5, &proof)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod checkpoint;
pub mod cosignature;
mod hash;
mod memory;
pub mod note;
pub mod tiles;
pub mod tlog_proof;
mod tree;
mod verify;

pub use hash::{empty_root, leaf_hash, mth, node_hash, Hash};
pub use memory::{MemoryTree, MissingNode};
pub use tree::{
    consistency_proof, inclusion_proof, nodes_to_store, nodes_to_store_batch, root, NodeSource,
    ProofError, StoredNode,
};
pub use verify::{root_from_inclusion_proof, verify_consistency, verify_inclusion, VerifyError};
