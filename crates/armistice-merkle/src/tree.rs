//! Roots, proofs and node bookkeeping over stored complete subtrees.

use std::collections::HashMap;

use crate::hash::{empty_root, node_hash, split_point, Hash};

/// A stored node as `(level, index, hash)`.
pub type StoredNode = (u8, u64, Hash);

/// Read access to stored complete-subtree hashes, implemented by the caller.
///
/// Node `(level, index)` is `MTH(leaves[index * 2^level .. (index + 1) * 2^level])`;
/// level 0 holds the leaf hashes. Only complete subtrees are ever requested.
///
/// When appending several leaves in one atomic write, the source used for the later
/// leaves must also return the nodes produced for the earlier ones (not yet
/// committed); [`nodes_to_store_batch`] does that bookkeeping for you.
pub trait NodeSource {
    /// Error reported by the underlying storage; it is passed through unchanged in
    /// [`ProofError::Source`].
    type Error;

    /// Returns the stored hash of the complete subtree `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// Errors from computing roots, proofs or nodes to store.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError<E> {
    /// The leaf index is not inside the tree (`index >= size`).
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The requested 0-based leaf index.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A consistency proof was requested from the empty tree, which this project
    /// treats as meaningless rather than trivially true.
    #[error("consistency proof from an empty tree (size1 = 0) is not supported")]
    EmptyOldTree,
    /// A consistency proof was requested from a larger tree to a smaller one.
    #[error("consistency proof from size {size1} to smaller size {size2}")]
    SizesDecreasing {
        /// The older (claimed smaller) size.
        size1: u64,
        /// The newer (claimed larger) size.
        size2: u64,
    },
    /// No more leaves can be appended: the next size would not fit in a `u64`.
    #[error("the tree is full: leaf index {0} cannot be appended")]
    TreeFull(u64),
    /// The node source failed to return a stored node.
    #[error("node source failed: {0}")]
    Source(#[source] E),
}

/// Nodes that become complete when leaf `leaf_index` (with hash `leaf_hash`) is
/// appended, as `(level, index, hash)`, lowest level first.
///
/// The first entry is always the leaf itself at level 0; each further entry is a
/// subtree completed by this leaf, whose left sibling is read from `source`. On
/// average about two nodes are returned per leaf. Store all of them in the same
/// atomic write as the entry.
///
/// `source` must already contain every node returned for leaves `0..leaf_index`,
/// including ones pending in the same batch (see [`nodes_to_store_batch`]).
///
/// ```
/// use armistice_merkle::{leaf_hash, node_hash, nodes_to_store, MemoryTree};
///
/// let mut tree = MemoryTree::new();
/// tree.push(b"a");
/// let nodes = nodes_to_store(1, leaf_hash(b"b"), &tree)?;
/// let parent = node_hash(&leaf_hash(b"a"), &leaf_hash(b"b"));
/// assert_eq!(nodes, vec![(0, 1, leaf_hash(b"b")), (1, 0, parent)]);
/// # Ok::<(), armistice_merkle::ProofError<armistice_merkle::MissingNode>>(())
/// ```
pub fn nodes_to_store<S: NodeSource + ?Sized>(
    leaf_index: u64,
    leaf_hash: Hash,
    source: &S,
) -> Result<Vec<StoredNode>, ProofError<S::Error>> {
    // Size would become 2^64, which no `u64` size can describe.
    if leaf_index == u64::MAX {
        return Err(ProofError::TreeFull(leaf_index));
    }
    let mut out = vec![(0, leaf_index, leaf_hash)];
    let (mut level, mut index, mut hash) = (0u8, leaf_index, leaf_hash);
    // An odd index is a right child, so its parent is complete now; the left
    // sibling was completed (and stored) by an earlier leaf.
    while index & 1 == 1 {
        let left = source.node(level, index - 1).map_err(ProofError::Source)?;
        hash = node_hash(&left, &hash);
        level += 1;
        index >>= 1;
        out.push((level, index, hash));
    }
    Ok(out)
}

/// [`nodes_to_store`] for a batch of consecutive leaves starting at `first_index`,
/// so that the whole batch can be written atomically.
///
/// Nodes completed earlier in the batch are served from memory, so `source` only
/// needs the nodes committed before the batch.
pub fn nodes_to_store_batch<S: NodeSource + ?Sized>(
    first_index: u64,
    leaf_hashes: &[Hash],
    source: &S,
) -> Result<Vec<StoredNode>, ProofError<S::Error>> {
    let mut pending = Pending {
        base: source,
        nodes: HashMap::new(),
    };
    let mut out = Vec::with_capacity(leaf_hashes.len() * 2);
    for (offset, leaf) in (0u64..).zip(leaf_hashes) {
        let index = first_index
            .checked_add(offset)
            .ok_or(ProofError::TreeFull(u64::MAX))?;
        let nodes = nodes_to_store(index, *leaf, &pending)?;
        pending
            .nodes
            .extend(nodes.iter().map(|&(l, i, h)| ((l, i), h)));
        out.extend(nodes);
    }
    Ok(out)
}

/// A source overlaid with the nodes produced earlier in the current batch.
struct Pending<'a, S: ?Sized> {
    base: &'a S,
    nodes: HashMap<(u8, u64), Hash>,
}

