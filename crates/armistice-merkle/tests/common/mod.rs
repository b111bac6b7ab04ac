//! Shared test helpers: the RFC 6962 vector file and small conversions.
//!
//! `data/rfc6962-vectors.json` is kept in the repository (no test reads
//! outside it); its vectors come from
//! google/certificate-transparency (cpp/merkletree/merkle_tree_test.cc),
//! transparency-dev/merkle (rfc6962/rfc6962_test.go, proof/verify_test.go,
//! testonly/reference_test.go, testonly/constants.go, testdata/) and RFC 8032 §7.1.
#![allow(dead_code)] // each test binary uses a different subset

use armistice_merkle::{Hash, MemoryTree};
use serde_json::Value;

/// The crate's own copy of the vectors, so the crate tests are self-contained.
pub const VECTORS: &str = include_str!("../data/rfc6962-vectors.json");

pub fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("tests/data/rfc6962-vectors.json is valid JSON")
}

pub fn hash(v: &Value) -> Hash {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("expected hex string, got {v}"));
    hex::decode(text)
        .expect("hex")
        .try_into()
        .expect("32-byte hash")
}

pub fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .expect("array of hashes")
        .iter()
        .map(hash)
        .collect()
}

pub fn num(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected integer, got {v}"))
}

/// The 8 standard leaf inputs (leaves.hex) as a tree.
pub fn standard_tree() -> MemoryTree {
    let mut tree = MemoryTree::new();
    for leaf in vectors()["leaves"]["hex"].as_array().expect("leaves.hex") {
        tree.push(&hex::decode(leaf.as_str().expect("hex leaf")).expect("hex"));
    }
    tree
}

/// Every inclusion vector: upstream ones and the derived exhaustive ones.
pub fn inclusion_vectors() -> Vec<Value> {
    let v = vectors();
    let mut all = v["inclusion_proofs"]
        .as_array()
        .expect("inclusion_proofs")
        .clone();
    all.extend(
        v["derived_not_upstream"]["inclusion_all_sizes_1_to_8"]
            .as_array()
            .expect("derived inclusion")
            .iter()
            .cloned(),
    );
    all
}

/// Every consistency vector: upstream ones and the derived exhaustive ones.
pub fn consistency_vectors() -> Vec<Value> {
    let v = vectors();
    let mut all = v["consistency_proofs"]
        .as_array()
        .expect("consistency_proofs")
        .clone();
    all.extend(
        v["derived_not_upstream"]["consistency_all_pairs_1_to_8"]
            .as_array()
            .expect("derived consistency")
            .iter()
            .cloned(),
    );
    all
}
