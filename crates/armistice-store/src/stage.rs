//! Staging a batch: deciding each submission against what the log holds
//! and encoding the entries it becomes. Nothing here knows how the log is
//! stored: a backend gives a [`LogView`] to read through and writes what the
//! [`Stage`] produced in its own layout, in one atomic step.
//!
//! Order of the checks for one submission: the fields a copy may carry; the
//! times; the signature (so that a forged or missing signature is refused
//! even when the event id is already stored); idempotency (an `event_id`
//! already stored with the same content adds nothing); then the rules.

use crate::error::StoreError;
use crate::tree::{Frontier, STORED_LEVEL_MIN};
use crate::types::{AppendOptions, Appended, Head, OperatorKeys};
use armistice_core::disclose::{self, Field, Salt};
use armistice_core::entry::{
    self, encode_entry, encode_payload_v1, sha256, split_entry, Hash, Header, Record, Redaction,
    SCHEMA_V1, SCHEMA_VERSION,
};
use armistice_core::json::{CopyRedaction, EntryCopy, Submission};
use armistice_core::rules::{referenced_streams, Clock, RuleState, Signature};
use armistice_core::{sign, Event, Rejection, Statement, StreamId, Timestamp};
use ed25519_dalek::SigningKey;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// Most events one staged batch may carry (an import is split into batches of at most this).
pub const BATCH_EVENTS_MAX: usize = 100_000;

/// What staging reads of the log: committed entries and those accepted but
/// not yet written (group commit), never the stage's own (it knows those).
pub trait LogView {
    /// The seq of a stored event id.
    fn event_seq(&self, id: &Uuid) -> Result<Option<u64>, StoreError>;
    /// The seqs of a stream's entries, in version order.
    fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError>;
    /// An entry's stored bytes.
    fn entry_bytes(&self, seq: u64) -> Result<Vec<u8>, StoreError>;
    /// The newest durable seq: only durable entries may be redacted.
    fn durable_seq(&self) -> u64;
}

/// An entry staged for appending: its bytes and what its indexes need
/// (the record itself is decoded again when read: a long import keeps only
/// bytes in memory).
#[derive(Clone, Debug)]
pub struct StagedEntry {
    /// Its stored bytes.
    pub bytes: Vec<u8>,
    /// Its header.
    pub header: Header,
    /// For an allegation, the agreement it is filed under.
    pub agreement: Option<String>,
}

/// What staging needs besides the log: the operator's keys and, when the
/// ledger signs, the operator's secret key; and a source of fresh salts.
pub struct StageContext<'a> {
    /// The operator's secret key, when this process holds it.
    pub operator_key: Option<&'a SigningKey>,
    /// Fresh random salts, for the committed fields of statements that
    /// come without them (unsigned or operator statements).
    pub fresh_salt: &'a mut dyn FnMut() -> Salt,
}

/// A batch being staged (one append, or one session of several chunks).
pub struct Stage {
    /// The head when the stage began.
    pub committed: Head,
    /// The head after the entries staged so far.
    pub head: Head,
    /// The tree's right edge after them.
    pub frontier: Frontier,
    /// The operator's keys after them.
    pub operator_keys: OperatorKeys,
    /// Entries staged and not yet handed to the backend, in seq order.
    pub entries: Vec<StagedEntry>,
    /// Complete subtrees (at stored levels) the staged entries made.
    pub nodes: Vec<(u8, u64, Hash)>,
    /// New bytes for earlier entries redacted by this stage.
    pub redactions: BTreeMap<u64, Vec<u8>>,
    /// Submissions seen in this stage (across chunks), for error positions.
    pub position: usize,
    /// Whether a submission was rejected (the stage cannot commit then).
    pub failed: bool,
    staged_bytes: usize,
    by_event_id: HashMap<Uuid, u64>,
    stream_added: HashMap<String, Vec<u64>>,
    /// Copies that say they were redacted, awaiting the `entry_redacted`
    /// entries that must target them.
    redacted_copies: BTreeMap<u64, PendingRedaction>,
}

/// A copy line's redaction marks, awaiting the redactions that made them.
#[derive(Clone, Debug)]
struct PendingRedaction {
    /// The line's position, for the error.
    position: usize,
    /// The fields not yet covered (`None`: a format 1 copy, which cannot say).
    fields: Option<Vec<Field>>,
    /// Whether the stored entry lacks them still (an overlapping copy of an
    /// entry redacted since): the redaction then applies as usual.
    apply: bool,
}

/// Why staging one submission stopped.
pub enum Staging {
    /// The submission may not be appended.
    Rejected(Rejection),
    /// The store failed.
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

impl Stage {
    /// A stage after `head`, with the tree's frontier and the operator's keys there.
    pub fn new(head: Head, frontier: Frontier, operator_keys: OperatorKeys) -> Self {
        Stage {
            committed: head,
            head,
            frontier,
            operator_keys,
            entries: Vec::new(),
            nodes: Vec::new(),
            redactions: BTreeMap::new(),
            position: 0,
            failed: false,
            staged_bytes: 0,
            by_event_id: HashMap::new(),
            stream_added: HashMap::new(),
            redacted_copies: BTreeMap::new(),
        }
    }

    /// The bytes of the entries staged and not handed over.
    pub fn staged_bytes(&self) -> usize {
        self.staged_bytes
    }

    /// Forgets what was handed to the backend (a session writes each chunk
    /// before the next; the log view sees those entries from then on).
    pub fn handed_over(&mut self) {
        self.entries.clear();
        self.staged_bytes = 0;
        self.nodes.clear();
        // Redactions are kept: they change committed entries, so they land
        // only with the commit.
        self.by_event_id.clear();
        self.stream_added.clear();
    }

