//! The exact text each read command prints, over any store: the command
//! line prints it, the server answers with it (JSON by default, the text
//! with `?format=text`), and the remote command line prints what it
//! receives, so that local and remote output are the same bytes. (`status`,
//! `claims` and `timeline`, which come in more formats, are [`crate::formats`]'.)
//!
//! Arguments are checked here too, with messages that name them as the
//! caller does ([`Names`]): `--size` on the command line, `size` over HTTP.

use crate::error::ApiError;
use crate::query::{self, Names};
use armistice_core::entry::Record;
use armistice_core::{ClaimId, Timestamp};
use armistice_merkle::checkpoint::{key_id, SignedCheckpoint};
use armistice_merkle::note::NoteVerifier;
use armistice_projections::render_audit;
use armistice_store::Store;
use serde::Serialize;
use serde_json::{json, Value};

/// Which of a command's two outputs: its text (a table, a story) or its `--json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// What the command prints by default.
    Text,
    /// What it prints with `--json`.
    Json,
}

impl Format {
    /// `--json` given or not.
    pub fn json_if(json: bool) -> Format {
        if json {
            Format::Json
        } else {
            Format::Text
        }
    }
}

/// Bytes of output gathered before they are handed on.
const CHUNK_BYTES: usize = 1 << 16;

/// A sink for output in chunks (standard output, an HTTP body).
pub type Sink<'a> = &'a mut dyn FnMut(&str) -> std::io::Result<()>;

