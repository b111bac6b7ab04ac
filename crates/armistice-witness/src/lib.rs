//! A C2SP tlog-witness (<https://c2sp.org/tlog-witness>): it follows a set
//! of logs, and cosigns a log's checkpoint (C2SP `cosignature/v1`, timestamped
//! Ed25519, <https://c2sp.org/tlog-cosignature>) only when the log signed it
//! and it is consistent with the checkpoint it cosigned last for that log.
//! That latest checkpoint is written durably before any cosignature leaves.
//!
//! - [`Witness`]: the logs, the state folder and the `add-checkpoint`
//!   decision, without HTTP.
//! - [`router`] and [`serve`]: the HTTP API (axum).
//! - [`client::add_checkpoint`]: the log's side, asking a witness to cosign.
//! - [`AddCheckpointRequest`]: the request body both sides share.
//!
//! ```no_run
//! use std::sync::Arc;
//! use armistice_merkle::note::{NoteSigner, NoteVerifier};
//! use armistice_witness::{serve, Witness};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = NoteSigner::parse(&std::fs::read_to_string("witness.key")?)?;
//! let log = NoteVerifier::parse("example.com/log+8d4e9dc4+AUO3D4yqDHDhFVN0rV5Efy8jFJDNG0NoqgynI4Iu6mmz")?;
//! let witness = Arc::new(Witness::open("witness.state".as_ref(), key, &[log])?);
//! println!("cosigning as {}", witness.verifier());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7380").await?;
//! serve(listener, witness, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]

pub mod client;
mod error;
mod request;
mod server;
mod state;
mod witness;

pub use error::{ClientError, WitnessError};
pub use request::AddCheckpointRequest;
pub use server::{router, serve, TLOG_SIZE_CONTENT_TYPE};
pub use state::origin_hash;
pub use witness::{LogConfig, Witness};

/// The most consistency proof lines a request may carry (the spec's 63).
pub const PROOF_LINES_MAX: usize = 63;

/// The largest checkpoint note accepted: room for the 16 signatures that
/// signed-note requires verifiers to accept, even post-quantum ones (~5 kB).
pub const NOTE_BYTES_MAX: usize = 128 * 1024;

/// The most signature lines a checkpoint note may carry (signed-note asks
/// for at least 16).
pub const NOTE_SIGNATURES_MAX: usize = 64;

/// The largest request body: the old size line, 63 proof lines of 45 bytes,
/// the blank line and the note.
pub const REQUEST_BODY_BYTES_MAX: usize = NOTE_BYTES_MAX + 4 * 1024;

/// How long a client may take to send its request body.
pub const REQUEST_READ_TIMEOUT_S: u64 = 10;

/// How long a stopping server waits for the requests in flight.
pub const SHUTDOWN_GRACE_S: u64 = 15;

/// Requests checked and written at once; more wait their turn.
pub const REQUESTS_IN_FLIGHT_MAX: usize = 64;
