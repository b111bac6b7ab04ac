//! Appending: one transaction per group of concurrent appends (or per
//! import session) that locks the head row, writes the rows the
//! backend-neutral [`Stage`] made of each batch, moves the head and commits.
//!
//! A group is staged ([`Stage::stage_chunk`]: signatures, idempotency,
//! expected versions, rules, the leaf and its hash, the Merkle nodes)
//! *ahead* of the lock, while the group before it commits: on top of that
//! group (an overlay of its staged rows) and of the table's rows up to the
//! last committed seq. Its transaction then keeps it only if the head it
//! locks is the one it was staged after — every group before it committed
//! and no other server appended; otherwise it is staged again under the
//! lock, reading the table with the lock held. Turns at the head row go in
//! staging order.
//!
//! Order of one transaction:
//!
//! 1. `BEGIN`; `SELECT … FROM head FOR UPDATE`: from here until the commit
//!    (and, with a synchronous standby, until the standby has the commit)
//!    no other server appends. The row gives seq, hash, `recorded_at` and
//!    the tree's frontier, so nothing else is read to extend the tree.
//! 2. Staged ahead on this head: on to 4. Otherwise the rule state is kept
//!    only when the locked head is the head this process's last commit
//!    left (else dropped, and the operator's keys read again), and:
//! 3. Each waiting batch is staged, reading through the transaction and
//!    what the group's earlier batches staged; a rejected batch fails
//!    alone.
//! 4. The accepted batches' rows are written in one statement (`INSERT …
//!    SELECT * FROM UNNEST(…)`), the nodes in another; the head row and,
//!    after a rotation, the operator's keys are updated; `pg_notify`
//!    announces the head; `COMMIT`.
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

/// What each append of a group came to.
type Outcomes = Vec<Result<Vec<Appended>, StoreError>>;

/// Most appends one transaction carries.
pub const GROUP_APPENDS_MAX: usize = 256;

/// What this process knows of the head between its transactions, held
/// only briefly. The rule state ([`RuleState`], held while a group or an
/// import is staged) lives beside it in its own lock; it is valid at `at`
/// plus the groups staged ahead, or empty. Whoever holds the rule state
/// and finds `at` unset or another head locked empties it first.
#[derive(Default)]
pub(crate) struct Writer {
    /// The head this process's last commit left.
    at: Option<Head>,
    /// The tree's frontier at `at`.
    frontier: Frontier,
    /// The operator's keys at `at`.
    operator_keys: OperatorKeys,
    /// Groups staged ahead of the lock and not yet committed, oldest first
    /// (never any while `at` is unset).
    ahead: Vec<Arc<Ahead>>,
    /// Counts the resets: a group staged across one is not kept.
    generation: u64,
}

impl Writer {
    /// Forgets the head (after a failure, or another server's append): the
    /// next holder of the rule state empties it, and what was staged ahead
    /// is staged again under the lock.
    fn reset(&mut self) {
        self.at = None;
        self.ahead.clear();
        self.generation += 1;
    }
}

/// A group staged before its transaction took the head row: valid only if
/// the head it then locks is `from` (every group before it committed, and
/// no other server appended); otherwise it is staged again under the lock.
pub(crate) struct Ahead {
    /// The head its transaction must find.
    from: Head,
    /// The head after it.
    to: Head,
    frontier: Frontier,
    keys: OperatorKeys,
    keys_changed: bool,
    /// The operator key that signs after it (a rotation's).
    signing: Option<SigningKey>,
    pending: Pending,
    /// The writer's generation when it was staged.
    generation: u64,
}

/// This process's turns at the head row, in the order the groups were
/// staged: a group staged on top of another commits after it.
#[derive(Default)]
pub(crate) struct Turns {
    /// The next ticket to hand out, and the ticket whose turn it is.
    state: Mutex<(u64, u64)>,
    turned: std::sync::Condvar,
}

impl Turns {
    /// The next turn.
    fn ticket(&self) -> Ticket<'_> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let number = state.0;
        state.0 += 1;
        Ticket {
            turns: self,
            number,
            waited: false,
        }
    }
}

/// A turn at the head row: waited for, then passed on when dropped (also
/// when its holder panics, so that the turns go on).
pub(crate) struct Ticket<'a> {
    turns: &'a Turns,
    number: u64,
    waited: bool,
}

