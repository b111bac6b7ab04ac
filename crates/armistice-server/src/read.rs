//! The read endpoints: each answers with exactly what the matching command
//! prints — its `--json` by default, its text with `?format=text` — built
//! by the same functions ([`armistice_api::output`]).

use crate::error::HttpError;
use crate::extract::{Params, Segments};
use crate::state::AppState;
use crate::stream::stream_answer;
use armistice_api::formats::{self, ClaimsFormat, StatusFormat, TimelineFormat};
use armistice_api::output::{self, Format};
use armistice_api::query::{self, ClaimQuery, Names};
use armistice_core::Timestamp;
use armistice_merkle::checkpoint::SignedCheckpoint;
use armistice_store::{Store, StoreError};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// `json` (the command's `--json`, the default) or `text` (what it prints without).
#[derive(Clone, Copy, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// The command's `--json`.
    #[default]
    Json,
    /// The command's text.
    Text,
}

/// The format asked for (JSON when none).
pub fn format_of(format: Option<OutputFormat>) -> Format {
    match format.unwrap_or_default() {
        OutputFormat::Json => Format::Json,
        OutputFormat::Text => Format::Text,
    }
}

/// JSON as `application/json`, text as `text/plain`.
pub fn answer(text: String, format: Format) -> Response {
    let content_type = match format {
        Format::Json => "application/json",
        Format::Text => "text/plain; charset=utf-8",
    };
    ([(header::CONTENT_TYPE, content_type)], text).into_response()
}

const JSON_LINES: &str = "application/x-ndjson";

/// A query's body as `armistice_api::formats` made it: its media type, a
/// file name to save it under, and (GeoJSON) how many claims had no point.
fn answer_body(body: formats::Body) -> Response {
    let mut response = ([(header::CONTENT_TYPE, body.content_type)], body.bytes).into_response();
    let headers = response.headers_mut();
    let disposition = format!("inline; filename=\"{}\"", body.file_name);
    if let Ok(value) = header::HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Some(left_out) = body.without_coordinates {
        headers.insert(
            formats::WITHOUT_COORDINATES_HEADER,
            header::HeaderValue::from(left_out),
        );
    }
    response
}

/// The format asked for (`json` when none), as the query's own type.
fn format_param<F: std::str::FromStr<Err = String>>(format: Option<&str>) -> Result<F, HttpError> {
    format
        .unwrap_or("json")
        .parse()
        .map_err(|e: String| HttpError::invalid(format!("format: {e}")))
}

/// The entries asked for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesParams {
    /// First seq (default 1).
    pub from: Option<u64>,
    /// Last seq (default: the last entry).
    pub to: Option<u64>,
}

/// The export lines of entries `from..=to`, streamed.
#[utoipa::path(get, path = "/v1/entries", params(EntriesParams), responses(
    (status = 200, description = "JSON Lines, as `armistice export` prints them", content_type = "application/x-ndjson", body = String),
    (status = 400, description = "Invalid range", body = armistice_api::wire::ErrorBody),
))]
pub async fn entries(
    State(state): State<Arc<AppState>>,
    Params(params): Params<EntriesParams>,
) -> Result<Response, HttpError> {
    let from = params.from.unwrap_or(1);
    let to = params.to.unwrap_or(u64::MAX);
    stream_answer(state, JSON_LINES, move |store, sink| {
        output::write_export(store, from, to, Names::HTTP, sink)
    })
    .await
}

/// One entry's export line.
#[utoipa::path(get, path = "/v1/entries/{seq}", params(("seq" = u64, Path, description = "The entry")), responses(
    (status = 200, description = "The export line", body = Object),
    (status = 404, description = "No such entry", body = armistice_api::wire::ErrorBody),
))]
pub async fn entry(
    State(state): State<Arc<AppState>>,
    Segments(seq): Segments<u64>,
) -> Result<Response, HttpError> {
    let text = state
        .blocking(move |store| {
            let len = store.head().seq;
            if seq == 0 || seq > len {
                return Err(StoreError::NoSuchEntry { seq, len }.into());
            }
            let mut line = armistice_api::export::export_text(seq, &store.entry_bytes(seq)?)?;
            line.push('\n');
            Ok(line)
        })
        .await?;
    Ok(answer(text, Format::Json))
}

