//! The JSON Lines form: one flat object per event, `"type"` naming it.
//!
//! Parsing is strict: unknown fields, unknown types and unknown enum values
//! are rejected, naming the field. Formatting gives the export form, whose
//! re-import reproduces every stored byte.

use crate::entry::{Hash, Header};
use crate::event::*;
use crate::ids::{ClaimId, PartyId};
use crate::rejection::Rejection;
use crate::time::Timestamp;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Longest JSON line accepted, in bytes.
pub const LINE_BYTES_MAX: usize = 256 * 1024;

/// An event as submitted, before the ledger assigns its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    /// The statement; `occurred_at` is a placeholder when `occurred_at_given` is false.
    pub statement: Statement,
    /// Whether the input carried `occurred_at` (otherwise it is the recording time).
    pub occurred_at_given: bool,
    /// The author's signature (hex in JSON).
    pub signature: Option<[u8; 64]>,
    /// Optimistic concurrency: the stream version this event expects to follow.
    pub expected_version: Option<u64>,
    /// What a backfill line says of the entry it copies or migrates.
    pub copy: EntryCopy,
}

/// Fields a line may carry only with `import --backfill`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntryCopy {
    /// When the older record recorded it.
    pub recorded_at: Option<Timestamp>,
    /// The hash the copied entry must reproduce.
    pub hash: Option<Hash>,
    /// The seq the copied entry must land at.
    pub seq: Option<u64>,
    /// Whether the copied entry was itself backfilled.
    pub backfilled: Option<bool>,
    /// The exact leaf bytes (`leaf`, base64): needed to copy a redacted
    /// entry, whose payload digest cannot be recomputed from its fields.
    pub leaf: Option<Vec<u8>>,
    /// The exact payload bytes (`payload`, base64), checked against the fields.
    pub payload: Option<Vec<u8>>,
    /// Whether the line is a redacted entry's reading copy (`"redacted": true`).
    pub redacted: bool,
    /// Other export fields (`prev_hash`, `stream`, `version`): covered by
    /// `hash`, so only accepted beside it.
    pub derived_fields: Vec<&'static str>,
}

impl EntryCopy {
    /// Whether any backfill-only field is present.
    pub fn is_empty(&self) -> bool {
        *self == EntryCopy::default()
    }

    /// The first backfill-only field present, for error messages.
    pub fn first_field(&self) -> Option<&'static str> {
        if self.recorded_at.is_some() {
            Some("recorded_at")
        } else if self.hash.is_some() {
            Some("hash")
        } else if self.seq.is_some() {
            Some("seq")
        } else if self.backfilled.is_some() {
            Some("backfilled")
        } else if self.leaf.is_some() {
            Some("leaf")
        } else if self.payload.is_some() {
            Some("payload")
        } else if self.redacted {
            Some("redacted")
        } else {
            self.derived_fields.first().copied()
        }
    }
}

const DERIVED_FIELDS: [&str; 6] = [
    "prev_hash",
    "stream",
    "version",
    "leaf",
    "payload",
    "redacted",
];

/// Parses one JSON line. `fresh_id` becomes the `event_id` when the line has
/// none (and the claim id of a `violation_alleged` without `claim`).
///
/// ```
/// use armistice_core::json::parse_line;
/// let line = r#"{"type":"party_registered","by":"operator","party":"UA","name":"Ukraine","role":"belligerent"}"#;
/// let sub = parse_line(line, uuid::Uuid::nil()).unwrap();
/// assert_eq!(sub.statement.event.event_type().name(), "party_registered");
/// assert!(parse_line(r#"{"type":"party_registered","by":"operator"}"#, uuid::Uuid::nil())
///     .unwrap_err().to_string().contains("party"));
/// ```
pub fn parse_line(line: &str, fresh_id: Uuid) -> Result<Submission, Rejection> {
    if line.len() > LINE_BYTES_MAX {
        return Err(Rejection::event(format!(
            "line is {} bytes long; the limit is {LINE_BYTES_MAX}",
            line.len()
        )));
    }
    let value: Value =
        serde_json::from_str(line).map_err(|e| Rejection::event(format!("not valid JSON: {e}")))?;
    let Value::Object(mut map) = value else {
        return Err(Rejection::event("expected a JSON object"));
    };
    let event_type = take_type(&mut map)?;
    let event_id = take::<Uuid>(&mut map, "event_id")?.unwrap_or(fresh_id);
    let by: PartyId = take(&mut map, "by")?.ok_or_else(|| missing("by"))?;
    let occurred_at: Option<Timestamp> = take(&mut map, "occurred_at")?;
    let source: Option<String> = take(&mut map, "source")?;
    let signature = take::<String>(&mut map, "signature")?
        .map(|hex| parse_hex_array::<64>(&hex).map_err(|e| Rejection::field("signature", e)))
        .transpose()?;
    let expected_version = take(&mut map, "expected_version")?;
    let copy = take_copy(&mut map)?;
    if event_type == EventType::ViolationAlleged && !map.contains_key("claim") {
        map.insert("claim".into(), Value::String(event_id.to_string()));
    }
    let event = parse_event(event_type, map)?;
    Ok(Submission {
        statement: Statement {
            event_id,
            by,
            occurred_at: occurred_at.unwrap_or_default(),
            source,
            event,
        },
        occurred_at_given: occurred_at.is_some(),
        signature,
        expected_version,
        copy,
    })
}

