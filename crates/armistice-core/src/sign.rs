//! Signed statements: the canonical, domain-separated bytes a party signs,
//! and their Ed25519 verification.

use crate::entry::encode_payload;
use crate::event::Statement;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Prefix of every signed message, so that a statement's signature can
/// never be taken for a signature over anything else.
pub const STATEMENT_DOMAIN: &[u8] = b"armistice/statement/v1\n";

/// The exact bytes a party signs: [`STATEMENT_DOMAIN`] followed by the
/// statement's payload bytes (the event as submitted, `event_id` and
/// `occurred_at` included; nothing the ledger adds).
pub fn signing_message(statement: &Statement) -> Vec<u8> {
    let payload = encode_payload(statement);
    let mut message = Vec::with_capacity(STATEMENT_DOMAIN.len() + payload.len());
    message.extend_from_slice(STATEMENT_DOMAIN);
    message.extend_from_slice(&payload);
    message
}

/// Signs a statement.
pub fn sign_statement(statement: &Statement, key: &SigningKey) -> [u8; 64] {
    key.sign(&signing_message(statement)).to_bytes()
}

/// Checks `signature` over `statement` with `public_key`, strictly (no
/// malleable or small-order encodings).
pub fn verify_statement(
    statement: &Statement,
    public_key: &[u8; 32],
    signature: &[u8; 64],
) -> Result<(), String> {
    let key = VerifyingKey::from_bytes(public_key)
        .map_err(|_| "the registered key is not a valid Ed25519 key".to_owned())?;
    key.verify_strict(
        &signing_message(statement),
        &Signature::from_bytes(signature),
    )
    .map_err(|_| {
        "signature does not verify: it was made by another key or over another statement".to_owned()
    })
}

/// Checks that 32 bytes are a usable Ed25519 public key.
pub fn check_public_key(public_key: &[u8; 32]) -> Result<(), String> {
    let key = VerifyingKey::from_bytes(public_key)
        .map_err(|_| "not a valid Ed25519 public key".to_owned())?;
    if key.is_weak() {
        return Err("a weak (small-order) Ed25519 key is not accepted".to_owned());
    }
    Ok(())
}
