//! Long answers (an export, the log) written on the blocking pool and
//! streamed as they are produced: a bounded queue sits between the store
//! and the client, so a slow reader holds one blocking thread, never the
//! log. An error before the first byte is an ordinary error answer; one
//! after it aborts the body, so the client sees a cut transfer, never a
//! short answer that looks whole.

use crate::config::STREAM_CHUNKS_QUEUED_MAX;
use crate::error::HttpError;
use crate::state::AppState;
use armistice_api::output::Sink;
use armistice_api::ApiError;
use armistice_store::Store;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::mpsc;

enum Piece {
    Chunk(Bytes),
    Failed(HttpError),
}

/// Streams what `produce` writes to its sink, as `content_type`.
pub async fn stream_answer<F>(
    state: Arc<AppState>,
    content_type: &'static str,
    produce: F,
) -> Result<Response, HttpError>
where
    F: FnOnce(&dyn Store, Sink<'_>) -> Result<(), ApiError> + Send + 'static,
{
    let (sender, mut receiver) = mpsc::channel::<Piece>(STREAM_CHUNKS_QUEUED_MAX);
    let producer = Arc::clone(&state);
    tokio::spawn(async move {
        let failed = sender.clone();
        let outcome = producer
            .blocking(move |store| {
                let mut sink = |text: &str| {
                    if text.is_empty() {
                        return Ok(());
                    }
                    sender
                        .blocking_send(Piece::Chunk(Bytes::copy_from_slice(text.as_bytes())))
                        .map_err(|_| {
                            std::io::Error::new(
                                std::io::ErrorKind::BrokenPipe,
                                "the client went away",
                            )
                        })
                };
                produce(store, &mut sink).map_err(HttpError::from)
            })
            .await;
        if let Err(error) = outcome {
            let _ = failed.send(Piece::Failed(error)).await;
        }
    });
    let first = match receiver.recv().await {
        None => return Ok(([(header::CONTENT_TYPE, content_type)], "").into_response()),
        Some(Piece::Failed(error)) => return Err(error),
        Some(Piece::Chunk(bytes)) => bytes,
    };
    let rest = futures_util::stream::unfold(receiver, |mut receiver| async move {
        match receiver.recv().await? {
            Piece::Chunk(bytes) => Some((Ok::<Bytes, std::io::Error>(bytes), receiver)),
            Piece::Failed(error) => Some((Err(std::io::Error::other(error.body.error)), receiver)),
        }
    });
    let body =
        futures_util::StreamExt::chain(futures_util::stream::once(async move { Ok(first) }), rest);
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(body),
    )
        .into_response())
}
