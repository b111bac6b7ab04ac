//! Helpers for tests of exports: running `docs/auditors/check_export.py`,
//! editing export lines, and making format 1 (schema 1) entries as the
//! ledger wrote them before selective disclosure.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use crate::common::{describe, Ledger};
use armistice_core::entry::{
    encode_payload_v1, sha256, Header, Record, Redaction, GENESIS_HASH, SCHEMA_V1,
};
use armistice_core::json::{export_fields, parse_line};
use armistice_core::sign::sign_payload;
use armistice_core::Timestamp;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::SigningKey;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The auditors' checker, in the repository.
pub fn checker() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/auditors/check_export.py")
}

/// Whether `python3` runs here; prints "skipped: python3 not installed" once when not.
pub fn python3_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    let available = *AVAILABLE.get_or_init(|| {
        Command::new("python3")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !available {
        println!("skipped: python3 not installed");
    }
    available
}

/// Runs `python3 [-O] docs/auditors/check_export.py ARGS` in `dir`.
pub fn run_checker(dir: &Path, optimized: bool, args: &[&str]) -> Output {
    let mut command = Command::new("python3");
    // No bytecode files written into the repository's docs folder.
    command.env("PYTHONDONTWRITEBYTECODE", "1").current_dir(dir);
    if optimized {
        command.arg("-O");
    }
    command.arg(checker()).args(args);
    command.output().expect("run python3")
}

/// Runs the checker with and without `-O`; both must pass. Returns stdout.
pub fn checker_passes(dir: &Path, args: &[&str]) -> String {
    let mut stdout = String::new();
    for optimized in [false, true] {
        let output = run_checker(dir, optimized, args);
        assert!(
            output.status.success(),
            "check_export.py {}{args:?} should pass: {}",
            if optimized { "(-O) " } else { "" },
            describe(&output)
        );
        stdout = String::from_utf8(output.stdout).unwrap();
    }
    stdout
}

/// Runs the checker with and without `-O`; both must fail with exit 1 and
/// one message, no traceback, naming every part of `names`. Returns stderr.
pub fn checker_fails(dir: &Path, args: &[&str], names: &[&str]) -> String {
    let mut stderr = String::new();
    for optimized in [false, true] {
        let output = run_checker(dir, optimized, args);
        let what = format!(
            "check_export.py {}{args:?}",
            if optimized { "(-O) " } else { "" }
        );
        assert_eq!(
            output.status.code(),
            Some(1),
            "{what} should fail with exit 1: {}",
            describe(&output)
        );
        stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            !stderr.contains("Traceback"),
            "{what} printed a traceback: {stderr}"
        );
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{what}: one line expected: {stderr}"
        );
        for name in names {
            assert!(stderr.contains(name), "{what} should name {name}: {stderr}");
        }
    }
    stderr
}

/// Runs the checker with bad arguments: exit 2, one line of usage, no traceback.
pub fn checker_usage_error(dir: &Path, args: &[&str], expected: &str) {
    for optimized in [false, true] {
        let output = run_checker(dir, optimized, args);
        let stderr = String::from_utf8(output.stderr.clone()).unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "check_export.py {args:?}: {}",
            describe(&output)
        );
        assert!(
            !stderr.contains("Traceback"),
            "check_export.py {args:?} printed a traceback: {stderr}"
        );
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "check_export.py {args:?}: {stderr}"
        );
        assert!(
            stderr.contains("usage:"),
            "check_export.py {args:?}: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "check_export.py {args:?} should say {expected}: {stderr}"
        );
    }
}

/// The export's lines, parsed (the key order of each line kept).
pub fn parse_export(export: &str) -> Vec<Map<String, Value>> {
    export
        .lines()
        .map(|line| match serde_json::from_str(line) {
            Ok(Value::Object(map)) => map,
            other => panic!("export line is not an object: {other:?}"),
        })
        .collect()
}

/// Export lines back to text.
pub fn to_export(lines: &[Map<String, Value>]) -> String {
    let mut text = String::new();
    for line in lines {
        text.push_str(&serde_json::to_string(line).unwrap());
        text.push('\n');
    }
    text
}

/// A copy of `export` with line `seq` (counted from 1) changed by `edit`.
pub fn edit_line(export: &str, seq: usize, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut lines = parse_export(export);
    edit(&mut lines[seq - 1]);
    to_export(&lines)
}

