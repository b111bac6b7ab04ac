//! What one store must do, whatever keeps it. Each check makes its own
//! empty stores through a [`Backend`] and panics with a message naming the
//! backend when the store falls short.

use crate::backends::{Backend, Created};
use crate::data::{
    append, assessment, claim, operator, options, records, sub, subs, ORIGIN, SETUP, SPRING_2025,
};
use armistice_core::disclose::Field;
use armistice_core::Redaction;
use armistice_merkle::MemoryTree;
use armistice_store::{Appended, Head, Store, StoreError};
use std::time::{Duration, Instant};

/// A store holding [`SETUP`] (seqs 1 to 6), signing as the operator.
fn with_setup(backend: &dyn Backend) -> Created {
    let store = backend.create(&operator(), true, ORIGIN);
    append(&*store, &SETUP);
    store
}

/// The rejection's position and message, or a panic naming what came instead.
fn rejection(backend: &dyn Backend, result: Result<Vec<Appended>, StoreError>) -> (usize, String) {
    match result {
        Err(StoreError::Rejected { index, rejection }) => (index, rejection.to_string()),
        other => panic!("{}: expected a rejection, got {other:?}", backend.name()),
    }
}

/// Everything a reader can see of a store, to compare before and after.
fn snapshot(store: &dyn Store) -> (Head, Vec<Vec<u8>>, armistice_core::entry::Hash) {
    let head = store.head();
    let bytes = store
        .entries(1, u64::MAX)
        .map(|e| e.expect("an entry").1)
        .collect();
    (head, bytes, store.root(head.seq).expect("the root"))
}

fn assert_intact(backend: &dyn Backend, store: &dyn Store) -> armistice_store::VerifyReport {
    let report = store.verify().expect("verify runs");
    assert_eq!(report.problems, vec![], "{}: verify", backend.name());
    assert_eq!(
        report.head,
        store.head(),
        "{}: verify's head",
        backend.name()
    );
    report
}

/// Appends get seq 1, 2, … with their stream versions; every way of
/// reading gives them back in order; reads past the head are refused.
pub fn appends_are_gap_free_and_read_back(backend: &dyn Backend) {
    let name = backend.name();
    let store = backend.create(&operator(), true, ORIGIN);
    assert_eq!(store.head(), Head::EMPTY, "{name}: a new store is empty");
    assert_eq!(store.origin(), ORIGIN);
    assert!(store.can_sign(), "{name}: the operator key is attached");
    let first = append(&*store, &SETUP);
    let seqs: Vec<u64> = first.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6], "{name}");
    assert_eq!(first[4].stream, "agreement/energy");
    assert_eq!(
        (first[5].stream.as_str(), first[5].version),
        ("agreement/energy", 2)
    );
    let more = append(&*store, &[&claim("c1"), &claim("c2")]);
    assert_eq!(
        more.iter().map(|a| (a.seq, a.version)).collect::<Vec<_>>(),
        vec![(7, 1), (8, 1)],
        "{name}"
    );
    let signed = store
        .append(&[assessment("c1")], &options())
        .expect("a signed statement");
    assert_eq!((signed[0].seq, signed[0].version), (9, 2), "{name}");
    let head = store.head();
    assert_eq!(head.seq, 9, "{name}");
    assert_eq!(
        head.hash, signed[0].hash,
        "{name}: the head is the last entry"
    );
    let all = records(&*store);
    assert_eq!(
        all.iter().map(|r| r.header.seq).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>(),
        "{name}: records_ahead"
    );
    for pair in all.windows(2) {
        assert_eq!(pair[1].header.prev_hash, pair[0].hash, "{name}: the chain");
    }
    let entries: Vec<(u64, Vec<u8>)> = store.entries(3, 5).map(|e| e.unwrap()).collect();
    assert_eq!(
        entries.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
    assert_eq!(entries[0].1, store.entry_bytes(3).unwrap(), "{name}");
    assert_eq!(store.record(7).unwrap(), all[6], "{name}: record");
    assert_eq!(
        store.record_header(8).unwrap(),
        all[7].header,
        "{name}: header"
    );
    assert_eq!(
        store.entries(8, 100).count(),
        2,
        "{name}: a range is clamped"
    );
    let claim_stream = store.stream_records("claim/c1").unwrap();
    assert_eq!(
        claim_stream
            .iter()
            .map(|r| r.header.seq)
            .collect::<Vec<_>>(),
        vec![7, 9],
        "{name}: stream_records"
    );
    for missing in [0, 10] {
        assert!(
            matches!(
                store.entry_bytes(missing),
                Err(StoreError::NoSuchEntry { len: 9, .. })
            ),
            "{name}: entry {missing}"
        );
        assert!(store.record(missing).is_err(), "{name}: record {missing}");
    }
    assert!(
        matches!(store.root(10), Err(StoreError::NoSuchEntry { .. })),
        "{name}"
    );
    let report = assert_intact(backend, &*store);
    assert_eq!((report.entries, report.signatures_valid), (9, 5), "{name}");
}

