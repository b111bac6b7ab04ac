//! C2SP checkpoints (<https://c2sp.org/tlog-checkpoint>) signed as C2SP signed
//! notes (<https://c2sp.org/signed-note>) with Ed25519.
//!
//! ```
//! use armistice_merkle::checkpoint::{parse_note, sign, Checkpoint};
//! use ed25519_dalek::SigningKey;
//!
//! let key = SigningKey::from_bytes(&[7u8; 32]);
//! let checkpoint = Checkpoint::new("example.com/ledger", 8, [0u8; 32]);
//! let note = sign(&checkpoint, "example.com/ledger", &key)?.to_note();
//!
//! let parsed = parse_note(&note)?;
//! parsed.verify("example.com/ledger", &key.verifying_key())?;
//! assert_eq!(parsed.checkpoint, checkpoint);
//! # Ok::<(), armistice_merkle::checkpoint::CheckpointError>(())
//! ```

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::hash::Hash;

/// Signed-note signature type identifier for Ed25519.
pub const ED25519_SIGNATURE_TYPE: u8 = 0x01;

/// Prefix of every signature line: U+2014 EM DASH and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Errors from building, signing, parsing or verifying checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// A key name is empty or contains whitespace or `+` (signed-note rule).
    #[error("invalid key name {0:?}: must be non-empty without spaces or '+'")]
    InvalidKeyName(String),
    /// The origin line is empty or contains a newline or control character.
    #[error("invalid origin {0:?}")]
    InvalidOrigin(String),
    /// An extension line is empty or contains a newline or control character.
    #[error("invalid extension line {0:?}")]
    InvalidExtension(String),
    /// The note contains a control character other than newline (e.g. `\r`).
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    /// The note has no blank line followed by a newline-terminated signature block.
    #[error("note has no signature block after a blank line")]
    MissingSignatures,
    /// A signature line is not `— <name> <base64(key id || signature)>`.
    #[error("malformed signature line {0:?}")]
    MalformedSignatureLine(String),
    /// The body has fewer than the three required lines (origin, size, root).
    #[error("checkpoint body must have origin, size and root lines")]
    TruncatedBody,
    /// The size line is not a canonical decimal `u64`.
    #[error("invalid tree size {0:?}")]
    InvalidSize(String),
    /// The root line is not canonical standard base64 of 32 bytes.
    #[error("invalid root hash {0:?}")]
    InvalidRoot(String),
    /// No signature line carries the given key name and key id.
    #[error("no signature by key {0:?}")]
    NoMatchingSignature(String),
    /// A signature by the given key does not verify over the body.
    #[error("signature by key {0:?} is invalid")]
    InvalidSignature(String),
}

/// A transparency log checkpoint: origin, tree size, root hash and optional
/// extension lines (C2SP tlog-checkpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique identifier of the log, e.g. `example.com/ledger`.
    pub origin: String,
    /// Number of leaves in the tree.
    pub size: u64,
    /// Root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Extra body lines after the root, kept verbatim because they are signed.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The signed body: `<origin>\n<size>\n<base64 root>\n`, then each extension line.
    pub fn body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Checks that [`body`](Self::body) will parse back to this checkpoint.
    pub(crate) fn validate(&self) -> Result<(), CheckpointError> {
        if !is_valid_line(&self.origin) {
            return Err(CheckpointError::InvalidOrigin(self.origin.clone()));
        }
        match self.extensions.iter().find(|line| !is_valid_line(line)) {
            Some(line) => Err(CheckpointError::InvalidExtension(line.clone())),
            None => Ok(()),
        }
    }

    /// Parses a body (every line newline-terminated, no signatures).
    fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let mut lines = body.strip_suffix('\n').unwrap_or(body).split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::TruncatedBody);
        };
        let checkpoint = Self {
            origin: origin.to_owned(),
            size: parse_size(size)?,
            root: parse_root(root)?,
            extensions: lines.map(str::to_owned).collect(),
        };
        checkpoint.validate()?;
        Ok(checkpoint)
    }
}

/// One signature line of a signed note. Signatures by unknown keys are kept so
/// that a note can be re-serialised unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The signer's key name.
    pub key_name: String,
    /// The 4-byte key id (see [`key_id`]).
    pub key_id: [u8; 4],
    /// The signature bytes after the key id (64 bytes for Ed25519).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line without its newline: `— <key_name> <base64(key_id || signature)>`.
    pub fn to_line(&self) -> String {
        let mut blob = self.key_id.to_vec();
        blob.extend_from_slice(&self.signature);
        format!(
            "{SIGNATURE_PREFIX}{} {}",
            self.key_name,
            BASE64.encode(blob)
        )
    }
}

/// A checkpoint with one or more signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The signed checkpoint.
    pub checkpoint: Checkpoint,
    /// Signature lines, in note order.
    pub signatures: Vec<NoteSignature>,
}

/// Signed-note key id: the first 4 bytes of
/// `SHA-256(key_name || 0x0A || 0x01 || public_key)` for an Ed25519 key.
pub fn key_id(key_name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    typed_key_id(key_name, ED25519_SIGNATURE_TYPE, public_key)
}

