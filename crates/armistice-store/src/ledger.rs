//! The ledger: an append-only log in one sled tree, with its indexes and
//! Merkle nodes written in the same atomic batch as each entry.

use crate::error::StoreError;
use crate::keys;
use crate::tree::{Frontier, STORED_LEVEL_MIN};
use armistice_core::entry::{self, decode_payload, encode_payload, sha256, Hash, Header, Record};
use armistice_core::json::Submission;
use armistice_core::rules::{referenced_streams, Clock, RuleState, Signature};
use armistice_core::{Event, Rejection, Statement, StreamId, Timestamp};
use ed25519_dalek::SigningKey;
use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use uuid::Uuid;

/// Most events one append may carry (an import is split into batches of at most this).
pub const BATCH_EVENTS_MAX: usize = 100_000;

/// The folder inside a ledger that holds sled's files.
const SLED_DIR: &str = "sled";

/// The newest entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Its seq (0 for an empty log).
    pub seq: u64,
    /// Its hash ([`entry::GENESIS_HASH`] for an empty log).
    pub hash: Hash,
    /// Its recorded_at (`Timestamp::MIN` for an empty log).
    pub recorded_at: Timestamp,
}

impl Head {
    const EMPTY: Head = Head {
        seq: 0,
        hash: entry::GENESIS_HASH,
        recorded_at: Timestamp::MIN,
    };
}

/// How to append a batch.
#[derive(Clone, Copy, Debug)]
pub struct AppendOptions {
    /// The ledger's clock now: `recorded_at` for new entries, and the limit for "future".
    pub now: Timestamp,
    /// Whether lines may carry `recorded_at` and `hash` (migration, `import --backfill`).
    pub backfill: bool,
}

/// What an append did with one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Where it is in the log.
    pub seq: u64,
    /// Its id.
    pub event_id: Uuid,
    /// Its stream.
    pub stream: String,
    /// Its version in the stream.
    pub version: u64,
    /// Its hash.
    pub hash: Hash,
    /// True when it was already stored (same id, same content) and nothing was added.
    pub duplicate: bool,
}

/// An open ledger. One process at a time; within it, appends are serialised.
pub struct Ledger {
    path: PathBuf,
    operator_public_key: [u8; 32],
    operator_key: Option<SigningKey>,
    tree: sled::Db,
    data_file: File,
    writer: Mutex<Writer>,
    durability: Mutex<Durability>,
    durable_changed: Condvar,
    flushes: AtomicU64,
    /// Held for the ledger's lifetime; declared last so sled closes first.
    _lock: File,
}

struct Writer {
    rules: RuleState,
    /// The right edge of the Merkle tree over the accepted entries.
    frontier: Frontier,
    /// The newest accepted entry (durable or not); the next batch chains after it.
    applied: Head,
    /// Accepted batches not yet written to sled: the next flush writes them
    /// all in one `apply_batch`, so that concurrent appends share it.
    pending: Pending,
}

/// Accepted entries waiting for the next flush, and what lookups need of them.
#[derive(Default)]
struct Pending {
    ops: Vec<(Vec<u8>, Vec<u8>)>,
    event_ids: HashMap<Uuid, u64>,
    records: HashMap<u64, Record>,
}

/// Group commit: appends apply their batches one after another, then share
/// flushes. One waiting append leads a flush + fdatasync covering every
/// batch applied before it began; the others wait for it, and each is
/// acknowledged only once a flush covers its own batch.
struct Durability {
    /// The newest entry known durable: what readers see.
    durable: Head,
    /// Whether a flush is under way.
    syncing: bool,
}

/// An append in progress, holding the writer lock: chunks of events
/// validated and staged but not yet committed. Readers see none of it until
/// [`Session::commit`] has made it durable; dropping the session uncommitted
/// removes whatever it wrote, and a crash before the commit leaves entries
/// past the head marker, which the next open removes.
pub struct Session<'a> {
    ledger: &'a Ledger,
    writer: MutexGuard<'a, Writer>,
    stage: Stage,
    committed: bool,
}

impl Ledger {
    /// Creates a new, empty ledger at `path` (a folder that must not exist
    /// yet, or be empty), kept by the operator whose public key is given.
    pub fn create(path: &Path, operator_public_key: &[u8; 32]) -> Result<Ledger, StoreError> {
        if path.exists() && std::fs::read_dir(path)?.next().is_some() {
            return Err(StoreError::AlreadyExists(path.to_owned()));
        }
        std::fs::create_dir_all(path)?;
        let lock = lock_folder(path)?;
        let tree = open_tree(path)?;
        tree.insert([keys::OPERATOR], operator_public_key.to_vec())?;
        tree.flush()?;
        drop(tree);
        drop(lock);
        Self::open_sled(path)
    }