/// A batch with one bad event lands not at all: the store reads byte for
/// byte as before, and the rule state keeps nothing of it.
pub fn a_rejected_batch_changes_nothing(backend: &dyn Backend) {
    let name = backend.name();
    let store = with_setup(backend);
    let before = snapshot(&*store);
    let bad_second = r#"{"type":"allegation_responded","by":"UA","claim":"c1","response":"denied","statement":"no"}"#;
    let (index, message) = rejection(
        backend,
        store.append(&subs(&[&claim("c1"), bad_second]), &options()),
    );
    assert_eq!(index, 1, "{name}: {message}");
    assert!(
        message.contains("only the accused (`RU`)"),
        "{name}: {message}"
    );
    assert_eq!(
        snapshot(&*store),
        before,
        "{name}: a rejected batch changed the store"
    );
    // The claim the batch would have filed does not exist: a response to it
    // is refused, and filing it again is accepted.
    let respond = r#"{"type":"allegation_responded","by":"RU","claim":"c1","response":"denied","statement":"no"}"#;
    let (_, message) = rejection(backend, store.append(&subs(&[respond]), &options()));
    assert!(message.contains("unknown claim"), "{name}: {message}");
    let filed = append(&*store, &[&claim("c1"), respond]);
    assert_eq!(filed[0].seq, 7, "{name}: no gap after a rejection");
    let mut session = store.begin_session().unwrap();
    session.append(&subs(&[&claim("c2")]), &options()).unwrap();
    let (index, _) = rejection(backend, session.append(&subs(&[&claim("c2")]), &options()));
    assert_eq!(
        index, 1,
        "{name}: positions count across a session's chunks"
    );
    assert!(
        session.commit().is_err(),
        "{name}: a failed session cannot commit"
    );
    assert_eq!(store.head().seq, 8, "{name}");
    assert_intact(backend, &*store);
}

/// An event id already stored with the same content is answered with the
/// stored entry and adds nothing; with other content it is refused.
pub fn a_resent_event_is_a_duplicate_and_other_content_is_refused(backend: &dyn Backend) {
    let name = backend.name();
    let store = with_setup(backend);
    let line = claim("c1").replace(
        r#""type":"violation_alleged","#,
        r#""type":"violation_alleged","event_id":"0195865d-0d00-7151-80b4-f355638800aa","#,
    );
    let first = append(&*store, &[&line]);
    let before = snapshot(&*store);
    let again = append(&*store, &[&line]);
    assert!(again[0].duplicate, "{name}: a re-sent event is a duplicate");
    assert_eq!(
        (again[0].seq, again[0].hash),
        (first[0].seq, first[0].hash),
        "{name}"
    );
    assert_eq!(
        snapshot(&*store),
        before,
        "{name}: a duplicate added something"
    );
    // Within one batch, beside a new event: the new one lands, once.
    let mixed = append(&*store, &[&line, &claim("c2")]);
    assert_eq!(
        mixed
            .iter()
            .map(|a| (a.seq, a.duplicate))
            .collect::<Vec<_>>(),
        vec![(7, true), (8, false)],
        "{name}"
    );
    let other = line.replace("Power lost", "Power lost again");
    let (_, message) = rejection(backend, store.append(&subs(&[&other]), &options()));
    assert!(
        message.contains("already stored (seq 7) with different content"),
        "{name}: {message}"
    );
    // A signed statement re-sent whole is a duplicate too.
    let signed = assessment("c1");
    let once = store
        .append(std::slice::from_ref(&signed), &options())
        .unwrap();
    let twice = store.append(&[signed], &options()).unwrap();
    assert!(!once[0].duplicate && twice[0].duplicate, "{name}");
    assert_eq!(store.head().seq, 9, "{name}");
    assert_intact(backend, &*store);
}

