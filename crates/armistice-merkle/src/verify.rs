//! Proof verification, following RFC 9162 §2.1.3.2 and §2.1.4.2.

use crate::hash::{node_hash, Hash};

/// Why an inclusion or consistency proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf index is not inside the tree (`index >= size`, including size 0).
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The claimed 0-based leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof has the wrong number of hashes for the claimed index and sizes.
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength {
        /// Number of hashes a proof for these parameters must have.
        expected: usize,
        /// Number of hashes supplied.
        actual: usize,
    },
    /// The root recomputed from an inclusion proof differs from the expected root.
    #[error("computed root {} does not match expected root {}", hex::encode(.computed), hex::encode(.expected))]
    RootMismatch {
        /// Root recomputed from the leaf and the proof.
        computed: Hash,
        /// Root the caller expected.
        expected: Hash,
    },
    /// The old root recomputed from a consistency proof differs from `root1`.
    #[error("computed old root {} does not match root1 {}", hex::encode(.computed), hex::encode(.expected))]
    OldRootMismatch {
        /// Old root recomputed from the proof.
        computed: Hash,
        /// The supplied `root1`.
        expected: Hash,
    },
    /// The new root recomputed from a consistency proof differs from `root2`.
    #[error("computed new root {} does not match root2 {}", hex::encode(.computed), hex::encode(.expected))]
    NewRootMismatch {
        /// New root recomputed from the proof.
        computed: Hash,
        /// The supplied `root2`.
        expected: Hash,
    },
    /// Two trees of the same size have different roots, so they are not the same tree.
    #[error("trees of equal size {size} have different roots")]
    EqualSizeRootsDiffer {
        /// The common size.
        size: u64,
    },
    /// A consistency proof between equal sizes must be empty.
    #[error("consistency proof between equal sizes must be empty, got {len} hashes")]
    NonEmptyProofForEqualSizes {
        /// Number of hashes supplied.
        len: usize,
    },
    /// Consistency from the empty tree is rejected by this project.
    #[error("consistency from an empty tree (size1 = 0) is not accepted")]
    EmptyOldTree,
    /// The "new" tree is smaller than the "old" one.
    #[error("size1 {size1} is larger than size2 {size2}")]
    SizesDecreasing {
        /// The claimed old size.
        size1: u64,
        /// The claimed new size.
        size2: u64,
    },
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves with
/// root `root` (RFC 9162 §2.1.3.2).
///
/// ```
/// use armistice_merkle::{leaf_hash, node_hash, verify_inclusion, VerifyError};
///
/// let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
/// let root = node_hash(&a, &b);
/// assert_eq!(verify_inclusion(&b, 1, 2, &[a], &root), Ok(()));
/// assert!(matches!(
///     verify_inclusion(&b, 0, 2, &[a], &root),
///     Err(VerifyError::RootMismatch { .. })
/// ));
/// ```
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if computed != *root {
        return Err(VerifyError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Recomputes the root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1–4),
/// for callers that compare it against several candidate roots.
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(wrong_length(expected, proof));
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        // Unreachable after the length check; kept as the RFC's step 4a guard.
        if sn == 0 {
            return Err(wrong_length(expected, proof));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            // Skip levels where this node is a lone right-edge node with no sibling.
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(wrong_length(expected, proof));
    }
    Ok(r)
}

/// Verifies that the tree of `size2` leaves with root `root2` extends the tree of
/// `size1` leaves with root `root1` (RFC 9162 §2.1.4.2).
///
/// `size1 == size2` requires an empty proof and equal roots; `size1 == 0` and
/// `size1 > size2` are rejected.
///
/// ```
/// use armistice_merkle::{leaf_hash, node_hash, verify_consistency, VerifyError};
///
/// let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
/// let root2 = node_hash(&a, &b);
/// assert_eq!(verify_consistency(1, 2, &a, &root2, &[b]), Ok(()));
/// assert_eq!(verify_consistency(0, 2, &a, &root2, &[]), Err(VerifyError::EmptyOldTree));
/// ```
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if size1 == 0 {
        return Err(VerifyError::EmptyOldTree);
    }
    if size1 > size2 {
        return Err(VerifyError::SizesDecreasing { size1, size2 });
    }
    if size1 == size2 {
        return verify_equal_sizes(size1, root1, root2, proof);
    }
    let expected = consistency_proof_len(size1, size2);
    if proof.len() != expected {
        return Err(wrong_length(expected, proof));
    }
    let (fr, sr) = consistency_roots(size1, size2, root1, proof)
        .ok_or_else(|| wrong_length(expected, proof))?;
    if fr != *root1 {
        return Err(VerifyError::OldRootMismatch {
            computed: fr,
            expected: *root1,
        });
    }
    if sr != *root2 {
        return Err(VerifyError::NewRootMismatch {
            computed: sr,
            expected: *root2,
        });
    }
    Ok(())
}

fn verify_equal_sizes(
    size: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if !proof.is_empty() {
        return Err(VerifyError::NonEmptyProofForEqualSizes { len: proof.len() });
    }
    if root1 != root2 {
        return Err(VerifyError::EqualSizeRootsDiffer { size });
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2 steps 2–7 for `0 < size1 < size2`: the (old, new) roots the
/// proof implies, or `None` if the proof does not have the shape the sizes need.
fn consistency_roots(size1: u64, size2: u64, root1: &Hash, proof: &[Hash]) -> Option<(Hash, Hash)> {
    // A power-of-two old tree is itself a node of the new tree, so the verifier's
    // own root1 is the starting point and the proof omits it.
    let (seed, rest) = if size1.is_power_of_two() {
        (*root1, proof)
    } else {
        let (first, rest) = proof.split_first()?;
        (*first, rest)
    };
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (seed, seed);
    for c in rest {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some((fr, sr))
}

/// Number of hashes in `PATH(index, D[size])`: the levels below the point where
/// the leaf's path and the right edge diverge ("inner"), plus one per left
/// sibling above it ("border"); as in transparency-dev/merkle `decompInclProof`.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (inner, border) = decompose(index, size);
    (inner + border) as usize
}

/// Number of hashes in `PROOF(size1, D[size2])` for `0 < size1 < size2`; the
/// levels below the old tree's lowest complete subtree are not needed.
fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros();
    let seed = u32::from(!size1.is_power_of_two());
    (seed + inner.saturating_sub(shift) + border) as usize
}

fn decompose(index: u64, size: u64) -> (u32, u32) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner, border)
}

fn wrong_length(expected: usize, proof: &[Hash]) -> VerifyError {
    VerifyError::WrongProofLength {
        expected,
        actual: proof.len(),
    }
}
