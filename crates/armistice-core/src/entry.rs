//! The stored entry: a fixed binary header (the Merkle leaf, which the hash
//! chain covers) followed by the body: the committed payload and the
//! disclosures of its redactable fields (see [`crate::disclose`]).
//!
//! The payload enters the chain only through its SHA-256 in the header, and
//! the payload holds only digests of the redactable fields, so deleting a
//! disclosure (redaction) leaves every hash, proof and signature intact.
//! The layout is documented byte by byte in `docs/FORMAT.md`.
//!
//! Two schemas are read: 2, written today, and 1, the format before
//! selective disclosure (its payload is the whole statement, and a redaction
//! replaced it with a reading copy bound to nothing). Entries are never
//! rewritten; schema 1 entries keep their bytes and are read as they are.

use crate::disclose::{self, CommittedPayload, Disclosure, Field};
use crate::event::{EventType, Statement};
use crate::ids::PartyId;
use crate::json::LINE_BYTES_MAX;
use crate::time::Timestamp;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The version of the header layout and payload encoding written today.
pub const SCHEMA_VERSION: u8 = 2;

/// The schema before selective disclosure, still read.
pub const SCHEMA_V1: u8 = 1;

/// Largest stored body (payload and disclosures) of one entry, in bytes. A
/// JSON line is at most [`LINE_BYTES_MAX`]; its binary form is smaller
/// except for the digests and salts of its redactable fields, which this
/// margin covers, so every line within the line limit fits.
pub const ENTRY_BODY_BYTES_MAX: usize = LINE_BYTES_MAX + 16 * 1024;

/// Entries of schema 1 stored a marker byte after the leaf: the payload that
/// follows is the original.
pub const V1_PAYLOAD_ORIGINAL: u8 = 0;
/// Schema 1: what follows the marker is a redacted reading copy.
pub const V1_PAYLOAD_REDACTED: u8 = 1;

const FLAG_BACKFILLED: u8 = 0b01;
const FLAG_SIGNED: u8 = 0b10;
const FIXED_BYTES: usize = 115;

/// The hash that the first entry's `prev_hash` holds.
pub const GENESIS_HASH: Hash = [0; 32];

/// What the ledger records about a statement, besides the statement itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Layout version ([`SCHEMA_VERSION`] for new entries).
    pub schema: u8,
    /// Position in the log, from 1, gap-free.
    pub seq: u64,
    /// When the ledger appended it (never decreasing along the log).
    pub recorded_at: Timestamp,
    /// When the statement says it happened.
    pub occurred_at: Timestamp,
    /// The event's type.
    pub event_type: EventType,
    /// Whether it was migrated from another record (`import --backfill` without `hash`).
    pub backfilled: bool,
    /// The statement's id.
    pub event_id: Uuid,
    /// The stream it extends (`claim/X`).
    pub stream: String,
    /// Its version within the stream, from 1.
    pub version: u64,
    /// Who made the statement.
    pub by: PartyId,
    /// The previous entry's hash ([`GENESIS_HASH`] for seq 1).
    pub prev_hash: Hash,
    /// SHA-256 of the payload bytes.
    pub payload_sha256: Hash,
    /// The author's Ed25519 signature over the statement, if signed.
    pub signature: Option<[u8; 64]>,
}

/// Why stored bytes could not be read back.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the header or body does.
    #[error("entry truncated at byte {0}")]
    Truncated(usize),
    /// A schema this program does not know.
    #[error("unknown schema version {0}")]
    UnknownSchema(u8),
    /// An event type code this program does not know.
    #[error("unknown event type code {0}")]
    UnknownEventType(u8),
    /// Flag bits this program does not know.
    #[error("unknown flag bits {0:#04x}")]
    UnknownFlags(u8),
    /// A text field is not valid.
    #[error("invalid {0} in header")]
    BadText(&'static str),
    /// The payload does not decode.
    #[error("payload does not decode: {0}")]
    Payload(String),
}

