//! Key layout of the one sled tree (format 2 of the store): entries packed
//! 64 to a value, and per-event keys only where a point lookup needs them.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `C` | chunk index (u64 BE) | a sealed chunk: entries 64i+1 … 64i+64 ([`crate::chunk`]) |
//! | `T` | seq (u64 BE) | one entry of the open (unsealed) chunk |
//! | `S` | chunk index (u64 BE) | the sealed chunk's summary ([`crate::chunk::Summary`]) |
//! | `i` | event_id (16 bytes) | seq (u64 BE): idempotency |
//! | `s` | stream, 0x00, segment (u32 BE) | up to 256 seqs (u64 BE each) of the stream's versions 256·segment+1 … |
//! | `m` | level (u8), index (u64 BE) | a complete subtree's hash, levels 6 and up |
//! | `h` | | the committed head: seq (u64 BE), hash (32), recorded_at (i64 BE) |
//! | `k` | | the operator's keys: per key, first seq it signs for (u64 BE) and the 32-byte key |
//! | `o` | | the checkpoint origin (UTF-8) |
//! | `c` | tree size (u64 BE) | a signed checkpoint note |
//! | `f` | | the store format (1 byte: 2) |
//!
//! An entry and everything that indexes it land in one atomic `apply_batch`.

/// `C` + chunk index → sealed chunk.
pub const CHUNK: u8 = b'C';
/// `T` + seq → an entry of the open chunk.
pub const TAIL: u8 = b'T';
/// `S` + chunk index → chunk summary.
pub const SUMMARY: u8 = b'S';
/// `i` + event_id → seq.
pub const EVENT_ID: u8 = b'i';
/// `s` + stream + 0x00 + segment → seqs.
pub const STREAM: u8 = b's';
/// `m` + level + index → node hash.
pub const MERKLE: u8 = b'm';
/// `h` → the committed head.
pub const HEAD: u8 = b'h';
/// `k` → the operator's key history.
pub const OPERATOR: u8 = b'k';
/// `o` → the checkpoint origin.
pub const ORIGIN: u8 = b'o';
/// `c` + size → checkpoint note.
pub const CHECKPOINT: u8 = b'c';
/// `f` → the store format version.
pub const FORMAT: u8 = b'f';

/// The store format written today.
pub const STORE_FORMAT: u8 = 2;

/// Entries per sealed chunk.
pub const CHUNK_ENTRIES: u64 = 64;
/// Seqs per stream-index segment.
pub const SEGMENT_SEQS: u64 = 256;

/// The chunk holding `seq`.
pub fn chunk_of(seq: u64) -> u64 {
    (seq - 1) / CHUNK_ENTRIES
}

/// Key of sealed chunk `index`.
pub fn chunk(index: u64) -> [u8; 9] {
    prefixed_u64(CHUNK, index)
}

/// Key of an open-chunk entry.
pub fn tail(seq: u64) -> [u8; 9] {
    prefixed_u64(TAIL, seq)
}

/// Key of a chunk summary.
pub fn summary(index: u64) -> [u8; 9] {
    prefixed_u64(SUMMARY, index)
}

/// Key of the idempotency index for `event_id`.
pub fn event_id(id: &uuid::Uuid) -> [u8; 17] {
    let mut key = [0; 17];
    key[0] = EVENT_ID;
    key[1..].copy_from_slice(id.as_bytes());
    key
}

/// Key of `stream`'s index segment `segment`.
pub fn stream_segment(stream: &str, segment: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream.len() + 6);
    key.push(STREAM);
    key.extend_from_slice(stream.as_bytes());
    key.push(0);
    key.extend_from_slice(&segment.to_be_bytes());
    key
}

/// The segment holding a stream's `version` (from 1).
pub fn segment_of(version: u64) -> u32 {
    // Versions are bounded by the log's length; 2^32 segments of 256 is far beyond it.
    ((version - 1) / SEGMENT_SEQS) as u32
}

/// Key of a Merkle node.
pub fn merkle(level: u8, index: u64) -> [u8; 10] {
    let mut key = [0; 10];
    key[0] = MERKLE;
    key[1] = level;
    key[2..].copy_from_slice(&index.to_be_bytes());
    key
}

/// Key of the checkpoint for tree `size`.
pub fn checkpoint(size: u64) -> [u8; 9] {
    prefixed_u64(CHECKPOINT, size)
}

fn prefixed_u64(prefix: u8, value: u64) -> [u8; 9] {
    let mut key = [0; 9];
    key[0] = prefix;
    key[1..].copy_from_slice(&value.to_be_bytes());
    key
}

/// Reads a big-endian u64 from the last 8 bytes of `bytes`, if it has them.
pub fn tail_u64(bytes: &[u8]) -> Option<u64> {
    let start = bytes.len().checked_sub(8)?;
    Some(u64::from_be_bytes(bytes[start..].try_into().ok()?))
}

/// Reads a key of the form `prefix` + u64 BE.
pub fn key_u64(key: &[u8], prefix: u8) -> Option<u64> {
    match key {
        [p, rest @ ..] if *p == prefix && rest.len() == 8 => tail_u64(rest),
        _ => None,
    }
}

/// The seqs packed in a stream segment.
pub fn unpack_seqs(value: &[u8]) -> Option<Vec<u64>> {
    if !value.len().is_multiple_of(8) {
        return None;
    }
    Some(value.chunks_exact(8).filter_map(tail_u64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_and_segments_start_at_one() {
        assert_eq!(chunk_of(1), 0);
        assert_eq!(chunk_of(64), 0);
        assert_eq!(chunk_of(65), 1);
        assert_eq!(segment_of(1), 0);
        assert_eq!(segment_of(257), 1);
        assert!(stream_segment("claim/a", 2) < stream_segment("claim/a", 10));
        assert!(stream_segment("claim/a", u32::MAX) < stream_segment("claim/a-b", 0));
        assert_eq!(key_u64(&chunk(7), CHUNK), Some(7));
        assert_eq!(key_u64(&chunk(7), TAIL), None);
        assert_eq!(unpack_seqs(&[0, 0, 0, 0, 0, 0, 0, 5]), Some(vec![5]));
        assert_eq!(unpack_seqs(&[1]), None);
    }
}
