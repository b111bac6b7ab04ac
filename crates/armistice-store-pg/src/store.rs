//! Opening and creating the PostgreSQL log, the operator's keys, the head
//! and its watch, and the [`Store`] trait over the other modules.

use crate::append::{Group, PgSession, Turns, Writer};
use crate::error::{corrupt, database};
use crate::pool::Pool;
use crate::schema::{self, STORE_FORMAT};
use armistice_core::entry::{Hash, Header, Record};
use armistice_core::json::Submission;
use armistice_core::Timestamp;
use armistice_merkle::checkpoint::SignedCheckpoint;
use armistice_store::{
    AppendOptions, Appended, EntryIter, Head, InclusionProof, OperatorKeys, RecordIter, Store,
    StoreError, StoreSession, VerifyReport,
};
use ed25519_dalek::SigningKey;
use postgres::GenericClient;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// Connections each pool opens at most, unless the options say otherwise.
pub const CONNECTIONS_MAX_DEFAULT: usize = 16;
/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long sent data may stay unacknowledged before a connection counts
/// as dead (a server gone without closing its sockets).
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach the log.
#[derive(Clone, Debug)]
pub struct PgOptions {
    /// Where appends go: `postgresql://user@host:port/db`, or several hosts
    /// (`postgresql://user@h1:5432,h2:5432/db?target_session_attrs=read-write`)
    /// so that a reconnection after a failover finds the new primary.
    pub url: String,
    /// Where reads go (a synchronous standby); the primary when `None`.
    pub read_url: Option<String>,
    /// Connections each pool (appends, reads) opens at most.
    pub connections_max: usize,
    /// Refuse appends (a reading command).
    pub read_only: bool,
}

impl PgOptions {
    /// Appends and reads through `url`.
    pub fn new(url: &str) -> Self {
        PgOptions {
            url: url.to_owned(),
            read_url: None,
            connections_max: CONNECTIONS_MAX_DEFAULT,
            read_only: false,
        }
    }

    /// Reads go to `read_url` (a standby) instead.
    pub fn read_from(mut self, read_url: &str) -> Self {
        self.read_url = Some(read_url.to_owned());
        self
    }

    /// Appends are refused.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
}

/// What the store's threads share with the head watcher.
pub(crate) struct Shared {
    /// The primary: appends, checkpoints kept, `LISTEN`.
    pub(crate) write_pool: Arc<Pool>,
    /// Reads: the standby of `--read-url`, or the primary's pool.
    pub(crate) read_pool: Arc<Pool>,
    /// Whether reads go elsewhere than appends (then a head is announced
    /// only once the read side shows it).
    pub(crate) separate_reads: bool,
    /// The newest head seen on the read side, for watchers.
    pub(crate) head_sender: tokio::sync::watch::Sender<Head>,
    /// The configuration the watcher listens with (the primary's).
    pub(crate) listen_config: postgres::Config,
    /// Set when the store is dropped: the watcher stops.
    pub(crate) stopped: AtomicBool,
    /// The newest head read.
    pub(crate) last_head: Mutex<Head>,
}

impl Shared {
    /// Announces `head` when it is newer than the last one announced.
    pub(crate) fn observe(&self, head: Head) {
        self.head_sender.send_if_modified(|last| {
            let newer = head.seq > last.seq;
            if newer {
                *last = head;
            }
            newer
        });
    }

    /// The head the read side shows now. (It is not announced here: a
    /// caller may hold a borrow of the watch, and announcing takes its
    /// write lock; the watcher announces what it reads.)
    pub(crate) fn read_head(&self) -> Result<Head, StoreError> {
        let mut conn = self.read_pool.get()?;
        let head = read_head(&mut *conn);
        if head.is_err() {
            conn.mark_broken();
        }
        let head = head?;
        let mut last = self.last_head.lock().unwrap_or_else(|p| p.into_inner());
        if head.seq >= last.seq {
            *last = head;
        }
        Ok(head)
    }

