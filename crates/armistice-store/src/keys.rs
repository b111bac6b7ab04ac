//! Key layout of the one sled tree: the log and its indexes under one-byte
//! prefixes, so that an entry and everything that indexes it are written by
//! one atomic `apply_batch` (multi-tree transactions cost ~10x).

/// `e` + seq (u64 BE) → leaf || marker || payload.
pub const ENTRY: u8 = b'e';
/// `i` + event_id (16 bytes) → seq (u64 BE): idempotency.
pub const EVENT_ID: u8 = b'i';
/// `s` + stream name + 0x00 + version (u64 BE) → seq (u64 BE).
pub const STREAM: u8 = b's';
/// `o` + occurred_at (order-preserving u64 BE) + seq (u64 BE) → empty.
pub const OCCURRED: u8 = b'o';
/// `a` + agreement id + 0x00 + seq (u64 BE) → empty: the allegations filed
/// under an agreement, so a query about one agreement reads only its streams.
pub const AGREEMENT_CLAIM: u8 = b'a';
/// `m` + level (u8) + index (u64 BE) → 32-byte Merkle node hash.
pub const MERKLE: u8 = b'm';
/// `h` → the committed head: seq (u64 BE) || hash (32) || recorded_at (i64 BE).
/// Entries above it belong to a session that never committed.
pub const HEAD: u8 = b'h';
/// `k` → the operator's Ed25519 public key (32 bytes), set at creation.
pub const OPERATOR: u8 = b'k';
/// `c` + tree size (u64 BE) → a signed checkpoint note.
pub const CHECKPOINT: u8 = b'c';

/// The marker after the leaf: the payload that follows is the original.
pub const PAYLOAD_ORIGINAL: u8 = 0;
/// The marker after the leaf: what follows is the redacted reading copy.
pub const PAYLOAD_REDACTED: u8 = 1;

/// Key of entry `seq`.
pub fn entry(seq: u64) -> [u8; 9] {
    prefixed_u64(ENTRY, seq)
}

/// Key of the idempotency index for `event_id`.
pub fn event_id(id: &uuid::Uuid) -> [u8; 17] {
    let mut key = [0; 17];
    key[0] = EVENT_ID;
    key[1..].copy_from_slice(id.as_bytes());
    key
}

/// Prefix of every index key of `stream`.
pub fn stream_prefix(stream: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(stream.len() + 10);
    key.push(STREAM);
    key.extend_from_slice(stream.as_bytes());
    key.push(0);
    key
}

/// Key of `stream`'s entry at `version`.
pub fn stream(stream: &str, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// Prefix of the allegations filed under `agreement`.
pub fn agreement_claims_prefix(agreement: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(agreement.len() + 10);
    key.push(AGREEMENT_CLAIM);
    key.extend_from_slice(agreement.as_bytes());
    key.push(0);
    key
}

/// Key of the allegation at `seq` under `agreement`.
pub fn agreement_claim(agreement: &str, seq: u64) -> Vec<u8> {
    let mut key = agreement_claims_prefix(agreement);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// Maps an i64 to a u64 with the same order, for big-endian keys.
pub fn ordered_i64(value: i64) -> u64 {
    (value as u64) ^ (1 << 63)
}

/// Key of the occurred_at index.
pub fn occurred(occurred_at_micros: i64, seq: u64) -> [u8; 17] {
    let mut key = [0; 17];
    key[0] = OCCURRED;
    key[1..9].copy_from_slice(&ordered_i64(occurred_at_micros).to_be_bytes());
    key[9..].copy_from_slice(&seq.to_be_bytes());
    key
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_i64_preserves_order() {
        let values = [i64::MIN, -5, -1, 0, 1, 1_742_300_000_000_000, i64::MAX];
        for pair in values.windows(2) {
            assert!(ordered_i64(pair[0]) < ordered_i64(pair[1]));
            assert!(occurred(pair[0], 9) < occurred(pair[1], 1));
        }
    }

    #[test]
    fn stream_keys_sort_by_version_within_a_stream() {
        assert!(stream("claim/a", 2) < stream("claim/a", 10));
        assert!(stream("claim/a", u64::MAX) < stream("claim/a-b", 1));
        assert_eq!(tail_u64(&stream("x", 7)), Some(7));
    }
}
