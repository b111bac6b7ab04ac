//! The SQLite baseline: what a user would pick instead of Armistice. One
//! table of events, in WAL mode with `synchronous=FULL`, with the indexes
//! Armistice keeps (unique event id, unique stream + version, occurred_at)
//! and the hash chain computed in the client.

use anyhow::Context;
use armistice_core::entry::{Hash, GENESIS_HASH};
use rusqlite::{params, Connection};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

/// `event_type` codes the queries use (as stored in Armistice headers).
const VIOLATION_ALLEGED: u8 = 10;
const ALLEGATION_RESPONDED: u8 = 12;
const ALLEGATION_ASSESSED: u8 = 13;
const ALLEGATION_RETRACTED: u8 = 14;

const SCHEMA: &str = "
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    event_id BLOB NOT NULL UNIQUE,
    stream TEXT NOT NULL,
    version INTEGER NOT NULL,
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    event_type INTEGER NOT NULL,
    agreement TEXT,
    outcome TEXT,
    body BLOB NOT NULL,
    hash BLOB NOT NULL,
    UNIQUE (stream, version)
);
CREATE INDEX events_occurred_at ON events (occurred_at);
";

/// One event as the SQLite baseline stores it: the columns a query needs
/// beside the very bytes Armistice stores for the entry.
#[derive(Clone, Debug)]
pub struct Row {
    /// Position in the log, from 1.
    pub seq: u64,
    /// The statement's id.
    pub event_id: [u8; 16],
    /// Its stream (`claim/X`).
    pub stream: String,
    /// Its version in the stream.
    pub version: u64,
    /// World time, microseconds.
    pub occurred_at: i64,
    /// Ledger time, microseconds.
    pub recorded_at: i64,
    /// Armistice's event type code.
    pub event_type: u8,
    /// The agreement of an allegation.
    pub agreement: Option<String>,
    /// The claim state a response or assessment leads to (`disputed`, `verified`…).
    pub outcome: Option<&'static str>,
    /// The stored bytes (leaf || marker || payload).
    pub body: Vec<u8>,
    /// How many of them are the payload.
    pub payload_bytes: usize,
}

/// Opens (creating) a database in WAL mode with `synchronous=FULL`.
pub fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(Duration::from_secs(60))?;
    Ok(conn)
}

