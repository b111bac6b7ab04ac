//! Errors of the queries.

use armistice_projections::ProjectionError;
use armistice_store::StoreError;

/// Why a query could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The question names something unknown, or is malformed.
    #[error(transparent)]
    Projection(#[from] ProjectionError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An argument is not valid.
    #[error("{0}")]
    Invalid(String),
    /// The output could not be written (a closed pipe, a gone client).
    #[error("cannot write the output: {0}")]
    Write(#[source] std::io::Error),
}
