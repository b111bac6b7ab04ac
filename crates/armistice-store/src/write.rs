//! Turning a stage into sled writes in the chunked layout, and reading
//! through writes not yet applied (the group commit's waiting batches).
//!
//! Each new entry is written as a `T` (tail) key; the entry that completes
//! a chunk of 64 seals it: the chunk and its summary are written and its
//! tail keys removed, in the same atomic batch. The event-id key and the
//! stream segment go with every entry; Merkle nodes with the entries that
//! complete them.

use crate::chunk::{self, Summary};
use crate::error::StoreError;
use crate::guard::guard;
use crate::layout::{self, CHUNK_ENTRIES, SEGMENT_SEQS};
use crate::stage::{LogView, Stage};
use armistice_core::entry::decode_entry;
use std::collections::BTreeMap;

/// Writes not yet applied to sled: key → value, or `None` for a removal.
/// Later writes to a key replace earlier ones. Keys marked final (the head
/// marker, redactions of committed entries, the operator's keys) land in
/// the last of the batches an overlay is applied in; everything else may
/// land before, since nothing past the head marker is ever read.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    ops: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    finals: std::collections::BTreeSet<Vec<u8>>,
}

/// Keys and values sled takes in one `apply_batch` at most: sled keeps
/// every page a batch touches in memory until the batch ends, so a batch of
/// a whole import would hold gigabytes.
const BATCH_OPS_MAX: usize = 4096;

impl Overlay {
    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Writes `value` at `key`.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.insert(key, Some(value));
    }

    /// Writes `value` at `key`, in the last batch (with the head marker).
    pub fn put_final(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.finals.insert(key.clone());
        self.ops.insert(key, Some(value));
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: Vec<u8>) {
        self.ops.insert(key, None);
    }

    /// Drops whatever this overlay says of `key` (for a key only it holds).
    pub fn forget(&mut self, key: &[u8]) {
        self.ops.remove(key);
    }

    /// What the overlay says of `key`: `Some(None)` when it removes it.
    pub fn get(&self, key: &[u8]) -> Option<Option<&Vec<u8>>> {
        self.ops.get(key).map(Option::as_ref)
    }

    /// The bytes of keys and values written.
    pub fn bytes(&self) -> u64 {
        self.ops
            .iter()
            .map(|(key, value)| (key.len() + value.as_ref().map_or(0, Vec::len)) as u64)
            .sum()
    }

    /// Adds `other`'s writes after these.
    pub fn extend(&mut self, other: Overlay) {
        self.ops.extend(other.ops);
        self.finals.extend(other.finals);
    }
}

/// Applies an overlay to sled in one atomic batch, once the disk is known
/// to have room for it (see [`crate::space`]).
pub fn apply(tree: &sled::Db, dir: &std::path::Path, overlay: &Overlay) -> Result<(), StoreError> {
    crate::space::ensure(dir, overlay.bytes())?;
    let (finals, body): (Vec<_>, Vec<_>) = overlay
        .ops
        .iter()
        .partition(|(key, _)| overlay.finals.contains(*key));
    // In key order: a chunk (`C`) lands before the removal of its tail keys (`T`).
    for part in body.chunks(BATCH_OPS_MAX) {
        apply_part(tree, part)?;
    }
    apply_part(tree, &finals)
}

fn apply_part(tree: &sled::Db, ops: &[(&Vec<u8>, &Option<Vec<u8>>)]) -> Result<(), StoreError> {
    if ops.is_empty() {
        return Ok(());
    }
    let mut batch = sled::Batch::default();
    for (key, value) in ops {
        match value {
            Some(value) => batch.insert(key.as_slice(), value.as_slice()),
            None => batch.remove(key.as_slice()),
        }
    }
    guard(|| tree.apply_batch(batch))??;
    Ok(())
}

/// Reads `key` through `overlay`, then sled.
pub fn get(tree: &sled::Db, overlay: &Overlay, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    match overlay.get(key) {
        Some(value) => Ok(value.cloned()),
        None => Ok(guard(|| tree.get(key))??.map(|v| v.to_vec())),
    }
}

/// An entry's stored bytes through `overlay`: from its sealed chunk, or
/// its tail key. (A chunk sealed between the two reads is read again.)
pub fn entry_bytes(
    tree: &sled::Db,
    overlay: &Overlay,
    seq: u64,
) -> Result<Option<Vec<u8>>, StoreError> {
    if seq == 0 {
        return Ok(None);
    }
    let index = layout::chunk_of(seq);
    let position = ((seq - 1) % CHUNK_ENTRIES) as usize;
    for _ in 0..2 {
        if let Some(value) = get(tree, overlay, &layout::chunk(index))? {
            let entry = chunk::entry_at(&value, position)
                .ok_or_else(|| StoreError::corrupt(seq, format!("chunk {index} is damaged")))?;
            return Ok(Some(entry.to_vec()));
        }
        if let Some(value) = get(tree, overlay, &layout::tail(seq))? {
            return Ok(Some(value));
        }
    }
    Ok(None)
}

