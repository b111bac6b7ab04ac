//! Checking a log's entries one by one in seq order, whatever stores them:
//! what `verify` recomputes of each entry (it decodes, its header names its
//! seq, the hash chain, `recorded_at` never decreasing, stream versions,
//! the payload digest, every disclosure against its digest, the signature
//! under the key its author had then), every redaction against the
//! `entry_redacted` entries that made it, and what the rest of the store
//! must then say: the index rows, the stored Merkle nodes, the tree's
//! frontier, the head and the operator's key history.
//!
//! A backend's verifier reads its entries in seq order, hands each to
//! [`EntryChecker::entry`], then compares what it stores against
//! [`Expected`]. The checks are those of the sled verifier, which keeps its
//! own copy of them for now.

use crate::tree::{Frontier, STORED_LEVEL_MIN};
use crate::types::{Head, OperatorKeys};
use crate::verify::{Problem, SignatureStatus, Signatures, VerifyReport, PROBLEMS_MAX};
use armistice_core::disclose::Field;
use armistice_core::entry::{sha256, split_entry, Hash, Record, Redaction, SplitEntry};
use armistice_core::Event;
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

/// What the store must hold besides the entries, computed from them.
#[derive(Clone, Debug, Default)]
pub struct Expected {
    /// Every entry's event id and seq (entries whose header reads).
    pub event_ids: HashMap<Uuid, u64>,
    /// Every stream's seqs, in version order.
    pub streams: BTreeMap<String, Vec<u64>>,
    /// The complete subtrees from [`STORED_LEVEL_MIN`] up.
    pub nodes: BTreeMap<(u8, u64), Hash>,
    /// The tree's right edge after the last entry.
    pub frontier: Frontier,
    /// The operator's keys after the rotations in the log.
    pub operator_keys: OperatorKeys,
}

/// Checks entries in seq order and collects what is wrong.
pub struct EntryChecker {
    report: VerifyReport,
    versions: HashMap<String, u64>,
    signatures: Signatures,
    expected: Expected,
    /// Entries that show redacted fields: seq → fields (empty: format 1).
    redacted: BTreeMap<u64, Vec<Field>>,
    /// What `entry_redacted` entries say: target → the redactions' seqs and
    /// the fields they name together (empty: format 1, all).
    redactions: BTreeMap<u64, (Vec<u64>, Vec<Field>)>,
    /// Whether an entry failed (later ones are no longer "proven").
    bad: bool,
}

impl EntryChecker {
    /// A checker for a log whose first operator key is `first_operator_key`
    /// (later ones are learnt from the log's rotations).
    pub fn new(first_operator_key: [u8; 32]) -> Self {
        EntryChecker {
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
            signatures: Signatures::new(OperatorKeys::new(first_operator_key)),
            expected: Expected {
                operator_keys: OperatorKeys::new(first_operator_key),
                ..Expected::default()
            },
            redacted: BTreeMap::new(),
            redactions: BTreeMap::new(),
            bad: false,
        }
    }

    /// Records a problem.
    pub fn problem(&mut self, seq: u64, detail: impl Into<String>) {
        self.report.problems.push(Problem {
            seq,
            detail: detail.into(),
        });
    }

    /// Whether enough problems were found to stop ([`PROBLEMS_MAX`]).
    pub fn is_full(&self) -> bool {
        self.report.problems.len() >= PROBLEMS_MAX
    }

    /// The head as recomputed from the entries checked so far.
    pub fn head(&self) -> Head {
        self.report.head
    }

    /// Checks entry `seq` (the next one) from its stored bytes; the chain
    /// and the tree go on from its actual bytes, so one damaged entry is
    /// reported once, not again for every later one. Returns its record
    /// when it reads and holds.
    pub fn entry(&mut self, seq: u64, bytes: &[u8]) -> Option<Record> {
        self.report.entries += 1;
        let split = match split_entry(bytes) {
            Ok(split) => split,
            Err(e) => {
                self.problem(seq, format!("the entry does not decode: {e}"));
                self.bad = true;
                self.advance(seq, bytes, None);
                return None;
            }
        };
        let record = match self.content(seq, bytes, &split) {
            Ok(record) => Some(record),
            Err(detail) => {
                self.problem(seq, detail);
                self.bad = true;
                None
            }
        };
        // The indexes must still list an entry whose header reads.
        let header = &split.header;
        if let Some(other) = self.expected.event_ids.insert(header.event_id, seq) {
            self.problem(
                seq,
                format!("its event_id {} is entry {other}'s too", header.event_id),
            );
        }
        self.expected
            .streams
            .entry(header.stream.clone())
            .or_default()
            .push(seq);
        let leaf = split.leaf.to_vec();
        self.advance(seq, &leaf, record.clone());
        record
    }

    /// An entry after missing ones: counted and decoded alone (the chain
    /// and the tree cannot go on across the gap).
    pub fn entry_after_gap(&mut self, seq: u64, bytes: &[u8]) {
        self.report.entries += 1;
        self.bad = true;
        let decoded = split_entry(bytes)
            .map_err(|e| e.to_string())
            .and_then(|s| s.record().map(drop).map_err(|e| e.to_string()));
        if let Err(detail) = decoded {
            self.problem(seq, format!("the entry does not decode: {detail}"));
        }
    }

    /// The tree root over the entries checked so far.
    pub fn root(&self) -> Hash {
        self.expected.frontier.root()
    }

    /// Moves the chain and the tree past `seq`.
    fn advance(&mut self, seq: u64, leaf: &[u8], record: Option<Record>) {
        for node in self
            .expected
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
    }

    /// Checks an entry's content and returns its record.
    fn content(
        &mut self,
        seq: u64,
        bytes: &[u8],
        split: &SplitEntry<'_>,
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
                self.redacted.insert(seq, fields.clone());
            }
            Redaction::Legacy => {
                self.report.redacted += 1;
                self.redacted.insert(seq, Vec::new());
            }
        }
        if let Event::EntryRedacted(e) = &record.statement.event {
            let fields = armistice_core::redact::parse_fields(&e.fields).unwrap_or_default();
            let entry = self.redactions.entry(e.target_seq).or_default();
            entry.0.push(seq);
            entry.1.extend(fields);
        }
        match self.signatures.check_bytes(bytes, &record) {
            SignatureStatus::Valid => self.report.signatures_valid += 1,
            SignatureStatus::Invalid(detail) => return Err(detail),
            SignatureStatus::Unsigned | SignatureStatus::Unverifiable => {}
        }
        if let Event::OperatorKeyRotated(e) = &record.statement.event {
            self.expected.operator_keys.rotate(seq, e.public_key.0);
            self.signatures.rotate_operator(seq, e.public_key.0);
        }
        Ok(record)
    }

    /// Ends the check: every redacted entry was redacted by an
    /// `entry_redacted` naming it and exactly those fields, and every
    /// redaction left its target redacted. Returns the report (problems
    /// not yet sorted) and what the rest of the store must say.
    pub fn finish(mut self) -> (VerifyReport, Expected) {
        let redacted = std::mem::take(&mut self.redacted);
        let mut redactions = std::mem::take(&mut self.redactions);
        for (seq, fields) in redacted {
            match redactions.remove(&seq) {
                None => self.problem(seq, "fields are missing from the entry, but no `entry_redacted` removed them: they were deleted outside the log"),
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
        (self.report, self.expected)
    }
}