impl Ticket<'_> {
    /// Waits until it is this ticket's turn (at once when it is already).
    fn wait(&mut self) {
        let mut state = self.turns.state.lock().unwrap_or_else(|p| p.into_inner());
        while state.1 != self.number {
            state = self
                .turns
                .turned
                .wait(state)
                .unwrap_or_else(|p| p.into_inner());
        }
        self.waited = true;
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.waited {
            self.wait();
        }
        let mut state = self.turns.state.lock().unwrap_or_else(|p| p.into_inner());
        state.1 += 1;
        drop(state);
        self.turns.turned.notify_all();
    }
}

/// Where a group's staging starts.
struct Base {
    head: Head,
    frontier: Frontier,
    keys: OperatorKeys,
    signing: Option<SigningKey>,
    /// Table rows past this seq are not read (an in-flight group's, which
    /// an overlay holds, or another server's).
    bound: u64,
}

/// What staging a group gave.
struct StagedGroup {
    outcomes: Outcomes,
    pending: Pending,
    head: Head,
    frontier: Frontier,
    keys: OperatorKeys,
    signing: Option<SigningKey>,
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

/// The log as staging sees it: the table's rows up to `bound` (committed
/// when staging began; in a session, its transaction's own rows too), what
/// the groups staged ahead and not yet committed hold ([`Pending`]
/// overlays, oldest first), and what this group's earlier appends staged.
/// The event ids a group names are looked up in one query first, and a
/// stream's entries are read with their bytes, so that staging costs a few
/// round trips, not one per event.
pub(crate) struct TxnView<'a> {
    client: RefCell<&'a mut Client>,
    bound: i64,
    /// Only entries up to this seq (durable) may be redacted.
    durable: u64,
    overlays: Vec<&'a Pending>,
    /// Event ids looked up in bulk: seq, or `None` when not stored.
    ids: &'a HashMap<Uuid, Option<u64>>,
    /// Entry bytes read with their stream.
    bytes: RefCell<HashMap<u64, Vec<u8>>>,
}

impl<'a> TxnView<'a> {
    fn new(
        client: &'a mut Client,
        bound: u64,
        durable: u64,
        overlays: Vec<&'a Pending>,
        ids: &'a HashMap<Uuid, Option<u64>>,
    ) -> Self {
        TxnView {
            client: RefCell::new(client),
            bound: i64::try_from(bound).unwrap_or(i64::MAX),
            durable,
            overlays,
            ids,
            bytes: RefCell::new(HashMap::new()),
        }
    }
}

