//! The witness's errors: each refusal of `add-checkpoint` maps to the HTTP
//! status the tlog-witness specification gives it ([`WitnessError::status`]).

use std::path::PathBuf;

use armistice_merkle::VerifyError;

/// Why the witness refused a request, or could not open or write its state.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The request body is not of the `add-checkpoint` form (400).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// More than [`PROOF_LINES_MAX`](crate::PROOF_LINES_MAX) consistency proof lines (400).
    #[error("more than {} consistency proof lines", crate::PROOF_LINES_MAX)]
    TooManyProofLines,
    /// The checkpoint note is over [`NOTE_BYTES_MAX`](crate::NOTE_BYTES_MAX) (400).
    #[error("the checkpoint note is over {} bytes", crate::NOTE_BYTES_MAX)]
    NoteTooLarge,
    /// The note has more than [`NOTE_SIGNATURES_MAX`](crate::NOTE_SIGNATURES_MAX)
    /// signature lines (400).
    #[error(
        "the checkpoint note has more than {} signatures",
        crate::NOTE_SIGNATURES_MAX
    )]
    TooManySignatures,
    /// The body is over [`REQUEST_BODY_BYTES_MAX`](crate::REQUEST_BODY_BYTES_MAX) (413).
    #[error("the request body is over {} bytes", crate::REQUEST_BODY_BYTES_MAX)]
    BodyTooLarge,
    /// The body did not arrive within
    /// [`REQUEST_READ_TIMEOUT_S`](crate::REQUEST_READ_TIMEOUT_S) (408).
    #[error(
        "the request body did not arrive within {} s",
        crate::REQUEST_READ_TIMEOUT_S
    )]
    BodyTimeout,
    /// The witness follows no log of this origin (404).
    #[error("unknown log origin {0:?}")]
    UnknownLog(String),
    /// No signature by a key trusted for the origin is on the checkpoint (403).
    #[error("the checkpoint carries no signature by a key trusted for {0:?}")]
    NoTrustedSignature(String),
    /// A signature line of a trusted key does not verify (403).
    #[error("a signature by trusted key {0:?} does not verify")]
    InvalidSignature(String),
    /// The old size is above the checkpoint's size (400).
    #[error("old size {old_size} is above the checkpoint size {size}")]
    OldSizeAboveSize {
        /// The request's old size.
        old_size: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The old size is not the size the witness cosigned last (409, with that
    /// size in the body as `text/x.tlog.size`).
    #[error("the witness's latest cosigned size is {recorded_size}, not {old_size}")]
    Conflict {
        /// The request's old size.
        old_size: u64,
        /// The size the witness cosigned last (0 if none).
        recorded_size: u64,
    },
    /// A checkpoint of size 0 whose root is not the empty tree's (422).
    #[error("a checkpoint of size 0 must have the empty tree's root")]
    EmptyTreeRoot,
    /// Proof lines were sent with an old size of 0 (422).
    #[error("the consistency proof must be empty when the old size is 0")]
    ProofFromEmptyTree,
    /// The consistency proof does not verify against the recorded root, or
    /// an equal size comes with another root (422).
    #[error("the checkpoint is not consistent with the one cosigned before: {0}")]
    Inconsistent(VerifyError),
    /// A log key given to the witness is not an Ed25519 (`0x01`) note key.
    #[error("log key {0} is not an Ed25519 (type 0x01) note key")]
    NotALogKey(String),
    /// Another process has the witness's state folder open.
    #[error("the state folder {0} is in use by another witness process")]
    Locked(PathBuf),
    /// A state file does not hold a checkpoint of its log.
    #[error("state file {path} is damaged: {detail}")]
    CorruptState {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// Reading or writing the state failed (500; nothing was cosigned).
    #[error("state storage failed at {path}: {source}")]
    Storage {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Cosigning failed (e.g. the clock reads before 1970) (500).
    #[error("cosigning failed: {0}")]
    Cosign(String),
    /// An invariant of the server broke (a task died, a lock was poisoned) (500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl WitnessError {
    /// The HTTP status code of this refusal, as tlog-witness specifies.
    pub fn status(&self) -> u16 {
        use WitnessError as E;
        match self {
            E::Malformed(_)
            | E::TooManyProofLines
            | E::NoteTooLarge
            | E::TooManySignatures
            | E::OldSizeAboveSize { .. } => 400,
            E::NoTrustedSignature(_) | E::InvalidSignature(_) => 403,
            E::UnknownLog(_) => 404,
            E::BodyTimeout => 408,
            E::Conflict { .. } => 409,
            E::BodyTooLarge => 413,
            E::EmptyTreeRoot | E::ProofFromEmptyTree | E::Inconsistent(_) => 422,
            E::NotALogKey(_)
            | E::Locked(_)
            | E::CorruptState { .. }
            | E::Storage { .. }
            | E::Cosign(_)
            | E::Internal(_) => 500,
        }
    }
}

/// Why a request for a cosignature failed, on the client side.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP exchange failed (connection, timeout, TLS).
    #[error("request to the witness failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The witness URL cannot be joined with `add-checkpoint`.
    #[error("bad witness URL {0:?}")]
    BadUrl(String),
    /// The consistency proof could not be made for the size the witness asked.
    #[error("no consistency proof from size {old_size}: {detail}")]
    Proof {
        /// The witness's size.
        old_size: u64,
        /// What the proof source said.
        detail: String,
    },
    /// The witness refused the checkpoint.
    #[error("the witness answered {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The response body (cut to a few hundred bytes).
        body: String,
    },
    /// The witness still disagreed on the old size after one retry.
    #[error("the witness reports size {recorded_size} again after a retry")]
    Conflict {
        /// The size the witness reported last.
        recorded_size: u64,
    },
    /// The response is not of the form the specification gives.
    #[error("bad response from the witness: {0}")]
    BadResponse(String),
}
