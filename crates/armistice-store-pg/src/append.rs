//! Appending: one transaction per group of concurrent appends (or per
//! import session) that locks the head row, stages each batch with the
//! backend-neutral [`Stage`] against what the transaction sees, writes the
//! rows, moves the head and commits.
//!
//! Order of one transaction:
//!
//! 1. `BEGIN`; `SELECT … FROM head FOR UPDATE`: from here until the commit
//!    (and, with a synchronous standby, until the standby has the commit)
//!    no other server appends. The row gives seq, hash, `recorded_at` and
//!    the tree's frontier, so nothing else is read to extend the tree.
//! 2. The rule state cached from this process's last commit is kept only
//!    when the locked head is the head that commit left; otherwise (another
//!    server appended) it is dropped, and the operator's keys are read again.
//! 3. Each waiting batch is staged ([`Stage::stage_chunk`]: signatures,
//!    idempotency, expected versions, rules, the leaf and its hash, the
//!    Merkle nodes), reading through the transaction (it sees the rows of
//!    the batches before it); an accepted batch's rows are written at once
//!    (`INSERT … SELECT * FROM UNNEST(…)`), a rejected one writes nothing
//!    and only it fails.
//! 4. The head row and, after a rotation, the operator's keys are
//!    updated; `pg_notify` announces the head; `COMMIT`.
//!
//! `seq` is the locked head + 1, never a sequence object: a failed
//! transaction leaves no gap. A commit whose answer never came is
//! [`StoreError::OutcomeUnknown`]; sending the batch again with the same
//! event ids is answered with duplicates.

use crate::error::{commit_failed, corrupt, database, repeat};
use crate::pool::Pooled;
use crate::schema::{self, HEAD_CHANNEL};
use crate::store::{head_of, PgStore};
use armistice_core::disclose::Salt;
use armistice_core::entry::Hash;
use armistice_core::json::Submission;
use armistice_core::rules::RuleState;
use armistice_store::stage::{LogView, Stage, StageContext, StagedEntry};
use armistice_store::{
    AppendOptions, Appended, Frontier, Head, OperatorKeys, StoreError, BATCH_EVENTS_MAX,
};
use ed25519_dalek::SigningKey;
use postgres::Client;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Most appends one transaction carries.
pub const GROUP_APPENDS_MAX: usize = 256;

/// What this process remembers between its transactions.
#[derive(Default)]
pub(crate) struct Writer {
    /// The rules' view of the streams loaded so far.
    rules: RuleState,
    /// The head this process's last commit left: the rule state and the
    /// operator keys are valid only while the locked head is this one.
    at: Option<Head>,
    operator_keys: OperatorKeys,
}

impl Writer {
    /// Forgets everything (after a failure, or another server's append).
    fn reset(&mut self) {
        self.rules = RuleState::default();
        self.at = None;
    }
}

/// Appends waiting for a transaction.
#[derive(Default)]
pub(crate) struct Group {
    queue: VecDeque<Arc<Request>>,
    /// Whether a thread is running a transaction for the queue.
    leading: bool,
    /// Appends in that transaction.
    in_flight: usize,
}

/// One caller's append, waiting in the group.
pub(crate) struct Request {
    batch: Vec<Submission>,
    options: AppendOptions,
    outcome: Mutex<Option<Result<Vec<Appended>, StoreError>>>,
}

