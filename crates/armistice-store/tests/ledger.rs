//! The store against its contract: atomic batches, rejections that change
//! nothing, idempotency, optimistic concurrency, reopening, verification.

use armistice_core::json::{parse_line, Submission};
use armistice_core::Timestamp;
use armistice_store::{AppendOptions, Ledger, OpenMode, StoreError};
use tempfile::TempDir;
use uuid::Uuid;

const SETUP: &[&str] = &[
    r#"{"type":"party_registered","by":"operator","party":"UA","name":"Ukraine","role":"belligerent"}"#,
    r#"{"type":"party_registered","by":"operator","party":"RU","name":"Russia","role":"belligerent"}"#,
    r#"{"type":"party_registered","by":"operator","party":"US","name":"United States","role":"mediator"}"#,
    r#"{"type":"party_registered","by":"operator","party":"MON","name":"Monitors","role":"monitor"}"#,
    r#"{"type":"agreement_proposed","by":"US","agreement":"energy","title":"Energy moratorium","kind":"bilateral","parties":["RU","UA"],"mediators":["US"],"scope":["energy_infrastructure"],"effective_from":"2025-03-18T17:00:00Z","occurred_at":"2025-03-18T17:00:00Z"}"#,
    r#"{"type":"agreement_signed","by":"RU","agreement":"energy","occurred_at":"2025-03-18T18:00:00Z"}"#,
];

const CLAIM: &str = r#"{"type":"violation_alleged","by":"UA","claim":"c1","agreement":"energy","against":"RU","incident_at":"2025-03-19T01:00:00Z","category":"energy_infrastructure_strike","location":{"name":"Sloviansk"},"description":"Power lost","occurred_at":"2025-03-19T08:00:00Z"}"#;

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2025-06-01T00:00:00Z").unwrap()
}

fn options() -> AppendOptions {
    AppendOptions {
        now: now(),
        backfill: false,
    }
}

fn subs(lines: &[&str]) -> Vec<Submission> {
    lines
        .iter()
        .map(|line| parse_line(line, Uuid::now_v7()).unwrap())
        .collect()
}

fn create(path: &std::path::Path) -> Ledger {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let ledger =
        Ledger::create(path, &key.verifying_key().to_bytes(), "test.example/ledger").unwrap();
    ledger.attach_operator_key(key).unwrap();
    ledger
}

fn new_ledger() -> (TempDir, Ledger) {
    let dir = TempDir::new().unwrap();
    let ledger = create(&dir.path().join("l"));
    ledger.append(&subs(SETUP), &options()).unwrap();
    (dir, ledger)
}

/// Rewrites entry `seq`'s stored bytes in place (sealed chunk or tail key),
/// as someone with the files would.
fn tamper_entry(ledger: &Ledger, seq: u64, change: impl FnOnce(&mut Vec<u8>)) {
    use armistice_store::{chunk, layout};
    let tree = ledger.tree();
    let index = layout::chunk_of(seq);
    if let Some(value) = tree.get(layout::chunk(index)).unwrap() {
        let mut entries: Vec<Vec<u8>> = chunk::decode(&value)
            .unwrap()
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        change(&mut entries[((seq - 1) % layout::CHUNK_ENTRIES) as usize]);
        let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        tree.insert(layout::chunk(index), chunk::encode(&slices))
            .unwrap();
    } else {
        let mut value = tree.get(layout::tail(seq)).unwrap().unwrap().to_vec();
        change(&mut value);
        tree.insert(layout::tail(seq), value).unwrap();
    }
}

