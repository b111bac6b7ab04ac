//! Sealed chunks: 64 consecutive entries in one sled value, and the summary
//! a query reads to skip whole chunks.
//!
//! A chunk is the entries' stored bytes, each preceded by its length (u32
//! BE). A summary holds the earliest and latest `occurred_at` of the chunk's
//! entries (µs, i64 BE each) and the agreements its allegations are filed
//! under (a count, u16 BE, then each id as a length byte and UTF-8), so that
//! `--at` queries and questions about one agreement read only the chunks
//! that can matter.

use crate::layout::CHUNK_ENTRIES;
use armistice_core::{Event, Record, Timestamp};

/// Encodes 64 entries' bytes as one chunk value.
pub fn encode(entries: &[&[u8]]) -> Vec<u8> {
    debug_assert_eq!(entries.len() as u64, CHUNK_ENTRIES);
    let total: usize = entries.iter().map(|e| e.len() + 4).sum();
    let mut out = Vec::with_capacity(total);
    for entry in entries {
        // An entry is bounded by the body limit plus its leaf, far below 4 GiB.
        out.extend_from_slice(&(entry.len() as u32).to_be_bytes());
        out.extend_from_slice(entry);
    }
    out
}

/// The entries of a chunk value, in order; `None` when the value is not a
/// well-formed chunk of 64 entries.
pub fn decode(value: &[u8]) -> Option<Vec<&[u8]>> {
    let mut entries = Vec::with_capacity(CHUNK_ENTRIES as usize);
    let mut rest = value;
    while !rest.is_empty() {
        let (len, after) = rest.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > after.len() {
            return None;
        }
        let (entry, after) = after.split_at(len);
        entries.push(entry);
        rest = after;
    }
    (entries.len() as u64 == CHUNK_ENTRIES).then_some(entries)
}

/// The entry at position `index` (0..64) of a chunk value, without
/// splitting the others.
pub fn entry_at(value: &[u8], index: usize) -> Option<&[u8]> {
    let mut rest = value;
    for position in 0..=index {
        let (len, after) = rest.split_first_chunk::<4>()?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > after.len() {
            return None;
        }
        let (entry, after) = after.split_at(len);
        if position == index {
            return Some(entry);
        }
        rest = after;
    }
    None
}

/// What a query needs to know of a sealed chunk without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The earliest `occurred_at` among its entries.
    pub occurred_min: Timestamp,
    /// The latest `occurred_at` among its entries.
    pub occurred_max: Timestamp,
    /// The agreements its allegations are filed under, sorted, once each.
    pub agreements: Vec<String>,
}

impl Summary {
    /// The summary of a chunk's records.
    pub fn of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Summary {
        Summary::from_facts(records.into_iter().map(|record| {
            let agreement = match &record.statement.event {
                Event::ViolationAlleged(e) => Some(e.agreement.as_str().to_owned()),
                _ => None,
            };
            (record.header.occurred_at, agreement)
        }))
    }

    /// The summary of a chunk from each entry's `occurred_at` and, for an
    /// allegation, its agreement.
    pub fn from_facts(facts: impl IntoIterator<Item = (Timestamp, Option<String>)>) -> Summary {
        let mut summary = Summary {
            occurred_min: Timestamp::MAX,
            occurred_max: Timestamp::MIN,
            agreements: Vec::new(),
        };
        for (at, agreement) in facts {
            summary.occurred_min = summary.occurred_min.min(at);
            summary.occurred_max = summary.occurred_max.max(at);
            summary.agreements.extend(agreement);
        }
        summary.agreements.sort();
        summary.agreements.dedup();
        summary
    }

    /// The stored bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(18 + self.agreements.len() * 16);
        out.extend_from_slice(&self.occurred_min.micros().to_be_bytes());
        out.extend_from_slice(&self.occurred_max.micros().to_be_bytes());
        // At most 64 distinct agreements in 64 entries.
        out.extend_from_slice(&(self.agreements.len() as u16).to_be_bytes());
        for agreement in &self.agreements {
            // Agreement ids are at most 64 bytes (see armistice_core::ids).
            out.push(agreement.len() as u8);
            out.extend_from_slice(agreement.as_bytes());
        }
        out
    }

    /// Reads stored bytes; `None` when they are not a summary.
    pub fn decode(bytes: &[u8]) -> Option<Summary> {
        let (min, rest) = bytes.split_first_chunk::<8>()?;
        let (max, rest) = rest.split_first_chunk::<8>()?;
        let (count, mut rest) = rest.split_first_chunk::<2>()?;
        let mut agreements = Vec::with_capacity(usize::from(u16::from_be_bytes(*count)));
        for _ in 0..u16::from_be_bytes(*count) {
            let (len, after) = rest.split_first()?;
            let len = usize::from(*len);
            if len > after.len() {
                return None;
            }
            let (id, after) = after.split_at(len);
            agreements.push(String::from_utf8(id.to_vec()).ok()?);
            rest = after;
        }
        rest.is_empty().then_some(Summary {
            occurred_min: Timestamp(i64::from_be_bytes(*min)),
            occurred_max: Timestamp(i64::from_be_bytes(*max)),
            agreements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_round_trip_and_refuse_damage() {
        let owned: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; usize::from(i)]).collect();
        let entries: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
        let value = encode(&entries);
        assert_eq!(decode(&value).unwrap(), entries);
        assert_eq!(entry_at(&value, 17), Some(&owned[17][..]));
        assert_eq!(entry_at(&value, 64), None);
        assert!(decode(&value[..value.len() - 1]).is_none());
        let mut longer = value.clone();
        longer.extend_from_slice(&[0, 0, 0, 0]);
        assert!(decode(&longer).is_none());
    }

    #[test]
    fn summaries_round_trip() {
        let summary = Summary {
            occurred_min: Timestamp(-3),
            occurred_max: Timestamp(9),
            agreements: vec!["a".into(), "energy-2025".into()],
        };
        assert_eq!(Summary::decode(&summary.encode()), Some(summary.clone()));
        assert!(Summary::decode(&summary.encode()[..5]).is_none());
    }
}