impl Header {
    /// The canonical bytes: the Merkle leaf, whose SHA-256 is the entry's hash.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_BYTES + 2 + self.stream.len() + 8 + 64);
        let mut flags = 0;
        if self.backfilled {
            flags |= FLAG_BACKFILLED;
        }
        if self.signature.is_some() {
            flags |= FLAG_SIGNED;
        }
        out.extend_from_slice(&[self.schema, flags, self.event_type as u8]);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.recorded_at.micros().to_be_bytes());
        out.extend_from_slice(&self.occurred_at.micros().to_be_bytes());
        out.extend_from_slice(self.event_id.as_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.payload_sha256);
        debug_assert_eq!(out.len(), FIXED_BYTES);
        push_short_text(&mut out, &self.stream);
        push_short_text(&mut out, self.by.as_str());
        if let Some(signature) = &self.signature {
            out.extend_from_slice(signature);
        }
        out
    }

    /// Reads a header from the front of `bytes`; returns it and its length.
    pub fn decode(bytes: &[u8]) -> Result<(Header, usize), DecodeError> {
        let mut r = Reader { bytes, at: 0 };
        let schema = r.byte()?;
        if schema != SCHEMA_VERSION && schema != SCHEMA_V1 {
            return Err(DecodeError::UnknownSchema(schema));
        }
        let flags = r.byte()?;
        if flags & !(FLAG_BACKFILLED | FLAG_SIGNED) != 0 {
            return Err(DecodeError::UnknownFlags(flags));
        }
        let code = r.byte()?;
        let event_type = EventType::from_code(code)
            .filter(|t| schema != SCHEMA_V1 || *t <= EventType::EntryRedacted)
            .ok_or(DecodeError::UnknownEventType(code))?;
        let seq = u64::from_be_bytes(r.array()?);
        let recorded_at = Timestamp(i64::from_be_bytes(r.array()?));
        let occurred_at = Timestamp(i64::from_be_bytes(r.array()?));
        let event_id = Uuid::from_bytes(r.array()?);
        let version = u64::from_be_bytes(r.array()?);
        let prev_hash = r.array()?;
        let payload_sha256 = r.array()?;
        let stream = r.short_text("stream")?;
        let by = PartyId::new(r.short_text("by")?).map_err(|_| DecodeError::BadText("by"))?;
        let signature = if flags & FLAG_SIGNED != 0 {
            Some(r.array()?)
        } else {
            None
        };
        let header = Header {
            schema,
            seq,
            recorded_at,
            occurred_at,
            event_type,
            backfilled: flags & FLAG_BACKFILLED != 0,
            event_id,
            stream,
            version,
            by,
            prev_hash,
            payload_sha256,
            signature,
        };
        Ok((header, r.at))
    }
}

fn push_short_text(out: &mut Vec<u8>, text: &str) {
    // Stream names and party ids are at most 64 + 10 bytes (see `ids`), so a
    // one-byte length always suffices.
    assert!(
        text.len() <= usize::from(u8::MAX),
        "short text too long: {text}"
    );
    out.push(text.len() as u8);
    out.extend_from_slice(text.as_bytes());
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        let end = end.ok_or(DecodeError::Truncated(self.bytes.len()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn short_text(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = usize::from(self.byte()?);
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::BadText(what))
    }
}

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// The payload bytes of a schema 1 statement: bincode 2, standard
/// configuration (little-endian varints), fields in declaration order.
pub fn encode_payload_v1(statement: &Statement) -> Vec<u8> {
    // Encoding into a Vec cannot fail: every type is plain data with no
    // custom serializer that errors in non-human-readable form.
    bincode::serde::encode_to_vec(statement, bincode::config::standard())
        .unwrap_or_else(|e| unreachable!("encoding a statement failed: {e}"))
}

fn decode_exact<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let (value, used): (T, usize) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard())
            .map_err(|e| DecodeError::Payload(e.to_string()))?;
    if used != bytes.len() {
        return Err(DecodeError::Payload(format!(
            "{} trailing bytes",
            bytes.len() - used
        )));
    }
    Ok(value)
}

/// Decodes a schema 1 payload (the whole statement).
pub fn decode_payload_v1(bytes: &[u8]) -> Result<Statement, DecodeError> {
    let statement: Statement = decode_exact(bytes)?;
    if statement.event.event_type() > EventType::EntryRedacted {
        return Err(DecodeError::Payload(
            "an event type that schema 1 does not have".into(),
        ));
    }
    Ok(statement)
}

