//! `GET /v1/feed`: Server-Sent Events, one per durable entry (`id:` its
//! seq, `data:` its export line), in seq order, each once: caught up from
//! storage, then live as the head advances. The head is watched, never
//! waited on by the writers, and each reader reads the log at its own pace,
//! so a slow reader never slows an append.

use crate::config::FEED_BATCH_ENTRIES;
use crate::error::HttpError;
use crate::extract::Params;
use crate::state::AppState;
use armistice_store::Head;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::watch;

/// Where the feed starts.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// The first seq to send (default 1). A `Last-Event-ID` header wins: the
    /// feed resumes after it.
    pub from: Option<u64>,
}

struct Cursor {
    state: Arc<AppState>,
    next: u64,
    head: watch::Receiver<Head>,
    shutdown: watch::Receiver<bool>,
    queued: VecDeque<Event>,
}

/// The live feed of durable entries.
#[utoipa::path(get, path = "/v1/feed", params(FeedParams, ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this seq")), responses(
    (status = 200, description = "Server-Sent Events: `id:` seq, `data:` the export line", content_type = "text/event-stream", body = String),
))]
pub async fn feed(
    State(state): State<Arc<AppState>>,
    Params(params): Params<FeedParams>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, HttpError> {
    let resume = match headers.get("last-event-id") {
        Some(value) => Some(
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| HttpError::invalid("Last-Event-ID: not a seq"))?,
        ),
        None => None,
    };
    let next = match resume {
        Some(last) => last.saturating_add(1),
        None => params.from.unwrap_or(1).max(1),
    };
    let keepalive = state.config.feed_keepalive;
    let cursor = Cursor {
        head: state.store.watch_head(),
        shutdown: state.shutdown(),
        state,
        next,
        queued: VecDeque::new(),
    };
    let stream = futures_util::stream::unfold(cursor, |mut cursor| async move {
        let event = cursor.next_event().await?;
        Some((Ok(event), cursor))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(keepalive).text("keep-alive")))
}

impl Cursor {
    /// The next event, or `None` when the feed ends (the server stops, or
    /// the log cannot be read).
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queued.pop_front() {
                return Some(event);
            }
            if *self.shutdown.borrow() {
                return None;
            }
            let durable = self.head.borrow_and_update().seq;
            if self.next <= durable {
                self.read_ahead(durable).await.ok()?;
                continue;
            }
            tokio::select! {
                changed = self.head.changed() => changed.ok()?,
                _ = self.shutdown.changed() => return None,
            }
        }
    }

    async fn read_ahead(&mut self, durable: u64) -> Result<(), HttpError> {
        let from = self.next;
        let to = durable.min(from.saturating_add(FEED_BATCH_ENTRIES - 1));
        let lines = self
            .state
            .blocking(move |store| {
                let mut lines = Vec::new();
                for item in store.entries(from, to) {
                    let (seq, bytes) = item?;
                    lines.push((seq, armistice_api::export::export_text(seq, &bytes)?));
                }
                Ok(lines)
            })
            .await?;
        for (seq, line) in lines {
            // Pair check: the store hands back exactly the seqs asked for, in order.
            if seq != self.next {
                return Err(HttpError::internal(format!(
                    "the feed expected entry {} and read {seq}",
                    self.next
                )));
            }
            self.queued
                .push_back(Event::default().id(seq.to_string()).data(line));
            self.next = seq + 1;
        }
        Ok(())
    }
}
