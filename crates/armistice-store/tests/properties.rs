//! Property tests: any sequence of valid events, appended in any batch
//! split, lands gap-free, verifies, and survives close and reopen; replaying
//! a stream's entries gives the versions a simple model expects.

use armistice_core::json::parse_line;
use armistice_core::Timestamp;
use armistice_store::{AppendOptions, Ledger, OpenMode};
use proptest::prelude::*;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Turns arbitrary choices into a valid event sequence, tracking what exists.
#[derive(Default)]
struct Scenario {
    lines: Vec<String>,
    agreements: Vec<String>,
    claims: Vec<(String, &'static str, &'static str)>,
    streams: BTreeMap<String, u64>,
}

const PARTIES: [(&str, &str); 4] = [
    ("UA", "belligerent"),
    ("RU", "belligerent"),
    ("US", "mediator"),
    ("MON", "monitor"),
];

impl Scenario {
    fn new() -> Self {
        let mut s = Scenario::default();
        for (party, role) in PARTIES {
            s.push(
                &format!("party/{party}"),
                format!(r#"{{"type":"party_registered","by":"operator","party":"{party}","name":"{party}","role":"{role}"}}"#),
            );
        }
        s
    }

    fn push(&mut self, stream: &str, line: String) {
        *self.streams.entry(stream.to_owned()).or_insert(0) += 1;
        self.lines.push(line);
    }

    fn step(&mut self, choice: u8, text: &str) {
        let n = self.lines.len();
        match (choice % 5, self.agreements.len(), self.claims.len()) {
            (0, _, _) | (_, 0, _) => {
                let id = format!("a{n}");
                self.push(&format!("agreement/{id}"), format!(
                    r#"{{"type":"agreement_proposed","by":"US","agreement":"{id}","title":"{text}","kind":"bilateral","parties":["UA","RU"],"mediators":["US"],"scope":["all_hostilities"],"effective_from":"2025-03-18T00:00:00Z","occurred_at":"2025-03-18T00:00:00Z"}}"#
                ));
                self.agreements.push(id);
            }
            (1, a, _) | (_, a, 0) => {
                let agreement = self.agreements[usize::from(choice) % a].clone();
                let (by, against) = if choice.is_multiple_of(2) {
                    ("UA", "RU")
                } else {
                    ("RU", "UA")
                };
                let id = format!("c{n}");
                self.push(&format!("claim/{id}"), format!(
                    r#"{{"type":"violation_alleged","by":"{by}","claim":"{id}","agreement":"{agreement}","against":"{against}","incident_at":"2025-03-19T00:00:00Z","category":"shelling","location":{{"name":"{text}"}},"description":"{text}","occurred_at":"2025-03-20T00:00:00Z"}}"#
                ));
                self.claims.push((id, by, against));
            }
            (2, _, c) => {
                let (id, _, against) = self.claims[usize::from(choice) % c].clone();
                self.push(&format!("claim/{id}"), format!(
                    r#"{{"type":"allegation_responded","by":"{against}","claim":"{id}","response":"denied","statement":"{text}"}}"#
                ));
            }
            (_, _, c) => {
                let (id, _, _) = self.claims[usize::from(choice) % c].clone();
                self.push(&format!("claim/{id}"), format!(
                    r#"{{"type":"allegation_assessed","by":"MON","claim":"{id}","finding":"inconclusive","confidence":"low","reasoning":"{text}"}}"#
                ));
            }
        }
    }
}

fn options() -> AppendOptions {
    AppendOptions {
        now: Timestamp::parse_rfc3339("2025-06-01T00:00:00Z").unwrap(),
        backfill: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn valid_sequences_append_gap_free_verify_and_reopen(
        choices in prop::collection::vec((any::<u8>(), "[a-zA-Z ]{1,12}"), 1..60),
        splits in prop::collection::vec(1usize..8, 1..20),
    ) {
        let mut scenario = Scenario::new();
        for (choice, text) in &choices {
            scenario.step(*choice, if text.trim().is_empty() { "x" } else { text });
        }
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("l");
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let ledger = Ledger::create(&path, &key.verifying_key().to_bytes(), "prop/ledger").unwrap();
        ledger.attach_operator_key(key).unwrap();
        let submissions: Vec<_> = scenario.lines.iter().map(|l| parse_line(l, Uuid::now_v7()).unwrap()).collect();
        let mut at = 0;
        for size in splits.iter().cycle() {
            if at == submissions.len() {
                break;
            }
            let end = (at + size).min(submissions.len());
            let appended = ledger.append(&submissions[at..end], &options()).unwrap();
            let seqs: Vec<u64> = appended.iter().map(|a| a.seq).collect();
            prop_assert_eq!(seqs, ((at as u64 + 1)..=(end as u64)).collect::<Vec<_>>());
            at = end;
        }
        let head = ledger.head();
        prop_assert_eq!(head.seq, submissions.len() as u64);
        let report = ledger.verify().unwrap();
        prop_assert_eq!(report.problems, vec![]);
        drop(ledger);
        let ledger = Ledger::open(&path, OpenMode::Write).unwrap();
        prop_assert_eq!(ledger.head(), head);
        prop_assert_eq!(ledger.verify().unwrap().problems, vec![]);
        for (stream, count) in &scenario.streams {
            let versions: Vec<u64> = ledger.stream_records(stream).unwrap().iter().map(|r| r.header.version).collect();
            prop_assert_eq!(versions, (1..=*count).collect::<Vec<_>>());
        }
        // Re-appending everything is idempotent: nothing new lands.
        let again = ledger.append(&submissions, &options()).unwrap();
        prop_assert!(again.iter().all(|a| a.duplicate));
        prop_assert_eq!(ledger.head(), head);
    }
}
