//! Proofs and checkpoints over the tree the `nodes` table keeps (RFC 6962):
//! stored subtrees from level 6 up, lower ones recomputed from one page of
//! leaves, the root at the head straight from the head row's frontier.
//!
//! A checkpoint is kept once per size (the primary key of `checkpoints`):
//! servers signing the same size store one note between them, and a second
//! root for a size (impossible while the log is append-only) is refused.

use crate::append::{decode_frontier, int, seq_of};
use crate::error::{corrupt, database};
use crate::pool::Pooled;
use crate::read::with_reader;
use crate::store::{head_of, PgStore};
use armistice_core::entry::Hash;
use armistice_merkle::checkpoint::{self, Checkpoint, SignedCheckpoint};
use armistice_merkle::{NodeSource, ProofError};
use armistice_store::{InclusionProof, StoreError, STORED_LEVEL_MIN};
use std::cell::RefCell;
use std::collections::HashMap;

/// Leaves read at once to recompute a low node: the aligned block of
/// 2^[`STORED_LEVEL_MIN`] leaves that holds it.
const LEAF_BLOCK: u64 = 1 << STORED_LEVEL_MIN;

/// The tree as the database holds it, read through one connection.
struct PgNodes {
    conn: RefCell<Pooled>,
    /// Leaves that exist (nothing past them is read).
    size: u64,
    /// Leaf hashes read so far, by leaf index.
    leaves: RefCell<HashMap<u64, Hash>>,
}

impl PgNodes {
    fn query<T>(
        &self,
        work: impl FnOnce(&mut Pooled) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut conn = self.conn.borrow_mut();
        work(&mut conn).map_err(|e| {
            conn.mark_broken();
            database(&e)
        })
    }

    /// Reads the leaf hashes of the block holding leaf `index`.
    fn read_block(&self, index: u64) -> Result<(), StoreError> {
        let first = index - index % LEAF_BLOCK;
        let end = (first + LEAF_BLOCK).min(self.size);
        let (from, to) = (int(first + 1)?, int(end)?);
        let rows = self.query(|c| {
            c.query(
                "SELECT seq, substring(bytes FROM 1 FOR armistice.leaf_length(bytes)) \
                 FROM armistice.entries WHERE seq BETWEEN $1 AND $2 ORDER BY seq",
                &[&from, &to],
            )
        })?;
        let mut leaves = self.leaves.borrow_mut();
        for row in rows {
            let seq = seq_of(row.get(0))?;
            let leaf: Vec<u8> = row.get(1);
            leaves.insert(seq - 1, armistice_merkle::leaf_hash(&leaf));
        }
        Ok(())
    }
}

impl NodeSource for PgNodes {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        if level >= STORED_LEVEL_MIN {
            let (at_level, at) = (i16::from(level), int(index)?);
            let row = self.query(|c| {
                c.query_opt(
                    "SELECT hash FROM armistice.nodes WHERE level = $1 AND idx = $2",
                    &[&at_level, &at],
                )
            })?;
            let bytes: Vec<u8> = row
                .ok_or_else(|| corrupt(0, format!("Merkle node ({level}, {index}) is missing")))?
                .get(0);
            return bytes.try_into().map_err(|_| {
                corrupt(0, format!("Merkle node ({level}, {index}) is not 32 bytes"))
            });
        }
        let first = index << level;
        let count = 1u64 << level;
        let missing = |i: &u64| !self.leaves.borrow().contains_key(i);
        if (first..first + count).any(|i| missing(&i)) {
            self.read_block(first)?;
        }
        let leaves = self.leaves.borrow();
        let hashes = (first..first + count)
            .map(|i| {
                leaves.get(&i).copied().ok_or_else(|| {
                    corrupt(
                        i + 1,
                        format!("entries for Merkle node ({level}, {index}) are missing"),
                    )
                })
            })
            .collect::<Result<Vec<Hash>, StoreError>>()?;
        Ok(armistice_merkle::mth(&hashes))
    }
}

