//! C2SP tlog-cosignature `cosignature/v1` (<https://c2sp.org/tlog-cosignature>):
//! timestamped Ed25519 cosignatures of checkpoints by witnesses, signature
//! type `0x04`, and the quorum check a log client makes with them.
//!
//! A cosignature is a signed-note signature line
//! `— <witness name> base64(key id || u64 timestamp || 64-byte signature)` whose
//! key id is `SHA-256(name || "\n" || 0x04 || public key)[:4]` and whose
//! signature is over
//!
//! ```text
//! cosignature/v1
//! time <timestamp>
//! <the whole checkpoint body, extension lines included>
//! ```
//!
//! A witness's public key is published as a vkey of type `0x04`
//! (`<name>+<id>+base64(0x04 || key)`, [`NoteVerifier`] with
//! [`SignatureType::CosignatureV1`]).
//!
//! ```
//! use armistice_merkle::checkpoint::{sign, Checkpoint};
//! use armistice_merkle::cosignature::{cosign, cosigner_verifier, verify_quorum};
//! use armistice_merkle::note::{NoteSigner, NoteVerifier};
//!
//! let log = NoteSigner::from_seed("example.com/log", [1u8; 32])?;
//! let witness = NoteSigner::from_seed("witness.example/w1", [2u8; 32])?;
//! let checkpoint = Checkpoint::new("example.com/log", 3, [9u8; 32]);
//! let mut signed = sign(&checkpoint, log.name(), log.signing_key())?;
//!
//! let cosignature = cosign(&signed.checkpoint, &witness, 1_700_000_000)?;
//! signed.signatures.push(cosignature.to_note_signature());
//!
//! // A client trusts the witness through its published vkey (type 0x04).
//! let vkey = cosigner_verifier(&witness).to_string(); // name+id+base64(0x04 || key)
//! let vkey = NoteVerifier::parse(&vkey)?;
//! assert_eq!(verify_quorum(&signed, &[vkey], 1)?, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;

use crate::checkpoint::{
    parse_signature_line, typed_key_id, Checkpoint, NoteSignature, SignedCheckpoint,
};
use crate::note::{NoteSigner, NoteVerifier, SignatureType, COSIGNATURE_V1_SIGNATURE_TYPE};

/// The first line of the signed message: domain separation.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1";

/// The largest timestamp a cosignature may carry (the spec's `2^63 - 1`).
pub const TIMESTAMP_MAX_S: u64 = i64::MAX as u64;

/// Bytes after the key id in a `cosignature/v1` signature line: an 8-byte
/// big-endian timestamp and a 64-byte Ed25519 signature.
const SIGNATURE_BYTES: usize = 8 + 64;

/// Why a cosignature could not be made, read or accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// The timestamp is zero or above `2^63 - 1` (a witness must not omit it).
    #[error("cosignature timestamp {0} is out of range (1 ..= 2^63 - 1)")]
    TimestampOutOfRange(u64),
    /// The checkpoint body would not parse back (bad origin or extension line).
    #[error("checkpoint cannot be cosigned: {0}")]
    InvalidCheckpoint(#[from] crate::checkpoint::CheckpointError),
    /// A key of another signature type was given where a `cosignature/v1`
    /// (`0x04`) witness key is expected.
    #[error("key {0:?} is not a cosignature/v1 (type 0x04) witness key")]
    NotACosignerKey(String),
    /// A signature line of the witness (name and key id match) is not
    /// 4 + 8 + 64 bytes long.
    #[error("cosignature by {0:?} has the wrong length")]
    Malformed(String),
    /// A signature line of the witness (name and key id match) does not verify.
    #[error("cosignature by {0:?} does not verify")]
    InvalidSignature(String),
    /// The note carries no signature line with the witness's name and key id.
    #[error("no cosignature by {0:?}")]
    Missing(String),
    /// Fewer distinct witnesses than required cosigned the checkpoint.
    #[error("{valid} distinct witness cosignature(s), {required} required")]
    QuorumNotMet {
        /// Distinct witnesses with a valid cosignature.
        valid: usize,
        /// The threshold asked for.
        required: usize,
    },
}

/// One verified or freshly made `cosignature/v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's key name.
    pub key_name: String,
    /// The witness's `0x04` key id.
    pub key_id: [u8; 4],
    /// POSIX seconds at which the witness cosigned.
    pub timestamp: u64,
    /// The Ed25519 signature over [`signed_message`].
    pub signature: [u8; 64],
}