impl Request {
    fn take_outcome(&self) -> Option<Result<Vec<Appended>, StoreError>> {
        self.outcome
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    fn set_outcome(&self, outcome: Result<Vec<Appended>, StoreError>) {
        *self.outcome.lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
    }
}

/// The head row as the append transaction locked it.
pub(crate) struct Locked {
    pub(crate) head: Head,
    pub(crate) frontier: Frontier,
}

fn fresh_salt() -> Salt {
    let mut salt = [0; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
    salt
}

/// What the earlier appends of a group staged and the transaction has not
/// written yet: every accepted append's rows are written together before
/// the commit, and the later appends of the group read through this.
#[derive(Default)]
pub(crate) struct Pending {
    entries: Vec<StagedEntry>,
    nodes: Vec<(u8, u64, Hash)>,
    redactions: BTreeMap<u64, Vec<u8>>,
    ids: HashMap<Uuid, u64>,
    streams: HashMap<String, Vec<u64>>,
    /// The index in `entries` of each seq.
    at: HashMap<u64, usize>,
}

impl Pending {
    /// Takes over what an accepted stage staged.
    fn absorb(&mut self, stage: &mut Stage) {
        for staged in std::mem::take(&mut stage.entries) {
            let header = &staged.header;
            self.ids.insert(header.event_id, header.seq);
            self.streams
                .entry(header.stream.clone())
                .or_default()
                .push(header.seq);
            self.at.insert(header.seq, self.entries.len());
            self.entries.push(staged);
        }
        self.nodes.append(&mut stage.nodes);
        self.redactions.append(&mut stage.redactions);
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.redactions.is_empty()
    }
}

/// The log as staging sees it inside the append transaction: the rows
/// committed before it, what the transaction wrote, and what the group's
/// earlier appends staged ([`Pending`]). The event ids a group names are
/// looked up in one query first, and a stream's entries are read with
/// their bytes, so that staging costs a few round trips, not one per event.
pub(crate) struct TxnView<'a> {
    client: RefCell<&'a mut Client>,
    /// The head when the transaction locked it: only entries up to it may be redacted.
    durable: u64,
    pending: &'a Pending,
    /// Event ids looked up in bulk: seq, or `None` when not stored.
    ids: &'a HashMap<Uuid, Option<u64>>,
    /// Entry bytes read with their stream.
    bytes: RefCell<HashMap<u64, Vec<u8>>>,
}

impl<'a> TxnView<'a> {
    fn new(
        client: &'a mut Client,
        durable: u64,
        pending: &'a Pending,
        ids: &'a HashMap<Uuid, Option<u64>>,
    ) -> Self {
        TxnView {
            client: RefCell::new(client),
            durable,
            pending,
            ids,
            bytes: RefCell::new(HashMap::new()),
        }
    }
}

/// Looks up every event id the batches name, in one query: seq, or `None`
/// when not stored.
fn stored_ids<'b>(
    client: &mut Client,
    batches: impl Iterator<Item = &'b [Submission]>,
) -> Result<HashMap<Uuid, Option<u64>>, StoreError> {
    let ids: Vec<Uuid> = batches.flatten().map(|s| s.statement.event_id).collect();
    let rows = client
        .query(
            "SELECT event_id, seq FROM armistice.entries WHERE event_id = ANY($1)",
            &[&ids],
        )
        .map_err(|e| database(&e))?;
    let mut found: HashMap<Uuid, Option<u64>> = ids.into_iter().map(|id| (id, None)).collect();
    for row in rows {
        found.insert(row.get(0), Some(seq_of(row.get(1))?));
    }
    Ok(found)
}

impl LogView for TxnView<'_> {
    fn event_seq(&self, id: &Uuid) -> Result<Option<u64>, StoreError> {
        if let Some(seq) = self.pending.ids.get(id) {
            return Ok(Some(*seq));
        }
        if let Some(known) = self.ids.get(id) {
            return Ok(*known);
        }
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT seq FROM armistice.entries WHERE event_id = $1",
                &[id],
            )
            .map_err(|e| database(&e))?;
        row.map(|row| seq_of(row.get(0))).transpose()
    }

    fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT seq, bytes FROM armistice.entries WHERE stream = $1 ORDER BY version",
                &[&stream],
            )
            .map_err(|e| database(&e))?;
        let mut seqs = Vec::with_capacity(rows.len());
        let mut bytes = self.bytes.borrow_mut();
        for row in rows {
            let seq = seq_of(row.get(0))?;
            bytes.insert(seq, row.get(1));
            seqs.push(seq);
        }
        if let Some(staged) = self.pending.streams.get(stream) {
            seqs.extend(staged);
        }
        Ok(seqs)
    }

    fn entry_bytes(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        if let Some(bytes) = self.pending.redactions.get(&seq) {
            return Ok(bytes.clone());
        }
        if let Some(index) = self.pending.at.get(&seq) {
            return Ok(self.pending.entries[*index].bytes.clone());
        }
        if let Some(bytes) = self.bytes.borrow().get(&seq) {
            return Ok(bytes.clone());
        }
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT bytes FROM armistice.entries WHERE seq = $1",
                &[&int(seq)?],
            )
            .map_err(|e| database(&e))?;
        row.map(|row| row.get(0))
            .ok_or_else(|| corrupt(seq, "the entry is missing from the log"))
    }

    fn durable_seq(&self) -> u64 {
        self.durable
    }
}