    /// Stages a chunk of submissions, after those before it. On a rejection
    /// the whole stage fails; the error's index counts from the stage's
    /// first submission.
    pub fn stage_chunk(
        &mut self,
        view: &dyn LogView,
        rules: &mut RuleState,
        context: &mut StageContext<'_>,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        if self.failed {
            return Err(StoreError::rejected(
                self.position,
                Rejection::event("an earlier part of this batch was rejected"),
            ));
        }
        if batch.len() > BATCH_EVENTS_MAX {
            self.failed = true;
            return Err(StoreError::rejected(
                self.position,
                Rejection::event(format!(
                    "a batch holds at most {BATCH_EVENTS_MAX} events, not {}",
                    batch.len()
                )),
            ));
        }
        let mut appended = Vec::with_capacity(batch.len());
        for submission in batch {
            let outcome = self.stage_one(view, rules, context, submission, options);
            let position = self.position;
            self.position += 1;
            match outcome {
                Ok(one) => appended.push(one),
                Err(Staging::Rejected(rejection)) => {
                    self.failed = true;
                    return Err(StoreError::rejected(position, rejection));
                }
                Err(Staging::Failed(error)) => {
                    self.failed = true;
                    return Err(error);
                }
            }
        }
        Ok(appended)
    }

    /// Checks what can only be checked once the whole batch is staged: every
    /// copy that says it was redacted met the redaction that targets it.
    pub fn finish(&mut self) -> Result<(), StoreError> {
        if let Some((seq, pending)) = self.redacted_copies.first_key_value() {
            self.failed = true;
            return Err(StoreError::rejected(pending.position, Rejection::field(
                "redacted",
                format!("the copy of entry {seq} says it was redacted, but no `entry_redacted` in the log targets it: its fields would be shown without proof"),
            )));
        }
        Ok(())
    }

    /// Stages an entry copied byte for byte from another store of the same
    /// log (a migration): it must decode, follow the head and chain to it.
    /// No rule is consulted: the entry was checked when first appended.
    pub fn push_raw(&mut self, bytes: Vec<u8>) -> Result<(), StoreError> {
        let seq = self.head.seq + 1;
        let split = split_entry(&bytes).map_err(|e| StoreError::corrupt(seq, e.to_string()))?;
        let record = split
            .record()
            .map_err(|e| StoreError::corrupt(seq, e.to_string()))?;
        let header = &record.header;
        if header.seq != seq {
            return Err(StoreError::corrupt(
                seq,
                format!("its header says seq {}", header.seq),
            ));
        }
        if header.prev_hash != self.head.hash {
            return Err(StoreError::corrupt(
                seq,
                "the chain is broken: prev_hash is not the previous entry's hash",
            ));
        }
        if header.recorded_at < self.head.recorded_at {
            return Err(StoreError::corrupt(
                seq,
                "recorded_at is earlier than the previous entry's",
            ));
        }
        if let Event::OperatorKeyRotated(e) = &record.statement.event {
            self.operator_keys.rotate(seq, e.public_key.0);
        }
        let leaf = split.leaf.to_vec();
        self.push(record, bytes, &leaf);
        Ok(())
    }

    /// The staged or stored bytes of entry `seq`.
    fn entry_bytes(&self, view: &dyn LogView, seq: u64) -> Result<Vec<u8>, StoreError> {
        if let Some(bytes) = self.redactions.get(&seq) {
            return Ok(bytes.clone());
        }
        match self.staged(seq) {
            Some(staged) => Ok(staged.bytes.clone()),
            None => view.entry_bytes(seq),
        }
    }

    fn staged(&self, seq: u64) -> Option<&StagedEntry> {
        let first = self.entries.first()?.header.seq;
        self.entries
            .get(usize::try_from(seq.checked_sub(first)?).ok()?)
    }

    fn record(&self, view: &dyn LogView, seq: u64) -> Result<Record, StoreError> {
        decode(seq, &self.entry_bytes(view, seq)?)
    }

    fn event_seq(&self, view: &dyn LogView, id: &Uuid) -> Result<Option<u64>, StoreError> {
        match self.by_event_id.get(id) {
            Some(seq) => Ok(Some(*seq)),
            None => view.event_seq(id),
        }
    }

    /// Loads `stream`'s entries into the rule state, unless already there.
    fn load_stream(
        &self,
        view: &dyn LogView,
        rules: &mut RuleState,
        stream: &StreamId,
    ) -> Result<(), StoreError> {
        if rules.is_loaded(stream) {
            return Ok(());
        }
        let name = stream.name();
        let mut seqs = view.stream_seqs(&name)?;
        if let Some(added) = self.stream_added.get(&name) {
            seqs.extend(added);
        }
        for seq in seqs {
            rules.apply(&self.record(view, seq)?.statement);
        }
        rules.mark_loaded(stream.clone());
        Ok(())
    }