impl Cosignature {
    /// As a note signature (`signature` = timestamp || Ed25519 signature).
    pub fn to_note_signature(&self) -> NoteSignature {
        let mut signature = Vec::with_capacity(SIGNATURE_BYTES);
        signature.extend_from_slice(&self.timestamp.to_be_bytes());
        signature.extend_from_slice(&self.signature);
        NoteSignature {
            key_name: self.key_name.clone(),
            key_id: self.key_id,
            signature,
        }
    }

    /// The note signature line, without its newline:
    /// `— <name> base64(key id || timestamp || signature)`.
    pub fn to_line(&self) -> String {
        self.to_note_signature().to_line()
    }

    /// Reads the timestamp and signature out of a note signature, checking
    /// only the shape (not the key id nor the signature).
    pub fn from_note_signature(sig: &NoteSignature) -> Result<Self, CosignatureError> {
        let malformed = || CosignatureError::Malformed(sig.key_name.clone());
        let (timestamp, signature) = sig
            .signature
            .split_first_chunk::<8>()
            .ok_or_else(malformed)?;
        let signature: [u8; 64] = signature.try_into().map_err(|_| malformed())?;
        let timestamp = u64::from_be_bytes(*timestamp);
        if timestamp > TIMESTAMP_MAX_S {
            return Err(CosignatureError::TimestampOutOfRange(timestamp));
        }
        Ok(Cosignature {
            key_name: sig.key_name.clone(),
            key_id: sig.key_id,
            timestamp,
            signature,
        })
    }

    /// Parses a signature line (without its newline) as a cosignature.
    pub fn parse_line(line: &str) -> Result<Self, CosignatureError> {
        let sig = parse_signature_line(line)?;
        Self::from_note_signature(&sig)
    }
}

/// The `cosignature/v1` key id: `SHA-256(name || 0x0A || 0x04 || key)[:4]`.
pub fn cosigner_key_id(key_name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    typed_key_id(key_name, COSIGNATURE_V1_SIGNATURE_TYPE, public_key)
}

/// The vkey under which `signer`'s cosignatures verify: its name and Ed25519
/// key with type `0x04`, whatever type its secret key text carried.
pub fn cosigner_verifier(signer: &NoteSigner) -> NoteVerifier {
    signer.verifier_with_type(SignatureType::CosignatureV1)
}

/// The message a `cosignature/v1` signs: the header line, `time <timestamp>`,
/// then the checkpoint body.
pub fn signed_message(checkpoint: &Checkpoint, timestamp: u64) -> String {
    format!(
        "{COSIGNATURE_V1_HEADER}\ntime {timestamp}\n{}",
        checkpoint.body()
    )
}

/// Cosigns `checkpoint` with `witness`'s Ed25519 key at `timestamp` (POSIX
/// seconds, from the caller's clock). The key id is the `0x04` one whatever
/// type the signer's text form carried.
///
/// The caller is the witness: it must have checked the checkpoint's log
/// signature and its consistency with what it cosigned before.
pub fn cosign(
    checkpoint: &Checkpoint,
    witness: &NoteSigner,
    timestamp: u64,
) -> Result<Cosignature, CosignatureError> {
    if timestamp == 0 || timestamp > TIMESTAMP_MAX_S {
        return Err(CosignatureError::TimestampOutOfRange(timestamp));
    }
    // Signs only what parses back, so a verifier sees the same body.
    checkpoint.validate()?;
    let verifier = cosigner_verifier(witness);
    Ok(Cosignature {
        key_name: witness.name().to_owned(),
        key_id: verifier.key_id(),
        timestamp,
        signature: witness.sign(signed_message(checkpoint, timestamp).as_bytes()),
    })
}

/// Verifies `witness`'s cosignature(s) on `signed` and returns them.
///
/// Lines whose name and key id are not the witness's are ignored (signed-note);
/// every line that matches must be well-formed and verify, else the whole note
/// is refused. `witness` must be a `0x04` key.
pub fn verify_cosignature(
    signed: &SignedCheckpoint,
    witness: &NoteVerifier,
) -> Result<Vec<Cosignature>, CosignatureError> {
    if witness.signature_type() != SignatureType::CosignatureV1 {
        return Err(CosignatureError::NotACosignerKey(witness.to_string()));
    }
    let id = witness.key_id();
    let mut found = Vec::new();
    for sig in signed
        .signatures
        .iter()
        .filter(|sig| sig.key_name == witness.name() && sig.key_id == id)
    {
        let cosignature = Cosignature::from_note_signature(sig)?;
        let message = signed_message(&signed.checkpoint, cosignature.timestamp);
        if !witness.verify(message.as_bytes(), &cosignature.signature) {
            return Err(CosignatureError::InvalidSignature(
                witness.name().to_owned(),
            ));
        }
        found.push(cosignature);
    }
    if found.is_empty() {
        return Err(CosignatureError::Missing(witness.name().to_owned()));
    }
    Ok(found)
}

