//! A small bounded pool of connections to one PostgreSQL server (or to the
//! first of several hosts that answers as the URL asks, e.g.
//! `target_session_attrs=read-write` after a failover).
//!
//! Our own rather than `r2d2`: the store is synchronous, needs at most a
//! few connections, and must throw away every connection that saw an error
//! (a transaction left aborted, or a server that died) and notice the
//! warning a cancelled wait for a synchronous standby leaves on a commit;
//! a pool of sixty lines says exactly that.

use crate::error::{database, unreachable_server};
use armistice_store::StoreError;
use postgres::error::Severity;
use postgres::{Client, NoTls};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a caller waits for a free connection before giving up.
const POOL_WAIT: Duration = Duration::from_secs(60);

/// What every connection sets before its first statement: appends are
/// durable at commit (locally, and on a synchronous standby when the
/// server names one), and read committed is what the append transaction's
/// head lock is designed for, whatever the server's defaults say.
const SESSION_SETTINGS: &str = "SET synchronous_commit = on; \
     SET default_transaction_isolation = 'read committed'; \
     SET statement_timeout = 0; \
     SET lock_timeout = 0";

/// A bounded set of connections made from one configuration.
pub(crate) struct Pool {
    config: postgres::Config,
    /// The server as messages name it (the URL without its password).
    pub(crate) name: String,
    size_max: usize,
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    idle: Vec<Conn>,
    open: usize,
}

/// One connection and what its notices said.
pub(crate) struct Conn {
    client: Client,
    /// Set when the server sent a WARNING: on a commit, it says the wait
    /// for a synchronous standby was cancelled (the transaction committed
    /// locally but may not have reached a standby).
    warned: Arc<AtomicBool>,
}

/// A connection lent by the pool; it goes back on drop unless it failed.
pub(crate) struct Pooled {
    pool: Arc<Pool>,
    conn: Option<Conn>,
    broken: bool,
}

impl Pool {
    /// A pool of at most `size_max` connections made from `config`.
    pub(crate) fn new(config: postgres::Config, name: String, size_max: usize) -> Arc<Pool> {
        Arc::new(Pool {
            config,
            name,
            size_max: size_max.max(1),
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // Only plain pushes and counts happen under the lock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection: an idle one, a new one, or the first one freed.
    pub(crate) fn get(self: &Arc<Self>) -> Result<Pooled, StoreError> {
        let deadline = Instant::now() + POOL_WAIT;
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                if conn.client.is_closed() {
                    state.open -= 1;
                    continue;
                }
                return Ok(self.lend(conn));
            }
            if state.open < self.size_max {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(self.lend(conn)),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Database(format!(
                    "all {} connections to {} stayed busy for {} s",
                    self.size_max,
                    self.name,
                    POOL_WAIT.as_secs()
                )));
            }
            state = self
                .freed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn lend(self: &Arc<Self>, conn: Conn) -> Pooled {
        Pooled {
            pool: Arc::clone(self),
            conn: Some(conn),
            broken: false,
        }
    }

    /// A new connection with the session settings made.
    pub(crate) fn connect(&self) -> Result<Conn, StoreError> {
        let warned = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&warned);
        let mut config = self.config.clone();
        config.notice_callback(move |notice| {
            if notice.parsed_severity() == Some(Severity::Warning) {
                flag.store(true, Ordering::SeqCst);
            }
        });
        let mut client = config
            .connect(NoTls)
            .map_err(|e| unreachable_server(&self.name, &e))?;
        client
            .batch_execute(SESSION_SETTINGS)
            .map_err(|e| database(&e))?;
        Ok(Conn { client, warned })
    }
}

impl Pooled {
    /// Marks the connection as not to be lent again (it saw an error).
    pub(crate) fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Forgets any warning seen so far.
    pub(crate) fn clear_warning(&self) {
        if let Some(conn) = &self.conn {
            conn.warned.store(false, Ordering::SeqCst);
        }
    }

    /// Whether the server sent a WARNING since [`Pooled::clear_warning`].
    pub(crate) fn warned(&self) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|conn| conn.warned.load(Ordering::SeqCst))
    }
}

impl std::ops::Deref for Pooled {
    type Target = Client;

    fn deref(&self) -> &Client {
        match &self.conn {
            Some(conn) => &conn.client,
            // `conn` is taken only in `drop`.
            None => unreachable!("a pooled connection is used after it was returned"),
        }
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Client {
        match &mut self.conn {
            Some(conn) => &mut conn.client,
            None => unreachable!("a pooled connection is used after it was returned"),
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        let mut state = self.pool.lock();
        if self.broken || conn.client.is_closed() {
            state.open -= 1;
            drop(state);
            drop(conn);
        } else {
            state.idle.push(conn);
            drop(state);
        }
        self.pool.freed.notify_one();
    }
}
