//! PostgreSQL's errors as the store's: a failed statement, an unreachable
//! server, and a commit whose outcome never came back.

use armistice_store::StoreError;
use postgres::error::{DbError, Severity, SqlState};

/// What the server or the connection said, in one line.
pub(crate) fn describe(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => describe_db(db),
        None => match std::error::Error::source(error) {
            Some(source) => format!("{error}: {source}"),
            None => error.to_string(),
        },
    }
}

fn describe_db(db: &DbError) -> String {
    let mut out = format!("{}: {}", db.severity(), db.message());
    if let Some(detail) = db.detail() {
        out.push_str(&format!(" ({detail})"));
    }
    out
}

/// A statement failed (the transaction around it, if any, rolls back).
pub(crate) fn database(error: &postgres::Error) -> StoreError {
    StoreError::Database(describe(error))
}

/// No connection could be made.
pub(crate) fn unreachable_server(name: &str, error: &postgres::Error) -> StoreError {
    StoreError::Database(format!(
        "cannot connect to the database at {name}: {}",
        describe(error)
    ))
}

/// A `COMMIT` failed: when the server answered with an error the
/// transaction rolled back; anything else (the connection closed, a FATAL
/// while waiting for a synchronous standby) leaves the outcome unknown.
pub(crate) fn commit_failed(error: &postgres::Error) -> StoreError {
    let rolled_back = error
        .as_db_error()
        .is_some_and(|db| db.parsed_severity() == Some(Severity::Error));
    if rolled_back {
        StoreError::Database(format!("{}; nothing was appended", describe(error)))
    } else {
        StoreError::OutcomeUnknown(format!(
            "the connection failed during the commit: {}",
            describe(error)
        ))
    }
}

/// Whether a statement failed on a unique index (two writers raced where
/// the head lock should have ordered them, or a schema already exists).
pub(crate) fn is_duplicate(error: &postgres::Error) -> bool {
    matches!(
        error.code(),
        Some(code) if *code == SqlState::UNIQUE_VIOLATION || *code == SqlState::DUPLICATE_SCHEMA
    )
}

/// The same error again, for each of the appends a failed group carried.
pub(crate) fn repeat(error: &StoreError) -> StoreError {
    match error {
        StoreError::OutcomeUnknown(detail) => StoreError::OutcomeUnknown(detail.clone()),
        StoreError::Database(detail) => StoreError::Database(detail.clone()),
        StoreError::Corrupt { seq, detail } => StoreError::Corrupt {
            seq: *seq,
            detail: detail.clone(),
        },
        other => StoreError::Database(other.to_string()),
    }
}

/// Stored bytes are damaged (`seq` 0: not one entry's).
pub(crate) fn corrupt(seq: u64, detail: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        seq,
        detail: detail.into(),
    }
}
