//! Helpers of the hardening tests (issue 8): copies of a ledger that hold
//! only the operator's verifier key, export lines edited field by field,
//! key files of both kinds and both formats, and commands whose standard
//! output is closed or full.
//!
//! Included with `#[path = "common/hardening.rs"] mod hardening;` beside
//! `mod common;`.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use crate::common::{armistice, describe, spring_2025, Ledger, EXIT_ERROR};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Fields an export line carries that the ledger computes (the rest is the statement).
pub const LEDGER_FIELDS: &[&str] = &[
    "seq",
    "recorded_at",
    "hash",
    "prev_hash",
    "stream",
    "version",
    "backfilled",
    "leaf",
    "payload",
    "redacted",
];

/// The example ledger: the spring-2025 scenario, 61 entries.
pub fn example() -> Ledger {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    ledger
}

/// The operator's verifier key file `init` writes into the ledger folder.
pub fn vkey_path(ledger: &Ledger) -> PathBuf {
    ledger.path().join("operator.vkey")
}

/// The operator's verifier key, `<origin>+<id>+<base64>`.
pub fn vkey(ledger: &Ledger) -> String {
    std::fs::read_to_string(vkey_path(ledger))
        .expect("operator.vkey beside the ledger")
        .trim()
        .to_owned()
}

/// A copy of `origin`: `init --operator-vkey` with the origin's verifier key only.
pub fn copy_of(origin: &Ledger) -> Ledger {
    let vkey = vkey_path(origin);
    let copy = Ledger::init(&["--operator-vkey".as_ref(), vkey.as_os_str()]);
    assert!(
        !copy.operator_key().exists(),
        "a copy holds no operator secret key"
    );
    copy
}

/// The 32 key bytes of a verifier key `<name>+<id>+<base64(0x01 || key)>`,
/// after checking its C2SP key id (the first 4 bytes of
/// SHA-256(name || 0x0A || 0x01 || key)).
pub fn vkey_bytes(vkey: &str) -> [u8; 32] {
    // A key name holds no `+`; the base64 may.
    let mut parts = vkey.splitn(3, '+');
    let (name, id, blob) = (
        parts.next().unwrap(),
        parts
            .next()
            .unwrap_or_else(|| panic!("no key id in {vkey}")),
        parts.next().unwrap_or_else(|| panic!("no key in {vkey}")),
    );
    let blob = BASE64
        .decode(blob)
        .unwrap_or_else(|e| panic!("{vkey}: {e}"));
    assert_eq!(blob.len(), 33, "algorithm byte and Ed25519 key: {vkey}");
    assert_eq!(blob[0], 0x01, "Ed25519: {vkey}");
    let key: [u8; 32] = blob[1..].try_into().unwrap();
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n\x01");
    hasher.update(key);
    assert_eq!(id, hex::encode(&hasher.finalize()[..4]), "key id of {vkey}");
    key
}

/// A verifier key's 32 key bytes in hex: how entries store a public key.
pub fn vkey_hex(vkey: &str) -> String {
    hex::encode(vkey_bytes(vkey))
}

/// `keygen --out DIR/NAME.key`: the secret key file and the verifier key printed.
pub fn keygen(ledger: &Ledger, name: &str) -> (PathBuf, String) {
    let file = ledger.dir().join(format!("{name}.key"));
    let stdout = ledger.ok(&["keygen", "--out", file.to_str().unwrap()]);
    (file, stdout.trim().to_owned())
}

/// An old-format (format 1) key pair: 64 hex characters of seed in `FILE`,
/// 64 hex characters of public key in `FILE.pub`. The seed is chosen so
/// that its bytes are also a valid Ed25519 public key: read as one, it
/// would be accepted, so only the file's kind can tell.
pub fn old_format_key_pair(dir: &Path, name: &str) -> (PathBuf, String) {
    use ed25519_dalek::{SigningKey, VerifyingKey};
    let mut seed = [0u8; 32];
    for counter in 0u32.. {
        let digest = Sha256::digest(format!("{name} {counter}"));
        seed.copy_from_slice(&digest);
        if VerifyingKey::from_bytes(&seed).is_ok_and(|key| !key.is_weak()) {
            break;
        }
    }
    let public = hex::encode(SigningKey::from_bytes(&seed).verifying_key().to_bytes());
    let file = dir.join(format!("{name}.key"));
    std::fs::write(&file, format!("{}\n", hex::encode(seed))).unwrap();
    std::fs::write(dir.join(format!("{name}.key.pub")), format!("{public}\n")).unwrap();
    (file, public)
}

