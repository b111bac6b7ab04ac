//! The export line of one stored entry (see `docs/FORMAT.md`): what
//! `armistice export`, `GET /v1/entries` and the feed print.

use crate::error::ApiError;
use armistice_core::disclose::{salts_of, Salts};
use armistice_core::entry::split_entry;
use armistice_core::json::export_fields;
use armistice_store::StoreError;
use serde_json::{Map, Value};

/// The export line of entry `seq`, from its stored bytes.
pub fn export_line(seq: u64, bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let corrupt = |detail: String| ApiError::Store(StoreError::Corrupt { seq, detail });
    let split = split_entry(bytes).map_err(|e| corrupt(e.to_string()))?;
    let record = split.record().map_err(|e| corrupt(e.to_string()))?;
    if record.header.seq != seq {
        return Err(corrupt(format!(
            "its header says seq {}",
            record.header.seq
        )));
    }
    let (payload, original) = split.payload();
    let salts = match split.committed().map_err(|e| corrupt(e.to_string()))? {
        Some((_, disclosures)) => salts_of(&disclosures),
        None => Salts::new(),
    };
    Ok(export_fields(
        &record,
        split.leaf,
        original.then_some(payload),
        &salts,
    ))
}

/// The export line as one line of text (no newline).
pub fn export_text(seq: u64, bytes: &[u8]) -> Result<String, ApiError> {
    let line = export_line(seq, bytes)?;
    serde_json::to_string(&line).map_err(|e| ApiError::Invalid(e.to_string()))
}
