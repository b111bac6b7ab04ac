//! The JSON Lines form: one flat object per event, `"type"` naming it.
//!
//! Parsing is strict: unknown fields, unknown types and unknown enum values
//! are rejected, naming the field; so is anything a JSON reader would
//! otherwise take one of two ways (a key given twice, `null` for an absent
//! field) or that could mislead a reader (control characters in text).
//! Formatting gives the export form, whose re-import reproduces every
//! stored byte.

use crate::disclose::{Field, Salt, Salts};
use crate::entry::{Hash, Record};
use crate::event::*;
use crate::ids::{ClaimId, PartyId};
use crate::rejection::Rejection;
use crate::time::Timestamp;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Longest statement line accepted, in bytes.
pub const LINE_BYTES_MAX: usize = 256 * 1024;

/// Longest copy line (an export line, with `hash`) accepted, in bytes: an
/// export line adds the entry's place, salts, leaf and payload to the
/// statement, so every statement that fits [`LINE_BYTES_MAX`] exports to a
/// line that fits this.
pub const COPY_LINE_BYTES_MAX: usize = 2 * LINE_BYTES_MAX;

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
    /// The salts of the redactable fields (`salts`), chosen by the signer;
    /// the ledger chooses those missing from an unsigned statement.
    pub salts: Salts,
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
    /// What the line says was redacted: `"redacted": true` (a schema 1
    /// reading copy) or the list of redacted fields (schema 2).
    pub redacted: Option<CopyRedaction>,
    /// Other export fields (`prev_hash`, `stream`, `version`), checked
    /// against what the ledger computes; only accepted beside `hash`.
    pub derived: DerivedFields,
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
        } else if self.redacted.is_some() {
            Some("redacted")
        } else if self.derived.prev_hash.is_some() {
            Some("prev_hash")
        } else if self.derived.stream.is_some() {
            Some("stream")
        } else if self.derived.version.is_some() {
            Some("version")
        } else {
            None
        }
    }
}

/// The redaction marks of a copied entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyRedaction {
    /// `"redacted": true`: a schema 1 reading copy.
    Legacy,
    /// `"redacted": [...]`: these fields' disclosures were deleted.
    Fields(Vec<Field>),
}

/// What `prev_hash`, `stream` and `version` of a copied entry say: each
/// must equal what the ledger computes for the entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DerivedFields {
    /// `prev_hash`.
    pub prev_hash: Option<Hash>,
    /// `stream`.
    pub stream: Option<String>,
    /// `version`.
    pub version: Option<u64>,
}

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
    if line.len() > COPY_LINE_BYTES_MAX {
        return Err(Rejection::event(format!(
            "the line is {} bytes long; a statement is at most {LINE_BYTES_MAX} bytes, an exported copy at most {COPY_LINE_BYTES_MAX}",
            line.len()
        )));
    }
    let mut map = parse_object(line)?;
    let event_type = take_type(&mut map)?;
    let event_id = take_event_id(&mut map)?.unwrap_or(fresh_id);
    let by: PartyId = take(&mut map, "by")?.ok_or_else(|| missing("by"))?;
    let occurred_at: Option<Timestamp> = take(&mut map, "occurred_at")?;
    let source: Option<String> = take(&mut map, "source")?;
    let signature = take::<String>(&mut map, "signature")?
        .map(|hex| parse_hex_array::<64>(&hex).map_err(|e| Rejection::field("signature", e)))
        .transpose()?;
    let expected_version = take(&mut map, "expected_version")?;
    let salts = take_salts(&mut map)?;
    let copy = take_copy(&mut map)?;
    if copy.hash.is_none() && line.len() > LINE_BYTES_MAX {
        return Err(Rejection::event(format!(
            "the line is {} bytes long; a statement is at most {LINE_BYTES_MAX} bytes",
            line.len()
        )));
    }
    if event_type == EventType::ViolationAlleged && !map.contains_key("claim") {
        map.insert("claim".into(), Value::String(event_id.to_string()));
    }
    let event = parse_event(event_type, map)?;
    check_event_values(&event)?;
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
        salts,
        copy,
    })
}

