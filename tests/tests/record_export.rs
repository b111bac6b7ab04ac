//! Recording, exporting, the backfill round trip, the log listing and
//! idempotent re-recording, driven through the real binary.

mod common;

use common::{claim_line, spring_2025, Ledger, WORLD};
use serde_json::Value;

fn object(line: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(line) {
        Ok(Value::Object(map)) => map,
        other => panic!("not a JSON object: {line}: {other:?}"),
    }
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `seq N  <event_id>` pairs that `record` prints.
fn printed_ids(stdout: &str) -> Vec<(u64, String)> {
    stdout
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(words.first(), Some(&"seq"), "record output line: {line}");
            (words[1].parse().expect("a seq"), words[2].to_owned())
        })
        .collect()
}

#[test]
fn init_appends_no_entry() {
    let ledger = Ledger::new();
    assert_eq!(ledger.export(), "");
    assert_eq!(ledger.head().entries, 0);
    let key = std::fs::read_to_string(ledger.operator_key()).unwrap();
    assert!(!key.trim().is_empty(), "init keeps the operator key");
}

#[test]
fn record_from_file_prints_seq_and_ids() {
    let ledger = Ledger::new();
    let file = ledger.file("world.jsonl", WORLD);
    let stdout = ledger.ok(&["record", file.to_str().unwrap()]);
    let printed = printed_ids(&stdout);
    let entries = ledger.entries();
    assert_eq!(printed.len(), WORLD.lines().count(), "{stdout}");
    assert_eq!(entries.len(), printed.len());
    for (i, ((seq, id), entry)) in printed.iter().zip(&entries).enumerate() {
        assert_eq!(*seq, i as u64 + 1, "seq is gap-free from 1: {stdout}");
        assert_eq!(entry["seq"], *seq);
        assert_eq!(
            entry["event_id"],
            id.as_str(),
            "printed id is the stored id"
        );
        let uuid = id.as_bytes();
        assert_eq!(uuid.len(), 36, "a UUID: {id}");
        assert_eq!(uuid[14], b'7', "the ledger assigns UUID v7: {id}");
    }
}

#[test]
fn record_from_stdin_keeps_client_event_id() {
    let ledger = Ledger::new();
    ledger.record(WORLD);
    // Any UUID is accepted as a client event_id (here a v4).
    let id = "3f2b8a1e-6c4d-4e2a-9b7f-0a1b2c3d4e5f";
    let line = format!(
        r#"{{"type":"agreement_signed","event_id":"{id}","by":"UA","agreement":"A1","source":"https://example.org/statement"}}"#
    );
    let stdout = ledger.record(&line);
    assert_eq!(printed_ids(&stdout), vec![(9, id.to_owned())]);
    let entry = ledger.entries().pop().unwrap();
    assert_eq!(entry["event_id"], id);
    assert_eq!(entry["source"], "https://example.org/statement");
    assert_eq!(entry["type"], "agreement_signed");
    assert_eq!(entry["stream"], "agreement/A1");
}

