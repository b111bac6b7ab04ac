//! Signed-note keys in the text encodings that Go's `golang.org/x/mod/sumdb/note`
//! and other transparency-log tooling read and write:
//!
//! - a verifier key (public): `<name>+<key id, 8 hex>+<base64(type || 32-byte Ed25519 key)>`
//! - a signer key (secret): `PRIVATE+KEY+<name>+<key id, 8 hex>+<base64(type || 32-byte seed)>`
//!
//! The type byte is [`SignatureType::Ed25519`] (`0x01`, signed-note Ed25519
//! signatures, e.g. a log's key) or [`SignatureType::CosignatureV1`] (`0x04`,
//! C2SP tlog-cosignature timestamped Ed25519, a witness's public key); the key
//! id hashes the type byte in, so one Ed25519 key has a different id under each.
//!
//! The two cannot be confused: each parser refuses the other kind and says
//! which kind it was given ([`KeyKind`]).
//!
//! ```
//! use armistice_merkle::note::{NoteSigner, NoteVerifier};
//!
//! let signer = NoteSigner::from_seed("example.com/log", [7u8; 32])?;
//! let vkey = signer.verifier().to_string();
//! let verifier = NoteVerifier::parse(&vkey)?;
//! assert_eq!(verifier.name(), "example.com/log");
//! assert!(verifier.verify(b"text\n", &signer.sign(b"text\n")));
//! assert!(NoteVerifier::parse(&signer.to_secret_string()).is_err());
//! # Ok::<(), armistice_merkle::note::NoteKeyError>(())
//! ```

use crate::checkpoint::{typed_key_id, ED25519_SIGNATURE_TYPE};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use std::fmt;

const PRIVATE_PREFIX: &str = "PRIVATE+KEY+";

/// Signed-note signature type identifier of C2SP `cosignature/v1`
/// (timestamped Ed25519 checkpoint cosignatures).
pub const COSIGNATURE_V1_SIGNATURE_TYPE: u8 = 0x04;

/// The signature types of the Ed25519 keys this module reads and writes: the
/// byte after which a key's bytes are encoded, and hashed into its key id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// `0x01`: signed-note Ed25519 signatures over the note text.
    Ed25519,
    /// `0x04`: C2SP tlog-cosignature `cosignature/v1`, timestamped Ed25519.
    CosignatureV1,
}

impl SignatureType {
    /// The type identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => ED25519_SIGNATURE_TYPE,
            SignatureType::CosignatureV1 => COSIGNATURE_V1_SIGNATURE_TYPE,
        }
    }

    /// The type of an identifier byte, if it is one of the two above.
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            ED25519_SIGNATURE_TYPE => Some(SignatureType::Ed25519),
            COSIGNATURE_V1_SIGNATURE_TYPE => Some(SignatureType::CosignatureV1),
            _ => None,
        }
    }
}

/// What kind of key a piece of text holds, for error messages that say
/// what was given when another kind was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `PRIVATE+KEY+…`: a signer (secret) key.
    Signer,
    /// `<name>+<id>+<key>`: a verifier (public) key.
    Verifier,
    /// 64 hex characters: a bare key of the old Armistice files, secret or
    /// public (the text alone cannot tell).
    BareHex,
    /// Nothing recognisable.
    Unknown,
}

impl KeyKind {
    /// Guesses the kind of `text` (surrounding whitespace ignored).
    pub fn of(text: &str) -> KeyKind {
        let text = text.trim();
        if text.starts_with(PRIVATE_PREFIX) {
            KeyKind::Signer
        } else if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            KeyKind::BareHex
        } else if text.splitn(3, '+').count() == 3 {
            KeyKind::Verifier
        } else {
            KeyKind::Unknown
        }
    }

    /// How a message names this kind.
    pub fn describe(self) -> &'static str {
        match self {
            KeyKind::Signer => "a secret (signer) key, PRIVATE+KEY+…",
            KeyKind::Verifier => "a public (verifier) key, <name>+<id>+<key>",
            KeyKind::BareHex => "a bare 64-hex-character key of the old format",
            KeyKind::Unknown => "no key this program can read",
        }
    }
}

/// Why a key's text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoteKeyError {
    /// Another kind of key than the one asked for.
    #[error("expected {expected}, but this is {got}")]
    WrongKind {
        /// What was asked for.
        expected: &'static str,
        /// What the text holds.
        got: &'static str,
    },
    /// The text has the right shape but a part of it is wrong.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which kind of key.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A key name with spaces, `+` or control characters, or empty.
    #[error("invalid key name {0:?}: it must be non-empty, without spaces or '+'")]
    InvalidName(String),
}

fn check_name(name: &str) -> Result<(), NoteKeyError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(NoteKeyError::InvalidName(name.to_owned()));
    }
    Ok(())
}

/// The parts of `<name>+<hex id>+<base64(type || key)>`.
struct KeyParts {
    name: String,
    id: [u8; 4],
    signature_type: SignatureType,
    key: [u8; 32],
}