/// Parses a line into a JSON object strictly: a key given twice, a `null`,
/// a byte-order mark or a control character in a string is refused with a
/// message that names the problem.
pub fn parse_object(line: &str) -> Result<Map<String, Value>, Rejection> {
    if line.starts_with('\u{feff}') {
        return Err(Rejection::event(
            "the line starts with a byte-order mark (U+FEFF); save the file as UTF-8 without BOM",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let value = StrictValue::deserialize(&mut deserializer)
        .and_then(|v| deserializer.end().map(|()| v))
        .map_err(|e| Rejection::event(format!("not valid JSON: {e}")))?;
    match value.0 {
        Value::Object(map) => Ok(map),
        _ => Err(Rejection::event("expected a JSON object")),
    }
}

/// A JSON value read strictly (see [`parse_object`]).
struct StrictValue(Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number out of range"))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        check_text(v).map_err(E::custom)?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        check_text(&v).map_err(E::custom)?;
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            if item.is_null() {
                return Err(serde::de::Error::custom(
                    "null is not a value in a list; leave it out",
                ));
            }
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let StrictValue(value) = access.next_value()?;
            if value.is_null() {
                return Err(serde::de::Error::custom(format!(
                    "field `{key}` is null; leave an absent field out instead"
                )));
            }
            if map.insert(key.clone(), value).is_some() {
                return Err(serde::de::Error::custom(format!(
                    "field `{key}` is given twice; which one is meant cannot be told"
                )));
            }
        }
        Ok(Value::Object(map))
    }
}

/// Text may hold tabs and newlines, but no other control character (an
/// escape sequence in a description would rewrite a reader's terminal), and
/// no bidirectional override or isolate, which can make text display in
/// another order than it is stored.
fn check_text(text: &str) -> Result<(), String> {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    match text
        .chars()
        .find(|c| (c.is_control() && *c != '\n' && *c != '\t') || bidi(*c))
    {
        Some(c) if bidi(c) => Err(format!(
            "a string holds the bidirectional control U+{:04X}, which can make text read in another order than it is stored",
            u32::from(c)
        )),
        Some(c) => Err(format!(
            "a string holds the control character U+{:04X}; only tab and newline are allowed in text",
            u32::from(c)
        )),
        None => Ok(()),
    }
}

/// Values the types alone allow but the format does not mean.
fn check_event_values(event: &Event) -> Result<(), Rejection> {
    if let Event::ViolationAlleged(e) = event {
        match (e.location.lat, e.location.lon) {
            (Some(_), None) => {
                return Err(Rejection::field(
                    "location.lon",
                    "`lat` is given without `lon`: a coordinate pair needs both",
                ))
            }
            (None, Some(_)) => {
                return Err(Rejection::field(
                    "location.lat",
                    "`lon` is given without `lat`: a coordinate pair needs both",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// `event_id`: a UUID in its hyphenated form, not the nil UUID.
fn take_event_id(map: &mut Map<String, Value>) -> Result<Option<Uuid>, Rejection> {
    let Some(text) = take::<String>(map, "event_id")? else {
        return Ok(None);
    };
    let hyphenated = text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    if !hyphenated {
        return Err(Rejection::field(
            "event_id",
            format!("`{text}` is not a UUID in its hyphenated form (8-4-4-4-12 hex digits)"),
        ));
    }
    let id = Uuid::parse_str(&text).map_err(|e| Rejection::field("event_id", e.to_string()))?;
    if id.is_nil() {
        return Err(Rejection::field("event_id", "the nil UUID is not an id"));
    }
    Ok(Some(id))
}

/// `salts`: an object of field name → 32 hex characters.
fn take_salts(map: &mut Map<String, Value>) -> Result<Salts, Rejection> {
    let Some(value) = map.remove("salts") else {
        return Ok(Salts::new());
    };
    let Value::Object(entries) = value else {
        return Err(Rejection::field(
            "salts",
            "expected an object of field name to 32 hex characters",
        ));
    };
    let mut salts = Salts::new();
    for (name, salt) in entries {
        let field = Field::from_name(&name)
            .ok_or_else(|| Rejection::field(format!("salts.{name}"), "not a redactable field"))?;
        let salt: Salt = salt
            .as_str()
            .ok_or_else(|| "expected 32 hex characters".to_owned())
            .and_then(parse_hex_array::<16>)
            .map_err(|e| Rejection::field(format!("salts.{name}"), e))?;
        salts.insert(field, salt);
    }
    Ok(salts)
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
        None => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| Rejection::field(field, e.to_string())),
    }
}

fn take_copy(map: &mut Map<String, Value>) -> Result<EntryCopy, Rejection> {
    let hash = take::<String>(map, "hash")?
        .map(|hex| parse_hex_array::<32>(&hex).map_err(|e| Rejection::field("hash", e)))
        .transpose()?;
    let prev_hash = take::<String>(map, "prev_hash")?
        .map(|hex| parse_hex_array::<32>(&hex).map_err(|e| Rejection::field("prev_hash", e)))
        .transpose()?;
    let redacted = match map.remove("redacted") {
        None => None,
        Some(Value::Bool(true)) => Some(CopyRedaction::Legacy),
        Some(Value::Bool(false)) => {
            return Err(Rejection::field(
                "redacted",
                "`false` is never written; leave the field out",
            ))
        }
        Some(Value::Array(names)) => {
            let names: Vec<String> = names
                .into_iter()
                .map(|n| match n {
                    Value::String(name) => Ok(name),
                    _ => Err(Rejection::field(
                        "redacted",
                        "expected a list of field names",
                    )),
                })
                .collect::<Result<_, _>>()?;
            let fields = crate::redact::parse_fields(&names)
                .map_err(|e| Rejection::field("redacted", e.message))?;
            Some(CopyRedaction::Fields(fields))
        }
        Some(_) => {
            return Err(Rejection::field(
                "redacted",
                "expected a list of field names (or `true`, in a format 1 export)",
            ))
        }
    };
    Ok(EntryCopy {
        recorded_at: take(map, "recorded_at")?,
        hash,
        seq: take(map, "seq")?,
        backfilled: take(map, "backfilled")?,
        leaf: take_base64(map, "leaf")?,
        payload: take_base64(map, "payload")?,
        redacted,
        derived: DerivedFields {
            prev_hash,
            stream: take(map, "stream")?,
            version: take(map, "version")?,
        },
    })
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
        EventType::PartyKeyReplaced => Event::PartyKeyReplaced(fields(value)?),
        EventType::OperatorKeyRotated => Event::OperatorKeyRotated(fields(value)?),
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
        Event::PartyKeyReplaced(e) => to_value(e),
        Event::OperatorKeyRotated(e) => to_value(e),
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

/// One export line: the entry's place in the log, its statement as readers
/// see it, the salts of its disclosed fields, what was redacted, and the
/// exact `leaf` and `payload` bytes in base64, so that anyone can recompute
/// every hash and check every field. `payload` is `None` only for a schema 1
/// redacted entry, whose original payload is gone.
pub fn export_fields(
    record: &Record,
    leaf: &[u8],
    payload: Option<&[u8]>,
    salts: &Salts,
) -> Map<String, Value> {
    let header = &record.header;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = Map::new();
    out.insert("seq".into(), header.seq.into());
    out.insert("recorded_at".into(), header.recorded_at.to_string().into());
    out.insert("hash".into(), hex::encode(record.hash).into());
    out.insert("prev_hash".into(), hex::encode(header.prev_hash).into());
    out.insert("stream".into(), header.stream.clone().into());
    out.insert("version".into(), header.version.into());
    if header.backfilled {
        out.insert("backfilled".into(), true.into());
    }
    if let Some(signature) = &header.signature {
        out.insert("signature".into(), hex::encode(signature).into());
    }
    out.extend(statement_fields(&record.statement));
    if !salts.is_empty() {
        let salts: Map<String, Value> = salts
            .iter()
            .map(|(field, salt)| (field.name().to_owned(), hex::encode(salt).into()))
            .collect();
        out.insert("salts".into(), Value::Object(salts));
    }
    match &record.redaction {
        crate::entry::Redaction::None => {}
        crate::entry::Redaction::Legacy => {
            out.insert("redacted".into(), true.into());
        }
        crate::entry::Redaction::Fields(fields) => {
            let names: Vec<Value> = fields.iter().map(|f| f.name().into()).collect();
            out.insert("redacted".into(), Value::Array(names));
        }
    }
    out.insert("leaf".into(), b64.encode(leaf).into());
    if let Some(payload) = payload {
        out.insert("payload".into(), b64.encode(payload).into());
    }
    out
}

/// The first field (JSON name, or a dotted path inside an object) in which
/// two statements differ, if any: what a check of a copied entry names
/// when a line says something its bytes do not.
pub fn first_difference(a: &Statement, b: &Statement) -> Option<String> {
    fn walk(path: &str, a: &Value, b: &Value) -> Option<String> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
                keys.into_iter().find_map(|key| {
                    let inner = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match (x.get(key), y.get(key)) {
                        (Some(p), Some(q)) => walk(&inner, p, q),
                        _ => Some(inner),
                    }
                })
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
                .iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| walk(&format!("{path}[{i}]"), p, q)),
            (p, q) if p == q => None,
            _ => Some(path.to_owned()),
        }
    }
    walk(
        "",
        &Value::Object(statement_fields(a)),
        &Value::Object(statement_fields(b)),
    )
}

/// The claim id a `violation_alleged` without `claim` receives.
pub fn assigned_claim_id(event_id: Uuid) -> ClaimId {
    // A hyphenated UUID is 36 bytes of hex and dashes: always a valid id.
    ClaimId::new(event_id.to_string()).unwrap_or_else(|e| unreachable!("{e}"))
}

#[cfg(test)]
#[path = "tests/json.rs"]
mod tests;
