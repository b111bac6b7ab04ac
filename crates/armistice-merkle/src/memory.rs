//! An in-memory tree, for tests and for offline verifiers rebuilding an export.

use crate::hash::{leaf_hash, node_hash, Hash};
use crate::tree::NodeSource;

/// The requested node is not stored (the subtree is not complete in this tree).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("node (level {level}, index {index}) is not stored")]
pub struct MissingNode {
    /// Level of the requested node.
    pub level: u8,
    /// Index of the requested node within its level.
    pub index: u64,
}

/// All leaf hashes and complete-subtree hashes of a tree, held in memory.
///
/// ```
/// use armistice_merkle::{leaf_hash, mth, root, MemoryTree};
///
/// let mut tree = MemoryTree::new();
/// tree.push(b"first");
/// tree.push(b"second");
/// tree.push(b"third");
/// let leaves = [leaf_hash(b"first"), leaf_hash(b"second"), leaf_hash(b"third")];
/// assert_eq!(root(3, &tree)?, mth(&leaves));
/// # Ok::<(), armistice_merkle::ProofError<armistice_merkle::MissingNode>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    /// `levels[l][i]` is node `(l, i)`; `levels[0]` are the leaf hashes.
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a tree from leaf hashes in order.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.push_hash(leaf);
        }
        tree
    }

    /// Appends a leaf given its data; returns its 0-based index.
    pub fn push(&mut self, leaf_data: &[u8]) -> u64 {
        self.push_hash(leaf_hash(leaf_data))
    }

    /// Appends a leaf given its leaf hash; returns its 0-based index.
    pub fn push_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.len();
        let mut hash = leaf;
        for level in 0..64 {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            // In bounds: rows are created in order, the missing one just above.
            let row = &mut self.levels[level];
            row.push(hash);
            // As in `nodes_to_store`: bit `level` of the index set means this node
            // is a right child, so it and its left neighbour complete their parent.
            match row.as_slice() {
                [.., left, right] if (index >> level) & 1 == 1 => hash = node_hash(left, right),
                _ => break,
            }
        }
        index
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hashes, in order.
    pub fn leaf_hashes(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}