/// Splits `<name>+<hex id>+<base64 key>` and checks the id and algorithm.
fn parse_parts(text: &str, what: &'static str) -> Result<KeyParts, NoteKeyError> {
    let malformed = |detail: &str| NoteKeyError::Malformed {
        what,
        detail: detail.to_owned(),
    };
    // The base64 key may itself hold '+': only the first two split.
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(malformed("expected <name>+<key id>+<key>"));
    };
    check_name(name)?;
    let id_ok = id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let id: [u8; 4] = id_ok
        .then(|| hex::decode(id).ok())
        .flatten()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| malformed("the key id is not 8 hex characters"))?;
    let key = BASE64
        .decode(key)
        .map_err(|_| malformed("the key is not base64"))?;
    let (&type_byte, rest) = key
        .split_first()
        .ok_or_else(|| malformed("the key is empty"))?;
    let signature_type = SignatureType::from_byte(type_byte).ok_or_else(|| {
        malformed(&format!(
            "algorithm {type_byte:#04x} is not Ed25519 (0x01) nor cosignature/v1 (0x04)"
        ))
    })?;
    let key: [u8; 32] = rest
        .try_into()
        .map_err(|_| malformed("an Ed25519 key is 32 bytes"))?;
    Ok(KeyParts {
        name: name.to_owned(),
        id,
        signature_type,
        key,
    })
}

/// A named Ed25519 verifier key of a given [`SignatureType`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
    signature_type: SignatureType,
}

impl NoteVerifier {
    /// A signed-note Ed25519 (`0x01`) verifier for `public_key` under `name`.
    pub fn new(name: &str, public_key: &[u8; 32]) -> Result<Self, NoteKeyError> {
        Self::with_type(name, public_key, SignatureType::Ed25519)
    }

    /// A verifier for `public_key` under `name` for signatures of `signature_type`
    /// (e.g. [`SignatureType::CosignatureV1`] for a witness).
    pub fn with_type(
        name: &str,
        public_key: &[u8; 32],
        signature_type: SignatureType,
    ) -> Result<Self, NoteKeyError> {
        check_name(name)?;
        let key = VerifyingKey::from_bytes(public_key).map_err(|_| NoteKeyError::Malformed {
            what: "verifier key",
            detail: "not a valid Ed25519 public key".into(),
        })?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key,
            signature_type,
        })
    }

    /// Parses `<name>+<id>+<base64(type || key)>` of type `0x01` or `0x04`;
    /// refuses a secret key, saying so. Check [`signature_type`](Self::signature_type)
    /// where only one type makes sense.
    pub fn parse(text: &str) -> Result<Self, NoteKeyError> {
        let text = text.trim();
        if KeyKind::of(text) != KeyKind::Verifier {
            return Err(NoteKeyError::WrongKind {
                expected: KeyKind::Verifier.describe(),
                got: KeyKind::of(text).describe(),
            });
        }
        let parts = parse_parts(text, "verifier key")?;
        let verifier = NoteVerifier::with_type(&parts.name, &parts.key, parts.signature_type)?;
        let id = parts.id;
        if verifier.key_id() != id {
            return Err(NoteKeyError::Malformed {
                what: "verifier key",
                detail: format!(
                    "its key id {} does not match its name and key ({})",
                    hex::encode(id),
                    hex::encode(verifier.key_id())
                ),
            });
        }
        Ok(verifier)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id (it depends on the signature type).
    pub fn key_id(&self) -> [u8; 4] {
        typed_key_id(&self.name, self.signature_type.byte(), self.key.as_bytes())
    }

    /// The signature type this key verifies.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The key for ed25519-dalek.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Whether `signature` is this key's over `message` (strict verification).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_slice(signature).is_ok_and(|s| self.key.verify_strict(message, &s).is_ok())
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = vec![self.signature_type.byte()];
        key.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id()),
            BASE64.encode(key)
        )
    }
}

/// A named Ed25519 signer key of a given [`SignatureType`]. Its `Debug` form
/// hides the secret.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    signature_type: SignatureType,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSigner({})", self.verifier())
    }
}