fn missing(field: &str) -> Rejection {
    Rejection::field(field, "required field is missing")
}

fn take_type(map: &mut Map<String, Value>) -> Result<EventType, Rejection> {
    let name: String = take(map, "type")?.ok_or_else(|| missing("type"))?;
    EventType::from_name(&name).ok_or_else(|| {
        let known: Vec<&str> = EVENT_TYPES.iter().map(|(_, n)| *n).collect();
        Rejection::field(
            "type",
            format!(
                "unknown event type `{name}`; expected one of {}",
                known.join(", ")
            ),
        )
    })
}

fn take<T: DeserializeOwned>(
    map: &mut Map<String, Value>,
    field: &str,
) -> Result<Option<T>, Rejection> {
    match map.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| Rejection::field(field, e.to_string())),
    }
}

fn take_copy(map: &mut Map<String, Value>) -> Result<EntryCopy, Rejection> {
    let hash = take::<String>(map, "hash")?
        .map(|hex| parse_hex_array::<32>(&hex).map_err(|e| Rejection::field("hash", e)))
        .transpose()?;
    let mut copy = EntryCopy {
        recorded_at: take(map, "recorded_at")?,
        hash,
        seq: take(map, "seq")?,
        backfilled: take(map, "backfilled")?,
        leaf: take_base64(map, "leaf")?,
        payload: take_base64(map, "payload")?,
        redacted: take(map, "redacted")?.unwrap_or(false),
        derived_fields: Vec::new(),
    };
    for field in DERIVED_FIELDS {
        if map.remove(field).is_some() {
            copy.derived_fields.push(field);
        }
    }
    Ok(copy)
}

fn take_base64(map: &mut Map<String, Value>, field: &str) -> Result<Option<Vec<u8>>, Rejection> {
    let Some(text) = take::<String>(map, field)? else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(Some)
        .map_err(|e| Rejection::field(field, format!("not base64: {e}")))
}

fn parse_event(event_type: EventType, map: Map<String, Value>) -> Result<Event, Rejection> {
    let value = Value::Object(map);
    Ok(match event_type {
        EventType::PartyRegistered => Event::PartyRegistered(fields(value)?),
        EventType::PartyKeyRotated => Event::PartyKeyRotated(fields(value)?),
        EventType::AgreementProposed => Event::AgreementProposed(fields(value)?),
        EventType::AgreementSigned => Event::AgreementSigned(fields(value)?),
        EventType::AgreementTermsContested => Event::AgreementTermsContested(fields(value)?),
        EventType::AgreementSuspended => Event::AgreementSuspended(fields(value)?),
        EventType::AgreementResumed => Event::AgreementResumed(fields(value)?),
        EventType::AgreementAmended => Event::AgreementAmended(fields(value)?),
        EventType::AgreementTerminated => Event::AgreementTerminated(fields(value)?),
        EventType::ViolationAlleged => Event::ViolationAlleged(Box::new(fields(value)?)),
        EventType::EvidenceAdded => Event::EvidenceAdded(fields(value)?),
        EventType::AllegationResponded => Event::AllegationResponded(fields(value)?),
        EventType::AllegationAssessed => Event::AllegationAssessed(fields(value)?),
        EventType::AllegationRetracted => Event::AllegationRetracted(fields(value)?),
        EventType::EntryRedacted => Event::EntryRedacted(fields(value)?),
    })
}