    /// The newest head read so far (for when the database is away).
    pub(crate) fn last_head(&self) -> Head {
        *self.last_head.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The operator's secret keys this process holds.
#[derive(Default)]
pub(crate) struct SigningKeys {
    /// The key in force.
    pub(crate) current: Option<SigningKey>,
    /// The key an `operator_key_rotated` about to be appended installs.
    pub(crate) next: Option<SigningKey>,
}

/// An Armistice log in a PostgreSQL database: any number of these, in one
/// process or on many machines, append to and read the same log.
pub struct PgStore {
    pub(crate) shared: Arc<Shared>,
    pub(crate) name: String,
    pub(crate) origin: String,
    pub(crate) read_only: bool,
    pub(crate) keys: Mutex<SigningKeys>,
    /// What this process knows of the head (held briefly).
    pub(crate) writer: Mutex<Writer>,
    /// The rules' view of the streams loaded (held while staging).
    pub(crate) rules: Mutex<armistice_core::rules::RuleState>,
    /// This process's turns at the head row: one append transaction at a
    /// time, in the order the groups were staged.
    pub(crate) turns: Turns,
    /// Appends waiting to share a transaction (group commit).
    pub(crate) group: Mutex<Group>,
    pub(crate) group_done: Condvar,
    /// Whether the head watcher runs (started by the first `watch_head`).
    watcher: OnceLock<()>,
    /// The last operator key history read, for when the database is away.
    pub(crate) known_keys: Mutex<OperatorKeys>,
    /// What the append transactions did, for benchmarks.
    pub(crate) stats: Mutex<AppendStats>,
}

/// What this handle's append transactions did so far (benchmarks report
/// how many appends share a transaction, and where the head lock's time goes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppendStats {
    /// Transactions committed (groups and sessions).
    pub transactions: u64,
    /// Appends (callers) they carried.
    pub appends: u64,
    /// Transactions whose group was staged before the lock (on top of the
    /// group committing before it) and held at the lock.
    pub staged_ahead: u64,
    /// Time the head row was held: from the lock to the commit's return, µs.
    pub locked_micros: u64,
    /// Of which staging under the lock (rules, signatures, leaves,
    /// hashes: groups not staged ahead), µs.
    pub staging_micros: u64,
}

impl PgStore {
    /// Creates the tables of a new, empty log in the database `options.url`
    /// names (which must exist and hold no Armistice log), kept by the
    /// operator whose public key is given, whose checkpoints name `origin`.
    pub fn create(
        options: &PgOptions,
        operator_public_key: &[u8; 32],
        origin: &str,
    ) -> Result<PgStore, StoreError> {
        let name = display_url(&options.url);
        let pool = Pool::new(config(&options.url, &name)?, name.clone(), 1);
        let mut conn = pool.get()?;
        if !schema::create(&mut conn, operator_public_key, origin)? {
            return Err(StoreError::AlreadyExists(PathBuf::from(name)));
        }
        drop(conn);
        Self::open(options)
    }

    /// Opens the log in the database `options.url` names.
    pub fn open(options: &PgOptions) -> Result<PgStore, StoreError> {
        let name = display_url(&options.url);
        let write_config = config(&options.url, &name)?;
        let write_pool = Pool::new(write_config.clone(), name.clone(), options.connections_max);
        let (read_pool, separate_reads) = match &options.read_url {
            Some(url) => {
                let read_name = display_url(url);
                let pool = Pool::new(config(url, &read_name)?, read_name, options.connections_max);
                (pool, true)
            }
            None => (Arc::clone(&write_pool), false),
        };
        let mut conn = read_pool.get()?;
        if !schema::exists(&mut *conn)? {
            return Err(StoreError::NotALedger(PathBuf::from(name)));
        }
        let format = schema::meta(&mut *conn, "format")?.unwrap_or_default();
        if format != STORE_FORMAT.as_bytes() {
            return Err(StoreError::Database(format!(
                "the database at {name} holds an Armistice log in store format {:?}; this version reads format {STORE_FORMAT}",
                String::from_utf8_lossy(&format)
            )));
        }
        let operator_keys = schema::operator_keys(&mut *conn)?;
        let origin = match schema::meta(&mut *conn, "origin")? {
            Some(origin) => {
                String::from_utf8(origin).map_err(|_| corrupt(0, "the origin is not text"))?
            }
            None => armistice_store::default_origin(&operator_keys.all()[0].1),
        };
        let head = read_head(&mut *conn)?;
        drop(conn);
        let shared = Arc::new(Shared {
            write_pool,
            read_pool,
            separate_reads,
            head_sender: tokio::sync::watch::Sender::new(head),
            listen_config: write_config,
            stopped: AtomicBool::new(false),
            last_head: Mutex::new(head),
        });
        Ok(PgStore {
            shared,
            name,
            origin,
            read_only: options.read_only,
            keys: Mutex::new(SigningKeys::default()),
            writer: Mutex::new(Writer::default()),
            rules: Mutex::new(Default::default()),
            turns: Turns::default(),
            group: Mutex::new(Group::default()),
            group_done: Condvar::new(),
            watcher: OnceLock::new(),
            known_keys: Mutex::new(operator_keys),
            stats: Mutex::new(AppendStats::default()),
        })
    }

