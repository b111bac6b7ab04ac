//! Re-checking everything a ledger stores: every entry (decoding, the hash
//! chain, stream versions, payload digests, every disclosure against its
//! digest, every redaction against the `entry_redacted` that made it,
//! signatures under the key each author had then), every index key and
//! chunk summary, every stored Merkle node, the head marker, the head
//! record beside the database, the operator's key history and the signed
//! checkpoints.

use crate::chunk::{self, Summary};
use crate::error::StoreError;
use crate::guard::guard;
use crate::head::HeadRecord;
use crate::layout::{self, CHUNK_ENTRIES};
use crate::ledger::Ledger;
use crate::tree::{Frontier, STORED_LEVEL_MIN};
use crate::types::{Head, OperatorKeys};
use armistice_core::disclose::Field;
use armistice_core::entry::{self, sha256, split_entry, Hash, Record, Redaction};
use armistice_core::{sign, Event, PartyId, Statement};
use std::collections::{BTreeMap, HashMap};

/// Most problems one report lists; past it, verification stops.
pub const PROBLEMS_MAX: usize = 100;

/// The outcome of [`Ledger::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// The head as recomputed from the entries.
    pub head: Head,
    /// The largest seq up to which every entry verified (all of them when intact).
    pub proven_to: u64,
    /// Signed entries whose signature verified.
    pub signatures_valid: u64,
    /// Redacted entries (their other fields and signatures still verify,
    /// except for entries redacted in format 1).
    pub redacted: u64,
    /// Entries past the head marker, left by an interrupted append (not
    /// damage: the next write removes them).
    pub uncommitted: u64,
    /// What is wrong, in log order; empty when the ledger is intact.
    pub problems: Vec<Problem>,
}

impl VerifyReport {
    /// Whether nothing is wrong.
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// The first problem, if any.
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
}

/// Something wrong, at one entry or in the ledger as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The bad seq, or 0 when no one entry is concerned (a stray key).
    pub seq: u64,
    /// What is wrong.
    pub detail: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            0 => f.write_str(&self.detail),
            seq => write!(f, "seq {seq}: {}", self.detail),
        }
    }
}

/// What a signature check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Signed, and it verifies against the key the author had then.
    Valid,
    /// Not signed, and the author had no key: allowed.
    Unsigned,
    /// Signed, but the entry was redacted in format 1, so it cannot be checked again.
    Unverifiable,
    /// Wrong: forged, missing where a key was registered, or signed without a key.
    Invalid(String),
}

/// Follows party keys (registrations, rotations, replacements) and the
/// operator's keys along the log, and checks each entry's signature against
/// the key its author had then.
pub struct Signatures {
    operator: OperatorKeys,
    keys: HashMap<PartyId, [u8; 32]>,
}

impl Signatures {
    /// A tracker for a ledger whose operator keys are `operator`.
    pub fn new(operator: OperatorKeys) -> Self {
        Signatures {
            operator,
            keys: HashMap::new(),
        }
    }

    /// The key `party` has now (after the entries seen so far).
    pub fn key_of(&self, party: &PartyId) -> Option<[u8; 32]> {
        self.keys.get(party).copied()
    }

    /// Checks an entry from its stored bytes, then learns any key it
    /// registers or replaces. Entries must come in seq order.
    pub fn check_bytes(&mut self, bytes: &[u8], record: &Record) -> SignatureStatus {
        let status = match split_entry(bytes) {
            Ok(split) => {
                let (payload, original) = split.payload();
                if original {
                    self.check(record, Some((record.header.schema, payload)))
                } else {
                    self.check(record, None)
                }
            }
            Err(e) => SignatureStatus::Invalid(e.to_string()),
        };
        self.learn(&record.statement);
        status
    }

    /// Learns an operator key rotation appended at `seq` (a verifier that
    /// is not this module's follows the log's rotations with it).
    pub fn rotate_operator(&mut self, seq: u64, key: [u8; 32]) {
        self.operator.rotate(seq, key);
    }