fn proof_error(error: ProofError<StoreError>) -> StoreError {
    match error {
        ProofError::Source(inner) => inner,
        other => corrupt(0, format!("Merkle tree: {other}")),
    }
}

impl PgStore {
    fn check_size(&self, size: u64) -> Result<(), StoreError> {
        let len = self.try_head()?.seq;
        if size > len {
            return Err(StoreError::NoSuchEntry { seq: size, len });
        }
        Ok(())
    }

    fn nodes(&self, size: u64) -> Result<PgNodes, StoreError> {
        Ok(PgNodes {
            conn: RefCell::new(self.shared.read_pool.get()?),
            size,
            leaves: RefCell::new(HashMap::new()),
        })
    }

    /// The hash of the complete subtree (`level`, `index`) of committed entries.
    pub fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        let last = index
            .checked_add(1)
            .and_then(|i| i.checked_mul(1u64.checked_shl(u32::from(level))?))
            .ok_or_else(|| corrupt(0, "no such Merkle node"))?;
        self.check_size(last)?;
        self.nodes(last)?.node(level, index)
    }

    /// The tree root over the first `size` entries (at the head, from the
    /// head row's frontier).
    pub fn root(&self, size: u64) -> Result<Hash, StoreError> {
        let row = with_reader(&self.shared.read_pool, |c| {
            c.query_one(
                "SELECT seq, hash, recorded_at, frontier FROM armistice.head",
                &[],
            )
        })?;
        let head = head_of(row.get(0), row.get(1), row.get(2))?;
        if size > head.seq {
            return Err(StoreError::NoSuchEntry {
                seq: size,
                len: head.seq,
            });
        }
        if size == head.seq {
            return Ok(decode_frontier(head.seq, &row.get::<_, Vec<u8>>(3))?.root());
        }
        armistice_merkle::root(size, &self.nodes(size)?).map_err(proof_error)
    }

    /// Proof that entry `seq` is in the tree of `size` entries.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<InclusionProof, StoreError> {
        self.check_size(size)?;
        if seq == 0 || seq > size {
            return Err(StoreError::NoSuchEntry { seq, len: size });
        }
        let nodes = self.nodes(size)?;
        Ok(InclusionProof {
            leaf_index: seq - 1,
            tree_size: size,
            leaf_hash: nodes.node(0, seq - 1)?,
            root_hash: armistice_merkle::root(size, &nodes).map_err(proof_error)?,
            path: armistice_merkle::inclusion_proof(seq - 1, size, &nodes).map_err(proof_error)?,
        })
    }

    /// Proof that the tree of `size2` entries extends the tree of `size1`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, StoreError> {
        self.check_size(size2)?;
        armistice_merkle::consistency_proof(size1, size2, &self.nodes(size2)?).map_err(proof_error)
    }

    /// The signed note for `size` (checked like the sled store's: the key
    /// in force at that size, held here).
    fn signed_note(&self, size: u64) -> Result<SignedCheckpoint, StoreError> {
        let key = self.operator_key().ok_or(StoreError::WrongOperatorKey)?;
        if key.verifying_key().to_bytes() != self.operator_keys().for_checkpoint(size) {
            return Err(StoreError::OldKey { size });
        }
        let note = Checkpoint::new(self.origin.clone(), size, self.root(size)?);
        checkpoint::sign(&note, &self.origin, &key)
            .map_err(|e| corrupt(0, format!("checkpoint: {e}")))
    }

    /// Signs (and keeps) the checkpoint of `size` entries with the operator
    /// key in force at that size. Every server signing a size keeps the
    /// same note (Ed25519 signs deterministically); a stored one with
    /// another root is refused loudly, and so is signing when the tree no
    /// longer matches the newest checkpoint kept.
    pub fn sign_checkpoint(&self, size: u64) -> Result<SignedCheckpoint, StoreError> {
        self.check_size(size)?;
        let signed = self.signed_note(size)?;
        if let Some(latest) = self.latest_checkpoint()? {
            let latest_size = latest.checkpoint.size;
            let root = match self.root(latest_size) {
                // Kept by a server whose read side is ahead of ours.
                Err(StoreError::NoSuchEntry { .. }) => latest.checkpoint.root,
                other => other?,
            };
            if root != latest.checkpoint.root {
                return Err(corrupt(latest_size, format!(
                    "the tree no longer matches the checkpoint signed at size {latest_size}; refusing to sign another"
                )));
            }
        }
        if self.read_only {
            return Ok(signed);
        }
        self.store_checkpoint(&signed)
    }

    /// Signs the checkpoint of `size` entries without keeping it (a receipt's).
    pub fn checkpoint_note(&self, size: u64) -> Result<SignedCheckpoint, StoreError> {
        self.check_size(size)?;
        self.signed_note(size)
    }

    /// Keeps a checkpoint signed elsewhere (a copy keeps its source's).
    pub fn keep_checkpoint(&self, signed: &SignedCheckpoint) -> Result<(), StoreError> {
        let size = signed.checkpoint.size;
        self.check_size(size)?;
        if self.root(size)? != signed.checkpoint.root {
            return Err(corrupt(
                size,
                format!("the checkpoint at size {size} does not match this ledger's tree"),
            ));
        }
        self.check_writable()?;
        self.store_checkpoint(signed).map(drop)
    }

    /// Inserts a checkpoint unless its size has one; returns the one kept.
    fn store_checkpoint(&self, signed: &SignedCheckpoint) -> Result<SignedCheckpoint, StoreError> {
        let size = signed.checkpoint.size;
        let (at, root, note) = (
            int(size)?,
            signed.checkpoint.root.to_vec(),
            signed.to_note(),
        );
        // Two statements: the second one's snapshot sees a row another
        // server committed while the insert waited for it.
        let row = with_reader(&self.shared.write_pool, |c| {
            match c.query_opt(
                "INSERT INTO armistice.checkpoints (size, root, note) VALUES ($1, $2, $3) \
                 ON CONFLICT (size) DO NOTHING RETURNING root, note",
                &[&at, &root, &note],
            )? {
                Some(row) => Ok(row),
                None => c.query_one(
                    "SELECT root, note FROM armistice.checkpoints WHERE size = $1",
                    &[&at],
                ),
            }
        })?;
        let stored_root: Vec<u8> = row.get(0);
        if stored_root != root {
            return Err(corrupt(size, format!(
                "a checkpoint with another root is kept for size {size}: two roots for one size; the log was rewritten"
            )));
        }
        parse_kept(size, &row.get::<_, String>(1))
    }

    /// The checkpoint of the largest size kept.
    fn latest_checkpoint(&self) -> Result<Option<SignedCheckpoint>, StoreError> {
        let row = with_reader(&self.shared.read_pool, |c| {
            c.query_opt(
                "SELECT size, note FROM armistice.checkpoints ORDER BY size DESC LIMIT 1",
                &[],
            )
        })?;
        row.map(|row| parse_kept(seq_of(row.get(0))?, &row.get::<_, String>(1)))
            .transpose()
    }

    /// Every checkpoint kept, by size.
    pub fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let rows = with_reader(&self.shared.read_pool, |c| {
            c.query(
                "SELECT size, note FROM armistice.checkpoints ORDER BY size",
                &[],
            )
        })?;
        rows.into_iter()
            .map(|row| parse_kept(seq_of(row.get(0))?, &row.get::<_, String>(1)))
            .collect()
    }
}

/// A kept note, which must be the checkpoint of its size.
pub(crate) fn parse_kept(size: u64, note: &str) -> Result<SignedCheckpoint, StoreError> {
    let signed = checkpoint::parse_note(note)
        .map_err(|e| corrupt(size, format!("stored checkpoint: {e}")))?;
    if signed.checkpoint.size != size {
        return Err(corrupt(
            size,
            format!(
                "the checkpoint kept for size {size} is of size {}",
                signed.checkpoint.size
            ),
        ));
    }
    Ok(signed)
}