/// A seq column as a seq.
pub(crate) fn seq_of(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(0, format!("a stored seq is negative ({value})")))
}

/// A seq or size as PostgreSQL's `bigint`.
pub(crate) fn int(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::NoSuchEntry {
        seq: value,
        len: i64::MAX as u64,
    })
}

/// `BEGIN` and the head row, locked.
pub(crate) fn begin_locked(client: &mut Client) -> Result<Locked, StoreError> {
    client.batch_execute("BEGIN").map_err(|e| database(&e))?;
    let row = client
        .query_one(
            "SELECT seq, hash, recorded_at, frontier FROM armistice.head FOR UPDATE",
            &[],
        )
        .map_err(|e| database(&e))?;
    let head = head_of(row.get(0), row.get(1), row.get(2))?;
    let frontier = decode_frontier(head.seq, &row.get::<_, Vec<u8>>(3))?;
    Ok(Locked { head, frontier })
}

/// The frontier as the head row keeps it: per subtree, largest first, its
/// level (1 byte), index (8, big-endian) and hash (32).
pub(crate) fn encode_frontier(frontier: &Frontier) -> Vec<u8> {
    let mut out = Vec::with_capacity(frontier.nodes().len() * 41);
    for (level, index, hash) in frontier.nodes() {
        out.push(*level);
        out.extend_from_slice(&index.to_be_bytes());
        out.extend_from_slice(hash);
    }
    out
}

/// Reads the head row's frontier, which must close a tree of `size` leaves.
pub(crate) fn decode_frontier(size: u64, bytes: &[u8]) -> Result<Frontier, StoreError> {
    let damaged = || corrupt(size, "the tree's frontier in the head row is damaged");
    if !bytes.len().is_multiple_of(41) {
        return Err(damaged());
    }
    let mut nodes = Vec::with_capacity(bytes.len() / 41);
    let mut leaves = 0u64;
    for part in bytes.chunks_exact(41) {
        let (level, rest) = part.split_first().ok_or_else(damaged)?;
        let (index, hash) = rest.split_first_chunk::<8>().ok_or_else(damaged)?;
        let index = u64::from_be_bytes(*index);
        let width = 1u64.checked_shl(u32::from(*level)).ok_or_else(damaged)?;
        // Subtrees sit left to right, each starting where the last ended.
        if index.checked_mul(width) != Some(leaves) {
            return Err(damaged());
        }
        leaves = leaves.checked_add(width).ok_or_else(damaged)?;
        nodes.push((*level, index, hash.try_into().map_err(|_| damaged())?));
    }
    if leaves != size {
        return Err(damaged());
    }
    Ok(Frontier::from_nodes(nodes))
}