    /// Opens the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger, StoreError> {
        if !path.join(SLED_DIR).join("db").is_file() {
            return Err(StoreError::NotALedger(path.to_owned()));
        }
        Self::open_sled(path)
    }

    fn open_sled(path: &Path) -> Result<Ledger, StoreError> {
        let lock = lock_folder(path)?;
        let tree = open_tree(path)?;
        let data_file = File::open(path.join(SLED_DIR).join("db"))?;
        let head = read_head(&tree)?;
        let operator = tree.get([keys::OPERATOR])?;
        let operator_public_key = operator
            .as_deref()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| StoreError::corrupt(0, "the operator's public key is missing"))?;
        let ledger = Ledger {
            path: path.to_owned(),
            operator_public_key,
            operator_key: None,
            tree,
            data_file,
            writer: Mutex::new(Writer {
                rules: RuleState::default(),
                frontier: Frontier::default(),
                applied: head,
                pending: Pending::default(),
            }),
            durability: Mutex::new(Durability {
                durable: head,
                syncing: false,
            }),
            durable_changed: Condvar::new(),
            flushes: AtomicU64::new(0),
            _lock: lock,
        };
        if ledger.truncate_after(head.seq)? > 0 {
            ledger.sync()?;
        }
        let frontier = ledger.load_frontier(head.seq)?;
        ledger
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .frontier = frontier;
        Ok(ledger)
    }

    /// The operator's public key, fixed at creation: it signs operator
    /// statements and checkpoints.
    pub fn operator_public_key(&self) -> [u8; 32] {
        self.operator_public_key
    }

    /// Lets the ledger sign operator statements (and checkpoints) itself.
    pub fn attach_operator_key(&mut self, key: SigningKey) -> Result<(), StoreError> {
        if key.verifying_key().to_bytes() != self.operator_public_key {
            return Err(StoreError::WrongOperatorKey);
        }
        self.operator_key = Some(key);
        Ok(())
    }

    /// The operator's signing key, when attached.
    pub fn operator_key(&self) -> Option<&SigningKey> {
        self.operator_key.as_ref()
    }

    /// The folder the ledger lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many flush + fdatasync rounds this handle has made (group commit
    /// shares one among many appends; benchmarks report the ratio).
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// The newest committed (durable) entry; seq 0 when empty.
    pub fn head(&self) -> Head {
        self.lock_durability().durable
    }

    fn lock_durability(&self) -> MutexGuard<'_, Durability> {
        // Only plain assignments happen under this lock: poisoning cannot
        // leave it half-updated.
        self.durability
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock can only come from an assertion;
        // the session's drop has then removed what it wrote and made the
        // rule state reload what it touched, so the state is sound.
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until `target` is durable, leading a flush when none is under
    /// way: the leader writes every accepted batch waiting (one
    /// `apply_batch`, with the head marker), then flushes and syncs once.
    fn make_durable(&self, target: Head) -> Result<(), StoreError> {
        loop {
            let mut durability = self.lock_durability();
            if durability.durable.seq >= target.seq {
                return Ok(());
            }
            if durability.syncing {
                drop(
                    self.durable_changed
                        .wait(durability)
                        .unwrap_or_else(|poisoned| poisoned.into_inner()),
                );
                continue;
            }
            durability.syncing = true;
            drop(durability);
            let written = {
                let mut writer = self.lock_writer();
                self.write_pending(&mut writer).map(|()| writer.applied)
            };
            let synced = written.and_then(|goal| self.sync().map(|()| goal));
            let mut durability = self.lock_durability();
            durability.syncing = false;
            if let Ok(goal) = &synced {
                if goal.seq > durability.durable.seq {
                    durability.durable = *goal;
                }
            }
            self.durable_changed.notify_all();
            synced?;
        }
    }

    /// Writes the accepted batches waiting for a flush to sled, with the
    /// head marker of the newest accepted entry.
    fn write_pending(&self, writer: &mut Writer) -> Result<(), StoreError> {
        if writer.pending.ops.is_empty() {
            return Ok(());
        }
        // `apply_batch` is atomic: when it fails, nothing was written and the
        // batches stay waiting for the next flush to try again.
        writer
            .pending
            .ops
            .push((vec![keys::HEAD], encode_head(&writer.applied)));
        let written = self.apply_ops(&writer.pending.ops);
        if written.is_err() {
            writer.pending.ops.pop();
            return written;
        }
        writer.pending.ops.clear();
        writer.pending.event_ids.clear();
        writer.pending.records.clear();
        Ok(())
    }

    fn apply_ops(&self, ops: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (key, value) in ops {
            batch.insert(key.as_slice(), value.as_slice());
        }
        Ok(self.tree.apply_batch(batch)?)
    }

    /// Appends a batch: all of it lands, durably, or none of it does and the
    /// ledger is unchanged byte for byte.
    pub fn append(
        &self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        let mut session = self.begin();
        let appended = session.append(batch, options)?;
        session.commit()?;
        Ok(appended)
    }

    /// Starts a session for an append in several chunks (an import): other
    /// appends wait until it is committed or dropped.
    pub fn begin(&self) -> Session<'_> {
        let writer = self.lock_writer();
        let stage = Stage::new(writer.applied, writer.frontier.clone());
        Session {
            ledger: self,
            writer,
            stage,
            committed: false,
        }
    }

    /// Removes entries above `seq`, with their index keys and Merkle nodes:
    /// the remains of a session that never committed. Returns how many.
    fn truncate_after(&self, seq: u64) -> Result<u64, StoreError> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for item in self
            .tree
            .range(keys::entry(seq + 1)..=keys::entry(u64::MAX))
        {
            let (key, value) = item?;
            batch.remove(key.clone());
            removed += 1;
            let Ok(record) = decode_record(keys::tail_u64(&key).unwrap_or(0), &value) else {
                continue;
            };
            let header = record.header;
            if let Event::ViolationAlleged(e) = &record.statement.event {
                batch.remove(keys::agreement_claim(e.agreement.as_str(), header.seq));
            }
            batch.remove(keys::event_id(&header.event_id).to_vec());
            batch.remove(keys::stream(&header.stream, header.version));
            batch.remove(keys::occurred(header.occurred_at.micros(), header.seq).to_vec());
            let (mut level, mut index) = (0u8, header.seq - 1);
            loop {
                batch.remove(keys::merkle(level, index).to_vec());
                if index & 1 == 0 {
                    break;
                }
                level += 1;
                index >>= 1;
            }
        }
        if removed > 0 {
            self.tree.apply_batch(batch)?;
        }
        Ok(removed)
    }

    /// Makes every write so far durable: sled's flush, then an `fdatasync`
    /// of its data file (sled 0.34's flush ends in `sync_file_range`, which is
    /// not a durability barrier).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.tree.flush()?;
        self.data_file.sync_data()?;
        Ok(())
    }

    fn stage_one(
        &self,
        writer: &mut Writer,
        stage: &mut Stage,
        submission: &Submission,
        options: &AppendOptions,
    ) -> Result<Appended, Staging> {
        let copy = &submission.copy;
        if !options.backfill {
            if let Some(field) = copy.first_field() {
                return Err(Rejection::field(
                    field,
                    "is set by the ledger; it is accepted only with `import --backfill`",
                )
                .into());
            }
        }
        if copy.hash.is_none() {
            if let Some(field) = copy.derived_fields.first() {
                return Err(Rejection::field(
                    *field,
                    "is accepted only beside `hash`, in a copy of an Armistice entry",
                )
                .into());
            }
        }
        let recorded_at = self.recorded_at(stage, submission, options)?;
        let mut statement = submission.statement.clone();
        if !submission.occurred_at_given {
            statement.occurred_at = recorded_at;
        }
        if let Some(seq) = self.stored_seq(writer, stage, &statement.event_id)? {
            return self.duplicate(writer, stage, seq, submission, &statement);
        }
        let rules = &mut writer.rules;
        let stream = statement.stream();
        for referenced in referenced_streams(&statement) {
            self.load_stream(rules, &referenced)?;
            stage.touched.insert(referenced);
        }
        let version = rules.version(&stream);
        if let Some(expected) = submission.expected_version {
            if expected != version {
                return Err(Rejection::field("expected_version", format!(
                    "stream `{stream}` is at version {version}, not {expected}: another statement came first"
                )).into());
            }
        }
        let redacted_leaf = redacted_copy_header(copy)?;
        let signature = match &redacted_leaf {
            Some(leaf) => leaf.signature,
            None => self
                .operator_signature(&statement, submission.signature)?
                .or(submission.signature),
        };
        let checked_signature = match (&redacted_leaf, statement.by.is_operator()) {
            (Some(_), _) => Signature::Unverifiable,
            (None, true) => Signature::Given(None),
            (None, false) => Signature::Given(signature.as_ref()),
        };
        let clock = Clock {
            now: options.now,
            recorded_at,
        };
        rules.check(&statement, checked_signature, clock)?;
        let redaction = match &statement.event {
            Event::EntryRedacted(e) => self.stage_redaction(stage, e, copy.hash.is_some())?,
            _ => None,
        };
        let payload = encode_payload(&statement);
        if payload.len() > entry::PAYLOAD_BYTES_MAX {
            return Err(Rejection::event(format!(
                "the event encodes to {} bytes; the limit is {}",
                payload.len(),
                entry::PAYLOAD_BYTES_MAX
            ))
            .into());
        }
        let header = Header {
            schema: entry::SCHEMA_VERSION,
            seq: stage.head.seq + 1,
            recorded_at,
            occurred_at: statement.occurred_at,
            event_type: statement.event.event_type(),
            backfilled: match copy.hash {
                Some(_) => copy.backfilled.unwrap_or(false),
                None => options.backfill,
            },
            event_id: statement.event_id,
            stream: stream.name(),
            version: version + 1,
            by: statement.by.clone(),
            prev_hash: stage.head.hash,
            payload_sha256: match &redacted_leaf {
                Some(leaf) => leaf.payload_sha256,
                None => sha256(&payload),
            },
            signature,
        };
        let leaf = header.encode();
        let hash = sha256(&leaf);
        check_copy(copy, &header, &hash, &payload)?;
        stage.redactions.extend(redaction);
        rules.apply(&statement);
        let appended = Appended {
            seq: header.seq,
            event_id: header.event_id,
            stream: header.stream.clone(),
            version: header.version,
            hash,
            duplicate: false,
        };
        let record = Record {
            header,
            hash,
            statement,
            redacted: redacted_leaf.is_some(),
        };
        self.stage_entry(stage, record, &leaf, &payload)?;
        Ok(appended)
    }

    /// The ledger signs its operator's statements; a signature supplied
    /// with one must be the operator's. Party statements pass through.
    fn operator_signature(
        &self,
        statement: &Statement,
        given: Option<[u8; 64]>,
    ) -> Result<Option<[u8; 64]>, Rejection> {
        if !statement.by.is_operator() {
            return Ok(None);
        }
        match (given, &self.operator_key) {
            (Some(signature), _) => armistice_core::sign::verify_statement(statement, &self.operator_public_key, &signature)
                .map(|()| Some(signature))
                .map_err(|e| Rejection::field("signature", format!("{e} (the operator)"))),
            (None, Some(key)) => Ok(Some(armistice_core::sign::sign_statement(statement, key))),
            (None, None) => Err(Rejection::field("by", "operator statements are signed by the ledger, but its operator key is not available here")),
        }
    }

    fn recorded_at(
        &self,
        stage: &Stage,
        submission: &Submission,
        options: &AppendOptions,
    ) -> Result<Timestamp, Staging> {
        let last = stage.head.recorded_at;
        match submission.copy.recorded_at {
            None => Ok(options.now.max(last)),
            Some(at) if at > options.now => Err(Rejection::field("recorded_at", format!(
                "{at} lies in the future (the ledger's clock reads {})", options.now
            )).into()),
            Some(at) if at < last => Err(Rejection::field("recorded_at", format!(
                "{at} is earlier than the previous entry's recorded_at {last}; backfilled entries must be in order"
            )).into()),
            Some(at) => Ok(at),
        }
    }

    fn stored_seq(
        &self,
        writer: &Writer,
        stage: &Stage,
        event_id: &Uuid,
    ) -> Result<Option<u64>, StoreError> {
        if let Some(seq) = stage
            .event_ids
            .get(event_id)
            .or_else(|| writer.pending.event_ids.get(event_id))
        {
            return Ok(Some(*seq));
        }
        Ok(self
            .tree
            .get(keys::event_id(event_id))?
            .as_deref()
            .and_then(keys::tail_u64))
    }

    fn duplicate(
        &self,
        writer: &Writer,
        stage: &Stage,
        seq: u64,
        submission: &Submission,
        statement: &Statement,
    ) -> Result<Appended, Staging> {
        let stored = match stage
            .records
            .get(&seq)
            .or_else(|| writer.pending.records.get(&seq))
        {
            Some(record) => record.clone(),
            None => self.read_record(seq)?,
        };
        let mut compared = statement.clone();
        if !submission.occurred_at_given {
            compared.occurred_at = stored.statement.occurred_at;
        }
        let same_hash = submission.copy.hash.is_none_or(|hash| hash == stored.hash);
        if compared != stored.statement || !same_hash || stored.redacted {
            return Err(Rejection::field(
                "event_id",
                format!(
                    "{} is already stored (seq {seq}) with different content",
                    statement.event_id
                ),
            )
            .into());
        }
        Ok(Appended {
            seq,
            event_id: stored.header.event_id,
            stream: stored.header.stream,
            version: stored.header.version,
            hash: stored.hash,
            duplicate: true,
        })
    }

    /// Stages an entry with its index keys and the Merkle nodes it completes.
    fn stage_entry(
        &self,
        stage: &mut Stage,
        record: Record,
        leaf: &[u8],
        payload: &[u8],
    ) -> Result<(), StoreError> {
        let header = &record.header;
        let seq = header.seq;
        let seq_bytes = seq.to_be_bytes().to_vec();
        let mut value = Vec::with_capacity(leaf.len() + 1 + payload.len());
        value.extend_from_slice(leaf);
        value.push(if record.redacted {
            keys::PAYLOAD_REDACTED
        } else {
            keys::PAYLOAD_ORIGINAL
        });
        value.extend_from_slice(payload);
        stage.put(keys::entry(seq).to_vec(), value);
        stage.put(keys::event_id(&header.event_id).to_vec(), seq_bytes.clone());
        stage.put(keys::stream(&header.stream, header.version), seq_bytes);
        stage.put(
            keys::occurred(header.occurred_at.micros(), seq).to_vec(),
            Vec::new(),
        );
        if let Event::ViolationAlleged(e) = &record.statement.event {
            stage.put(keys::agreement_claim(e.agreement.as_str(), seq), Vec::new());
        }
        for (level, index, node) in stage
            .frontier
            .push(seq - 1, armistice_merkle::leaf_hash(leaf))
        {
            if level >= STORED_LEVEL_MIN {
                stage.put(keys::merkle(level, index).to_vec(), node.to_vec());
            }
        }
        stage.event_ids.insert(header.event_id, seq);
        stage.head = Head {
            seq,
            hash: record.hash,
            recorded_at: header.recorded_at,
        };
        stage.records.insert(seq, record);
        Ok(())
    }

    /// Loads `stream`'s entries into the rule state, unless already there.
    fn load_stream(&self, rules: &mut RuleState, stream: &StreamId) -> Result<(), StoreError> {
        if rules.is_loaded(stream) {
            return Ok(());
        }
        for seq in self.stream_seqs(&stream.name())? {
            rules.apply(&self.read_record(seq)?.statement);
        }
        rules.mark_loaded(stream.clone());
        Ok(())
    }

    /// Every committed entry of `stream` (`claim/X`), in version order.
    pub fn stream_records(&self, stream: &str) -> Result<Vec<Record>, StoreError> {
        let head = self.head().seq;
        let seqs = self
            .stream_seqs(stream)?
            .into_iter()
            .filter(|seq| *seq <= head);
        seqs.map(|seq| self.read_record(seq)).collect()
    }

    /// Every committed entry a query about one agreement needs, in seq
    /// order: the parties, the agreement's own stream, and the streams of
    /// the claims filed under it. Reads those streams only, not the log.
    pub fn agreement_records(&self, agreement: &str) -> Result<Vec<Record>, StoreError> {
        let head = self.head().seq;
        let mut seqs = Vec::new();
        for item in self.tree.scan_prefix(
            [keys::STREAM]
                .iter()
                .chain(b"party/")
                .copied()
                .collect::<Vec<u8>>(),
        ) {
            seqs.extend(keys::tail_u64(&item?.1));
        }
        seqs.extend(self.stream_seqs(&format!("agreement/{agreement}"))?);
        for item in self
            .tree
            .scan_prefix(keys::agreement_claims_prefix(agreement))
        {
            let (key, _) = item?;
            let seq = keys::tail_u64(&key).unwrap_or(0);
            let header = self.record_header(seq)?;
            seqs.extend(self.stream_seqs(&header.stream)?);
        }
        seqs.retain(|seq| *seq <= head);
        seqs.sort_unstable();
        seqs.dedup();
        seqs.into_iter().map(|seq| self.read_record(seq)).collect()
    }

    /// The seqs of `stream`'s entries, committed or staged, in version order.
    fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError> {
        let mut seqs = Vec::new();
        for item in self.tree.scan_prefix(keys::stream_prefix(stream)) {
            let (key, value) = item?;
            let seq = keys::tail_u64(&value).ok_or_else(|| {
                StoreError::corrupt(0, format!("stream index key {key:?} holds no seq"))
            })?;
            seqs.push(seq);
        }
        Ok(seqs)
    }

    /// The committed entry at `seq`.
    pub fn record(&self, seq: u64) -> Result<Record, StoreError> {
        let len = self.head().seq;
        if seq == 0 || seq > len {
            return Err(StoreError::NoSuchEntry { seq, len });
        }
        self.read_record(seq)
    }

    /// The entry at `seq`, committed or staged by the current session.
    fn read_record(&self, seq: u64) -> Result<Record, StoreError> {
        let value = self.tree.get(keys::entry(seq))?;
        let value =
            value.ok_or_else(|| StoreError::corrupt(seq, "the entry is missing from the log"))?;
        decode_record(seq, &value)
    }

    /// The entries with `from <= seq <= to`, in order, read lazily.
    pub fn records(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<Record, StoreError>> + '_ {
        self.raw_entries(from, to)
            .map(|item| item.and_then(|(seq, value)| decode_record(seq, &value)))
    }

    /// The stored bytes of committed entries `from..=to`: (seq, leaf || marker || payload).
    pub fn raw_entries(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<(u64, sled::IVec), StoreError>> + '_ {
        let to = to.min(self.head().seq);
        self.tree
            .range(keys::entry(from)..=keys::entry(to.max(from)))
            .take_while(move |_| from <= to)
            .map(|item| {
                let (key, value) = item?;
                let seq = keys::tail_u64(&key)
                    .ok_or_else(|| StoreError::corrupt(0, "short entry key"))?;
                Ok((seq, value))
            })
    }

    /// The largest seq whose `recorded_at <= at` (0 if none), by binary search:
    /// `recorded_at` never decreases along the log, so a `--known-at` replay
    /// can stop there without reading further.
    pub fn last_seq_recorded_by(&self, at: Timestamp) -> Result<u64, StoreError> {
        let (mut low, mut high) = (0, self.head().seq);
        while low < high {
            let mid = low + (high - low).div_ceil(2);
            if self.record_header(mid)?.recorded_at <= at {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        Ok(low)
    }

    /// The seqs of the committed entries that occurred at or before `at`,
    /// in seq order — read from the occurred_at index — when there are at
    /// most `max` of them; `None` when there are more (reading the log in
    /// order is then cheaper than fetching them one by one).
    pub fn seqs_occurred_by(
        &self,
        at: Timestamp,
        max: u64,
    ) -> Result<Option<Vec<u64>>, StoreError> {
        let head = self.head().seq;
        let split = keys::occurred(at.micros(), u64::MAX);
        let end = [keys::OCCURRED + 1];
        // Count the entries after `at` first: few of them means many before.
        let needed_after = head.saturating_sub(max);
        let mut after = 0u64;
        for item in self.tree.range(split.as_slice()..end.as_slice()) {
            let key = item?.0;
            if keys::tail_u64(&key).is_some_and(|seq| seq <= head) {
                after += 1;
                if after >= needed_after {
                    break;
                }
            }
        }
        if after < needed_after {
            return Ok(None);
        }
        let mut seqs = Vec::new();
        for item in self
            .tree
            .range([keys::OCCURRED].as_slice()..=split.as_slice())
        {
            let key = item?.0;
            seqs.extend(keys::tail_u64(&key).filter(|seq| *seq <= head));
        }
        seqs.sort_unstable();
        Ok(Some(seqs))
    }

    /// The header of entry `seq`, without decoding its payload.
    pub fn record_header(&self, seq: u64) -> Result<Header, StoreError> {
        let value = self
            .tree
            .get(keys::entry(seq))?
            .ok_or(StoreError::NoSuchEntry {
                seq,
                len: self.head().seq,
            })?;
        Header::decode(&value)
            .map(|(header, _)| header)
            .map_err(|e| StoreError::corrupt(seq, e.to_string()))
    }

    /// Sled's tree, for the verifier and for tests that tamper with storage.
    pub fn tree(&self) -> &sled::Db {
        &self.tree
    }

    fn stage_redaction(
        &self,
        stage: &Stage,
        e: &armistice_core::event::EntryRedacted,
        copying: bool,
    ) -> Result<Option<(u64, Vec<u8>)>, Staging> {
        if copying {
            // Copying an export: the target's copy is already the redacted one.
            let target = match stage.records.get(&e.target_seq) {
                Some(record) => Some(record.clone()),
                None if e.target_seq <= stage.head.seq && e.target_seq > 0 => {
                    Some(self.read_record(e.target_seq)?)
                }
                None => None,
            };
            if target.is_some_and(|t| t.redacted) {
                return Ok(None);
            }
        }
        let head_seq = stage.head.seq;
        if e.target_seq == 0 || e.target_seq > head_seq {
            return Err(Rejection::field(
                "target_seq",
                format!(
                    "no entry {} to redact: the log holds {head_seq}",
                    e.target_seq
                ),
            )
            .into());
        }
        if e.target_seq > stage.committed.seq {
            return Err(Rejection::field(
                "target_seq",
                "an entry cannot be redacted in the batch that appends it",
            )
            .into());
        }
        if e.target_seq > self.head().seq {
            return Err(Rejection::field(
                "target_seq",
                format!(
                    "entry {} is still being made durable; redact it once its append has returned",
                    e.target_seq
                ),
            )
            .into());
        }
        if stage.redactions.iter().any(|(seq, _)| *seq == e.target_seq) {
            return Err(Rejection::field(
                "target_seq",
                format!("entry {} is already redacted in this batch", e.target_seq),
            )
            .into());
        }
        let target = self.read_record(e.target_seq)?;
        if target.redacted {
            return Err(Rejection::field(
                "target_seq",
                format!("entry {} is already redacted", e.target_seq),
            )
            .into());
        }
        if matches!(target.statement.event, Event::EntryRedacted(_)) {
            return Err(
                Rejection::field("target_seq", "a redaction cannot itself be redacted").into(),
            );
        }
        let copy = armistice_core::redact::redact(&target.statement, &e.fields)?;
        let mut value = target.header.encode();
        value.push(keys::PAYLOAD_REDACTED);
        value.extend_from_slice(&encode_payload(&copy));
        Ok(Some((e.target_seq, value)))
    }
}

/// Decodes a stored value: header, hash, then the payload after its marker.
pub fn decode_record(seq: u64, value: &[u8]) -> Result<Record, StoreError> {
    let corrupt = |detail: String| StoreError::corrupt(seq, detail);
    let (header, leaf_len) = Header::decode(value).map_err(|e| corrupt(e.to_string()))?;
    if header.seq != seq {
        return Err(corrupt(format!("its header says seq {}", header.seq)));
    }
    let hash = sha256(&value[..leaf_len]);
    let (marker, payload) = value[leaf_len..]
        .split_first()
        .ok_or_else(|| corrupt("no payload marker".into()))?;
    let redacted = match *marker {
        keys::PAYLOAD_ORIGINAL => false,
        keys::PAYLOAD_REDACTED => true,
        other => return Err(corrupt(format!("unknown payload marker {other}"))),
    };
    let statement = decode_payload(header.schema, payload).map_err(|e| corrupt(e.to_string()))?;
    entry::check_header_matches(&header, &statement).map_err(corrupt)?;
    Ok(Record {
        header,
        hash,
        statement,
        redacted,
    })
}

/// The committed head, from its marker key.
/// Takes the ledger folder's own lock: the one that says "in use".
fn lock_folder(path: &Path) -> Result<File, StoreError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path.join("lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy(path.to_owned())),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// How long to wait for sled's own file lock once the folder lock is ours:
/// sled 0.34 releases it only when its last internal thread has let go of
/// a dropped handle, shortly after the drop.
const SLED_LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// sled's page cache (its default, made explicit): bounded, so that memory
/// stops growing with the ledger; measured, a quarter of it made a replay
/// of a million entries 20% slower (docs/PERFORMANCE.md).
const SLED_CACHE_BYTES: u64 = 1024 * 1024 * 1024;

fn open_tree(path: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + SLED_LOCK_GRACE;
    loop {
        // No background flusher: every commit flushes and syncs itself.
        let opened = sled::Config::new()
            .path(path.join(SLED_DIR))
            .flush_every_ms(None)
            .cache_capacity(SLED_CACHE_BYTES)
            .open();
        match opened {
            Err(sled::Error::Io(io)) if io.to_string().contains("could not acquire lock") => {
                if std::time::Instant::now() >= deadline {
                    return Err(StoreError::Busy(path.to_owned()));
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return Ok(other?),
        }
    }
}

fn read_head(tree: &sled::Db) -> Result<Head, StoreError> {
    let Some(value) = tree.get([keys::HEAD])? else {
        return Ok(Head::EMPTY);
    };
    let bad = || StoreError::corrupt(0, "the head marker is damaged");
    let bytes: &[u8; 48] = value.as_ref().try_into().map_err(|_| bad())?;
    let (seq, rest) = bytes.split_at(8);
    let (hash, recorded_at) = rest.split_at(32);
    Ok(Head {
        seq: u64::from_be_bytes(seq.try_into().map_err(|_| bad())?),
        hash: hash.try_into().map_err(|_| bad())?,
        recorded_at: Timestamp(i64::from_be_bytes(
            recorded_at.try_into().map_err(|_| bad())?,
        )),
    })
}

fn encode_head(head: &Head) -> Vec<u8> {
    let mut out = Vec::with_capacity(48);
    out.extend_from_slice(&head.seq.to_be_bytes());
    out.extend_from_slice(&head.hash);
    out.extend_from_slice(&head.recorded_at.micros().to_be_bytes());
    out
}

impl Session<'_> {
    /// Stages a chunk of events, after the chunks before it. A rejection
    /// ends the session: nothing it staged will land.
    pub fn append(
        &mut self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        if self.stage.failed {
            return Err(StoreError::rejected(
                0,
                Rejection::event("an earlier chunk of this batch was rejected"),
            ));
        }
        if batch.len() > BATCH_EVENTS_MAX {
            return Err(StoreError::rejected(
                0,
                Rejection::event(format!(
                    "a batch holds at most {BATCH_EVENTS_MAX} events, not {}",
                    batch.len()
                )),
            ));
        }
        let outcome = self.stage_chunk(batch, options);
        self.stage.failed = outcome.is_err();
        outcome
    }

    fn stage_chunk(
        &mut self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        // In a session of several chunks (an import), the previous chunk goes
        // to sled now (uncommitted) and is written out, so that memory holds
        // one chunk at a time; the last chunk lands with the commit. Entries
        // past the head marker are removed at the next open if the commit
        // never comes.
        if !self.stage.ops.is_empty() {
            self.ledger.write_pending(&mut self.writer)?;
            self.ledger
                .apply_ops(&std::mem::take(&mut self.stage.ops))?;
            self.ledger.tree.flush()?;
            self.stage.direct = true;
            self.stage.event_ids.clear();
            self.stage.records.clear();
        }
        let mut appended = Vec::with_capacity(batch.len());
        for (index, submission) in batch.iter().enumerate() {
            match self
                .ledger
                .stage_one(&mut self.writer, &mut self.stage, submission, options)
            {
                Ok(one) => appended.push(one),
                Err(Staging::Rejected(rejection)) => {
                    return Err(StoreError::rejected(index, rejection))
                }
                Err(Staging::Failed(error)) => return Err(error),
            }
        }
        Ok(appended)
    }

    /// The head the session would commit.
    pub fn head(&self) -> Head {
        self.stage.head
    }

    /// Makes everything staged visible and durable: the batch joins the
    /// accepted ones waiting for the next flush (a session of several
    /// chunks writes its last chunk itself, with the head marker); the call
    /// returns once a flush + `fdatasync` has covered it.
    pub fn commit(mut self) -> Result<Head, StoreError> {
        if self.stage.failed {
            return Err(StoreError::rejected(
                0,
                Rejection::event("a rejected batch cannot be committed"),
            ));
        }
        let head = self.stage.head;
        if head != self.stage.committed || !self.stage.redactions.is_empty() {
            for (seq, value) in std::mem::take(&mut self.stage.redactions) {
                self.stage.put(keys::entry(seq).to_vec(), value);
            }
            if self.stage.direct {
                self.stage.put(vec![keys::HEAD], encode_head(&head));
                self.ledger
                    .apply_ops(&std::mem::take(&mut self.stage.ops))?;
            } else {
                let pending = &mut self.writer.pending;
                pending.ops.append(&mut self.stage.ops);
                pending.event_ids.extend(self.stage.event_ids.drain());
                pending.records.extend(self.stage.records.drain());
            }
            self.writer.frontier = std::mem::take(&mut self.stage.frontier);
            self.writer.applied = head;
        }
        self.committed = true;
        // Let the next writer stage while this batch waits for its flush;
        // with nothing new (all duplicates), still wait until what they
        // found is durable.
        let ledger = self.ledger;
        drop(self);
        ledger.make_durable(head)?;
        Ok(head)
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.committed || self.stage.head == self.stage.committed {
            return;
        }
        // Other writers' accepted batches go to sled first, so that the
        // streams forgotten below reload with them. Best effort: what is
        // left of this session is removed again by the next open.
        let _ = self.ledger.write_pending(&mut self.writer);
        let _ = self.ledger.truncate_after(self.stage.committed.seq);
        for stream in &self.stage.touched {
            self.writer.rules.forget(stream);
        }
    }
}

/// The header of a redacted entry's copy, read from its `leaf`: the payload
/// digest and signature cannot be recomputed from the blanked fields.
fn redacted_copy_header(
    copy: &armistice_core::json::EntryCopy,
) -> Result<Option<Header>, Rejection> {
    if !copy.redacted {
        return Ok(None);
    }
    let (Some(leaf), Some(hash)) = (&copy.leaf, copy.hash) else {
        return Err(Rejection::field(
            "redacted",
            "a redacted entry can be copied only with its `hash` and `leaf`",
        ));
    };
    if sha256(leaf) != hash {
        return Err(Rejection::field(
            "leaf",
            "does not hash to the line's `hash`",
        ));
    }
    let (header, used) =
        Header::decode(leaf).map_err(|e| Rejection::field("leaf", e.to_string()))?;
    if used != leaf.len() {
        return Err(Rejection::field("leaf", "has trailing bytes"));
    }
    Ok(Some(header))
}

/// A backfill line that copies an Armistice entry must reproduce it exactly.
fn check_copy(
    copy: &armistice_core::json::EntryCopy,
    header: &Header,
    hash: &Hash,
    payload: &[u8],
) -> Result<(), Rejection> {
    let Some(expected) = copy.hash else {
        return Ok(());
    };
    if let Some(given) = &copy.payload {
        if given.as_slice() != payload {
            return Err(Rejection::field(
                "payload",
                "does not encode the line's fields: the fields were changed",
            ));
        }
    }
    if let Some(given) = &copy.leaf {
        if given.as_slice() != header.encode().as_slice() {
            return Err(Rejection::field(
                "leaf",
                "differs from the entry these fields make at this place in the log",
            ));
        }
    }
    if let Some(seq) = copy.seq {
        if seq != header.seq {
            return Err(Rejection::field(
                "seq",
                format!("the copy says seq {seq} but it lands at seq {}", header.seq),
            ));
        }
    }
    if expected != *hash {
        return Err(Rejection::field("hash", format!(
            "the entry hashes to {} here, not {}: the copy differs from the entry it claims to be, or follows other entries",
            hex::encode(hash),
            hex::encode(expected)
        )));
    }
    Ok(())
}

/// A session's writes: the chunk not yet applied to sled, and what the
/// whole session changes.
struct Stage {
    ops: Vec<(Vec<u8>, Vec<u8>)>,
    /// Whether earlier chunks of this session were written to sled already.
    direct: bool,
    committed: Head,
    head: Head,
    event_ids: HashMap<Uuid, u64>,
    records: HashMap<u64, Record>,
    frontier: Frontier,
    touched: BTreeSet<StreamId>,
    redactions: Vec<(u64, Vec<u8>)>,
    failed: bool,
}

impl Stage {
    fn new(head: Head, frontier: Frontier) -> Self {
        Stage {
            ops: Vec::new(),
            direct: false,
            committed: head,
            redactions: Vec::new(),
            failed: false,
            head,
            event_ids: HashMap::new(),
            records: HashMap::new(),
            frontier,
            touched: BTreeSet::new(),
        }
    }

    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, value));
    }
}

/// Why staging one event stopped.
enum Staging {
    Rejected(Rejection),
    Failed(StoreError),
}

impl From<Rejection> for Staging {
    fn from(rejection: Rejection) -> Self {
        Staging::Rejected(rejection)
    }
}

impl From<StoreError> for Staging {
    fn from(error: StoreError) -> Self {
        Staging::Failed(error)
    }
}