/// `expected_version` orders a stream: the version it names must be the
/// stream's, or the event is refused.
pub fn expected_versions_order_a_stream(backend: &dyn Backend) {
    let name = backend.name();
    let store = with_setup(backend);
    let filed = store
        .append(&[with_expected(&claim("c1"), 0)], &options())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(filed[0].version, 1);
    let evidence = r#"{"type":"evidence_added","by":"UA","claim":"c1","evidence":[{"sha256":"0000000000000000000000000000000000000000000000000000000000000000","media_type":"image/jpeg","uri":"https://example.org/a.jpg","description":"photo"}]}"#;
    let added = store
        .append(&[with_expected(evidence, 1)], &options())
        .unwrap();
    assert_eq!(added[0].version, 2, "{name}");
    let (_, message) = rejection(
        backend,
        store.append(&[with_expected(evidence, 1)], &options()),
    );
    assert!(message.contains("expected_version"), "{name}: {message}");
    assert!(
        message.contains("is at version 2, not 1"),
        "{name}: {message}"
    );
    let (_, message) = rejection(
        backend,
        store.append(&[with_expected(&claim("c2"), 3)], &options()),
    );
    assert!(message.contains("version 0, not 3"), "{name}: {message}");
    assert_eq!(store.head().seq, 8, "{name}");
}

fn with_expected(line: &str, version: u64) -> armistice_core::json::Submission {
    let mut submission = sub(line);
    submission.expected_version = Some(version);
    submission
}

/// A session's chunks land together at its commit, or not at all (a
/// rejection, or a drop without commit); others see none of it before.
pub fn sessions_land_whole_or_not_at_all(backend: &dyn Backend) {
    let name = backend.name();
    let store = backend.create(&operator(), true, ORIGIN);
    let mut session = store.begin_session().unwrap();
    session.append(&subs(&SETUP[..3]), &options()).unwrap();
    session.append(&subs(&SETUP[3..]), &options()).unwrap();
    let claims: Vec<String> = (0..40).map(|i| claim(&format!("s{i}"))).collect();
    for chunk in claims.chunks(7) {
        let lines: Vec<&str> = chunk.iter().map(String::as_str).collect();
        session.append(&subs(&lines), &options()).unwrap();
    }
    let head = session.commit().unwrap();
    assert_eq!(head.seq, 46, "{name}");
    assert_eq!(
        store.head(),
        head,
        "{name}: the commit's head is the store's"
    );
    let before = snapshot(&*store);
    {
        let mut dropped = store.begin_session().unwrap();
        dropped.append(&subs(&[&claim("d1")]), &options()).unwrap();
    }
    assert_eq!(
        snapshot(&*store),
        before,
        "{name}: a dropped session left something"
    );
    let mut rejected = store.begin_session().unwrap();
    rejected.append(&subs(&[&claim("d2")]), &options()).unwrap();
    let (index, _) = rejection(backend, rejected.append(&subs(&[&claim("d2")]), &options()));
    assert_eq!(index, 1, "{name}");
    drop(rejected);
    assert_eq!(
        snapshot(&*store),
        before,
        "{name}: a rejected session left something"
    );
    // The claims of the dropped sessions were never filed.
    let filed = append(&*store, &[&claim("d1"), &claim("d2")]);
    assert_eq!(filed[1].seq, 48, "{name}");
    assert_intact(backend, &*store);
}