/// Looks up every event id the batches name among the table's rows up to
/// `bound`, in one query: seq, or `None` when not stored.
fn stored_ids<'b>(
    client: &mut Client,
    batches: impl Iterator<Item = &'b [Submission]>,
    bound: u64,
) -> Result<HashMap<Uuid, Option<u64>>, StoreError> {
    let ids: Vec<Uuid> = batches.flatten().map(|s| s.statement.event_id).collect();
    let bound = i64::try_from(bound).unwrap_or(i64::MAX);
    let rows = client
        .query(
            "SELECT event_id, seq FROM armistice.entries WHERE event_id = ANY($1) AND seq <= $2",
            &[&ids, &bound],
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
        if let Some(seq) = self.overlays.iter().find_map(|o| o.ids.get(id)) {
            return Ok(Some(*seq));
        }
        if let Some(known) = self.ids.get(id) {
            return Ok(*known);
        }
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                "SELECT seq FROM armistice.entries WHERE event_id = $1 AND seq <= $2",
                &[id, &self.bound],
            )
            .map_err(|e| database(&e))?;
        row.map(|row| seq_of(row.get(0))).transpose()
    }

    fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError> {
        let rows = self
            .client
            .borrow_mut()
            .query(
                "SELECT seq, bytes FROM armistice.entries WHERE stream = $1 AND seq <= $2 \
                 ORDER BY version",
                &[&stream, &self.bound],
            )
            .map_err(|e| database(&e))?;
        let mut seqs = Vec::with_capacity(rows.len());
        let mut bytes = self.bytes.borrow_mut();
        for row in rows {
            let seq = seq_of(row.get(0))?;
            bytes.insert(seq, row.get(1));
            seqs.push(seq);
        }
        for overlay in &self.overlays {
            if let Some(staged) = overlay.streams.get(stream) {
                seqs.extend(staged);
            }
        }
        Ok(seqs)
    }

    fn entry_bytes(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        // The newest redaction of an entry wins (a later one is refused
        // while one is pending, so there is at most one).
        for overlay in self.overlays.iter().rev() {
            if let Some(bytes) = overlay.redactions.get(&seq) {
                return Ok(bytes.clone());
            }
        }
        for overlay in &self.overlays {
            if let Some(index) = overlay.at.get(&seq) {
                return Ok(overlay.entries[*index].bytes.clone());
            }
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
        // A panic under the lock may leave it half-updated: a poisoned one
        // forgets the head.
        match self.writer.lock() {
            Ok(writer) => writer,
            Err(poisoned) => {
                let mut writer = poisoned.into_inner();
                writer.reset();
                writer
            }
        }
    }

    fn lock_rules(&self) -> MutexGuard<'_, RuleState> {
        // A panic while staging leaves a rule state half-applied: a
        // poisoned one is emptied (it reloads from the log).
        match self.rules.lock() {
            Ok(rules) => rules,
            Err(poisoned) => {
                let mut rules = poisoned.into_inner();
                *rules = RuleState::default();
                rules
            }
        }
    }

    /// The rule state valid at `locked` (emptied unless the head this
    /// process's last commit left is the one locked, with nothing staged
    /// ahead), and the operator's keys there.
    fn refresh_writer(
        &self,
        client: &mut Client,
        rules: &mut RuleState,
        locked: Head,
    ) -> Result<OperatorKeys, StoreError> {
        let mut writer = self.lock_writer();
        if writer.at != Some(locked) || !writer.ahead.is_empty() {
            writer.reset();
            *rules = RuleState::default();
            writer.operator_keys = schema::operator_keys(client)?;
        }
        Ok(writer.operator_keys.clone())
    }

    fn lock_group(&self) -> MutexGuard<'_, Group> {
        self.group.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends not yet answered: queued, or in a transaction under way.
    pub fn waiting_appends(&self) -> usize {
        let group = self.lock_group();
        group.queue.len() + group.in_flight
    }

    /// Appends a batch: all of it lands, durably, or none of it does.
    /// Concurrent appends share one transaction (group commit): one waiting
    /// caller leads it for all of them. While it commits, the next group
    /// is staged on top of it, ahead of the head row's lock.
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
            // Another caller stages the queue, or this append is in a
            // group committing now: wait for it.
            if group.leading || group.queue.is_empty() {
                group = self
                    .group_done
                    .wait(group)
                    .unwrap_or_else(|p| p.into_inner());
                continue;
            }
            group.leading = true;
            let taken = take_group(&mut group.queue);
            group.in_flight += taken.len();
            let ticket = self.turns.ticket();
            drop(group);
            let mut lead = Leading {
                store: self,
                taken: &taken,
                staging: true,
            };
            let mut ticket = ticket;
            let ahead = self.stage_ahead(&taken);
            // The next group is staged while this one commits, from what
            // queued meanwhile: not before this one's turn, so that it
            // gathers every append that arrives until then.
            ticket.wait();
            lead.staged();
            let outcomes = self.commit_group(&taken, ahead, ticket);
            for (request, outcome) in taken.iter().zip(outcomes) {
                request.set_outcome(outcome);
            }
            drop(lead);
            group = self.lock_group();
        }
    }

    /// Stages a group before taking the head row, on top of the groups
    /// staged ahead (or the head this process's last commit left); `None`
    /// when there is no such head to start from, or staging failed (the
    /// group is then staged under the lock).
    fn stage_ahead(&self, requests: &[Arc<Request>]) -> Option<(Arc<Ahead>, Outcomes)> {
        let mut rules = self.lock_rules();
        let (base, chain, generation) = {
            let writer = self.lock_writer();
            let base = match (writer.ahead.first(), writer.ahead.last(), writer.at) {
                (Some(first), Some(last), _) => Base {
                    head: last.to,
                    frontier: last.frontier.clone(),
                    keys: last.keys.clone(),
                    signing: last.signing.clone(),
                    bound: first.from.seq,
                },
                (_, _, Some(at)) => Base {
                    head: at,
                    frontier: writer.frontier.clone(),
                    keys: writer.operator_keys.clone(),
                    signing: self.lock_keys().current.clone(),
                    bound: at.seq,
                },
                _ => return None,
            };
            (base, writer.ahead.clone(), writer.generation)
        };
        let overlays: Vec<&Pending> = chain.iter().map(|a| &a.pending).collect();
        let staged = self.shared.write_pool.get().and_then(|mut conn| {
            let staged = self.stage_group(&mut conn, &mut rules, &base, overlays, requests);
            if staged.is_err() {
                conn.mark_broken();
            }
            staged
        });
        let mut writer = self.lock_writer();
        let staged = match staged {
            Ok(staged) if writer.generation == generation => staged,
            // Staging failed, or a group it was staged on failed meanwhile:
            // staged again under the lock.
            failed => {
                if failed.is_err() {
                    writer.reset();
                }
                *rules = RuleState::default();
                return None;
            }
        };
        let ahead = Arc::new(Ahead {
            from: base.head,
            to: staged.head,
            frontier: staged.frontier,
            keys_changed: staged.keys != base.keys,
            keys: staged.keys,
            signing: staged.signing,
            pending: staged.pending,
            generation,
        });
        writer.ahead.push(Arc::clone(&ahead));
        Some((ahead, staged.outcomes))
    }

    /// Stages every request of a group after `base`, reading through a
    /// view bounded there with `overlays` on top; a rejected request fails
    /// alone.
    fn stage_group(
        &self,
        client: &mut Client,
        rules: &mut RuleState,
        base: &Base,
        overlays: Vec<&Pending>,
        requests: &[Arc<Request>],
    ) -> Result<StagedGroup, StoreError> {
        let ids = stored_ids(
            client,
            requests.iter().map(|r| r.batch.as_slice()),
            base.bound,
        )?;
        let mut group = StagedGroup {
            outcomes: Vec::with_capacity(requests.len()),
            pending: Pending::default(),
            head: base.head,
            frontier: base.frontier.clone(),
            keys: base.keys.clone(),
            signing: base.signing.clone(),
        };
        for request in requests {
            let mut stage = Stage::new(group.head, group.frontier.clone(), group.keys.clone());
            let staged = {
                let mut layers = overlays.clone();
                layers.push(&group.pending);
                let view = TxnView::new(client, base.bound, base.bound, layers, &ids);
                let mut salt = fresh_salt;
                let mut context = StageContext {
                    operator_key: group.signing.as_ref(),
                    fresh_salt: &mut salt,
                };
                stage
                    .stage_chunk(&view, rules, &mut context, &request.batch, &request.options)
                    .and_then(|appended| stage.finish().map(|()| appended))
            };
            match staged {
                Ok(appended) => {
                    if stage.operator_keys != group.keys {
                        group.signing = self.rotated_signing_key(&stage.operator_keys);
                    }
                    group.pending.absorb(&mut stage);
                    group.head = stage.head;
                    group.frontier = stage.frontier;
                    group.keys = stage.operator_keys;
                    group.outcomes.push(Ok(appended));
                }
                Err(rejected @ StoreError::Rejected { .. }) => {
                    // What the batch applied to the rule state goes; the
                    // streams reload through the view.
                    *rules = RuleState::default();
                    group.outcomes.push(Err(rejected));
                }
                Err(failed) => return Err(failed),
            }
        }
        Ok(group)
    }

    /// Takes this process's turn at the head row and commits the group:
    /// staged ahead when the locked head is the one it was staged after,
    /// staged again under the lock otherwise.
    fn commit_group(
        &self,
        requests: &[Arc<Request>],
        ahead: Option<(Arc<Ahead>, Outcomes)>,
        mut turn: Ticket<'_>,
    ) -> Outcomes {
        turn.wait();
        let failed = |error: StoreError| -> Outcomes {
            self.lock_writer().reset();
            requests.iter().map(|_| Err(repeat(&error))).collect()
        };
        let mut conn = match self.shared.write_pool.get() {
            Ok(conn) => conn,
            Err(error) => return failed(error),
        };
        // Lock order: the rule state before the head row, everywhere both
        // are held (imports too); a group staged ahead needs only the row.
        if let Some((ahead, outcomes)) = ahead {
            let locked = begin_locked(&mut conn);
            let locked_at = Instant::now();
            let result = match locked {
                Ok(locked) if ahead.from == locked.head => {
                    Some(self.commit_ahead(&mut conn, &locked, &ahead, outcomes))
                }
                Ok(_) => match conn.batch_execute("ROLLBACK") {
                    Ok(()) => None,
                    Err(e) => Some(Err(database(&e))),
                },
                Err(error) => Some(Err(error)),
            };
            match result {
                Some(Ok(outcomes)) => {
                    self.count(requests.len(), locked_at.elapsed(), Duration::ZERO, true);
                    return outcomes;
                }
                Some(Err(error)) => {
                    conn.mark_broken();
                    return failed(error);
                }
                // Staged on what did not happen: staged again under the lock.
                None => {}
            }
        }
        let mut rules = self.lock_rules();
        let locked = match begin_locked(&mut conn) {
            Ok(locked) => locked,
            Err(error) => {
                conn.mark_broken();
                drop(rules);
                return failed(error);
            }
        };
        let locked_at = Instant::now();
        match self.stage_locked_and_commit(&mut conn, &mut rules, &locked, requests) {
            Ok((outcomes, staging)) => {
                drop(rules);
                self.count(requests.len(), locked_at.elapsed(), staging, false);
                outcomes
            }
            Err(error) => {
                conn.mark_broken();
                *rules = RuleState::default();
                drop(rules);
                failed(error)
            }
        }
    }

    /// Writes and commits a group staged ahead.
    fn commit_ahead(
        &self,
        conn: &mut Pooled,
        locked: &Locked,
        ahead: &Ahead,
        outcomes: Outcomes,
    ) -> Result<Outcomes, StoreError> {
        let pending = &ahead.pending;
        if !pending.is_empty() {
            write_rows(conn, &pending.entries, &pending.nodes, &pending.redactions)?;
        }
        let keys = ahead.keys_changed.then_some(&ahead.keys);
        let committed = finish_transaction(conn, locked, ahead.to, &ahead.frontier, keys)
            .and_then(|()| commit(conn));
        let mut writer = self.lock_writer();
        if let Err(error) = committed {
            // The rejected appends stay rejected; the others share the failure.
            conn.mark_broken();
            writer.reset();
            return Ok(fail_accepted(outcomes, &error));
        }
        let (keys, frontier) = (ahead.keys.clone(), ahead.frontier.clone());
        if writer.generation == ahead.generation {
            // It was the oldest group staged ahead (turns go in staging order).
            if writer.ahead.first().is_some_and(|a| a.from == ahead.from) {
                writer.ahead.remove(0);
            }
            self.committed(&mut writer, ahead.to, frontier, keys, ahead.keys_changed);
        } else {
            // A reset came between: the head stays unknown to the rule
            // state until a commit under the lock.
            self.rotated(&keys, ahead.keys_changed);
            self.announce(ahead.to);
        }
        Ok(outcomes)
    }

    /// Stages the group under the lock (nothing staged ahead holds: the
    /// first group, another server appended, or a group before failed),
    /// writes it and commits.
    fn stage_locked_and_commit(
        &self,
        conn: &mut Pooled,
        rules: &mut RuleState,
        locked: &Locked,
        requests: &[Arc<Request>],
    ) -> Result<(Outcomes, Duration), StoreError> {
        // Groups staged ahead after this one were staged on what did not
        // happen; they are staged again at their turn.
        let keys = self.refresh_writer(conn, rules, locked.head)?;
        let base = Base {
            head: locked.head,
            frontier: locked.frontier.clone(),
            keys,
            signing: self.lock_keys().current.clone(),
            bound: locked.head.seq,
        };
        let started = Instant::now();
        let staged = self.stage_group(conn, rules, &base, Vec::new(), requests)?;
        let staging = started.elapsed();
        let pending = &staged.pending;
        if !pending.is_empty() {
            write_rows(conn, &pending.entries, &pending.nodes, &pending.redactions)?;
        }
        let keys_changed = staged.keys != base.keys;
        let committed = finish_transaction(
            conn,
            locked,
            staged.head,
            &staged.frontier,
            keys_changed.then_some(&staged.keys),
        )
        .and_then(|()| commit(conn));
        let mut writer = self.lock_writer();
        if let Err(error) = committed {
            conn.mark_broken();
            writer.reset();
            *rules = RuleState::default();
            return Ok((fail_accepted(staged.outcomes, &error), staging));
        }
        self.committed(
            &mut writer,
            staged.head,
            staged.frontier,
            staged.keys,
            keys_changed,
        );
        Ok((staged.outcomes, staging))
    }

    /// Counts a committed transaction.
    fn count(&self, appends: usize, locked: Duration, staging: Duration, staged_ahead: bool) {
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.transactions += 1;
        stats.appends += appends as u64;
        stats.staged_ahead += u64::from(staged_ahead);
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

    /// After a commit: the writer knows the new head; a rotation's key
    /// signs from now on; the head is announced.
    fn committed(
        &self,
        writer: &mut Writer,
        head: Head,
        frontier: Frontier,
        keys: OperatorKeys,
        rotated: bool,
    ) {
        writer.at = Some(head);
        writer.frontier = frontier;
        self.rotated(&keys, rotated);
        writer.operator_keys = keys;
        self.announce(head);
    }

    /// After a committed rotation, the key it installed signs.
    fn rotated(&self, keys: &OperatorKeys, rotated: bool) {
        if rotated {
            let current = keys.current();
            let mut signing = self.lock_keys();
            signing.current = signing
                .next
                .take()
                .filter(|k| k.verifying_key().to_bytes() == current);
        }
        *self.known_keys.lock().unwrap_or_else(|p| p.into_inner()) = keys.clone();
    }

    /// Announces a committed head (when reads see what appends wrote).
    fn announce(&self, head: Head) {
        if !self.shared.separate_reads {
            self.shared.observe(head);
        }
    }
}

