//! Reading committed entries: one by one, in ranges (sealed chunks read
//! whole, in key order), decoded ahead on the second core, by stream, by
//! agreement (through the chunk summaries) and by date.

use crate::chunk::{self, Summary};
use crate::error::StoreError;
use crate::guard::guard;
use crate::layout::{self, CHUNK_ENTRIES};
use crate::ledger::Ledger;
use crate::write::{self, Overlay};
use armistice_core::entry::{decode_entry_unchecked, Header, Record};
use armistice_core::Timestamp;
use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver};

/// Entries handed over per message by [`Ledger::records_ahead`].
const RECORDS_PER_BATCH: usize = 512;
/// Batches decoded ahead of the reader at most (bounds memory).
const BATCHES_AHEAD_MAX: usize = 8;

/// Decodes a stored entry for reading, checking it is the one asked for
/// (its disclosures are not re-hashed: `verify` proves them).
pub fn decode_record(seq: u64, bytes: &[u8]) -> Result<Record, StoreError> {
    let record =
        decode_entry_unchecked(bytes).map_err(|e| StoreError::corrupt(seq, e.to_string()))?;
    if record.header.seq != seq {
        return Err(StoreError::corrupt(
            seq,
            format!("its header says seq {}", record.header.seq),
        ));
    }
    Ok(record)
}

/// Committed entries `seq..=to` in order, as (seq, stored bytes): sealed
/// chunks from one range scan, the open chunk's entries one by one.
pub struct Entries {
    tree: sled::Db,
    seq: u64,
    to: u64,
    chunks: std::iter::Peekable<sled::Iter>,
    buffered: VecDeque<(u64, Vec<u8>)>,
    failed: bool,
}

impl Entries {
    fn new(tree: sled::Db, from: u64, to: u64) -> Self {
        let from = from.max(1);
        let start = layout::chunk(layout::chunk_of(from));
        let end = layout::chunk(u64::MAX);
        let chunks = tree.range(start..end).peekable();
        Entries {
            tree,
            seq: from,
            to,
            chunks,
            buffered: VecDeque::new(),
            failed: false,
        }
    }

    fn fill(&mut self) -> Result<(), StoreError> {
        let wanted = layout::chunk_of(self.seq);
        // Skip chunks before the one wanted (none, normally).
        while let Some(Ok((key, _))) = self.chunks.peek() {
            match layout::key_u64(key, layout::CHUNK) {
                Some(index) if index < wanted => {
                    self.chunks.next();
                }
                _ => break,
            }
        }
        let sealed = matches!(
            self.chunks.peek(),
            Some(Ok((key, _))) if layout::key_u64(key, layout::CHUNK) == Some(wanted)
        );
        if sealed {
            let (_, value) = guard(|| self.chunks.next())?
                .ok_or_else(|| StoreError::corrupt(self.seq, "chunk vanished"))??;
            let entries = chunk::decode(&value).ok_or_else(|| {
                StoreError::corrupt(self.seq, format!("chunk {wanted} is damaged"))
            })?;
            let first = wanted * CHUNK_ENTRIES + 1;
            for (offset, bytes) in entries.into_iter().enumerate() {
                let seq = first + offset as u64;
                if seq >= self.seq && seq <= self.to {
                    self.buffered.push_back((seq, bytes.to_vec()));
                }
            }
            return Ok(());
        }
        match write::entry_bytes(&self.tree, &Overlay::default(), self.seq)? {
            Some(bytes) => {
                self.buffered.push_back((self.seq, bytes));
                Ok(())
            }
            None => Err(StoreError::corrupt(
                self.seq,
                "the entry is missing from the log",
            )),
        }
    }
}

impl Iterator for Entries {
    type Item = Result<(u64, Vec<u8>), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.seq > self.to {
            return None;
        }
        if self.buffered.is_empty() {
            if let Err(e) = self.fill() {
                self.failed = true;
                return Some(Err(e));
            }
        }
        let item = self.buffered.pop_front()?;
        self.seq = item.0 + 1;
        Some(Ok(item))
    }
}

