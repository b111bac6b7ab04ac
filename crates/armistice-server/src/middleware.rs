//! What every request goes through: one log line (method, path, status,
//! latency), 503 once the server is stopping, a time limit on producing the
//! response head, and a panic turned into a 500 rather than a dropped
//! connection.

use crate::config::REQUEST_TIMEOUT;
use crate::error::HttpError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use std::sync::Arc;
use std::time::Instant;

/// Logs one line per request through `tracing`.
pub async fn log_request(request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        latency_ms = start.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

/// Refuses work once stopping, bounds the time to a response head and
/// catches panics.
pub async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    if state.is_stopping() {
        return HttpError::stopping().into_response();
    }
    let run =
        std::panic::AssertUnwindSafe(tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)));
    match run.catch_unwind().await {
        Ok(Ok(response)) => response,
        Ok(Err(_)) => HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the request took longer than {} s; an append that was under way may still land (re-send it: event ids make that safe)", REQUEST_TIMEOUT.as_secs()),
        )
        .into_response(),
        Err(_) => HttpError::internal("the request failed inside the server").into_response(),
    }
}