    /// What this handle's append transactions did so far.
    pub fn stats(&self) -> AppendStats {
        *self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The database as messages name it (the URL without its password).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Lets the store sign operator statements and checkpoints itself.
    pub fn attach_operator_key(&self, key: SigningKey) -> Result<(), StoreError> {
        if key.verifying_key().to_bytes() != self.operator_keys().current() {
            return Err(StoreError::WrongOperatorKey);
        }
        self.lock_keys().current = Some(key);
        Ok(())
    }

    /// Holds the key an `operator_key_rotated` is about to install, so that
    /// once it is appended the store signs with it.
    pub fn prepare_rotation(&self, key: SigningKey) {
        self.lock_keys().next = Some(key);
    }

    /// The operator's signing key in force, when this process holds it.
    pub fn operator_key(&self) -> Option<SigningKey> {
        let current = self.operator_keys().current();
        self.lock_keys()
            .current
            .clone()
            .filter(|k| k.verifying_key().to_bytes() == current)
    }

    pub(crate) fn lock_keys(&self) -> MutexGuard<'_, SigningKeys> {
        // Plain assignments only: poisoning cannot leave it half-updated.
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The operator's keys along the log, as the database holds them now
    /// (another server may have rotated them).
    pub fn operator_keys(&self) -> OperatorKeys {
        let read = self.shared.read_pool.get().and_then(|mut conn| {
            let keys = schema::operator_keys(&mut *conn);
            if keys.is_err() {
                conn.mark_broken();
            }
            keys
        });
        let mut known = self.known_keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Ok(keys) = read {
            *known = keys;
        }
        known.clone()
    }

    /// The newest durable entry, as the read side shows it now; the last
    /// one seen when the database cannot be reached.
    pub fn head(&self) -> Head {
        self.shared
            .read_head()
            .unwrap_or_else(|_| self.shared.last_head())
    }

    /// The newest durable entry, or why the database could not say.
    pub fn try_head(&self) -> Result<Head, StoreError> {
        self.shared.read_head()
    }

    /// A channel that sees every new durable head: `pg_notify` from every
    /// server's appends, a poll of the read side as a fallback.
    pub fn watch_head(&self) -> tokio::sync::watch::Receiver<Head> {
        self.watcher
            .get_or_init(|| crate::watch::spawn(Arc::downgrade(&self.shared)));
        self.shared.head_sender.subscribe()
    }

    pub(crate) fn check_writable(&self) -> Result<(), StoreError> {
        match self.read_only {
            true => Err(StoreError::ReadOnly(PathBuf::from(&self.name))),
            false => Ok(()),
        }
    }

    /// Starts a session: one transaction holding the head row, in which an
    /// import's chunks are written as they are staged; it lands whole at
    /// [`PgSession::commit`] or not at all.
    pub fn begin(&self) -> Result<PgSession<'_>, StoreError> {
        PgSession::begin(self)
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.shared
            .stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The head row.
pub(crate) fn read_head(client: &mut impl GenericClient) -> Result<Head, StoreError> {
    let row = client
        .query_one("SELECT seq, hash, recorded_at FROM armistice.head", &[])
        .map_err(|e| database(&e))?;
    head_of(row.get(0), row.get(1), row.get(2))
}

/// A head from its columns.
pub(crate) fn head_of(seq: i64, hash: Vec<u8>, recorded_at: i64) -> Result<Head, StoreError> {
    let seq = u64::try_from(seq).map_err(|_| corrupt(0, "the head's seq is negative"))?;
    let hash: Hash = hash
        .try_into()
        .map_err(|_| corrupt(seq, "the head's hash is not 32 bytes"))?;
    Ok(Head {
        seq,
        hash,
        recorded_at: Timestamp(recorded_at),
    })
}

/// A client configuration from a URL, with the store's timeouts.
fn config(url: &str, name: &str) -> Result<postgres::Config, StoreError> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| StoreError::Database(format!("{name} is not a PostgreSQL URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(TCP_USER_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("armistice");
    }
    Ok(config)
}

/// A URL as messages show it: without its password.
pub fn display_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        if let Some(at) = rest[..authority_end].rfind('@') {
            let user_info = &rest[..at];
            if let Some((user, _)) = user_info.split_once(':') {
                return format!("{scheme}://{user}:***@{}", &rest[at + 1..]);
            }
        }
        return url.to_owned();
    }
    // A key=value connection string.
    url.split_whitespace()
        .map(|part| match part.split_once('=') {
            Some(("password", _)) => "password=***".to_owned(),
            _ => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl StoreSession for PgSession<'_> {
    fn append(
        &mut self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        PgSession::append(self, batch, options)
    }

    fn commit(self: Box<Self>) -> Result<Head, StoreError> {
        PgSession::commit(*self)
    }
}

impl Store for PgStore {
    fn origin(&self) -> String {
        self.origin.clone()
    }
    fn operator_keys(&self) -> OperatorKeys {
        PgStore::operator_keys(self)
    }
    fn head(&self) -> Head {
        PgStore::head(self)
    }
    fn watch_head(&self) -> tokio::sync::watch::Receiver<Head> {
        PgStore::watch_head(self)
    }
    fn begin_session(&self) -> Result<Box<dyn StoreSession + '_>, StoreError> {
        Ok(Box::new(self.begin()?))
    }
    fn append(
        &self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        PgStore::append(self, batch, options)
    }
    fn entry_bytes(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        PgStore::entry_bytes(self, seq)
    }
    fn record(&self, seq: u64) -> Result<Record, StoreError> {
        PgStore::record(self, seq)
    }
    fn record_header(&self, seq: u64) -> Result<Header, StoreError> {
        PgStore::record_header(self, seq)
    }
    fn entries(&self, from: u64, to: u64) -> EntryIter<'_> {
        Box::new(PgStore::entries(self, from, to))
    }
    fn records_ahead(&self, from: u64, to: u64) -> RecordIter<'_> {
        Box::new(PgStore::records_ahead(self, from, to))
    }
    fn stream_records(&self, stream: &str) -> Result<Vec<Record>, StoreError> {
        PgStore::stream_records(self, stream)
    }
    fn party_records(&self) -> Result<Vec<Record>, StoreError> {
        PgStore::party_records(self)
    }
    fn agreement_records(&self, agreement: &str) -> Result<Vec<Record>, StoreError> {
        PgStore::agreement_records(self, agreement)
    }
    fn last_seq_recorded_by(&self, at: Timestamp) -> Result<u64, StoreError> {
        PgStore::last_seq_recorded_by(self, at)
    }
    fn records_occurred_by(
        &self,
        at: Timestamp,
        last: u64,
        max: u64,
    ) -> Result<Option<Vec<Record>>, StoreError> {
        PgStore::records_occurred_by(self, at, last, max)
    }
    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        PgStore::node(self, level, index)
    }
    fn root(&self, size: u64) -> Result<Hash, StoreError> {
        PgStore::root(self, size)
    }
    fn inclusion_proof(&self, seq: u64, size: u64) -> Result<InclusionProof, StoreError> {
        PgStore::inclusion_proof(self, seq, size)
    }
    fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, StoreError> {
        PgStore::consistency_proof(self, size1, size2)
    }
    fn sign_checkpoint(&self, size: u64) -> Result<SignedCheckpoint, StoreError> {
        PgStore::sign_checkpoint(self, size)
    }
    fn checkpoint_note(&self, size: u64) -> Result<SignedCheckpoint, StoreError> {
        PgStore::checkpoint_note(self, size)
    }
    fn keep_checkpoint(&self, signed: &SignedCheckpoint) -> Result<(), StoreError> {
        PgStore::keep_checkpoint(self, signed)
    }
    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, StoreError> {
        PgStore::checkpoints(self)
    }
    fn can_sign(&self) -> bool {
        self.operator_key().is_some()
    }
    fn verify(&self) -> Result<VerifyReport, StoreError> {
        PgStore::verify(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            display_url("postgresql://ann:secret@db.example:5432/armistice"),
            "postgresql://ann:***@db.example:5432/armistice"
        );
        assert_eq!(
            display_url("postgresql://postgres@127.0.0.1:5432/armistice"),
            "postgresql://postgres@127.0.0.1:5432/armistice"
        );
        assert_eq!(
            display_url("host=db user=ann password=secret dbname=a"),
            "host=db user=ann password=*** dbname=a"
        );
    }
}
