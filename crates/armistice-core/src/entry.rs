//! The stored entry: a fixed binary header (the Merkle leaf, which the hash
//! chain covers) followed by the payload (the bincode statement).
//!
//! The payload enters the chain only through its SHA-256 in the header, so
//! removing the payload bytes (redaction) leaves every hash and proof intact.
//! The layout is documented byte by byte in `docs/FORMAT.md`.

use crate::event::{EventType, Statement};
use crate::ids::PartyId;
use crate::time::Timestamp;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The version of the header layout and payload encoding written today.
pub const SCHEMA_VERSION: u8 = 1;

/// Largest payload accepted, in bytes (an event with a long description and
/// many evidence items stays far below it; sled keeps values this small inline).
pub const PAYLOAD_BYTES_MAX: usize = 64 * 1024;

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
    /// The bytes end before the header does.
    #[error("entry header truncated at byte {0}")]
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
        if schema != SCHEMA_VERSION {
            return Err(DecodeError::UnknownSchema(schema));
        }
        let flags = r.byte()?;
        if flags & !(FLAG_BACKFILLED | FLAG_SIGNED) != 0 {
            return Err(DecodeError::UnknownFlags(flags));
        }
        let code = r.byte()?;
        let event_type = EventType::from_code(code).ok_or(DecodeError::UnknownEventType(code))?;
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

/// The payload bytes of a statement: bincode 2, standard configuration
/// (little-endian varints), fields in declaration order.
pub fn encode_payload(statement: &Statement) -> Vec<u8> {
    // Encoding into a Vec cannot fail: every type is plain data with no
    // custom serializer that errors in non-human-readable form.
    bincode::serde::encode_to_vec(statement, bincode::config::standard())
        .unwrap_or_else(|e| unreachable!("encoding a statement failed: {e}"))
}

/// Decodes payload bytes written with `schema`.
pub fn decode_payload(schema: u8, bytes: &[u8]) -> Result<Statement, DecodeError> {
    if schema != SCHEMA_VERSION {
        return Err(DecodeError::UnknownSchema(schema));
    }
    let (statement, used): (Statement, usize) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard())
            .map_err(|e| DecodeError::Payload(e.to_string()))?;
    if used != bytes.len() {
        return Err(DecodeError::Payload(format!(
            "{} trailing bytes",
            bytes.len() - used
        )));
    }
    Ok(statement)
}

/// Checks that a decoded header and statement say the same things (the
/// header repeats what readers need when the payload is redacted).
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

/// A stored entry as readers see it: its header, hash and statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The header (the Merkle leaf's content).
    pub header: Header,
    /// SHA-256 of the leaf: the entry's hash.
    pub hash: Hash,
    /// The statement. For a redacted entry, the copy kept for reading, with
    /// the redacted free-text fields blanked (see `redacted`).
    pub statement: Statement,
    /// Whether the payload was redacted: `statement` is then not covered by
    /// `header.payload_sha256` and its free-text fields may be blank.
    pub redacted: bool,
}

#[cfg(test)]
#[path = "tests/entry.rs"]
mod tests;