/// Committed entries in seq order, decoded by a background thread.
/// Dropping it early stops the thread at its next hand-over.
pub struct RecordStream {
    receiver: Receiver<Vec<Result<Record, StoreError>>>,
    current: std::vec::IntoIter<Result<Record, StoreError>>,
}

impl Iterator for RecordStream {
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

impl Ledger {
    fn check_seq(&self, seq: u64) -> Result<(), StoreError> {
        let len = self.head().seq;
        if seq == 0 || seq > len {
            return Err(StoreError::NoSuchEntry { seq, len });
        }
        Ok(())
    }

    /// The stored bytes of committed entry `seq`.
    pub fn entry_bytes(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        self.check_seq(seq)?;
        write::entry_bytes(&self.tree, &Overlay::default(), seq)?
            .ok_or_else(|| StoreError::corrupt(seq, "the entry is missing from the log"))
    }

    /// The committed entry at `seq`.
    pub fn record(&self, seq: u64) -> Result<Record, StoreError> {
        decode_record(seq, &self.entry_bytes(seq)?)
    }

    /// The header of committed entry `seq`, without decoding its body.
    pub fn record_header(&self, seq: u64) -> Result<Header, StoreError> {
        let bytes = self.entry_bytes(seq)?;
        Header::decode(&bytes)
            .map(|(header, _)| header)
            .map_err(|e| StoreError::corrupt(seq, e.to_string()))
    }

    /// The stored bytes of committed entries `from..=to`, in order.
    pub fn entries(&self, from: u64, to: u64) -> Entries {
        Entries::new(self.tree.clone(), from, to.min(self.head().seq))
    }

    /// The committed entries `from..=to`, in order, decoded lazily.
    pub fn records(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<Record, StoreError>> + '_ {
        self.entries(from, to)
            .map(|item| item.and_then(|(seq, bytes)| decode_record(seq, &bytes)))
    }

    /// The committed entries `from..=to`, decoded ahead on another thread.
    pub fn records_ahead(&self, from: u64, to: u64) -> RecordStream {
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
        RecordStream {
            receiver,
            current: Vec::new().into_iter(),
        }
    }

    /// The committed seqs of `stream` (`claim/X`), in version order.
    pub fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError> {
        let head = self.head().seq;
        let mut seqs = write::stream_seqs(&self.tree, &Overlay::default(), stream)?;
        seqs.retain(|seq| *seq <= head);
        Ok(seqs)
    }

    /// Every committed entry of `stream`, in version order.
    pub fn stream_records(&self, stream: &str) -> Result<Vec<Record>, StoreError> {
        self.stream_seqs(stream)?
            .into_iter()
            .map(|seq| self.record(seq))
            .collect()
    }

    /// Every committed entry of every party's stream, in seq order (who
    /// the parties are, their roles and keys).
    pub fn party_records(&self) -> Result<Vec<Record>, StoreError> {
        let head = self.head().seq;
        let mut seqs = Vec::new();
        let prefix: Vec<u8> = [layout::STREAM].iter().chain(b"party/").copied().collect();
        for item in guard(|| self.tree.scan_prefix(&prefix))? {
            let (_, value) = guard(|| item)??;
            seqs.extend(layout::unpack_seqs(&value).unwrap_or_default());
        }
        seqs.retain(|seq| *seq <= head);
        seqs.sort_unstable();
        seqs.dedup();
        seqs.into_iter().map(|seq| self.record(seq)).collect()
    }

    /// Every committed entry a question about one agreement needs, in seq
    /// order: the parties, the agreement's own stream, and the streams of
    /// the claims filed under it (found through the chunk summaries).
    pub fn agreement_records(&self, agreement: &str) -> Result<Vec<Record>, StoreError> {
        let head = self.head().seq;
        let mut seqs = Vec::new();
        let prefix: Vec<u8> = [layout::STREAM].iter().chain(b"party/").copied().collect();
        for item in guard(|| self.tree.scan_prefix(&prefix))? {
            let (_, value) = guard(|| item)??;
            seqs.extend(layout::unpack_seqs(&value).unwrap_or_default());
        }
        seqs.extend(self.stream_seqs(&format!("agreement/{agreement}"))?);
        let mut claims = std::collections::BTreeSet::new();
        for record in self.chunks_with_agreement(agreement, head)? {
            if let armistice_core::Event::ViolationAlleged(e) = &record.statement.event {
                if e.agreement.as_str() == agreement {
                    claims.insert(record.header.stream.clone());
                }
            }
        }
        for claim in claims {
            seqs.extend(self.stream_seqs(&claim)?);
        }
        seqs.retain(|seq| *seq <= head);
        seqs.sort_unstable();
        seqs.dedup();
        seqs.into_iter().map(|seq| self.record(seq)).collect()
    }

