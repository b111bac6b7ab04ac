//! RFC 6962 hashing primitives and the recursive reference tree hash.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: leaf hash, interior node hash or tree root.
pub type Hash = [u8; 32];

/// Domain-separation prefix for leaves (RFC 6962 §2.1), so a leaf can never be
/// mistaken for an interior node.
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix for interior nodes.
const NODE_PREFIX: u8 = 0x01;

/// Hash of a leaf: `SHA-256(0x00 || data)`.
///
/// ```
/// let h = armistice_merkle::leaf_hash(b"");
/// assert_eq!(hex::encode(h), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
/// ```
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([LEAF_PREFIX])
        .chain_update(data)
        .finalize()
        .into()
}

/// Hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([NODE_PREFIX])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// Root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Reference Merkle Tree Hash `MTH(D[n])` of RFC 9162 §2.1.1, computed recursively
/// over all leaf hashes.
///
/// It reads every leaf (`O(n)`), so it is meant for tests and for offline checks of
/// small exports; production code uses [`root`](crate::root) over stored nodes.
pub fn mth(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let k = split_point(leaves.len() as u64) as usize;
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly smaller than `n` (RFC 9162's `k`); `n >= 2`.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}
