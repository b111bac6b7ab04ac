//! Copies of a ledger (issue 8, reproductions 1, 2, 3 and 8): an export is
//! checked field by field against the bytes its hashes cover, by
//! `verify-proof --export` and by `import --backfill` into a copy made with
//! the operator's verifier key only; copies sync incrementally and refuse
//! forks; a redacted entry's reading copy is bound to its digests.

mod common;
#[path = "common/hardening.rs"]
mod hardening;

use common::{describe, Ledger};
use hardening::*;
use serde_json::{json, Value};

/// An export refused both ways: `verify-proof --export` against a genuine
/// checkpoint, and `import --backfill` into a fresh copy (left empty).
/// Both messages must name every needle (the line and the field).
fn refused_both_ways(
    origin: &Ledger,
    checkpoint: &str,
    export: &str,
    needles: &[&str],
    what: &str,
) {
    let file = origin.file("edited.jsonl", export);
    let output = verify_proof(
        origin.dir(),
        &[
            "--export",
            file.to_str().unwrap(),
            "--checkpoint",
            checkpoint,
            "--key",
            vkey_path(origin).to_str().unwrap(),
        ],
    );
    let stderr = error_of(output, &format!("verify-proof --export ({what})"));
    assert_mentions(&stderr, needles, &format!("verify-proof --export ({what})"));
    let copy = copy_of(origin);
    let stderr = copy.fails_stdin(&["import", "--backfill", "-"], export);
    assert_mentions(&stderr, needles, &format!("import --backfill ({what})"));
    assert_eq!(copy.head().entries, 0, "{what}: nothing copied");
}

