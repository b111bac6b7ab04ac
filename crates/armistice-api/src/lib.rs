//! What the command line and the server both answer, so that one parser
//! serves both: the queries (status, claims, audit, timeline) over any
//! [`Store`](armistice_store::Store), their bodies in each format (text,
//! JSON, CSV, GeoJSON), the export line of an entry, and the JSON shapes of
//! appends, receipts, proofs, checkpoints and errors.
#![warn(missing_docs)]

mod error;
pub mod export;
pub mod formats;
pub mod output;
pub mod query;
pub mod receipt;
pub mod wire;

pub use error::ApiError;
