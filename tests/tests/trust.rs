//! Trust, end to end: party keys and signed statements, checkpoints, proofs
//! checked by a small RFC 6962 verifier of our own, tampering through sled,
//! a rewritten and re-chained history, and redaction that keeps the proofs.

mod common;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use common::{describe, spring_2025, Ledger, EXIT_DAMAGE};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------
// RFC 6962 / RFC 9162, written here so the proofs are checked without the
// program's own code.

type Hash = [u8; 32];

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn leaf_hash(leaf: &[u8]) -> Hash {
    sha256(&[&[0x00], leaf])
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[0x01], left, right])
}

/// MTH(D[n]) from the leaf hashes (RFC 6962 section 2.1).
fn tree_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => sha256(&[]),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n);
            node_hash(&tree_root(&leaves[..k]), &tree_root(&leaves[k..]))
        }
    }
}

/// The largest power of two smaller than `n` (n > 1).
fn largest_power_of_two_below(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 9162 section 2.1.3.2: the root an inclusion proof leads to.
fn root_from_inclusion(index: u64, size: u64, leaf: Hash, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut f, mut s, mut r) = (index, size - 1, leaf);
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

/// RFC 9162 section 2.1.4.2: whether `proof` shows the tree of `second`
/// leaves with root `second_root` extends the one of `first` with `first_root`.
fn consistent(
    first: u64,
    second: u64,
    first_root: Hash,
    second_root: Hash,
    proof: &[Hash],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    let mut proof = proof.to_vec();
    if first.is_power_of_two() {
        proof.insert(0, first_root);
    }
    let Some((start, rest)) = proof.split_first() else {
        return false;
    };
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*start, *start);
    for c in rest {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    fr == first_root && sr == second_root && s == 0
}

fn hex32(value: &Value) -> Hash {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a hex string: {value}"));
    hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .unwrap_or_else(|| panic!("not 32 bytes of hex: {text}"))
}

fn hex_list(value: &Value) -> Vec<Hash> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(hex32)
        .collect()
}

/// The leaf hashes of every exported entry, from its `leaf` bytes.
fn leaf_hashes(ledger: &Ledger) -> Vec<Hash> {
    ledger
        .entries()
        .iter()
        .map(|e| leaf_hash(&BASE64.decode(e["leaf"].as_str().expect("leaf")).unwrap()))
        .collect()
}

