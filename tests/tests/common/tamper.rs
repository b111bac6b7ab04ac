//! Tampering with a closed ledger the way someone with write access to its
//! folder could: by editing the sled tree at `<ledger>/sled` directly and
//! re-chaining what they changed, so that every hash inside sled agrees
//! with every other — only something kept outside sled (the `HEAD` record)
//! or outside the machine (a checkpoint, a mirror) can tell.
//!
//! The operations ([`drop_last_entries`], [`swap_entries`],
//! [`rewrite_last_entry`]) read every entry in seq order, change the list,
//! re-chain it and rebuild everything the layout derives from the entries
//! ([`layout::rebuild`]): the one place to adapt when the layout changes.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use armistice_core::disclose::{commit, encode_disclosures, encode_payload, salts_of};
use armistice_core::entry::{encode_entry, split_entry, Header};
use armistice_core::Statement;
use sha2::{Digest, Sha256};
use std::path::Path;

/// Opens the sled tree of a ledger no process has open.
pub fn open_tree(ledger: &Path) -> sled::Db {
    sled::open(ledger.join("sled")).expect("open the ledger's sled tree")
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Every stored entry's bytes, in seq order (sealed chunks and tail keys).
pub fn entries(db: &sled::Db) -> Vec<Vec<u8>> {
    layout::entries(db)
}

/// Removes the `count` last entries and whatever names them, then
/// re-seals the tree at the new last entry.
pub fn drop_last_entries(ledger: &Path, count: usize) {
    let db = open_tree(ledger);
    let mut all = entries(&db);
    assert!(count < all.len(), "keep at least one entry");
    all.truncate(all.len() - count);
    layout::rebuild(&db, all);
}

/// Swaps the entries at positions `a` and `b` (0-based), then re-chains
/// from the first of them.
pub fn swap_entries(ledger: &Path, a: usize, b: usize) {
    let db = open_tree(ledger);
    let mut all = entries(&db);
    all.swap(a, b);
    let all = rechain(all, a.min(b));
    layout::rebuild(&db, all);
}

/// Rewrites the last entry's statement with `edit` (its salts kept, its
/// commitments and payload digest recomputed), then re-chains it.
pub fn rewrite_last_entry(ledger: &Path, edit: impl FnOnce(&mut Statement)) {
    let db = open_tree(ledger);
    let mut all = entries(&db);
    let last = all.pop().expect("an entry");
    let split = split_entry(&last).expect("the entry splits");
    let record = split.record().expect("the entry decodes");
    let (_, disclosures) = split
        .committed()
        .expect("its body decodes")
        .expect("a format 2 entry");
    let mut statement = record.statement.clone();
    edit(&mut statement);
    let committed = commit(&statement, &salts_of(&disclosures)).expect("re-commit");
    let payload = encode_payload(&committed.payload);
    let mut header = split.header.clone();
    header.payload_sha256 = sha256(&payload);
    all.push(encode_entry(
        &header.encode(),
        &payload,
        &encode_disclosures(&committed.disclosures),
    ));
    let from = all.len() - 1;
    layout::rebuild(&db, rechain(all, from));
}

/// Gives every entry from position `from` on its seq and the previous
/// entry's hash.
fn rechain(mut all: Vec<Vec<u8>>, from: usize) -> Vec<Vec<u8>> {
    for position in from..all.len() {
        let prev = match position {
            0 => [0; 32],
            _ => {
                let (_, leaf_len) = Header::decode(&all[position - 1]).expect("a leaf");
                sha256(&all[position - 1][..leaf_len])
            }
        };
        let (mut header, leaf_len) = Header::decode(&all[position]).expect("a leaf");
        header.seq = position as u64 + 1;
        header.prev_hash = prev;
        let mut value = header.encode();
        value.extend_from_slice(&all[position][leaf_len..]);
        all[position] = value;
    }
    all
}

/// Replaces `needle` by `replacement` in `text`, once.
pub fn replace_text(text: &mut String, needle: &str, replacement: &str) {
    assert!(text.contains(needle), "{needle:?} not found");
    *text = text.replacen(needle, replacement, 1);
}

/// The storage layout (`armistice_store::layout`, `docs/FORMAT.md`): the
/// only part of these helpers that knows it.
pub mod layout {
    use super::sha256;
    use armistice_core::entry::{decode_entry, Header};
    use armistice_store::{chunk, layout as keys};

    /// Every stored entry, in seq order.
    pub fn entries(db: &sled::Db) -> Vec<Vec<u8>> {
        let mut all: Vec<(u64, Vec<u8>)> = Vec::new();
        for item in db.scan_prefix([keys::CHUNK]) {
            let (key, value) = item.expect("read a chunk");
            let index = keys::key_u64(&key, keys::CHUNK).expect("a chunk key");
            for (offset, entry) in chunk::decode(&value)
                .expect("a chunk")
                .into_iter()
                .enumerate()
            {
                all.push((
                    index * keys::CHUNK_ENTRIES + offset as u64 + 1,
                    entry.to_vec(),
                ));
            }
        }
        for item in db.scan_prefix([keys::TAIL]) {
            let (key, value) = item.expect("read a tail entry");
            all.push((
                keys::key_u64(&key, keys::TAIL).expect("a tail key"),
                value.to_vec(),
            ));
        }
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, bytes)| bytes).collect()
    }

    /// Rewrites everything derived from the entries so that it agrees with
    /// `all` again: chunks and tail keys, summaries, event ids, stream
    /// segments, Merkle nodes and the head marker.
    pub fn rebuild(db: &sled::Db, all: Vec<Vec<u8>>) {
        for prefix in [
            keys::CHUNK,
            keys::TAIL,
            keys::SUMMARY,
            keys::EVENT_ID,
            keys::STREAM,
            keys::MERKLE,
        ] {
            for item in db.scan_prefix([prefix]) {
                db.remove(item.expect("read a key").0)
                    .expect("remove a key");
            }
        }
        let records: Vec<_> = all
            .iter()
            .map(|e| decode_entry(e).expect("an entry decodes"))
            .collect();
        let full = all.len() as u64 / keys::CHUNK_ENTRIES;
        for index in 0..full {
            let range = (index * keys::CHUNK_ENTRIES) as usize
                ..((index + 1) * keys::CHUNK_ENTRIES) as usize;
            let slices: Vec<&[u8]> = all[range.clone()].iter().map(Vec::as_slice).collect();
            db.insert(keys::chunk(index), chunk::encode(&slices))
                .expect("write a chunk");
            let summary = chunk::Summary::of(records[range].iter());
            db.insert(keys::summary(index), summary.encode())
                .expect("write a summary");
        }
        for (position, entry) in all
            .iter()
            .enumerate()
            .skip((full * keys::CHUNK_ENTRIES) as usize)
        {
            db.insert(keys::tail(position as u64 + 1), entry.clone())
                .expect("write a tail entry");
        }
        let mut segments: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = Default::default();
        for record in &records {
            let header = &record.header;
            db.insert(
                keys::event_id(&header.event_id),
                header.seq.to_be_bytes().to_vec(),
            )
            .expect("write an event id");
            segments
                .entry(keys::stream_segment(
                    &header.stream,
                    keys::segment_of(header.version),
                ))
                .or_default()
                .extend_from_slice(&header.seq.to_be_bytes());
        }
        for (key, value) in segments {
            db.insert(key, value).expect("write a stream segment");
        }
        let mut level: Vec<[u8; 32]> = all
            .iter()
            .map(|e| {
                let (_, leaf_len) = Header::decode(e).expect("a leaf");
                let mut input = vec![0u8];
                input.extend_from_slice(&e[..leaf_len]);
                sha256(&input)
            })
            .collect();
        for height in 1..64u8 {
            if level.len() < 2 {
                break;
            }
            level = level
                .chunks_exact(2)
                .map(|pair| {
                    let mut input = vec![1u8];
                    input.extend_from_slice(&pair[0]);
                    input.extend_from_slice(&pair[1]);
                    sha256(&input)
                })
                .collect();
            if height >= armistice_store::STORED_LEVEL_MIN {
                for (index, hash) in level.iter().enumerate() {
                    db.insert(keys::merkle(height, index as u64), hash.to_vec())
                        .expect("write a node");
                }
            }
        }
        let last = records.last().expect("an entry");
        let head = armistice_store::Head {
            seq: last.header.seq,
            hash: last.hash,
            recorded_at: last.header.recorded_at,
        };
        db.insert([keys::HEAD], head.encode())
            .expect("write the head marker");
        db.flush().expect("flush sled");
    }
}
