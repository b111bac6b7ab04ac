//! The Merkle tree as the store keeps it: the hashes of complete subtrees
//! from level [`STORED_LEVEL_MIN`] up — one per sealed chunk of 64 entries,
//! plus about as many above — the lower ones recomputed from the leaves of
//! one chunk, and the right edge (the frontier) held in memory so that an
//! append reads nothing to extend the tree.

use armistice_core::entry::Hash;
use armistice_merkle::node_hash;

/// The lowest level whose complete-subtree hashes are stored: a level-6
/// subtree is exactly one sealed chunk.
pub const STORED_LEVEL_MIN: u8 = 6;

/// The complete subtrees along the right edge of the tree, left to right:
/// the left siblings of every node a new leaf can complete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    nodes: Vec<(u8, u64, Hash)>,
}

impl Frontier {
    /// A frontier from its subtrees, largest (leftmost) first.
    pub fn from_nodes(nodes: Vec<(u8, u64, Hash)>) -> Self {
        Frontier { nodes }
    }

    /// Its subtrees, largest (leftmost) first, as (level, index, hash): what
    /// a backend stores to resume the tree without reading it.
    pub fn nodes(&self) -> &[(u8, u64, Hash)] {
        &self.nodes
    }

    /// Adds leaf `index` and returns every node it completes, lowest first
    /// (the leaf itself at level 0 included).
    pub fn push(&mut self, index: u64, leaf: Hash) -> Vec<(u8, u64, Hash)> {
        let mut completed = vec![(0, index, leaf)];
        let (mut level, mut index, mut hash) = (0u8, index, leaf);
        while let Some(&(l, i, left)) = self.nodes.last() {
            if l != level || i + 1 != index {
                break;
            }
            self.nodes.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            index /= 2;
            completed.push((level, index, hash));
        }
        self.nodes.push((level, index, hash));
        completed
    }

    /// The root of the tree the frontier closes (RFC 6962: the subtrees
    /// folded from the right).
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(&(_, _, mut hash)) = nodes.next() else {
            return armistice_merkle::empty_root();
        };
        for (_, _, left) in nodes {
            hash = node_hash(left, &hash);
        }
        hash
    }
}

/// The subtrees whose hashes make up the frontier of a tree of `size`
/// leaves: one per set bit of `size`, largest first, as (level, index).
pub fn frontier_positions(size: u64) -> Vec<(u8, u64)> {
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            out.push((level, start >> level));
            start += width;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use armistice_merkle::{leaf_hash, MemoryTree};

    #[test]
    fn the_frontier_completes_the_same_nodes_as_the_reference() {
        let mut frontier = Frontier::default();
        let mut tree = MemoryTree::new();
        for i in 0..100u64 {
            let leaf = leaf_hash(&i.to_be_bytes());
            let completed = frontier.push(i, leaf);
            let expected = armistice_merkle::nodes_to_store(i, leaf, &tree).unwrap();
            assert_eq!(completed, expected, "leaf {i}");
            tree.push_hash(leaf);
            assert_eq!(
                frontier.root(),
                armistice_merkle::root(i + 1, &tree).unwrap()
            );
            let positions: Vec<(u8, u64)> =
                frontier.nodes.iter().map(|(l, i, _)| (*l, *i)).collect();
            assert_eq!(positions, frontier_positions(i + 1));
        }
    }
}