/// Decodes a schema 2 payload and checks that it is canonical.
pub fn decode_payload_v2(bytes: &[u8]) -> Result<CommittedPayload, DecodeError> {
    let payload: CommittedPayload = decode_exact(bytes)?;
    disclose::check_canonical(&payload).map_err(|e| DecodeError::Payload(e.to_string()))?;
    // One statement, one payload: an integer written longer than needed
    // would give the same statement another hash.
    if disclose::encode_payload(&payload) != bytes {
        return Err(DecodeError::Payload(
            "the payload is not in its canonical encoding".into(),
        ));
    }
    Ok(payload)
}

/// Checks that a decoded header and statement say the same things (the
/// header repeats what readers need of an entry at a glance).
pub fn check_header_matches(header: &Header, statement: &Statement) -> Result<(), String> {
    let mismatch = |what: &str| Err(format!("header and payload disagree on {what}"));
    if header.event_id != statement.event_id {
        return mismatch("event_id");
    }
    if header.by != statement.by {
        return mismatch("by");
    }
    if header.occurred_at != statement.occurred_at {
        return mismatch("occurred_at");
    }
    if header.event_type != statement.event.event_type() {
        return mismatch("type");
    }
    if !statement.stream().has_name(&header.stream) {
        return mismatch("stream");
    }
    Ok(())
}

/// How much of an entry was redacted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Redaction {
    /// Nothing: every field is disclosed.
    #[default]
    None,
    /// These fields' disclosures were deleted (schema 2); their digests
    /// remain, so the rest of the entry and its signature still verify.
    Fields(Vec<Field>),
    /// Schema 1: the payload was replaced by a reading copy, which nothing
    /// binds; its digest and signature can no longer be checked.
    Legacy,
}

impl Redaction {
    /// Whether anything was redacted.
    pub fn is_redacted(&self) -> bool {
        *self != Redaction::None
    }

    /// The redacted fields' names, for output (`["*"]` for a schema 1 redaction).
    pub fn field_names(&self) -> Vec<&'static str> {
        match self {
            Redaction::None => Vec::new(),
            Redaction::Fields(fields) => fields.iter().map(|f| f.name()).collect(),
            Redaction::Legacy => vec!["*"],
        }
    }
}

/// A stored entry as readers see it: its header, hash and statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The header (the Merkle leaf's content).
    pub header: Header,
    /// SHA-256 of the leaf: the entry's hash.
    pub hash: Hash,
    /// The statement as readers see it: redacted fields read `[redacted]`
    /// (see `redaction`).
    pub statement: Statement,
    /// What was redacted.
    pub redaction: Redaction,
}

/// An entry's stored bytes, split: the leaf and the body.
#[derive(Clone, Copy, Debug)]
pub struct StoredEntry<'a> {
    /// The decoded leaf.
    pub header: &'a Header,
    /// The leaf's bytes.
    pub leaf: &'a [u8],
    /// What follows the leaf.
    pub body: Body<'a>,
}

/// The body of a stored entry, by schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// Schema 1: the statement's payload, or its redacted reading copy.
    V1 {
        /// Whether `payload` is the redacted reading copy.
        redacted: bool,
        /// The bincode statement.
        payload: &'a [u8],
    },
    /// Schema 2: the committed payload and the disclosures.
    V2 {
        /// The committed payload (its SHA-256 is in the leaf).
        payload: &'a [u8],
        /// The disclosures (bincode list).
        disclosures: &'a [u8],
    },
}

/// An entry's bytes split into header, leaf and body.
pub struct SplitEntry<'a> {
    /// The decoded header.
    pub header: Header,
    /// The leaf bytes.
    pub leaf: &'a [u8],
    /// The body.
    pub body: Body<'a>,
}

/// The stored bytes of a schema 2 entry: `leaf || payload length (u32 BE) || payload || disclosures`.
pub fn encode_entry(leaf: &[u8], payload: &[u8], disclosures: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(leaf.len() + 4 + payload.len() + disclosures.len());
    out.extend_from_slice(leaf);
    // The payload is bounded by ENTRY_BODY_BYTES_MAX, far below u32::MAX.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(disclosures);
    out
}