/// Writes staged rows: entries with their index columns, the Merkle
/// nodes they complete, and new bytes of redacted entries.
pub(crate) fn write_rows(
    client: &mut Client,
    entries: &[StagedEntry],
    nodes: &[(u8, u64, Hash)],
    redactions: &BTreeMap<u64, Vec<u8>>,
) -> Result<(), StoreError> {
    if !entries.is_empty() {
        let n = entries.len();
        let (mut seqs, mut ids, mut streams, mut versions) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut occurred, mut recorded, mut agreements, mut bytes) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for staged in entries {
            let header = &staged.header;
            seqs.push(int(header.seq)?);
            ids.push(header.event_id);
            streams.push(header.stream.as_str());
            versions.push(int(header.version)?);
            occurred.push(header.occurred_at.micros());
            recorded.push(header.recorded_at.micros());
            agreements.push(staged.agreement.as_deref());
            bytes.push(staged.bytes.as_slice());
        }
        client
            .execute(
                "INSERT INTO armistice.entries \
                 (seq, event_id, stream, version, occurred_at, recorded_at, agreement, bytes) \
                 SELECT * FROM UNNEST($1::int8[], $2::uuid[], $3::text[], $4::int8[], \
                 $5::int8[], $6::int8[], $7::text[], $8::bytea[])",
                &[
                    &seqs,
                    &ids,
                    &streams,
                    &versions,
                    &occurred,
                    &recorded,
                    &agreements,
                    &bytes,
                ],
            )
            .map_err(|e| database(&e))?;
    }
    if !nodes.is_empty() {
        let levels: Vec<i16> = nodes.iter().map(|n| i16::from(n.0)).collect();
        let indexes = nodes
            .iter()
            .map(|n| int(n.1))
            .collect::<Result<Vec<i64>, _>>()?;
        let hashes: Vec<&[u8]> = nodes.iter().map(|n| n.2.as_slice()).collect();
        client
            .execute(
                "INSERT INTO armistice.nodes (level, idx, hash) \
                 SELECT * FROM UNNEST($1::int2[], $2::int8[], $3::bytea[])",
                &[&levels, &indexes, &hashes],
            )
            .map_err(|e| database(&e))?;
    }
    if !redactions.is_empty() {
        let seqs = redactions
            .keys()
            .map(|seq| int(*seq))
            .collect::<Result<Vec<i64>, _>>()?;
        let bytes: Vec<&[u8]> = redactions.values().map(Vec::as_slice).collect();
        let changed = client
            .execute(
                "UPDATE armistice.entries AS e SET bytes = r.bytes \
                 FROM UNNEST($1::int8[], $2::bytea[]) AS r(seq, bytes) WHERE e.seq = r.seq",
                &[&seqs, &bytes],
            )
            .map_err(|e| database(&e))?;
        if changed != seqs.len() as u64 {
            let first = redactions.keys().next().copied().unwrap_or(0);
            return Err(corrupt(first, "an entry to redact is missing from the log"));
        }
    }
    Ok(())
}

/// Writes a session's staged chunk (its redactions only with the commit).
fn write_stage(
    client: &mut Client,
    stage: &Stage,
    with_redactions: bool,
) -> Result<(), StoreError> {
    let none = BTreeMap::new();
    let redactions = if with_redactions {
        &stage.redactions
    } else {
        &none
    };
    write_rows(client, &stage.entries, &stage.nodes, redactions)
}

/// Moves the head row (announcing it), and stores the operator's keys
/// when they changed. With nothing new (only duplicates found), the head
/// row is still written, so that the commit waits for the standby as any
/// other: what the duplicates found is then durable there too.
fn finish_transaction(
    client: &mut Client,
    locked: &Locked,
    head: Head,
    frontier: &Frontier,
    operator_keys: Option<&OperatorKeys>,
) -> Result<(), StoreError> {
    if let Some(keys) = operator_keys {
        client
            .execute(
                "UPDATE armistice.meta SET value = $1 WHERE name = 'operator_keys'",
                &[&keys.encode()],
            )
            .map_err(|e| database(&e))?;
    }
    if head == locked.head {
        client
            .execute("UPDATE armistice.head SET seq = seq", &[])
            .map_err(|e| database(&e))?;
        return Ok(());
    }
    let moved = client
        .query(
            "WITH moved AS (UPDATE armistice.head SET seq = $1, hash = $2, recorded_at = $3, \
             frontier = $4 RETURNING seq) SELECT pg_notify($5, seq::text) FROM moved",
            &[
                &int(head.seq)?,
                &head.hash.as_slice(),
                &head.recorded_at.micros(),
                &encode_frontier(frontier),
                &HEAD_CHANNEL,
            ],
        )
        .map_err(|e| database(&e))?;
    if moved.len() != 1 {
        return Err(corrupt(0, "the head row is missing"));
    }
    Ok(())
}

/// `COMMIT`: durable here and, when the server names synchronous
/// standbys, there. An error from the server means it rolled back; a lost
/// connection, or a warning (the wait for the standby was cancelled, so the
/// commit is local only), leaves the outcome unknown.
pub(crate) fn commit(conn: &mut Pooled) -> Result<(), StoreError> {
    conn.clear_warning();
    match conn.batch_execute("COMMIT") {
        Ok(()) if conn.warned() => {
            conn.mark_broken();
            Err(StoreError::OutcomeUnknown(
                "the server committed locally but warned that the wait for a synchronous standby was cancelled".into(),
            ))
        }
        Ok(()) => Ok(()),
        Err(e) => {
            conn.mark_broken();
            Err(commit_failed(&e))
        }
    }
}