#[test]
fn export_lines_carry_every_field() {
    let ledger = Ledger::new();
    let input = spring_2025();
    let file = common::spring_2025_path();
    ledger.ok(&["import", "--backfill", file.to_str().unwrap()]);
    let exported = ledger.export();
    let inputs: Vec<_> = input.lines().filter(|l| !l.trim().is_empty()).collect();
    let outputs: Vec<_> = exported.lines().collect();
    assert_eq!(inputs.len(), outputs.len());
    let mut prev_hash: Option<String> = None;
    for (i, (input, output)) in inputs.iter().zip(&outputs).enumerate() {
        let (given, stored) = (object(input), object(output));
        // Every field given, recorded_at included, comes back unchanged.
        for (key, value) in &given {
            assert_eq!(
                stored.get(key),
                Some(value),
                "line {}: field `{key}`",
                i + 1
            );
        }
        assert_eq!(stored["seq"], i as u64 + 1);
        let hash = stored["hash"].as_str().expect("hash");
        assert!(is_hex(hash, 64), "hash is SHA-256 hex: {hash}");
        let prev = stored["prev_hash"].as_str().expect("prev_hash");
        assert!(is_hex(prev, 64), "prev_hash is SHA-256 hex: {prev}");
        if let Some(expected) = &prev_hash {
            assert_eq!(prev, expected, "line {}: prev_hash chains", i + 1);
        }
        prev_hash = Some(hash.to_owned());
        assert!(stored["stream"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(stored["version"].as_u64().is_some_and(|v| v >= 1));
        assert_eq!(
            stored["backfilled"], true,
            "backfilled without hash is marked"
        );
        for key in ["leaf", "payload"] {
            let text = stored[key].as_str().unwrap_or_else(|| panic!("{key}"));
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_else(|e| panic!("line {}: {key} is base64: {e}", i + 1));
        }
        if given["by"] == "operator" {
            let signature = stored["signature"].as_str().expect("operator signs");
            assert!(is_hex(signature, 128), "Ed25519 signature hex: {signature}");
        }
    }
    // Stream versions count up per stream.
    let mut versions = std::collections::HashMap::new();
    for output in &outputs {
        let stored = object(output);
        let stream = stored["stream"].as_str().unwrap().to_owned();
        let version = versions.entry(stream).or_insert(0);
        *version += 1;
        assert_eq!(stored["version"], *version, "{output}");
    }
}

#[test]
fn fresh_entries_are_not_marked_backfilled() {
    let ledger = Ledger::new();
    ledger.record(WORLD);
    for entry in ledger.entries() {
        assert!(
            !matches!(entry.get("backfilled"), Some(Value::Bool(true))),
            "a recorded entry is not backfilled: {entry}"
        );
        assert!(entry["recorded_at"].as_str().is_some());
        assert!(
            entry["occurred_at"].as_str().is_some(),
            "occurred_at defaults"
        );
    }
}

#[test]
fn export_then_backfill_import_is_byte_identical() {
    let first = Ledger::new();
    first.backfill(&spring_2025());
    let exported = first.export();
    assert_eq!(exported.lines().count(), 61);

    let copy = Ledger::with_operator_key(&first.operator_key());
    let file = copy.file("export.jsonl", &exported);
    copy.ok(&["import", "--backfill", file.to_str().unwrap()]);
    assert_eq!(copy.export(), exported, "the copy exports the same bytes");
    assert_eq!(copy.head(), first.head());

    // And again from standard input, through a third ledger.
    let third = Ledger::with_operator_key(&first.operator_key());
    third.backfill(&exported);
    assert_eq!(third.export(), exported);
}

#[test]
fn export_from_to_selects_a_range() {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    let all: Vec<String> = ledger.export().lines().map(str::to_owned).collect();
    let range = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["export"];
        full.extend_from_slice(args);
        ledger.ok(&full).lines().map(str::to_owned).collect()
    };
    assert_eq!(range(&["--from", "3", "--to", "5"]), all[2..5].to_vec());
    assert_eq!(range(&["--from", "60"]), all[59..].to_vec());
    assert_eq!(range(&["--to", "2"]), all[..2].to_vec());
    assert_eq!(range(&["--from", "7", "--to", "7"]), all[6..7].to_vec());
    ledger.fails(&["export", "--from", "5", "--to", "3"]);
    ledger.fails(&["export", "--from", "0"]);
}

#[test]
fn log_lists_every_entry() {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    let text = ledger.ok(&["log"]);
    assert!(text.contains("party_registered"), "{text}");
    assert!(text.contains("allegation_assessed"), "{text}");
    assert!(text.contains("MONSEC"), "{text}");
    assert!(text.lines().count() >= 61, "one line per entry: {text}");

    let json = ledger.ok(&["log", "--json"]);
    // One JSON object per entry: a JSON array of them, or JSON Lines.
    let rows: Vec<Value> = match serde_json::from_str(&json) {
        Ok(Value::Array(rows)) => rows,
        _ => json
            .lines()
            .map(|l| serde_json::from_str(l).expect("log --json line"))
            .collect(),
    };
    let entries = ledger.entries();
    assert_eq!(rows.len(), entries.len());
    for (row, entry) in rows.iter().zip(&entries) {
        for key in ["seq", "type", "by", "hash", "stream", "recorded_at"] {
            assert_eq!(row[key], entry[key], "log --json field `{key}`: {row}");
        }
    }
}

#[test]
fn rerecording_the_same_event_id_adds_nothing() {
    let ledger = Ledger::new();
    ledger.record(WORLD);
    let id = "01958437-bc00-7992-9970-7f07ac883e93";
    let line = format!(
        r#"{{"type":"violation_alleged","event_id":"{id}","by":"RU","claim":"C2","agreement":"A1","against":"UA","occurred_at":"2025-02-01T10:00:00Z","incident_at":"2025-02-01T00:00:00Z","category":"shelling","location":{{"name":"Kursk","lat":51.7,"lon":36.2}},"description":"d"}}"#
    );
    let first = ledger.record(&line);
    assert_eq!(printed_ids(&first), vec![(9, id.to_owned())]);
    let before = ledger.snapshot();

    // The same content with the fields in another order and other spacing.
    let reordered = format!(
        r#"{{ "description":"d", "location":{{"lon":36.2,"name":"Kursk","lat":51.7}}, "category":"shelling", "incident_at":"2025-02-01T00:00:00Z", "occurred_at":"2025-02-01T10:00:00Z", "against":"UA", "agreement":"A1", "claim":"C2", "by":"RU", "event_id":"{id}", "type":"violation_alleged" }}"#
    );
    for again in [&line, &reordered] {
        let stdout = ledger.record(again);
        assert_eq!(
            printed_ids(&stdout),
            vec![(9, id.to_owned())],
            "reports the stored seq"
        );
        assert_eq!(ledger.snapshot(), before, "adds nothing");
    }
    // In a batch with a new event, the duplicate keeps its seq and the new one follows.
    let stdout = ledger.record(&format!("{line}\n{}\n", claim_line("C3")));
    let printed = printed_ids(&stdout);
    assert_eq!(printed[0], (9, id.to_owned()));
    assert_eq!(printed[1].0, 10);
    assert_eq!(ledger.head().entries, 10);
}

#[test]
fn same_event_id_with_other_content_is_rejected() {
    let ledger = Ledger::new();
    ledger.record(WORLD);
    let id = "0195d177-2000-7293-b511-f19fb7944edb";
    ledger.record(&format!(
        r#"{{"type":"agreement_signed","event_id":"{id}","by":"UA","agreement":"A1","occurred_at":"2025-02-01T10:00:00Z"}}"#
    ));
    let before = ledger.snapshot();
    let other = format!(
        r#"{{"type":"agreement_signed","event_id":"{id}","by":"UA","agreement":"A1","occurred_at":"2025-02-01T10:00:00Z","conditions":"only if"}}"#
    );
    let stderr = ledger.fails_stdin(&["record", "-"], &other);
    assert!(stderr.contains("line 1"), "{stderr}");
    assert!(stderr.contains("event_id"), "{stderr}");
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn import_shows_progress_on_a_terminal_and_is_quiet_when_piped() {
    let ledger = Ledger::new();
    let mut lines = String::from(common::WORLD);
    for i in 0..200 {
        lines.push_str(&common::claim_line(&format!("p{i}")));
        lines.push('\n');
    }
    let file = ledger.file("events.jsonl", &lines);
    let piped = ledger.run(&["import", &file.to_string_lossy()]);
    assert!(piped.status.success(), "{}", common::describe(&piped));
    assert!(
        piped.stderr.is_empty(),
        "piped import printed progress: {}",
        String::from_utf8_lossy(&piped.stderr)
    );

    // Under a terminal (`script` gives the command a pseudo-terminal) the bar shows events/s and ETA.
    let other = Ledger::new();
    let command = format!(
        "{} --ledger {} import {}",
        common::binary().display(),
        other.path().display(),
        file.display()
    );
    let output = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("run script(1)");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{screen}");
    assert!(
        screen.contains("events/s") && screen.contains("ETA"),
        "no progress on a terminal: {screen}"
    );
    assert!(screen.contains("imported 208 events"), "{screen}");
}