fn json(ledger: &Ledger, args: &[&str]) -> Value {
    serde_json::from_str(&ledger.ok(args)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

fn inclusion(ledger: &Ledger, seq: u64, size: u64) -> Value {
    let (seq, size) = (seq.to_string(), size.to_string());
    json(
        ledger,
        &[
            "prove",
            "inclusion",
            "--seq",
            &seq,
            "--size",
            &size,
            "--json",
        ],
    )
}

/// Checks an inclusion proof against the entry's own leaf and the root.
fn check_inclusion(proof: &Value, leaves: &[Hash], seq: u64, size: u64) {
    assert_eq!(proof["leaf_index"], seq - 1, "{proof}");
    assert_eq!(proof["tree_size"], size, "{proof}");
    let leaf = leaves[seq as usize - 1];
    assert_eq!(hex32(&proof["leaf_hash"]), leaf, "leaf hash of seq {seq}");
    let root = root_from_inclusion(seq - 1, size, leaf, &hex_list(&proof["path"]));
    let expected = tree_root(&leaves[..size as usize]);
    assert_eq!(root, Some(expected), "seq {seq} in size {size}: {proof}");
    assert_eq!(hex32(&proof["root_hash"]), expected, "root of size {size}");
}

// ---------------------------------------------------------------------------
// Keys and signed statements.

/// `keygen --out DIR/NAME.key`; returns the key file and the public key.
fn keygen(ledger: &Ledger, name: &str) -> (PathBuf, String) {
    let file = ledger.dir().join(format!("{name}.key"));
    let stdout = ledger.ok(&["keygen", "--out", file.to_str().unwrap()]);
    (file, stdout.trim().to_owned())
}

/// UA and RU registered with keys, US a mediator and MON a monitor without,
/// agreement A1 between UA and RU, proposed by US.
fn keyed_world(ua: &str, ru: &str) -> String {
    format!(
        r#"{{"type":"party_registered","by":"operator","party":"UA","name":"Ukraine","role":"belligerent","public_key":"{ua}"}}
{{"type":"party_registered","by":"operator","party":"RU","name":"Russian Federation","role":"belligerent","public_key":"{ru}"}}
{{"type":"party_registered","by":"operator","party":"US","name":"United States","role":"mediator"}}
{{"type":"party_registered","by":"operator","party":"MON","name":"Monitor","role":"monitor"}}
{{"type":"agreement_proposed","by":"US","agreement":"A1","title":"t","kind":"bilateral","parties":["UA","RU"],"mediators":["US"],"scope":["all_hostilities"],"effective_from":"2025-01-01T00:00:00Z"}}
"#
    )
}

const UA_SIGNS: &str = r#"{"type":"agreement_signed","by":"UA","agreement":"A1"}"#;
const RU_SIGNS: &str = r#"{"type":"agreement_signed","by":"RU","agreement":"A1"}"#;

fn ua_claim(id: &str) -> String {
    format!(
        r#"{{"type":"violation_alleged","by":"UA","claim":"{id}","agreement":"A1","against":"RU","incident_at":"2025-01-01T00:00:00Z","category":"shelling","location":{{"name":"Kharkiv"}},"description":"d"}}"#
    )
}

/// What the ledger adds to a statement; the rest is what was submitted.
const LEDGER_FIELDS: &[&str] = &[
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

/// A statement signed on the client side (`record --sign KEY`) in a scratch
/// ledger holding `world`, as it was submitted: with its `event_id`,
/// `occurred_at` and `signature`, ready to be submitted elsewhere.
fn signed_elsewhere(key: &Path, world: &str, line: &str) -> Value {
    let scratch = Ledger::new();
    scratch.record(world);
    let output = scratch.run_stdin(&["record", "--sign", key.to_str().unwrap(), "-"], line);
    assert!(
        output.status.success(),
        "signing {line}: {}",
        describe(&output)
    );
    let mut entry = scratch.entries().pop().unwrap();
    for field in LEDGER_FIELDS {
        entry.as_object_mut().unwrap().remove(*field);
    }
    assert!(entry["signature"].is_string(), "{entry}");
    entry
}

/// `armistice sign --key KEY`: the line signed offline, with its
/// `event_id`, `occurred_at`, `salts` and `signature`.
fn signed_offline(ledger: &Ledger, key: &Path, line: &str) -> Value {
    let output = ledger.run_stdin(&["sign", "--key", key.to_str().unwrap(), "-"], line);
    assert!(
        output.status.success(),
        "sign {line}: {}",
        describe(&output)
    );
    let signed: Value = serde_json::from_slice(&output.stdout).expect("sign prints a JSON line");
    assert!(
        signed["signature"].is_string() && signed["salts"].is_object(),
        "{signed}"
    );
    signed
}

/// Submits `line`, which must be rejected naming `field`, leaving the ledger unchanged.
fn rejected(ledger: &Ledger, args: &[&str], line: &str, field: &str) {
    let before = ledger.snapshot();
    let stderr = ledger.fails_stdin(args, line);
    assert!(
        stderr.contains(&format!("field `{field}`")),
        "{args:?} {line}\nshould name field `{field}`: {stderr}"
    );
    assert_eq!(ledger.snapshot(), before, "unchanged after {line}");
}

/// The 32 key bytes of a verifier key `<name>+<id>+<base64(0x01 || key)>`,
/// checking its key id (C2SP signed note: the first 4 bytes of
/// SHA-256(name || 0x0A || 0x01 || key)) on the way.
fn vkey_bytes(vkey: &str) -> [u8; 32] {
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
    let expected_id = &sha256(&[name.as_bytes(), b"\n", &[0x01], &key])[..4];
    assert_eq!(id, hex::encode(expected_id), "key id of {vkey}");
    key
}

/// A verifier key's 32 key bytes in hex: how entries store a public key.
fn vkey_hex(vkey: &str) -> String {
    hex::encode(vkey_bytes(vkey))
}

#[test]
fn keygen_writes_a_private_key_0600_and_the_public_key() {
    use std::os::unix::fs::PermissionsExt;
    let ledger = Ledger::new();
    let (file, public) = keygen(&ledger, "ua");
    // `keygen` prints the verifier key `<name>+<id>+<base64>`, named after the file.
    assert!(public.starts_with("ua+"), "{public}");
    let key = vkey_bytes(&public);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "private key mode {mode:o}");
    let pub_file = PathBuf::from(format!("{}.pub", file.display()));
    assert_eq!(std::fs::read_to_string(&pub_file).unwrap().trim(), public);
    let private = std::fs::read_to_string(&file).unwrap();
    let id = public.split('+').nth(1).unwrap();
    assert!(
        private.starts_with(&format!("PRIVATE+KEY+ua+{id}+")),
        "a signed-note secret key with the same name and id: {private}"
    );
    assert!(
        !private.contains(&public) && !private.contains(&BASE64.encode(key)),
        "the private key file holds the secret, not the public key"
    );
    let mode = std::fs::metadata(ledger.operator_key())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "operator key mode {mode:o}");
    // Two key pairs differ.
    let (_, other) = keygen(&ledger, "ru");
    assert_ne!(other, public);
}

#[test]
fn a_party_with_a_key_must_sign_and_bad_signatures_are_rejected() {
    let ledger = Ledger::new();
    let (ua_key, ua) = keygen(&ledger, "ua");
    let (ru_key, ru) = keygen(&ledger, "ru");
    let world = keyed_world(&ua, &ru);
    ledger.record(&world);
    let record = ["record", "-"];
    let with_ru = ["record", "--sign", ru_key.to_str().unwrap(), "-"];

    // Unsigned.
    rejected(&ledger, &record, UA_SIGNS, "signature");
    // Signed as UA with RU's key, on the client side.
    rejected(&ledger, &with_ru, UA_SIGNS, "signature");
    // Signed as UA with RU's key elsewhere (a ledger that took RU's key for UA's).
    let impostor = signed_elsewhere(&ru_key, &keyed_world(&ru, &ru), UA_SIGNS);
    rejected(&ledger, &record, &impostor.to_string(), "signature");

    // A valid statement by UA, signed elsewhere.
    let statement = signed_elsewhere(&ua_key, &world, UA_SIGNS);
    let signature = statement["signature"].as_str().unwrap().to_owned();
    // Forged: one hex digit of the signature flipped.
    for position in [0, 63, 127] {
        let mut forged = statement.clone();
        let mut digits = signature.clone().into_bytes();
        digits[position] = if digits[position] == b'0' { b'1' } else { b'0' };
        forged["signature"] = Value::String(String::from_utf8(digits).unwrap());
        rejected(&ledger, &record, &forged.to_string(), "signature");
    }
    // Malformed.
    for bad in ["", "zz", &signature[..126]] {
        let mut malformed = statement.clone();
        malformed["signature"] = Value::String(bad.to_owned());
        rejected(&ledger, &record, &malformed.to_string(), "signature");
    }
    // Replayed: UA's valid signature on another UA statement (signed
    // offline, with its salts, then given the other statement's signature).
    let mut replayed = signed_offline(&ledger, &ua_key, &ua_claim("C9"));
    replayed["event_id"] = statement["event_id"].clone();
    replayed["occurred_at"] = statement["occurred_at"].clone();
    replayed["signature"] = Value::String(signature.clone());
    rejected(&ledger, &record, &replayed.to_string(), "signature");
    // Replayed: the same statement with one field added (and a salt for it,
    // so that only the signature can tell).
    let mut altered = statement.clone();
    altered["conditions"] = Value::String("only if sanctions are lifted".into());
    let mut salts = altered["salts"].as_object().cloned().unwrap_or_default();
    salts.insert("conditions".into(), Value::String("ab".repeat(16)));
    altered["salts"] = Value::Object(salts);
    rejected(&ledger, &record, &altered.to_string(), "signature");
    // Replayed: UA's signature on RU's otherwise identical statement.
    let mut as_ru = statement.clone();
    as_ru["by"] = Value::String("RU".into());
    rejected(&ledger, &record, &as_ru.to_string(), "signature");
    // A party without a key cannot attach a signature either.
    let mut by_mediator: Value = serde_json::from_str(
        r#"{"type":"agreement_suspended","by":"US","agreement":"A1","reason":"r"}"#,
    )
    .unwrap();
    by_mediator["signature"] = Value::String(signature.clone());
    by_mediator["salts"] = serde_json::json!({ "reason": "cd".repeat(16) });
    rejected(&ledger, &record, &by_mediator.to_string(), "signature");
    assert_eq!(ledger.head().entries, 5, "nothing was recorded so far");

    // The genuine statement is accepted, and submitted twice it is one entry.
    let first = ledger.record(&statement.to_string());
    let after = ledger.snapshot();
    let second = ledger.record(&statement.to_string());
    assert_eq!(ledger.snapshot(), after, "a resubmission adds nothing");
    assert!(
        first.starts_with("seq 6 ") && second.starts_with("seq 6 "),
        "{first}{second}"
    );
    let stored = ledger.entries().pop().unwrap();
    assert_eq!(
        stored["signature"],
        signature.as_str(),
        "export shows the signature"
    );

    // Signed on the client side by the right key.
    let output = ledger.run_stdin(&with_ru, RU_SIGNS);
    assert!(output.status.success(), "{}", describe(&output));
    // The mediator has no key and needs none.
    ledger.record(r#"{"type":"agreement_suspended","by":"US","agreement":"A1","reason":"r"}"#);
    let report = ledger.verify();
    assert_eq!(report["entries"], 8);
    // The operator's four registrations and the two parties' statements.
    assert!(
        report["signatures_valid"].as_u64().unwrap() >= 6,
        "{report}"
    );
}

#[test]
fn a_rotated_key_replaces_the_old_one() {
    let ledger = Ledger::new();
    let (ua_key, ua) = keygen(&ledger, "ua");
    let (ru_key, ru) = keygen(&ledger, "ru");
    let (new_key, new_ua) = keygen(&ledger, "ua2");
    ledger.record(&keyed_world(&ua, &ru));
    let run = |key: &Path, line: &str| {
        ledger.run_stdin(&["record", "--sign", key.to_str().unwrap(), "-"], line)
    };
    let rotation = format!(r#"{{"type":"party_key_rotated","by":"UA","public_key":"{new_ua}"}}"#);
    // The rotation itself must be signed by UA's current key.
    let before = ledger.snapshot();
    let output = run(&ru_key, &rotation);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let output = run(&new_key, &rotation);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    common::expect_error(
        ledger.run_stdin(&["record", "-"], &rotation),
        "unsigned rotation",
    );
    assert_eq!(ledger.snapshot(), before);
    // A malformed key is refused.
    let output = run(
        &ua_key,
        r#"{"type":"party_key_rotated","by":"UA","public_key":"abcd"}"#,
    );
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));

    let output = run(&ua_key, &rotation);
    assert!(output.status.success(), "{}", describe(&output));
    let stored = ledger.entries().pop().unwrap();
    assert_eq!(stored["type"], "party_key_rotated");
    assert_eq!(stored["public_key"], vkey_hex(&new_ua));

    // From that entry on, the old key no longer speaks for UA.
    let before = ledger.snapshot();
    let output = run(&ua_key, &ua_claim("C1"));
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("signature"));
    assert_eq!(ledger.snapshot(), before);
    let output = run(&new_key, &ua_claim("C1"));
    assert!(output.status.success(), "{}", describe(&output));
    // Statements signed with the old key before the rotation still verify.
    assert_eq!(ledger.verify()["entries"], 7);
}