impl NoteSigner {
    /// A signed-note Ed25519 (`0x01`) signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, NoteKeyError> {
        Self::from_seed_with_type(name, seed, SignatureType::Ed25519)
    }

    /// A signer of `signature_type` from a 32-byte Ed25519 seed.
    pub fn from_seed_with_type(
        name: &str,
        seed: [u8; 32],
        signature_type: SignatureType,
    ) -> Result<Self, NoteKeyError> {
        check_name(name)?;
        Ok(NoteSigner {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
            signature_type,
        })
    }

    /// A signer for an ed25519-dalek key.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteKeyError> {
        Self::from_seed(name, key.to_bytes())
    }

    /// Parses `PRIVATE+KEY+<name>+<id>+<base64(type || seed)>` of type `0x01` or
    /// `0x04`; refuses a public key, saying so.
    pub fn parse(text: &str) -> Result<Self, NoteKeyError> {
        let text = text.trim();
        let Some(rest) = text.strip_prefix(PRIVATE_PREFIX) else {
            return Err(NoteKeyError::WrongKind {
                expected: KeyKind::Signer.describe(),
                got: KeyKind::of(text).describe(),
            });
        };
        let parts = parse_parts(rest, "secret key")?;
        let signer = NoteSigner::from_seed_with_type(&parts.name, parts.key, parts.signature_type)?;
        if signer.verifier().key_id() != parts.id {
            return Err(NoteKeyError::Malformed {
                what: "secret key",
                detail: "its key id does not match its name and key".into(),
            });
        }
        Ok(signer)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signature type this key signs as.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The matching verifier key (of the same signature type).
    pub fn verifier(&self) -> NoteVerifier {
        self.verifier_with_type(self.signature_type)
    }

    /// The verifier key of this signer's name and Ed25519 key under another
    /// signature type: a witness holding a signed-note secret key publishes
    /// `verifier_with_type(SignatureType::CosignatureV1)` as its vkey.
    pub fn verifier_with_type(&self, signature_type: SignatureType) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            signature_type,
        }
    }

    /// The key for ed25519-dalek.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }

    /// The secret text form, `PRIVATE+KEY+…`.
    pub fn to_secret_string(&self) -> String {
        let mut key = vec![self.signature_type.byte()];
        key.extend_from_slice(&self.key.to_bytes());
        format!(
            "{PRIVATE_PREFIX}{}+{}+{}",
            self.name,
            hex::encode(self.verifier().key_id()),
            BASE64.encode(key)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example keys of Go's golang.org/x/mod/sumdb/note documentation.
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    #[test]
    fn go_example_keys_parse_and_match() {
        let signer = NoteSigner::parse(GO_SKEY).unwrap();
        let verifier = NoteVerifier::parse(GO_VKEY).unwrap();
        assert_eq!(signer.verifier(), verifier);
        assert_eq!(signer.to_secret_string(), GO_SKEY);
        assert_eq!(verifier.to_string(), GO_VKEY);
        assert_eq!(hex::encode(verifier.key_id()), "c74f20a3");
    }

    /// The example of the C2SP signed-note specification, "Verifier keys".
    #[test]
    fn the_signed_note_spec_example_verifies() {
        let verifier = NoteVerifier::parse(
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        )
        .unwrap();
        assert_eq!(verifier.signature_type(), SignatureType::Ed25519);
        let blob = BASE64
            .decode("Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=")
            .unwrap();
        assert_eq!(blob[..4], verifier.key_id());
        assert!(verifier.verify(b"This is an example message.\n", &blob[4..]));
        assert!(!verifier.verify(b"This is an example message!\n", &blob[4..]));
    }

    #[test]
    fn cosigner_keys_carry_type_0x04_in_text_and_id() {
        let signer = NoteSigner::from_seed("witness.example/w1", [3; 32]).unwrap();
        let ed = signer.verifier();
        let cosigner = signer.verifier_with_type(SignatureType::CosignatureV1);
        assert_ne!(ed.key_id(), cosigner.key_id());
        assert_eq!(
            NoteVerifier::parse(&cosigner.to_string()).unwrap(),
            cosigner
        );
        // A secret key of type 0x04 round-trips too, and keeps its type.
        let typed =
            NoteSigner::from_seed_with_type("w", [3; 32], SignatureType::CosignatureV1).unwrap();
        let parsed = NoteSigner::parse(&typed.to_secret_string()).unwrap();
        assert_eq!(parsed.signature_type(), SignatureType::CosignatureV1);
        assert_eq!(parsed.verifier(), typed.verifier());
    }

    #[test]
    fn the_kinds_are_never_confused() {
        let err = NoteSigner::parse(GO_VKEY).unwrap_err().to_string();
        assert!(err.contains("public (verifier) key"), "{err}");
        let err = NoteVerifier::parse(GO_SKEY).unwrap_err().to_string();
        assert!(err.contains("secret (signer) key"), "{err}");
        let hex = "77".repeat(32);
        assert_eq!(KeyKind::of(&hex), KeyKind::BareHex);
        assert!(NoteSigner::parse(&hex).is_err());
        assert!(NoteVerifier::parse(&hex).is_err());
    }

    #[test]
    fn a_wrong_key_id_or_algorithm_is_refused() {
        let bad_id = GO_VKEY.replace("c74f20a3", "c74f20a4");
        assert!(NoteVerifier::parse(&bad_id)
            .unwrap_err()
            .to_string()
            .contains("key id"));
        let signer = NoteSigner::from_seed("n", [1; 32]).unwrap();
        let vkey = signer.verifier().to_string();
        let (head, key) = vkey.rsplit_once('+').unwrap();
        let mut bytes = BASE64.decode(key).unwrap();
        bytes[0] = 0x02;
        let other = format!("{head}+{}", BASE64.encode(bytes));
        assert!(NoteVerifier::parse(&other)
            .unwrap_err()
            .to_string()
            .contains("not Ed25519"));
        assert!(NoteSigner::from_seed("a b", [1; 32]).is_err());
    }
}