/// Deserializes a type's own fields, naming the field path on error.
fn fields<T: DeserializeOwned>(value: Value) -> Result<T, Rejection> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde's own messages for missing and unknown fields already name the field.
        match inner.strip_prefix("missing field `") {
            Some(rest) => {
                let name = rest.trim_end_matches('`');
                let full = if path == "." {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                };
                Rejection::field(full, "required field is missing")
            }
            None if path == "." => Rejection::event(inner),
            None => Rejection::field(path, inner),
        }
    })
}

/// The JSON fields of a statement: `type`, `event_id`, `by`, `occurred_at`,
/// `source` when present, then the event's own fields (absent options left out).
pub fn statement_fields(statement: &Statement) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("type".into(), statement.event.event_type().name().into());
    out.insert("event_id".into(), statement.event_id.to_string().into());
    out.insert("by".into(), statement.by.as_str().into());
    out.insert(
        "occurred_at".into(),
        statement.occurred_at.to_string().into(),
    );
    if let Some(source) = &statement.source {
        out.insert("source".into(), source.clone().into());
    }
    out.extend(event_fields(&statement.event));
    out
}

/// An event's own fields as JSON, absent options left out.
pub fn event_fields(event: &Event) -> Map<String, Value> {
    let value = match event {
        Event::PartyRegistered(e) => to_value(e),
        Event::PartyKeyRotated(e) => to_value(e),
        Event::AgreementProposed(e) => to_value(e),
        Event::AgreementSigned(e) => to_value(e),
        Event::AgreementTermsContested(e) => to_value(e),
        Event::AgreementSuspended(e) => to_value(e),
        Event::AgreementResumed(e) => to_value(e),
        Event::AgreementAmended(e) => to_value(e),
        Event::AgreementTerminated(e) => to_value(e),
        Event::ViolationAlleged(e) => to_value(e),
        Event::EvidenceAdded(e) => to_value(e),
        Event::AllegationResponded(e) => to_value(e),
        Event::AllegationAssessed(e) => to_value(e),
        Event::AllegationRetracted(e) => to_value(e),
        Event::EntryRedacted(e) => to_value(e),
    };
    match drop_nulls(value) {
        Value::Object(map) => map,
        // Every event type is a struct, so it serializes to an object.
        other => unreachable!("event serialized to {other}"),
    }
}

fn to_value<T: Serialize>(value: &T) -> Value {
    // Plain data with string keys always converts to a JSON value.
    serde_json::to_value(value).unwrap_or_else(|e| unreachable!("event to JSON failed: {e}"))
}

fn drop_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// One export line: the entry's place in the log, its statement (the
/// redacted reading copy, marked `"redacted": true`, when `payload` is
/// `None`), and the exact `leaf` and `payload` bytes in base64 so that
/// anyone can recompute every hash.
pub fn export_fields(
    header: &Header,
    hash: &Hash,
    leaf: &[u8],
    statement: &Statement,
    payload: Option<&[u8]>,
) -> Map<String, Value> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Map::new();
    out.insert("seq".into(), header.seq.into());
    out.insert("recorded_at".into(), header.recorded_at.to_string().into());
    out.insert("hash".into(), hex::encode(hash).into());
    out.insert("prev_hash".into(), hex::encode(header.prev_hash).into());
    out.insert("stream".into(), header.stream.clone().into());
    out.insert("version".into(), header.version.into());
    if header.backfilled {
        out.insert("backfilled".into(), true.into());
    }
    if let Some(signature) = &header.signature {
        out.insert("signature".into(), hex::encode(signature).into());
    }
    out.extend(statement_fields(statement));
    if payload.is_none() {
        out.insert("redacted".into(), true.into());
    }
    out.insert("leaf".into(), b64.encode(leaf).into());
    if let Some(payload) = payload {
        out.insert("payload".into(), b64.encode(payload).into());
    }
    out
}

/// The claim id a `violation_alleged` without `claim` receives.
pub fn assigned_claim_id(event_id: Uuid) -> ClaimId {
    // A hyphenated UUID is 36 bytes of hex and dashes: always a valid id.
    ClaimId::new(event_id.to_string()).unwrap_or_else(|e| unreachable!("{e}"))
}

#[cfg(test)]
#[path = "tests/json.rs"]
mod tests;
