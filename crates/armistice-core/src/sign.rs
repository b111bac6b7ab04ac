//! Signed statements: the canonical, domain-separated bytes a party signs,
//! and their Ed25519 verification.
//!
//! Schema 2 (today): the author signs its statement's *committed payload*
//! (see [`crate::disclose`]): the statement with each redactable field
//! replaced by a salted digest. Deleting a disclosure (redaction) therefore
//! never invalidates a signature. Schema 1 entries were signed over the
//! whole statement; their signatures are still checked as they were made.

use crate::disclose::{commit, encode_payload, DisclosureError, Salts};
use crate::entry::{encode_payload_v1, SCHEMA_V1};
use crate::event::Statement;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Prefix of every message signed today, so that a statement's signature
/// can never be taken for a signature over anything else.
pub const STATEMENT_DOMAIN: &[u8] = b"armistice/statement/v2\n";

/// Prefix of the messages signed by schema 1 entries.
pub const STATEMENT_DOMAIN_V1: &[u8] = b"armistice/statement/v1\n";

/// The exact bytes a signature covers: the domain of `schema` followed by
/// the payload bytes.
pub fn signing_message(schema: u8, payload: &[u8]) -> Vec<u8> {
    let domain = match schema {
        SCHEMA_V1 => STATEMENT_DOMAIN_V1,
        _ => STATEMENT_DOMAIN,
    };
    let mut message = Vec::with_capacity(domain.len() + payload.len());
    message.extend_from_slice(domain);
    message.extend_from_slice(payload);
    message
}

/// Signs a statement as it will be stored today: commits it with `salts`
/// (one per redactable field present) and signs the committed payload.
///
/// ```
/// use armistice_core::disclose::{Field, Salts};
/// use armistice_core::json::parse_line;
/// use armistice_core::sign::{sign_statement, verify_statement};
/// let line = r#"{"type":"allegation_retracted","by":"UA","claim":"c1","reason":"mistaken"}"#;
/// let statement = parse_line(line, uuid::Uuid::nil()).unwrap().statement;
/// let salts = Salts::from([(Field::Reason, [3; 16])]);
/// let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
/// let signature = sign_statement(&statement, &salts, &key).unwrap();
/// let public = key.verifying_key().to_bytes();
/// assert!(verify_statement(&statement, &salts, &public, &signature).is_ok());
/// ```
pub fn sign_statement(
    statement: &Statement,
    salts: &Salts,
    key: &SigningKey,
) -> Result<[u8; 64], DisclosureError> {
    let payload = encode_payload(&commit(statement, salts)?.payload);
    Ok(sign_payload(crate::entry::SCHEMA_VERSION, &payload, key))
}

/// Signs payload bytes of `schema`.
pub fn sign_payload(schema: u8, payload: &[u8], key: &SigningKey) -> [u8; 64] {
    key.sign(&signing_message(schema, payload)).to_bytes()
}

/// Checks a signature over a statement committed with `salts` (schema 2).
pub fn verify_statement(
    statement: &Statement,
    salts: &Salts,
    public_key: &[u8; 32],
    signature: &[u8; 64],
) -> Result<(), String> {
    let committed = commit(statement, salts).map_err(|e| e.to_string())?;
    verify_payload(
        crate::entry::SCHEMA_VERSION,
        &encode_payload(&committed.payload),
        public_key,
        signature,
    )
}

/// Checks a schema 1 signature over the whole statement.
pub fn verify_statement_v1(
    statement: &Statement,
    public_key: &[u8; 32],
    signature: &[u8; 64],
) -> Result<(), String> {
    verify_payload(
        SCHEMA_V1,
        &encode_payload_v1(statement),
        public_key,
        signature,
    )
}

/// Checks `signature` over payload bytes of `schema` with `public_key`,
/// strictly (no malleable or small-order encodings).
pub fn verify_payload(
    schema: u8,
    payload: &[u8],
    public_key: &[u8; 32],
    signature: &[u8; 64],
) -> Result<(), String> {
    let key = VerifyingKey::from_bytes(public_key)
        .map_err(|_| "the registered key is not a valid Ed25519 key".to_owned())?;
    key.verify_strict(
        &signing_message(schema, payload),
        &Signature::from_bytes(signature),
    )
    .map_err(|_| {
        "signature does not verify: it was made by another key or over another statement".to_owned()
    })
}

/// Checks that 32 bytes are a usable Ed25519 public key: a point on the
/// curve, not of small order (the identity `0100…00` is one).
pub fn check_public_key(public_key: &[u8; 32]) -> Result<(), String> {
    let key = VerifyingKey::from_bytes(public_key)
        .map_err(|_| "not a valid Ed25519 public key (not a point on the curve)".to_owned())?;
    if key.is_weak() {
        return Err("a weak (small-order) Ed25519 key is not accepted".to_owned());
    }
    Ok(())
}
