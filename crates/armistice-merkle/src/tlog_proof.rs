//! C2SP tlog-proof (<https://c2sp.org/tlog-proof>): an offline-verifiable
//! proof that an entry is in a log, as text: the entry's index, its inclusion
//! proof and the (co)signed checkpoint it is proven against.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64 opaque data>        (optional)
//! index <decimal>
//! <base64 hash>                     (zero or more: leaf's sibling first)
//!
//! <the signed checkpoint note, verbatim>
//! ```
//!
//! ```
//! use armistice_merkle::checkpoint::{sign, Checkpoint};
//! use armistice_merkle::note::NoteSigner;
//! use armistice_merkle::tlog_proof::TlogProof;
//! use armistice_merkle::{inclusion_proof, leaf_hash, root, MemoryTree};
//!
//! let mut tree = MemoryTree::new();
//! for entry in [&b"a"[..], b"b", b"c"] {
//!     tree.push(entry);
//! }
//! let log = NoteSigner::from_seed("example.com/log", [1u8; 32])?;
//! let checkpoint = Checkpoint::new("example.com/log", 3, root(3, &tree)?);
//! let proof = TlogProof {
//!     extra: None,
//!     index: 1,
//!     inclusion_proof: inclusion_proof(1, 3, &tree)?,
//!     checkpoint: sign(&checkpoint, log.name(), log.signing_key())?,
//! };
//! let text = proof.to_text();
//! let parsed = TlogProof::parse(&text)?;
//! parsed.verify(&leaf_hash(b"b"), "example.com/log", &log.verifier(), &[], 0)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::checkpoint::{parse_note, parse_root, parse_size, CheckpointError, SignedCheckpoint};
use crate::cosignature::{verify_quorum, CosignatureError};
use crate::hash::Hash;
use crate::note::{NoteVerifier, SignatureType};
use crate::verify::{verify_inclusion, VerifyError};

/// The first line of every proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// The most inclusion-proof hashes a proof may carry: a tree of at most
/// `2^64 - 1` leaves is at most 64 levels deep.
pub const PROOF_HASHES_MAX: usize = 64;

/// Why a tlog-proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlogProofError {
    /// The text before the checkpoint is not of the tlog-proof form.
    #[error("malformed tlog-proof: {0}")]
    Malformed(String),
    /// More than [`PROOF_HASHES_MAX`] inclusion-proof hashes.
    #[error("tlog-proof has more than {PROOF_HASHES_MAX} proof hashes")]
    TooManyHashes,
    /// The checkpoint does not parse, or the log's signature does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint is of another log than the one expected.
    #[error("checkpoint origin {actual:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// The origin expected by the verifier.
        expected: String,
        /// The checkpoint's origin line.
        actual: String,
    },
    /// The log key given is not an Ed25519 (`0x01`) note key.
    #[error("the log key {0} is not an Ed25519 (type 0x01) note key")]
    NotALogKey(String),
    /// The witness cosignatures do not make the quorum (or one is bad).
    #[error("cosignatures: {0}")]
    Cosignature(#[from] CosignatureError),
    /// The inclusion proof does not lead to the checkpoint's root.
    #[error("inclusion proof: {0}")]
    Inclusion(#[from] VerifyError),
}

/// A parsed tlog-proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated application data (the `extra` line).
    pub extra: Option<Vec<u8>>,
    /// The 0-based index of the entry in the log.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up to the root's child.
    pub inclusion_proof: Vec<Hash>,
    /// The checkpoint, with the log's signature and any cosignatures.
    pub checkpoint: SignedCheckpoint,
}

