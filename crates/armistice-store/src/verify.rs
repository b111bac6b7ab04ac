//! Re-checking everything a ledger stores: every entry (decoding, the hash
//! chain, stream versions, payload digests, signatures), every index key,
//! every stored Merkle node, the head marker and the signed checkpoints.

use crate::error::StoreError;
use crate::keys;
use crate::ledger::{Head, Ledger};
use crate::tree::STORED_LEVEL_MIN;
use armistice_core::entry::{self, decode_payload, sha256, Hash, Header};
use armistice_core::{sign, Event, PartyId, Statement, Timestamp};
use std::collections::HashMap;

/// Most problems one report lists; past it, verification stops.
pub const PROBLEMS_MAX: usize = 100;

/// The outcome of [`Ledger::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// The head as recomputed from the entries.
    pub head: Head,
    /// Signed entries whose signature verified.
    pub signatures_valid: u64,
    /// Redacted entries (their payload digest and signature can no longer be checked).
    pub redacted: u64,
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
    /// The bad seq, or 0 when no one entry is concerned (a stray index key).
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
    /// Signed, but the payload was redacted, so it cannot be checked again.
    Unverifiable,
    /// Wrong: forged, missing where a key was registered, or signed without a key.
    Invalid(String),
}

/// Follows party keys along the log (registrations and rotations) and
/// checks each entry's signature against the key its author had then.
pub struct Signatures {
    operator: [u8; 32],
    keys: HashMap<PartyId, [u8; 32]>,
}

impl Signatures {
    /// A tracker for a ledger whose operator key is `operator`.
    pub fn new(operator: [u8; 32]) -> Self {
        Signatures {
            operator,
            keys: HashMap::new(),
        }
    }

    /// Checks the entry, then learns any key it registers or rotates in.
    /// Entries must come in `seq` order.
    pub fn check(
        &mut self,
        header: &Header,
        statement: &Statement,
        redacted: bool,
    ) -> SignatureStatus {
        let key = match header.by.is_operator() {
            true => Some(self.operator),
            false => self.keys.get(&header.by).copied(),
        };
        let status = match (key, &header.signature) {
            (_, Some(_)) if redacted => SignatureStatus::Unverifiable,
            (Some(key), Some(signature)) => {
                match sign::verify_statement(statement, &key, signature) {
                    Ok(()) => SignatureStatus::Valid,
                    Err(e) => SignatureStatus::Invalid(e),
                }
            }
            (Some(_), None) => SignatureStatus::Invalid(format!(
                "unsigned statement by `{}`, which has a registered key",
                header.by
            )),
            (None, Some(_)) => SignatureStatus::Invalid(format!(
                "signed statement by `{}`, which had no registered key",
                header.by
            )),
            (None, None) => SignatureStatus::Unsigned,
        };
        match &statement.event {
            Event::PartyRegistered(e) => {
                if let Some(key) = e.public_key {
                    self.keys.insert(e.party.clone(), key.0);
                }
            }
            Event::PartyKeyRotated(e) => {
                self.keys.insert(header.by.clone(), e.public_key.0);
            }
            _ => {}
        }
        status
    }
}

struct Verifier<'a> {
    ledger: &'a Ledger,
    report: VerifyReport,
    versions: HashMap<String, u64>,
    signatures: Signatures,
    frontier: Vec<(u8, u64, Hash)>,
    /// What each entry's index keys must say, by seq - 1: the indexes are
    /// then checked in one sequential scan each (random reads cost ~10x).
    facts: Vec<IndexFacts>,
    /// Every complete subtree's hash, recomputed from the entries, by level.
    nodes: Vec<Vec<Hash>>,
}

/// What the index keys of one entry must hold.
struct IndexFacts {
    /// For an allegation, the hash of its agreement's id.
    agreement: Option<u64>,
    event_id: [u8; 16],
    occurred_at: i64,
    stream: u64,
    version: u64,
}

