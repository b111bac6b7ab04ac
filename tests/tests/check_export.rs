//! An export checked three ways, end to end: by the auditors' script
//! `docs/auditors/check_export.py` (Python's standard library only, also
//! under `python3 -O`), by `armistice verify-proof --export`, and by
//! `armistice import --backfill` into a copy that holds only the operator's
//! verifier key. The intact export passes all three; each edited copy is
//! refused by all three, naming the line and the field.

mod common;
#[path = "common/exports.rs"]
mod exports;

use common::{describe, spring_2025_path, Ledger, EXIT_ERROR};
use exports::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A ledger with the spring 2025 example, a party key and a signed
/// statement, redactions, an operator key rotation and two checkpoints
/// (one on each side of the rotation), and its export.
struct Scenario {
    ledger: Ledger,
    /// The operator's first verifier key (the one `init` made).
    first_vkey: String,
    /// `export.jsonl`, as `armistice export` printed it.
    export: String,
    /// The checkpoint before the rotation, and the last one.
    cp_before: PathBuf,
    cp_after: PathBuf,
    /// Seqs of interest.
    signed_claim: usize,
    response: usize,
    rotation: usize,
}

const SIGNED_CLAIM: &str = r#"{"type":"violation_alleged","by":"UA","claim":"UA-signed-1","agreement":"energy-moratorium-2025","against":"RU","incident_at":"2025-03-25T04:00:00Z","incident_precision":"hour","category":"drone_strike","location":{"name":"Zaporizhzhia substation","lat":47.8388,"lon":35.1396},"casualties":{"killed":1,"injured":3},"description":"Drone strike on a substation; a named witness saw the launch.","evidence":[{"sha256":"8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4","media_type":"image/jpeg","uri":"file://evidence/zp-1.jpg","description":"Photo of the damaged transformer"}],"source":"Regional administration, 25 Mar 2025"}"#;

