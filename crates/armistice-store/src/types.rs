//! The values the store's callers pass in and get back.

use armistice_core::entry::{self, Hash};
use armistice_core::Timestamp;
use uuid::Uuid;

/// The newest entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Its seq (0 for an empty log).
    pub seq: u64,
    /// Its hash ([`entry::GENESIS_HASH`] for an empty log).
    pub hash: Hash,
    /// Its recorded_at (`Timestamp::MIN` for an empty log).
    pub recorded_at: Timestamp,
}

impl Head {
    /// The head of an empty log.
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: entry::GENESIS_HASH,
        recorded_at: Timestamp::MIN,
    };

    /// The stored form: seq (u64 BE) || hash (32) || recorded_at (i64 BE).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.hash);
        out.extend_from_slice(&self.recorded_at.micros().to_be_bytes());
        out
    }

    /// Reads the stored form.
    pub fn decode(bytes: &[u8]) -> Option<Head> {
        let bytes: &[u8; 48] = bytes.try_into().ok()?;
        let (seq, rest) = bytes.split_first_chunk::<8>()?;
        let (hash, recorded_at) = rest.split_first_chunk::<32>()?;
        Some(Head {
            seq: u64::from_be_bytes(*seq),
            hash: *hash,
            recorded_at: Timestamp(i64::from_be_bytes(recorded_at.try_into().ok()?)),
        })
    }
}

/// How to append a batch.
#[derive(Clone, Copy, Debug)]
pub struct AppendOptions {
    /// The system clock now. The ledger's clock never runs backwards: a
    /// new entry is recorded at the later of this and the last `recorded_at`,
    /// and "in the future" is judged against that same time.
    pub now: Timestamp,
    /// Whether lines may carry `recorded_at` and `hash` (migration, `import --backfill`).
    pub backfill: bool,
}

/// What an append did with one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Where it is in the log.
    pub seq: u64,
    /// Its id.
    pub event_id: Uuid,
    /// Its stream.
    pub stream: String,
    /// Its version in the stream.
    pub version: u64,
    /// Its hash.
    pub hash: Hash,
    /// True when it was already stored (same id, same content) and nothing was added.
    pub duplicate: bool,
}

/// The operator's keys along the log: each signs the operator statements
/// from its first seq on, and the checkpoints of every size from one below
/// it (a checkpoint that includes a rotation is signed by the new key).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorKeys {
    keys: Vec<(u64, [u8; 32])>,
}

impl OperatorKeys {
    /// The history of a new ledger: one key, from seq 1.
    pub fn new(first: [u8; 32]) -> Self {
        OperatorKeys {
            keys: vec![(1, first)],
        }
    }

    /// The key that signs an operator statement at `seq`.
    pub fn for_statement(&self, seq: u64) -> [u8; 32] {
        self.keys
            .iter()
            .rev()
            .find(|(from, _)| *from <= seq)
            .or(self.keys.first())
            .map(|(_, key)| *key)
            .unwrap_or([0; 32])
    }

    /// The key that signs the checkpoint of `size` entries.
    pub fn for_checkpoint(&self, size: u64) -> [u8; 32] {
        self.for_statement(size.saturating_add(1))
    }

    /// The newest key.
    pub fn current(&self) -> [u8; 32] {
        self.keys.last().map(|(_, key)| *key).unwrap_or([0; 32])
    }

    /// Every key with its first seq.
    pub fn all(&self) -> &[(u64, [u8; 32])] {
        &self.keys
    }

    /// Records a rotation appended at `seq`: the new key signs from `seq + 1`.
    pub fn rotate(&mut self, seq: u64, key: [u8; 32]) {
        self.keys.retain(|(from, _)| *from <= seq);
        self.keys.push((seq + 1, key));
    }

    /// Forgets the rotations of entries after `head` (a rolled-back session's).
    pub fn truncate(&mut self, head: u64) {
        self.keys
            .retain(|(from, _)| *from == 1 || *from <= head + 1);
    }

    /// The stored form: per key, first seq (u64 BE) and the key.
    pub fn encode(&self) -> Vec<u8> {
        self.keys
            .iter()
            .flat_map(|(from, key)| from.to_be_bytes().into_iter().chain(*key))
            .collect()
    }

    /// Reads the stored form (also a bare 32-byte key, as format 1 stored it).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if let Ok(key) = <[u8; 32]>::try_from(bytes) {
            return Some(OperatorKeys::new(key));
        }
        if bytes.is_empty() || !bytes.len().is_multiple_of(40) {
            return None;
        }
        let keys: Vec<(u64, [u8; 32])> = bytes
            .chunks_exact(40)
            .filter_map(|part| {
                let (from, key) = part.split_first_chunk::<8>()?;
                Some((u64::from_be_bytes(*from), key.try_into().ok()?))
            })
            .collect();
        let ordered = keys.first().is_some_and(|(from, _)| *from == 1)
            && keys.windows(2).all(|w| w[0].0 < w[1].0);
        ordered.then_some(OperatorKeys { keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_and_key_histories_round_trip() {
        let head = Head {
            seq: 9,
            hash: [3; 32],
            recorded_at: Timestamp(-1),
        };
        assert_eq!(Head::decode(&head.encode()), Some(head));
        let mut keys = OperatorKeys::new([1; 32]);
        keys.rotate(10, [2; 32]);
        assert_eq!(keys.for_statement(10), [1; 32]);
        assert_eq!(keys.for_statement(11), [2; 32]);
        assert_eq!(keys.for_checkpoint(9), [1; 32]);
        assert_eq!(keys.for_checkpoint(10), [2; 32]);
        assert_eq!(OperatorKeys::decode(&keys.encode()), Some(keys.clone()));
        assert_eq!(
            OperatorKeys::decode(&[1; 32]),
            Some(OperatorKeys::new([1; 32]))
        );
        keys.truncate(10);
        assert_eq!(keys.current(), [2; 32]);
        keys.truncate(9);
        assert_eq!(keys.current(), [1; 32]);
    }
}
