//! Reading the log on a second core: one thread walks sled and decodes
//! entries while the caller folds them, so a replay costs the larger of the
//! two rather than their sum.

use crate::error::StoreError;
use crate::keys;
use crate::ledger::{decode_record, Ledger};
use armistice_core::Record;
use std::sync::mpsc::{sync_channel, Receiver};

/// Entries handed over per message.
const RECORDS_PER_BATCH: usize = 512;
/// Batches decoded ahead of the reader at most (bounds memory).
const BATCHES_AHEAD_MAX: usize = 8;

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
    /// The committed entries `from..=to`, as [`Ledger::records`] gives them,
    /// decoded ahead on another thread.
    pub fn records_ahead(&self, from: u64, to: u64) -> RecordStream {
        let to = to.min(self.head().seq);
        let tree = self.tree().clone();
        let (sender, receiver) = sync_channel(BATCHES_AHEAD_MAX);
        std::thread::spawn(move || {
            let mut batch = Vec::with_capacity(RECORDS_PER_BATCH);
            if from <= to {
                for item in tree.range(keys::entry(from)..=keys::entry(to)) {
                    let record = item.map_err(StoreError::from).and_then(|(key, value)| {
                        let seq = keys::tail_u64(&key)
                            .ok_or_else(|| StoreError::corrupt(0, "short entry key"))?;
                        decode_record(seq, &value)
                    });
                    let failed = record.is_err();
                    batch.push(record);
                    if failed || batch.len() == RECORDS_PER_BATCH {
                        let full =
                            std::mem::replace(&mut batch, Vec::with_capacity(RECORDS_PER_BATCH));
                        if sender.send(full).is_err() || failed {
                            return;
                        }
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
}
