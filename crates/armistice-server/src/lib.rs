//! The Armistice ledger on the network: a thin axum server over the
//! [`Store`] trait. Handlers parse, call one function of the store or of
//! `armistice_api`, and render; no rule lives here. Appends go through the
//! store's group commit on the blocking pool (concurrent requests share
//! fsyncs) and are answered, once durable, with a signed receipt; reads
//! answer with exactly what the matching command prints; the log is also
//! served as C2SP tlog-tiles and as a live feed of Server-Sent Events.
//!
//! State is one [`AppState`] behind an `Arc`; errors are one [`HttpError`];
//! every limit is a named constant in [`config`]. [`serve`] runs until its
//! `stop` future resolves, then stops accepting, lets requests in flight
//! finish (each acknowledged append is durable) and returns.
//!
//! ```
//! use armistice_server::{serve, ServerConfig};
//! use std::sync::Arc;
//!
//! let dir = tempfile::tempdir()?;
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let ledger = armistice_store::Ledger::create(&dir.path().join("l"), &key.verifying_key().to_bytes(), "example.org/log")?;
//! ledger.attach_operator_key(key)?;
//! let runtime = tokio::runtime::Runtime::new()?;
//! runtime.block_on(async {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     // Stops at once: signs the first checkpoint, serves nothing, returns.
//!     serve(listener, Arc::new(ledger), ServerConfig::default(), async {}).await
//! })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod append;
pub mod auth;
pub mod config;
mod error;
pub mod extract;
pub mod feed;
pub mod ingest;
pub mod middleware;
pub mod openapi;
pub mod proofs;
pub mod read;
pub mod signer;
mod state;
pub mod stream;
pub mod tiles;

pub use config::ServerConfig;
pub use error::{rejection_status, HttpError};
pub use state::AppState;

use armistice_core::Timestamp;
use armistice_store::Store;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::Router;
use std::future::{Future, IntoFuture};
use std::sync::Arc;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Listening or serving failed.
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
    /// The first checkpoint could not be signed.
    #[error("cannot start: {0}")]
    Start(String),
}

/// The server's clock: now, in UTC.
pub fn now() -> Timestamp {
    Timestamp::from_datetime(chrono::Utc::now())
}

/// Every route, with the middleware and the body limit.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v1/events", post(append::append))
        .route("/v1/entries", get(read::entries))
        .route("/v1/entries/{seq}", get(read::entry))
        .route("/v1/status", get(read::status))
        .route("/v1/claims", get(read::claims))
        .route("/v1/claims/{claim}/audit", get(read::audit))
        .route("/v1/agreements/{agreement}/timeline", get(read::timeline))
        .route("/v1/parties", get(read::parties))
        .route("/v1/log", get(read::log))
        .route("/v1/checkpoint", get(read::checkpoint))
        .route("/v1/proofs/inclusion", get(read::inclusion))
        .route("/v1/proofs/consistency", get(read::consistency))
        .route("/v1/feed", get(feed::feed))
        .route("/v1/openapi.json", get(openapi::openapi_json))
        .route("/healthz", get(read::healthz))
        .route("/checkpoint", get(tiles::checkpoint))
        .route("/tile/{*path}", get(tiles::tile))
        .fallback(|| async { HttpError::not_found("no such endpoint (see /v1/openapi.json)") })
        .method_not_allowed_fallback(|| async {
            HttpError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint does not take that method (see /v1/openapi.json)",
            )
        })
        .layer(DefaultBodyLimit::max(state.config.body_bytes_max))
        .layer(from_fn_with_state(Arc::clone(&state), middleware::guard))
        .layer(from_fn(middleware::log_request))
        .with_state(state)
}

/// Serves `store` on `listener` until `stop` resolves; then stops accepting,
/// lets requests in flight finish (for at most
/// [`config::SHUTDOWN_GRACE`]), ends the feeds and the signer, and returns.
/// The caller closes the store once it holds the last reference.
pub async fn serve(
    listener: tokio::net::TcpListener,
    store: Arc<dyn Store>,
    config: ServerConfig,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (shutdown_sender, shutdown) = tokio::sync::watch::channel(false);
    let state = Arc::new(AppState::new(store, config, shutdown));
    signer::start(&state)
        .await
        .map_err(|e| ServerError::Start(e.body.error))?;
    let signer = tokio::spawn(signer::run(Arc::clone(&state)));
    let stopped = Arc::new(tokio::sync::Notify::new());
    let graceful = {
        let state = Arc::clone(&state);
        let stopped = Arc::clone(&stopped);
        async move {
            stop.await;
            state.begin_stopping();
            let _ = shutdown_sender.send(true);
            stopped.notify_one();
        }
    };
    let app = router(Arc::clone(&state));
    drop(state);
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(graceful)
        .into_future();
    tokio::select! {
        served = server => served?,
        _ = async {
            stopped.notified().await;
            tokio::time::sleep(config::SHUTDOWN_GRACE).await;
        } => tracing::warn!("requests still in flight after {} s were abandoned", config::SHUTDOWN_GRACE.as_secs()),
    }
    let _ = signer.await;
    Ok(())
}