/// Splits an entry's stored bytes (either schema) without decoding the body.
pub fn split_entry(bytes: &[u8]) -> Result<SplitEntry<'_>, DecodeError> {
    let (header, leaf_len) = Header::decode(bytes)?;
    let (leaf, rest) = bytes.split_at(leaf_len);
    let body = match header.schema {
        SCHEMA_V1 => {
            let (marker, payload) = rest
                .split_first()
                .ok_or(DecodeError::Truncated(bytes.len()))?;
            let redacted = match *marker {
                V1_PAYLOAD_ORIGINAL => false,
                V1_PAYLOAD_REDACTED => true,
                other => {
                    return Err(DecodeError::Payload(format!(
                        "unknown payload marker {other}"
                    )))
                }
            };
            Body::V1 { redacted, payload }
        }
        _ => {
            let (len, rest) = rest
                .split_first_chunk::<4>()
                .ok_or(DecodeError::Truncated(bytes.len()))?;
            let len = u32::from_be_bytes(*len) as usize;
            if len > rest.len() {
                return Err(DecodeError::Truncated(bytes.len()));
            }
            let (payload, disclosures) = rest.split_at(len);
            Body::V2 {
                payload,
                disclosures,
            }
        }
    };
    Ok(SplitEntry { header, leaf, body })
}

impl SplitEntry<'_> {
    /// SHA-256 of the leaf: the entry's hash.
    pub fn hash(&self) -> Hash {
        sha256(self.leaf)
    }

    /// The payload's bytes and whether they are the original ones (what the
    /// leaf's digest and the signature cover): false for a schema 1 reading copy.
    pub fn payload(&self) -> (&[u8], bool) {
        match self.body {
            Body::V1 { redacted, payload } => (payload, !redacted),
            Body::V2 { payload, .. } => (payload, true),
        }
    }

    /// Decodes the body into the record readers see, checking that the header
    /// agrees with it and that every disclosure matches its digest.
    pub fn record(&self) -> Result<Record, DecodeError> {
        self.record_with(true)
    }

    /// [`SplitEntry::record`] without recomputing the disclosures' digests:
    /// what a replay of a store that `verify` proves needs.
    pub fn record_unchecked(&self) -> Result<Record, DecodeError> {
        self.record_with(false)
    }

    fn record_with(&self, check_digests: bool) -> Result<Record, DecodeError> {
        let (statement, redaction) = match self.body {
            Body::V1 { redacted, payload } => {
                let statement = decode_payload_v1(payload)?;
                let redaction = if redacted {
                    Redaction::Legacy
                } else {
                    Redaction::None
                };
                (statement, redaction)
            }
            Body::V2 {
                payload,
                disclosures,
            } => {
                let payload = decode_payload_v2(payload)?;
                let disclosures = disclose::decode_disclosures(disclosures)
                    .map_err(|e| DecodeError::Payload(format!("disclosures: {e}")))?;
                let revealed = match check_digests {
                    true => disclose::reveal(&payload, &disclosures),
                    false => disclose::reveal_unchecked(&payload, &disclosures),
                };
                let (statement, redacted) =
                    revealed.map_err(|e| DecodeError::Payload(e.to_string()))?;
                let redaction = if redacted.is_empty() {
                    Redaction::None
                } else {
                    Redaction::Fields(redacted)
                };
                (statement, redaction)
            }
        };
        check_header_matches(&self.header, &statement).map_err(DecodeError::Payload)?;
        Ok(Record {
            header: self.header.clone(),
            hash: self.hash(),
            statement,
            redaction,
        })
    }

    /// The committed payload and disclosures (schema 2 only).
    pub fn committed(&self) -> Result<Option<(CommittedPayload, Vec<Disclosure>)>, DecodeError> {
        match self.body {
            Body::V1 { .. } => Ok(None),
            Body::V2 {
                payload,
                disclosures,
            } => {
                let payload = decode_payload_v2(payload)?;
                let disclosures = disclose::decode_disclosures(disclosures)
                    .map_err(|e| DecodeError::Payload(format!("disclosures: {e}")))?;
                Ok(Some((payload, disclosures)))
            }
        }
    }
}

/// Decodes an entry's stored bytes into a record, proving every disclosure.
pub fn decode_entry(bytes: &[u8]) -> Result<Record, DecodeError> {
    split_entry(bytes)?.record()
}

/// Decodes an entry's stored bytes for reading, without re-hashing its
/// disclosures (see [`SplitEntry::record_unchecked`]).
pub fn decode_entry_unchecked(bytes: &[u8]) -> Result<Record, DecodeError> {
    split_entry(bytes)?.record_unchecked()
}

#[cfg(test)]
#[path = "tests/entry.rs"]
mod tests;