/// A copy of `export` with lines `a` and `b` (from 1) swapped.
pub fn swap_lines(export: &str, a: usize, b: usize) -> String {
    let mut lines: Vec<&str> = export.lines().collect();
    lines.swap(a - 1, b - 1);
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A copy of `export` without its last line.
pub fn drop_last_line(export: &str) -> String {
    let mut lines: Vec<&str> = export.lines().collect();
    lines.pop();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The seq of the export line whose `field` is `value`.
pub fn seq_where(export: &str, field: &str, value: &str) -> usize {
    parse_export(export)
        .iter()
        .position(|line| line.get(field).and_then(Value::as_str) == Some(value))
        .unwrap_or_else(|| panic!("no export line with {field} = {value}"))
        + 1
}

/// Reads a secret key file written by `armistice keygen`
/// (`PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>`).
pub fn read_secret_key(path: &Path) -> SigningKey {
    let text = std::fs::read_to_string(path).unwrap();
    let rest = text
        .trim()
        .strip_prefix("PRIVATE+KEY+")
        .expect("a secret key");
    // <name>+<id>+<base64>: the base64 may itself hold `+`.
    let encoded = rest.splitn(3, '+').nth(2).expect("<name>+<id>+<key>");
    let bytes = BASE64.decode(encoded).unwrap();
    assert_eq!(bytes[0], 1, "an Ed25519 key");
    SigningKey::from_bytes(&bytes[1..].try_into().unwrap())
}

/// Export lines of entries of format 1 (schema 1), made as that format
/// made them: the payload is the whole statement, signed over
/// `armistice/statement/v1\n || payload`; a redacted one keeps only its
/// reading copy (`"redacted": true`, no payload).
pub struct Format1Log {
    operator: SigningKey,
    parties: HashMap<String, SigningKey>,
    prev_hash: [u8; 32],
    seq: u64,
    versions: HashMap<String, u64>,
    /// The export lines so far.
    pub lines: Vec<String>,
}

impl Format1Log {
    /// An empty log kept by `operator`.
    pub fn new(operator: SigningKey) -> Format1Log {
        Format1Log {
            operator,
            parties: HashMap::new(),
            prev_hash: GENESIS_HASH,
            seq: 0,
            versions: HashMap::new(),
            lines: Vec::new(),
        }
    }

    /// Gives `party` a key to sign its statements with (its registration
    /// must carry the public key).
    pub fn party_key(&mut self, party: &str, key: SigningKey) {
        self.parties.insert(party.to_owned(), key);
    }

    /// Appends `line` (with its `event_id` and `occurred_at`) recorded at
    /// `recorded_at`; with `reading_copy`, the entry is shown redacted: its
    /// fields are those of `reading_copy`, its payload gone.
    pub fn push(&mut self, line: &str, recorded_at: &str, reading_copy: Option<&str>) {
        let parse = |text: &str| {
            parse_line(text, uuid::Uuid::new_v4())
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .statement
        };
        let statement = parse(line);
        let payload = encode_payload_v1(&statement);
        let key = match statement.by.as_str() {
            "operator" => Some(&self.operator),
            party => self.parties.get(party),
        };
        let signature = key.map(|key| sign_payload(SCHEMA_V1, &payload, key));
        let stream = statement.stream().name();
        let version = self.versions.entry(stream.clone()).or_insert(0);
        *version += 1;
        self.seq += 1;
        let header = Header {
            schema: SCHEMA_V1,
            seq: self.seq,
            recorded_at: Timestamp::parse_rfc3339(recorded_at).unwrap(),
            occurred_at: statement.occurred_at,
            event_type: statement.event.event_type(),
            backfilled: false,
            event_id: statement.event_id,
            stream,
            version: *version,
            by: statement.by.clone(),
            prev_hash: self.prev_hash,
            payload_sha256: sha256(&payload),
            signature,
        };
        let leaf = header.encode();
        let hash = sha256(&leaf);
        let (shown, redaction, payload) = match reading_copy {
            Some(copy) => (parse(copy), Redaction::Legacy, None),
            None => (statement, Redaction::None, Some(payload.as_slice())),
        };
        let record = Record {
            header,
            hash,
            statement: shown,
            redaction,
        };
        let fields = export_fields(&record, &leaf, payload, &Default::default());
        self.lines.push(serde_json::to_string(&fields).unwrap());
        self.prev_hash = hash;
    }

    /// The export text so far.
    pub fn export(&self) -> String {
        self.lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// A copy: `init --operator-vkey VKEY` in a new folder beside `ledger`'s.
pub fn new_copy(ledger: &Ledger, name: &str, vkey: &str) -> PathBuf {
    let path = ledger.dir().join(name);
    let output = crate::common::armistice(ledger.dir())
        .args([
            "--ledger",
            path.to_str().unwrap(),
            "init",
            "--operator-vkey",
            vkey,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "init --operator-vkey: {}",
        describe(&output)
    );
    path
}

/// `armistice --ledger COPY ARGS`, run in `ledger`'s temporary directory.
pub fn run_on(ledger: &Ledger, copy: &Path, args: &[&str]) -> Output {
    crate::common::armistice(ledger.dir())
        .arg("--ledger")
        .arg(copy)
        .args(args)
        .output()
        .unwrap()
}
