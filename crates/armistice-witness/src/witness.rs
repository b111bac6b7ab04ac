//! The witness itself, without HTTP: the logs it follows, what it cosigned
//! last for each, and the `add-checkpoint` decision.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use armistice_merkle::checkpoint::{parse_note, CheckpointError, NoteSignature, SignedCheckpoint};
use armistice_merkle::cosignature::{cosign, cosigner_verifier, Cosignature};
use armistice_merkle::note::{NoteSigner, NoteVerifier, SignatureType};
use armistice_merkle::{empty_root, verify_consistency, Hash, VerifyError};

use crate::error::WitnessError;
use crate::request::AddCheckpointRequest;
use crate::state::{origin_hash, StateDir};
use crate::NOTE_SIGNATURES_MAX;

/// A log the witness follows: its origin (the checkpoint's first line) and
/// the Ed25519 note keys trusted to sign its checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// The checkpoint origin line.
    pub origin: String,
    /// Keys whose signature makes a checkpoint of this origin acceptable.
    pub keys: Vec<NoteVerifier>,
}

impl LogConfig {
    /// One log per key name, the name being the origin (as C2SP
    /// tlog-checkpoint recommends, and as Armistice signs its checkpoints);
    /// keys of the same name are keys of the same log.
    pub fn from_keys(keys: &[NoteVerifier]) -> Vec<LogConfig> {
        let mut logs: Vec<LogConfig> = Vec::new();
        for key in keys {
            match logs.iter_mut().find(|log| log.origin == key.name()) {
                Some(log) => log.keys.push(key.clone()),
                None => logs.push(LogConfig {
                    origin: key.name().to_owned(),
                    keys: vec![key.clone()],
                }),
            }
        }
        logs
    }
}

/// What the witness cosigned last for one log.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Latest {
    size: u64,
    root: Hash,
    /// The note as stored and served to monitors.
    note: String,
}

#[derive(Debug)]
struct Log {
    keys: Vec<NoteVerifier>,
    /// Held from the `old` size check to the durable write, so two requests
    /// for one log cannot race (tlog-witness, "performed atomically").
    latest: Mutex<Option<Latest>>,
}

/// A witness: its key, the logs it follows, and their durable state.
///
/// ```
/// use armistice_merkle::checkpoint::{sign, Checkpoint};
/// use armistice_merkle::cosignature::verify_cosignature;
/// use armistice_merkle::note::NoteSigner;
/// use armistice_merkle::{root, MemoryTree};
/// use armistice_witness::{AddCheckpointRequest, Witness};
///
/// let dir = tempfile::tempdir()?;
/// let log = NoteSigner::from_seed("example.com/log", [1u8; 32])?;
/// let witness_key = NoteSigner::from_seed("witness.example/w1", [2u8; 32])?;
/// let witness = Witness::open(dir.path(), witness_key, &[log.verifier()])?;
///
/// let mut tree = MemoryTree::new();
/// tree.push(b"first entry");
/// let checkpoint = Checkpoint::new("example.com/log", 1, root(1, &tree)?);
/// let mut signed = sign(&checkpoint, log.name(), log.signing_key())?;
/// let request = AddCheckpointRequest { old_size: 0, proof: vec![], note: signed.to_note() };
/// let cosignature = witness.add_checkpoint(&request, 1_700_000_000)?;
///
/// signed.signatures.push(cosignature.to_note_signature());
/// verify_cosignature(&signed, &witness.verifier())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Witness {
    signer: NoteSigner,
    logs: HashMap<String, Log>,
    state: StateDir,
}

impl Witness {
    /// Opens the witness's state in `dir` (created if missing, locked against
    /// a second process) for the logs of `log_keys`, one log per key name (see
    /// [`LogConfig::from_keys`]); `signer` is the witness's own key.
    pub fn open(
        dir: &Path,
        signer: NoteSigner,
        log_keys: &[NoteVerifier],
    ) -> Result<Self, WitnessError> {
        Self::open_with_logs(dir, signer, LogConfig::from_keys(log_keys))
    }

