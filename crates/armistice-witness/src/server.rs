//! The HTTP face of the witness (axum): `POST /add-checkpoint` and the
//! monitoring `GET /<origin hash>/checkpoint`. Handlers read the body under a
//! size limit and a timeout, call [`Witness`] on a blocking thread (it
//! fsyncs), and render its answer; no rule lives here.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{to_bytes, Body};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::error::WitnessError;
use crate::witness::Witness;
use crate::{REQUESTS_IN_FLIGHT_MAX, REQUEST_BODY_BYTES_MAX, REQUEST_READ_TIMEOUT_S};

/// The content type of a 409 response body (tlog-witness).
pub const TLOG_SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

const TEXT_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// What every handler shares.
struct AppState {
    witness: Arc<Witness>,
    /// Bounds the requests being checked and written at once.
    in_flight: Semaphore,
}

/// The witness's routes, over `witness`.
pub fn router(witness: Arc<Witness>) -> Router {
    let state = Arc::new(AppState {
        witness,
        in_flight: Semaphore::new(REQUESTS_IN_FLIGHT_MAX),
    });
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .route("/{origin_hash}/checkpoint", get(checkpoint))
        .with_state(state)
}

/// Serves `witness` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish (their state is written before they answer).
pub async fn serve(
    listener: TcpListener,
    witness: Arc<Witness>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(witness))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn add_checkpoint(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match cosign(&state, &headers, body).await {
        Ok(lines) => text(StatusCode::OK, TEXT_CONTENT_TYPE, lines),
        Err(error) => error.into_response(),
    }
}

async fn cosign(state: &AppState, headers: &HeaderMap, body: Body) -> Result<String, WitnessError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > REQUEST_BODY_BYTES_MAX as u64) {
        return Err(WitnessError::BodyTooLarge);
    }
    let read = to_bytes(body, REQUEST_BODY_BYTES_MAX);
    let bytes = match tokio::time::timeout(Duration::from_secs(REQUEST_READ_TIMEOUT_S), read).await
    {
        Err(_) => return Err(WitnessError::BodyTimeout),
        // Over the limit without a Content-Length, or a broken connection.
        Ok(Err(e)) => return Err(WitnessError::Malformed(format!("unreadable body: {e}"))),
        Ok(Ok(bytes)) => bytes,
    };
    let _permit = state
        .in_flight
        .acquire()
        .await
        .map_err(|_| WitnessError::Internal("the request semaphore is closed".into()))?;
    let witness = Arc::clone(&state.witness);
    let timestamp = now_s()?;
    tokio::task::spawn_blocking(move || witness.add_checkpoint_body(&bytes, timestamp))
        .await
        .map_err(|e| WitnessError::Internal(format!("the request task failed: {e}")))?
}

async fn checkpoint(State(state): State<Arc<AppState>>, Path(hash): Path<String>) -> Response {
    match state.witness.checkpoint_note(&hash) {
        Ok(Some(note)) => text(StatusCode::OK, TEXT_CONTENT_TYPE, note),
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            TEXT_CONTENT_TYPE,
            "no checkpoint cosigned for this origin hash\n".into(),
        ),
        Err(error) => error.into_response(),
    }
}

/// The clock, in POSIX seconds (a cosignature's timestamp).
fn now_s() -> Result<u64, WitnessError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| WitnessError::Cosign("the clock reads before 1970".into()))
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

impl IntoResponse for WitnessError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self {
            // The body is the size the witness holds, as the client needs it.
            WitnessError::Conflict { recorded_size, .. } => {
                text(status, TLOG_SIZE_CONTENT_TYPE, format!("{recorded_size}\n"))
            }
            other => text(status, TEXT_CONTENT_TYPE, format!("{other}\n")),
        }
    }
}
