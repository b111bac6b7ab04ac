//! Shared test helpers: JSON lines to records, short times, and the
//! spring 2025 example.
#![allow(dead_code)]

use armistice_core::entry::sha256;
use armistice_core::json::parse_line;
use armistice_core::{Header, Record, Timestamp};

/// `"03-18 17:00"` (2025, UTC) or a full RFC 3339 text.
pub fn t(text: &str) -> Timestamp {
    if text.len() == 11 {
        let full = format!("2025-{}T{}:00Z", &text[..5], &text[6..]);
        return Timestamp::parse_rfc3339(&full).unwrap();
    }
    Timestamp::parse_date_or_rfc3339(text).unwrap()
}

/// The RFC 3339 text of a short time, for building JSON lines.
pub fn ts(text: &str) -> String {
    t(text).to_string()
}

/// One JSON line as the record at `seq`: `occurred_at` must be in the
/// line; `recorded_at` and `backfilled` are taken from it when present
/// (`recorded_at` defaults to `occurred_at`).
pub fn record(seq: u64, line: &str) -> Record {
    let submission = parse_line(line, uuid::Uuid::from_u128(u128::from(seq)))
        .unwrap_or_else(|e| panic!("bad test line {line}: {e}"));
    assert!(
        submission.occurred_at_given,
        "test line without occurred_at: {line}"
    );
    let statement = submission.statement;
    let occurred_at = statement.occurred_at;
    let header = Header {
        schema: 1,
        seq,
        recorded_at: submission.copy.recorded_at.unwrap_or(occurred_at),
        occurred_at,
        event_type: statement.event.event_type(),
        backfilled: submission.copy.backfilled.unwrap_or(false),
        event_id: statement.event_id,
        stream: statement.stream().name(),
        version: 1,
        by: statement.by.clone(),
        prev_hash: [0; 32],
        payload_sha256: [0; 32],
        signature: submission.signature,
    };
    Record {
        header,
        hash: sha256(&seq.to_be_bytes()),
        statement,
        redaction: armistice_core::Redaction::None,
    }
}

/// Lines as records with seq 1, 2, 3, …
pub fn records<S: AsRef<str>>(lines: &[S]) -> Vec<Record> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| record(i as u64 + 1, line.as_ref()))
        .collect()
}

/// The 2025 example, as records.
pub fn spring_2025() -> Vec<Record> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/spring-2025.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("docs/examples/spring-2025.jsonl");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    records(&lines)
}