/// UA and RU registered with the given public keys, US a mediator and MON a
/// monitor without; agreement `A1` between UA and RU, proposed by US.
pub fn keyed_world(ua: &str, ru: &str) -> String {
    format!(
        r#"{{"type":"party_registered","by":"operator","party":"UA","name":"Ukraine","role":"belligerent","public_key":"{ua}"}}
{{"type":"party_registered","by":"operator","party":"RU","name":"Russian Federation","role":"belligerent","public_key":"{ru}"}}
{{"type":"party_registered","by":"operator","party":"US","name":"United States","role":"mediator"}}
{{"type":"party_registered","by":"operator","party":"MON","name":"Monitor","role":"monitor"}}
{{"type":"agreement_proposed","by":"US","agreement":"A1","title":"t","kind":"bilateral","parties":["UA","RU"],"mediators":["US"],"scope":["all_hostilities"],"effective_from":"2025-01-01T00:00:00Z"}}
"#
    )
}

/// A claim by UA against RU under `A1` with every redactable field a claim has.
pub fn ua_claim(claim: &str) -> String {
    format!(
        r#"{{"type":"violation_alleged","by":"UA","claim":"{claim}","agreement":"A1","against":"RU","incident_at":"2025-01-01T00:00:00Z","category":"shelling","count":3,"location":{{"name":"House of witness Ivan, Kharkiv","lat":50.0,"lon":36.23}},"casualties":{{"killed":1,"injured":2}},"description":"Witness Ivan Petrenko saw three shells","source":"UA ministry of defence"}}"#
    )
}

/// JSON lines parsed.
pub fn parse_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

/// JSON values as JSON lines (keys in their order, as the export prints them).
pub fn join_lines(values: &[Value]) -> String {
    values.iter().map(|v| format!("{v}\n")).collect()
}

/// `export` text with the line of `seq` edited.
pub fn edit_export(export: &str, seq: u64, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut lines = parse_lines(export);
    let line = lines
        .iter_mut()
        .find(|line| line["seq"] == seq)
        .unwrap_or_else(|| panic!("no line of seq {seq}"));
    edit(line.as_object_mut().unwrap());
    join_lines(&lines)
}

/// An exported entry with the fields the ledger computes removed: the
/// statement as its author submitted it.
pub fn as_submitted(mut entry: Value) -> Value {
    for field in LEDGER_FIELDS {
        entry.as_object_mut().unwrap().remove(*field);
    }
    entry
}

/// `armistice sign --key KEY`: the line signed offline, with its
/// `event_id`, `occurred_at`, `salts` and `signature`.
pub fn signed_offline(ledger: &Ledger, key: &Path, line: &str) -> Value {
    let output = ledger.run_stdin(&["sign", "--key", key.to_str().unwrap(), "-"], line);
    assert!(
        output.status.success(),
        "sign {line}: {}",
        describe(&output)
    );
    let signed: Value = serde_json::from_slice(&output.stdout).expect("sign prints a JSON line");
    assert!(signed["signature"].is_string(), "{signed}");
    signed
}

/// `armistice verify-proof ARGS` in `dir`, with no ledger.
pub fn verify_proof(dir: &Path, args: &[&str]) -> Output {
    armistice(dir)
        .arg("verify-proof")
        .args(args)
        .output()
        .expect("run armistice verify-proof")
}

/// Standard error of a command that must fail with exit 2, without a panic.
pub fn error_of(output: Output, what: &str) -> String {
    crate::common::expect_error(output, what)
}

/// Asserts that `text` contains every needle.
pub fn assert_mentions(text: &str, needles: &[&str], what: &str) {
    for needle in needles {
        assert!(
            text.contains(needle),
            "{what}: the message should mention {needle:?}: {text}"
        );
    }
}

/// Runs `command` with its standard output a pipe whose reader is gone
/// before the command writes (the parent closes its end at once).
pub fn run_with_closed_stdout(mut command: Command) -> Output {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn armistice");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for armistice")
}

/// Runs `command` with its standard output on `/dev/full` (every write fails: no space).
pub fn run_into_dev_full(mut command: Command) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    command.stdout(full).stderr(Stdio::piped());
    command.output().expect("run armistice")
}

/// Asserts a clean failure: exit 2, a message, no panic.
pub fn assert_clean_error(output: &Output, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(EXIT_ERROR),
        "{what}: {}",
        describe(output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.trim().is_empty(), "{what}: no message");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
}

/// Whether `text` is a timestamp in the one RFC 3339 form the ledger prints:
/// `YYYY-MM-DDThh:mm:ss[.ffffff]Z` (UTC, at most six fraction digits).
pub fn is_printed_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let shape = digits(0..4)
        && bytes.get(4) == Some(&b'-')
        && digits(5..7)
        && bytes.get(7) == Some(&b'-')
        && digits(8..10)
        && bytes.get(10) == Some(&b'T')
        && digits(11..13)
        && bytes.get(13) == Some(&b':')
        && digits(14..16)
        && bytes.get(16) == Some(&b':')
        && digits(17..19);
    if !shape || !text.ends_with('Z') {
        return false;
    }
    match &text[19..text.len() - 1] {
        "" => true,
        fraction => {
            fraction.len() >= 2
                && fraction.len() <= 7
                && fraction.starts_with('.')
                && fraction[1..].bytes().all(|b| b.is_ascii_digit())
        }
    }
}
