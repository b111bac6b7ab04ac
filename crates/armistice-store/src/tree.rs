//! The Merkle tree as the store keeps it: the hashes of complete subtrees
//! from level [`STORED_LEVEL_MIN`] up (one key per 16 entries, not two per
//! entry), the lower ones recomputed from at most 15 entries' leaves, and
//! the right edge (the frontier) held in memory so that an append reads
//! nothing to extend the tree.

use crate::error::StoreError;
use crate::keys;
use crate::ledger::Ledger;
use armistice_core::entry::{Hash, Header};
use armistice_merkle::{leaf_hash, node_hash};

/// The lowest level whose complete-subtree hashes are stored.
pub const STORED_LEVEL_MIN: u8 = 4;

/// The complete subtrees along the right edge of the tree, left to right:
/// the left siblings of every node a new leaf can complete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    nodes: Vec<(u8, u64, Hash)>,
}

impl Frontier {
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
}

impl Ledger {
    /// The frontier of the tree of `size` leaves: one subtree per set bit of
    /// `size`, largest first, each read or recomputed (O(log n) reads).
    pub(crate) fn load_frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        let mut nodes = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            let width = 1u64 << level;
            if size & width != 0 {
                let index = start >> level;
                nodes.push((level, index, self.node(level, index)?));
                start += width;
            }
        }
        Ok(Frontier { nodes })
    }

    /// The hash of the complete subtree (`level`, `index`): stored from
    /// [`STORED_LEVEL_MIN`] up, recomputed from its entries' leaves below.
    pub fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        if level >= STORED_LEVEL_MIN {
            let value = self.tree().get(keys::merkle(level, index))?;
            let bytes = value.ok_or_else(|| {
                StoreError::corrupt(0, format!("Merkle node ({level}, {index}) is missing"))
            })?;
            return bytes.as_ref().try_into().map_err(|_| {
                StoreError::corrupt(0, format!("Merkle node ({level}, {index}) is not 32 bytes"))
            });
        }
        let first = index << level;
        let mut hashes = Vec::with_capacity(1 << level);
        for item in self
            .tree()
            .range(keys::entry(first + 1)..=keys::entry(first + (1 << level)))
        {
            let (key, value) = item?;
            let seq = keys::tail_u64(&key).unwrap_or(0);
            let (_, leaf_len) =
                Header::decode(&value).map_err(|e| StoreError::corrupt(seq, e.to_string()))?;
            hashes.push(leaf_hash(&value[..leaf_len]));
        }
        if hashes.len() != 1 << level {
            return Err(StoreError::corrupt(
                first + 1,
                format!("entries for Merkle node ({level}, {index}) are missing"),
            ));
        }
        Ok(armistice_merkle::mth(&hashes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frontier_completes_the_same_nodes_as_the_reference() {
        let mut frontier = Frontier::default();
        let mut tree = armistice_merkle::MemoryTree::new();
        for i in 0..100u64 {
            let leaf = leaf_hash(&i.to_be_bytes());
            let completed = frontier.push(i, leaf);
            let expected = armistice_merkle::nodes_to_store(i, leaf, &tree).unwrap();
            assert_eq!(completed, expected, "leaf {i}");
            tree.push_hash(leaf);
        }
    }
}
