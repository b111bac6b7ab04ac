//! The statements the checks append, and small helpers around a store.

use armistice_core::disclose::committed_fields;
use armistice_core::json::{parse_line, Submission};
use armistice_core::Timestamp;
use armistice_store::{AppendOptions, Appended, Store};
use ed25519_dalek::SigningKey;
use uuid::Uuid;

/// The checkpoint origin of every store the checks make.
pub const ORIGIN: &str = "conformance.example/log";

/// The spring 2025 example (`docs/examples/spring-2025.jsonl`): 61 lines
/// with `recorded_at`, appended with backfill.
pub const SPRING_2025: &str = include_str!("../../../docs/examples/spring-2025.jsonl");

/// Parties, an agreement and a signature: seqs 1 to 6. The monitor `MON`
/// has a key ([`monitor_key`]): its statements are signed.
pub const SETUP: [&str; 6] = [
    r#"{"type":"party_registered","by":"operator","party":"UA","name":"Ukraine","role":"belligerent"}"#,
    r#"{"type":"party_registered","by":"operator","party":"RU","name":"Russia","role":"belligerent"}"#,
    r#"{"type":"party_registered","by":"operator","party":"US","name":"United States","role":"mediator"}"#,
    r#"{"type":"party_registered","by":"operator","party":"MON","name":"Monitors","role":"monitor","public_key":"MONITOR_KEY"}"#,
    r#"{"type":"agreement_proposed","by":"US","agreement":"energy","title":"Energy moratorium","kind":"bilateral","parties":["RU","UA"],"mediators":["US"],"scope":["energy_infrastructure"],"effective_from":"2025-03-18T17:00:00Z","occurred_at":"2025-03-18T17:00:00Z"}"#,
    r#"{"type":"agreement_signed","by":"RU","agreement":"energy","occurred_at":"2025-03-18T18:00:00Z"}"#,
];

/// The operator's key.
pub fn operator() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// The monitor's key (registered in [`SETUP`]).
pub fn monitor_key() -> SigningKey {
    SigningKey::from_bytes(&[9; 32])
}

/// The clock the checks append at (after every example's times).
pub fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2025-06-01T00:00:00Z").expect("a valid time")
}

/// Appending at [`now`].
pub fn options() -> AppendOptions {
    AppendOptions {
        now: now(),
        backfill: false,
    }
}

/// Appending copies and backfilled lines.
pub fn backfill() -> AppendOptions {
    AppendOptions {
        now: now(),
        backfill: true,
    }
}

/// One line as submitted (a fresh event id when it has none).
pub fn sub(line: &str) -> Submission {
    let line = line.replace(
        "MONITOR_KEY",
        &hex_key(&monitor_key().verifying_key().to_bytes()),
    );
    parse_line(&line, Uuid::now_v7()).unwrap_or_else(|e| panic!("{e}: {line}"))
}

fn hex_key(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lines as submitted.
pub fn subs(lines: &[&str]) -> Vec<Submission> {
    lines.iter().map(|line| sub(line)).collect()
}

/// An allegation of UA against RU under `energy`, as claim `id`.
pub fn claim(id: &str) -> String {
    format!(
        r#"{{"type":"violation_alleged","by":"UA","claim":"{id}","agreement":"energy","against":"RU","incident_at":"2025-03-19T01:00:00Z","category":"energy_infrastructure_strike","location":{{"name":"Sloviansk","lat":48.85,"lon":37.6}},"casualties":{{"killed":0,"injured":2}},"description":"Power lost in {id}","occurred_at":"2025-03-19T08:00:00Z"}}"#
    )
}

/// The monitor's signed assessment of claim `id`.
pub fn assessment(id: &str) -> Submission {
    signed(
        &format!(
            r#"{{"type":"allegation_assessed","by":"MON","claim":"{id}","finding":"verified","confidence":"high","reasoning":"Seen on site","occurred_at":"2025-03-20T08:00:00Z"}}"#
        ),
        &monitor_key(),
    )
}

/// A line signed by its author, as `armistice record --sign` does: salts
/// for the redactable fields, then the signature over the committed payload.
pub fn signed(line: &str, key: &SigningKey) -> Submission {
    let mut submission = sub(line);
    for field in committed_fields(&submission.statement) {
        submission.salts.entry(field).or_insert_with(|| {
            let mut salt = [0; 16];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
            salt
        });
    }
    let signature =
        armistice_core::sign::sign_statement(&submission.statement, &submission.salts, key)
            .expect("a signable statement");
    submission.signature = Some(signature);
    submission
}

/// Appends lines at [`now`], which must be accepted.
pub fn append(store: &dyn Store, lines: &[&str]) -> Vec<Appended> {
    store
        .append(&subs(lines), &options())
        .unwrap_or_else(|e| panic!("append: {e}"))
}

/// The export line of every entry, as `armistice export` prints them.
pub fn export(store: &dyn Store) -> Vec<String> {
    store
        .entries(1, u64::MAX)
        .map(|item| {
            let (seq, bytes) = item.expect("an entry");
            armistice_api::export::export_text(seq, &bytes).expect("an export line")
        })
        .collect()
}

/// Imports export lines (`import --backfill`) in one session of chunks.
pub fn import(store: &dyn Store, lines: &[String]) {
    let mut session = store.begin_session().expect("a session");
    for chunk in lines.chunks(50) {
        let batch: Vec<Submission> = chunk
            .iter()
            .map(|line| parse_line(line, Uuid::now_v7()).expect("an export line parses"))
            .collect();
        session
            .append(&batch, &backfill())
            .unwrap_or_else(|e| panic!("import: {e}"));
    }
    session.commit().expect("the import commits");
}

/// Every entry's record, in order.
pub fn records(store: &dyn Store) -> Vec<armistice_core::Record> {
    store
        .records_ahead(1, u64::MAX)
        .map(|r| r.expect("a record"))
        .collect()
}
