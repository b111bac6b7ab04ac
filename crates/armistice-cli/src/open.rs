//! Creating and opening the ledger for a command.

use crate::args::{Global, InitArgs};
use crate::keys;
use anyhow::Context;
use armistice_core::Timestamp;
use armistice_store::{Ledger, StoreError};
use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The operator's key file inside a ledger folder.
pub fn operator_key_path(ledger: &Path) -> PathBuf {
    ledger.join("operator.key")
}

/// `armistice init`.
pub fn init(global: &Global, args: &InitArgs) -> anyhow::Result<()> {
    let path = global.ledger_path();
    let key = create(&path, args.operator_key.as_deref())?;
    println!("created ledger {}", path.display());
    println!(
        "operator public key: {}",
        hex::encode(key.verifying_key().to_bytes())
    );
    Ok(())
}

/// Creates a ledger with the given operator key file, or a new key kept
/// inside the ledger folder.
pub fn create(path: &Path, operator_key: Option<&Path>) -> anyhow::Result<SigningKey> {
    let key = match operator_key {
        Some(file) => keys::read_signing_key(file)?,
        None => SigningKey::generate(&mut rand_core::OsRng),
    };
    let ledger = Ledger::create(path, &key.verifying_key().to_bytes())?;
    drop(ledger);
    keys::write_key_pair(&operator_key_path(path), &key)?;
    Ok(key)
}

/// Opens the ledger, waiting for another process when `--wait` allows, and
/// attaches the operator key when the folder holds it.
pub fn open(global: &Global) -> anyhow::Result<Ledger> {
    let path = global.ledger_path();
    let deadline = Instant::now() + Duration::from_secs_f64(global.wait.max(0.0));
    let mut ledger = loop {
        match Ledger::open(&path) {
            Err(StoreError::Busy(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => break other?,
        }
    };
    let key_path = operator_key_path(&path);
    if key_path.exists() {
        let key = keys::read_signing_key(&key_path)?;
        ledger
            .attach_operator_key(key)
            .with_context(|| format!("{}", key_path.display()))?;
    }
    Ok(ledger)
}

/// The ledger's clock: now, in UTC.
pub fn now() -> Timestamp {
    Timestamp::from_datetime(chrono::Utc::now())
}

/// Parses a command-line date (RFC 3339 or YYYY-MM-DD), naming the flag.
pub fn parse_when(flag: &str, text: &str) -> anyhow::Result<Timestamp> {
    Timestamp::parse_date_or_rfc3339(text).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}
