//! The one shared state of every handler, and the way handlers reach the
//! synchronous store: on the blocking pool, a bounded number at a time.

use crate::config::{ServerConfig, READ_TASKS_MAX, WRITE_TASKS_MAX};
use crate::error::HttpError;
use armistice_merkle::checkpoint::SignedCheckpoint;
use armistice_store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::{watch, Semaphore};

/// What every handler shares, behind one `Arc`.
pub struct AppState {
    /// The log (the sled ledger today), used only through its trait.
    pub store: Arc<dyn Store>,
    /// How the server runs.
    pub config: ServerConfig,
    /// Reading store calls running at once (a slow reader of a long answer holds one).
    reads: Semaphore,
    /// Appending store calls running at once: kept apart from the reads,
    /// so that slow readers never hold up an append.
    writes: Semaphore,
    /// The note receipts share while the head stays put.
    pub receipt_notes: Arc<crate::append::ReceiptNotes>,
    /// The newest checkpoint the signer made (what `/checkpoint` serves).
    checkpoint: RwLock<Option<Arc<SignedCheckpoint>>>,
    /// Turns true once the server stops accepting work.
    shutdown: watch::Receiver<bool>,
    stopping: AtomicBool,
}

impl AppState {
    /// The state of a server over `store`; `shutdown` turns true when it stops.
    pub fn new(
        store: Arc<dyn Store>,
        config: ServerConfig,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        AppState {
            store,
            config,
            reads: Semaphore::new(READ_TASKS_MAX),
            writes: Semaphore::new(WRITE_TASKS_MAX),
            receipt_notes: Arc::default(),
            checkpoint: RwLock::new(None),
            shutdown,
            stopping: AtomicBool::new(false),
        }
    }

    /// Runs a read of the store on the blocking pool. A panic inside it is
    /// answered with 500, never carried into the server.
    pub async fn blocking<T, F>(&self, work: F) -> Result<T, HttpError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, HttpError> + Send + 'static,
    {
        self.run_on(&self.reads, work).await
    }

    /// Runs an append (or a checkpoint's signing) on the blocking pool.
    pub async fn blocking_write<T, F>(&self, work: F) -> Result<T, HttpError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, HttpError> + Send + 'static,
    {
        self.run_on(&self.writes, work).await
    }

    async fn run_on<T, F>(&self, lane: &Semaphore, work: F) -> Result<T, HttpError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<T, HttpError> + Send + 'static,
    {
        let _permit = lane.acquire().await.map_err(|_| HttpError::stopping())?;
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || work(&*store))
            .await
            .map_err(|e| {
                HttpError::internal(format!("the request failed inside the server: {e}"))
            })?
    }

    /// The newest checkpoint signed by the signer, if any.
    pub fn latest_checkpoint(&self) -> Option<Arc<SignedCheckpoint>> {
        self.checkpoint
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Keeps `signed` as the newest checkpoint, unless a larger one is kept.
    pub fn set_checkpoint(&self, signed: SignedCheckpoint) {
        let mut slot = self
            .checkpoint
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot
            .as_ref()
            .is_none_or(|c| c.checkpoint.size <= signed.checkpoint.size)
        {
            *slot = Some(Arc::new(signed));
        }
    }

    /// A receiver that turns true when the server stops.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }

    /// Marks the server as stopping: new requests get 503.
    pub fn begin_stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether the server is stopping.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}
