//! The HTTP face of the witness (axum): `POST /add-checkpoint` and the
//! monitoring `GET /<origin hash>/checkpoint`. Handlers read the body under a
//! size limit and a timeout, call [`Witness`] on a blocking thread (it
//! fsyncs), and render its answer; no rule lives here.

use std::future::{Future, IntoFuture as _};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, HttpBody as _};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::error::WitnessError;
use crate::witness::Witness;
use crate::{
    REQUESTS_IN_FLIGHT_MAX, REQUEST_BODY_BYTES_MAX, REQUEST_READ_TIMEOUT_S, SHUTDOWN_GRACE_S,
};

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
/// requests in flight finish, for at most [`SHUTDOWN_GRACE_S`]; past that the
/// connections left are dropped. Either way no cosignature is lost from the
/// state: it is written before it is answered.
pub async fn serve(
    listener: TcpListener,
    witness: Arc<Witness>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopping, mut stopped) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = stopping.send(true);
    };
    let server = axum::serve(listener, router(witness))
        .with_graceful_shutdown(signal)
        .into_future();
    let grace = async move {
        // An error means the sender is gone: the server has ended anyway.
        let _ = stopped.wait_for(|stop| *stop).await;
        tokio::time::sleep(Duration::from_secs(SHUTDOWN_GRACE_S)).await;
    };
    tokio::select! {
        result = server => result,
        () = grace => Ok(()),
    }
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
    let read = read_body(body);
    let bytes = tokio::time::timeout(Duration::from_secs(REQUEST_READ_TIMEOUT_S), read)
        .await
        .map_err(|_| WitnessError::BodyTimeout)??;
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

/// The whole body, refused as soon as it grows past the limit (a chunked
/// body has no Content-Length to check first).
async fn read_body(mut body: Body) -> Result<Vec<u8>, WitnessError> {
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| WitnessError::Malformed(format!("unreadable body: {e}")))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > REQUEST_BODY_BYTES_MAX {
                return Err(WitnessError::BodyTooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(bytes)
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