fn pretty(value: &impl Serialize) -> Result<String, ApiError> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| ApiError::Invalid(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

fn write(sink: Sink<'_>, text: &str) -> Result<(), ApiError> {
    sink(text).map_err(ApiError::Write)
}

/// `audit CLAIM [--json]`.
pub fn audit(
    store: &dyn Store,
    claim: &ClaimId,
    known_at: Timestamp,
    evidence: Option<query::EvidenceChecker<'_>>,
    format: Format,
) -> Result<String, ApiError> {
    let (audit, parties) = query::audit(store, claim, known_at, evidence)?;
    match format {
        Format::Json => pretty(&audit),
        Format::Text => Ok(render_audit(&audit, &parties)),
    }
}

/// `export --from --to`: the export lines, checked against the arguments.
pub fn write_export(
    store: &dyn Store,
    from: u64,
    to: u64,
    names: Names,
    sink: Sink<'_>,
) -> Result<(), ApiError> {
    if from == 0 || from > to {
        return Err(ApiError::Invalid(format!(
            "{} must be at least 1 and no greater than {}",
            names.of("from"),
            names.of("to")
        )));
    }
    let mut buffer = String::new();
    for item in store.entries(from, to) {
        let (seq, bytes) = item?;
        buffer.push_str(&crate::export::export_text(seq, &bytes)?);
        buffer.push('\n');
        if buffer.len() > CHUNK_BYTES {
            write(sink, &buffer)?;
            buffer.clear();
        }
    }
    write(sink, &buffer)
}

/// One entry of `log --json`.
pub fn log_row(record: &Record) -> Value {
    let h = &record.header;
    json!({
        "seq": h.seq, "recorded_at": h.recorded_at.to_string(), "occurred_at": h.occurred_at.to_string(),
        "type": h.event_type.name(), "by": h.by.as_str(), "stream": h.stream, "version": h.version,
        "hash": hex::encode(record.hash), "backfilled": h.backfilled, "signed": h.signature.is_some(),
        "redacted": record.redaction.field_names(),
    })
}

/// `log [--json]`: a table of every entry, or a JSON array of them.
pub fn write_log(store: &dyn Store, format: Format, sink: Sink<'_>) -> Result<(), ApiError> {
    let mut text = String::new();
    let mut rows = Vec::new();
    if format == Format::Text {
        text.push_str(&format!(
            "{:>6}  {:<20}  {:<20}  {:<26}  {:<8}  stream\n",
            "seq", "recorded", "occurred", "type", "by"
        ));
    }
    for record in store.records_ahead(1, u64::MAX) {
        let record = record?;
        if format == Format::Json {
            rows.push(log_row(&record));
            continue;
        }
        text.push_str(&log_line(&record));
        if text.len() > CHUNK_BYTES {
            write(sink, &text)?;
            text.clear();
        }
    }
    if format == Format::Json {
        text = pretty(&Value::Array(rows))?;
    }
    write(sink, &text)
}

fn log_line(record: &Record) -> String {
    let h = &record.header;
    let mut marks = String::new();
    if h.signature.is_some() {
        marks.push_str(" signed");
    }
    if h.backfilled {
        marks.push_str(" backfilled");
    }
    if record.redaction.is_redacted() {
        marks.push_str(&format!(
            " redacted({})",
            record.redaction.field_names().join(",")
        ));
    }
    format!(
        "{:>6}  {:<20}  {:<20}  {:<26}  {:<8}  {}{marks}\n",
        h.seq,
        short_time(h.recorded_at),
        short_time(h.occurred_at),
        h.event_type.name(),
        h.by.as_str(),
        h.stream
    )
}

fn short_time(at: Timestamp) -> String {
    match at.to_datetime() {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => at.to_string(),
    }
}

/// The size a checkpoint or proof is asked for: the whole log by default,
/// never beyond it.
pub fn size_within(
    store: &dyn Store,
    size: Option<u64>,
    names: Names,
    name: &str,
) -> Result<u64, ApiError> {
    let head = store.head().seq;
    let size = size.unwrap_or(head);
    if size > head {
        return Err(ApiError::Invalid(format!(
            "{} {size} is beyond the log, which holds {head} entries",
            names.of(name)
        )));
    }
    Ok(size)
}

/// `checkpoint --json`: a signed checkpoint with its key and time.
pub fn checkpoint_json(store: &dyn Store, signed: &SignedCheckpoint) -> Result<String, ApiError> {
    let size = signed.checkpoint.size;
    let origin = store.origin();
    let public_key = store.operator_keys().for_checkpoint(size);
    let signature = signed.signatures.first().map(|s| hex::encode(&s.signature));
    let vkey =
        NoteVerifier::new(&origin, &public_key).map_err(|e| ApiError::Invalid(e.to_string()))?;
    let timestamp = match size {
        0 => None,
        size => Some(store.record_header(size)?.recorded_at.to_string()),
    };
    let value = json!({
        "origin": signed.checkpoint.origin,
        "size": size,
        "root_hash": hex::encode(signed.checkpoint.root),
        "public_key": hex::encode(public_key),
        "vkey": vkey.to_string(),
        "key_id": hex::encode(key_id(&origin, &public_key)),
        "signature": signature,
        "timestamp": timestamp,
        "note": signed.to_note(),
    });
    pretty(&value)
}

/// `checkpoint [--json]`, given the signed checkpoint.
pub fn checkpoint(
    store: &dyn Store,
    signed: &SignedCheckpoint,
    format: Format,
) -> Result<String, ApiError> {
    match format {
        Format::Text => Ok(signed.to_note()),
        Format::Json => checkpoint_json(store, signed),
    }
}

fn hex_list(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

/// `prove inclusion --seq --size [--json]`.
pub fn inclusion(
    store: &dyn Store,
    seq: u64,
    size: Option<u64>,
    names: Names,
    format: Format,
) -> Result<String, ApiError> {
    let size = size_within(store, size, names, "size")?;
    if seq == 0 || seq > size {
        return Err(ApiError::Invalid(format!(
            "{} must lie between 1 and the tree size {size}",
            names.of("seq")
        )));
    }
    let proof = store.inclusion_proof(seq, size)?;
    let value = json!({
        "leaf_index": proof.leaf_index,
        "tree_size": proof.tree_size,
        "leaf_hash": hex::encode(proof.leaf_hash),
        "root_hash": hex::encode(proof.root_hash),
        "path": hex_list(&proof.path),
    });
    Ok(proof_text(&value, format))
}

/// `prove consistency --from --to [--json]`.
pub fn consistency(
    store: &dyn Store,
    from: u64,
    to: u64,
    names: Names,
    format: Format,
) -> Result<String, ApiError> {
    let (from_name, to_name) = (names.of("from"), names.of("to"));
    if from == 0 {
        return Err(ApiError::Invalid(format!(
            "{from_name} must be at least 1: there is nothing to prove about the empty tree"
        )));
    }
    if from > to {
        return Err(ApiError::Invalid(format!(
            "{from_name} {from} is greater than {to_name} {to}"
        )));
    }
    let head = store.head().seq;
    if to > head {
        return Err(ApiError::Invalid(format!(
            "{to_name} {to} is beyond the log, which holds {head} entries"
        )));
    }
    let value = json!({
        "first": from,
        "second": to,
        "first_root": hex::encode(store.root(from)?),
        "second_root": hex::encode(store.root(to)?),
        "proof": hex_list(&store.consistency_proof(from, to)?),
    });
    Ok(proof_text(&value, format))
}

/// A proof as `prove` prints it: one JSON line, or `key: value` lines.
fn proof_text(value: &Value, format: Format) -> String {
    if format == Format::Json {
        return format!("{value}\n");
    }
    let mut text = String::new();
    let Some(map) = value.as_object() else {
        return text;
    };
    for (key, item) in map {
        match item.as_array() {
            Some(items) => {
                text.push_str(&format!("{key}:\n"));
                for hash in items {
                    text.push_str(&format!("  {}\n", hash.as_str().unwrap_or_default()));
                }
            }
            None => text.push_str(&format!(
                "{key}: {}\n",
                item.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| item.to_string())
            )),
        }
    }
    text
}