fn now() -> Timestamp {
    crate::now()
}

/// `status` at a view.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatusParams {
    /// One agreement (default: all).
    pub agreement: Option<String>,
    /// World time (RFC 3339 or YYYY-MM-DD; default now).
    pub at: Option<String>,
    /// Ledger time (default: everything recorded).
    pub known_at: Option<String>,
    /// `json` (default), `text` or `csv`.
    pub format: Option<String>,
}

/// Agreement status, as `armistice status --format F` prints it.
#[utoipa::path(get, path = "/v1/status", params(StatusParams), responses(
    (status = 200, description = "`status --json` (or its text, or CSV)", body = Object),
    (status = 400, description = "Invalid parameter", body = armistice_api::wire::ErrorBody),
    (status = 404, description = "Unknown agreement", body = armistice_api::wire::ErrorBody),
))]
pub async fn status(
    State(state): State<Arc<AppState>>,
    Params(params): Params<StatusParams>,
) -> Result<Response, HttpError> {
    let format: StatusFormat = format_param(params.format.as_deref())?;
    let view = query::view(
        Names::HTTP,
        params.at.as_deref(),
        params.known_at.as_deref(),
        now(),
    )?;
    let agreement = params
        .agreement
        .as_deref()
        .map(|a| query::agreement_id(Names::HTTP, "agreement", a))
        .transpose()?;
    let body = state
        .blocking(move |store| {
            let (rows, parties) = query::status(store, agreement.as_ref(), view)?;
            Ok(formats::status_body(format, &rows, &parties, view))
        })
        .await?;
    Ok(answer_body(body))
}

/// `claims` filters at a view.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ClaimsParams {
    /// Only claims under this agreement.
    pub agreement: Option<String>,
    /// Only claims filed by this party.
    pub by: Option<String>,
    /// Only claims against this party.
    pub against: Option<String>,
    /// Only claims in this state.
    pub state: Option<String>,
    /// Only claims of this category.
    pub category: Option<String>,
    /// Only incidents at or after this time.
    pub incident_from: Option<String>,
    /// Only incidents at or before this time.
    pub incident_to: Option<String>,
    /// World time (default now).
    pub at: Option<String>,
    /// Ledger time (default: everything recorded).
    pub known_at: Option<String>,
    /// `json` (default), `text`, `csv` or `geojson`.
    pub format: Option<String>,
}

/// The claims register, as `armistice claims --format F` prints it.
#[utoipa::path(get, path = "/v1/claims", params(ClaimsParams), responses(
    (status = 200, description = "`claims --json` (or its text)", body = Object),
    (status = 400, description = "Invalid parameter", body = armistice_api::wire::ErrorBody),
    (status = 404, description = "Unknown agreement", body = armistice_api::wire::ErrorBody),
))]
pub async fn claims(
    State(state): State<Arc<AppState>>,
    Params(params): Params<ClaimsParams>,
) -> Result<Response, HttpError> {
    let format: ClaimsFormat = format_param(params.format.as_deref())?;
    let view = query::view(
        Names::HTTP,
        params.at.as_deref(),
        params.known_at.as_deref(),
        now(),
    )?;
    let filter = ClaimQuery {
        agreement: params.agreement,
        by: params.by,
        against: params.against,
        state: params.state,
        category: params.category,
        incident_from: params.incident_from,
        incident_to: params.incident_to,
    }
    .filter(Names::HTTP)?;
    let body = state
        .blocking(move |store| {
            let (rows, parties) = query::claims(store, &filter, view, Names::HTTP)?;
            Ok(formats::claims_body(format, &rows, &parties, view))
        })
        .await?;
    Ok(answer_body(body))
}

/// The ledger time of an audit.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Audit the record as it stood then (default: everything recorded).
    pub known_at: Option<String>,
    /// `json` (default) or `text`.
    pub format: Option<OutputFormat>,
}