fn stream_hash(stream: &[u8]) -> u64 {
    use std::hash::{Hash as _, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    stream.hash(&mut hasher);
    hasher.finish()
}

impl Ledger {
    /// Re-checks everything stored; the report lists what is wrong, first bad seq first.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let empty = Head {
            seq: 0,
            hash: entry::GENESIS_HASH,
            recorded_at: Timestamp::MIN,
        };
        let mut verifier = Verifier {
            ledger: self,
            report: VerifyReport {
                entries: 0,
                head: empty,
                signatures_valid: 0,
                redacted: 0,
                problems: Vec::new(),
            },
            versions: HashMap::new(),
            signatures: Signatures::new(self.operator_public_key()),
            frontier: Vec::new(),
            facts: Vec::new(),
            nodes: Vec::new(),
        };
        let scanned = std::thread::scope(|scope| {
            // The indexes are read on the other core while this one checks the entries.
            let indexes = scope.spawn(|| read_index_keys(self.tree()));
            let entries = verifier.entries();
            let indexes = indexes
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            entries.and(indexes)
        })?;
        if verifier.report.problems.len() >= PROBLEMS_MAX {
            return Ok(verifier.report);
        }
        verifier.whole_ledger(scanned)?;
        // First bad seq first; problems of the ledger as a whole last.
        verifier
            .report
            .problems
            .sort_by_key(|p| (p.seq == 0, p.seq));
        Ok(verifier.report)
    }
}

/// The index keys as stored, in compact form, read by one sequential scan each.
#[derive(Default)]
struct IndexKeys {
    event_ids: Vec<(Option<[u8; 16]>, Option<u64>)>,
    occurred: Vec<(Option<u64>, Option<u64>)>,
    streams: Vec<(u64, Option<u64>, Option<u64>)>,
    agreements: Vec<(u64, Option<u64>)>,
    merkle: Vec<(usize, usize, Option<Hash>)>,
}

/// Reads every index key (runs beside the entry pass, on another core).
fn read_index_keys(tree: &sled::Db) -> Result<IndexKeys, StoreError> {
    let mut out = IndexKeys::default();
    for item in tree.scan_prefix([keys::EVENT_ID]) {
        let (key, value) = item?;
        out.event_ids.push((
            key.get(1..).and_then(|b| b.try_into().ok()),
            keys::tail_u64(&value),
        ));
    }
    for item in tree.scan_prefix([keys::OCCURRED]) {
        let key = item?.0;
        let occurred = key
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(|b| u64::from_be_bytes(b) ^ (1 << 63));
        out.occurred.push((occurred, keys::tail_u64(&key)));
    }
    for item in tree.scan_prefix([keys::STREAM]) {
        let (key, value) = item?;
        let stream = &key[1..key.len().saturating_sub(9)];
        out.streams.push((
            stream_hash(stream),
            keys::tail_u64(&key),
            keys::tail_u64(&value),
        ));
    }
    for item in tree.scan_prefix([keys::AGREEMENT_CLAIM]) {
        let key = item?.0;
        let agreement = &key[1..key.len().saturating_sub(9)];
        out.agreements
            .push((stream_hash(agreement), keys::tail_u64(&key)));
    }
    for item in tree.scan_prefix([keys::MERKLE]) {
        let (key, value) = item?;
        let level = usize::from(key.get(1).copied().unwrap_or(u8::MAX));
        let index = keys::tail_u64(&key).unwrap_or(u64::MAX) as usize;
        out.merkle
            .push((level, index, value.as_ref().try_into().ok()));
    }
    Ok(out)
}

/// Reports the entries no index key pointed at.
fn missing(problems: &mut Vec<(u64, String)>, seen: &[bool], detail: &str) {
    for (i, _) in seen
        .iter()
        .enumerate()
        .filter(|(_, seen)| !**seen)
        .take(PROBLEMS_MAX)
    {
        problems.push((i as u64 + 1, detail.to_owned()));
    }
}