/// Signed-note key id of a key of any signature type: the first 4 bytes of
/// `SHA-256(key_name || 0x0A || signature_type || public_key)` (e.g. `0x04`
/// for a C2SP `cosignature/v1` witness key).
pub fn typed_key_id(key_name: &str, signature_type: u8, public_key: &[u8]) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(key_name.as_bytes())
        .chain_update([b'\n', signature_type])
        .chain_update(public_key)
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Signs `checkpoint` with Ed25519 under `key_name`.
pub fn sign(
    checkpoint: &Checkpoint,
    key_name: &str,
    key: &SigningKey,
) -> Result<SignedCheckpoint, CheckpointError> {
    checkpoint.validate()?;
    let mut signed = SignedCheckpoint {
        checkpoint: checkpoint.clone(),
        signatures: Vec::new(),
    };
    signed.add_signature(key_name, key)?;
    Ok(signed)
}

impl SignedCheckpoint {
    /// Appends another Ed25519 signature (e.g. a witness cosignature) over the body.
    pub fn add_signature(
        &mut self,
        key_name: &str,
        key: &SigningKey,
    ) -> Result<(), CheckpointError> {
        validate_key_name(key_name)?;
        let signature = key.sign(self.checkpoint.body().as_bytes());
        self.signatures.push(NoteSignature {
            key_name: key_name.to_owned(),
            key_id: key_id(key_name, key.verifying_key().as_bytes()),
            signature: signature.to_bytes().to_vec(),
        });
        Ok(())
    }

    /// The signed note: body, a blank line, then one line per signature:
    /// `— <key_name> <base64(key_id || signature)>\n`.
    pub fn to_note(&self) -> String {
        let mut note = self.checkpoint.body();
        note.push('\n');
        for sig in &self.signatures {
            note.push_str(&sig.to_line());
            note.push('\n');
        }
        note
    }

    /// Verifies the signature(s) by `key_name` / `key` with `verify_strict`.
    ///
    /// At least one signature line must match both the name and the key id, and
    /// every matching line must verify; lines of other keys are ignored.
    pub fn verify(&self, key_name: &str, key: &VerifyingKey) -> Result<(), CheckpointError> {
        validate_key_name(key_name)?;
        let id = key_id(key_name, key.as_bytes());
        let body = self.checkpoint.body();
        let mut found = false;
        for sig in self
            .signatures
            .iter()
            .filter(|sig| sig.key_name == key_name && sig.key_id == id)
        {
            found = true;
            let valid = Signature::from_slice(&sig.signature)
                .is_ok_and(|s| key.verify_strict(body.as_bytes(), &s).is_ok());
            if !valid {
                return Err(CheckpointError::InvalidSignature(key_name.to_owned()));
            }
        }
        if !found {
            return Err(CheckpointError::NoMatchingSignature(key_name.to_owned()));
        }
        Ok(())
    }
}

/// Parses a signed checkpoint note strictly (C2SP signed-note and tlog-checkpoint).
///
/// Signatures are not verified here; call [`SignedCheckpoint::verify`].
pub fn parse_note(text: &str) -> Result<SignedCheckpoint, CheckpointError> {
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(CheckpointError::ControlCharacter);
    }
    // The signature block follows the last blank line and ends with a newline.
    let split = text
        .rfind("\n\n")
        .ok_or(CheckpointError::MissingSignatures)?;
    let (body, signature_block) = (&text[..=split], &text[split + 2..]);
    let lines = signature_block
        .strip_suffix('\n')
        .filter(|block| !block.is_empty())
        .ok_or(CheckpointError::MissingSignatures)?;
    let signatures = lines
        .split('\n')
        .map(parse_signature_line)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SignedCheckpoint {
        checkpoint: Checkpoint::parse_body(body)?,
        signatures,
    })
}

/// Parses one signature line `— <name> <base64(key id || signature)>` (without
/// its newline), as in a note's signature block or a witness's response.
pub fn parse_signature_line(line: &str) -> Result<NoteSignature, CheckpointError> {
    let malformed = || CheckpointError::MalformedSignatureLine(line.to_owned());
    let rest = line.strip_prefix(SIGNATURE_PREFIX).ok_or_else(malformed)?;
    let (name, encoded) = rest.split_once(' ').ok_or_else(malformed)?;
    validate_key_name(name).map_err(|_| malformed())?;
    let blob = BASE64.decode(encoded).map_err(|_| malformed())?;
    // At least the 4-byte key id and one signature byte (as Go's note package).
    match blob.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => Ok(NoteSignature {
            key_name: name.to_owned(),
            key_id: *id,
            signature: signature.to_vec(),
        }),
        _ => Err(malformed()),
    }
}

/// Canonical decimal: digits only, no sign, no leading zeros except `"0"`.
pub fn parse_size(line: &str) -> Result<u64, CheckpointError> {
    let invalid = || CheckpointError::InvalidSize(line.to_owned());
    let canonical = !line.is_empty()
        && line.bytes().all(|b| b.is_ascii_digit())
        && (line == "0" || !line.starts_with('0'));
    if !canonical {
        return Err(invalid());
    }
    line.parse().map_err(|_| invalid())
}

/// Standard base64 (padded, canonical trailing bits) of exactly 32 bytes.
pub fn parse_root(line: &str) -> Result<Hash, CheckpointError> {
    BASE64
        .decode(line)
        .ok()
        .and_then(|bytes| Hash::try_from(bytes).ok())
        .ok_or_else(|| CheckpointError::InvalidRoot(line.to_owned()))
}

/// Signed-note key names: non-empty, no Unicode whitespace, no `+`; control
/// characters are refused too because the note could not be parsed back.
fn validate_key_name(name: &str) -> Result<(), CheckpointError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        return Err(CheckpointError::InvalidKeyName(name.to_owned()));
    }
    Ok(())
}

/// A body line: non-empty and free of control characters (so no newline either).
fn is_valid_line(line: &str) -> bool {
    !line.is_empty() && !line.chars().any(char::is_control)
}