impl PgStore {
    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // A panic under the lock leaves a rule state that `reset` would
        // have dropped; every failure path resets it before unlocking, and
        // a poisoned one is reset here.
        match self.writer.lock() {
            Ok(writer) => writer,
            Err(poisoned) => {
                let mut writer = poisoned.into_inner();
                writer.reset();
                writer
            }
        }
    }

    fn lock_group(&self) -> MutexGuard<'_, Group> {
        self.group.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends not yet answered: queued, or in the transaction under way.
    pub fn waiting_appends(&self) -> usize {
        let group = self.lock_group();
        group.queue.len() + group.in_flight
    }

    /// Appends a batch: all of it lands, durably, or none of it does.
    /// Concurrent appends share one transaction (group commit): one waiting
    /// caller leads it for all of them.
    pub fn append(
        &self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        self.check_writable()?;
        let request = Arc::new(Request {
            batch: batch.to_vec(),
            options: *options,
            outcome: Mutex::new(None),
        });
        let mut group = self.lock_group();
        group.queue.push_back(Arc::clone(&request));
        loop {
            if let Some(outcome) = request.take_outcome() {
                return outcome;
            }
            if group.leading {
                group = self
                    .group_done
                    .wait(group)
                    .unwrap_or_else(|p| p.into_inner());
                continue;
            }
            group.leading = true;
            let taken = take_group(&mut group.queue);
            group.in_flight = taken.len();
            drop(group);
            let lead = Leading {
                store: self,
                taken: &taken,
            };
            let outcomes = self.commit_group(&taken);
            for (request, outcome) in taken.iter().zip(outcomes) {
                request.set_outcome(outcome);
            }
            drop(lead);
            group = self.lock_group();
        }
    }

    /// One transaction for `requests`: an outcome for each.
    fn commit_group(&self, requests: &[Arc<Request>]) -> Vec<Result<Vec<Appended>, StoreError>> {
        let mut writer = self.lock_writer();
        let signing = self.lock_keys().current.clone();
        let result = self.shared.write_pool.get().and_then(|mut conn| {
            let done = self.group_transaction(&mut conn, &mut writer, requests, signing);
            if done.is_err() {
                conn.mark_broken();
            }
            done
        });
        match result {
            Ok(outcomes) => outcomes,
            Err(error) => {
                writer.reset();
                requests.iter().map(|_| Err(repeat(&error))).collect()
            }
        }
    }

    fn group_transaction(
        &self,
        conn: &mut Pooled,
        writer: &mut Writer,
        requests: &[Arc<Request>],
        mut signing: Option<SigningKey>,
    ) -> Result<Vec<Result<Vec<Appended>, StoreError>>, StoreError> {
        let locked = begin_locked(conn)?;
        let locked_at = Instant::now();
        let mut staging = Duration::ZERO;
        self.refresh_writer(conn, writer, locked.head)?;
        let mut head = locked.head;
        let mut frontier = locked.frontier.clone();
        let mut keys = writer.operator_keys.clone();
        let mut outcomes = Vec::with_capacity(requests.len());
        let ids = stored_ids(conn, requests.iter().map(|r| r.batch.as_slice()))?;
        let mut pending = Pending::default();
        for request in requests {
            let mut stage = Stage::new(head, frontier.clone(), keys.clone());
            let started = Instant::now();
            let staged = {
                let view = TxnView::new(conn, locked.head.seq, &pending, &ids);
                let mut salt = fresh_salt;
                let mut context = StageContext {
                    operator_key: signing.as_ref(),
                    fresh_salt: &mut salt,
                };
                stage
                    .stage_chunk(
                        &view,
                        &mut writer.rules,
                        &mut context,
                        &request.batch,
                        &request.options,
                    )
                    .and_then(|appended| stage.finish().map(|()| appended))
            };
            staging += started.elapsed();
            match staged {
                Ok(appended) => {
                    if stage.operator_keys != keys {
                        signing = self.rotated_signing_key(&stage.operator_keys);
                    }
                    pending.absorb(&mut stage);
                    head = stage.head;
                    frontier = stage.frontier;
                    keys = stage.operator_keys;
                    outcomes.push(Ok(appended));
                }
                Err(rejected @ StoreError::Rejected { .. }) => {
                    // What the batch applied to the rule state goes; the
                    // streams reload through the view.
                    writer.rules = RuleState::default();
                    outcomes.push(Err(rejected));
                }
                Err(failed) => return Err(failed),
            }
        }
        if !pending.is_empty() {
            write_rows(conn, &pending.entries, &pending.nodes, &pending.redactions)?;
        }
        let keys_changed = keys != writer.operator_keys;
        let committed = finish_transaction(
            conn,
            &locked,
            head,
            &frontier,
            keys_changed.then_some(&keys),
        )
        .and_then(|()| commit(conn));
        if let Err(error) = committed {
            // The rejected appends stay rejected; the others share the failure.
            conn.mark_broken();
            writer.reset();
            return Ok(outcomes
                .into_iter()
                .map(|outcome| outcome.and_then(|_| Err(repeat(&error))))
                .collect());
        }
        self.committed(writer, head, keys, keys_changed);
        self.count(requests.len(), locked_at.elapsed(), staging);
        Ok(outcomes)
    }

    /// Keeps the cached rule state only when the locked head is the one
    /// this process's last commit left; reads the operator's keys otherwise.
    fn refresh_writer(
        &self,
        client: &mut Client,
        writer: &mut Writer,
        locked: Head,
    ) -> Result<(), StoreError> {
        if writer.at != Some(locked) {
            writer.reset();
            writer.operator_keys = schema::operator_keys(client)?;
        }
        Ok(())
    }

    /// Counts a committed transaction.
    fn count(&self, appends: usize, locked: Duration, staging: Duration) {
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.transactions += 1;
        stats.appends += appends as u64;
        stats.locked_micros += u64::try_from(locked.as_micros()).unwrap_or(u64::MAX);
        stats.staging_micros += u64::try_from(staging.as_micros()).unwrap_or(u64::MAX);
    }

    /// The key held for a rotation, once the rotation is staged.
    fn rotated_signing_key(&self, keys: &OperatorKeys) -> Option<SigningKey> {
        let current = keys.current();
        self.lock_keys()
            .next
            .clone()
            .filter(|k| k.verifying_key().to_bytes() == current)
    }

    /// After a commit: the cache is valid at the new head; a rotation's key
    /// signs from now on; the head is announced.
    fn committed(&self, writer: &mut Writer, head: Head, keys: OperatorKeys, rotated: bool) {
        writer.at = Some(head);
        if rotated {
            let current = keys.current();
            let mut signing = self.lock_keys();
            signing.current = signing
                .next
                .take()
                .filter(|k| k.verifying_key().to_bytes() == current);
        }
        *self.known_keys.lock().unwrap_or_else(|p| p.into_inner()) = keys.clone();
        writer.operator_keys = keys;
        if !self.shared.separate_reads {
            self.shared.observe(head);
        }
    }
}