impl TlogProof {
    /// The proof's text; parses back to `self`.
    pub fn to_text(&self) -> String {
        let mut text = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            text.push_str(&format!("extra {}\n", BASE64.encode(extra)));
        }
        text.push_str(&format!("index {}\n", self.index));
        for hash in &self.inclusion_proof {
            text.push_str(&BASE64.encode(hash));
            text.push('\n');
        }
        text.push('\n');
        text.push_str(&self.checkpoint.to_note());
        text
    }

    /// Parses a proof strictly: the header, an optional `extra` line of
    /// standard base64, a canonical `index`, hashes of 32 bytes, a blank line
    /// and a signed checkpoint. Signatures are not verified here.
    pub fn parse(text: &str) -> Result<Self, TlogProofError> {
        let malformed = |what: &str| TlogProofError::Malformed(what.to_owned());
        // Proof lines are never empty, so the first blank line ends them.
        let (head, note) = text
            .split_once("\n\n")
            .ok_or_else(|| malformed("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n').peekable();
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(malformed("the first line is not c2sp.org/tlog-proof@v1"));
        }
        let extra = match lines.peek().and_then(|line| line.strip_prefix("extra ")) {
            Some(encoded) => {
                let bytes = BASE64
                    .decode(encoded)
                    .map_err(|_| malformed("the extra line is not base64"))?;
                lines.next();
                Some(bytes)
            }
            None => None,
        };
        let index = lines
            .next()
            .and_then(|line| line.strip_prefix("index "))
            .ok_or_else(|| malformed("no index line"))?;
        let index =
            parse_size(index).map_err(|_| malformed("the index is not a canonical decimal"))?;
        let mut inclusion_proof = Vec::new();
        for line in lines {
            if inclusion_proof.len() == PROOF_HASHES_MAX {
                return Err(TlogProofError::TooManyHashes);
            }
            let hash =
                parse_root(line).map_err(|_| malformed("a proof line is not a base64 hash"))?;
            inclusion_proof.push(hash);
        }
        Ok(TlogProof {
            extra,
            index,
            inclusion_proof,
            checkpoint: parse_note(note)?,
        })
    }

    /// Verifies the proof for the entry whose RFC 6962 leaf hash is
    /// `leaf_hash`: the checkpoint is of `origin` and signed by `log`, at least
    /// `threshold` distinct `witnesses` cosigned it, and the inclusion proof
    /// leads from the leaf to its root. The `extra` data is not looked at.
    pub fn verify(
        &self,
        leaf_hash: &Hash,
        origin: &str,
        log: &NoteVerifier,
        witnesses: &[NoteVerifier],
        threshold: usize,
    ) -> Result<(), TlogProofError> {
        let checkpoint = &self.checkpoint.checkpoint;
        if checkpoint.origin != origin {
            return Err(TlogProofError::WrongOrigin {
                expected: origin.to_owned(),
                actual: checkpoint.origin.clone(),
            });
        }
        if log.signature_type() != SignatureType::Ed25519 {
            return Err(TlogProofError::NotALogKey(log.to_string()));
        }
        self.checkpoint.verify(log.name(), log.verifying_key())?;
        verify_quorum(&self.checkpoint, witnesses, threshold)?;
        verify_inclusion(
            leaf_hash,
            self.index,
            checkpoint.size,
            &self.inclusion_proof,
            &checkpoint.root,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::{sign, Checkpoint};
    use crate::cosignature::{cosign, cosigner_verifier};
    use crate::note::NoteSigner;
    use crate::{inclusion_proof, leaf_hash, root, MemoryTree};

    /// The example of the tlog-proof specification, with its elided
    /// signatures (`[...]`) replaced by a signature of our own test key.
    fn spec_example(signature_line: &str) -> String {
        format!(
            "c2sp.org/tlog-proof@v1\n\
             extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n\
             index 73894\n\
             gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\
             B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n\
             EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n\
             RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n\
             AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n\
             \n\
             example.com/fancylog\n\
             109482\n\
             sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n\
             \n\
             {signature_line}\n"
        )
    }

    #[test]
    fn the_spec_example_parses_and_prints_back() {
        let log = NoteSigner::from_seed("example.com/fancylog", [1; 32]).unwrap();
        let body = Checkpoint {
            origin: "example.com/fancylog".into(),
            size: 109_482,
            root: parse_root("sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=").unwrap(),
            extensions: vec![],
        };
        let signed = sign(&body, log.name(), log.signing_key()).unwrap();
        let line = signed.signatures[0].to_line();
        let text = spec_example(&line);
        let proof = TlogProof::parse(&text).unwrap();
        assert_eq!(proof.index, 73_894);
        assert_eq!(proof.inclusion_proof.len(), 5);
        assert!(proof
            .extra
            .as_ref()
            .unwrap()
            .starts_with(b"age-v1.2.1-darwin-arm64.tar.gz"));
        assert_eq!(proof.checkpoint, signed);
        assert_eq!(proof.to_text(), text);
        // The made-up proof hashes do not lead to the example's root.
        assert!(matches!(
            proof.verify(&[0; 32], "example.com/fancylog", &log.verifier(), &[], 0),
            Err(TlogProofError::Inclusion(_))
        ));
    }

    #[test]
    fn a_witnessed_proof_verifies_and_its_parts_are_checked() {
        let mut tree = MemoryTree::new();
        for i in 0u32..11 {
            tree.push(&i.to_be_bytes());
        }
        let log = NoteSigner::from_seed("example.com/log", [1; 32]).unwrap();
        let witness = NoteSigner::from_seed("witness.example/w", [2; 32]).unwrap();
        let body = Checkpoint::new("example.com/log", 11, root(11, &tree).unwrap());
        let mut signed = sign(&body, log.name(), log.signing_key()).unwrap();
        let cosig = cosign(&body, &witness, 1_700_000_000).unwrap();
        signed.signatures.push(cosig.to_note_signature());
        let proof = TlogProof {
            extra: Some(vec![]),
            index: 6,
            inclusion_proof: inclusion_proof(6, 11, &tree).unwrap(),
            checkpoint: signed,
        };
        let parsed = TlogProof::parse(&proof.to_text()).unwrap();
        assert_eq!(parsed, proof);
        let leaf = leaf_hash(&6u32.to_be_bytes());
        let witnesses = [cosigner_verifier(&witness)];
        parsed
            .verify(&leaf, "example.com/log", &log.verifier(), &witnesses, 1)
            .unwrap();
        assert!(matches!(
            parsed.verify(&leaf, "example.com/log", &log.verifier(), &witnesses, 2),
            Err(TlogProofError::Cosignature(
                CosignatureError::QuorumNotMet { .. }
            ))
        ));
        assert!(matches!(
            parsed.verify(&leaf, "example.com/other", &log.verifier(), &witnesses, 1),
            Err(TlogProofError::WrongOrigin { .. })
        ));
        assert!(matches!(
            parsed.verify(&leaf, "example.com/log", &witness.verifier(), &witnesses, 1),
            Err(TlogProofError::Checkpoint(_))
        ));
        assert!(matches!(
            parsed.verify(
                &leaf_hash(b"x"),
                "example.com/log",
                &log.verifier(),
                &witnesses,
                1
            ),
            Err(TlogProofError::Inclusion(_))
        ));
    }

    #[test]
    fn malformed_proofs_are_refused() {
        let log = NoteSigner::from_seed("example.com/fancylog", [1; 32]).unwrap();
        let body = Checkpoint::new("example.com/fancylog", 109_482, [3; 32]);
        let note = sign(&body, log.name(), log.signing_key())
            .unwrap()
            .to_note();
        let hash = "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n";
        for head in [
            "c2sp.org/tlog-proof@v2\nindex 1\n".to_owned(),
            "index 1\n".to_owned(),
            "c2sp.org/tlog-proof@v1\n".to_owned(),
            "c2sp.org/tlog-proof@v1\nindex 01\n".to_owned(),
            "c2sp.org/tlog-proof@v1\nindex -1\n".to_owned(),
            "c2sp.org/tlog-proof@v1\nextra !!\nindex 1\n".to_owned(),
            "c2sp.org/tlog-proof@v1\nindex 1\nextra AA==\n".to_owned(),
            "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n".to_owned(),
            format!("c2sp.org/tlog-proof@v1\nindex 1\n{}", hash.repeat(65)),
        ] {
            assert!(
                TlogProof::parse(&format!("{head}\n{note}")).is_err(),
                "{head}"
            );
        }
        let ok = format!(
            "c2sp.org/tlog-proof@v1\nindex 1\n{}\n{note}",
            hash.repeat(64)
        );
        assert_eq!(TlogProof::parse(&ok).unwrap().inclusion_proof.len(), 64);
        assert!(TlogProof::parse("c2sp.org/tlog-proof@v1\nindex 1\n").is_err());
    }
}
