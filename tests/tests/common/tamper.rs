//! Tampering with a closed ledger the way someone with write access to its
//! folder, but not the operator's key, could: by editing the sled tree at
//! `<ledger>/sled` directly and re-chaining what they changed, so that every
//! hash inside sled agrees with every other.
//!
//! The operations ([`drop_last_entries`], [`swap_entries`],
//! [`rewrite_last_entry`]) work on "the entries" generically: the keys under
//! one prefix, in key order, one per seq. What they must know of today's
//! layout to re-chain (where the leaf keeps its seq and hashes, which index
//! keys name a seq, the head marker, the Merkle nodes) lives in [`layout`]
//! only: adapt that module when the storage layout changes.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use sha2::{Digest, Sha256};
use std::path::Path;

/// Opens the sled tree of a ledger no process has open.
pub fn open_tree(ledger: &Path) -> sled::Db {
    sled::open(ledger.join("sled")).expect("open the ledger's sled tree")
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The entries' keys and values, in key order (= seq order).
pub fn entries(db: &sled::Db) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.scan_prefix(layout::ENTRY_PREFIX)
        .map(|item| {
            let (key, value) = item.expect("read an entry");
            (key.to_vec(), value.to_vec())
        })
        .collect()
}

/// Removes the `count` entries with the highest keys, and whatever names
/// them, then re-seals the tree at the new last entry.
pub fn drop_last_entries(ledger: &Path, count: usize) {
    let db = open_tree(ledger);
    let all = entries(&db);
    assert!(count < all.len(), "keep at least one entry");
    let keep = all.len() - count;
    for (key, value) in &all[keep..] {
        layout::forget(&db, value);
        db.remove(key).expect("remove an entry");
    }
    layout::reseal(&db);
    db.flush().expect("flush sled");
}

/// Swaps the stored entries at positions `a` and `b` (0-based, in key
/// order), then re-chains from the first of them.
pub fn swap_entries(ledger: &Path, a: usize, b: usize) {
    let db = open_tree(ledger);
    let all = entries(&db);
    for (_, value) in [&all[a], &all[b]] {
        layout::forget(&db, value);
    }
    db.insert(&all[a].0, all[b].1.clone()).expect("swap");
    db.insert(&all[b].0, all[a].1.clone()).expect("swap");
    layout::rechain(&db, a.min(b));
    layout::reseal(&db);
    db.flush().expect("flush sled");
}

/// Rewrites the last entry's payload with `edit` (which must keep it
/// decodable), then re-chains it.
pub fn rewrite_last_entry(ledger: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let db = open_tree(ledger);
    let all = entries(&db);
    let (key, value) = all.last().expect("an entry");
    let mut changed = value.clone();
    layout::edit_payload(&mut changed, edit);
    db.insert(key, changed).expect("rewrite the entry");
    layout::rechain(&db, all.len() - 1);
    layout::reseal(&db);
    db.flush().expect("flush sled");
}

/// Replaces `needle` by `replacement` (same length) in `bytes`, once.
pub fn replace_bytes(bytes: &mut [u8], needle: &[u8], replacement: &[u8]) {
    assert_eq!(
        needle.len(),
        replacement.len(),
        "same length keeps encodings valid"
    );
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)));
    bytes[at..at + needle.len()].copy_from_slice(replacement);
}

/// Today's layout (see `docs/FORMAT.md` and `armistice-store/src/keys.rs`):
/// the only part of these helpers to adapt when the storage layout changes.
pub mod layout {
    use super::{entries, sha256};

    /// Entries: `e` + seq (u64 BE) → leaf || marker || payload.
    pub const ENTRY_PREFIX: &[u8] = b"e";
    const EVENT_ID: u8 = b'i';
    const STREAM: u8 = b's';
    const OCCURRED: u8 = b'o';
    const MERKLE: u8 = b'm';
    const HEAD: u8 = b'h';
    /// Merkle nodes are stored from this level up.
    const STORED_LEVEL_MIN: u32 = 4;

    // Leaf offsets (FORMAT.md, "The leaf (entry header), version 1").
    const FLAGS: usize = 1;
    const SEQ: usize = 3;
    const RECORDED_AT: usize = 11;
    const OCCURRED_AT: usize = 19;
    const EVENT_ID_AT: usize = 27;
    const VERSION: usize = 43;
    const PREV_HASH: usize = 51;
    const PAYLOAD_SHA256: usize = 83;
    const STREAM_AT: usize = 115;

    fn u64_at(bytes: &[u8], at: usize) -> u64 {
        u64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
    }

    /// The length of the leaf at the start of a stored entry.
    pub fn leaf_len(value: &[u8]) -> usize {
        let stream_len = value[STREAM_AT] as usize;
        let by_at = STREAM_AT + 1 + stream_len;
        let by_len = value[by_at] as usize;
        let signature = if value[FLAGS] & 0b10 != 0 { 64 } else { 0 };
        by_at + 1 + by_len + signature
    }

    fn stream(value: &[u8]) -> &[u8] {
        &value[STREAM_AT + 1..STREAM_AT + 1 + value[STREAM_AT] as usize]
    }