    /// The records of the sealed chunks whose summary names `agreement`,
    /// and of the open chunk, up to `head`.
    fn chunks_with_agreement(&self, agreement: &str, head: u64) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        let mut sealed_to = 0;
        for item in guard(|| self.tree.scan_prefix([layout::SUMMARY]))? {
            let (key, value) = guard(|| item)??;
            let index = layout::key_u64(&key, layout::SUMMARY)
                .ok_or_else(|| StoreError::corrupt(0, "a chunk summary key is damaged"))?;
            let summary = Summary::decode(&value).ok_or_else(|| {
                StoreError::corrupt(index * CHUNK_ENTRIES + 1, "a chunk summary is damaged")
            })?;
            let last = (index + 1) * CHUNK_ENTRIES;
            if last > head {
                break;
            }
            sealed_to = last;
            if summary
                .agreements
                .binary_search(&agreement.to_owned())
                .is_ok()
            {
                for record in self.records(index * CHUNK_ENTRIES + 1, last) {
                    out.push(record?);
                }
            }
        }
        for record in self.records(sealed_to + 1, head) {
            out.push(record?);
        }
        Ok(out)
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

    /// The committed entries up to `last` that occurred at or before `at`,
    /// and every party's entries (readers name the parties of an agreement
    /// proposed before they were registered), in seq order, read through the
    /// chunk summaries (only the chunks holding such an entry are read) —
    /// when at most `max` entries are to be read that way; `None` when more
    /// (reading the log in order is then cheaper).
    pub fn records_occurred_by(
        &self,
        at: Timestamp,
        last: u64,
        max: u64,
    ) -> Result<Option<Vec<Record>>, StoreError> {
        let mut chunks = Vec::new();
        let mut sealed_to = 0;
        for item in guard(|| self.tree.scan_prefix([layout::SUMMARY]))? {
            let (key, value) = guard(|| item)??;
            let index = layout::key_u64(&key, layout::SUMMARY)
                .ok_or_else(|| StoreError::corrupt(0, "a chunk summary key is damaged"))?;
            let first = index * CHUNK_ENTRIES + 1;
            if first > last {
                break;
            }
            sealed_to = (index + 1) * CHUNK_ENTRIES;
            let summary = Summary::decode(&value)
                .ok_or_else(|| StoreError::corrupt(first, "a chunk summary is damaged"))?;
            if summary.occurred_min <= at {
                chunks.push(index);
                if chunks.len() as u64 * CHUNK_ENTRIES > max {
                    return Ok(None);
                }
            }
        }
        let mut out = Vec::new();
        let mut keep = |record: Record| {
            if record.header.occurred_at <= at {
                out.push(record);
            }
        };
        for index in chunks {
            let first = index * CHUNK_ENTRIES + 1;
            for record in self.records(first, (first + CHUNK_ENTRIES - 1).min(last)) {
                keep(record?);
            }
        }
        for record in self.records(sealed_to + 1, last) {
            keep(record?);
        }
        let mut party_seqs = Vec::new();
        let prefix: Vec<u8> = [layout::STREAM].iter().chain(b"party/").copied().collect();
        for item in guard(|| self.tree.scan_prefix(&prefix))? {
            let (_, value) = guard(|| item)??;
            party_seqs.extend(layout::unpack_seqs(&value).unwrap_or_default());
        }
        party_seqs.retain(|seq| *seq <= last);
        let present: std::collections::HashSet<u64> = out.iter().map(|r| r.header.seq).collect();
        for seq in party_seqs {
            if !present.contains(&seq) {
                out.push(self.record(seq)?);
            }
        }
        out.sort_by_key(|r| r.header.seq);
        Ok(Some(out))
    }
}