/// Takes the appends one transaction carries: in order, up to
/// [`GROUP_APPENDS_MAX`] and [`BATCH_EVENTS_MAX`] events (at least one).
fn take_group(queue: &mut VecDeque<Arc<Request>>) -> Vec<Arc<Request>> {
    let mut taken = Vec::new();
    let mut events = 0;
    while let Some(next) = queue.front() {
        let more = events + next.batch.len();
        if !taken.is_empty() && (taken.len() >= GROUP_APPENDS_MAX || more > BATCH_EVENTS_MAX) {
            break;
        }
        events = more;
        taken.extend(queue.pop_front());
    }
    taken
}

/// The lead of a group transaction: when it ends (also by a panic), every
/// append it carried has an outcome and the next waiting one may lead.
struct Leading<'a> {
    store: &'a PgStore,
    taken: &'a [Arc<Request>],
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        for request in self.taken {
            let mut outcome = request.outcome.lock().unwrap_or_else(|p| p.into_inner());
            if outcome.is_none() {
                *outcome = Some(Err(StoreError::Database(
                    "the append's transaction stopped on an internal error".into(),
                )));
            }
        }
        let mut group = self.store.lock_group();
        group.leading = false;
        group.in_flight = 0;
        drop(group);
        self.store.group_done.notify_all();
    }
}

/// An import: one transaction holding the head row from its first chunk
/// to its commit. Each chunk is staged and written at once (uncommitted:
/// readers and other servers see none of it); a rejection, an error or a
/// drop without commit rolls all of it back.
pub struct PgSession<'a> {
    store: &'a PgStore,
    writer: MutexGuard<'a, Writer>,
    conn: Pooled,
    locked: Locked,
    stage: Stage,
    signing: Option<SigningKey>,
    finished: bool,
}

