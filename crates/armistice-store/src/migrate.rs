//! Rewriting a ledger of storage format 1 into the current layout: the
//! same entries, byte for byte (so the same hashes, proofs and
//! checkpoints), indexed anew. The old database is kept beside the new one
//! (`sled.format1`) until its keeper removes it.

use crate::error::StoreError;
use crate::layout_v1::{is_format_1, Format1};
use crate::ledger::{default_origin, open_tree, Ledger, OpenMode, SLED_DIR};
use armistice_merkle::checkpoint::parse_note;
use std::path::Path;

/// Entries copied per staged call.
const ENTRIES_PER_CALL: u64 = 4096;
/// The folder the new database is built in before it takes the old one's place.
const STAGING_DIR: &str = "migrating";
/// Where the old database is kept.
pub const OLD_SLED_DIR: &str = "sled.format1";

/// What a migration did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Migrated {
    /// Entries copied.
    pub entries: u64,
    /// Signed checkpoints copied (each checked against the new tree).
    pub checkpoints: usize,
    /// The origin the migrated ledger's checkpoints name.
    pub origin: String,
}

/// Migrates the ledger at `path` in place. Fails, leaving the old ledger
/// untouched, when anything does not copy exactly.
pub fn migrate(path: &Path) -> Result<Migrated, StoreError> {
    if !path.join(SLED_DIR).join("db").is_file() {
        return Err(StoreError::NotALedger(path.to_owned()));
    }
    let lock = crate::ledger::lock_folder(path, OpenMode::Write)?;
    let old_dir = path.join(SLED_DIR);
    if !old_dir.join("db").is_file() {
        return Err(StoreError::NotALedger(path.to_owned()));
    }
    let tree = open_tree(&old_dir)?;
    if !is_format_1(&tree)? {
        return Err(StoreError::AlreadyCurrent(path.to_owned()));
    }
    let old = Format1::open(tree)?;
    let staging = path.join(STAGING_DIR);
    if staging.exists() {
        std::fs::remove_dir_all(&staging)?;
    }
    let origin = default_origin(&old.operator);
    let new = Ledger::create(&staging, &old.operator, &origin)?;
    let mut session = new.begin()?;
    let mut seq = 1;
    while seq <= old.head.seq {
        let last = (seq + ENTRIES_PER_CALL - 1).min(old.head.seq);
        let entries = (seq..=last)
            .map(|s| old.entry(s))
            .collect::<Result<Vec<_>, _>>()?;
        session.append_raw(entries)?;
        seq = last + 1;
    }
    let head = session.commit()?;
    if head != old.head {
        return Err(StoreError::corrupt(
            head.seq,
            "the migrated head differs from the old ledger's head marker",
        ));
    }
    for (size, note) in &old.checkpoints {
        let signed = parse_note(note)
            .map_err(|e| StoreError::corrupt(*size, format!("stored checkpoint: {e}")))?;
        new.keep_checkpoint(&signed)?;
    }
    let report = new.verify()?;
    if let Some(problem) = report.first_problem() {
        return Err(StoreError::corrupt(
            problem.seq,
            format!("the migrated ledger does not verify: {}", problem.detail),
        ));
    }
    let migrated = Migrated {
        entries: report.entries,
        checkpoints: old.checkpoints.len(),
        origin,
    };
    drop(new);
    drop(old);
    std::fs::rename(&old_dir, path.join(OLD_SLED_DIR))?;
    std::fs::rename(staging.join(SLED_DIR), &old_dir)?;
    std::fs::rename(
        staging.join(crate::head::HEAD_FILE),
        path.join(crate::head::HEAD_FILE),
    )?;
    std::fs::remove_dir_all(&staging)?;
    std::fs::File::open(path)?.sync_all()?;
    drop(lock);
    Ok(migrated)
}