    fn check(&self, record: &Record, payload: Option<(u8, &[u8])>) -> SignatureStatus {
        let header = &record.header;
        let key = match header.by.is_operator() {
            true => Some(self.operator.for_statement(header.seq)),
            false => self.keys.get(&header.by).copied(),
        };
        match (key, &header.signature, payload) {
            (_, Some(_), None) => SignatureStatus::Unverifiable,
            (Some(key), Some(signature), Some((schema, payload))) => {
                match sign::verify_payload(schema, payload, &key, signature) {
                    Ok(()) => SignatureStatus::Valid,
                    Err(e) => SignatureStatus::Invalid(e),
                }
            }
            (Some(_), None, _) => SignatureStatus::Invalid(format!(
                "unsigned statement by `{}`, which has a registered key",
                header.by
            )),
            (None, Some(_), _) => SignatureStatus::Invalid(format!(
                "signed statement by `{}`, which had no registered key",
                header.by
            )),
            (None, None, _) => SignatureStatus::Unsigned,
        }
    }

    fn learn(&mut self, statement: &Statement) {
        match &statement.event {
            Event::PartyRegistered(e) => {
                if let Some(key) = e.public_key {
                    self.keys.insert(e.party.clone(), key.0);
                }
            }
            Event::PartyKeyRotated(e) => {
                self.keys.insert(statement.by.clone(), e.public_key.0);
            }
            Event::PartyKeyReplaced(e) => {
                self.keys.insert(e.party.clone(), e.public_key.0);
            }
            _ => {}
        }
    }
}

/// What the indexes must say, computed from the entries.
#[derive(Default)]
struct Expected {
    event_ids: HashMap<[u8; 16], u64>,
    streams: BTreeMap<String, Vec<u64>>,
    /// Per sealed chunk, its summary (`None` when an entry of it did not decode).
    summaries: Vec<Option<Summary>>,
    chunk_records: Vec<Option<Record>>,
    nodes: BTreeMap<(u8, u64), Hash>,
    /// Entries that show redacted fields: seq → fields (empty: format 1).
    redacted: BTreeMap<u64, Vec<Field>>,
    /// What `entry_redacted` entries say: target → the redactions' seqs and
    /// the fields they name together (empty: format 1, all).
    redactions: BTreeMap<u64, (Vec<u64>, Vec<Field>)>,
    operator_keys: Option<OperatorKeys>,
}

struct Verifier<'a> {
    ledger: &'a Ledger,
    report: VerifyReport,
    versions: HashMap<String, u64>,
    signatures: Signatures,
    frontier: Frontier,
    expected: Expected,
    bad: bool,
}

impl Ledger {
    /// Re-checks everything stored; the report lists what is wrong, first bad seq first.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let first_key = self
            .operator_keys()
            .all()
            .first()
            .map(|(_, key)| *key)
            .unwrap_or([0; 32]);
        let mut verifier = Verifier {
            ledger: self,
            report: VerifyReport {
                entries: 0,
                head: Head::EMPTY,
                proven_to: 0,
                signatures_valid: 0,
                redacted: 0,
                uncommitted: 0,
                problems: Vec::new(),
            },
            versions: HashMap::new(),
            signatures: Signatures::new(OperatorKeys::new(first_key)),
            frontier: Frontier::default(),
            expected: Expected {
                operator_keys: Some(OperatorKeys::new(first_key)),
                ..Expected::default()
            },
            bad: false,
        };
        verifier.entries()?;
        if verifier.report.problems.len() < PROBLEMS_MAX {
            verifier.redactions();
            verifier.indexes()?;
            verifier.whole_ledger()?;
        }
        verifier
            .report
            .problems
            .sort_by_key(|p| (p.seq == 0, p.seq));
        verifier.report.problems.truncate(PROBLEMS_MAX);
        Ok(verifier.report)
    }

    /// Re-checks the hash chain from entry 1 to `to`: each entry decodes,
    /// links to the one before, and holds the payload its digest names.
    /// Returns the first problem, if any (what `audit` reports as `chain_ok`).
    pub fn verify_chain(&self, to: u64) -> Result<Option<Problem>, StoreError> {
        let mut prev = entry::GENESIS_HASH;
        for (expected, item) in (1..).zip(self.entries(1, to)) {
            let (seq, bytes) = item?;
            let bad = |detail: String| Ok(Some(Problem { seq, detail }));
            if seq != expected {
                return bad(format!("entry {expected} is missing"));
            }
            let Ok(split) = split_entry(&bytes) else {
                return bad("the entry does not decode".into());
            };
            if split.header.prev_hash != prev {
                return bad(
                    "prev_hash does not match the previous entry's hash: the chain is broken"
                        .into(),
                );
            }
            let (payload, original) = split.payload();
            if original && sha256(payload) != split.header.payload_sha256 {
                return bad("payload does not match its SHA-256 in the header".into());
            }
            if split.record().is_err() {
                return bad("a field does not match the digest the entry commits to".into());
            }
            prev = split.hash();
        }
        Ok(None)
    }
}