fn rejection(result: Result<Vec<armistice_store::Appended>, StoreError>) -> (usize, String) {
    match result {
        Err(StoreError::Rejected { index, rejection }) => (index, rejection.to_string()),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn appends_gap_free_and_survives_reopen() {
    let (dir, ledger) = new_ledger();
    let out = ledger.append(&subs(&[CLAIM]), &options()).unwrap();
    assert_eq!(out[0].seq, 7);
    assert_eq!(out[0].stream, "claim/c1");
    assert_eq!(out[0].version, 1);
    let head = ledger.head();
    drop(ledger);
    let ledger = Ledger::open(&dir.path().join("l"), OpenMode::Write).unwrap();
    ledger
        .attach_operator_key(ed25519_dalek::SigningKey::from_bytes(&[7; 32]))
        .unwrap();
    assert_eq!(ledger.head(), head);
    let seqs: Vec<u64> = ledger
        .records(1, u64::MAX)
        .map(|r| r.unwrap().header.seq)
        .collect();
    assert_eq!(seqs, (1..=7).collect::<Vec<_>>());
    let report = ledger.verify().unwrap();
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.entries, 7);
    // The rule state is rebuilt from the log: the claim exists after reopening.
    let other_event = CLAIM.replace(r#""claim":"c1""#, r#""claim":"c1","source":"x""#);
    let (_, message) = rejection(ledger.append(&subs(&[&other_event]), &options()));
    assert!(message.contains("claim `c1` already exists"), "{message}");
}

#[test]
fn a_rejected_batch_changes_nothing_and_leaves_no_trace_in_the_rules() {
    let (_dir, ledger) = new_ledger();
    let head = ledger.head();
    let bad_second = r#"{"type":"allegation_responded","by":"UA","claim":"c1","response":"denied","statement":"no"}"#;
    let (index, message) = rejection(ledger.append(&subs(&[CLAIM, bad_second]), &options()));
    assert_eq!(index, 1);
    assert!(message.contains("only the accused (`RU`)"), "{message}");
    assert_eq!(ledger.head(), head);
    assert_eq!(ledger.tree().len(), {
        let again = Ledger::verify(&ledger).unwrap();
        assert_eq!(again.entries, 6);
        ledger.tree().len()
    });
    // c1 was staged then rolled back: responding to it is still "unknown claim".
    let answer = r#"{"type":"allegation_responded","by":"RU","claim":"c1","response":"denied","statement":"no"}"#;
    let (_, message) = rejection(ledger.append(&subs(&[answer]), &options()));
    assert!(message.contains("unknown claim `c1`"), "{message}");
    // And the claim itself can still be filed.
    ledger.append(&subs(&[CLAIM, answer]), &options()).unwrap();
}

#[test]
fn re_appending_the_same_event_id_is_idempotent() {
    let (_dir, ledger) = new_ledger();
    let id = Uuid::now_v7();
    let line = CLAIM.replace(r#""by":"UA""#, &format!(r#""by":"UA","event_id":"{id}""#));
    let first = ledger.append(&subs(&[&line]), &options()).unwrap();
    let again = ledger.append(&subs(&[&line]), &options()).unwrap();
    assert!(!first[0].duplicate);
    assert!(again[0].duplicate);
    assert_eq!(again[0].seq, first[0].seq);
    assert_eq!(ledger.head().seq, first[0].seq);
    let changed = line.replace("Power lost", "Power lost twice");
    let (_, message) = rejection(ledger.append(&subs(&[&changed]), &options()));
    assert!(
        message.contains("already stored (seq 7) with different content"),
        "{message}"
    );
}

#[test]
fn an_event_without_occurred_at_is_idempotent_too() {
    let (_dir, ledger) = new_ledger();
    let id = Uuid::now_v7();
    let line = format!(
        r#"{{"type":"agreement_signed","by":"UA","agreement":"energy","event_id":"{id}"}}"#
    );
    let first = ledger.append(&subs(&[&line]), &options()).unwrap();
    let later = AppendOptions {
        now: Timestamp(now().micros() + 1_000_000),
        backfill: false,
    };
    let again = ledger.append(&subs(&[&line]), &later).unwrap();
    assert!(again[0].duplicate);
    assert_eq!(again[0].hash, first[0].hash);
}

#[test]
fn expected_version_detects_a_concurrent_writer() {
    let (_dir, ledger) = new_ledger();
    let sign = r#"{"type":"agreement_signed","by":"UA","agreement":"energy","expected_version":2}"#;
    let stale = r#"{"type":"agreement_suspended","by":"US","agreement":"energy","reason":"talks","expected_version":2}"#;
    ledger.append(&subs(&[sign]), &options()).unwrap();
    let (_, message) = rejection(ledger.append(&subs(&[stale]), &options()));
    assert!(message.contains("is at version 3, not 2"), "{message}");
}

#[test]
fn recorded_at_never_decreases_even_when_the_clock_steps_back() {
    let (_dir, ledger) = new_ledger();
    let before = ledger.head().recorded_at;
    let earlier = AppendOptions {
        now: Timestamp(now().micros() - 3_600_000_000),
        backfill: false,
    };
    let line = r#"{"type":"agreement_signed","by":"UA","agreement":"energy","occurred_at":"2025-03-19T00:00:00Z"}"#;
    ledger.append(&subs(&[line]), &earlier).unwrap();
    assert_eq!(ledger.head().recorded_at, before);
}

#[test]
fn a_second_open_is_a_clear_busy_error() {
    let (dir, _ledger) = new_ledger();
    match Ledger::open(&dir.path().join("l"), OpenMode::Write) {
        Err(StoreError::Busy(_)) => {}
        Err(other) => panic!("expected Busy, got {other}"),
        Ok(_) => panic!("a second open succeeded"),
    }
    assert!(matches!(
        Ledger::open(&dir.path().join("none"), OpenMode::Write),
        Err(StoreError::NotALedger(_))
    ));
    assert!(matches!(
        Ledger::create(&dir.path().join("l"), &[1; 32], "x"),
        Err(StoreError::AlreadyExists(_))
    ));
}

#[test]
fn verify_names_a_tampered_entry() {
    let (_dir, ledger) = new_ledger();
    ledger.append(&subs(&[CLAIM]), &options()).unwrap();
    // Entry 5 is the signature of `energy` by RU: its payload ends the value.
    tamper_entry(&ledger, 5, |value| {
        let last = value.len() - 1;
        value[last] ^= 0x01;
    });
    let problem = ledger.verify().unwrap().problems[0].clone();
    assert_eq!(problem.seq, 5);
    assert!(problem.detail.contains("digest"), "{}", problem.detail);
    // Its payload (the digests the signature covers) changed: the leaf's
    // SHA-256 of it no longer matches.
    tamper_entry(&ledger, 6, |value| {
        let (header, leaf_len) = armistice_core::Header::decode(value).unwrap();
        assert_eq!(header.seq, 6);
        value[leaf_len + 4 + 17] ^= 0x01;
    });
    let problems = ledger.verify().unwrap().problems;
    assert_eq!(problems[1].seq, 6);
    assert!(problems[1].detail.contains("SHA-256"), "{problems:?}");
}

#[test]
fn known_at_finds_the_last_entry_recorded_by_a_time() {
    let dir = TempDir::new().unwrap();
    let ledger = create(&dir.path().join("l"));
    let backfill = AppendOptions {
        now: now(),
        backfill: true,
    };
    let lines: Vec<String> = SETUP
        .iter()
        .enumerate()
        .map(|(i, line)| {
            line.replacen(
                '{',
                &format!(r#"{{"recorded_at":"2025-03-{:02}T18:00:00Z","#, 18 + i),
                1,
            )
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    ledger.append(&subs(&refs), &backfill).unwrap();
    let at = |text: &str| {
        ledger
            .last_seq_recorded_by(Timestamp::parse_rfc3339(text).unwrap())
            .unwrap()
    };
    assert_eq!(at("2025-03-17T00:00:00Z"), 0);
    assert_eq!(at("2025-03-18T18:00:00Z"), 1);
    assert_eq!(at("2025-03-21T00:00:00Z"), 3);
    assert_eq!(at("2025-04-01T00:00:00Z"), 6);
    assert!(ledger.record(1).unwrap().header.backfilled);
}

fn claim_lines(from: usize, to: usize) -> Vec<String> {
    (from..to)
        .map(|i| CLAIM.replace(r#""claim":"c1""#, &format!(r#""claim":"c{i}""#)))
        .collect()
}

fn as_subs(lines: &[String]) -> Vec<Submission> {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    subs(&refs)
}

#[test]
fn a_session_lands_whole_on_commit_and_not_at_all_when_dropped() {
    let (_dir, ledger) = new_ledger();
    let head = ledger.head();
    {
        let mut session = ledger.begin().unwrap();
        session
            .append(&as_subs(&claim_lines(0, 3)), &options())
            .unwrap();
        session
            .append(&as_subs(&claim_lines(3, 6)), &options())
            .unwrap();
        assert_eq!(session.head().seq, 12);
        // Nothing staged is visible before the commit.
        assert_eq!(ledger.head(), head);
    }
    assert_eq!(ledger.head(), head);
    assert_eq!(ledger.verify().unwrap().problems, vec![]);
    let mut session = ledger.begin().unwrap();
    session
        .append(&as_subs(&claim_lines(0, 3)), &options())
        .unwrap();
    session
        .append(&as_subs(&claim_lines(3, 6)), &options())
        .unwrap();
    let committed = session.commit().unwrap();
    assert_eq!(committed.seq, 12);
    assert_eq!(ledger.head(), committed);
    assert_eq!(
        ledger.verify().unwrap(),
        armistice_store::VerifyReport {
            entries: 12,
            head: committed,
            proven_to: 12,
            signatures_valid: 4,
            redacted: 0,
            uncommitted: 0,
            problems: vec![],
        }
    );
}

#[test]
fn a_rejection_in_a_later_chunk_undoes_the_earlier_chunks() {
    let (_dir, ledger) = new_ledger();
    let head = ledger.head();
    let mut session = ledger.begin().unwrap();
    session
        .append(&as_subs(&claim_lines(0, 3)), &options())
        .unwrap();
    let err = session
        .append(&as_subs(&claim_lines(2, 4)), &options())
        .unwrap_err();
    assert!(
        err.to_string().contains("claim `c2` already exists"),
        "{err}"
    );
    assert!(session.commit().is_err());
    assert_eq!(ledger.head(), head);
    assert_eq!(ledger.verify().unwrap().entries, 6);
    // The rolled-back claims are unknown again, so they can be filed.
    ledger
        .append(&as_subs(&claim_lines(0, 3)), &options())
        .unwrap();
}

#[test]
fn a_crash_before_commit_leaves_entries_that_the_next_open_removes() {
    let (dir, ledger) = new_ledger();
    let head = ledger.head();
    let mut session = ledger.begin().unwrap();
    session
        .append(&as_subs(&claim_lines(0, 3)), &options())
        .unwrap();
    session
        .append(&as_subs(&claim_lines(3, 6)), &options())
        .unwrap();
    // Simulate the process dying: the session's clean-up never runs.
    std::mem::forget(session);
    ledger.sync().unwrap();
    drop(ledger);
    let ledger = Ledger::open(&dir.path().join("l"), OpenMode::Write).unwrap();
    assert_eq!(ledger.head(), head);
    let report = ledger.verify().unwrap();
    assert_eq!((report.entries, report.problems), (6, vec![]));
    ledger
        .append(&as_subs(&claim_lines(0, 6)), &options())
        .unwrap();
    assert_eq!(ledger.verify().unwrap().problems, vec![]);
}

#[test]
fn redaction_keeps_the_chain_and_blanks_the_reading_copy() {
    let (_dir, ledger) = new_ledger();
    let claim = CLAIM.replace("Power lost", "Witness Ivan Petrenko saw it");
    ledger.append(&subs(&[&claim]), &options()).unwrap();
    let before = ledger.record(7).unwrap();
    let redact = r#"{"type":"entry_redacted","by":"operator","target_seq":7,"reason":"witness name","fields":["description"]}"#;
    ledger.append(&subs(&[redact]), &options()).unwrap();
    let after = ledger.record(7).unwrap();
    assert_eq!(after.hash, before.hash);
    assert_eq!(
        after.redaction,
        armistice_core::Redaction::Fields(vec![armistice_core::disclose::Field::Description])
    );
    assert!(!format!("{:?}", after.statement).contains("Petrenko"));
    let raw = ledger.entry_bytes(7).unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("Petrenko"));
    let report = ledger.verify().unwrap();
    assert_eq!((report.problems, report.redacted), (vec![], 1));
    let again = r#"{"type":"entry_redacted","by":"operator","target_seq":7,"reason":"again","fields":["description"]}"#;
    let (_, message) = rejection(ledger.append(&subs(&[again]), &options()));
    assert!(message.contains("already redacted"), "{message}");
    let empty =
        r#"{"type":"entry_redacted","by":"operator","target_seq":7,"reason":"again","fields":[]}"#;
    let (_, message) = rejection(ledger.append(&subs(&[empty]), &options()));
    assert!(message.contains("list is empty"), "{message}");
    let by_party =
        r#"{"type":"entry_redacted","by":"UA","target_seq":6,"reason":"mine","fields":["source"]}"#;
    let (_, message) = rejection(ledger.append(&subs(&[by_party]), &options()));
    assert!(message.contains("only `operator`"), "{message}");
}

#[test]
fn concurrent_writers_lose_nothing_and_share_flushes() {
    let (_dir, ledger) = new_ledger();
    let writers = 8;
    let per_writer = 20;
    std::thread::scope(|scope| {
        for w in 0..writers {
            let ledger = &ledger;
            scope.spawn(move || {
                for i in 0..per_writer {
                    let line = CLAIM.replace(r#""claim":"c1""#, &format!(r#""claim":"w{w}-{i}""#));
                    let appended = ledger.append(&subs(&[&line]), &options()).unwrap();
                    // Acknowledged means durable and visible.
                    assert!(ledger.head().seq >= appended[0].seq);
                }
            });
        }
    });
    let report = ledger.verify().unwrap();
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.entries, 6 + writers * per_writer);
    for w in 0..writers {
        for i in 0..per_writer {
            assert_eq!(
                ledger
                    .stream_records(&format!("claim/w{w}-{i}"))
                    .unwrap()
                    .len(),
                1
            );
        }
    }
}

#[test]
fn verify_names_the_entry_whose_index_key_or_tree_node_is_wrong() {
    let (_dir, ledger) = new_ledger();
    ledger.append(&subs(&[CLAIM]), &options()).unwrap();
    let event_id = ledger.record(3).unwrap().header.event_id;
    ledger
        .tree()
        .remove(armistice_store::layout::event_id(&event_id))
        .unwrap();
    let problems = ledger.verify().unwrap().problems;
    assert_eq!(
        problems[0].to_string(),
        "seq 3: the event_id index lacks this entry"
    );

    let (_dir, ledger) = new_ledger();
    ledger
        .append(&as_subs(&claim_lines(0, 140)), &options())
        .unwrap();
    // Chunk 0 (entries 1 to 64) is sealed: its summary is rewritten.
    ledger
        .tree()
        .insert(armistice_store::layout::summary(0), vec![0; 18])
        .unwrap();
    // Nodes are stored from level 6 up: (6, 1) covers entries 65 to 128.
    ledger
        .tree()
        .insert(armistice_store::layout::merkle(6, 1), vec![0; 32])
        .unwrap();
    let problems: Vec<String> = ledger
        .verify()
        .unwrap()
        .problems
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        problems,
        vec![
            "seq 1: the summary of chunk 0 does not match its entries".to_owned(),
            "seq 128: stored Merkle node (6, 1) does not match the entries".to_owned(),
        ]
    );
}

#[test]
fn proofs_from_the_stored_tree_match_a_tree_rebuilt_from_the_leaves() {
    let (_dir, ledger) = new_ledger();
    for chunk in 0..15 {
        ledger
            .append(
                &as_subs(&claim_lines(chunk * 10, chunk * 10 + 10)),
                &options(),
            )
            .unwrap();
    }
    let mut memory = armistice_merkle::MemoryTree::new();
    for item in ledger.entries(1, u64::MAX) {
        let (_, value) = item.unwrap();
        let (_, leaf_len) = armistice_core::Header::decode(&value).unwrap();
        memory.push(&value[..leaf_len]);
    }
    let size = ledger.head().seq;
    assert_eq!(size, 156);
    for tree_size in 1..=size {
        assert_eq!(
            ledger.root(tree_size).unwrap(),
            armistice_merkle::root(tree_size, &memory).unwrap()
        );
        for seq in [1, tree_size / 2 + 1, tree_size] {
            let proof = ledger.inclusion_proof(seq, tree_size).unwrap();
            assert_eq!(
                proof.path,
                armistice_merkle::inclusion_proof(seq - 1, tree_size, &memory).unwrap()
            );
        }
        let consistency = ledger
            .consistency_proof(tree_size.div_ceil(3), tree_size)
            .unwrap();
        assert_eq!(
            consistency,
            armistice_merkle::consistency_proof(tree_size.div_ceil(3), tree_size, &memory).unwrap()
        );
    }
    // Reopening rebuilds the frontier from the stored nodes: appends go on extending the same tree.
    let path = ledger.path().to_owned();
    drop(ledger);
    let ledger = Ledger::open(&path, OpenMode::Write).unwrap();
    ledger
        .append(&as_subs(&claim_lines(200, 205)), &options())
        .unwrap();
    assert_eq!(ledger.verify().unwrap().problems, vec![]);
}

#[test]
fn concurrent_writers_with_rejections_and_duplicates_stay_consistent() {
    let (_dir, ledger) = new_ledger();
    let shared_id = Uuid::now_v7();
    let shared = CLAIM.replace(
        r#""claim":"c1""#,
        &format!(r#""claim":"shared","event_id":"{shared_id}""#),
    );
    std::thread::scope(|scope| {
        for w in 0..6 {
            let (ledger, shared) = (&ledger, &shared);
            scope.spawn(move || {
                for i in 0..10 {
                    let own = CLAIM.replace(r#""claim":"c1""#, &format!(r#""claim":"w{w}-{i}""#));
                    ledger.append(&subs(&[&own]), &options()).unwrap();
                    // Every writer submits the same statement: one entry, the rest duplicates.
                    ledger.append(&subs(&[shared]), &options()).unwrap();
                    // An answer to a claim that does not exist fails alone.
                    let bad = format!(
                        r#"{{"type":"allegation_responded","by":"RU","claim":"none-{w}-{i}","response":"denied","statement":"no"}}"#
                    );
                    let answer = format!(
                        r#"{{"type":"allegation_responded","by":"RU","claim":"w{w}-{i}","response":"denied","statement":"no"}}"#
                    );
                    assert!(ledger.append(&subs(&[&answer, &bad]), &options()).is_err());
                    ledger.append(&subs(&[&answer]), &options()).unwrap();
                }
            });
        }
    });
    let report = ledger.verify().unwrap();
    assert_eq!(report.problems, vec![]);
    assert_eq!(report.entries, 6 + 6 * 10 * 2 + 1);
    assert_eq!(ledger.stream_records("claim/shared").unwrap().len(), 1);
    assert_eq!(ledger.stream_records("claim/w3-7").unwrap().len(), 2);
}

#[test]
fn records_decoded_ahead_are_the_records_in_order() {
    let (_dir, ledger) = new_ledger();
    ledger
        .append(&as_subs(&claim_lines(0, 1500)), &options())
        .unwrap();
    let direct: Vec<_> = ledger.records(1, u64::MAX).map(Result::unwrap).collect();
    let ahead: Vec<_> = ledger
        .records_ahead(1, u64::MAX)
        .map(Result::unwrap)
        .collect();
    assert_eq!(ahead, direct);
    let middle: Vec<u64> = ledger
        .records_ahead(700, 1200)
        .map(|r| r.unwrap().header.seq)
        .collect();
    assert_eq!(middle, (700..=1200).collect::<Vec<_>>());
    assert_eq!(ledger.records_ahead(9, 3).count(), 0);
    // A reader that stops early lets the decoding thread go.
    let first: Vec<_> = ledger.records_ahead(1, u64::MAX).take(3).collect();
    assert_eq!(first.len(), 3);
    // A damaged entry is an error in the stream, where it stands.
    tamper_entry(&ledger, 600, |value| value[0] = 99);
    let items: Vec<_> = ledger.records_ahead(1, u64::MAX).collect();
    assert_eq!(items.len(), 600);
    assert!(items[599].is_err());
}

#[test]
fn verify_reports_stray_entry_keys_instead_of_panicking() {
    use armistice_store::layout;
    let (_dir, ledger) = new_ledger();
    let value = ledger.entry_bytes(2).unwrap();
    ledger
        .tree()
        .insert(layout::tail(0), value.clone())
        .unwrap();
    let mut long_key = layout::tail(3).to_vec();
    long_key.push(0);
    ledger.tree().insert(long_key, value).unwrap();
    let problems = ledger.verify().unwrap().problems;
    let stray = problems
        .iter()
        .filter(|p| p.detail.contains("stray key"))
        .count();
    assert_eq!(stray, 2, "{problems:?}");
}