/// Creates the table and its indexes.
pub fn create_schema(conn: &Connection) -> anyhow::Result<()> {
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// The chained hash of a row: SHA-256 of the previous hash and the row's bytes.
fn chain(prev: &Hash, body: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    hasher.update(body);
    hasher.finalize().into()
}

const INSERT: &str = "INSERT INTO events (seq, event_id, stream, version, occurred_at, recorded_at, event_type, agreement, outcome, body, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

fn insert(
    statement: &mut rusqlite::CachedStatement<'_>,
    row: &Row,
    hash: &Hash,
) -> anyhow::Result<()> {
    statement.execute(params![
        row.seq as i64,
        &row.event_id[..],
        row.stream,
        row.version as i64,
        row.occurred_at,
        row.recorded_at,
        row.event_type,
        row.agreement,
        row.outcome,
        row.body,
        &hash[..],
    ])?;
    Ok(())
}

/// Inserts `rows` into a fresh database at `path`, `per_transaction` rows
/// per transaction, chaining hashes in the client. Returns the time taken
/// (schema creation excluded) and leaves the database for the queries.
pub fn bulk_load(path: &Path, rows: &[Row], per_transaction: usize) -> anyhow::Result<Duration> {
    let mut conn = open(path)?;
    create_schema(&conn)?;
    let start = Instant::now();
    let mut prev = GENESIS_HASH;
    for chunk in rows.chunks(per_transaction) {
        let tx = conn.transaction()?;
        {
            let mut statement = tx.prepare_cached(INSERT)?;
            for row in chunk {
                let hash = chain(&prev, &row.body);
                insert(&mut statement, row, &hash)?;
                prev = hash;
            }
        }
        tx.commit()?;
    }
    Ok(start.elapsed())
}

/// `threads` writers each insert their rows one transaction per row,
/// sharing one connection behind a mutex (SQLite has one writer at a time
/// anyway; the hash chain needs the previous row). Returns the wall time.
pub fn concurrent_appends(path: &Path, per_thread: Vec<Vec<Row>>) -> anyhow::Result<Duration> {
    let conn = open(path)?;
    create_schema(&conn)?;
    let shared = Arc::new(Mutex::new((conn, GENESIS_HASH)));
    let barrier = Arc::new(Barrier::new(per_thread.len() + 1));
    let elapsed = std::thread::scope(|scope| -> anyhow::Result<Duration> {
        let handles: Vec<_> = per_thread
            .into_iter()
            .map(|rows| {
                let (shared, barrier) = (Arc::clone(&shared), Arc::clone(&barrier));
                scope.spawn(move || -> anyhow::Result<()> {
                    barrier.wait();
                    for row in &rows {
                        let mut guard = shared
                            .lock()
                            .map_err(|_| anyhow::anyhow!("a SQLite writer panicked"))?;
                        let (conn, prev) = &mut *guard;
                        let hash = chain(prev, &row.body);
                        // Autocommit: one INSERT is one durable transaction.
                        insert(&mut conn.prepare_cached(INSERT)?, row, &hash)?;
                        *prev = hash;
                    }
                    Ok(())
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a SQLite writer panicked"))??;
        }
        Ok(start.elapsed())
    })?;
    Ok(elapsed)
}

/// The largest seq recorded by `known_at`, by binary search over point
/// queries on the rowid: the same method Armistice uses
/// (`recorded_at` never decreases along `seq`).
pub fn last_seq_recorded_by(conn: &Connection, known_at: i64) -> anyhow::Result<u64> {
    let head: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?;
    let mut statement = conn.prepare_cached("SELECT recorded_at FROM events WHERE seq = ?1")?;
    let (mut low, mut high) = (0i64, head);
    while low < high {
        let mid = low + (high - low + 1) / 2;
        let recorded: i64 = statement.query_row([mid], |r| r.get(0))?;
        if recorded <= known_at {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    Ok(low as u64)
}

/// Each visible claim with its state as of world time `?2`, among rows up
/// to seq `?1`: retracted, else the latest assessment, else the latest
/// response, else open (Armistice's precedence).
fn claim_states_sql() -> String {
    format!(
        "SELECT v.stream AS stream, v.agreement AS agreement,
           CASE
             WHEN EXISTS (SELECT 1 FROM events r WHERE r.stream = v.stream AND r.event_type = {ALLEGATION_RETRACTED} AND r.seq <= ?1 AND r.occurred_at <= ?2) THEN 'retracted'
             ELSE COALESCE(
               (SELECT a.outcome FROM events a WHERE a.stream = v.stream AND a.event_type = {ALLEGATION_ASSESSED} AND a.seq <= ?1 AND a.occurred_at <= ?2 ORDER BY a.occurred_at DESC, a.seq DESC LIMIT 1),
               (SELECT p.outcome FROM events p WHERE p.stream = v.stream AND p.event_type = {ALLEGATION_RESPONDED} AND p.seq <= ?1 AND p.occurred_at <= ?2 ORDER BY p.occurred_at DESC, p.seq DESC LIMIT 1),
               'open')
           END AS state
         FROM events v
         WHERE v.event_type = {VIOLATION_ALLEGED} AND v.seq <= ?1 AND v.occurred_at <= ?2"
    )
}

/// `status --at`: claim counts by agreement and state. Returns the number
/// of claims counted.
pub fn status_counts(conn: &Connection, seq_max: u64, at: i64) -> anyhow::Result<u64> {
    let sql = format!(
        "SELECT agreement, state, COUNT(*) FROM ({}) GROUP BY agreement, state",
        claim_states_sql()
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let mut rows = statement.query(params![seq_max as i64, at])?;
    let mut total = 0u64;
    while let Some(row) = rows.next()? {
        let count: i64 = row.get(2)?;
        total += count as u64;
    }
    Ok(total)
}

/// `claims --known-at`: every claim with its state. Returns how many.
pub fn claim_list(conn: &Connection, seq_max: u64, at: i64) -> anyhow::Result<u64> {
    let mut statement = conn.prepare_cached(&claim_states_sql())?;
    let mut rows = statement.query(params![seq_max as i64, at])?;
    let mut listed = Vec::new();
    while let Some(row) = rows.next()? {
        let stream: String = row.get(0)?;
        let state: String = row.get(2)?;
        listed.push((stream, state));
    }
    Ok(listed.len() as u64)
}
