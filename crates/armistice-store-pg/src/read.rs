//! Reading committed entries. Every row of `entries` is a committed, and
//! so durable, entry: a transaction's rows appear with its head, never
//! before (with a synchronous standby, not before the standby has them), so
//! no head marker has to hide leftovers. Ranges are read a page at a time,
//! decoded ahead on another thread for replays, and the indexes answer the
//! questions by stream, agreement and date.

use crate::append::{int, seq_of};
use crate::error::{corrupt, database};
use crate::pool::{Pool, Pooled};
use crate::store::PgStore;
use armistice_core::entry::{Header, Record};
use armistice_core::Timestamp;
use armistice_store::{decode_record, StoreError};
use postgres::Row;
use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

/// Rows read per page of a range.
const PAGE_ROWS: i64 = 128;
/// Records handed over per message by [`PgStore::records_ahead`].
const RECORDS_PER_BATCH: usize = 512;
/// Batches decoded ahead of the reader at most (bounds memory).
const BATCHES_AHEAD_MAX: usize = 8;

/// Runs `work` on a reading connection; a failed one is not lent again.
pub(crate) fn with_reader<T>(
    pool: &Arc<Pool>,
    work: impl FnOnce(&mut Pooled) -> Result<T, postgres::Error>,
) -> Result<T, StoreError> {
    let mut conn = pool.get()?;
    work(&mut conn).map_err(|e| {
        conn.mark_broken();
        database(&e)
    })
}

/// Decodes `(seq, bytes)` rows.
fn records(rows: Vec<Row>) -> Result<Vec<Record>, StoreError> {
    rows.into_iter()
        .map(|row| {
            let seq = seq_of(row.get(0))?;
            decode_record(seq, &row.get::<_, Vec<u8>>(1))
        })
        .collect()
}

/// Committed entries `from..=to` in order, as (seq, stored bytes), read a
/// page at a time.
pub struct PgEntries {
    pool: Arc<Pool>,
    next: u64,
    to: u64,
    buffer: VecDeque<(u64, Vec<u8>)>,
    /// An error to give first (the head could not be read).
    pending: Option<StoreError>,
    failed: bool,
}

impl PgEntries {
    fn fill(&mut self) -> Result<(), StoreError> {
        let (from, to) = (int(self.next)?, int(self.to)?);
        let rows = with_reader(&self.pool, |c| {
            c.query(
                "SELECT seq, bytes FROM armistice.entries WHERE seq >= $1 AND seq <= $2 \
                 ORDER BY seq LIMIT $3",
                &[&from, &to, &PAGE_ROWS],
            )
        })?;
        for (expected, row) in (self.next..).zip(rows) {
            let seq = seq_of(row.get(0))?;
            if seq != expected {
                break;
            }
            self.buffer.push_back((seq, row.get(1)));
        }
        if self.buffer.is_empty() {
            return Err(corrupt(self.next, "the entry is missing from the log"));
        }
        Ok(())
    }
}

impl Iterator for PgEntries {
    type Item = Result<(u64, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.pending.take() {
            self.failed = true;
            return Some(Err(error));
        }
        if self.failed || self.next > self.to {
            return None;
        }
        if self.buffer.is_empty() {
            if let Err(e) = self.fill() {
                self.failed = true;
                return Some(Err(e));
            }
        }
        let item = self.buffer.pop_front()?;
        self.next = item.0 + 1;
        Some(Ok(item))
    }
}

/// Committed records in seq order, decoded by a background thread.
/// Dropping it early stops the thread at its next hand-over.
pub struct PgRecords {
    receiver: Receiver<Vec<Result<Record, StoreError>>>,
    current: std::vec::IntoIter<Result<Record, StoreError>>,
}

impl Iterator for PgRecords {
    type Item = Result<Record, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            self.current = self.receiver.recv().ok()?.into_iter();
        }
    }
}

impl PgStore {
    /// The stored bytes of committed entry `seq`.
    pub fn entry_bytes(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        let at = int(seq)?;
        let row = with_reader(&self.shared.read_pool, |c| {
            c.query_opt("SELECT bytes FROM armistice.entries WHERE seq = $1", &[&at])
        })?;
        match row {
            Some(row) => Ok(row.get(0)),
            None => Err(self.absent(seq)),
        }
    }

    /// Why entry `seq` was not found: beyond the log, or missing from it.
    fn absent(&self, seq: u64) -> StoreError {
        match self.try_head() {
            Ok(head) if seq == 0 || seq > head.seq => {
                StoreError::NoSuchEntry { seq, len: head.seq }
            }
            Ok(_) => corrupt(seq, "the entry is missing from the log"),
            Err(e) => e,
        }
    }

    /// The committed entry at `seq`.
    pub fn record(&self, seq: u64) -> Result<Record, StoreError> {
        decode_record(seq, &self.entry_bytes(seq)?)
    }

    /// The header of committed entry `seq` (only its leaf is read).
    pub fn record_header(&self, seq: u64) -> Result<Header, StoreError> {
        let at = int(seq)?;
        let row = with_reader(&self.shared.read_pool, |c| {
            c.query_opt(
                "SELECT substring(bytes FROM 1 FOR armistice.leaf_length(bytes)) \
                 FROM armistice.entries WHERE seq = $1",
                &[&at],
            )
        })?;
        let leaf: Vec<u8> = row.ok_or_else(|| self.absent(seq))?.get(0);
        let (header, _) = Header::decode(&leaf).map_err(|e| corrupt(seq, e.to_string()))?;
        if header.seq != seq {
            return Err(corrupt(seq, format!("its header says seq {}", header.seq)));
        }
        Ok(header)
    }