    fn seq(value: &[u8]) -> u64 {
        u64_at(value, SEQ)
    }

    /// Applies `edit` to the payload and updates the leaf's payload digest.
    pub fn edit_payload(value: &mut Vec<u8>, edit: impl FnOnce(&mut Vec<u8>)) {
        let leaf = leaf_len(value);
        assert_eq!(value[leaf], 0, "an original payload, not a redacted copy");
        let mut payload = value.split_off(leaf + 1);
        edit(&mut payload);
        value[PAYLOAD_SHA256..PAYLOAD_SHA256 + 32].copy_from_slice(&sha256(&payload));
        value.extend_from_slice(&payload);
    }

    fn index_keys(value: &[u8]) -> [Vec<u8>; 3] {
        let seq = seq(value);
        let mut event_id = vec![EVENT_ID];
        event_id.extend_from_slice(&value[EVENT_ID_AT..EVENT_ID_AT + 16]);
        let mut stream_key = vec![STREAM];
        stream_key.extend_from_slice(stream(value));
        stream_key.push(0);
        stream_key.extend_from_slice(&value[VERSION..VERSION + 8]);
        let mut occurred = vec![OCCURRED];
        let micros = u64_at(value, OCCURRED_AT) ^ (1 << 63);
        occurred.extend_from_slice(&micros.to_be_bytes());
        occurred.extend_from_slice(&seq.to_be_bytes());
        [event_id, stream_key, occurred]
    }

    /// Removes the index keys that point at the entry `value` (the `a`
    /// index keys an allegation by agreement and seq; the tests move or drop
    /// claims of one agreement only, whose `a` keys the reseal keeps right).
    pub fn forget(db: &sled::Db, value: &[u8]) {
        for key in index_keys(value) {
            db.remove(key).expect("remove an index key");
        }
    }

    /// Rewrites every entry from position `from` on with its seq and the
    /// previous entry's hash, and its index keys.
    pub fn rechain(db: &sled::Db, from: usize) {
        let all = entries(db);
        for (position, (key, value)) in all.iter().enumerate().skip(from) {
            let mut value = value.clone();
            let seq = position as u64 + 1;
            value[SEQ..SEQ + 8].copy_from_slice(&seq.to_be_bytes());
            let prev = match position {
                0 => [0; 32],
                _ => {
                    let before = db
                        .get(&all[position - 1].0)
                        .expect("read")
                        .expect("the previous entry");
                    sha256(&before[..leaf_len(&before)])
                }
            };
            value[PREV_HASH..PREV_HASH + 32].copy_from_slice(&prev);
            for index in index_keys(&value) {
                let target = if index[0] == OCCURRED {
                    Vec::new()
                } else {
                    seq.to_be_bytes().to_vec()
                };
                db.insert(index, target).expect("write an index key");
            }
            db.insert(key, value).expect("write an entry");
        }
    }

    /// Makes everything derived from the entries agree with them again: the
    /// Merkle nodes of every complete subtree, the agreement index past the
    /// end, and the head marker.
    pub fn reseal(db: &sled::Db) {
        let all = entries(db);
        let leaves: Vec<[u8; 32]> = all
            .iter()
            .map(|(_, value)| {
                let mut input = vec![0u8];
                input.extend_from_slice(&value[..leaf_len(value)]);
                sha256(&input)
            })
            .collect();
        for item in db.scan_prefix([MERKLE]) {
            let (key, _) = item.expect("read a node");
            db.remove(key).expect("remove a node");
        }
        let mut level_hashes = leaves.clone();
        for level in 1..=63u32 {
            if level_hashes.len() < 2 {
                break;
            }
            level_hashes = level_hashes
                .chunks_exact(2)
                .map(|pair| {
                    let mut input = vec![1u8];
                    input.extend_from_slice(&pair[0]);
                    input.extend_from_slice(&pair[1]);
                    sha256(&input)
                })
                .collect();
            if level >= STORED_LEVEL_MIN {
                for (index, hash) in level_hashes.iter().enumerate() {
                    let mut key = vec![MERKLE, level as u8];
                    key.extend_from_slice(&(index as u64).to_be_bytes());
                    db.insert(key, hash.to_vec()).expect("write a node");
                }
            }
        }
        // Allegations past the new end leave the agreement index.
        let last = all.len() as u64;
        for item in db.scan_prefix(b"a") {
            let (key, _) = item.expect("read an index key");
            let seq = u64::from_be_bytes(key[key.len() - 8..].try_into().expect("8 bytes"));
            if seq > last {
                db.remove(key).expect("remove an index key");
            }
        }
        let (_, head) = all.last().expect("an entry");
        let mut marker = Vec::with_capacity(48);
        marker.extend_from_slice(&last.to_be_bytes());
        marker.extend_from_slice(&sha256(&head[..leaf_len(head)]));
        marker.extend_from_slice(&head[RECORDED_AT..RECORDED_AT + 8]);
        db.insert([HEAD], marker).expect("write the head marker");
    }
}