// ---------------------------------------------------------------------------
// Checkpoints and proofs.

/// The example ledger: 61 entries.
fn example() -> Ledger {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    ledger
}

#[test]
fn checkpoint_is_a_signed_c2sp_note() {
    use ed25519_dalek::{Signature, Verifier, VerifyingKey};
    let ledger = example();
    let leaves = leaf_hashes(&ledger);
    let note = ledger.ok(&["checkpoint"]);
    let lines: Vec<&str> = note.split('\n').collect();
    assert!(note.ends_with('\n'), "{note:?}");
    assert_eq!(
        lines.len(),
        6,
        "origin, size, root, blank, signature, end: {note:?}"
    );
    let (origin, size, root) = (lines[0], lines[1], lines[2]);
    assert!(!origin.is_empty());
    assert_eq!(size, "61");
    let root: Hash = BASE64.decode(root).unwrap().try_into().unwrap();
    assert_eq!(
        root,
        tree_root(&leaves),
        "the root is the RFC 6962 root of the export's leaves"
    );
    assert_eq!(lines[3], "");
    let signature_line = lines[4]
        .strip_prefix("\u{2014} ")
        .unwrap_or_else(|| panic!("signature line starts with an em dash: {:?}", lines[4]));
    let (name, blob) = signature_line.rsplit_once(' ').unwrap();
    let blob = BASE64.decode(blob).unwrap();
    assert_eq!(blob.len(), 4 + 64, "key id and Ed25519 signature");

    let json = json(&ledger, &["checkpoint", "--json"]);
    for field in [
        "origin",
        "size",
        "root_hash",
        "public_key",
        "key_id",
        "signature",
        "timestamp",
    ] {
        assert!(
            json.get(field).is_some(),
            "checkpoint --json lacks `{field}`: {json}"
        );
    }
    assert_eq!(json["origin"], origin);
    assert_eq!(json["size"], 61);
    assert_eq!(hex32(&json["root_hash"]), root);
    // The operator's verifier key is kept beside the ledger as `operator.vkey`,
    // named after the origin the checkpoints carry.
    let vkey = std::fs::read_to_string(ledger.path().join("operator.vkey")).unwrap();
    let vkey = vkey.trim();
    assert_eq!(
        name, origin,
        "the signature is by the key named after the origin"
    );
    assert!(vkey.starts_with(&format!("{origin}+")), "{vkey}");
    assert_eq!(json["vkey"], vkey, "{json}");
    let public = vkey_bytes(vkey);
    assert_eq!(
        json["public_key"],
        hex::encode(public),
        "signed with the operator key"
    );

    // C2SP: key id = SHA-256(name || 0x0A || 0x01 || public key)[..4]; the
    // signature covers the note text up to and including the blank line's start.
    let key_id = &sha256(&[name.as_bytes(), b"\n", &[0x01], &public])[..4];
    assert_eq!(&blob[..4], key_id, "C2SP key id");
    assert_eq!(json["key_id"], hex::encode(key_id));
    let text = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2]);
    let signature = Signature::from_slice(&blob[4..]).unwrap();
    VerifyingKey::from_bytes(&public)
        .unwrap()
        .verify(text.as_bytes(), &signature)
        .expect("the note's signature verifies with the operator key");
    assert_eq!(json["signature"], hex::encode(&blob[4..]));

    // A smaller size signs the root of the first N leaves.
    let small = json_checkpoint_at(&ledger, 10);
    assert_eq!(small["size"], 10);
    assert_eq!(hex32(&small["root_hash"]), tree_root(&leaves[..10]));
    ledger.fails(&["checkpoint", "--size", "62"]);
}