    /// The stored bytes of committed entries `from..=to` (clamped to the
    /// head), in order.
    pub fn entries(&self, from: u64, to: u64) -> PgEntries {
        let (to, pending) = match self.try_head() {
            Ok(head) => (to.min(head.seq), None),
            Err(e) => (0, Some(e)),
        };
        PgEntries {
            pool: Arc::clone(&self.shared.read_pool),
            next: from.max(1),
            to,
            buffer: VecDeque::new(),
            pending,
            failed: false,
        }
    }

    /// The committed entries `from..=to`, decoded ahead on another thread.
    pub fn records_ahead(&self, from: u64, to: u64) -> PgRecords {
        let entries = self.entries(from, to);
        let (sender, receiver) = sync_channel(BATCHES_AHEAD_MAX);
        std::thread::spawn(move || {
            let mut batch = Vec::with_capacity(RECORDS_PER_BATCH);
            for item in entries {
                let record = item.and_then(|(seq, bytes)| decode_record(seq, &bytes));
                let failed = record.is_err();
                batch.push(record);
                if failed || batch.len() == RECORDS_PER_BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(RECORDS_PER_BATCH));
                    if sender.send(full).is_err() || failed {
                        return;
                    }
                }
            }
            // The reader may be gone already; nothing is left to do then.
            let _ = sender.send(batch);
        });
        PgRecords {
            receiver,
            current: Vec::new().into_iter(),
        }
    }

    /// Every committed entry of `stream`, in version order.
    pub fn stream_records(&self, stream: &str) -> Result<Vec<Record>, StoreError> {
        let rows = with_reader(&self.shared.read_pool, |c| {
            c.query(
                "SELECT seq, bytes FROM armistice.entries WHERE stream = $1 ORDER BY version",
                &[&stream],
            )
        })?;
        records(rows)
    }

    /// Every committed entry of every party's stream, in seq order.
    pub fn party_records(&self) -> Result<Vec<Record>, StoreError> {
        let rows = with_reader(&self.shared.read_pool, |c| {
            c.query(
                "SELECT seq, bytes FROM armistice.entries WHERE stream LIKE 'party/%' ORDER BY seq",
                &[],
            )
        })?;
        records(rows)
    }

    /// Every committed entry a question about one agreement needs, in seq
    /// order: the parties, the agreement's own stream, and the streams of
    /// the claims filed under it (found through the `agreement` index).
    pub fn agreement_records(&self, agreement: &str) -> Result<Vec<Record>, StoreError> {
        let stream = format!("agreement/{agreement}");
        let rows = with_reader(&self.shared.read_pool, |c| {
            c.query(
                "SELECT seq, bytes FROM armistice.entries \
                 WHERE stream LIKE 'party/%' OR stream = $1 \
                 OR stream IN (SELECT stream FROM armistice.entries WHERE agreement = $2) \
                 ORDER BY seq",
                &[&stream, &agreement],
            )
        })?;
        records(rows)
    }

    /// The largest seq recorded at or before `at` (0 if none), from the
    /// `recorded_at` index (`recorded_at` never decreases along the log).
    pub fn last_seq_recorded_by(&self, at: Timestamp) -> Result<u64, StoreError> {
        let row = with_reader(&self.shared.read_pool, |c| {
            c.query_opt(
                "SELECT seq FROM armistice.entries WHERE recorded_at <= $1 \
                 ORDER BY recorded_at DESC, seq DESC LIMIT 1",
                &[&at.micros()],
            )
        })?;
        row.map_or(Ok(0), |row| seq_of(row.get(0)))
    }

    /// The committed entries up to `last` that occurred at or before `at`,
    /// and every party's entries, in seq order — when at most `max` entries
    /// occurred by then (counted on the `occurred_at` index); `None` when
    /// more (reading the log in order is then cheaper).
    pub fn records_occurred_by(
        &self,
        at: Timestamp,
        last: u64,
        max: u64,
    ) -> Result<Option<Vec<Record>>, StoreError> {
        let last = int(last.min(i64::MAX as u64))?;
        let limit = int(max.min(i64::MAX as u64 - 1) + 1)?;
        let at = at.micros();
        let count: i64 = with_reader(&self.shared.read_pool, |c| {
            c.query_one(
                "SELECT count(*) FROM (SELECT 1 FROM armistice.entries \
                 WHERE occurred_at <= $1 AND seq <= $2 LIMIT $3) AS early",
                &[&at, &last, &limit],
            )
            .map(|row| row.get(0))
        })?;
        if count >= limit {
            return Ok(None);
        }
        let rows = with_reader(&self.shared.read_pool, |c| {
            c.query(
                "SELECT seq, bytes FROM armistice.entries \
                 WHERE seq <= $2 AND (occurred_at <= $1 OR stream LIKE 'party/%') ORDER BY seq",
                &[&at, &last],
            )
        })?;
        records(rows).map(Some)
    }
}