    fn stage_one(
        &mut self,
        view: &dyn LogView,
        rules: &mut RuleState,
        context: &mut StageContext<'_>,
        submission: &Submission,
        options: &AppendOptions,
    ) -> Result<Appended, Staging> {
        let copy = &submission.copy;
        check_copy_fields(copy, options)?;
        // A copy of an entry this log holds already (an overlapping export):
        // the same entry is skipped, another one is a fork.
        if let (Some(hash), Some(seq)) = (copy.hash, copy.seq) {
            if seq >= 1 && seq <= self.head.seq {
                return self.existing_copy(view, submission, seq, hash);
            }
        }
        let recorded_at = self.recorded_at(submission, options)?;
        let mut statement = submission.statement.clone();
        if !submission.occurred_at_given {
            statement.occurred_at = recorded_at;
        }
        let seq = self.head.seq + 1;
        let body = self.body(&statement, submission, context)?;
        for referenced in referenced_streams(&statement) {
            self.load_stream(view, rules, &referenced)?;
        }
        // The signature first: a re-sent statement is answered "already
        // recorded" only when it would itself be accepted. (An operator
        // statement given unsigned is signed by the ledger, after.)
        let operator_unsigned = statement.by.is_operator() && submission.signature.is_none();
        let mut signature = match operator_unsigned {
            true => None,
            false => self.signature(&statement, submission, &body, seq, context)?,
        };
        fn checked<'a>(
            body: &'a Body,
            operator: bool,
            signature: Option<&'a [u8; 64]>,
        ) -> Signature<'a> {
            match body {
                // A format 1 reading copy: its signature was over what is gone.
                Body::Legacy {
                    original: false, ..
                } => Signature::Unverifiable,
                _ if operator => Signature::Given {
                    signature: None,
                    schema: body.schema(),
                    payload: &[],
                },
                _ => Signature::Given {
                    signature,
                    schema: body.schema(),
                    payload: body.payload(),
                },
            }
        }
        let operator = statement.by.is_operator();
        rules
            .check_signature(&statement, checked(&body, operator, signature.as_ref()))
            .map_err(Staging::Rejected)?;
        if let Some(stored) = self.event_seq(view, &statement.event_id)? {
            return self.duplicate(view, stored, submission, &statement, &body);
        }
        if operator_unsigned {
            signature = self.signature(&statement, submission, &body, seq, context)?;
        }
        let clock = Clock {
            now: options.now.max(self.head.recorded_at),
            recorded_at,
        };
        let stream = statement.stream();
        let version = rules.version(&stream);
        if let Some(expected) = submission.expected_version {
            if expected != version {
                return Err(Rejection::field("expected_version", format!(
                    "stream `{stream}` is at version {version}, not {expected}: another statement came first"
                )).into());
            }
        }
        rules.check(
            &statement,
            checked(&body, operator, signature.as_ref()),
            clock,
        )?;
        let redaction = match &statement.event {
            Event::EntryRedacted(e) => self.stage_redaction(view, e, seq, copy.hash.is_some())?,
            _ => None,
        };
        let header = Header {
            schema: body.schema(),
            seq,
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
            prev_hash: self.head.hash,
            payload_sha256: body.payload_digest(),
            signature,
        };
        let leaf = header.encode();
        let hash = sha256(&leaf);
        check_copy(copy, &header, &hash)?;
        if let Some((target, bytes)) = redaction {
            self.redactions.insert(target, bytes);
        }
        let pending = match &body {
            Body::Committed {
                redacted: Some(fields),
                ..
            } => Some(Some(fields.clone())),
            Body::Legacy {
                redacted: Some(_), ..
            } => Some(None),
            _ => None,
        };
        if let Some(fields) = pending {
            let pending = PendingRedaction {
                position: self.position,
                fields,
                apply: false,
            };
            self.redacted_copies.insert(seq, pending);
        }
        rules.apply(&statement);
        if let Event::OperatorKeyRotated(e) = &statement.event {
            self.operator_keys.rotate(seq, e.public_key.0);
        }
        let record = Record {
            header,
            hash,
            redaction: body.redaction(),
            statement: body.reading_copy(statement),
        };
        let bytes = body.stored_bytes(&leaf);
        let appended = Appended {
            seq,
            event_id: record.header.event_id,
            stream: record.header.stream.clone(),
            version: record.header.version,
            hash,
            duplicate: false,
        };
        self.push(record, bytes, &leaf);
        Ok(appended)
    }

    fn push(&mut self, record: Record, bytes: Vec<u8>, leaf: &[u8]) {
        let header = record.header;
        let seq = header.seq;
        self.by_event_id.insert(header.event_id, seq);
        self.stream_added
            .entry(header.stream.clone())
            .or_default()
            .push(seq);
        for node in self
            .frontier
            .push(seq - 1, armistice_merkle::leaf_hash(leaf))
        {
            if node.0 >= STORED_LEVEL_MIN {
                self.nodes.push(node);
            }
        }
        self.head = Head {
            seq,
            hash: record.hash,
            recorded_at: header.recorded_at,
        };
        let agreement = match &record.statement.event {
            Event::ViolationAlleged(e) => Some(e.agreement.as_str().to_owned()),
            _ => None,
        };
        self.staged_bytes += bytes.len();
        self.entries.push(StagedEntry {
            bytes,
            header,
            agreement,
        });
    }

    /// The entry's `recorded_at`: the ledger's clock, which never runs
    /// backwards, or a backfilled line's own.
    fn recorded_at(
        &self,
        submission: &Submission,
        options: &AppendOptions,
    ) -> Result<Timestamp, Staging> {
        let last = self.head.recorded_at;
        let now = options.now.max(last);
        match submission.copy.recorded_at {
            None => Ok(now),
            Some(at) if at > now => Err(Rejection::field(
                "recorded_at",
                format!("{at} lies in the future (the ledger's clock reads {now})"),
            )
            .into()),
            Some(at) if at < last => Err(Rejection::field("recorded_at", format!(
                "{at} is earlier than the previous entry's recorded_at {last}; backfilled entries must be in order"
            )).into()),
            Some(at) => Ok(at),
        }
    }

    /// The stored body the submission makes: committed with its salts (the
    /// ledger chooses those missing when nobody signed over them), or, for
    /// a copy, exactly the body the copied entry had.
    fn body(
        &self,
        statement: &Statement,
        submission: &Submission,
        context: &mut StageContext<'_>,
    ) -> Result<Body, Staging> {
        let copy = &submission.copy;
        let schema = match &copy.leaf {
            Some(leaf) => *leaf
                .first()
                .ok_or_else(|| Rejection::field("leaf", "is empty"))?,
            None => SCHEMA_VERSION,
        };
        if schema == SCHEMA_V1 {
            return legacy_body(statement, submission);
        }
        if schema != SCHEMA_VERSION {
            return Err(Rejection::field("leaf", format!("schema {schema} is unknown")).into());
        }
        if let Some(CopyRedaction::Fields(fields)) = &copy.redacted {
            return redacted_copy_body(statement, submission, fields);
        }
        if copy.redacted.is_some() {
            return Err(Rejection::field(
                "redacted",
                "`true` marks a format 1 copy, but this entry is of format 2",
            )
            .into());
        }
        let mut salts = submission.salts.clone();
        let signed = submission.signature.is_some() && !statement.by.is_operator();
        if !signed && copy.hash.is_none() {
            for field in disclose::committed_fields(statement) {
                salts.entry(field).or_insert_with(|| (context.fresh_salt)());
            }
        }
        let committed = disclose::commit(statement, &salts).map_err(|e| match e {
            disclose::DisclosureError::MissingSalt(_) | disclose::DisclosureError::StraySalt(_) => {
                Rejection::field("salts", e.to_string())
            }
            other => Rejection::event(other.to_string()),
        })?;
        let payload = disclose::encode_payload(&committed.payload);
        if let Some(given) = &copy.payload {
            if *given != payload {
                return Err(payload_difference(statement, &submission.salts, given).into());
            }
        }
        let body = Body::Committed {
            disclosures: disclose::encode_disclosures(&committed.disclosures),
            payload,
            redacted: None,
        };
        check_size(&body)?;
        Ok(body)
    }

    /// The signature the entry will carry: the party's, or for an operator
    /// statement the operator's (checked when given, made when the ledger
    /// holds the key).
    fn signature(
        &self,
        statement: &Statement,
        submission: &Submission,
        body: &Body,
        seq: u64,
        context: &StageContext<'_>,
    ) -> Result<Option<[u8; 64]>, Staging> {
        if let Body::Legacy {
            signature,
            original,
            ..
        } = body
        {
            // A format 1 operator statement: its signature is checked as
            // format 1 made it (party statements are checked by the rules).
            if let (true, true, Some(given)) = (*original, statement.by.is_operator(), signature) {
                let key = self.operator_keys.for_statement(seq);
                sign::verify_payload(SCHEMA_V1, body.payload(), &key, given).map_err(|e| {
                    Rejection::field(
                        "signature",
                        format!("{e} (the operator key in force at seq {seq})"),
                    )
                })?;
            }
            return Ok(*signature);
        }
        if !statement.by.is_operator() {
            return Ok(submission.signature);
        }
        let key = self.operator_keys.for_statement(seq);
        match (submission.signature, context.operator_key) {
            (Some(signature), _) => sign::verify_payload(body.schema(), body.payload(), &key, &signature)
                .map(|()| Some(signature))
                .map_err(|e| Rejection::field("signature", format!("{e} (the operator key in force at seq {seq})")).into()),
            (None, Some(secret)) if secret.verifying_key().to_bytes() == key => {
                Ok(Some(sign::sign_payload(body.schema(), body.payload(), secret)))
            }
            (None, Some(_)) => Err(Rejection::field("by", "the operator key held here is not the one in force; it was rotated").into()),
            (None, None) => Err(Rejection::field("by", "operator statements are signed by the ledger's operator key, which is not here (a copy of a ledger holds only the operator's public key)").into()),
        }
    }

    fn duplicate(
        &self,
        view: &dyn LogView,
        seq: u64,
        submission: &Submission,
        statement: &Statement,
        body: &Body,
    ) -> Result<Appended, Staging> {
        let stored = self.record(view, seq)?;
        let differs = || {
            Staging::Rejected(Rejection::field(
                "event_id",
                format!(
                    "{} is already stored (seq {seq}) with different content",
                    statement.event_id
                ),
            ))
        };
        if submission.copy.hash.is_some_and(|hash| hash != stored.hash) {
            return Err(differs());
        }
        let same = if submission.copy.hash.is_some() {
            true
        } else {
            let mut compared = statement.clone();
            if !submission.occurred_at_given {
                compared.occurred_at = stored.statement.occurred_at;
            }
            match &stored.redaction {
                Redaction::None => compared == stored.statement,
                // A redacted entry's removed values are known only by their
                // digests: the same payload (same salts) proves the same statement.
                Redaction::Fields(_) => {
                    let stored_bytes = self.entry_bytes(view, seq)?;
                    let stored_payload = split_entry(&stored_bytes)
                        .map(|e| e.payload().0.to_vec())
                        .unwrap_or_default();
                    submission.salts.len() == disclose::committed_fields(statement).len()
                        && body.payload() == stored_payload.as_slice()
                }
                Redaction::Legacy => false,
            }
        };
        if !same {
            return Err(differs());
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

    /// A copy line at a seq the log holds: the same entry (same hash, and
    /// every field it shows the same) counts as already recorded; another
    /// is a fork, refused naming both hashes.
    fn existing_copy(
        &mut self,
        view: &dyn LogView,
        submission: &Submission,
        seq: u64,
        hash: Hash,
    ) -> Result<Appended, Staging> {
        let stored = self.record(view, seq)?;
        if stored.hash != hash {
            return Err(Rejection::field("hash", format!(
                "this log holds another entry at seq {seq} (hash {}) than the copy (hash {}): the two logs have forked",
                hex::encode(stored.hash),
                hex::encode(hash)
            )).into());
        }
        if stored.header.schema == SCHEMA_VERSION {
            return self.existing_committed_copy(view, submission, stored);
        }
        let redacted = |r: &Redaction| match r {
            Redaction::Fields(fields) => fields.iter().map(|f| f.name()).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        let mut skip = redacted(&stored.redaction);
        if let Some(CopyRedaction::Fields(fields)) = &submission.copy.redacted {
            skip.extend(fields.iter().map(|f| f.name()));
        }
        let legacy = stored.redaction == Redaction::Legacy
            || submission.copy.redacted == Some(CopyRedaction::Legacy);
        let mut line = submission.statement.clone();
        if !submission.occurred_at_given {
            line.occurred_at = stored.statement.occurred_at;
        }
        if let Some(field) = armistice_core::json::first_difference(&line, &stored.statement) {
            let top = field.split(['.', '[']).next().unwrap_or_default();
            if !legacy && !skip.contains(&top) {
                return Err(Rejection::field(field, format!(
                    "differs from entry {seq} as this log holds it (same hash): the copy's fields were changed"
                )).into());
            }
        }
        let header = &stored.header;
        let copy = &submission.copy;
        let mismatch = [
            (
                "recorded_at",
                copy.recorded_at.is_some_and(|t| t != header.recorded_at),
            ),
            (
                "stream",
                copy.derived
                    .stream
                    .as_ref()
                    .is_some_and(|s| *s != header.stream),
            ),
            (
                "version",
                copy.derived.version.is_some_and(|v| v != header.version),
            ),
            (
                "prev_hash",
                copy.derived
                    .prev_hash
                    .is_some_and(|p| p != header.prev_hash),
            ),
            (
                "backfilled",
                copy.backfilled.unwrap_or(false) != header.backfilled,
            ),
            ("signature", submission.signature != header.signature),
            (
                "leaf",
                copy.leaf.as_ref().is_some_and(|l| *l != header.encode()),
            ),
        ];
        if let Some((field, _)) = mismatch.iter().find(|(_, differs)| *differs) {
            return Err(Rejection::field(*field, format!(
                "differs from entry {seq} as this log holds it (same hash): the copy's fields were changed"
            )).into());
        }
        Ok(Appended {
            seq,
            event_id: header.event_id,
            stream: header.stream.clone(),
            version: header.version,
            hash: stored.hash,
            duplicate: true,
        })
    }

    /// An overlapping copy of a format 2 entry: every field it shows is
    /// proven against the stored digests, its payload (if given) is the
    /// stored one, and redaction marks the stored entry lacks must be made
    /// by a redaction later in the same batch.
    fn existing_committed_copy(
        &mut self,
        view: &dyn LogView,
        submission: &Submission,
        stored: Record,
    ) -> Result<Appended, Staging> {
        let seq = stored.header.seq;
        let bytes = self.entry_bytes(view, seq)?;
        let split = split_entry(&bytes).map_err(|e| StoreError::corrupt(seq, e.to_string()))?;
        let (payload_bytes, _) = split.payload();
        let copy = &submission.copy;
        if copy
            .payload
            .as_ref()
            .is_some_and(|given| given.as_slice() != payload_bytes)
        {
            return Err(Rejection::field(
                "payload",
                format!("differs from entry {seq} as this log holds it (same hash): the copy was changed"),
            )
            .into());
        }
        let claimed = match &copy.redacted {
            None => Vec::new(),
            Some(CopyRedaction::Fields(fields)) => fields.clone(),
            Some(CopyRedaction::Legacy) => {
                return Err(Rejection::field(
                    "redacted",
                    "`true` marks a format 1 copy, but this entry is of format 2",
                )
                .into())
            }
        };
        let payload = entry::decode_payload_v2(payload_bytes)
            .map_err(|e| StoreError::corrupt(seq, e.to_string()))?;
        let mut line = submission.statement.clone();
        if !submission.occurred_at_given {
            line.occurred_at = stored.statement.occurred_at;
        }
        prove_line(&line, &submission.salts, &claimed, &payload)?;
        let header = &stored.header;
        let mismatch = [
            (
                "recorded_at",
                copy.recorded_at.is_some_and(|t| t != header.recorded_at),
            ),
            (
                "stream",
                copy.derived
                    .stream
                    .as_ref()
                    .is_some_and(|s| *s != header.stream),
            ),
            (
                "version",
                copy.derived.version.is_some_and(|v| v != header.version),
            ),
            (
                "prev_hash",
                copy.derived
                    .prev_hash
                    .is_some_and(|p| p != header.prev_hash),
            ),
            (
                "backfilled",
                copy.backfilled.unwrap_or(false) != header.backfilled,
            ),
            ("signature", submission.signature != header.signature),
            (
                "leaf",
                copy.leaf.as_ref().is_some_and(|l| *l != header.encode()),
            ),
        ];
        if let Some((field, _)) = mismatch.iter().find(|(_, differs)| *differs) {
            return Err(Rejection::field(*field, format!(
                "differs from entry {seq} as this log holds it (same hash): the copy's fields were changed"
            )).into());
        }
        let already = match &stored.redaction {
            Redaction::Fields(fields) => fields.clone(),
            _ => Vec::new(),
        };
        let new: Vec<Field> = claimed
            .into_iter()
            .filter(|f| !already.contains(f))
            .collect();
        if !new.is_empty() {
            let pending = PendingRedaction {
                position: self.position,
                fields: Some(new),
                apply: true,
            };
            self.redacted_copies.insert(seq, pending);
        }
        Ok(Appended {
            seq,
            event_id: header.event_id,
            stream: header.stream.clone(),
            version: header.version,
            hash: stored.hash,
            duplicate: true,
        })
    }

    /// Stages a redaction of `e.target_seq`: its new stored bytes, without
    /// the disclosures of the fields named. A copy's redaction may find its
    /// target already redacted by the copy (the export showed it so).
    fn stage_redaction(
        &mut self,
        view: &dyn LogView,
        e: &armistice_core::event::EntryRedacted,
        seq: u64,
        copying: bool,
    ) -> Result<Option<(u64, Vec<u8>)>, Staging> {
        let target = e.target_seq;
        if target == 0 || target >= seq {
            return Err(Rejection::field(
                "target_seq",
                format!("no entry {target} to redact: the log holds {}", seq - 1),
            )
            .into());
        }
        if let Some(pending) = self.redacted_copies.get(&target).cloned() {
            if !copying {
                return Err(Rejection::field(
                    "target_seq",
                    format!("entry {target} is already redacted"),
                )
                .into());
            }
            // A format 1 copy cannot say which fields; a format 2 copy's
            // redacted fields are covered one redaction at a time, in any order.
            match pending.fields.clone() {
                None => {
                    self.redacted_copies.remove(&target);
                }
                Some(mut remaining) => {
                    for field in armistice_core::redact::parse_fields(&e.fields)? {
                        let Some(at) = remaining.iter().position(|f| *f == field) else {
                            return Err(Rejection::field("fields", format!(
                                "the copy of entry {target} does not show `{field}` redacted, though this redaction names it"
                            )).into());
                        };
                        remaining.remove(at);
                    }
                    if remaining.is_empty() {
                        self.redacted_copies.remove(&target);
                    } else {
                        let left = PendingRedaction {
                            fields: Some(remaining),
                            ..pending.clone()
                        };
                        self.redacted_copies.insert(target, left);
                    }
                }
            }
            if !pending.apply {
                return Ok(None);
            }
        }
        if target > self.committed.seq {
            return Err(Rejection::field(
                "target_seq",
                "an entry cannot be redacted in the batch that appends it",
            )
            .into());
        }
        if target > view.durable_seq() {
            return Err(Rejection::field(
                "target_seq",
                format!("entry {target} is still being made durable; redact it once its append has returned"),
            )
            .into());
        }
        if self.redactions.contains_key(&target) {
            return Err(Rejection::field(
                "target_seq",
                format!("entry {target} is already redacted in this batch"),
            )
            .into());
        }
        let bytes = self.entry_bytes(view, target)?;
        let split = split_entry(&bytes).map_err(|e| StoreError::corrupt(target, e.to_string()))?;
        let record = split
            .record()
            .map_err(|e| StoreError::corrupt(target, e.to_string()))?;
        if matches!(record.statement.event, Event::EntryRedacted(_)) {
            return Err(
                Rejection::field("target_seq", "a redaction cannot itself be redacted").into(),
            );
        }
        let (payload, disclosures) = match split.committed() {
            Ok(Some(parts)) => parts,
            Ok(None) => {
                return Err(Rejection::field(
                    "target_seq",
                    format!(
                        "entry {target} is of format 1, whose fields cannot be redacted one by one"
                    ),
                )
                .into())
            }
            Err(e) => return Err(StoreError::corrupt(target, e.to_string()).into()),
        };
        let fields = armistice_core::redact::parse_fields(&e.fields)?;
        let already = match &record.redaction {
            Redaction::Fields(fields) => fields.clone(),
            _ => Vec::new(),
        };
        armistice_core::redact::check_redactable(&record.statement, &already, &fields)?;
        let kept = armistice_core::redact::without(&disclosures, &fields);
        let new = encode_entry(
            split.leaf,
            &disclose::encode_payload(&payload),
            &disclose::encode_disclosures(&kept),
        );
        Ok(Some((target, new)))
    }
}

fn decode(seq: u64, bytes: &[u8]) -> Result<Record, StoreError> {
    let record = entry::decode_entry(bytes).map_err(|e| StoreError::corrupt(seq, e.to_string()))?;
    if record.header.seq != seq {
        return Err(StoreError::corrupt(
            seq,
            format!("its header says seq {}", record.header.seq),
        ));
    }
    Ok(record)
}

/// The body an entry is stored with, as staged.
// A schema 1 copy (the large variant) is rare and short-lived: boxing it
// would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Body {
    /// Schema 2.
    Committed {
        payload: Vec<u8>,
        disclosures: Vec<u8>,
        /// For a copy of a redacted entry: the fields it shows redacted.
        redacted: Option<Vec<Field>>,
    },
    /// A schema 1 copy: its leaf says what the payload digest and signature were.
    Legacy {
        payload: Vec<u8>,
        original: bool,
        digest: Hash,
        signature: Option<[u8; 64]>,
        redacted: Option<Vec<Field>>,
        statement: Box<Statement>,
    },
}

impl Body {
    fn schema(&self) -> u8 {
        match self {
            Body::Committed { .. } => SCHEMA_VERSION,
            Body::Legacy { .. } => SCHEMA_V1,
        }
    }

    fn payload(&self) -> &[u8] {
        match self {
            Body::Committed { payload, .. } | Body::Legacy { payload, .. } => payload,
        }
    }

    fn payload_digest(&self) -> Hash {
        match self {
            Body::Committed { payload, .. } => sha256(payload),
            Body::Legacy { digest, .. } => *digest,
        }
    }

    fn redaction(&self) -> Redaction {
        match self {
            Body::Committed {
                redacted: Some(fields),
                ..
            } => Redaction::Fields(fields.clone()),
            Body::Committed { .. } => Redaction::None,
            Body::Legacy { original: true, .. } => Redaction::None,
            Body::Legacy { .. } => Redaction::Legacy,
        }
    }

    fn reading_copy(&self, statement: Statement) -> Statement {
        match self {
            Body::Legacy { statement, .. } => (**statement).clone(),
            Body::Committed { .. } => statement,
        }
    }

    fn stored_bytes(&self, leaf: &[u8]) -> Vec<u8> {
        match self {
            Body::Committed {
                payload,
                disclosures,
                ..
            } => encode_entry(leaf, payload, disclosures),
            Body::Legacy {
                payload, original, ..
            } => {
                let mut out = Vec::with_capacity(leaf.len() + 1 + payload.len());
                out.extend_from_slice(leaf);
                out.push(if *original {
                    entry::V1_PAYLOAD_ORIGINAL
                } else {
                    entry::V1_PAYLOAD_REDACTED
                });
                out.extend_from_slice(payload);
                out
            }
        }
    }
}

fn check_size(body: &Body) -> Result<(), Rejection> {
    let size = match body {
        Body::Committed {
            payload,
            disclosures,
            ..
        } => payload.len() + disclosures.len(),
        Body::Legacy { payload, .. } => payload.len(),
    };
    if size > entry::ENTRY_BODY_BYTES_MAX {
        return Err(Rejection::event(format!(
            "the event encodes to {size} bytes; the limit is {} (lines are at most {} bytes)",
            entry::ENTRY_BODY_BYTES_MAX,
            armistice_core::json::LINE_BYTES_MAX
        )));
    }
    Ok(())
}

/// The body of a copy of a schema 2 redacted entry: its `payload` (the
/// digests) must hold, and every field the line still shows must match its
/// digest; the fields it names as redacted must read `[redacted]`.
fn redacted_copy_body(
    statement: &Statement,
    submission: &Submission,
    fields: &[Field],
) -> Result<Body, Staging> {
    let copy = &submission.copy;
    let Some(payload_bytes) = &copy.payload else {
        return Err(Rejection::field(
            "payload",
            "a redacted entry can be copied only with its `payload`, which holds the digests of what was removed",
        )
        .into());
    };
    let payload = entry::decode_payload_v2(payload_bytes)
        .map_err(|e| Rejection::field("payload", e.to_string()))?;
    let kept = prove_line(statement, &submission.salts, fields, &payload)?;
    Ok(Body::Committed {
        payload: payload_bytes.clone(),
        disclosures: disclose::encode_disclosures(&kept),
        redacted: Some(fields.to_vec()),
    })
}

/// Proves every field a copy line shows against a committed payload: the
/// values it shows, with its salts, must match their digests one by one; the
/// fields it says are redacted (`claimed`) must be exactly those it shows
/// no value for. Returns the disclosures the line makes.
fn prove_line(
    statement: &Statement,
    salts: &disclose::Salts,
    claimed: &[Field],
    payload: &disclose::CommittedPayload,
) -> Result<Vec<disclose::Disclosure>, Rejection> {
    let kept = disclose::disclose_fields(statement, salts)
        .map_err(|e| Rejection::field("salts", e.to_string()))?;
    let (revealed, mut redacted) = disclose::reveal(payload, &kept).map_err(|e| match e {
        disclose::DisclosureError::DigestMismatch(field) => Rejection::field(
            field.name(),
            "does not match the digest the entry's payload commits to: the field was changed",
        ),
        other => Rejection::event(format!(
            "the line's fields do not match the entry's payload: {other}"
        )),
    })?;
    let mut claimed = claimed.to_vec();
    claimed.sort();
    redacted.sort();
    if redacted != claimed {
        let names = |fields: &[Field]| match fields.len() {
            0 => "no field".to_owned(),
            _ => fields
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", "),
        };
        return Err(Rejection::field(
            "redacted",
            format!(
                "the line shows {} redacted, but its values and salts leave {} without a value",
                names(&claimed),
                names(&redacted)
            ),
        ));
    }
    if let Some(field) = armistice_core::json::first_difference(statement, &revealed) {
        return Err(Rejection::field(
            field,
            "differs from what the entry's payload proves: the field was changed",
        ));
    }
    Ok(kept)
}