fn json_checkpoint_at(ledger: &Ledger, size: u64) -> Value {
    json(
        ledger,
        &["checkpoint", "--size", &size.to_string(), "--json"],
    )
}

#[test]
fn inclusion_proofs_check_without_this_program() {
    let ledger = example();
    let leaves = leaf_hashes(&ledger);
    // Our own root agrees with the program's at every size.
    for size in [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 32, 33, 60, 61] {
        let cp = json_checkpoint_at(&ledger, size);
        assert_eq!(
            hex32(&cp["root_hash"]),
            tree_root(&leaves[..size as usize]),
            "size {size}"
        );
    }
    let pairs = [
        (1, 1),
        (1, 61),
        (2, 61),
        (3, 3),
        (5, 8),
        (8, 8),
        (17, 61),
        (32, 61),
        (33, 61),
        (60, 61),
        (61, 61),
        (4, 33),
        (33, 33),
    ];
    for (seq, size) in pairs {
        check_inclusion(&inclusion(&ledger, seq, size), &leaves, seq, size);
    }
    // The default size is the whole log.
    let proof = json(&ledger, &["prove", "inclusion", "--seq", "12", "--json"]);
    check_inclusion(&proof, &leaves, 12, 61);
    // A wrong index or size does not verify with our checker.
    let path = hex_list(&proof["path"]);
    let root = tree_root(&leaves);
    assert_ne!(root_from_inclusion(12, 61, leaves[11], &path), Some(root));
    assert_ne!(root_from_inclusion(11, 12, leaves[11], &path), Some(root));
    assert_ne!(root_from_inclusion(11, 61, leaves[12], &path), Some(root));
    // Out of range.
    ledger.fails(&["prove", "inclusion", "--seq", "0", "--json"]);
    ledger.fails(&["prove", "inclusion", "--seq", "62", "--json"]);
    ledger.fails(&["prove", "inclusion", "--seq", "9", "--size", "8", "--json"]);
}