/// The seqs of a stream's entries, in version order, through `overlay`.
pub fn stream_seqs(
    tree: &sled::Db,
    overlay: &Overlay,
    stream: &str,
) -> Result<Vec<u64>, StoreError> {
    let mut seqs = Vec::new();
    for segment in 0u32.. {
        let Some(value) = get(tree, overlay, &layout::stream_segment(stream, segment))? else {
            break;
        };
        let part = layout::unpack_seqs(&value).ok_or_else(|| {
            StoreError::corrupt(0, format!("the index of stream {stream} is damaged"))
        })?;
        let full = part.len() as u64 == SEGMENT_SEQS;
        seqs.extend(part);
        if !full {
            break;
        }
    }
    Ok(seqs)
}

/// The writes a stage makes: its entries (tail keys, sealed chunks with
/// their summaries), their event-id keys and stream segments, the Merkle
/// nodes they complete, the operator's key history when it changed and —
/// with the commit only — its redactions of earlier entries.
pub fn stage_ops(
    stage: &Stage,
    view: &crate::ledger::SledView<'_>,
    with_redactions: bool,
) -> Result<Overlay, StoreError> {
    let mut ops = Overlay::default();
    let read = |ops: &Overlay, key: &[u8]| -> Result<Option<Vec<u8>>, StoreError> {
        match ops.get(key) {
            Some(value) => Ok(value.cloned()),
            None => get(view.tree, view.pending, key),
        }
    };
    if with_redactions {
        for (seq, bytes) in &stage.redactions {
            let index = layout::chunk_of(*seq);
            match read(&ops, &layout::chunk(index))? {
                Some(value) => {
                    let mut entries: Vec<Vec<u8>> = chunk::decode(&value)
                        .ok_or_else(|| {
                            StoreError::corrupt(*seq, format!("chunk {index} is damaged"))
                        })?
                        .into_iter()
                        .map(<[u8]>::to_vec)
                        .collect();
                    entries[((seq - 1) % CHUNK_ENTRIES) as usize] = bytes.clone();
                    let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                    ops.put_final(layout::chunk(index).to_vec(), chunk::encode(&slices));
                }
                None => ops.put_final(layout::tail(*seq).to_vec(), bytes.clone()),
            }
        }
    }
    let mut segments: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for staged in &stage.entries {
        let header = &staged.header;
        let seq = header.seq;
        ops.put(layout::tail(seq).to_vec(), staged.bytes.clone());
        ops.put(
            layout::event_id(&header.event_id).to_vec(),
            seq.to_be_bytes().to_vec(),
        );
        let key = layout::stream_segment(&header.stream, layout::segment_of(header.version));
        let segment = match segments.get_mut(&key) {
            Some(segment) => segment,
            None => {
                let current = read(&ops, &key)?.unwrap_or_default();
                segments.entry(key).or_insert(current)
            }
        };
        segment.extend_from_slice(&seq.to_be_bytes());
        if seq.is_multiple_of(CHUNK_ENTRIES) {
            seal(
                &mut ops,
                stage,
                view,
                layout::chunk_of(seq),
                with_redactions,
            )?;
        }
    }
    for (key, segment) in segments {
        ops.put(key, segment);
    }
    for (level, index, hash) in &stage.nodes {
        ops.put(layout::merkle(*level, *index).to_vec(), hash.to_vec());
    }
    ops.put_final(vec![layout::OPERATOR], stage.operator_keys.encode());
    Ok(ops)
}

/// Seals chunk `index`: its 64 entries in one value, its summary, and the
/// removal of their tail keys.
fn seal(
    ops: &mut Overlay,
    stage: &Stage,
    view: &crate::ledger::SledView<'_>,
    index: u64,
    with_redactions: bool,
) -> Result<(), StoreError> {
    let first = index * CHUNK_ENTRIES + 1;
    let staged_first = stage.entries.first().map_or(u64::MAX, |e| e.header.seq);
    let mut entries = Vec::with_capacity(CHUNK_ENTRIES as usize);
    let mut facts = Vec::with_capacity(CHUNK_ENTRIES as usize);
    for seq in first..first + CHUNK_ENTRIES {
        let redacted = stage.redactions.get(&seq).filter(|_| with_redactions);
        let bytes = match (redacted, ops.get(&layout::tail(seq))) {
            (Some(bytes), _) => bytes.clone(),
            (None, Some(Some(bytes))) => bytes.clone(),
            _ => view.entry_bytes(seq)?,
        };
        // What the summary needs: staged entries know it; earlier ones are decoded.
        let staged = seq
            .checked_sub(staged_first)
            .and_then(|i| stage.entries.get(usize::try_from(i).ok()?));
        facts.push(match staged {
            Some(staged) => (staged.header.occurred_at, staged.agreement.clone()),
            None => {
                let record =
                    decode_entry(&bytes).map_err(|e| StoreError::corrupt(seq, e.to_string()))?;
                let agreement = match &record.statement.event {
                    armistice_core::Event::ViolationAlleged(e) => {
                        Some(e.agreement.as_str().to_owned())
                    }
                    _ => None,
                };
                (record.header.occurred_at, agreement)
            }
        });
        entries.push(bytes);
        // A tail key this very stage put exists nowhere else: dropping it
        // costs sled nothing; an earlier one (in sled, or waiting in another
        // batch) needs its removal written.
        if staged.is_some() {
            ops.forget(&layout::tail(seq));
        } else {
            ops.remove(layout::tail(seq).to_vec());
        }
    }
    let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    ops.put(layout::chunk(index).to_vec(), chunk::encode(&slices));
    ops.put(
        layout::summary(index).to_vec(),
        Summary::from_facts(facts).encode(),
    );
    Ok(())
}