impl Scenario {
    fn build() -> Scenario {
        let ledger = Ledger::new();
        let first_vkey = std::fs::read_to_string(ledger.path().join("operator.vkey"))
            .unwrap()
            .trim()
            .to_owned();
        ledger.ok(&["import", "--backfill", spring_2025_path().to_str().unwrap()]);
        // UA gets a key (the operator replaces its none), then signs a claim.
        let ua_key = ledger.dir().join("ua.key");
        let ua_vkey = ledger.ok(&["keygen", "--out", ua_key.to_str().unwrap()]);
        ledger.record(&format!(
            r#"{{"type":"party_key_replaced","by":"operator","party":"UA","public_key":"{}","reason":"key handed over in person"}}"#,
            ua_vkey.trim()
        ));
        let claim = ledger.file("claim.jsonl", &format!("{SIGNED_CLAIM}\n"));
        ledger.ok(&[
            "record",
            "--sign",
            ua_key.to_str().unwrap(),
            claim.to_str().unwrap(),
        ]);
        let signed_claim = 63;
        ledger.record(r#"{"type":"allegation_responded","by":"RU","claim":"UA-signed-1","response":"denied","statement":"No strike took place; the witness is known to us."}"#);
        let response = 64;
        ledger.record(&format!(
            r#"{{"type":"entry_redacted","by":"operator","target_seq":{signed_claim},"reason":"witness safety","fields":["source","description","location","casualties","evidence"]}}"#
        ));
        let cp_before = ledger.file("cp-before.txt", &ledger.ok(&["checkpoint"]));
        ledger.ok(&["rotate-operator-key"]);
        let rotation = 66;
        // The new key signs what follows: a redaction, a registration and the checkpoint.
        ledger.record(&format!(
            r#"{{"type":"entry_redacted","by":"operator","target_seq":{response},"reason":"names a witness","fields":["statement"]}}"#
        ));
        ledger.record(r#"{"type":"party_registered","by":"operator","party":"OBS","name":"Observer mission","role":"monitor"}"#);
        let cp_after = ledger.file("cp-after.txt", &ledger.ok(&["checkpoint"]));
        let export = ledger.export();
        assert_eq!(export.lines().count(), 68, "the scenario's log");
        Scenario {
            ledger,
            first_vkey,
            export,
            cp_before,
            cp_after,
            signed_claim,
            response,
            rotation,
        }
    }

    fn dir(&self) -> &Path {
        self.ledger.dir()
    }

    fn write(&self, name: &str, export: &str) -> String {
        self.ledger.file(name, export).to_str().unwrap().to_owned()
    }

    /// The checker's arguments for an export file: both checkpoints.
    fn checker_args<'a>(&'a self, file: &'a str) -> Vec<&'a str> {
        vec![
            file,
            "--key",
            &self.first_vkey,
            "--checkpoint",
            self.cp_before.to_str().unwrap(),
            "--checkpoint",
            self.cp_after.to_str().unwrap(),
        ]
    }

    fn verify_proof(&self, file: &str) -> std::process::Output {
        self.ledger.run(&[
            "verify-proof",
            "--key",
            &self.first_vkey,
            "--checkpoint",
            self.cp_before.to_str().unwrap(),
            "--checkpoint",
            self.cp_after.to_str().unwrap(),
            "--export",
            file,
        ])
    }

    /// `import --backfill FILE` into a fresh copy made with the first verifier key.
    fn import_into_copy(&self, name: &str, file: &str) -> (PathBuf, std::process::Output) {
        let copy = new_copy(&self.ledger, name, &self.first_vkey);
        let output = run_on(&self.ledger, &copy, &["import", "--backfill", file]);
        (copy, output)
    }

    /// An edited export must be refused by all three checks, each naming
    /// the line and (`field`, when given) the field.
    fn refused(&self, case: &str, export: &str, line: usize, field: Option<&str>) {
        let file = self.write(&format!("{case}.jsonl"), export);
        let line_name = format!("line {line}");
        let field_name = field.map(|f| format!("field `{f}"));
        let mut names = vec![line_name.as_str()];
        names.extend(field_name.as_deref());
        if python3_available() {
            checker_fails(self.dir(), &self.checker_args(&file), &names);
        }
        let rust = [
            ("verify-proof", self.verify_proof(&file)),
            (
                "import --backfill",
                self.import_into_copy(&format!("copy-{case}"), &file).1,
            ),
        ];
        for (tool, output) in rust {
            assert_eq!(
                output.status.code(),
                Some(EXIT_ERROR),
                "{case}: {tool} accepted an edited export: {}",
                describe(&output)
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            for name in &names {
                assert!(
                    stderr.contains(name),
                    "{case}: {tool} should name {name}: {stderr}"
                );
            }
        }
    }
}

#[test]
fn the_intact_export_passes_all_three_checks() {
    let s = Scenario::build();
    let file = s.write("export.jsonl", &s.export);
    if python3_available() {
        let stdout = checker_passes(s.dir(), &s.checker_args(&file));
        assert!(stdout.contains("68 entries"), "{stdout}");
        assert!(stdout.contains("cp-before.txt"), "{stdout}");
        assert!(stdout.contains("the export's first 65 entries"), "{stdout}");
        assert!(stdout.contains("the export's first 68 entries"), "{stdout}");
        // The key file works as well as the key's text; so does --seq.
        let key_file = s.ledger.file("first.vkey", &s.first_vkey);
        let mut args = s.checker_args(&file);
        args[2] = key_file.to_str().unwrap();
        args.extend(["--seq", "63"]);
        let stdout = checker_passes(s.dir(), &args);
        assert!(
            stdout.contains("entry 63 is in the tree of 68 entries"),
            "{stdout}"
        );
        // The key in force now is not the one that signed the first entries.
        let current = std::fs::read_to_string(s.ledger.path().join("operator.vkey")).unwrap();
        let mut args = s.checker_args(&file);
        args[2] = current.trim();
        checker_fails(s.dir(), &args, &["line 1", "field `signature`"]);
    }
    let output = s.verify_proof(&file);
    assert!(
        output.status.success(),
        "verify-proof: {}",
        describe(&output)
    );
    let (copy, output) = s.import_into_copy("copy", &file);
    assert!(
        output.status.success(),
        "import --backfill: {}",
        describe(&output)
    );
    let output = run_on(
        &s.ledger,
        &copy,
        &["verify", "--against", s.cp_after.to_str().unwrap()],
    );
    assert!(
        output.status.success(),
        "verify on the copy: {}",
        describe(&output)
    );
    let output = run_on(&s.ledger, &copy, &["export"]);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        s.export,
        "the copy exports the same bytes"
    );
    // An overlapping export is skipped and counted.
    let output = run_on(&s.ledger, &copy, &["import", "--backfill", &file]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("68 already recorded"),
        "{}",
        describe(&output)
    );
}

#[test]
fn edited_exports_are_refused_naming_line_and_field() {
    let s = Scenario::build();
    let (claim, response) = (s.signed_claim, s.response);
    let unredacted_claim = seq_where(&s.export, "claim", "RU-2025-03-19-kavkazskaya");
    let set = |field: &'static str, value: Value| {
        move |line: &mut serde_json::Map<String, Value>| {
            line.insert(field.to_owned(), value);
        }
    };
    s.refused(
        "by",
        &edit_line(&s.export, claim, set("by", json!("RU"))),
        claim,
        Some("by"),
    );
    s.refused(
        "against",
        &edit_line(&s.export, unredacted_claim, set("against", json!("US"))),
        unredacted_claim,
        Some("against"),
    );
    s.refused(
        "description",
        &edit_line(
            &s.export,
            unredacted_claim,
            set("description", json!("Nothing happened.")),
        ),
        unredacted_claim,
        Some("description"),
    );
    let signature = |line: &mut serde_json::Map<String, Value>| {
        let text = line["signature"].as_str().unwrap();
        let flipped = if text.starts_with('0') { "1" } else { "0" };
        line.insert(
            "signature".into(),
            json!(format!("{flipped}{}", &text[1..])),
        );
    };
    s.refused(
        "signature",
        &edit_line(&s.export, claim, signature),
        claim,
        Some("signature"),
    );
    // The redacted location of the signed claim, "restored" to a made-up value.
    s.refused(
        "redacted-location",
        &edit_line(
            &s.export,
            claim,
            set("location", json!({"name": "Kramatorsk"})),
        ),
        claim,
        Some("location"),
    );
    // Casualties shown again on the line whose casualties were redacted.
    s.refused(
        "redacted-casualties",
        &edit_line(&s.export, claim, set("casualties", json!({"killed": 5}))),
        claim,
        Some("casualties"),
    );
    // What a redaction keeps of evidence (its hash) cannot change either.
    let evidence_hash = |line: &mut serde_json::Map<String, Value>| {
        line["evidence"][0]["sha256"] = json!("0".repeat(64));
    };
    s.refused(
        "redacted-evidence-hash",
        &edit_line(&s.export, claim, evidence_hash),
        claim,
        Some("evidence[0].sha256"),
    );
    // A line that says it was redacted, though no entry_redacted targets it.
    let fake_redaction = |line: &mut serde_json::Map<String, Value>| {
        line.insert("description".into(), json!("[redacted]"));
        line["salts"].as_object_mut().unwrap().remove("description");
        line.insert("redacted".into(), json!(["description"]));
    };
    s.refused(
        "uncovered-redaction",
        &edit_line(&s.export, unredacted_claim, fake_redaction),
        unredacted_claim,
        Some("redacted"),
    );
    // Two lines swapped: the first of them is not the entry its place needs.
    s.refused("swapped", &swap_lines(&s.export, 20, 21), 20, None);
    // The operator's new key swapped for another: the later operator
    // statements and checkpoint would then verify under a key never rotated to.
    let other_key = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    s.refused(
        "rotation-key",
        &edit_line(&s.export, s.rotation, set("public_key", json!(other_key))),
        s.rotation,
        Some("public_key"),
    );
    // The response's redacted statement, shown again.
    s.refused(
        "redacted-statement",
        &edit_line(
            &s.export,
            response,
            set("statement", json!("No strike took place.")),
        ),
        response,
        Some("statement"),
    );
}

#[test]
fn an_export_shorter_than_a_checkpoint_is_refused() {
    let s = Scenario::build();
    let file = s.write("short.jsonl", &drop_last_line(&s.export));
    if python3_available() {
        checker_fails(
            s.dir(),
            &s.checker_args(&file),
            &["cp-after.txt", "line 67 (seq 67)", "68"],
        );
        // Against the earlier checkpoint alone it still passes.
        let args = [
            file.as_str(),
            "--key",
            &s.first_vkey,
            "--checkpoint",
            s.cp_before.to_str().unwrap(),
        ];
        checker_passes(s.dir(), &args);
    }
    let output = s.verify_proof(&file);
    assert_eq!(
        output.status.code(),
        Some(EXIT_ERROR),
        "verify-proof: {}",
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("size 68") && stderr.contains("(67)"),
        "{stderr}"
    );
    // `import` takes no checkpoint: the copy holds a true prefix of the log,
    // and `verify --against` the later checkpoint tells it is short.
    let (copy, output) = s.import_into_copy("copy", &file);
    assert!(output.status.success(), "import: {}", describe(&output));
    let output = run_on(
        &s.ledger,
        &copy,
        &["verify", "--against", s.cp_after.to_str().unwrap()],
    );
    assert!(
        !output.status.success(),
        "verify --against: {}",
        describe(&output)
    );
}

#[test]
fn the_checker_refuses_bad_arguments_with_one_line_of_usage() {
    if !python3_available() {
        return;
    }
    let s = Scenario::build();
    let file = s.write("export.jsonl", &s.export);
    let key = s.first_vkey.as_str();
    checker_usage_error(s.dir(), &[], "no export file given");
    checker_usage_error(s.dir(), &[&file], "--key");
    checker_usage_error(s.dir(), &[&file, "--key"], "--key needs a value");
    checker_usage_error(s.dir(), &[&file, "--key", "not-a-key"], "--key");
    checker_usage_error(
        s.dir(),
        &[&file, "--key", key, "--frobnicate"],
        "unknown option --frobnicate",
    );
    checker_usage_error(
        s.dir(),
        &["missing.jsonl", "--key", key],
        "cannot read missing.jsonl",
    );
    checker_usage_error(
        s.dir(),
        &[&file, "--key", key, "--checkpoint", "missing.txt"],
        "cannot read checkpoint",
    );
    checker_usage_error(s.dir(), &[&file, "--key", key, "--seq", "zero"], "--seq");
    let secret = std::fs::read_to_string(s.ledger.operator_key()).unwrap();
    checker_usage_error(s.dir(), &[&file, "--key", secret.trim()], "secret");
    // Not a checkpoint note: a failed check of that file, named.
    checker_fails(
        s.dir(),
        &[&file, "--key", key, "--checkpoint", &file],
        &["not a checkpoint note"],
    );
    let output = s
        .ledger
        .run(&["verify-proof", "--key", key, "--export", &file]);
    assert_eq!(
        output.status.code(),
        Some(EXIT_ERROR),
        "{}",
        describe(&output)
    );
}

/// Entries of format 1 (schema 1), copied into a ledger of today and
/// continued there: the checker reads both schemas; a format 1 redacted
/// entry is reported as unprovable, and still needs its `entry_redacted`.
#[test]
fn format_1_entries_are_read_and_their_redactions_reported() {
    let ledger = Ledger::new();
    let operator = read_secret_key(&ledger.operator_key());
    let vkey = std::fs::read_to_string(ledger.path().join("operator.vkey")).unwrap();
    let ua_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let ua_public = hex::encode(ua_key.verifying_key().to_bytes());
    let mut log = Format1Log::new(operator);
    log.party_key("UA", ua_key);
    let registered = |party: &str, id: &str, key: &str| {
        format!(
            r#"{{"type":"party_registered","event_id":"{id}","by":"operator","occurred_at":"2024-01-02T00:00:00Z","party":"{party}","name":"{party} (format 1)","role":"belligerent"{key}}}"#
        )
    };
    log.push(
        &registered(
            "UA",
            "0194ff00-0000-7000-8000-000000000001",
            &format!(r#","public_key":"{ua_public}""#),
        ),
        "2024-01-02T00:00:00Z",
        None,
    );
    log.push(
        &registered("RU", "0194ff00-0000-7000-8000-000000000002", ""),
        "2024-01-02T00:00:00Z",
        None,
    );
    log.push(r#"{"type":"agreement_proposed","event_id":"0194ff00-0000-7000-8000-000000000003","by":"UA","occurred_at":"2024-01-03T00:00:00Z","agreement":"A0","title":"Old truce","kind":"bilateral","parties":["UA","RU"],"scope":["all_hostilities"],"effective_from":"2024-01-03T00:00:00Z"}"#, "2024-01-03T00:00:00Z", None);
    let claim = r#"{"type":"violation_alleged","event_id":"0194ff00-0000-7000-8000-000000000004","by":"UA","occurred_at":"2024-01-05T00:00:00Z","claim":"C0","agreement":"A0","against":"RU","incident_at":"2024-01-04T00:00:00Z","category":"shelling","location":{"name":"Avdiivka","lat":48.14,"lon":37.74},"description":"A named witness saw it."}"#;
    let reading = claim
        .replace("A named witness saw it.", "[redacted]")
        .replace(
            r#"{"name":"Avdiivka","lat":48.14,"lon":37.74}"#,
            r#"{"name":"[redacted]"}"#,
        );
    log.push(claim, "2024-01-05T00:00:00Z", Some(&reading));
    log.push(r#"{"type":"entry_redacted","event_id":"0194ff00-0000-7000-8000-000000000005","by":"operator","occurred_at":"2024-01-06T00:00:00Z","target_seq":4,"reason":"witness safety","fields":["description","location"]}"#, "2024-01-06T00:00:00Z", None);
    let old = log.export();

    // The format 1 lines copy into a ledger of today, which goes on.
    ledger.backfill(&old);
    ledger.record(r#"{"type":"party_registered","by":"operator","party":"RU2","name":"Format 2","role":"mediator"}"#);
    let cp = ledger.file("cp.txt", &ledger.ok(&["checkpoint"]));
    let export = ledger.export();
    assert_eq!(
        export.lines().take(5).collect::<Vec<_>>(),
        old.lines().collect::<Vec<_>>(),
        "format 1 lines export as they were copied"
    );
    let file = ledger.file("export.jsonl", &export);
    let file = file.to_str().unwrap();
    let args = [
        file,
        "--key",
        vkey.trim(),
        "--checkpoint",
        cp.to_str().unwrap(),
    ];
    let output = ledger.run(&[
        "verify-proof",
        "--key",
        vkey.trim(),
        "--checkpoint",
        cp.to_str().unwrap(),
        "--export",
        file,
    ]);
    assert!(
        output.status.success(),
        "verify-proof: {}",
        describe(&output)
    );
    if !python3_available() {
        return;
    }
    let stdout = checker_passes(ledger.dir(), &args);
    assert!(
        stdout.contains("warning: line 4: entry 4 is of format 1 and was redacted"),
        "{stdout}"
    );
    assert!(stdout.contains("6 entries"), "{stdout}");
    // Without the format 1 redaction, the reading copy stands unexplained.
    // (The last two lines go: the chain would break otherwise.)
    let mut lines = parse_export(&export);
    lines.truncate(4);
    let short = ledger.file("short.jsonl", &to_export(&lines));
    let short = short.to_str().unwrap();
    checker_fails(
        ledger.dir(),
        &[short, "--key", vkey.trim()],
        &["line 4", "field `redacted`"],
    );
    // A format 1 payload edited: its digest no longer matches the leaf.
    let edited = edit_line(&export, 3, |line| {
        line.insert("title".into(), json!("New truce"));
    });
    let edited_file = ledger.file("edited.jsonl", &edited);
    checker_fails(
        ledger.dir(),
        &[edited_file.to_str().unwrap(), "--key", vkey.trim()],
        &["line 3", "field `title`"],
    );
}

/// Known bug (reported, not fixed here): an entry redacted in two steps
/// exports a line that names both fields, and the copy's first redaction
/// then "shows other fields redacted than this redaction names", so neither
/// `import --backfill` nor `verify-proof` accepts the ledger's own export.
/// The auditors' script accepts it.
#[test]
fn an_entry_redacted_in_two_steps_copies() {
    let ledger = Ledger::new();
    let vkey = std::fs::read_to_string(ledger.path().join("operator.vkey")).unwrap();
    ledger.ok(&["import", "--backfill", spring_2025_path().to_str().unwrap()]);
    ledger.record(r#"{"type":"entry_redacted","by":"operator","target_seq":11,"reason":"witness","fields":["description"]}"#);
    ledger.record(r#"{"type":"entry_redacted","by":"operator","target_seq":11,"reason":"witness","fields":["location"]}"#);
    let file = ledger.file("export.jsonl", &ledger.export());
    let copy = new_copy(&ledger, "copy", vkey.trim());
    let output = run_on(
        &ledger,
        &copy,
        &["import", "--backfill", file.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", describe(&output));
}

/// Known bug (reported, not fixed here): a redaction that names its fields
/// in another order than their codes (`["location","description"]`) makes
/// an export whose redacted line lists them in code order, which the copy
/// refuses as "other fields". The auditors' script accepts it.
#[test]
fn a_redaction_naming_fields_out_of_code_order_copies() {
    let ledger = Ledger::new();
    let vkey = std::fs::read_to_string(ledger.path().join("operator.vkey")).unwrap();
    ledger.ok(&["import", "--backfill", spring_2025_path().to_str().unwrap()]);
    ledger.record(r#"{"type":"entry_redacted","by":"operator","target_seq":12,"reason":"witness","fields":["location","description"]}"#);
    let file = ledger.file("export.jsonl", &ledger.export());
    let copy = new_copy(&ledger, "copy", vkey.trim());
    let output = run_on(
        &ledger,
        &copy,
        &["import", "--backfill", file.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", describe(&output));
}

/// Known bug (reported, not fixed here): format 1 stored a redaction of
/// every field as an empty `fields` list, but the rules now refuse an empty
/// list for every `entry_redacted`, copies of format 1 included, so such a
/// format 1 log cannot be copied. The auditors' script accepts it.
#[test]
fn a_format_1_redaction_of_every_field_copies() {
    let ledger = Ledger::new();
    let mut log = Format1Log::new(read_secret_key(&ledger.operator_key()));
    log.push(r#"{"type":"party_registered","event_id":"0194ff00-0000-7000-8000-000000000001","by":"operator","occurred_at":"2024-01-02T00:00:00Z","party":"UA","name":"Ukraine","role":"belligerent"}"#, "2024-01-02T00:00:00Z", Some(r#"{"type":"party_registered","event_id":"0194ff00-0000-7000-8000-000000000001","by":"operator","occurred_at":"2024-01-02T00:00:00Z","party":"UA","name":"[redacted]","role":"belligerent"}"#));
    log.push(r#"{"type":"entry_redacted","event_id":"0194ff00-0000-7000-8000-000000000002","by":"operator","occurred_at":"2024-01-03T00:00:00Z","target_seq":1,"reason":"all of it","fields":[]}"#, "2024-01-03T00:00:00Z", None);
    if python3_available() {
        let file = ledger.file("old.jsonl", &log.export());
        let vkey = std::fs::read_to_string(ledger.path().join("operator.vkey")).unwrap();
        checker_passes(
            ledger.dir(),
            &[file.to_str().unwrap(), "--key", vkey.trim()],
        );
    }
    ledger.backfill(&log.export());
}

#[test]
fn the_checker_accepts_what_the_copy_bugs_refuse() {
    if !python3_available() {
        return;
    }
    let ledger = Ledger::new();
    let vkey = std::fs::read_to_string(ledger.path().join("operator.vkey")).unwrap();
    ledger.ok(&["import", "--backfill", spring_2025_path().to_str().unwrap()]);
    ledger.record(r#"{"type":"entry_redacted","by":"operator","target_seq":11,"reason":"witness","fields":["description"]}"#);
    ledger.record(r#"{"type":"entry_redacted","by":"operator","target_seq":11,"reason":"witness","fields":["location"]}"#);
    ledger.record(r#"{"type":"entry_redacted","by":"operator","target_seq":12,"reason":"witness","fields":["location","description"]}"#);
    let export = ledger.export();
    let file = ledger.file("export.jsonl", &export);
    checker_passes(
        ledger.dir(),
        &[file.to_str().unwrap(), "--key", vkey.trim()],
    );
    // A redaction's line edited to name a field it did not redact.
    let mut lines = parse_export(&export);
    lines.truncate(64);
    let twice = edit_line(&to_export(&lines), 63, |line| {
        line.insert("fields".into(), json!(["description"]));
    });
    let twice_file = ledger.file("twice.jsonl", &twice);
    // The edit changes the line, not the payload: the field comparison fails first.
    checker_fails(
        ledger.dir(),
        &[twice_file.to_str().unwrap(), "--key", vkey.trim()],
        &["line 63", "field `fields"],
    );
}

/// A key file in the signed-note form `keygen` writes, from a fixed seed:
/// `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>`; returns its verifier key.
fn fixed_key(ledger: &Ledger, file: &str, name: &str, seed: [u8; 32]) -> (PathBuf, String) {
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let public = ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes();
    let id = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', 1])
        .chain_update(public)
        .finalize();
    let id = hex::encode(&id[..4]);
    let with_type = |bytes: &[u8]| BASE64.encode([&[1u8][..], bytes].concat());
    let path = ledger.file(
        file,
        &format!("PRIVATE+KEY+{name}+{id}+{}\n", with_type(&seed)),
    );
    (path, format!("{name}+{id}+{}", with_type(&public)))
}

/// The worked example of `docs/FORMAT.md` (section 2.6) and its checkpoint
/// (section 3.5) are what the binary makes, byte for byte.
#[test]
fn the_worked_example_of_the_format_is_what_the_binary_makes() {
    let ledger = Ledger::new();
    let seed: [u8; 32] =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap()
            .try_into()
            .unwrap();
    let (ua_key, ua_vkey) = fixed_key(&ledger, "ua.key", "UA", seed);
    let (op_key, op_vkey) = fixed_key(&ledger, "op.key", "example.org/ceasefire", [1; 32]);
    let example = Ledger::with_operator_key(&op_key);
    example.backfill(&format!(
        r#"{{"type":"party_registered","event_id":"01958437-bc00-7992-9970-7f07ac883e93","by":"operator","occurred_at":"2025-03-11T08:00:00Z","recorded_at":"2025-03-11T08:00:00Z","party":"UA","name":"Ukraine","role":"belligerent","public_key":"{ua_vkey}","salts":{{"name":"01010101010101010101010101010101"}}}}
{{"type":"party_registered","event_id":"01958437-bc00-7c71-b7d3-a5cf4010d378","by":"operator","occurred_at":"2025-03-11T08:00:00Z","recorded_at":"2025-03-11T08:00:00Z","party":"RU","name":"Russian Federation","role":"belligerent","salts":{{"name":"02020202020202020202020202020202"}}}}
"#
    ));
    let unsigned = example.file(
        "ua.jsonl",
        r#"{"type":"agreement_proposed","event_id":"0195865d-0d00-7151-80b4-f355638800fd","by":"UA","occurred_at":"2025-03-11T16:00:00Z","agreement":"A1","title":"Energy moratorium","kind":"bilateral","parties":["UA","RU"],"scope":["energy_infrastructure"],"effective_from":"2025-03-18T00:00:00Z","salts":{"title":"03030303030303030303030303030303"}}
{"type":"violation_alleged","event_id":"0195ada1-8a80-7875-932b-f5853110dd8e","by":"UA","occurred_at":"2025-03-19T07:00:00Z","claim":"c1","agreement":"A1","against":"RU","incident_at":"2025-03-19T01:00:00Z","category":"drone_strike","location":{"name":"Sloviansk","lat":48.85,"lon":37.6},"casualties":{"killed":0,"injured":2},"description":"Drone hit the substation.","salts":{"description":"04040404040404040404040404040404","location":"05050505050505050505050505050505","casualties":"06060606060606060606060606060606"}}
{"type":"allegation_retracted","event_id":"0195c761-5680-7f55-97a3-0d96aa55d1b7","by":"UA","occurred_at":"2025-03-24T09:00:00Z","claim":"c1","reason":"witness Ivan asked","salts":{"reason":"07070707070707070707070707070707"}}
"#,
    );
    let signed = example.ok(&[
        "sign",
        "--key",
        ua_key.to_str().unwrap(),
        unsigned.to_str().unwrap(),
    ]);
    let recorded = [
        "2025-03-11T18:00:00Z",
        "2025-03-19T09:00:00Z",
        "2025-03-24T10:00:00Z",
    ];
    let mut lines = parse_export(&signed);
    for (line, at) in lines.iter_mut().zip(recorded) {
        line.insert("recorded_at".into(), json!(at));
    }
    example.backfill(&to_export(&lines));
    let before = parse_export(&example.export());
    example.backfill(r#"{"type":"entry_redacted","event_id":"0195cc00-0000-7000-8000-00000000000a","by":"operator","occurred_at":"2025-03-25T08:00:00Z","recorded_at":"2025-03-25T08:00:00Z","target_seq":5,"reason":"the witness asked","fields":["reason"]}"#);
    let checkpoint = example.ok(&["checkpoint"]);
    let export = example.export();
    let after = parse_export(&export);

    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/FORMAT.md"))
            .unwrap();
    let field =
        |line: &serde_json::Map<String, Value>, name: &str| line[name].as_str().unwrap().to_owned();
    for name in ["hash", "prev_hash", "leaf", "payload"] {
        let value = field(&before[4], name);
        assert!(
            doc.contains(&value),
            "FORMAT.md should show entry 5's {name} {value}"
        );
        assert_eq!(
            field(&after[4], name),
            value,
            "redaction keeps entry 5's {name}"
        );
    }
    let signature = field(&before[4], "signature");
    assert!(
        doc.contains(&signature[..64]) && doc.contains(&signature[64..]),
        "FORMAT.md should show the signature {signature}"
    );
    for line in checkpoint.lines().filter(|l| !l.is_empty()) {
        assert!(
            doc.contains(&format!("    {line}\n")),
            "FORMAT.md should show the checkpoint line {line}"
        );
    }
    assert_eq!(
        before[4]["salts"],
        json!({"reason": "07070707070707070707070707070707"})
    );
    assert_eq!(after[4]["reason"], json!("[redacted]"));
    assert_eq!(after[4]["redacted"], json!(["reason"]));
    assert!(
        after[4].get("salts").is_none(),
        "a redacted field's salt is gone"
    );
    if python3_available() {
        let cp = example.file("cp.txt", &checkpoint);
        let file = example.file("export.jsonl", &export);
        checker_passes(
            example.dir(),
            &[
                file.to_str().unwrap(),
                "--key",
                &op_vkey,
                "--checkpoint",
                cp.to_str().unwrap(),
            ],
        );
    }
}

/// An edit of one export line.
type LineEdit = fn(&mut serde_json::Map<String, Value>);

/// Known bug (reported, not fixed here): a copy line at a seq the copy
/// already holds is compared on its statement fields and header only, so
/// an overlapping export whose `salts` or `payload` were edited, or whose
/// line hides a changed value behind a `redacted` it never had, is taken
/// as "already recorded". The copy itself keeps the true entry, but the
/// import reports an edited export as a good one; `verify-proof` (into an
/// empty ledger) and check_export.py refuse each of these.
#[test]
fn an_overlapping_export_is_checked_line_by_line() {
    let s = Scenario::build();
    let file = s.write("export.jsonl", &s.export);
    let (copy, output) = s.import_into_copy("copy", &file);
    assert!(output.status.success(), "{}", describe(&output));
    let seq = seq_where(&s.export, "claim", "RU-2025-03-19-kavkazskaya");
    let edits: [(&str, LineEdit); 3] = [
        ("salt", |line| {
            line["salts"]["description"] = json!("00".repeat(16));
        }),
        ("payload", |line| {
            let payload = line["payload"].as_str().unwrap().replace('A', "B");
            line.insert("payload".into(), json!(payload));
        }),
        ("hidden-change", |line| {
            line.insert("description".into(), json!("Something else."));
            line.insert("redacted".into(), json!(["description"]));
            line["salts"].as_object_mut().unwrap().remove("description");
        }),
    ];
    for (case, edit) in edits {
        let edited = s.write(&format!("{case}.jsonl"), &edit_line(&s.export, seq, edit));
        if python3_available() {
            checker_fails(s.dir(), &s.checker_args(&edited), &[&format!("line {seq}")]);
        }
        let output = run_on(&s.ledger, &copy, &["import", "--backfill", &edited]);
        assert_eq!(
            output.status.code(),
            Some(EXIT_ERROR),
            "{case}: an edited overlapping export was accepted: {}",
            describe(&output)
        );
    }
}