/// Redaction swaps a body for its reading copy: the entry's hash, the
/// chain, every proof and checkpoint still hold; `verify` knows why.
pub fn redaction_keeps_every_hash(backend: &dyn Backend) {
    let name = backend.name();
    let store = with_setup(backend);
    let secret = claim("c1").replace("Power lost", "Witness Ivan Petrenko saw it");
    append(&*store, &[&secret]);
    let checkpoint = store.sign_checkpoint(7).unwrap();
    let before = store.record(7).unwrap();
    let redact = r#"{"type":"entry_redacted","by":"operator","target_seq":7,"reason":"witness name","fields":["description"]}"#;
    append(&*store, &[redact]);
    let after = store.record(7).unwrap();
    assert_eq!(after.hash, before.hash, "{name}: the hash moved");
    assert_eq!(
        after.redaction,
        Redaction::Fields(vec![Field::Description]),
        "{name}"
    );
    assert!(
        !format!("{:?}", after.statement).contains("Petrenko"),
        "{name}"
    );
    let raw = store.entry_bytes(7).unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains("Petrenko"),
        "{name}: the bytes keep it"
    );
    assert_eq!(store.root(7).unwrap(), checkpoint.checkpoint.root, "{name}");
    let proof = store.inclusion_proof(7, 8).unwrap();
    armistice_merkle::verify_inclusion(
        &proof.leaf_hash,
        6,
        8,
        &proof.path,
        &store.root(8).unwrap(),
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    let report = assert_intact(backend, &*store);
    assert_eq!(report.redacted, 1, "{name}");
    let again = r#"{"type":"entry_redacted","by":"operator","target_seq":7,"reason":"again","fields":["description"]}"#;
    let (_, message) = rejection(backend, store.append(&subs(&[again]), &options()));
    assert!(message.contains("already redacted"), "{name}: {message}");
    let in_batch = r#"{"type":"entry_redacted","by":"operator","target_seq":9,"reason":"same batch","fields":["description"]}"#;
    let (_, message) = rejection(
        backend,
        store.append(&subs(&[&claim("c2"), in_batch]), &options()),
    );
    assert!(
        message.contains("in the batch that appends it"),
        "{name}: {message}"
    );
}

/// Roots, inclusion and consistency proofs and stored nodes are those of
/// an in-memory RFC 6962 tree over the same leaves, at every size tried.
pub fn proofs_equal_a_memory_trees(backend: &dyn Backend) {
    let name = backend.name();
    let store = with_setup(backend);
    let claims: Vec<String> = (0..140).map(|i| claim(&format!("p{i}"))).collect();
    for chunk in claims.chunks(35) {
        let lines: Vec<&str> = chunk.iter().map(String::as_str).collect();
        append(&*store, &lines);
    }
    let head = store.head().seq;
    assert_eq!(head, 146);
    let mut tree = MemoryTree::new();
    for item in store.entries(1, head) {
        let (_, bytes) = item.unwrap();
        let (_, leaf_len) = armistice_core::Header::decode(&bytes).unwrap();
        tree.push(&bytes[..leaf_len]);
    }
    let sizes = [1, 2, 3, 7, 63, 64, 65, 100, 127, 128, 129, 145, 146];
    for size in sizes {
        let expected = armistice_merkle::root(size, &tree).unwrap();
        assert_eq!(store.root(size).unwrap(), expected, "{name}: root({size})");
        for seq in [1, size / 2 + 1, size] {
            let proof = store.inclusion_proof(seq, size).unwrap();
            let path = armistice_merkle::inclusion_proof(seq - 1, size, &tree).unwrap();
            assert_eq!(proof.path, path, "{name}: inclusion of {seq} in {size}");
            assert_eq!(
                (proof.root_hash, proof.leaf_index),
                (expected, seq - 1),
                "{name}"
            );
        }
        for size1 in [1, size / 3 + 1, size] {
            let proof = store.consistency_proof(size1, size).unwrap();
            let reference = armistice_merkle::consistency_proof(size1, size, &tree).unwrap();
            assert_eq!(proof, reference, "{name}: consistency {size1} → {size}");
        }
    }
    for (level, index) in [(0, 5), (3, 2), (6, 0), (6, 1), (7, 0)] {
        let reference = armistice_merkle::NodeSource::node(&tree, level, index).unwrap();
        assert_eq!(
            store.node(level, index).unwrap(),
            reference,
            "{name}: node ({level}, {index})"
        );
    }
    assert!(store.node(8, 0).is_err(), "{name}: a node past the head");
    assert_intact(backend, &*store);
}