/// One claim's whole story, as `armistice audit` prints it (evidence files
/// are not checked: the server has none).
#[utoipa::path(get, path = "/v1/claims/{claim}/audit", params(("claim" = String, Path, description = "The claim"), AuditParams), responses(
    (status = 200, description = "`audit --json` (or its text)", body = Object),
    (status = 404, description = "Unknown claim", body = armistice_api::wire::ErrorBody),
))]
pub async fn audit(
    State(state): State<Arc<AppState>>,
    Segments(claim): Segments<String>,
    Params(params): Params<AuditParams>,
) -> Result<Response, HttpError> {
    let format = format_of(params.format);
    let claim = query::claim_id(Names::HTTP, "claim", &claim)?;
    let known_at = params
        .known_at
        .as_deref()
        .map(|t| query::parse_when(Names::HTTP, "known-at", t))
        .transpose()?
        .unwrap_or(Timestamp::MAX);
    let text = state
        .blocking(move |store| Ok(output::audit(store, &claim, known_at, None, format)?))
        .await?;
    Ok(answer(text, format))
}

/// The view of a timeline.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimelineParams {
    /// World time (default now).
    pub at: Option<String>,
    /// Ledger time (default: everything recorded).
    pub known_at: Option<String>,
    /// `json` (default) or `text`.
    pub format: Option<String>,
}

/// The story of one agreement, as `armistice timeline --format F` prints it.
#[utoipa::path(get, path = "/v1/agreements/{agreement}/timeline", params(("agreement" = String, Path, description = "The agreement"), TimelineParams), responses(
    (status = 200, description = "`timeline --format json` (or its text)", body = Object),
    (status = 404, description = "Unknown agreement", body = armistice_api::wire::ErrorBody),
))]
pub async fn timeline(
    State(state): State<Arc<AppState>>,
    Segments(agreement): Segments<String>,
    Params(params): Params<TimelineParams>,
) -> Result<Response, HttpError> {
    let format: TimelineFormat = format_param(params.format.as_deref())?;
    let agreement = query::agreement_id(Names::HTTP, "agreement", &agreement)?;
    let view = query::view(
        Names::HTTP,
        params.at.as_deref(),
        params.known_at.as_deref(),
        now(),
    )?;
    let body = state
        .blocking(move |store| {
            let story = query::timeline_story(store, &agreement, view)?;
            Ok(formats::timeline_body(format, &story))
        })
        .await?;
    Ok(answer_body(body))
}

/// Every registered party, its role and current key.
#[utoipa::path(get, path = "/v1/parties", responses(
    (status = 200, description = "The parties", body = [armistice_api::wire::PartyJson]),
))]
pub async fn parties(State(state): State<Arc<AppState>>) -> Result<Response, HttpError> {
    let text = state
        .blocking(|store| {
            let parties = query::parties(store)?;
            let mut text = serde_json::to_string_pretty(&parties)
                .map_err(|e| HttpError::internal(e.to_string()))?;
            text.push('\n');
            Ok(text)
        })
        .await?;
    Ok(answer(text, Format::Json))
}

/// How to print the log.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LogParams {
    /// `json` (default) or `text`.
    pub format: Option<OutputFormat>,
}

/// Every entry, as `armistice log` prints it, streamed.
#[utoipa::path(get, path = "/v1/log", params(LogParams), responses(
    (status = 200, description = "`log --json` (or its table)", body = Object),
))]
pub async fn log(
    State(state): State<Arc<AppState>>,
    Params(params): Params<LogParams>,
) -> Result<Response, HttpError> {
    let format = format_of(params.format);
    let content_type = match format {
        Format::Json => "application/json",
        Format::Text => "text/plain; charset=utf-8",
    };
    stream_answer(state, content_type, move |store, sink| {
        output::write_log(store, format, sink)
    })
    .await
}

/// The checkpoint asked for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CheckpointParams {
    /// Tree size (default: the whole log).
    pub size: Option<u64>,
    /// `text` (the signed note, the default here) or `json` (`checkpoint --json`).
    pub format: Option<OutputFormat>,
}