/// Reproduction 1: readable fields edited while `leaf` and `payload` are kept.
#[test]
fn an_export_with_edited_readable_fields_is_refused_naming_line_and_field() {
    let origin = example();
    let checkpoint = origin.file("checkpoint.txt", &origin.ok(&["checkpoint"]));
    let checkpoint = checkpoint.to_str().unwrap();
    let export = origin.export();
    // The genuine export passes both ways.
    let genuine = origin.file("genuine.jsonl", &export);
    let output = verify_proof(
        origin.dir(),
        &[
            "--export",
            genuine.to_str().unwrap(),
            "--checkpoint",
            checkpoint,
            "--key",
            vkey_path(&origin).to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", describe(&output));
    let copy = copy_of(&origin);
    copy.backfill(&export);
    assert_eq!(copy.export(), export);

    // Line 10 is UA's claim against RU; line 1 the operator's signed registration.
    let line_10 = parse_lines(&export)[9].clone();
    assert_eq!(line_10["type"], "violation_alleged");
    assert_eq!(
        (line_10["by"].as_str(), line_10["against"].as_str()),
        (Some("UA"), Some("RU"))
    );
    let edits: [(u64, &str, Value); 5] = [
        (10, "by", json!("RU")),
        (10, "against", json!("UA")),
        (10, "description", json!("Nothing happened.")),
        (10, "source", json!("A rumour")),
        (10, "category", json!("small_arms")),
    ];
    for (seq, field, value) in edits {
        let edited = edit_export(&export, seq, |line| {
            line.insert(field.into(), value);
        });
        refused_both_ways(
            &origin,
            checkpoint,
            &edited,
            &[&format!("line {seq}"), &format!("`{field}`")],
            &format!("{field} edited"),
        );
    }
    // The operator's signature replaced by another well-formed one.
    let edited = edit_export(&export, 1, |line| {
        let signature = line["signature"].as_str().unwrap().to_owned();
        let flipped = if signature.starts_with('0') { "1" } else { "0" };
        line.insert(
            "signature".into(),
            json!(format!("{flipped}{}", &signature[1..])),
        );
    });
    refused_both_ways(
        &origin,
        checkpoint,
        &edited,
        &["line 1", "`signature`"],
        "operator signature edited",
    );
}

/// Reproduction 1, for a statement its party signed: the signature edited.
#[test]
fn an_export_with_an_edited_party_signature_is_refused() {
    let origin = Ledger::new();
    let (ua_key, ua) = keygen(&origin, "ua");
    let (_, ru) = keygen(&origin, "ru");
    origin.record(&keyed_world(&ua, &ru));
    let output = origin.run_stdin(
        &["record", "--sign", ua_key.to_str().unwrap(), "-"],
        &ua_claim("C1"),
    );
    assert!(output.status.success(), "{}", describe(&output));
    let checkpoint = origin.file("checkpoint.txt", &origin.ok(&["checkpoint"]));
    let export = origin.export();
    for replacement in ["00".repeat(64), "11".repeat(64)] {
        let edited = edit_export(&export, 6, |line| {
            line.insert("signature".into(), json!(replacement));
        });
        refused_both_ways(
            &origin,
            checkpoint.to_str().unwrap(),
            &edited,
            &["line 6", "`signature`"],
            "party signature replaced",
        );
    }
    // Removed altogether: the line no longer reproduces the entry either.
    let edited = edit_export(&export, 6, |line| {
        line.remove("signature");
    });
    refused_both_ways(
        &origin,
        checkpoint.to_str().unwrap(),
        &edited,
        &["line 6", "signature"],
        "party signature removed",
    );
}

/// UA (with a key) files a claim with every redactable field, signed on the
/// client side; the operator redacts its location. Returns the ledger, UA's
/// key and the claim's seq (6).
fn redacted_signed_claim() -> (Ledger, std::path::PathBuf, u64) {
    let origin = Ledger::new();
    let (ua_key, ua) = keygen(&origin, "ua");
    let (_, ru) = keygen(&origin, "ru");
    origin.record(&keyed_world(&ua, &ru));
    let output = origin.run_stdin(
        &["record", "--sign", ua_key.to_str().unwrap(), "-"],
        &ua_claim("C1"),
    );
    assert!(output.status.success(), "{}", describe(&output));
    (origin, ua_key, 6)
}

/// Reproduction 2: after redaction every other field still verifies, and so
/// does the author's signature; the reading copy of a redacted entry is bound
/// to its digests, so an edited `location` or `count` is refused by a mirror.
#[test]
fn a_redacted_entry_keeps_its_signature_and_its_reading_copy_is_bound() {
    let (origin, _, seq) = redacted_signed_claim();
    let before = origin.verify();
    let valid_before = before["signatures_valid"].as_u64().unwrap();
    origin.record(&format!(
        r#"{{"type":"entry_redacted","by":"operator","target_seq":{seq},"reason":"witness safety","fields":["location"]}}"#
    ));
    let after = origin.verify();
    assert_eq!(after["redacted"], 1, "{after}");
    assert_eq!(
        after["signatures_valid"].as_u64().unwrap(),
        valid_before + 1,
        "UA's signature on the redacted claim still counts valid (and the redaction is signed): {after}"
    );
    let audit = origin.ok(&["audit", "C1", "--json"]);
    let audit: Value = serde_json::from_str(&audit).unwrap();
    let claim = &audit["timeline"][0];
    assert_eq!(claim["seq"], seq, "{audit}");
    assert_eq!(
        claim["signature"], "valid",
        "the author's signature is checked after redaction: {audit}"
    );

    let export = origin.export();
    assert!(
        !export.contains("House of witness Ivan"),
        "the location is gone"
    );
    let line = parse_lines(&export)[seq as usize - 1].clone();
    assert_eq!(line["redacted"], json!(["location"]), "{line}");
    assert_eq!(
        line["description"], "Witness Ivan Petrenko saw three shells",
        "{line}"
    );
    assert!(
        line["salts"].get("location").is_none(),
        "the location's salt went with it: {line}"
    );
    for field in ["description", "source", "casualties"] {
        assert!(
            line["salts"].get(field).is_some(),
            "`{field}` is still disclosed: {line}"
        );
    }

    // The genuine export mirrors and verifies, with the same signatures valid.
    let checkpoint = origin.file("checkpoint.txt", &origin.ok(&["checkpoint"]));
    let checkpoint = checkpoint.to_str().unwrap();
    let mirror = copy_of(&origin);
    mirror.backfill(&export);
    assert_eq!(mirror.export(), export);
    assert_eq!(
        mirror.verify()["signatures_valid"],
        after["signatures_valid"]
    );
    mirror.ok(&["verify", "--against", checkpoint]);

    // The reading copy edited: refused by verify-proof and by a mirror.
    // Each edit sets one field of the redacted entry's line.
    let edits: [(&str, Value); 6] = [
        ("location", json!({"name": "Somewhere else"})),
        (
            "location",
            json!({"name": "[redacted]", "lat": 1.0, "lon": 2.0}),
        ),
        ("count", json!(300)),
        ("description", json!("Nobody saw anything")),
        ("casualties", json!({"killed": 0, "injured": 0})),
        ("incident_at", json!("2025-01-02T00:00:00Z")),
    ];
    for (field, value) in edits {
        let edited = edit_export(&export, seq, |line| {
            line.insert(field.into(), value);
        });
        refused_both_ways(
            &origin,
            checkpoint,
            &edited,
            &[&format!("line {seq}"), field],
            &format!("redacted entry, {field} edited"),
        );
    }
}

/// Reproduction 3: a copy line that says it was redacted, with no
/// `entry_redacted` in the same log targeting it, is refused; so are copy
/// fields (`prev_hash`, `stream`, `version`, `seq`, `recorded_at`,
/// `backfilled`, redaction marks) that differ from what the ledger computes,
/// even beside a correct hash.
#[test]
fn copy_fields_must_equal_what_the_ledger_computes() {
    let origin = example();
    origin.record(
        r#"{"type":"entry_redacted","by":"operator","target_seq":10,"reason":"witness safety","fields":["location"]}"#,
    );
    let export = origin.export();
    let lines = parse_lines(&export);
    assert_eq!(lines.len(), 62);
    let refused = |export: &str, needles: &[&str], what: &str| {
        let copy = copy_of(&origin);
        let stderr = copy.fails_stdin(&["import", "--backfill", "-"], export);
        assert_mentions(&stderr, needles, what);
        assert_eq!(copy.head().entries, 0, "{what}: nothing copied");
    };

    // The redacted entry without the redaction that made it so.
    refused(
        &join_lines(&lines[..61]),
        &["line 10", "redacted"],
        "no entry_redacted",
    );
    // An entry made to look redacted, consistently (text blanked, salt
    // dropped), with no redaction targeting it.
    let forged = edit_export(&export, 11, |line| {
        line.insert("redacted".into(), json!(["description"]));
        line.insert("description".into(), json!("[redacted]"));
        line["salts"].as_object_mut().unwrap().remove("description");
    });
    refused(&forged, &["line 11", "redacted"], "forged redaction marks");
    // Marks that name other fields than were redacted.
    let more = edit_export(&export, 10, |line| {
        line.insert("redacted".into(), json!(["description", "location"]));
        line.insert("description".into(), json!("[redacted]"));
        line["salts"].as_object_mut().unwrap().remove("description");
    });
    // (Found at the redaction that targets entry 10, where the two disagree.)
    refused(&more, &["10", "redacted"], "marks naming another field too");
    let none = edit_export(&export, 10, |line| {
        line.remove("redacted");
    });
    refused(&none, &["line 10"], "marks removed");

    // Derived fields beside a correct hash.
    let derived: [(&str, Value); 6] = [
        ("prev_hash", json!("00".repeat(32))),
        ("stream", json!("claim/another")),
        ("version", json!(2)),
        ("seq", json!(13)),
        ("recorded_at", json!("2025-03-19T10:00:00Z")),
        ("backfilled", json!(false)),
    ];
    for (field, value) in derived {
        let edited = edit_export(&export, 12, |line| {
            line.insert(field.into(), value);
        });
        refused(
            &edited,
            &["line 12", &format!("`{field}`")],
            &format!("{field} edited"),
        );
    }
    // `backfilled` left out of a backfilled entry says "not backfilled".
    let edited = edit_export(&export, 12, |line| {
        line.remove("backfilled");
    });
    refused(&edited, &["line 12", "`backfilled`"], "backfilled removed");

    // The genuine export copies whole.
    let copy = copy_of(&origin);
    copy.backfill(&export);
    assert_eq!(copy.export(), export);
}

/// Reproduction 8: a copy needs only the operator's verifier key, verifies,
/// and cannot sign operator statements or checkpoints.
#[test]
fn a_copy_holds_no_secret_and_signs_nothing() {
    let origin = example();
    let checkpoint = origin.file("checkpoint.txt", &origin.ok(&["checkpoint"]));
    let export = origin.export();
    let copy = copy_of(&origin);
    let files: Vec<String> = std::fs::read_dir(copy.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !files
            .iter()
            .any(|f| f.contains("key") && !f.contains("vkey")),
        "no secret key in the copy: {files:?}"
    );
    assert_eq!(
        vkey(&copy),
        vkey(&origin),
        "the copy keeps the operator's verifier key"
    );
    copy.backfill(&export);
    assert_eq!(copy.export(), export);
    assert_eq!(copy.head(), origin.head());
    copy.ok(&["verify", "--against", checkpoint.to_str().unwrap()]);

    // Nothing to sign with: checkpoints, operator statements, key rotation.
    let before = copy.snapshot();
    let stderr = copy.fails(&["checkpoint"]);
    assert_mentions(&stderr, &["key"], "checkpoint in a copy");
    let stderr = copy.fails_stdin(
        &["record", "-"],
        r#"{"type":"party_registered","by":"operator","party":"PL","name":"Poland","role":"mediator"}"#,
    );
    assert_mentions(
        &stderr,
        &["operator", "key"],
        "operator statement in a copy",
    );
    let stderr = copy.fails(&["rotate-operator-key"]);
    assert_mentions(&stderr, &["key"], "rotation in a copy");
    assert_eq!(copy.snapshot(), before, "the copy is unchanged");
}

/// Reproduction 8: incremental sync. Export 1–14 into a copy, then 14–16:
/// one already recorded, two added. An entry at an existing seq with another
/// hash (a fork) is refused naming both hashes.
#[test]
fn a_copy_syncs_incrementally_and_refuses_a_fork() {
    let origin = Ledger::new();
    let first_16: String = common::spring_2025()
        .lines()
        .take(16)
        .map(|l| format!("{l}\n"))
        .collect();
    origin.backfill(&first_16);
    let copy = copy_of(&origin);
    let stdout = copy.backfill(&origin.ok(&["export", "--to", "14"]));
    assert!(
        stdout.contains("imported 14 events (0 already recorded)"),
        "{stdout}"
    );
    let stdout = copy.backfill(&origin.ok(&["export", "--from", "14", "--to", "16"]));
    assert!(
        stdout.contains("imported 3 events (1 already recorded)")
            && stdout.contains("holds 16 entries"),
        "one already recorded, two added: {stdout}"
    );
    assert_eq!(copy.export(), origin.export());
    // The same range again adds nothing.
    let stdout = copy.backfill(&origin.ok(&["export", "--from", "10", "--to", "16"]));
    assert!(stdout.contains("(7 already recorded)"), "{stdout}");
    assert_eq!(copy.export(), origin.export());

    // A fork: the same operator key, the same first 14 entries, another 15th.
    let fork = Ledger::with_operator_key(&origin.operator_key());
    fork.backfill(&origin.ok(&["export", "--to", "14"]));
    fork.record(r#"{"type":"party_registered","by":"operator","party":"PL","name":"Poland","role":"mediator"}"#);
    let theirs = fork.entries()[14]["hash"].as_str().unwrap().to_owned();
    let ours = copy.entries()[14]["hash"].as_str().unwrap().to_owned();
    assert_ne!(theirs, ours);
    let before = copy.snapshot();
    let stderr = copy.fails_stdin(
        &["import", "--backfill", "-"],
        &fork.ok(&["export", "--from", "15"]),
    );
    assert_mentions(&stderr, &[&theirs, &ours], "a fork names both hashes");
    assert_eq!(copy.snapshot(), before, "nothing of the fork is copied");
}

/// A redaction may list its fields in any order; the ledger's own export of
/// it must still copy and verify offline. (BUG: listing them in another order
/// than the export's canonical one makes the export refuse to import.)
#[test]
fn a_redaction_listing_fields_in_any_order_still_copies() {
    let origin = example();
    origin.record(
        r#"{"type":"entry_redacted","by":"operator","target_seq":10,"reason":"witness safety","fields":["location","description"]}"#,
    );
    origin.verify();
    let checkpoint = origin.file("checkpoint.txt", &origin.ok(&["checkpoint"]));
    let export = origin.export();
    let file = origin.file("export.jsonl", &export);
    let output = verify_proof(
        origin.dir(),
        &[
            "--export",
            file.to_str().unwrap(),
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--key",
            vkey_path(&origin).to_str().unwrap(),
        ],
    );
    assert!(
        output.status.success(),
        "verify-proof of the ledger's own export: {}",
        describe(&output)
    );
    let copy = copy_of(&origin);
    let output = copy.run_stdin(&["import", "--backfill", "-"], &export);
    assert!(
        output.status.success(),
        "copy of the ledger's own export: {}",
        describe(&output)
    );
    assert_eq!(copy.export(), export);
}

/// Two redactions of one entry (first its location, later its description):
/// whatever the ledger accepts must verify and copy. (BUG: both are accepted,
/// then `verify` reports damage at the target and the export cannot be copied.)
#[test]
fn two_redactions_of_one_entry_leave_a_ledger_that_verifies_and_copies() {
    let origin = example();
    origin.record(
        r#"{"type":"entry_redacted","by":"operator","target_seq":10,"reason":"witness safety","fields":["location"]}"#,
    );
    let before = origin.snapshot();
    let output = origin.run_stdin(
        &["record", "-"],
        r#"{"type":"entry_redacted","by":"operator","target_seq":10,"reason":"second witness","fields":["description"]}"#,
    );
    if !output.status.success() {
        // Refusing the second redaction would be consistent, if clean.
        common::expect_error(output, "a second redaction of seq 10");
        assert_eq!(origin.snapshot(), before);
        return;
    }
    let report = origin.run(&["verify"]);
    assert!(
        report.status.success(),
        "an accepted redaction must leave a ledger that verifies: {}",
        describe(&report)
    );
    let export = origin.export();
    let copy = copy_of(&origin);
    let output = copy.run_stdin(&["import", "--backfill", "-"], &export);
    assert!(
        output.status.success(),
        "copy of the ledger's own export: {}",
        describe(&output)
    );
    assert_eq!(copy.export(), export);
}

/// Reproduction 3, on an incremental sync: a line for a seq the copy holds
/// already is checked like a new one — it says nothing its entry does not
/// (redaction marks with no redaction in the log, other payload bytes,
/// other salts). (BUG: such a line is answered "already recorded".)
#[test]
fn an_overlapping_copy_line_is_checked_like_a_new_one() {
    let origin = Ledger::new();
    let first_16: String = common::spring_2025()
        .lines()
        .take(16)
        .map(|l| format!("{l}\n"))
        .collect();
    origin.backfill(&first_16);
    let export = origin.export();
    let copy = copy_of(&origin);
    copy.backfill(&export);
    let line_10 = parse_lines(&export)[9].clone();
    assert_eq!(line_10["claim"], "UA-2025-03-19-sloviansk-rail");
    let overlap = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut line = line_10.clone();
        edit(line.as_object_mut().unwrap());
        format!("{line}\n")
    };
    let forged_redaction = overlap(&|line| {
        line.insert("description".into(), json!("Nothing happened"));
        line.insert("redacted".into(), json!(["description"]));
        line["salts"].as_object_mut().unwrap().remove("description");
    });
    let marked_only = overlap(&|line| {
        line.insert("description".into(), json!("Nothing happened"));
        line.insert("redacted".into(), json!(["description"]));
    });
    let other_payload = overlap(&|line| {
        let payload = line["payload"].as_str().unwrap();
        let mut bytes = base64_decode(payload);
        *bytes.last_mut().unwrap() ^= 1;
        line.insert("payload".into(), json!(base64_encode(&bytes)));
    });
    let other_salt = overlap(&|line| {
        line["salts"]["description"] = json!("00".repeat(16));
    });
    let before = copy.snapshot();
    for (what, line, fields) in [
        (
            "forged redaction",
            forged_redaction,
            &["redacted", "description"][..],
        ),
        ("redaction marks", marked_only, &["redacted", "description"]),
        ("other payload bytes", other_payload, &["payload"]),
        ("another salt", other_salt, &["salts", "description"]),
    ] {
        let output = copy.run_stdin(&["import", "--backfill", "-"], &line);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = common::expect_error(output, &format!("overlap with {what}: {stdout}"));
        assert!(stderr.contains("line 1"), "{what}: {stderr}");
        assert!(
            fields.iter().any(|f| stderr.contains(&format!("`{f}`"))),
            "{what}: names one of {fields:?}: {stderr}"
        );
    }
    assert_eq!(copy.snapshot(), before);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