impl<'a> PgSession<'a> {
    pub(crate) fn begin(store: &'a PgStore) -> Result<PgSession<'a>, StoreError> {
        store.check_writable()?;
        let mut writer = store.lock_writer();
        let mut conn = store.shared.write_pool.get()?;
        let locked = begin_locked(&mut conn).and_then(|locked| {
            store.refresh_writer(&mut conn, &mut writer, locked.head)?;
            Ok(locked)
        });
        let locked = match locked {
            Ok(locked) => locked,
            Err(e) => {
                conn.mark_broken();
                writer.reset();
                return Err(e);
            }
        };
        let stage = Stage::new(
            locked.head,
            locked.frontier.clone(),
            writer.operator_keys.clone(),
        );
        let signing = store.lock_keys().current.clone();
        Ok(PgSession {
            store,
            writer,
            conn,
            locked,
            stage,
            signing,
            finished: false,
        })
    }

    /// Stages a chunk after the chunks before it and writes it
    /// (uncommitted). A rejection ends the session: nothing lands.
    pub fn append(
        &mut self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        let keys_before = self.stage.operator_keys.clone();
        let staged = {
            let ids = stored_ids(&mut self.conn, std::iter::once(batch));
            let none = Pending::default();
            ids.and_then(|ids| {
                let view = TxnView::new(&mut self.conn, self.locked.head.seq, &none, &ids);
                let mut salt = fresh_salt;
                let mut context = StageContext {
                    operator_key: self.signing.as_ref(),
                    fresh_salt: &mut salt,
                };
                self.stage
                    .stage_chunk(&view, &mut self.writer.rules, &mut context, batch, options)
            })
        };
        let written = staged.and_then(|appended| {
            write_stage(&mut self.conn, &self.stage, false)?;
            Ok(appended)
        });
        match written {
            Ok(appended) => {
                self.stage.handed_over();
                if self.stage.operator_keys != keys_before {
                    self.signing = self.store.rotated_signing_key(&self.stage.operator_keys);
                }
                Ok(appended)
            }
            Err(e) => {
                self.stage.failed = true;
                self.writer.reset();
                Err(e)
            }
        }
    }

    /// The head the session would commit.
    pub fn head(&self) -> Head {
        self.stage.head
    }

    /// Writes the redactions, moves the head and commits; returns once
    /// the commit is durable (on the synchronous standby too, when the
    /// server names one).
    pub fn commit(mut self) -> Result<Head, StoreError> {
        if self.stage.failed {
            return Err(StoreError::Rejected {
                index: self.stage.position,
                rejection: armistice_core::Rejection::event("a rejected batch cannot be committed"),
            });
        }
        self.stage.finish()?;
        let head = self.stage.head;
        let keys = self.stage.operator_keys.clone();
        let keys_changed = keys != self.writer.operator_keys;
        let finished = write_stage(&mut self.conn, &self.stage, true).and_then(|()| {
            finish_transaction(
                &mut self.conn,
                &self.locked,
                head,
                &self.stage.frontier,
                keys_changed.then_some(&keys),
            )
        });
        let committed = finished.and_then(|()| commit(&mut self.conn));
        self.finished = true;
        if let Err(e) = committed {
            self.conn.mark_broken();
            self.writer.reset();
            return Err(e);
        }
        self.store
            .committed(&mut self.writer, head, keys, keys_changed);
        Ok(head)
    }
}

impl Drop for PgSession<'_> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Rolled back: by the statement, or by the server when the
        // connection closes.
        if self.conn.batch_execute("ROLLBACK").is_err() {
            self.conn.mark_broken();
        }
        self.writer.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frontier_round_trips_and_must_close_its_size() {
        let mut frontier = Frontier::default();
        for i in 0..13u64 {
            frontier.push(i, armistice_merkle::leaf_hash(&i.to_be_bytes()));
        }
        let bytes = encode_frontier(&frontier);
        assert_eq!(decode_frontier(13, &bytes).unwrap(), frontier);
        assert!(decode_frontier(12, &bytes).is_err());
        assert!(decode_frontier(13, &bytes[1..]).is_err());
        assert_eq!(decode_frontier(0, &[]).unwrap(), Frontier::default());
    }
}