/// Checkpoints are signed by the operator, kept once per size (signing a
/// size again gives the same note), listed by size; a receipt's note is
/// not kept; a checkpoint of another tree is refused.
pub fn checkpoints_are_kept_once_per_size(backend: &dyn Backend) {
    let name = backend.name();
    let store = with_setup(backend);
    let key = operator().verifying_key();
    let six = store.sign_checkpoint(6).unwrap();
    six.verify(ORIGIN, &key)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(six.checkpoint.root, store.root(6).unwrap());
    assert_eq!(
        store.sign_checkpoint(6).unwrap(),
        six,
        "{name}: one note per size"
    );
    let three = store.sign_checkpoint(3).unwrap();
    append(&*store, &[&claim("c1")]);
    let note = store.checkpoint_note(7).unwrap();
    note.verify(ORIGIN, &key).unwrap();
    let kept = store.checkpoints().unwrap();
    assert_eq!(
        kept,
        vec![three, six.clone()],
        "{name}: receipts are not kept"
    );
    let mut forged = six.clone();
    forged.checkpoint.size = 7;
    assert!(
        store.keep_checkpoint(&forged).is_err(),
        "{name}: another tree's root"
    );
    store.keep_checkpoint(&note).unwrap();
    assert_eq!(store.checkpoints().unwrap().len(), 3, "{name}");
    assert!(store.sign_checkpoint(8).is_err(), "{name}: past the head");
    assert_intact(backend, &*store);
}

/// Every durable head reaches a watcher.
pub fn the_head_watch_sees_appends(backend: &dyn Backend) {
    let name = backend.name();
    let store = with_setup(backend);
    let watch = store.watch_head();
    assert_eq!(watch.borrow().seq, 6, "{name}");
    let appended = append(&*store, &[&claim("c1")]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while watch.borrow().seq < appended[0].seq {
        assert!(
            Instant::now() < deadline,
            "{name}: the watch never saw seq 7"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(*watch.borrow(), store.head(), "{name}");
}

/// Writers on eight threads: every append lands once, acknowledged only
/// when visible, and the log stays gap-free.
pub fn concurrent_appends_are_gap_free(backend: &dyn Backend) {
    let name = backend.name();
    let store = with_setup(backend);
    let writers = 8;
    let per_writer = 15;
    let mut seqs: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let store = &store;
                scope.spawn(move || {
                    (0..per_writer)
                        .map(|i| {
                            let appended = append(&**store, &[&claim(&format!("w{w}-{i}"))]);
                            assert!(
                                store.head().seq >= appended[0].seq,
                                "acknowledged means visible"
                            );
                            appended[0].seq
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    seqs.sort_unstable();
    let total = writers * per_writer;
    assert_eq!(
        seqs,
        (7..7 + total).collect::<Vec<_>>(),
        "{name}: gaps or duplicates"
    );
    assert_intact(backend, &*store);
}

/// The spring 2025 example, appended with backfill, verifies, with every
/// line's `recorded_at`.
pub fn the_spring_2025_example_verifies(backend: &dyn Backend) {
    let name = backend.name();
    let store = backend.create(&operator(), true, ORIGIN);
    crate::across::append_example(&*store);
    let report = assert_intact(backend, &*store);
    assert_eq!(report.entries, 61, "{name}");
    let lines: Vec<&str> = SPRING_2025
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let first = sub(lines[0]);
    assert_eq!(
        Some(store.record(1).unwrap().header.recorded_at),
        first.copy.recorded_at,
        "{name}"
    );
}