#[test]
fn consistency_proofs_check_without_this_program() {
    let ledger = example();
    let leaves = leaf_hashes(&ledger);
    let pairs = [
        (1, 61),
        (2, 61),
        (7, 61),
        (8, 61),
        (16, 33),
        (32, 61),
        (33, 61),
        (60, 61),
        (3, 5),
        (1, 2),
    ];
    for (a, b) in pairs {
        let proof = json(
            &ledger,
            &[
                "prove",
                "consistency",
                "--from",
                &a.to_string(),
                "--to",
                &b.to_string(),
                "--json",
            ],
        );
        assert_eq!(proof["first"], a);
        assert_eq!(proof["second"], b);
        let first_root = hex32(&proof["first_root"]);
        let second_root = hex32(&proof["second_root"]);
        assert_eq!(
            first_root,
            tree_root(&leaves[..a as usize]),
            "first root {a}"
        );
        assert_eq!(
            second_root,
            tree_root(&leaves[..b as usize]),
            "second root {b}"
        );
        let path = hex_list(&proof["proof"]);
        assert!(
            consistent(a, b, first_root, second_root, &path),
            "{a} -> {b}: {proof}"
        );
        // Truncated, extended or with a wrong root it no longer verifies.
        assert!(!consistent(a, b, second_root, second_root, &path) || a == b);
        if !path.is_empty() {
            assert!(!consistent(
                a,
                b,
                first_root,
                second_root,
                &path[..path.len() - 1]
            ));
        }
        let mut longer = path.clone();
        longer.push(first_root);
        assert!(!consistent(a, b, first_root, second_root, &longer));
    }
    // A = B: an empty proof.
    let same = json(
        &ledger,
        &["prove", "consistency", "--from", "9", "--to", "9", "--json"],
    );
    assert_eq!(same["proof"], Value::Array(vec![]));
    assert_eq!(same["first_root"], same["second_root"]);
    // A = 0 and A > B are errors; so is B beyond the log.
    ledger.fails(&["prove", "consistency", "--from", "0", "--to", "5", "--json"]);
    ledger.fails(&["prove", "consistency", "--from", "6", "--to", "5", "--json"]);
    ledger.fails(&[
        "prove",
        "consistency",
        "--from",
        "6",
        "--to",
        "62",
        "--json",
    ]);
}