/// The outcomes of a group whose commit failed: the rejected appends stay
/// rejected, the accepted ones share the failure.
fn fail_accepted(outcomes: Outcomes, error: &StoreError) -> Outcomes {
    outcomes
        .into_iter()
        .map(|outcome| outcome.and_then(|_| Err(repeat(error))))
        .collect()
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

/// The lead of a group: once its staging is done the next waiting append
/// may lead (and stage on top of it); when it ends (also by a panic), every
/// append it carried has an outcome.
struct Leading<'a> {
    store: &'a PgStore,
    taken: &'a [Arc<Request>],
    /// Whether it still holds the lead (staging).
    staging: bool,
}

impl Leading<'_> {
    /// Lets the next group's leader stage.
    fn staged(&mut self) {
        if std::mem::take(&mut self.staging) {
            self.store.lock_group().leading = false;
            self.store.group_done.notify_all();
        }
    }
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
        if self.staging {
            group.leading = false;
        }
        group.in_flight -= self.taken.len();
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
    rules: MutexGuard<'a, RuleState>,
    /// The operator's keys at the locked head.
    keys: OperatorKeys,
    conn: Pooled,
    locked: Locked,
    stage: Stage,
    signing: Option<SigningKey>,
    finished: bool,
}

impl<'a> PgSession<'a> {
    pub(crate) fn begin(store: &'a PgStore) -> Result<PgSession<'a>, StoreError> {
        store.check_writable()?;
        let mut rules = store.lock_rules();
        let mut conn = store.shared.write_pool.get()?;
        let locked = begin_locked(&mut conn).and_then(|locked| {
            let keys = store.refresh_writer(&mut conn, &mut rules, locked.head)?;
            Ok((locked, keys))
        });
        let (locked, keys) = match locked {
            Ok(locked) => locked,
            Err(e) => {
                conn.mark_broken();
                store.lock_writer().reset();
                *rules = RuleState::default();
                return Err(e);
            }
        };
        let stage = Stage::new(locked.head, locked.frontier.clone(), keys.clone());
        let signing = store.lock_keys().current.clone();
        Ok(PgSession {
            store,
            rules,
            keys,
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
            // The session's own rows, written chunk by chunk, are read too.
            let ids = stored_ids(&mut self.conn, std::iter::once(batch), u64::MAX);
            ids.and_then(|ids| {
                let view = TxnView::new(
                    &mut self.conn,
                    u64::MAX,
                    self.locked.head.seq,
                    Vec::new(),
                    &ids,
                );
                let mut salt = fresh_salt;
                let mut context = StageContext {
                    operator_key: self.signing.as_ref(),
                    fresh_salt: &mut salt,
                };
                self.stage
                    .stage_chunk(&view, &mut self.rules, &mut context, batch, options)
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
                *self.rules = RuleState::default();
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
        let keys_changed = keys != self.keys;
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
        let mut writer = self.store.lock_writer();
        if let Err(e) = committed {
            self.conn.mark_broken();
            writer.reset();
            *self.rules = RuleState::default();
            return Err(e);
        }
        let frontier = self.stage.frontier.clone();
        self.store
            .committed(&mut writer, head, frontier, keys, keys_changed);
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
        *self.rules = RuleState::default();
        self.store.lock_writer().reset();
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
