//! `armistice migrate`: rewrites a ledger of an older storage format into
//! the current one, in place, keeping the old database beside it.

use crate::args::{Global, MigrateArgs};
use crate::keys;
use crate::open::operator_vkey_path;
use crate::outln;
use anyhow::anyhow;
use armistice_merkle::note::NoteVerifier;

/// `armistice migrate`.
pub fn migrate(global: &Global, _args: &MigrateArgs) -> anyhow::Result<()> {
    let path = global.ledger_path();
    let migrated = armistice_store::migrate::migrate(&path)?;
    let ledger = crate::open::open(global, armistice_store::OpenMode::Read)?;
    let verifier = NoteVerifier::new(ledger.origin(), &ledger.operator_public_key())
        .map_err(|e| anyhow!("{e}"))?;
    if !operator_vkey_path(&path).exists() {
        keys::write_verifier(&operator_vkey_path(&path), &verifier)?;
    }
    outln!(
        "migrated {}: {} entries and {} checkpoints, same hashes; verify passes",
        path.display(),
        migrated.entries,
        migrated.checkpoints
    )?;
    outln!("origin: {}", migrated.origin)?;
    outln!("operator key: {verifier}")?;
    outln!(
        "the old database is kept in {}; remove it once you have checked the new one",
        path.join(armistice_store::migrate::OLD_SLED_DIR).display()
    )?;
    Ok(())
}