// ---------------------------------------------------------------------------
// Tampering.

/// XORs one byte of entry `seq`'s stored bytes, directly through sled, while
/// no armistice process runs. `at` picks the byte from the entry's length.
/// Entries of a full chunk of 64 live packed in key `C` + chunk index (each
/// entry preceded by its u32 length), the others in key `T` + seq.
fn flip_stored_byte(ledger: &Ledger, seq: u64, at: BytePicker) {
    use armistice_store::{chunk, layout};
    let db =
        sled::open(ledger.path().join(armistice_store::SLED_DIR)).expect("open the ledger's sled");
    let sealed = layout::chunk(layout::chunk_of(seq));
    let (key, mut value, start, len) = match db.get(sealed).unwrap() {
        Some(value) => {
            let value = value.to_vec();
            let position = ((seq - 1) % layout::CHUNK_ENTRIES) as usize;
            let entry = chunk::entry_at(&value, position).expect("entry in its chunk");
            let start = entry.as_ptr() as usize - value.as_ptr() as usize;
            let len = entry.len();
            (sealed.to_vec(), value, start, len)
        }
        None => {
            let key = layout::tail(seq);
            let value = db.get(key).unwrap().expect("entry stored").to_vec();
            let len = value.len();
            (key.to_vec(), value, 0, len)
        }
    };
    value[start + at(len)] ^= 0x01;
    db.insert(key, value).unwrap();
    db.flush().unwrap();
}

/// Picks a byte of a stored value from its length.
type BytePicker = fn(usize) -> usize;

#[test]
fn a_byte_altered_in_sled_is_caught_naming_its_seq() {
    // Near the end (in the payload), in the middle, and at the start (header).
    let positions: [(&str, BytePicker); 3] = [
        ("near the end", |len| len - 2),
        ("in the middle", |len| len / 2),
        ("at the start", |_| 0),
    ];
    for (what, at) in positions {
        let ledger = example();
        flip_stored_byte(&ledger, 17, at);
        let output = ledger.run(&["verify"]);
        assert_eq!(
            output.status.code(),
            Some(EXIT_DAMAGE),
            "byte {what}: {}",
            describe(&output)
        );
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            text.contains("seq 17"),
            "byte {what}: verify names seq 17: {text}"
        );
        assert!(!text.contains("panicked"), "{text}");
        let report: Value = serde_json::from_slice(&ledger.run(&["verify", "--json"]).stdout)
            .expect("verify --json reports damage as JSON");
        assert_eq!(report["ok"], false, "{report}");
        assert_eq!(report["first_bad_seq"], 17, "{report}");
    }
}

