//! The witness against a model on random request sequences: an honest log and
//! a fork of it sharing a prefix, requests from random old sizes, restarts.
//! The model says which status each request gets; after every step the
//! witness's recorded checkpoint is the model's.

use armistice_merkle::checkpoint::{sign, Checkpoint};
use armistice_merkle::cosignature::verify_cosignature;
use armistice_merkle::note::NoteSigner;
use armistice_merkle::{consistency_proof, root, MemoryTree};
use armistice_witness::{AddCheckpointRequest, Witness};
use proptest::prelude::*;

const ORIGIN: &str = "example.com/ledger";
const LEAVES: u64 = 40;

/// One step: a request for size `size` of the honest tree or the fork, from
/// old size `old` (`None`: the size the witness holds, as an up-to-date log
/// sends), or a restart of the witness.
#[derive(Debug, Clone)]
enum Step {
    Request {
        fork: bool,
        old: Option<u64>,
        size: u64,
    },
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (any::<bool>(), prop_oneof![3 => Just(None), 1 => (0..=LEAVES).prop_map(Some)], 0..=LEAVES)
            .prop_map(|(fork, old, size)| Step::Request { fork, old, size }),
        1 => Just(Step::Restart),
    ]
}

fn trees(shared: u64) -> (MemoryTree, MemoryTree) {
    let (mut honest, mut fork) = (MemoryTree::new(), MemoryTree::new());
    for i in 0..LEAVES {
        honest.push(format!("entry {i}").as_bytes());
        let forked = if i < shared {
            format!("entry {i}")
        } else {
            format!("forged {i}")
        };
        fork.push(forked.as_bytes());
    }
    (honest, fork)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Run by the test below, which then checks that every outcome was reached.
    fn the_witness_follows_the_model(shared in 0..=LEAVES, steps in proptest::collection::vec(step(), 1..40)) {
        let (honest, fork) = trees(shared);
        let log = NoteSigner::from_seed(ORIGIN, [1; 32]).unwrap();
        let key = NoteSigner::from_seed("witness.example/w", [2; 32]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let open = || Witness::open(dir.path(), key.clone(), &[log.verifier()]).unwrap();
        let mut witness = open();
        // The model: what the witness cosigned last.
        let mut recorded: Option<(u64, [u8; 32])> = None;
        let mut outcomes = [0u32; 4];

        for step in steps {
            let (fork_tree, old, size) = match step {
                Step::Restart => {
                    drop(witness);
                    witness = open();
                    prop_assert_eq!(witness.latest(ORIGIN).unwrap(), recorded);
                    continue;
                }
                Step::Request { fork: f, old, size } => (f, old.unwrap_or(recorded.map_or(0, |r| r.0)), size),
            };
            let tree = if fork_tree { &fork } else { &honest };
            let new_root = root(size, tree).unwrap();
            let proof = if old == 0 || old > size { vec![] } else { consistency_proof(old, size, tree).unwrap() };
            let checkpoint = Checkpoint::new(ORIGIN, size, new_root);
            let signed = sign(&checkpoint, ORIGIN, log.signing_key()).unwrap();
            let request = AddCheckpointRequest { old_size: old, proof, note: signed.to_note() };

            let recorded_size = recorded.map_or(0, |r| r.0);
            let expected = if old > size {
                400
            } else if old != recorded_size {
                409
            } else if recorded.is_some_and(|(s, r)| s > 0 && root(s, tree).unwrap() != r) {
                422
            } else {
                200
            };
            outcomes[match expected { 200 => 0, 400 => 1, 409 => 2, _ => 3 }] += 1;
            let got = witness.add_checkpoint(&request, 1_700_000_000).map_err(|e| e.status());
            match got {
                Ok(cosignature) => {
                    prop_assert_eq!(expected, 200);
                    let mut cosigned = signed.clone();
                    cosigned.signatures.push(cosignature.to_note_signature());
                    prop_assert!(verify_cosignature(&cosigned, &witness.verifier()).is_ok());
                    recorded = Some((size, new_root));
                }
                Err(status) => prop_assert_eq!(status, expected),
            }
            prop_assert_eq!(witness.latest(ORIGIN).unwrap(), recorded);
        }
        COVERAGE.with(|c| {
            let mut c = c.borrow_mut();
            for (total, n) in c.iter_mut().zip(outcomes) {
                *total += n;
            }
        });
    }
}

thread_local! {
    /// Requests expected to get 200, 400, 409 and 422 over all cases.
    static COVERAGE: std::cell::RefCell<[u32; 4]> = const { std::cell::RefCell::new([0; 4]) };
}

#[test]
fn the_model_test_reaches_every_outcome() {
    the_witness_follows_the_model();
    let coverage = COVERAGE.with(|c| *c.borrow());
    assert!(
        coverage.iter().all(|n| *n > 0),
        "200/400/409/422: {coverage:?}"
    );
}