impl<S: NodeSource + ?Sized> NodeSource for Pending<'_, S> {
    type Error = S::Error;

    fn node(&self, level: u8, index: u64) -> Result<Hash, S::Error> {
        match self.nodes.get(&(level, index)) {
            Some(hash) => Ok(*hash),
            None => self.base.node(level, index),
        }
    }
}

/// Root hash `MTH(D[size])` of the first `size` leaves (the empty root for 0),
/// combined from at most 64 stored nodes.
pub fn root<S: NodeSource + ?Sized>(size: u64, source: &S) -> Result<Hash, ProofError<S::Error>> {
    range_hash(0, size, source)
}

/// Inclusion proof `PATH(index, D[size])` of RFC 9162 §2.1.3.1: sibling hashes
/// from the leaf up to the root.
///
/// ```
/// use armistice_merkle::{inclusion_proof, leaf_hash, root, verify_inclusion, MemoryTree};
///
/// let mut tree = MemoryTree::new();
/// for i in 0u8..7 {
///     tree.push(&[i]);
/// }
/// let proof = inclusion_proof(4, 7, &tree)?;
/// verify_inclusion(&leaf_hash(&[4]), 4, 7, &proof, &root(7, &tree)?)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inclusion_proof<S: NodeSource + ?Sized>(
    index: u64,
    size: u64,
    source: &S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Walk down from the root, remembering the sibling range at each split; the
    // proof lists them bottom-up.
    let (mut lo, mut hi) = (0, size);
    let mut siblings = Vec::new();
    while hi - lo > 1 {
        let mid = lo + split_point(hi - lo);
        if index < mid {
            siblings.push((mid, hi));
            hi = mid;
        } else {
            siblings.push((lo, mid));
            lo = mid;
        }
    }
    hash_ranges(siblings, source)
}

/// Consistency proof `PROOF(size1, D[size2])` of RFC 9162 §2.1.4.1.
///
/// `size1 == size2` yields an empty proof; `size1 == 0` and `size1 > size2` are
/// errors.
///
/// ```
/// use armistice_merkle::{consistency_proof, root, verify_consistency, MemoryTree};
///
/// let mut tree = MemoryTree::new();
/// for i in 0u8..10 {
///     tree.push(&[i]);
/// }
/// let proof = consistency_proof(6, 10, &tree)?;
/// verify_consistency(6, 10, &root(6, &tree)?, &root(10, &tree)?, &proof)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn consistency_proof<S: NodeSource + ?Sized>(
    size1: u64,
    size2: u64,
    source: &S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if size1 > size2 {
        return Err(ProofError::SizesDecreasing { size1, size2 });
    }
    // Iterative SUBPROOF(m, D[lo:hi], b): collected top-down, emitted bottom-up.
    // Invariant lo < size1 <= hi, so the loop ends when size1 == hi.
    let (mut lo, mut hi, mut whole_old_tree) = (0, size2, true);
    let mut ranges = Vec::new();
    while size1 != hi {
        let mid = lo + split_point(hi - lo);
        if size1 <= mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
            whole_old_tree = false;
        }
    }
    // The verifier already knows the old root, so it is only sent when the old
    // tree is a proper subtree of a right-hand branch.
    if !whole_old_tree {
        ranges.push((lo, hi));
    }
    hash_ranges(ranges, source)
}

/// Hashes the ranges collected top-down and returns them bottom-up.
fn hash_ranges<S: NodeSource + ?Sized>(
    ranges: Vec<(u64, u64)>,
    source: &S,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    ranges
        .into_iter()
        .rev()
        .map(|(lo, hi)| range_hash(lo, hi, source))
        .collect()
}

/// `MTH(leaves[lo..hi])` where `lo` is a multiple of a power of two `>= hi - lo`
/// (true of every range RFC 9162 proofs refer to).
///
/// Such a range splits into complete subtrees of decreasing size, one per set bit
/// of `hi - lo`; MTH pairs each with the hash of everything to its right, so they
/// are folded right to left.
fn range_hash<S: NodeSource + ?Sized>(
    lo: u64,
    hi: u64,
    source: &S,
) -> Result<Hash, ProofError<S::Error>> {
    let width = hi - lo;
    let mut parts = Vec::with_capacity(width.count_ones() as usize);
    let mut start = lo;
    for level in (0..64u8).rev() {
        let span = 1u64 << level;
        if width & span != 0 {
            parts.push(
                source
                    .node(level, start >> level)
                    .map_err(ProofError::Source)?,
            );
            start += span;
        }
    }
    let Some(mut acc) = parts.pop() else {
        return Ok(empty_root());
    };
    while let Some(left) = parts.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}
