//! Negative cases ported from transparency-dev/merkle proof/verify_test.go
//! (corruptInclusionProof, corruptConsistencyProof, TestVerifyConsistency) and
//! google/certificate-transparency merkle_tree_test.cc (VerifierCheck,
//! VerifierConsistencyCheck), applied to every vector in the file.

mod common;

use armistice_merkle::{
    consistency_proof, empty_root, inclusion_proof, leaf_hash, root, verify_consistency,
    verify_inclusion, Hash, ProofError, VerifyError,
};
use common::{consistency_vectors, hash, hashes, inclusion_vectors, num, standard_tree};

const SOME_HASH: Hash = [0xab; 32];

fn flip(proof: &[Hash], i: usize) -> Vec<Hash> {
    let mut wrong = proof.to_vec();
    wrong[i][0] ^= 8;
    wrong
}

fn with(proof: &[Hash], front: Option<Hash>, back: Option<Hash>) -> Vec<Hash> {
    front
        .into_iter()
        .chain(proof.iter().copied())
        .chain(back)
        .collect()
}

#[test]
fn corrupted_inclusion_proofs_fail() {
    for case in inclusion_vectors() {
        let (index, size) = (num(&case["leaf_index"]), num(&case["tree_size"]));
        let (leaf, root, proof) = (
            hash(&case["leaf_hash"]),
            hash(&case["root"]),
            hashes(&case["proof"]),
        );
        let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (
                "index - 1".into(),
                index.wrapping_sub(1),
                size,
                leaf,
                root,
                proof.clone(),
            ),
            (
                "index + 1".into(),
                index + 1,
                size,
                leaf,
                root,
                proof.clone(),
            ),
            (
                "index ^ 2".into(),
                index ^ 2,
                size,
                leaf,
                root,
                proof.clone(),
            ),
            (
                "size * 2".into(),
                index,
                size * 2,
                leaf,
                root,
                proof.clone(),
            ),
            (
                "size / 2".into(),
                index,
                size / 2,
                leaf,
                root,
                proof.clone(),
            ),
            (
                "wrong leaf".into(),
                index,
                size,
                leaf_hash(b"WrongLeaf"),
                root,
                proof.clone(),
            ),
            (
                "empty root".into(),
                index,
                size,
                leaf,
                empty_root(),
                proof.clone(),
            ),
            (
                "random root".into(),
                index,
                size,
                leaf,
                SOME_HASH,
                proof.clone(),
            ),
            (
                "trailing garbage".into(),
                index,
                size,
                leaf,
                root,
                with(&proof, None, Some(SOME_HASH)),
            ),
            (
                "trailing root".into(),
                index,
                size,
                leaf,
                root,
                with(&proof, None, Some(root)),
            ),
            (
                "preceding garbage".into(),
                index,
                size,
                leaf,
                root,
                with(&proof, Some(SOME_HASH), None),
            ),
            (
                "preceding root".into(),
                index,
                size,
                leaf,
                root,
                with(&proof, Some(root), None),
            ),
        ];
        for i in 0..proof.len() {
            probes.push((
                format!("flip proof[{i}]"),
                index,
                size,
                leaf,
                root,
                flip(&proof, i),
            ));
        }
        if let Some((last, rest)) = proof.split_last() {
            probes.push((
                "removed last".into(),
                index,
                size,
                leaf,
                root,
                rest.to_vec(),
            ));
            probes.push((
                "duplicated last".into(),
                index,
                size,
                leaf,
                root,
                with(&proof, None, Some(*last)),
            ));
        }
        for (desc, i, s, l, r, p) in probes {
            assert!(
                verify_inclusion(&l, i, s, &p, &r).is_err(),
                "{desc} accepted for vector ({index},{size})"
            );
        }
    }
}

#[test]
fn inclusion_error_kinds_are_specific() {
    let (leaf, root, proof) = (leaf_hash(b""), empty_root(), Vec::<Hash>::new());
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        assert_eq!(
            verify_inclusion(&leaf, index, size, &proof, &root),
            Err(VerifyError::IndexOutOfRange { index, size })
        );
    }
    assert_eq!(
        verify_inclusion(&leaf, 0, 1, &proof, &root),
        Err(VerifyError::RootMismatch {
            computed: leaf,
            expected: root
        })
    );
    // Shape errors are reported as such, not as a root mismatch.
    assert_eq!(
        verify_inclusion(&leaf, 0, 1, &[SOME_HASH], &leaf),
        Err(VerifyError::WrongProofLength {
            expected: 0,
            actual: 1
        })
    );
    assert_eq!(
        verify_inclusion(&leaf, 5, 8, &[SOME_HASH; 2], &leaf),
        Err(VerifyError::WrongProofLength {
            expected: 3,
            actual: 2
        })
    );
    assert!(matches!(
        verify_inclusion(&leaf, 5, 8, &[SOME_HASH; 3], &leaf),
        Err(VerifyError::RootMismatch { .. })
    ));
}