/// The body of a copy of a schema 1 entry: its leaf gives the payload digest
/// and signature; the payload is the whole statement (or, redacted, the
/// reading copy, which then must be covered by an `entry_redacted`).
fn legacy_body(statement: &Statement, submission: &Submission) -> Result<Body, Staging> {
    let copy = &submission.copy;
    let (Some(leaf), Some(hash)) = (&copy.leaf, copy.hash) else {
        return Err(Rejection::field(
            "leaf",
            "a format 1 entry can be copied only with its `hash` and `leaf`",
        )
        .into());
    };
    if sha256(leaf) != hash {
        return Err(Rejection::field("leaf", "does not hash to the line's `hash`").into());
    }
    let (header, used) =
        Header::decode(leaf).map_err(|e| Rejection::field("leaf", e.to_string()))?;
    if used != leaf.len() {
        return Err(Rejection::field("leaf", "has trailing bytes").into());
    }
    if !submission.salts.is_empty() {
        return Err(Rejection::field("salts", "a format 1 entry has no salts").into());
    }
    let payload = encode_payload_v1(statement);
    let redacted = match &copy.redacted {
        None => false,
        Some(CopyRedaction::Legacy) => true,
        Some(CopyRedaction::Fields(_)) => {
            return Err(Rejection::field(
                "redacted",
                "a format 1 entry marks its redaction `true`, not with a list",
            )
            .into())
        }
    };
    if !redacted {
        if sha256(&payload) != header.payload_sha256 {
            return Err(Rejection::event(
                "the line's fields do not hash to the payload digest its leaf holds: the fields were changed",
            )
            .into());
        }
        if copy.payload.as_ref().is_some_and(|given| *given != payload) {
            return Err(Rejection::field("payload", "does not encode the line's fields").into());
        }
    }
    Ok(Body::Legacy {
        payload,
        original: !redacted,
        digest: header.payload_sha256,
        signature: header.signature,
        redacted: redacted.then(Vec::new),
        statement: Box::new(statement.clone()),
    })
}

