//! Key files: a private Ed25519 key is 64 hex characters (its 32-byte seed)
//! in a file of mode 0600; the public key, 64 hex characters, beside it in `.pub`.

use crate::args::KeygenArgs;
use anyhow::Context;
use ed25519_dalek::SigningKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes a new key pair; prints the public key.
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    let key = SigningKey::generate(&mut rand_core::OsRng);
    write_key_pair(&args.out, &key)?;
    println!("{}", hex::encode(key.verifying_key().to_bytes()));
    Ok(())
}

/// Writes `key` to `path` (0600, refusing to overwrite) and its public key to `path.pub`.
pub fn write_key_pair(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| {
        format!(
            "cannot create key file {} (it must not exist yet)",
            path.display()
        )
    })?;
    writeln!(file, "{}", hex::encode(key.to_bytes()))?;
    file.sync_all()?;
    let public = public_path(path);
    std::fs::write(
        &public,
        format!("{}\n", hex::encode(key.verifying_key().to_bytes())),
    )
    .with_context(|| format!("cannot write {}", public.display()))?;
    Ok(())
}

/// `FILE.pub` beside `FILE`.
pub fn public_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Reads a private key file.
pub fn read_signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    let seed = armistice_core::event::parse_hex_array::<32>(text.trim()).map_err(|e| {
        anyhow::anyhow!(
            "{}: not a private key written by `armistice keygen`: {e}",
            path.display()
        )
    })?;
    Ok(SigningKey::from_bytes(&seed))
}