    /// [`open`](Self::open) with the logs given explicitly.
    pub fn open_with_logs(
        dir: &Path,
        signer: NoteSigner,
        logs: Vec<LogConfig>,
    ) -> Result<Self, WitnessError> {
        let state = StateDir::open(dir)?;
        let mut map = HashMap::new();
        for config in logs {
            if let Some(key) = config
                .keys
                .iter()
                .find(|key| key.signature_type() != SignatureType::Ed25519)
            {
                return Err(WitnessError::NotALogKey(key.to_string()));
            }
            let latest = load(&state, &config.origin)?;
            let log = map.entry(config.origin).or_insert_with(|| Log {
                keys: Vec::new(),
                latest: Mutex::new(latest),
            });
            log.keys.extend(config.keys);
        }
        Ok(Witness {
            signer,
            logs: map,
            state,
        })
    }

    /// The witness's public key as published: a vkey of type `0x04`.
    pub fn verifier(&self) -> NoteVerifier {
        cosigner_verifier(&self.signer)
    }

    /// The size and root the witness cosigned last for `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<(u64, Hash)>, WitnessError> {
        let log = self
            .logs
            .get(origin)
            .ok_or_else(|| WitnessError::UnknownLog(origin.to_owned()))?;
        Ok(lock(log)?.as_ref().map(|l| (l.size, l.root)))
    }

    /// The latest cosigned checkpoint note of the log whose origin hashes to
    /// `origin_hash` (lowercase hex SHA-256), with the log's signatures and
    /// the witness's cosignature; `None` if unknown or never cosigned.
    pub fn checkpoint_note(&self, hash: &str) -> Result<Option<String>, WitnessError> {
        for (origin, log) in &self.logs {
            if origin_hash(origin) == hash {
                return Ok(lock(log)?.as_ref().map(|l| l.note.clone()));
            }
        }
        Ok(None)
    }

    /// Handles an `add-checkpoint` request body: parses it and returns the
    /// response body, one cosignature line ending in a newline.
    pub fn add_checkpoint_body(&self, body: &[u8], timestamp: u64) -> Result<String, WitnessError> {
        let request = AddCheckpointRequest::parse(body)?;
        let cosignature = self.add_checkpoint(&request, timestamp)?;
        Ok(format!("{}\n", cosignature.to_line()))
    }

    /// Cosigns the request's checkpoint at `timestamp` (POSIX seconds) if it
    /// is signed by a key of its log and consistent with what the witness
    /// cosigned last; the new state is durable before this returns.
    ///
    /// The checks, in the order of the tlog-witness specification: known
    /// origin (else 404), a verifying trusted signature (403), old size not
    /// above the size (400), old size equal to the recorded one (409), the
    /// empty tree's root at size 0, no proof from 0, and a verifying
    /// consistency proof (422).
    pub fn add_checkpoint(
        &self,
        request: &AddCheckpointRequest,
        timestamp: u64,
    ) -> Result<Cosignature, WitnessError> {
        let signed = parse_checkpoint(&request.note)?;
        let checkpoint = &signed.checkpoint;
        let log = self
            .logs
            .get(&checkpoint.origin)
            .ok_or_else(|| WitnessError::UnknownLog(checkpoint.origin.clone()))?;
        let log_signatures = trusted_signatures(&signed, &log.keys)?;
        if request.old_size > checkpoint.size {
            return Err(WitnessError::OldSizeAboveSize {
                old_size: request.old_size,
                size: checkpoint.size,
            });
        }
        let mut latest = lock(log)?;
        let recorded_size = latest.as_ref().map_or(0, |l| l.size);
        if request.old_size != recorded_size {
            return Err(WitnessError::Conflict {
                old_size: request.old_size,
                recorded_size,
            });
        }
        check_consistency(request, latest.as_ref(), checkpoint.size, &checkpoint.root)?;

        let cosignature = cosign(checkpoint, &self.signer, timestamp)
            .map_err(|e| WitnessError::Cosign(e.to_string()))?;
        let mut stored = SignedCheckpoint {
            checkpoint: checkpoint.clone(),
            signatures: log_signatures,
        };
        stored.signatures.push(cosignature.to_note_signature());
        let note = stored.to_note();
        // Durable first: a crash after this line keeps the new state, one
        // before it keeps the old one, and no cosignature has left yet.
        self.state.write(&checkpoint.origin, &note)?;
        *latest = Some(Latest {
            size: checkpoint.size,
            root: checkpoint.root,
            note,
        });
        Ok(cosignature)
    }
}