impl Verifier<'_> {
    /// Checks every stored entry, committed or not (an entry past the head
    /// marker is itself a problem), until the problems reach the limit.
    fn entries(&mut self) -> Result<(), StoreError> {
        for item in self
            .ledger
            .tree()
            .range(keys::entry(0)..=keys::entry(u64::MAX))
        {
            let (key, value) = item?;
            let expected = self.report.head.seq + 1;
            // Only `e` + a big-endian seq from 1 is an entry key; anything else
            // in the range (a seq 0, a longer key) was put there by hand.
            let seq = match keys::tail_u64(&key) {
                Some(seq) if key.len() == keys::entry(0).len() && seq >= expected => seq,
                _ => {
                    self.problem(
                        0,
                        format!("a stray key {key:?} is stored among the entries"),
                    );
                    continue;
                }
            };
            if seq != expected {
                self.problem(
                    expected,
                    format!("entry {expected} is missing (the next one stored is {seq})"),
                );
                // Keep the positions of later entries: stand-ins for the gap.
                for missing in expected..seq.min(expected + PROBLEMS_MAX as u64) {
                    self.placeholder(missing, &[]);
                }
                if seq > expected + PROBLEMS_MAX as u64 {
                    return Ok(());
                }
            }
            self.entry(seq, &value)?;
            if self.report.problems.len() >= PROBLEMS_MAX {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Keeps the bookkeeping aligned past an entry that cannot be read: its
    /// bytes stand in for the leaf (so the stored tree nodes above it are
    /// reported as not matching), and its index facts match nothing.
    fn placeholder(&mut self, seq: u64, value: &[u8]) {
        self.report.entries += u64::from(!value.is_empty());
        self.facts.push(IndexFacts {
            agreement: None,
            event_id: [0; 16],
            occurred_at: i64::MIN,
            stream: 0,
            version: 0,
        });
        self.merkle(seq, value);
        self.report.head.seq = seq;
        self.report.head.hash = sha256(value);
    }

    fn problem(&mut self, seq: u64, detail: String) {
        self.report.problems.push(Problem { seq, detail });
    }

    /// Checks one entry; the chain and tree go on from its actual bytes, so
    /// one damaged entry is reported once, not again for every later one.
    fn entry(&mut self, seq: u64, value: &[u8]) -> Result<(), StoreError> {
        self.report.entries += 1;
        let (header, leaf_len) = match Header::decode(value) {
            Ok(decoded) => decoded,
            Err(e) => {
                self.problem(seq, format!("the entry does not decode: {e}"));
                self.placeholder(seq, value);
                return Ok(());
            }
        };
        let leaf = &value[..leaf_len];
        let agreement = match self.content(seq, &header, &value[leaf_len..]) {
            Ok(agreement) => agreement,
            Err(detail) => {
                self.problem(seq, detail);
                None
            }
        };
        self.facts.push(IndexFacts {
            agreement,
            event_id: *header.event_id.as_bytes(),
            occurred_at: header.occurred_at.micros(),
            stream: stream_hash(header.stream.as_bytes()),
            version: header.version,
        });
        self.merkle(seq, leaf);
        self.report.head = Head {
            seq,
            hash: sha256(leaf),
            recorded_at: header.recorded_at,
        };
        Ok(())
    }

    /// Checks an entry's content; returns, for an allegation, the hash of
    /// its agreement's id (which the agreement index must hold).
    fn content(&mut self, seq: u64, header: &Header, rest: &[u8]) -> Result<Option<u64>, String> {
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
        let version = match self.versions.get_mut(&header.stream) {
            Some(version) => version,
            None => self.versions.entry(header.stream.clone()).or_insert(0),
        };
        *version += 1;
        if header.version != *version {
            return Err(format!(
                "stream {} version {} should be {version}",
                header.stream, header.version
            ));
        }
        let redacted = rest.first() == Some(&keys::PAYLOAD_REDACTED);
        let statement = self.payload(header, rest)?;
        entry::check_header_matches(header, &statement)?;
        self.signature(header, &statement, redacted)?;
        Ok(match &statement.event {
            Event::ViolationAlleged(e) => Some(stream_hash(e.agreement.as_str().as_bytes())),
            _ => None,
        })
    }

    fn payload(&mut self, header: &Header, rest: &[u8]) -> Result<Statement, String> {
        let (marker, payload) = rest.split_first().ok_or("no payload marker")?;
        match *marker {
            keys::PAYLOAD_ORIGINAL if sha256(payload) != header.payload_sha256 => {
                return Err("payload does not match its SHA-256 in the header".into())
            }
            keys::PAYLOAD_ORIGINAL => {}
            keys::PAYLOAD_REDACTED => self.report.redacted += 1,
            other => return Err(format!("unknown payload marker {other}")),
        }
        decode_payload(header.schema, payload).map_err(|e| e.to_string())
    }

    fn signature(
        &mut self,
        header: &Header,
        statement: &Statement,
        redacted: bool,
    ) -> Result<(), String> {
        match self.signatures.check(header, statement, redacted) {
            SignatureStatus::Valid => self.report.signatures_valid += 1,
            SignatureStatus::Invalid(detail) => return Err(detail),
            SignatureStatus::Unsigned | SignatureStatus::Unverifiable => {}
        }
        Ok(())
    }

    /// Recomputes the complete subtrees this leaf completes (a compact
    /// range holds at most 64 hashes) and keeps them for the node scan.
    fn merkle(&mut self, seq: u64, leaf: &[u8]) {
        let mut node = (0u8, seq - 1, armistice_merkle::leaf_hash(leaf));
        loop {
            let (level, index, hash) = node;
            // Only the stored levels are kept for the node scan.
            if level >= STORED_LEVEL_MIN {
                let level_index = usize::from(level);
                while self.nodes.len() <= level_index {
                    self.nodes.push(Vec::new());
                }
                self.nodes[level_index].push(hash);
            }
            match self.frontier.last() {
                Some(&(l, i, left)) if l == level && i + 1 == index => {
                    self.frontier.pop();
                    node = (
                        level + 1,
                        index / 2,
                        armistice_merkle::node_hash(&left, &hash),
                    );
                }
                _ => {
                    self.frontier.push(node);
                    return;
                }
            }
        }
    }

    /// Checks each index, read in one sequential scan (by another thread,
    /// while this one checked the entries): every key must point at an entry
    /// that says the same, and every entry must be pointed at once.
    fn index_scans(&mut self, scanned: IndexKeys) -> Result<(), StoreError> {
        let len = self.facts.len();
        let fact = |seq: Option<u64>| {
            seq.filter(|s| *s >= 1 && *s as usize <= len)
                .map(|s| s as usize - 1)
        };
        let mut problems = Vec::new();
        let mut check = |seen: &mut Vec<bool>,
                         seq: Option<u64>,
                         matches: &dyn Fn(&IndexFacts) -> bool,
                         what: &str| {
            match fact(seq) {
                Some(i) if matches(&self.facts[i]) && !seen[i] => seen[i] = true,
                _ => problems.push((
                    seq.unwrap_or(0),
                    format!("{what} index key does not match its entry"),
                )),
            }
        };
        let mut seen_ids = vec![false; len];
        for (id, seq) in &scanned.event_ids {
            check(
                &mut seen_ids,
                *seq,
                &|f| Some(f.event_id) == *id,
                "an event_id",
            );
        }
        let mut seen_occurred = vec![false; len];
        for (occurred, seq) in &scanned.occurred {
            check(
                &mut seen_occurred,
                *seq,
                &|f| Some(f.occurred_at as u64) == *occurred,
                "an occurred_at",
            );
        }
        let mut seen_streams = vec![false; len];
        for (stream, version, seq) in &scanned.streams {
            check(
                &mut seen_streams,
                *seq,
                &|f| f.stream == *stream && Some(f.version) == *version,
                "a stream",
            );
        }
        let mut seen_agreements: Vec<bool> =
            self.facts.iter().map(|f| f.agreement.is_none()).collect();
        for (agreement, seq) in &scanned.agreements {
            check(
                &mut seen_agreements,
                *seq,
                &|f| f.agreement == Some(*agreement),
                "an agreement",
            );
        }
        missing(
            &mut problems,
            &seen_ids,
            "the event_id index lacks this entry",
        );
        missing(
            &mut problems,
            &seen_occurred,
            "the occurred_at index lacks this entry",
        );
        missing(
            &mut problems,
            &seen_streams,
            "the stream index lacks this entry",
        );
        missing(
            &mut problems,
            &seen_agreements,
            "the agreement index lacks this allegation",
        );
        let stored = scanned.merkle.len();
        for (level, index, value) in &scanned.merkle {
            let (level, index) = (*level, *index);
            let computed = self
                .nodes
                .get(level)
                .and_then(|nodes| nodes.get(index))
                .filter(|_| level >= usize::from(STORED_LEVEL_MIN));
            if computed.is_none() || computed != value.as_ref() {
                let seq = (index as u64 + 1) << level.min(63);
                problems.push((
                    seq.min(len as u64),
                    format!("stored Merkle node ({level}, {index}) does not match the entries"),
                ));
            }
        }
        let expected: usize = self.nodes.iter().map(Vec::len).sum();
        if stored != expected {
            problems.push((
                0,
                format!("{stored} Merkle nodes are stored for {expected} expected"),
            ));
        }
        problems.sort();
        problems.dedup();
        for (seq, detail) in problems.into_iter().take(PROBLEMS_MAX) {
            self.problem(seq, detail);
        }
        Ok(())
    }

    /// What no single entry covers: the head marker, key counts, stray
    /// keys, the operator key, extra sled trees and the checkpoints.
    fn whole_ledger(&mut self, scanned: IndexKeys) -> Result<(), StoreError> {
        let tree = self.ledger.tree();
        let head = self.report.head;
        if self.ledger.head() != head {
            self.problem(
                0,
                format!(
                    "the head marker says seq {} but the entries end at seq {}",
                    self.ledger.head().seq,
                    head.seq
                ),
            );
        }
        self.index_scans(scanned)?;
        let known = [
            keys::AGREEMENT_CLAIM,
            keys::ENTRY,
            keys::EVENT_ID,
            keys::STREAM,
            keys::OCCURRED,
            keys::MERKLE,
            keys::CHECKPOINT,
            keys::HEAD,
            keys::OPERATOR,
        ];
        for item in tree.iter().keys() {
            let key = item?;
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

    fn checkpoints(&mut self) -> Result<(), StoreError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.ledger.operator_public_key())
            .map_err(|_| StoreError::corrupt(0, "the operator's public key is not valid"))?;
        for signed in self.ledger.checkpoints()? {
            let size = signed.checkpoint.size;
            if signed.verify(&self.ledger.origin(), &key).is_err() {
                self.problem(
                    0,
                    format!("the checkpoint at size {size} is not signed by the operator"),
                );
            } else if size > self.report.head.seq {
                self.problem(0, format!("a checkpoint was signed at size {size}, beyond the log's end: entries were removed"));
            } else if self.ledger.root(size)? != signed.checkpoint.root {
                self.problem(size, format!("the tree no longer matches the checkpoint signed at size {size}: history was rewritten"));
            }
        }
        Ok(())
    }
}

impl Ledger {
    /// Re-checks the hash chain from entry 1 to `to`: each entry decodes,
    /// links to the one before, and holds the payload its digest names.
    /// Returns the first problem, if any (what `audit` reports as `chain_ok`).
    pub fn verify_chain(&self, to: u64) -> Result<Option<Problem>, StoreError> {
        let mut prev = entry::GENESIS_HASH;
        for (expected, item) in (1..).zip(self.raw_entries(1, to)) {
            let (seq, value) = item?;
            let bad = |detail: String| Ok(Some(Problem { seq, detail }));
            if seq != expected {
                return bad(format!("entry {expected} is missing"));
            }
            let Ok((header, leaf_len)) = Header::decode(&value) else {
                return bad("the entry does not decode".into());
            };
            if header.prev_hash != prev {
                return bad(
                    "prev_hash does not match the previous entry's hash: the chain is broken"
                        .into(),
                );
            }
            let rest = &value[leaf_len..];
            if rest.first() == Some(&keys::PAYLOAD_ORIGINAL)
                && sha256(&rest[1..]) != header.payload_sha256
            {
                return bad("payload does not match its SHA-256 in the header".into());
            }
            prev = sha256(&value[..leaf_len]);
        }
        Ok(None)
    }
}