/// What a copy line's fields say that its payload does not prove: the
/// first differing field, named.
fn payload_difference(statement: &Statement, salts: &disclose::Salts, given: &[u8]) -> Rejection {
    let payload = match entry::decode_payload_v2(given) {
        Ok(payload) => payload,
        Err(e) => return Rejection::field("payload", e.to_string()),
    };
    let disclosed = match disclose::disclose_fields(statement, salts) {
        Ok(disclosed) => disclosed,
        Err(e) => return Rejection::field("salts", e.to_string()),
    };
    match disclose::reveal(&payload, &disclosed) {
        Err(disclose::DisclosureError::DigestMismatch(field)) => Rejection::field(
            field.name(),
            "does not match the digest the entry's payload commits to: the field was changed",
        ),
        Err(e) => Rejection::field("payload", e.to_string()),
        Ok((proven, _)) => match armistice_core::json::first_difference(statement, &proven) {
            Some(field) => Rejection::field(
                field,
                "differs from what the entry's payload proves: the field was changed",
            ),
            None => Rejection::field("payload", "does not encode the line's fields and salts"),
        },
    }
}

/// The first field of a leaf that differs from the header the line makes.
fn leaf_difference(given: &[u8], made: &Header) -> String {
    let Ok((leaf, _)) = Header::decode(given) else {
        return "leaf".into();
    };
    let fields = [
        ("seq", leaf.seq != made.seq),
        ("recorded_at", leaf.recorded_at != made.recorded_at),
        ("occurred_at", leaf.occurred_at != made.occurred_at),
        ("type", leaf.event_type != made.event_type),
        ("event_id", leaf.event_id != made.event_id),
        ("by", leaf.by != made.by),
        ("stream", leaf.stream != made.stream),
        ("version", leaf.version != made.version),
        ("prev_hash", leaf.prev_hash != made.prev_hash),
        ("backfilled", leaf.backfilled != made.backfilled),
        ("signature", leaf.signature != made.signature),
        ("payload", leaf.payload_sha256 != made.payload_sha256),
    ];
    fields
        .iter()
        .find(|(_, differs)| *differs)
        .map(|(name, _)| (*name).to_owned())
        .unwrap_or_else(|| "leaf".into())
}