impl Verifier<'_> {
    fn problem(&mut self, seq: u64, detail: String) {
        self.report.problems.push(Problem { seq, detail });
    }

    /// Checks every stored entry key, in order: sealed chunks and tail keys.
    fn entries(&mut self) -> Result<(), StoreError> {
        let head = self.ledger.head().seq;
        let tree = self.ledger.tree.clone();
        let mut stored: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut sealed = std::collections::BTreeSet::new();
        let mut next_seq = 1u64;
        let mut chunks = guard(|| tree.scan_prefix([layout::CHUNK]))?.peekable();
        let mut tails = guard(|| tree.scan_prefix([layout::TAIL]))?.peekable();
        loop {
            // Entries come from chunks and tail keys, merged by seq.
            let chunk_first = match chunks.peek() {
                None => None,
                Some(Err(_)) => {
                    if let Some(Err(e)) = chunks.next() {
                        return Err(e.into());
                    }
                    continue;
                }
                Some(Ok((key, _))) => match layout::key_u64(key, layout::CHUNK) {
                    Some(index) => Some(index * CHUNK_ENTRIES + 1),
                    None => {
                        let key = key.clone();
                        chunks.next();
                        self.problem(0, format!("a stray key {key:?} is stored among the chunks"));
                        continue;
                    }
                },
            };
            let tail_seq = match tails.peek() {
                None => None,
                Some(Err(_)) => {
                    if let Some(Err(e)) = tails.next() {
                        return Err(e.into());
                    }
                    continue;
                }
                Some(Ok((key, _))) => match layout::key_u64(key, layout::TAIL) {
                    Some(seq) if seq >= 1 => Some(seq),
                    _ => {
                        let key = key.clone();
                        tails.next();
                        self.problem(
                            0,
                            format!("a stray key {key:?} is stored among the entries"),
                        );
                        continue;
                    }
                },
            };
            match (chunk_first, tail_seq) {
                (None, None) => break,
                (Some(first), tail) if tail.is_none_or(|t| first <= t) => {
                    let Some(Ok((_, value))) = guard(|| chunks.next())? else {
                        continue;
                    };
                    let index = layout::chunk_of(first);
                    sealed.insert(index);
                    match chunk::decode(&value) {
                        Some(entries) => {
                            for (offset, bytes) in entries.into_iter().enumerate() {
                                stored.insert(first + offset as u64, bytes.to_vec());
                            }
                        }
                        None => self.problem(
                            first,
                            format!(
                                "chunk {index} (entries {first} to {}) does not decode",
                                first + CHUNK_ENTRIES - 1
                            ),
                        ),
                    }
                }
                (_, Some(seq)) => {
                    let Some(Ok((_, value))) = guard(|| tails.next())? else {
                        continue;
                    };
                    if sealed.contains(&layout::chunk_of(seq)) {
                        self.problem(
                            seq,
                            "the entry is stored twice: in its sealed chunk and as a tail key"
                                .into(),
                        );
                    }
                    stored.insert(seq, value.to_vec());
                }
                (Some(_), None) => unreachable!("handled by the arm above"),
            }
            // Check what is complete in order, keeping memory to one chunk or so.
            while let Some(bytes) = stored.remove(&next_seq) {
                if next_seq > head {
                    self.report.uncommitted += 1;
                } else {
                    self.entry(next_seq, &bytes);
                }
                next_seq += 1;
                if self.report.problems.len() >= PROBLEMS_MAX {
                    return Ok(());
                }
            }
        }
        // Whatever is left is after a gap.
        if next_seq <= head {
            let found = stored.keys().next().copied();
            self.problem(next_seq, match found {
                Some(seq) if seq <= head => format!("entries {next_seq} to {} are missing", seq - 1),
                _ => format!("entries {next_seq} to {head} are missing: the log holds {} of the {head} entries its head marker names", next_seq - 1),
            });
            for (seq, bytes) in std::mem::take(&mut stored) {
                if seq <= head {
                    self.entry_after_gap(seq, &bytes);
                } else {
                    self.report.uncommitted += 1;
                }
            }
        } else {
            self.report.uncommitted += stored.len() as u64;
        }
        Ok(())
    }

    /// An entry after missing ones: counted and checked alone.
    fn entry_after_gap(&mut self, seq: u64, bytes: &[u8]) {
        self.report.entries += 1;
        if let Err(detail) = split_entry(bytes)
            .map_err(|e| e.to_string())
            .and_then(|s| s.record().map(|_| ()).map_err(|e| e.to_string()))
        {
            self.problem(seq, format!("the entry does not decode: {detail}"));
        }
    }

    /// Checks one entry; the chain and tree go on from its actual bytes, so
    /// one damaged entry is reported once, not again for every later one.
    fn entry(&mut self, seq: u64, bytes: &[u8]) {
        self.report.entries += 1;
        let split = match split_entry(bytes) {
            Ok(split) => split,
            Err(e) => {
                self.problem(seq, format!("the entry does not decode: {e}"));
                self.bad = true;
                self.advance(seq, bytes, None);
                return;
            }
        };
        let header = split.header.clone();
        let leaf = split.leaf.to_vec();
        let record = match self.content(seq, bytes, &split) {
            Ok(record) => Some(record),
            Err(detail) => {
                self.problem(seq, detail);
                self.bad = true;
                None
            }
        };
        // The indexes must still list an entry whose header reads.
        self.expected
            .event_ids
            .insert(*header.event_id.as_bytes(), seq);
        self.expected
            .streams
            .entry(header.stream.clone())
            .or_default()
            .push(seq);
        self.advance(seq, &leaf, record);
    }

    /// Moves the chain, the tree and the indexes' expectations past `seq`.
    fn advance(&mut self, seq: u64, leaf: &[u8], record: Option<Record>) {
        for node in self
            .frontier
            .push(seq - 1, armistice_merkle::leaf_hash(leaf))
        {
            if node.0 >= STORED_LEVEL_MIN {
                self.expected.nodes.insert((node.0, node.1), node.2);
            }
        }
        let recorded_at = record
            .as_ref()
            .map(|r| r.header.recorded_at)
            .unwrap_or(self.report.head.recorded_at);
        self.report.head = Head {
            seq,
            hash: sha256(leaf),
            recorded_at,
        };
        if !self.bad {
            self.report.proven_to = seq;
        }
        self.expected.chunk_records.push(record);
        if seq.is_multiple_of(CHUNK_ENTRIES) {
            let records = std::mem::take(&mut self.expected.chunk_records);
            let readable: Option<Vec<Record>> = records.into_iter().collect();
            let summary = readable
                .filter(|r| r.len() as u64 == CHUNK_ENTRIES)
                .map(|r| Summary::of(r.iter()));
            self.expected.summaries.push(summary);
        }
    }

    /// Checks an entry's content and returns its record.
    fn content(
        &mut self,
        seq: u64,
        bytes: &[u8],
        split: &entry::SplitEntry<'_>,
    ) -> Result<Record, String> {
        let header = &split.header;
        let head = self.report.head;
        if header.seq != seq {
            return Err(format!("its header says seq {}", header.seq));
        }
        if header.prev_hash != head.hash {
            return Err(
                "prev_hash does not match the previous entry's hash: the chain is broken".into(),
            );
        }
        if header.recorded_at < head.recorded_at {
            return Err(format!(
                "recorded_at {} is earlier than the previous entry's",
                header.recorded_at
            ));
        }
        let version = self.versions.entry(header.stream.clone()).or_insert(0);
        *version += 1;
        if header.version != *version {
            return Err(format!(
                "stream {} version {} should be {version}",
                header.stream, header.version
            ));
        }
        let (payload, original) = split.payload();
        if original && sha256(payload) != header.payload_sha256 {
            return Err("the payload does not match its SHA-256 in the leaf".into());
        }
        let record = split.record().map_err(|e| e.to_string())?;
        match &record.redaction {
            Redaction::None => {}
            Redaction::Fields(fields) => {
                self.report.redacted += 1;
                self.expected.redacted.insert(seq, fields.clone());
            }
            Redaction::Legacy => {
                self.report.redacted += 1;
                self.expected.redacted.insert(seq, Vec::new());
            }
        }
        match &record.statement.event {
            Event::EntryRedacted(e) => {
                let fields = armistice_core::redact::parse_fields(&e.fields).unwrap_or_default();
                let entry = self.expected.redactions.entry(e.target_seq).or_default();
                entry.0.push(seq);
                entry.1.extend(fields);
            }
            Event::OperatorKeyRotated(e) => {
                if let Some(keys) = &mut self.expected.operator_keys {
                    keys.rotate(seq, e.public_key.0);
                }
            }
            _ => {}
        }
        match self.signatures.check_bytes(bytes, &record) {
            SignatureStatus::Valid => self.report.signatures_valid += 1,
            SignatureStatus::Invalid(detail) => return Err(detail),
            SignatureStatus::Unsigned | SignatureStatus::Unverifiable => {}
        }
        if let Event::OperatorKeyRotated(e) = &record.statement.event {
            self.signatures.operator.rotate(seq, e.public_key.0);
        }
        Ok(record)
    }

    /// Every redacted entry was redacted by an `entry_redacted` naming it
    /// and exactly those fields; every redaction left its target redacted.
    fn redactions(&mut self) {
        let redacted = std::mem::take(&mut self.expected.redacted);
        let mut redactions = std::mem::take(&mut self.expected.redactions);
        for (seq, fields) in redacted {
            match redactions.remove(&seq) {
                None => self.problem(seq, "fields are missing from the entry, but no `entry_redacted` removed them: they were deleted outside the log".into()),
                Some((by, named)) => {
                    let legacy = fields.is_empty();
                    let same = legacy || {
                        let mut a = fields.clone();
                        let mut b = named.clone();
                        a.sort();
                        b.sort();
                        b.dedup();
                        a == b
                    };
                    if !same {
                        let seqs: Vec<String> = by.iter().map(u64::to_string).collect();
                        self.problem(seq, format!("the entry lacks other fields than the redactions at seq {} name", seqs.join(", ")));
                    }
                }
            }
        }
        for (target, (by, _)) in redactions {
            if target <= self.report.head.seq {
                let seqs: Vec<String> = by.iter().map(u64::to_string).collect();
                self.problem(target, format!("the redaction at seq {} targets this entry, but its fields are all still there", seqs.join(", ")));
            }
        }
    }

    /// Checks every index key against what the entries say.
    fn indexes(&mut self) -> Result<(), StoreError> {
        let head = self.report.head.seq;
        let tree = self.ledger.tree.clone();
        let mut ids = std::mem::take(&mut self.expected.event_ids);
        for item in guard(|| tree.scan_prefix([layout::EVENT_ID]))? {
            let (key, value) = guard(|| item)??;
            let id: Option<[u8; 16]> = key.get(1..).and_then(|b| b.try_into().ok());
            let seq = layout::tail_u64(&value);
            match (id, seq) {
                (Some(id), Some(seq)) if seq > head => {
                    // Left by an interrupted append.
                    let _ = id;
                }
                (Some(id), Some(seq)) if ids.get(&id) == Some(&seq) => {
                    ids.remove(&id);
                }
                _ => self.problem(
                    seq.unwrap_or(0),
                    "an event_id index key does not match its entry".into(),
                ),
            }
        }
        for (_, seq) in ids.into_iter().take(PROBLEMS_MAX) {
            self.problem(seq, "the event_id index lacks this entry".into());
        }
        let mut streams = std::mem::take(&mut self.expected.streams);
        let mut stored: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for item in guard(|| tree.scan_prefix([layout::STREAM]))? {
            let (key, value) = guard(|| item)??;
            let name = key
                .get(1..key.len().saturating_sub(5))
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(str::to_owned);
            match (name, layout::unpack_seqs(&value)) {
                (Some(name), Some(seqs)) => stored.entry(name).or_default().extend(seqs),
                _ => self.problem(0, format!("a stream index key {key:?} is damaged")),
            }
        }
        for (name, mut seqs) in stored {
            seqs.retain(|seq| *seq <= head);
            let expected = streams.remove(&name).unwrap_or_default();
            if seqs != expected {
                let seq = expected.iter().chain(&seqs).copied().min().unwrap_or(0);
                self.problem(
                    seq,
                    format!("the index of stream {name} does not list its entries"),
                );
            }
        }
        for (name, seqs) in streams {
            self.problem(
                seqs.first().copied().unwrap_or(0),
                format!("the index of stream {name} is missing"),
            );
        }
        let summaries = std::mem::take(&mut self.expected.summaries);
        let mut seen = 0usize;
        for item in guard(|| tree.scan_prefix([layout::SUMMARY]))? {
            let (key, value) = guard(|| item)??;
            let index = layout::key_u64(&key, layout::SUMMARY);
            match index {
                Some(index) if (index + 1) * CHUNK_ENTRIES > head => {}
                Some(index) => {
                    seen += 1;
                    let expected = summaries.get(index as usize).cloned().flatten();
                    // A chunk with an unreadable entry was reported already.
                    let unknown = summaries.get(index as usize).is_some_and(Option::is_none);
                    if !unknown && Summary::decode(&value) != expected {
                        self.problem(
                            index * CHUNK_ENTRIES + 1,
                            format!("the summary of chunk {index} does not match its entries"),
                        );
                    }
                }
                None => self.problem(
                    0,
                    format!("a stray key {key:?} is stored among the summaries"),
                ),
            }
        }
        if seen != summaries.len() {
            self.problem(
                0,
                format!(
                    "{seen} chunk summaries are stored for {} sealed chunks",
                    summaries.len()
                ),
            );
        }
        let nodes = std::mem::take(&mut self.expected.nodes);
        let mut stored_nodes = 0usize;
        for item in guard(|| tree.scan_prefix([layout::MERKLE]))? {
            let (key, value) = guard(|| item)??;
            let level = key.get(1).copied().unwrap_or(u8::MAX);
            let index = layout::tail_u64(&key).unwrap_or(u64::MAX);
            let end = (index.saturating_add(1))
                .checked_shl(u32::from(level))
                .unwrap_or(u64::MAX);
            if end > head && level < 64 {
                continue;
            }
            stored_nodes += 1;
            let matches = nodes
                .get(&(level, index))
                .is_some_and(|hash| hash.as_slice() == value.as_ref());
            if !matches {
                self.problem(
                    end.min(head),
                    format!("stored Merkle node ({level}, {index}) does not match the entries"),
                );
            }
        }
        if stored_nodes != nodes.len() {
            self.problem(
                0,
                format!(
                    "{stored_nodes} Merkle nodes are stored for {} expected",
                    nodes.len()
                ),
            );
        }
        Ok(())
    }

    /// What no single entry covers: the head marker and record, the
    /// operator's keys, stray keys, extra sled trees and the checkpoints.
    fn whole_ledger(&mut self) -> Result<(), StoreError> {
        let head = self.report.head;
        let marker = self.ledger.head();
        if marker != head {
            self.problem(
                0,
                format!(
                    "the head marker says seq {} but the entries end at seq {}",
                    marker.seq, head.seq
                ),
            );
        }
        match self.ledger.head_record() {
            None => self.problem(0, format!("the head record file {} is missing: nothing outside the database says how long the log should be", crate::head::HEAD_FILE)),
            Some(Err(detail)) => self.problem(0, format!("the head record is damaged: {detail}")),
            Some(Ok(record)) => self.compare_record(*record),
        }
        if let Some(expected) = &self.expected.operator_keys {
            let mut stored = self.ledger.operator_keys();
            stored.truncate(head.seq);
            if stored != *expected {
                self.problem(
                    0,
                    "the operator's key history does not match the rotations in the log".into(),
                );
            }
        }
        let tree = &self.ledger.tree;
        let known = [
            layout::CHUNK,
            layout::TAIL,
            layout::SUMMARY,
            layout::EVENT_ID,
            layout::STREAM,
            layout::MERKLE,
            layout::HEAD,
            layout::OPERATOR,
            layout::ORIGIN,
            layout::CHECKPOINT,
            layout::FORMAT,
        ];
        for item in guard(|| tree.iter().keys())? {
            let key = guard(|| item)??;
            if !key.first().is_some_and(|p| known.contains(p)) {
                self.problem(
                    0,
                    format!("a stray key {:?} is stored", String::from_utf8_lossy(&key)),
                );
                break;
            }
        }
        let default = tree.name();
        if let Some(extra) = tree.tree_names().into_iter().find(|name| *name != default) {
            self.problem(
                0,
                format!(
                    "an unexpected sled tree {:?} is stored",
                    String::from_utf8_lossy(&extra)
                ),
            );
        }
        if self.report.problems.is_empty() {
            self.checkpoints()?;
        }
        Ok(())
    }

    fn compare_record(&mut self, record: HeadRecord) {
        let head = self.report.head;
        if record.seq > head.seq {
            self.problem(head.seq + 1, format!(
                "the head record says {} entries were committed, but the database holds {}: entries {} to {} are lost; recover them from a mirror, an export or the last checkpoint",
                record.seq, head.seq, head.seq + 1, record.seq
            ));
        } else if record.seq == head.seq
            && (record.hash != head.hash || record.root != self.frontier.root())
        {
            self.problem(
                head.seq,
                "this entry is not the one the head record names: the log was rewritten".into(),
            );
        }
    }

    fn checkpoints(&mut self) -> Result<(), StoreError> {
        let keys = self.ledger.operator_keys();
        for signed in self.ledger.checkpoints()? {
            let size = signed.checkpoint.size;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&keys.for_checkpoint(size));
            let valid = key.is_ok_and(|key| signed.verify(self.ledger.origin(), &key).is_ok());
            if !valid {
                self.problem(0, format!("the checkpoint at size {size} is not signed by the operator key of that size"));
            } else if size > self.report.head.seq {
                self.problem(0, format!("a checkpoint was signed at size {size}, beyond the log's end: entries were removed"));
            } else if self.ledger.root(size)? != signed.checkpoint.root {
                self.problem(size, format!("the tree no longer matches the checkpoint signed at size {size}: history was rewritten"));
            }
        }
        Ok(())
    }
}
