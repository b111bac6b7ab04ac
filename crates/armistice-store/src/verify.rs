//! Re-checking a whole ledger: decoding, the hash chain, stream versions,
//! signatures, every index and every stored Merkle node.

use crate::error::StoreError;
use crate::keys;
use crate::ledger::{Head, Ledger};
use armistice_core::entry::{self, decode_payload, sha256, Hash, Header};
use armistice_core::{sign, Event, PartyId, Statement};
use std::collections::HashMap;

/// The outcome of [`Ledger::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// The head after the last good entry.
    pub head: Head,
    /// Signed entries whose signature verified.
    pub signatures_valid: u64,
    /// Redacted entries (their payload digest and signature can no longer be checked).
    pub redacted: u64,
    /// The first thing found wrong, if any.
    pub problem: Option<Problem>,
}

/// Something wrong at one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The first bad seq (0 when the problem is not one entry's, e.g. a stray index key).
    pub seq: u64,
    /// What is wrong.
    pub detail: String,
}

struct Verifier<'a> {
    ledger: &'a Ledger,
    report: VerifyReport,
    versions: HashMap<String, u64>,
    keys: HashMap<PartyId, [u8; 32]>,
    frontier: Vec<(u8, u64, Hash)>,
}

impl Ledger {
    /// Re-checks every entry; the report names the first problem.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut verifier = Verifier {
            ledger: self,
            report: VerifyReport {
                entries: 0,
                head: Head {
                    seq: 0,
                    hash: entry::GENESIS_HASH,
                    recorded_at: armistice_core::Timestamp::MIN,
                },
                signatures_valid: 0,
                redacted: 0,
                problem: None,
            },
            versions: HashMap::new(),
            keys: HashMap::new(),
            frontier: Vec::new(),
        };
        for item in self.raw_entries(1, u64::MAX) {
            let (seq, value) = item?;
            let expected = verifier.report.head.seq + 1;
            let outcome = if seq != expected {
                Err(Problem {
                    seq: expected,
                    detail: format!("entry {expected} is missing (next stored is {seq})"),
                })
            } else {
                verifier.entry(seq, &value)
            };
            if let Err(problem) = outcome {
                verifier.report.problem = Some(problem);
                return Ok(verifier.report);
            }
        }
        if let Err(problem) = verifier.index_counts() {
            verifier.report.problem = Some(problem);
        }
        Ok(verifier.report)
    }
}

impl Verifier<'_> {
    fn entry(&mut self, seq: u64, value: &[u8]) -> Result<(), Problem> {
        let bad = |detail: String| Problem { seq, detail };
        let (header, leaf_len) = Header::decode(value).map_err(|e| bad(e.to_string()))?;
        let leaf = &value[..leaf_len];
        let hash = sha256(leaf);
        let head = self.report.head;
        if header.seq != seq {
            return Err(bad(format!("its header says seq {}", header.seq)));
        }
        if header.prev_hash != head.hash {
            return Err(bad(
                "prev_hash does not match the previous entry's hash: the chain is broken".into(),
            ));
        }
        if header.recorded_at < head.recorded_at {
            return Err(bad(format!(
                "recorded_at {} is earlier than the previous entry's",
                header.recorded_at
            )));
        }
        let version = self.versions.entry(header.stream.clone()).or_insert(0);
        *version += 1;
        if header.version != *version {
            return Err(bad(format!(
                "stream {} version {} should be {}",
                header.stream, header.version, version
            )));
        }
        let statement = self.payload(&header, &value[leaf_len..]).map_err(bad)?;
        entry::check_header_matches(&header, &statement).map_err(bad)?;
        self.signature(
            &header,
            &statement,
            value[leaf_len] == keys::PAYLOAD_REDACTED,
        )
        .map_err(bad)?;
        self.indexes(&header)
            .map_err(|e| bad(e.to_string()))
            .and_then(|r| r.map_err(bad))?;
        self.merkle(seq, leaf).map_err(bad)?;
        self.report.entries += 1;
        self.report.head = Head {
            seq,
            hash,
            recorded_at: header.recorded_at,
        };
        Ok(())
    }

    fn payload(&mut self, header: &Header, rest: &[u8]) -> Result<Statement, String> {
        let (marker, payload) = rest.split_first().ok_or("no payload marker")?;
        match *marker {
            keys::PAYLOAD_ORIGINAL => {
                if sha256(payload) != header.payload_sha256 {
                    return Err("payload does not match its SHA-256 in the header".into());
                }
            }
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
        let key = match header.by.is_operator() {
            true => Some(self.ledger.operator_public_key()),
            false => self.keys.get(&header.by).copied(),
        };
        match (key, &header.signature) {
            (_, Some(_)) if redacted => {}
            (Some(key), Some(signature)) => {
                sign::verify_statement(statement, &key, signature)?;
                self.report.signatures_valid += 1;
            }
            (Some(_), None) => {
                return Err(format!(
                    "unsigned statement by `{}`, which has a registered key",
                    header.by
                ))
            }
            (None, Some(_)) => {
                return Err(format!(
                    "signed statement by `{}`, which had no registered key",
                    header.by
                ))
            }
            _ => {}
        }
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
        Ok(())
    }

    fn indexes(&self, header: &Header) -> Result<Result<(), String>, StoreError> {
        let tree = self.ledger.tree();
        let seq = Some(header.seq);
        if tree
            .get(keys::event_id(&header.event_id))?
            .as_deref()
            .and_then(keys::tail_u64)
            != seq
        {
            return Ok(Err("the event_id index does not point at this entry".into()));
        }
        if tree
            .get(keys::stream(&header.stream, header.version))?
            .as_deref()
            .and_then(keys::tail_u64)
            != seq
        {
            return Ok(Err("the stream index does not point at this entry".into()));
        }
        if !tree.contains_key(keys::occurred(header.occurred_at.micros(), header.seq))? {
            return Ok(Err("the occurred_at index lacks this entry".into()));
        }
        Ok(Ok(()))
    }

    /// Recomputes the complete subtrees this leaf completes and compares
    /// each with the stored node (a compact range: at most 64 hashes held).
    fn merkle(&mut self, seq: u64, leaf: &[u8]) -> Result<(), String> {
        let mut node = (0u8, seq - 1, armistice_merkle::leaf_hash(leaf));
        loop {
            let (level, index, hash) = node;
            let stored = self
                .ledger
                .stored_node(level, index)
                .map_err(|e| e.to_string())?;
            if stored != hash {
                return Err(format!(
                    "stored Merkle node ({level}, {index}) does not match the entries"
                ));
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
                    return Ok(());
                }
            }
        }
    }

    fn index_counts(&self) -> Result<(), Problem> {
        let tree = self.ledger.tree();
        let entries = self.report.entries as usize;
        for (prefix, name) in [
            (keys::EVENT_ID, "event_id"),
            (keys::STREAM, "stream"),
            (keys::OCCURRED, "occurred_at"),
        ] {
            let count = tree.scan_prefix([prefix]).count();
            if count != entries {
                return Err(Problem {
                    seq: 0,
                    detail: format!("the {name} index holds {count} keys for {entries} entries"),
                });
            }
        }
        Ok(())
    }
}
