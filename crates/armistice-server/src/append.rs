//! `POST /v1/events`: one batch appended through the store's group commit,
//! answered once durable with the submitter's receipt.

use crate::auth;
use crate::error::HttpError;
use crate::extract::Params;
use crate::ingest::{body_kind, parse_body};
use crate::state::AppState;
use armistice_api::wire::{AppendedJson, Receipt};
use armistice_merkle::checkpoint::SignedCheckpoint;
use armistice_store::{AppendOptions, Appended, Store, StoreError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use std::sync::Arc;

/// Options of an append.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AppendParams {
    /// Migrate an older record or copy an export (`import --backfill`):
    /// lines may carry `recorded_at` and `hash`. Operator only.
    pub backfill: Option<bool>,
}

/// Appends a batch of statements: all land or none.
#[utoipa::path(
    post,
    path = "/v1/events",
    params(AppendParams),
    request_body(
        content(
            (String = "application/x-ndjson"),
            (Object = "application/json"),
        ),
        description = "Statements as `application/x-ndjson` (JSON Lines) or `application/json` (one statement or an array), as `armistice record` reads them (docs/FORMAT.md). Party statements must be signed by the party's registered key; operator statements need the operator's bearer token."
    ),
    responses(
        (status = 200, description = "Durable: the submitter's receipt", body = Receipt),
        (status = 400, description = "Invalid input (the line and field named)", body = armistice_api::wire::ErrorBody),
        (status = 401, description = "An operator statement without the operator's token", body = armistice_api::wire::ErrorBody),
        (status = 403, description = "A party statement unsigned or not signed by the party's key", body = armistice_api::wire::ErrorBody),
        (status = 409, description = "A conflict: expected version, or an event id stored with other content", body = armistice_api::wire::ErrorBody),
        (status = 413, description = "Body too large", body = armistice_api::wire::ErrorBody),
        (status = 415, description = "Not JSON Lines nor JSON", body = armistice_api::wire::ErrorBody),
        (status = 503, description = "Shutting down", body = armistice_api::wire::ErrorBody),
    )
)]
pub async fn append(
    State(state): State<Arc<AppState>>,
    Params(params): Params<AppendParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Receipt>, HttpError> {
    let kind = body_kind(&headers)?;
    let body = body.map_err(|e| HttpError::new(e.status(), e.body_text()))?;
    let batch = parse_body(kind, &body)?;
    drop(body);
    let backfill = params.backfill.unwrap_or(false);
    auth::check_operator(
        state.config.operator_token.as_deref(),
        &headers,
        &batch,
        backfill,
    )?;
    let notes = Arc::clone(&state.receipt_notes);
    let receipt = state
        .blocking_write(move |store| {
            // A backfill (operator only, token checked) migrates an older
            // record, whose statements predate their authors' keys.
            if let Some(unsigned) = auth::first_unsigned(&batch).filter(|_| !backfill) {
                return Err(auth::unsigned_error(store, unsigned));
            }
            let lines: Vec<usize> = batch.iter().map(|n| n.line).collect();
            let submissions: Vec<_> = batch.into_iter().map(|n| n.submission).collect();
            let options = AppendOptions {
                now: crate::now(),
                backfill,
            };
            let appended = store
                .append(&submissions, &options)
                .map_err(|e| at_line(e, &lines))?;
            receipt(store, &notes, &appended)
        })
        .await?;
    Ok(Json(receipt))
}

/// Names the input line of a rejected event.
fn at_line(error: StoreError, lines: &[usize]) -> HttpError {
    let line = match &error {
        StoreError::Rejected { index, .. } => lines.get(*index).copied(),
        _ => None,
    };
    let http = HttpError::from(error);
    match line {
        Some(line) => http.at_line(line),
        None => http,
    }
}

/// The checkpoint note of the newest receipts, kept by size: the appends a
/// flush acknowledges together all find the same head, and share one
/// signature (and one root) instead of signing it each.
#[derive(Default)]
pub struct ReceiptNotes {
    newest: std::sync::Mutex<Option<SignedCheckpoint>>,
}

impl ReceiptNotes {
    /// The checkpoint of the current head, signed for receipts (not kept).
    fn at_head(&self, store: &dyn Store) -> Result<SignedCheckpoint, HttpError> {
        // The newest note is for one size only: once the head moves on (a
        // rotation of the operator key among what moved it), it is signed anew.
        let mut tries = 0;
        loop {
            let size = store.head().seq;
            let cached = self
                .newest
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
                .filter(|c| c.checkpoint.size == size);
            if let Some(signed) = cached {
                return Ok(signed);
            }
            match store.checkpoint_note(size) {
                // A rotation appended meanwhile: the head is read again.
                Err(StoreError::OldKey { .. }) if tries < 2 => tries += 1,
                other => {
                    let signed = other?;
                    let mut newest = self
                        .newest
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if newest.as_ref().is_none_or(|n| n.checkpoint.size < size) {
                        *newest = Some(signed.clone());
                    }
                    return Ok(signed);
                }
            }
        }
    }
}

/// The receipt of durable entries: a checkpoint signed at the current head
/// (which covers them), and each entry's inclusion proof and leaf at that size.
pub fn receipt(
    store: &dyn Store,
    notes: &ReceiptNotes,
    appended: &[Appended],
) -> Result<Receipt, HttpError> {
    let signed = notes.at_head(store)?;
    let size = signed.checkpoint.size;
    let seqs: Vec<u64> = appended.iter().map(|a| a.seq).collect();
    let (proofs, leaves) =
        crate::proofs::inclusion_proofs(store, &seqs, size, signed.checkpoint.root)?;
    Ok(Receipt {
        appended: appended.iter().map(AppendedJson::from).collect(),
        checkpoint: signed.to_note(),
        proofs,
        leaves: leaves
            .iter()
            .map(|leaf| base64::engine::general_purpose::STANDARD.encode(leaf))
            .collect(),
    })
}