/// The signed checkpoint of `size` entries: the signer's newest when it is
/// of that size, else signed now (and not kept), or the one kept for a size
/// whose key was rotated away since.
pub fn checkpoint_at(
    store: &dyn Store,
    latest: Option<Arc<SignedCheckpoint>>,
    size: Option<u64>,
) -> Result<SignedCheckpoint, HttpError> {
    let size = output::size_within(store, size, Names::HTTP, "size")?;
    if let Some(latest) = latest.filter(|c| c.checkpoint.size == size) {
        return Ok((*latest).clone());
    }
    match store.checkpoint_note(size) {
        Ok(signed) => Ok(signed),
        Err(error @ (StoreError::OldKey { .. } | StoreError::WrongOperatorKey)) => store
            .checkpoints()?
            .into_iter()
            .find(|c| c.checkpoint.size == size)
            .ok_or_else(|| error.into()),
        Err(error) => Err(error.into()),
    }
}

/// A signed checkpoint (C2SP signed note), as `armistice checkpoint` prints it.
#[utoipa::path(get, path = "/v1/checkpoint", params(CheckpointParams), responses(
    (status = 200, description = "The signed note (or `checkpoint --json` with format=json)", content_type = "text/plain", body = String),
    (status = 400, description = "Beyond the log", body = armistice_api::wire::ErrorBody),
))]
pub async fn checkpoint(
    State(state): State<Arc<AppState>>,
    Params(params): Params<CheckpointParams>,
) -> Result<Response, HttpError> {
    let format = match params.format {
        Some(OutputFormat::Json) => Format::Json,
        _ => Format::Text,
    };
    let latest = state.latest_checkpoint();
    let text = state
        .blocking(move |store| {
            let signed = checkpoint_at(store, latest, params.size)?;
            Ok(output::checkpoint(store, &signed, format)?)
        })
        .await?;
    let mut response = answer(text, format);
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    Ok(response)
}

/// An inclusion proof asked for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionParams {
    /// The entry.
    pub seq: u64,
    /// Tree size (default: the whole log).
    pub size: Option<u64>,
    /// `json` (default) or `text`.
    pub format: Option<OutputFormat>,
}

/// Proof that entry `seq` is in the tree of `size` entries, as `prove inclusion` prints it.
#[utoipa::path(get, path = "/v1/proofs/inclusion", params(InclusionParams), responses(
    (status = 200, description = "`prove inclusion --json` (or its text)", body = armistice_api::wire::InclusionProofJson),
    (status = 400, description = "Out of range", body = armistice_api::wire::ErrorBody),
))]
pub async fn inclusion(
    State(state): State<Arc<AppState>>,
    Params(params): Params<InclusionParams>,
) -> Result<Response, HttpError> {
    let format = format_of(params.format);
    let text = state
        .blocking(move |store| {
            Ok(output::inclusion(
                store,
                params.seq,
                params.size,
                Names::HTTP,
                format,
            )?)
        })
        .await?;
    Ok(answer(text, format))
}

/// A consistency proof asked for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyParams {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// `json` (default) or `text`.
    pub format: Option<OutputFormat>,
}

/// Proof that the tree of `to` entries extends the tree of `from`, as `prove consistency` prints it.
#[utoipa::path(get, path = "/v1/proofs/consistency", params(ConsistencyParams), responses(
    (status = 200, description = "`prove consistency --json` (or its text)", body = armistice_api::wire::ConsistencyProofJson),
    (status = 400, description = "Out of range", body = armistice_api::wire::ErrorBody),
))]
pub async fn consistency(
    State(state): State<Arc<AppState>>,
    Params(params): Params<ConsistencyParams>,
) -> Result<Response, HttpError> {
    let format = format_of(params.format);
    let text = state
        .blocking(move |store| {
            Ok(output::consistency(
                store,
                params.from,
                params.to,
                Names::HTTP,
                format,
            )?)
        })
        .await?;
    Ok(answer(text, format))
}

/// Health and size.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` when answered.
    pub status: &'static str,
    /// Durable entries.
    pub entries: u64,
}

/// Whether the server is up, and how many entries are durable.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Up", body = Health)))]
pub async fn healthz(State(state): State<Arc<AppState>>) -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        entries: state.store.head().seq,
    })
}