/// Counts the distinct witnesses of `witnesses` that validly cosigned `signed`
/// and requires at least `threshold` of them; returns the count.
///
/// Witnesses are told apart by their Ed25519 public key, not their name:
/// `cosignature/v1` does not sign the name, so one key listed under two names
/// counts once. A witness without a line is not counted; a line of a listed
/// witness that fails to verify refuses the whole note
/// ([`CosignatureError::InvalidSignature`]), as signed-note recommends.
/// Signature lines of unknown keys (the log's own, other witnesses) are ignored.
pub fn verify_quorum(
    signed: &SignedCheckpoint,
    witnesses: &[NoteVerifier],
    threshold: usize,
) -> Result<usize, CosignatureError> {
    let mut keys = HashSet::new();
    for witness in witnesses {
        match verify_cosignature(signed, witness) {
            Ok(_) => {
                keys.insert(witness.public_key());
            }
            Err(CosignatureError::Missing(_)) => {}
            Err(other) => return Err(other),
        }
    }
    if keys.len() < threshold {
        return Err(CosignatureError::QuorumNotMet {
            valid: keys.len(),
            required: threshold,
        });
    }
    Ok(keys.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{parse_note, sign};
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;

    /// The bytes of a signature line's base64 part.
    fn blob(line: &str) -> Vec<u8> {
        BASE64.decode(line.rsplit(' ').next().unwrap()).unwrap()
    }

    /// The cosigned checkpoint of the tlog-cosignature specification.
    const SPEC_NOTE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
        \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
        \u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

    fn witness(seed: u8, name: &str) -> NoteSigner {
        NoteSigner::from_seed(name, [seed; 32]).unwrap()
    }

    fn log_checkpoint() -> SignedCheckpoint {
        let log = witness(1, "example.com/log");
        let mut checkpoint = Checkpoint::new("example.com/log", 42, [5u8; 32]);
        checkpoint.extensions.push("extension line".into());
        sign(&checkpoint, log.name(), log.signing_key()).unwrap()
    }

    #[test]
    fn the_spec_example_parses_with_its_timestamp() {
        let note = parse_note(SPEC_NOTE).unwrap();
        let line = note.signatures[1].to_line();
        let cosignature = Cosignature::parse_line(&line).unwrap();
        assert_eq!(cosignature.key_name, "witness.example.com/w1");
        // The spec's signed message says `time 1679315147`.
        assert_eq!(cosignature.timestamp, 1_679_315_147);
        assert_eq!(cosignature.to_line(), line);
        assert_eq!(blob(&line).len(), 4 + SIGNATURE_BYTES);
        // The spec's message for that timestamp, byte for byte.
        assert_eq!(
            signed_message(&note.checkpoint, 1_679_315_147),
            "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n\
             CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
        );
    }

    #[test]
    fn a_cosignature_verifies_and_binds_body_and_time() {
        let mut signed = log_checkpoint();
        let w = witness(2, "witness.example/w1");
        let cosig = cosign(&signed.checkpoint, &w, 1_700_000_000).unwrap();
        assert_eq!(
            cosig.key_id,
            cosigner_key_id(w.name(), &w.verifier().public_key())
        );
        assert_ne!(
            cosig.key_id,
            w.verifier().key_id(),
            "0x04 id differs from 0x01"
        );
        signed.signatures.push(cosig.to_note_signature());
        let vkey = cosigner_verifier(&w);
        assert_eq!(
            verify_cosignature(&signed, &vkey).unwrap(),
            vec![cosig.clone()]
        );
        // Round trip through the note text.
        let reparsed = parse_note(&signed.to_note()).unwrap();
        assert!(verify_cosignature(&reparsed, &vkey).is_ok());

        // Another timestamp under the same signature fails.
        let mut moved = cosig.clone();
        moved.timestamp += 1;
        let mut forged = log_checkpoint();
        forged.signatures.push(moved.to_note_signature());
        assert_eq!(
            verify_cosignature(&forged, &vkey),
            Err(CosignatureError::InvalidSignature(w.name().into()))
        );
        // Another body fails too.
        let mut other = signed.clone();
        other.checkpoint.extensions.clear();
        assert!(matches!(
            verify_cosignature(&other, &vkey),
            Err(CosignatureError::InvalidSignature(_))
        ));
        // A 0x01 key is not a cosigner key.
        assert!(matches!(
            verify_cosignature(&signed, &w.verifier()),
            Err(CosignatureError::NotACosignerKey(_))
        ));
    }

    #[test]
    fn timestamps_zero_or_above_i64_are_refused() {
        let signed = log_checkpoint();
        let w = witness(2, "w");
        assert!(cosign(&signed.checkpoint, &w, 0).is_err());
        assert!(cosign(&signed.checkpoint, &w, TIMESTAMP_MAX_S + 1).is_err());
        assert!(cosign(&signed.checkpoint, &w, TIMESTAMP_MAX_S).is_ok());
        let mut sig = cosign(&signed.checkpoint, &w, 5)
            .unwrap()
            .to_note_signature();
        sig.signature[0] = 0x80;
        assert!(matches!(
            Cosignature::from_note_signature(&sig),
            Err(CosignatureError::TimestampOutOfRange(_))
        ));
        sig.signature.pop();
        assert!(matches!(
            Cosignature::from_note_signature(&sig),
            Err(CosignatureError::Malformed(_))
        ));
    }

    #[test]
    fn the_quorum_counts_distinct_keys_and_ignores_unknown_lines() {
        let mut signed = log_checkpoint();
        let (a, b, c) = (
            witness(2, "a.example/w"),
            witness(3, "b.example/w"),
            witness(4, "c"),
        );
        for w in [&a, &b] {
            let cosig = cosign(&signed.checkpoint, w, 1_700_000_000).unwrap();
            signed.signatures.push(cosig.to_note_signature());
        }
        // An unknown witness's line and garbage under a known name but another id.
        let stranger = witness(9, "stranger");
        signed.signatures.push(
            cosign(&signed.checkpoint, &stranger, 7)
                .unwrap()
                .to_note_signature(),
        );
        signed.signatures.push(NoteSignature {
            key_name: "a.example/w".into(),
            key_id: [0, 0, 0, 0],
            signature: vec![1; 72],
        });
        let keys: Vec<_> = [&a, &b, &c].iter().map(|w| cosigner_verifier(w)).collect();
        assert_eq!(verify_quorum(&signed, &keys, 2), Ok(2));
        assert_eq!(
            verify_quorum(&signed, &keys, 3),
            Err(CosignatureError::QuorumNotMet {
                valid: 2,
                required: 3
            })
        );
        // The same key under a second name counts once.
        let alias = NoteVerifier::with_type(
            "alias",
            &a.verifier().public_key(),
            SignatureType::CosignatureV1,
        )
        .unwrap();
        let mut aliased = signed.clone();
        let mut line = cosign(&signed.checkpoint, &a, 1_700_000_000)
            .unwrap()
            .to_note_signature();
        line.key_name = "alias".into();
        line.key_id = alias.key_id();
        aliased.signatures.push(line);
        assert_eq!(
            verify_quorum(&aliased, &[keys[0].clone(), alias], 2).ok(),
            None
        );
        // A bad line of a listed witness refuses the note.
        let mut bad = signed.clone();
        bad.signatures[1].signature[20] ^= 1;
        assert!(matches!(
            verify_quorum(&bad, &keys, 1),
            Err(CosignatureError::InvalidSignature(_))
        ));
    }

    #[test]
    fn witness_vkeys_print_and_parse_with_type_0x04() {
        let w = witness(2, "witness.example/w1");
        let vkey = cosigner_verifier(&w).to_string();
        let parsed = NoteVerifier::parse(&vkey).unwrap();
        assert_eq!(parsed.signature_type(), SignatureType::CosignatureV1);
        assert_eq!(
            parsed.key_id(),
            cosigner_key_id(w.name(), &parsed.public_key())
        );
        let (_, key) = vkey.rsplit_once('+').unwrap();
        assert_eq!(BASE64.decode(key).unwrap()[0], 0x04);
        assert_eq!(
            vkey.split('+').nth(1).unwrap(),
            hex::encode(parsed.key_id())
        );
    }
}
