//! How the server runs, and its named limits.

use std::time::Duration;

/// Largest request body by default (`--max-body`), in bytes: 16 MiB.
pub const BODY_BYTES_MAX_DEFAULT: usize = 16 * 1024 * 1024;
/// How often the signer looks for new entries to sign a checkpoint over, by default.
pub const CHECKPOINT_INTERVAL_DEFAULT: Duration = Duration::from_secs(1);
/// Appends running at once on the blocking pool; more wait their turn
/// (those running share fsyncs through the store's group commit).
pub const WRITE_TASKS_MAX: usize = 256;
/// Reads running at once on the blocking pool (a slow reader of a streamed
/// answer holds one); kept apart from the appends'. Both together stay
/// below tokio's 512 blocking threads.
pub const READ_TASKS_MAX: usize = 128;
/// Longest a request may take to produce its response head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a stopping server waits for requests in flight before it gives
/// up on them (an append acknowledged is durable either way).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often the feed sends a comment line to keep proxies from closing it.
pub const FEED_KEEPALIVE_DEFAULT: Duration = Duration::from_secs(15);
/// Entries the feed reads from storage at a time.
pub const FEED_BATCH_ENTRIES: u64 = 256;
/// Chunks of a streamed answer (export, log) queued ahead of a slow reader.
pub const STREAM_CHUNKS_QUEUED_MAX: usize = 4;

/// What `armistice serve` was asked for.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest request body, in bytes (413 beyond).
    pub body_bytes_max: usize,
    /// How often a fresh checkpoint is signed when entries were appended.
    pub checkpoint_interval: Duration,
    /// The bearer token of operator statements; `None` refuses them all.
    pub operator_token: Option<String>,
    /// How often the feed sends a keep-alive comment.
    pub feed_keepalive: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_bytes_max: BODY_BYTES_MAX_DEFAULT,
            checkpoint_interval: CHECKPOINT_INTERVAL_DEFAULT,
            operator_token: None,
            feed_keepalive: FEED_KEEPALIVE_DEFAULT,
        }
    }
}
