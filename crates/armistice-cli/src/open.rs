//! Creating and opening the ledger for a command, and rotating its operator key.

use crate::args::{Global, InitArgs, RotateOperatorKeyArgs};
use crate::keys;
use crate::outln;
use anyhow::{anyhow, bail, Context};
use armistice_core::json::parse_line;
use armistice_core::Timestamp;
use armistice_merkle::note::{NoteSigner, NoteVerifier};
use armistice_store::{default_origin, AppendOptions, Ledger, OpenMode, StoreError};
use ed25519_dalek::SigningKey;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The operator's secret key file inside a ledger folder.
pub fn operator_key_path(ledger: &Path) -> PathBuf {
    ledger.join("operator.key")
}

/// The bearer token file for operator statements over the network (`serve`).
pub fn operator_token_path(ledger: &Path) -> PathBuf {
    ledger.join("operator.token")
}

/// Writes a fresh random token (mode 0600): what `serve` asks of operator statements.
pub fn write_operator_token(path: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    let mut token = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut token);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(file, "{}", hex::encode(token))?;
    file.sync_all()?;
    Ok(())
}

/// The operator's verifier key file inside a ledger folder.
pub fn operator_vkey_path(ledger: &Path) -> PathBuf {
    ledger.join("operator.vkey")
}

/// `armistice init`.
pub fn init(global: &Global, args: &InitArgs) -> anyhow::Result<()> {
    let path = global.ledger_path();
    let verifier = match &args.operator_vkey {
        Some(vkey) => create_copy(&path, vkey, args.origin.as_deref())?,
        None => {
            if args.operator_key.is_some() && args.origin.is_none() {
                eprintln!("armistice: warning: the origin is the key's name; if this key already signs another ledger, give each ledger its own --origin, or two logs will sign different roots under one name");
            }
            create(&path, args.operator_key.as_deref(), args.origin.as_deref())?.verifier()
        }
    };
    outln!("created ledger {}", path.display())?;
    outln!("origin: {}", verifier.name())?;
    outln!("operator key: {verifier}")?;
    if args.operator_vkey.is_some() {
        outln!(
            "this is a copy: it checks the operator's statements and checkpoints and signs none"
        )?;
    } else {
        outln!(
            "operator token for `serve`: {} (mode 0600)",
            operator_token_path(&path).display()
        )?;
    }
    Ok(())
}

/// Creates a ledger kept by the operator whose secret key is in `operator_key`
/// (a new key when absent); the key is kept in the folder, named after the origin.
pub fn create(
    path: &Path,
    operator_key: Option<&Path>,
    origin: Option<&str>,
) -> anyhow::Result<NoteSigner> {
    let (key, key_name) = match operator_key {
        Some(file) => {
            let signer = keys::read_signer(file, "armistice")?;
            let name = signer.name().to_owned();
            (signer.signing_key().clone(), Some(name))
        }
        None => (SigningKey::generate(&mut rand_core::OsRng), None),
    };
    let public = key.verifying_key().to_bytes();
    let origin = match (origin, key_name) {
        (Some(origin), _) => origin.to_owned(),
        (None, Some(name)) => name,
        (None, None) => default_origin(&public),
    };
    let signer = NoteSigner::new(&origin, key).map_err(|e| anyhow!("--origin: {e}"))?;
    drop(Ledger::create(path, &public, &origin)?);
    keys::write_secret(&operator_key_path(path), &signer)?;
    keys::write_verifier(&operator_vkey_path(path), &signer.verifier())?;
    write_operator_token(&operator_token_path(path))?;
    Ok(signer)
}

/// Creates a copy of another ledger: it knows the operator's verifier key only.
fn create_copy(path: &Path, vkey: &str, origin: Option<&str>) -> anyhow::Result<NoteVerifier> {
    let given = keys::read_verifier(vkey, "armistice").context("--operator-vkey")?;
    let origin = origin.unwrap_or(given.name()).to_owned();
    let verifier =
        NoteVerifier::new(&origin, &given.public_key()).map_err(|e| anyhow!("--origin: {e}"))?;
    drop(Ledger::create(path, &verifier.public_key(), &origin)?);
    keys::write_verifier(&operator_vkey_path(path), &verifier)?;
    Ok(verifier)
}

