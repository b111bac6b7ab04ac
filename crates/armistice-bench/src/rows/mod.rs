//! The rows of the table, grouped by what they exercise.

pub mod durable;
pub mod import;
pub mod memory;
pub mod read;
pub mod server;

use crate::gen::Rng;
use anyhow::Context;
use armistice_store::Ledger;
use ed25519_dalek::SigningKey;
use std::path::Path;

/// A new ledger at `path` whose operator key comes from the seed, attached.
pub fn create_ledger(path: &Path, seed: u64) -> anyhow::Result<Ledger> {
    let key = SigningKey::from_bytes(&Rng::new(seed ^ 0x6b65_7973).bytes32());
    let ledger = Ledger::create(
        path,
        &key.verifying_key().to_bytes(),
        "bench.example/ledger",
    )
    .with_context(|| format!("creating a ledger at {}", path.display()))?;
    ledger.attach_operator_key(key)?;
    Ok(ledger)
}