/// Parses the note as a checkpoint, with the signature-count limit.
fn parse_checkpoint(note: &str) -> Result<SignedCheckpoint, WitnessError> {
    let signed = parse_note(note).map_err(|e| WitnessError::Malformed(e.to_string()))?;
    if signed.signatures.len() > NOTE_SIGNATURES_MAX {
        return Err(WitnessError::TooManySignatures);
    }
    Ok(signed)
}

/// The signature lines of `keys` on `signed`, all verified: at least one must
/// be there, and any line of a trusted key that fails refuses the note.
fn trusted_signatures(
    signed: &SignedCheckpoint,
    keys: &[NoteVerifier],
) -> Result<Vec<NoteSignature>, WitnessError> {
    let origin = &signed.checkpoint.origin;
    let mut kept = Vec::new();
    for key in keys {
        match signed.verify(key.name(), key.verifying_key()) {
            Ok(()) => kept.extend(
                signed
                    .signatures
                    .iter()
                    .filter(|s| s.key_name == key.name() && s.key_id == key.key_id())
                    .cloned(),
            ),
            Err(CheckpointError::NoMatchingSignature(_)) => {}
            Err(_) => return Err(WitnessError::InvalidSignature(key.to_string())),
        }
    }
    if kept.is_empty() {
        return Err(WitnessError::NoTrustedSignature(origin.clone()));
    }
    Ok(kept)
}

/// The 422 checks: the empty tree's root at size 0, no proof from size 0,
/// and otherwise a consistency proof from the recorded checkpoint (an empty
/// proof and the same root when the sizes are equal).
fn check_consistency(
    request: &AddCheckpointRequest,
    latest: Option<&Latest>,
    size: u64,
    root: &Hash,
) -> Result<(), WitnessError> {
    if size == 0 && *root != empty_root() {
        return Err(WitnessError::EmptyTreeRoot);
    }
    let Some(latest) = latest.filter(|l| l.size > 0) else {
        // Old size 0: the empty tree is consistent with every tree.
        if !request.proof.is_empty() {
            return Err(WitnessError::ProofFromEmptyTree);
        }
        return Ok(());
    };
    debug_assert_eq!(latest.size, request.old_size);
    if latest.size == size && latest.root != *root {
        return Err(WitnessError::Inconsistent(
            VerifyError::EqualSizeRootsDiffer { size },
        ));
    }
    verify_consistency(latest.size, size, &latest.root, root, &request.proof)
        .map_err(WitnessError::Inconsistent)
}

fn lock(log: &Log) -> Result<MutexGuard<'_, Option<Latest>>, WitnessError> {
    // A poisoned lock means a panic mid-request: the state in memory was not
    // replaced (that is the last step), but refuse rather than guess.
    log.latest
        .lock()
        .map_err(|_| WitnessError::Internal("a log's state lock is poisoned".into()))
}

/// Reads and checks the stored note of `origin`.
fn load(state: &StateDir, origin: &str) -> Result<Option<Latest>, WitnessError> {
    let Some(note) = state.read(origin)? else {
        return Ok(None);
    };
    let corrupt = |detail: String| WitnessError::CorruptState {
        path: state.path(origin),
        detail,
    };
    let signed = parse_note(&note).map_err(|e| corrupt(e.to_string()))?;
    let checkpoint = signed.checkpoint;
    if checkpoint.origin != origin {
        return Err(corrupt(format!(
            "it holds a checkpoint of {:?}",
            checkpoint.origin
        )));
    }
    if checkpoint.size == 0 && checkpoint.root != empty_root() {
        return Err(corrupt(
            "size 0 with another root than the empty tree's".into(),
        ));
    }
    Ok(Some(Latest {
        size: checkpoint.size,
        root: checkpoint.root,
        note,
    }))
}