/// Opens the ledger, waiting for another process when `--wait` allows; to
/// write, attaches the operator key when the folder holds it.
pub fn open(global: &Global, mode: OpenMode) -> anyhow::Result<Ledger> {
    if let Some(server) = &global.server {
        bail!("this command works on a ledger folder, not through --server {server}: run it where the ledger is (unset ARMISTICE_SERVER to use a local ledger)");
    }
    let path = global.ledger_path();
    let deadline = Instant::now() + Duration::from_secs_f64(global.wait);
    let ledger = loop {
        match Ledger::open(&path, mode) {
            Err(StoreError::Busy(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => break other?,
        }
    };
    let key_path = operator_key_path(&path);
    if mode == OpenMode::Write && key_path.exists() {
        let signer = keys::read_signer(&key_path, ledger.origin())?;
        ledger
            .attach_operator_key(signer.signing_key().clone())
            .with_context(|| format!("{}", key_path.display()))?;
    }
    Ok(ledger)
}

/// The operator's verifier key of an open ledger, named after its origin.
pub fn operator_verifier(ledger: &Ledger) -> anyhow::Result<NoteVerifier> {
    NoteVerifier::new(ledger.origin(), &ledger.operator_public_key()).map_err(|e| anyhow!("{e}"))
}

/// The ledger's clock: now, in UTC.
pub fn now() -> Timestamp {
    Timestamp::from_datetime(chrono::Utc::now())
}

/// `armistice rotate-operator-key`: appends `operator_key_rotated` signed
/// by the current key, then keeps the new key in the folder.
pub fn rotate_operator_key(global: &Global, args: &RotateOperatorKeyArgs) -> anyhow::Result<()> {
    let ledger = open(global, OpenMode::Write)?;
    let Some(current) = ledger.operator_key() else {
        bail!(
            "the operator key is not in {}: only the ledger's keeper rotates it",
            ledger.path().display()
        );
    };
    let new_key = match &args.new_key {
        Some(file) => keys::read_signer(file, ledger.origin())?
            .signing_key()
            .clone(),
        None => SigningKey::generate(&mut rand_core::OsRng),
    };
    if new_key.verifying_key() == current.verifying_key() {
        bail!("--new-key is the key in force already");
    }
    let signer = NoteSigner::new(ledger.origin(), new_key).map_err(|e| anyhow!("{e}"))?;
    let line = format!(
        r#"{{"type":"operator_key_rotated","by":"operator","public_key":"{}"}}"#,
        hex::encode(signer.verifier().public_key())
    );
    let submission = parse_line(&line, uuid::Uuid::now_v7()).map_err(|e| anyhow!("{e}"))?;
    ledger.prepare_rotation(signer.signing_key().clone());
    let appended = ledger.append(
        &[submission],
        &AppendOptions {
            now: now(),
            backfill: false,
        },
    )?;
    // The new key replaces the old one only once the rotation is durable.
    let key_path = operator_key_path(ledger.path());
    let temporary = ledger.path().join("operator.key.new");
    let _ = std::fs::remove_file(&temporary);
    keys::write_secret(&temporary, &signer)?;
    std::fs::rename(&temporary, &key_path)?;
    // A key of the old format had its public half beside it; it is stale now.
    let _ = std::fs::remove_file(keys::public_path(&key_path));
    let history = ledger.path().join("operator.vkey.history");
    let old = std::fs::read_to_string(operator_vkey_path(ledger.path())).unwrap_or_default();
    let mut past = std::fs::read_to_string(&history).unwrap_or_default();
    past.push_str(&format!("{} until seq {}\n", old.trim(), appended[0].seq));
    std::fs::write(&history, past)?;
    keys::write_verifier(&operator_vkey_path(ledger.path()), &signer.verifier())?;
    outln!(
        "seq {}: the operator key is rotated; from now on it is {}",
        appended[0].seq,
        signer.verifier()
    )?;
    outln!("checkpoints signed before stay valid under the previous key (kept in operator.vkey.history)")?;
    Ok(())
}
