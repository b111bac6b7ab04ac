//! The storage layout of format 1 (Armistice before the chunked layout),
//! read once by `armistice migrate`: one sled key per entry (`e` + seq →
//! leaf || marker || payload), the head marker `h`, the operator's key `k`
//! (32 bytes) and checkpoints `c` + size. Its index keys are not read: the
//! new layout rebuilds its own from the entries.

use crate::error::StoreError;
use crate::guard::guard;
use crate::types::Head;

const ENTRY: u8 = b'e';
const HEAD: u8 = b'h';
const OPERATOR: u8 = b'k';
const CHECKPOINT: u8 = b'c';

/// What a format 1 ledger holds.
pub struct Format1 {
    /// The committed head.
    pub head: Head,
    /// The operator's public key.
    pub operator: [u8; 32],
    /// The signed checkpoint notes, by size.
    pub checkpoints: Vec<(u64, String)>,
    tree: sled::Db,
}

/// Whether an open tree is in format 1 (it has no format key).
pub fn is_format_1(tree: &sled::Db) -> Result<bool, StoreError> {
    Ok(guard(|| tree.get([crate::layout::FORMAT]))??.is_none())
}

impl Format1 {
    /// Reads the head, key and checkpoints of a format 1 tree.
    pub fn open(tree: sled::Db) -> Result<Format1, StoreError> {
        let head = match guard(|| tree.get([HEAD]))?? {
            None => Head::EMPTY,
            Some(value) => Head::decode(&value)
                .ok_or_else(|| StoreError::corrupt(0, "the head marker is damaged"))?,
        };
        let operator = guard(|| tree.get([OPERATOR]))??
            .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok())
            .ok_or_else(|| StoreError::corrupt(0, "the operator's public key is missing"))?;
        let mut checkpoints = Vec::new();
        for item in guard(|| tree.scan_prefix([CHECKPOINT]))? {
            let (key, value) = guard(|| item)??;
            let size = crate::layout::tail_u64(&key).unwrap_or(0);
            let note = String::from_utf8(value.to_vec())
                .map_err(|_| StoreError::corrupt(size, "stored checkpoint is not text"))?;
            checkpoints.push((size, note));
        }
        Ok(Format1 {
            head,
            operator,
            checkpoints,
            tree,
        })
    }

    /// The stored bytes of committed entry `seq`.
    pub fn entry(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        let mut key = vec![ENTRY];
        key.extend_from_slice(&seq.to_be_bytes());
        guard(|| self.tree.get(&key))??
            .map(|v| v.to_vec())
            .ok_or_else(|| StoreError::corrupt(seq, "the entry is missing from the log"))
    }
}
