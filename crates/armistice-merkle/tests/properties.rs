//! Property tests against the recursive reference `mth`.

use std::cell::Cell;
use std::collections::HashMap;

use armistice_merkle::{
    consistency_proof, inclusion_proof, leaf_hash, mth, nodes_to_store, nodes_to_store_batch, root,
    verify_consistency, verify_inclusion, Hash, MemoryTree, NodeSource,
};
use proptest::prelude::*;

fn leaves(seed: u64, n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("{seed}:{i}").as_bytes()))
        .collect()
}

fn tree_of(leaves: &[Hash]) -> MemoryTree {
    MemoryTree::from_leaf_hashes(leaves.iter().copied())
}

/// Counts reads, to check that proofs touch only O(log n) stored nodes.
struct Counting<'a> {
    tree: &'a MemoryTree,
    reads: Cell<u32>,
}

impl NodeSource for Counting<'_> {
    type Error = armistice_merkle::MissingNode;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        self.reads.set(self.reads.get() + 1);
        self.tree.node(level, index)
    }
}

fn log2_ceil(n: u64) -> u32 {
    64 - n.saturating_sub(1).leading_zeros()
}

/// A simple key-value store filled only through `nodes_to_store`.
#[derive(Default)]
struct MapStore(HashMap<(u8, u64), Hash>);

impl NodeSource for MapStore {
    type Error = String;
    fn node(&self, level: u8, index: u64) -> Result<Hash, String> {
        self.0
            .get(&(level, index))
            .copied()
            .ok_or_else(|| format!("missing ({level},{index})"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn inclusion_proofs_verify_against_mth(seed: u64, size in 1u64..=300, pick: u64) {
        let leaves = leaves(seed, size);
        let tree = tree_of(&leaves);
        let index = pick % size;
        let want_root = mth(&leaves);
        let source = Counting { tree: &tree, reads: Cell::new(0) };
        prop_assert_eq!(root(size, &source).unwrap(), want_root);
        prop_assert!(source.reads.get() <= size.count_ones());
        source.reads.set(0);
        let proof = inclusion_proof(index, size, &source).unwrap();
        prop_assert!(source.reads.get() <= 2 * log2_ceil(size));
        prop_assert_eq!(verify_inclusion(&leaves[index as usize], index, size, &proof, &want_root), Ok(()));
    }

    #[test]
    fn consistency_proofs_verify_against_mth(seed: u64, size2 in 1u64..=300, pick: u64) {
        let leaves = leaves(seed, size2);
        let tree = tree_of(&leaves);
        let size1 = 1 + pick % size2;
        let (root1, root2) = (mth(&leaves[..size1 as usize]), mth(&leaves));
        let source = Counting { tree: &tree, reads: Cell::new(0) };
        let proof = consistency_proof(size1, size2, &source).unwrap();
        prop_assert!(source.reads.get() <= 2 * log2_ceil(size2) + 1);
        prop_assert_eq!(verify_consistency(size1, size2, &root1, &root2, &proof), Ok(()));
    }

    #[test]
    fn flipped_bit_in_proof_fails(seed: u64, size in 2u64..=300, pick: u64, which: usize, bit in 0u32..256) {
        let leaves = leaves(seed, size);
        let tree = tree_of(&leaves);
        let index = pick % size;
        let root2 = mth(&leaves);
        let mut proof = inclusion_proof(index, size, &tree).unwrap();
        let i = which % proof.len();
        proof[i][(bit / 8) as usize] ^= 1 << (bit % 8);
        prop_assert!(verify_inclusion(&leaves[index as usize], index, size, &proof, &root2).is_err());

        let size1 = 1 + pick % (size - 1); // strictly smaller than size
        let mut proof = consistency_proof(size1, size, &tree).unwrap();
        let i = which % proof.len();
        proof[i][(bit / 8) as usize] ^= 1 << (bit % 8);
        let root1 = mth(&leaves[..size1 as usize]);
        prop_assert!(verify_consistency(size1, size, &root1, &root2, &proof).is_err());
    }

    #[test]
    fn nodes_to_store_matches_direct_computation(seed: u64, size in 0u64..=300, cuts in proptest::collection::vec(0u64..=300, 0..6)) {
        let leaves = leaves(seed, size);
        let mut store = MapStore::default();
        for (i, leaf) in leaves.iter().enumerate() {
            let nodes = nodes_to_store(i as u64, *leaf, &store).unwrap();
            for (level, index, hash) in nodes {
                prop_assert!(store.0.insert((level, index), hash).is_none(), "node stored twice");
            }
        }
        // Exactly the complete subtrees, each equal to MTH of its leaf range.
        let expected_count: u64 = (0..64).map(|l| size >> l).sum();
        prop_assert_eq!(store.0.len() as u64, expected_count);
        let tree = tree_of(&leaves);
        for (&(level, index), hash) in &store.0 {
            let lo = (index << level) as usize;
            prop_assert_eq!(*hash, mth(&leaves[lo..lo + (1usize << level)]));
            prop_assert_eq!(tree.node(level, index).unwrap(), *hash);
        }

        // Batches split at arbitrary points give the same nodes as one at a time.
        let mut cuts: Vec<u64> = cuts.into_iter().map(|c| c.min(size)).collect();
        cuts.extend([0, size]);
        cuts.sort_unstable();
        cuts.dedup();
        let mut batched = MapStore::default();
        for w in cuts.windows(2) {
            let batch = &leaves[w[0] as usize..w[1] as usize];
            for (level, index, hash) in nodes_to_store_batch(w[0], batch, &batched).unwrap() {
                batched.0.insert((level, index), hash);
            }
        }
        prop_assert_eq!(batched.0, store.0);
    }
}

/// Exhaustive over small trees: every generated proof equals what the reference
/// root computations accept.
#[test]
fn all_proofs_up_to_64_leaves_verify() {
    let leaves = leaves(7, 64);
    let tree = tree_of(&leaves);
    let roots: Vec<Hash> = (0..=64).map(|n| mth(&leaves[..n])).collect();
    for size in 1..=64u64 {
        assert_eq!(root(size, &tree).unwrap(), roots[size as usize]);
        for index in 0..size {
            let proof = inclusion_proof(index, size, &tree).unwrap();
            verify_inclusion(
                &leaves[index as usize],
                index,
                size,
                &proof,
                &roots[size as usize],
            )
            .unwrap_or_else(|e| panic!("inclusion ({index},{size}): {e}"));
        }
        for size1 in 1..=size {
            let proof = consistency_proof(size1, size, &tree).unwrap();
            verify_consistency(
                size1,
                size,
                &roots[size1 as usize],
                &roots[size as usize],
                &proof,
            )
            .unwrap_or_else(|e| panic!("consistency ({size1},{size}): {e}"));
        }
    }
}

#[test]
fn huge_indices_do_not_overflow() {
    // Shape checks must not panic near u64::MAX (no tree needed to reject these).
    let h = [0u8; 32];
    assert!(verify_inclusion(&h, u64::MAX - 1, u64::MAX, &[h; 64], &h).is_err());
    assert!(verify_inclusion(&h, 0, u64::MAX, &[], &h).is_err());
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &h, &h, &[h; 3]).is_err());
    assert!(matches!(
        nodes_to_store(u64::MAX, h, &MemoryTree::new()),
        Err(armistice_merkle::ProofError::TreeFull(_))
    ));
}