/// The same in a sealed chunk (entries 1 to 64 packed in one value once the
/// log holds more than 64 entries).
#[test]
fn a_byte_altered_in_a_sealed_chunk_is_caught_naming_its_seq() {
    let positions: [(&str, BytePicker); 2] = [
        ("near the end", |len| len - 2),
        ("in the middle", |len| len / 2),
    ];
    for (what, at) in positions {
        let ledger = example();
        let more: String = (0..9)
            .map(|i| {
                format!(
                    r#"{{"type":"party_registered","by":"operator","party":"P{i}","name":"Party {i}","role":"mediator"}}"#
                ) + "\n"
            })
            .collect();
        ledger.record(&more);
        assert_eq!(ledger.head().entries, 70);
        flip_stored_byte(&ledger, 17, at);
        let output = ledger.run(&["verify", "--json"]);
        assert_eq!(
            output.status.code(),
            Some(EXIT_DAMAGE),
            "byte {what}: {}",
            describe(&output)
        );
        let report: Value =
            serde_json::from_slice(&output.stdout).expect("verify --json reports damage as JSON");
        assert_eq!(report["first_bad_seq"], 17, "byte {what}: {report}");
    }
}

#[test]
fn a_rewritten_and_rechained_history_fails_against_an_old_checkpoint() {
    let original = example();
    let checkpoint = original.file("checkpoint-a.txt", &original.ok(&["checkpoint"]));
    let checkpoint = checkpoint.to_str().unwrap();
    // The genuine ledger is consistent with its own checkpoint, and stays so as it grows.
    original.ok(&["verify", "--against", checkpoint]);
    original.record(r#"{"type":"party_registered","by":"operator","party":"PL","name":"Poland","role":"mediator"}"#);
    original.ok(&["verify", "--against", checkpoint]);

    // Rewrite an early statement, then re-chain: import the changed history as
    // fresh events (no hashes, no signatures) into a ledger with the same operator key.
    let rewritten: String = original
        .entries()
        .into_iter()
        .take(61)
        .map(|mut entry| {
            let object = entry.as_object_mut().unwrap();
            for field in LEDGER_FIELDS.iter().chain(&["signature"]) {
                if *field != "recorded_at" {
                    object.remove(*field);
                }
            }
            if object.get("claim").and_then(Value::as_str) == Some("UA-2025-03-19-sloviansk-rail")
                && object["type"] == "violation_alleged"
            {
                object.insert(
                    "description".into(),
                    Value::String("Nothing happened.".into()),
                );
            }
            format!("{entry}\n")
        })
        .collect();
    assert!(rewritten.contains("Nothing happened."));
    let forged = Ledger::with_operator_key(&original.operator_key());
    forged.backfill(&rewritten);
    forged.verify(); // it chains cleanly on its own
    assert_ne!(forged.export(), original.export());
    let output = forged.run(&["verify", "--against", checkpoint]);
    assert_eq!(
        output.status.code(),
        Some(EXIT_DAMAGE),
        "a re-chained history must fail against the old checkpoint: {}",
        describe(&output)
    );
}

#[test]
fn redaction_keeps_the_chain_the_proofs_and_the_checkpoints() {
    let ledger = example();
    let leaves = leaf_hashes(&ledger);
    let checkpoint = ledger.file("checkpoint.txt", &ledger.ok(&["checkpoint"]));
    let checkpoint = checkpoint.to_str().unwrap();
    let old_root = json(&ledger, &["checkpoint", "--json"])["root_hash"].clone();
    let seqs = [1, 10, 11, 33, 61];
    let proofs: Vec<Value> = seqs.iter().map(|&s| inclusion(&ledger, s, 61)).collect();
    let target = ledger.entries()[9].clone();
    assert_eq!(target["claim"], "UA-2025-03-19-sloviansk-rail");
    let secret = target["location"]["name"].as_str().unwrap().to_owned();
    let description = target["description"].as_str().unwrap().to_owned();

    // Only the operator redacts.
    let by_party = r#"{"type":"entry_redacted","by":"UA","target_seq":10,"reason":"r","fields":["description"]}"#;
    rejected(&ledger, &["record", "-"], by_party, "by");

    // A redaction names the fields it removes (never implicit).
    ledger.record(
        r#"{"type":"entry_redacted","by":"operator","target_seq":10,"reason":"witness safety","fields":["description","location"]}"#,
    );
    let report = ledger.verify();
    assert_eq!(report["entries"], 62);
    ledger.ok(&["verify", "--against", checkpoint]);

    // Every earlier proof still leads to the earlier root, from the leaves
    // exported now, and the tree at size 61 is unchanged.
    let new_leaves = leaf_hashes(&ledger);
    assert_eq!(&new_leaves[..61], &leaves[..], "redaction keeps every leaf");
    for (&seq, proof) in seqs.iter().zip(&proofs) {
        check_inclusion(proof, &new_leaves, seq, 61);
        assert_eq!(
            inclusion(&ledger, seq, 61),
            *proof,
            "seq {seq}: same proof after redaction"
        );
    }
    assert_eq!(json_checkpoint_at(&ledger, 61)["root_hash"], old_root);
    let consistency = json(
        &ledger,
        &[
            "prove",
            "consistency",
            "--from",
            "61",
            "--to",
            "62",
            "--json",
        ],
    );
    assert!(consistent(
        61,
        62,
        hex32(&old_root),
        tree_root(&new_leaves),
        &hex_list(&consistency["proof"])
    ));

    // The export shows the entry as redacted, without its text.
    let export = ledger.export();
    let redacted = ledger.entries()[9].clone();
    assert_eq!(redacted["seq"], 10);
    assert_eq!(
        redacted["redacted"],
        serde_json::json!(["description", "location"]),
        "the export lists the redacted fields: {redacted}"
    );
    assert_eq!(redacted["hash"], target["hash"]);
    assert!(
        !export.contains(&secret),
        "the location is gone from the export"
    );
    assert!(
        !export.contains(&description),
        "the description is gone from the export"
    );
    let redaction = ledger.entries().pop().unwrap();
    assert_eq!(redaction["type"], "entry_redacted");
    assert_eq!(redaction["target_seq"], 10);
    assert!(
        redaction["signature"].is_string(),
        "the ledger signs its redaction"
    );

    // Redacting only some fields keeps the others; bad targets are refused.
    let entry_11 = ledger.entries()[10].clone();
    let place = entry_11["location"]["name"].as_str().unwrap().to_owned();
    let kept = entry_11["description"].as_str().unwrap().to_owned();
    for bad in [
        r#"{"type":"entry_redacted","by":"operator","target_seq":99,"reason":"r","fields":["description"]}"#,
        r#"{"type":"entry_redacted","by":"operator","target_seq":10,"reason":"twice","fields":["description"]}"#,
        r#"{"type":"entry_redacted","by":"operator","target_seq":11,"reason":"r","fields":["colour"]}"#,
        r#"{"type":"entry_redacted","by":"operator","target_seq":11,"reason":"r"}"#,
    ] {
        common::expect_error(ledger.run_stdin(&["record", "-"], bad), bad);
    }
    ledger.record(
        r#"{"type":"entry_redacted","by":"operator","target_seq":11,"reason":"r","fields":["location"]}"#,
    );
    let export = ledger.export();
    let entry_11 = ledger.entries()[10].clone();
    assert_eq!(
        entry_11["redacted"],
        serde_json::json!(["location"]),
        "{entry_11}"
    );
    assert!(
        entry_11["location"]["name"] != place.as_str(),
        "the redacted location is gone: {entry_11}"
    );
    assert_eq!(
        entry_11["description"], kept,
        "the description was not redacted"
    );
    ledger.ok(&["verify", "--against", checkpoint]);

    // A redacted ledger still round-trips through export and backfill.
    let copy = Ledger::with_operator_key(&ledger.operator_key());
    copy.backfill(&export);
    assert_eq!(copy.export(), export);
    copy.ok(&["verify", "--against", checkpoint]);
}

/// A file that is no checkpoint at all is an error in the input (exit 2),
/// not damage found in the ledger (exit 1).
#[test]
fn verify_against_a_file_that_is_no_checkpoint_is_an_error() {
    let ledger = example();
    let json_form = ledger.file("checkpoint.json", &ledger.ok(&["checkpoint", "--json"]));
    let garbage = ledger.file("garbage.txt", "not a checkpoint\n");
    let missing = ledger.dir().join("missing.txt");
    for file in [&json_form, &garbage, &missing] {
        let stderr = ledger.fails(&["verify", "--against", file.to_str().unwrap()]);
        assert!(
            stderr.contains("checkpoint") || stderr.contains("missing.txt"),
            "{stderr}"
        );
    }
}