/// Fields only a backfill line may carry, and only as a copy may.
fn check_copy_fields(copy: &EntryCopy, options: &AppendOptions) -> Result<(), Rejection> {
    if !options.backfill {
        if let Some(field) = copy.first_field() {
            return Err(Rejection::field(
                field,
                "is set by the ledger; it is accepted only with `import --backfill`",
            ));
        }
    }
    if copy.hash.is_none() {
        let derived = [
            ("prev_hash", copy.derived.prev_hash.is_some()),
            ("stream", copy.derived.stream.is_some()),
            ("version", copy.derived.version.is_some()),
            ("seq", copy.seq.is_some()),
            ("leaf", copy.leaf.is_some()),
            ("payload", copy.payload.is_some()),
            ("redacted", copy.redacted.is_some()),
        ];
        if let Some((field, _)) = derived.iter().find(|(_, present)| *present) {
            return Err(Rejection::field(
                *field,
                "is accepted only beside `hash`, in a copy of an Armistice entry",
            ));
        }
    }
    Ok(())
}

/// A backfill line that copies an Armistice entry must reproduce it
/// exactly: every field it carries equals what the ledger computes here.
fn check_copy(copy: &EntryCopy, header: &Header, hash: &Hash) -> Result<(), Rejection> {
    let Some(expected) = copy.hash else {
        return Ok(());
    };
    if let Some(seq) = copy.seq {
        if seq != header.seq {
            return Err(Rejection::field(
                "seq",
                format!("the copy says seq {seq} but it lands at seq {}", header.seq),
            ));
        }
    }
    if let Some(prev) = copy.derived.prev_hash {
        if prev != header.prev_hash {
            return Err(Rejection::field(
                "prev_hash",
                format!(
                    "the copy says {} but the previous entry's hash here is {}",
                    hex::encode(prev),
                    hex::encode(header.prev_hash)
                ),
            ));
        }
    }
    if let Some(stream) = &copy.derived.stream {
        if *stream != header.stream {
            return Err(Rejection::field(
                "stream",
                format!(
                    "the copy says `{stream}` but the entry belongs to `{}`",
                    header.stream
                ),
            ));
        }
    }
    if let Some(version) = copy.derived.version {
        if version != header.version {
            return Err(Rejection::field(
                "version",
                format!(
                    "the copy says version {version} but the entry is version {} of its stream here",
                    header.version
                ),
            ));
        }
    }
    if let Some(given) = &copy.leaf {
        if given.as_slice() != header.encode().as_slice() {
            return Err(Rejection::field(
                leaf_difference(given, header),
                "differs from the entry's leaf: the line says something its hashed bytes do not",
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