#[test]
fn corrupted_consistency_proofs_fail() {
    for case in consistency_vectors() {
        let (size1, size2) = (num(&case["size1"]), num(&case["size2"]));
        let (root1, root2, proof) = (
            hash(&case["root1"]),
            hash(&case["root2"]),
            hashes(&case["proof"]),
        );
        let mut probes: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (
                "size1 - 1".into(),
                size1 - 1,
                size2,
                root1,
                root2,
                proof.clone(),
            ),
            (
                "size1 + 1".into(),
                size1 + 1,
                size2,
                root1,
                root2,
                proof.clone(),
            ),
            (
                "size1 ^ 2".into(),
                size1 ^ 2,
                size2,
                root1,
                root2,
                proof.clone(),
            ),
            (
                "size2 * 2".into(),
                size1,
                size2 * 2,
                root1,
                root2,
                proof.clone(),
            ),
            (
                "size2 / 2".into(),
                size1,
                size2 / 2,
                root1,
                root2,
                proof.clone(),
            ),
            (
                "wrong root1".into(),
                size1,
                size2,
                SOME_HASH,
                root2,
                proof.clone(),
            ),
            (
                "wrong root2".into(),
                size1,
                size2,
                root1,
                SOME_HASH,
                proof.clone(),
            ),
            (
                "trailing garbage".into(),
                size1,
                size2,
                root1,
                root2,
                with(&proof, None, Some(SOME_HASH)),
            ),
            (
                "trailing root1".into(),
                size1,
                size2,
                root1,
                root2,
                with(&proof, None, Some(root1)),
            ),
            (
                "trailing root2".into(),
                size1,
                size2,
                root1,
                root2,
                with(&proof, None, Some(root2)),
            ),
            (
                "preceding garbage".into(),
                size1,
                size2,
                root1,
                root2,
                with(&proof, Some(SOME_HASH), None),
            ),
            (
                "preceding root1".into(),
                size1,
                size2,
                root1,
                root2,
                with(&proof, Some(root1), None),
            ),
            (
                "time travel".into(),
                size2 + 1,
                size2,
                root1,
                root2,
                proof.clone(),
            ),
        ];
        if root1 != root2 {
            probes.push((
                "swapped roots".into(),
                size1,
                size2,
                root2,
                root1,
                proof.clone(),
            ));
        }
        if size1 < size2 {
            probes.push(("empty proof".into(), size1, size2, root1, root2, Vec::new()));
        }
        for i in 0..proof.len() {
            probes.push((
                format!("flip proof[{i}]"),
                size1,
                size2,
                root1,
                root2,
                flip(&proof, i),
            ));
        }
        if let Some((_, rest)) = proof.split_last() {
            probes.push((
                "truncated".into(),
                size1,
                size2,
                root1,
                root2,
                rest.to_vec(),
            ));
        }
        for (desc, s1, s2, r1, r2, p) in probes {
            assert!(
                verify_consistency(s1, s2, &r1, &r2, &p).is_err(),
                "{desc} accepted for vector ({size1},{size2})"
            );
        }
    }
}

#[test]
fn consistency_error_kinds_are_specific() {
    let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
    assert_eq!(
        verify_consistency(0, 0, &a, &a, &[]),
        Err(VerifyError::EmptyOldTree)
    );
    assert_eq!(
        verify_consistency(0, 2, &a, &b, &[]),
        Err(VerifyError::EmptyOldTree)
    );
    assert_eq!(
        verify_consistency(0, 2, &a, &b, &[b]),
        Err(VerifyError::EmptyOldTree)
    );
    assert_eq!(
        verify_consistency(3, 2, &a, &b, &[b]),
        Err(VerifyError::SizesDecreasing { size1: 3, size2: 2 })
    );
    assert_eq!(
        verify_consistency(4, 4, &a, &a, &[b]),
        Err(VerifyError::NonEmptyProofForEqualSizes { len: 1 })
    );
    assert_eq!(
        verify_consistency(4, 4, &a, &b, &[]),
        Err(VerifyError::EqualSizeRootsDiffer { size: 4 })
    );
    assert_eq!(verify_consistency(4, 4, &a, &a, &[]), Ok(()));
    assert_eq!(
        verify_consistency(1, 2, &a, &b, &[]),
        Err(VerifyError::WrongProofLength {
            expected: 1,
            actual: 0
        })
    );
    // With a power-of-two size1 the verifier starts from root1 itself, so a wrong
    // root1 can only show up as a new-root mismatch.
    let root2 = armistice_merkle::node_hash(&a, &b);
    assert!(matches!(
        verify_consistency(1, 2, &b, &root2, &[b]),
        Err(VerifyError::NewRootMismatch { .. })
    ));
    let tree = standard_tree();
    let (root3, root4) = (root(3, &tree).unwrap(), root(4, &tree).unwrap());
    let proof = consistency_proof(3, 4, &tree).unwrap();
    assert_eq!(verify_consistency(3, 4, &root3, &root4, &proof), Ok(()));
    assert_eq!(
        verify_consistency(3, 4, &SOME_HASH, &root4, &proof),
        Err(VerifyError::OldRootMismatch {
            computed: root3,
            expected: SOME_HASH
        })
    );
    assert_eq!(
        verify_consistency(3, 4, &root3, &SOME_HASH, &proof),
        Err(VerifyError::NewRootMismatch {
            computed: root4,
            expected: SOME_HASH
        })
    );
}

#[test]
fn proof_generation_rejects_bad_arguments() {
    let tree = standard_tree();
    for (index, size) in [(0, 0), (1, 0), (2, 1), (8, 8)] {
        assert_eq!(
            inclusion_proof(index, size, &tree),
            Err(ProofError::IndexOutOfRange { index, size })
        );
    }
    assert_eq!(
        consistency_proof(0, 3, &tree),
        Err(ProofError::EmptyOldTree)
    );
    assert_eq!(
        consistency_proof(0, 0, &tree),
        Err(ProofError::EmptyOldTree)
    );
    assert_eq!(
        consistency_proof(4, 3, &tree),
        Err(ProofError::SizesDecreasing { size1: 4, size2: 3 })
    );
    assert_eq!(consistency_proof(5, 5, &tree), Ok(Vec::new()));
    // Sizes beyond what is stored surface the source's error.
    assert!(matches!(
        inclusion_proof(0, 9, &tree),
        Err(ProofError::Source(_))
    ));
}
