//! Key files, in the signed-note encodings that transparency-log tooling
//! reads: a secret key `PRIVATE+KEY+<name>+<id>+<base64>` in a file of mode
//! 0600, its verifier key `<name>+<id>+<base64>` beside it in `FILE.pub`.
//! Each reader refuses the other kind, saying which kind it was given.
//! Files of the old format (64 hex characters) are still read: a secret
//! one only beside the `.pub` file that proves it is one.

use crate::args::KeygenArgs;
use crate::outln;
use anyhow::{anyhow, bail, Context};
use armistice_merkle::note::{KeyKind, NoteSigner, NoteVerifier};
use ed25519_dalek::SigningKey;
use std::io::Write;
use std::path::{Path, PathBuf};

/// `armistice keygen`: writes a new key pair; prints the verifier key.
pub fn keygen(args: &KeygenArgs) -> anyhow::Result<()> {
    let name = match &args.name {
        Some(name) => name.clone(),
        None => default_name(&args.out),
    };
    let signer = NoteSigner::new(&name, SigningKey::generate(&mut rand_core::OsRng))
        .map_err(|e| anyhow!("--name: {e}"))?;
    write_key_pair(&args.out, &signer)?;
    outln!("{}", signer.verifier())?;
    Ok(())
}

/// A key name from a file name: its stem, with anything a key name may not
/// hold replaced by `-`.
fn default_name(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || c == '+' {
                '-'
            } else {
                c
            }
        })
        .collect();
    if name.is_empty() {
        "armistice-key".to_owned()
    } else {
        name
    }
}

/// Writes `signer` to `path` (0600, refusing to overwrite) and its verifier key to `path.pub`.
pub fn write_key_pair(path: &Path, signer: &NoteSigner) -> anyhow::Result<()> {
    write_secret(path, signer)?;
    write_verifier(&public_path(path), &signer.verifier())
}

/// Writes a secret key file (0600, refusing to overwrite).
pub fn write_secret(path: &Path, signer: &NoteSigner) -> anyhow::Result<()> {
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
    writeln!(file, "{}", signer.to_secret_string())?;
    file.sync_all()?;
    Ok(())
}

/// Writes a verifier key file.
pub fn write_verifier(path: &Path, verifier: &NoteVerifier) -> anyhow::Result<()> {
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(file, "{verifier}")?;
    file.sync_all()?;
    Ok(())
}

/// `FILE.pub` beside `FILE`.
pub fn public_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Reads a secret key file. A bare 64-hex file (the old format) is read
/// only when `FILE.pub` beside it holds the public key it derives: alone,
/// 64 hex characters could as well be somebody's public key.
pub fn read_signer(path: &Path, default_name: &str) -> anyhow::Result<NoteSigner> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read key file {}", path.display()))?;
    let text = text.trim();
    match KeyKind::of(text) {
        KeyKind::Signer => {
            NoteSigner::parse(text).map_err(|e| anyhow!("{}: {e}", path.display()))
        }
        KeyKind::BareHex => {
            let seed = armistice_core::event::parse_hex_array::<32>(text)
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
            let key = SigningKey::from_bytes(&seed);
            let public = std::fs::read_to_string(public_path(path)).unwrap_or_default();
            if public.trim() != hex::encode(key.verifying_key().to_bytes()) {
                bail!(
                    "{}: 64 hex characters alone could be a public key as well as a secret one; an old-format secret key is read only beside its FILE.pub. Expected a secret key (PRIVATE+KEY+…, from `armistice keygen`)",
                    path.display()
                );
            }
            NoteSigner::new(default_name, key).map_err(|e| anyhow!("{e}"))
        }
        other => bail!(
            "{}: expected a secret key (PRIVATE+KEY+…, written by `armistice keygen`), but this is {}",
            path.display(),
            other.describe()
        ),
    }
}

/// Reads a verifier key given inline or in a file: `<name>+<id>+<key>`, or
/// 64 hex characters (then named `default_name`). A secret key is refused.
pub fn read_verifier(text_or_path: &str, default_name: &str) -> anyhow::Result<NoteVerifier> {
    let (text, is_file) = match std::fs::read_to_string(text_or_path) {
        Ok(contents) => (contents, true),
        Err(_) => (text_or_path.to_owned(), false),
    };
    let text = text.trim();
    match KeyKind::of(text) {
        KeyKind::Verifier => NoteVerifier::parse(text).map_err(|e| anyhow!("{e}")),
        // An old-format secret key file has its public half beside it.
        KeyKind::BareHex if is_file && public_path(Path::new(text_or_path)).exists() => bail!(
            "expected a verifier (public) key, but {text_or_path} is an old-format secret key (its public key is beside it in {}): never hand it out; give that file instead",
            public_path(Path::new(text_or_path)).display()
        ),
        KeyKind::BareHex => {
            let key = armistice_core::event::parse_hex_array::<32>(text).map_err(|e| anyhow!(e))?;
            NoteVerifier::new(default_name, &key).map_err(|e| anyhow!("{e}"))
        }
        KeyKind::Signer => bail!(
            "expected a verifier (public) key, but this is a secret key (PRIVATE+KEY+…): never hand it out; give FILE.pub or the key `armistice keygen` printed"
        ),
        KeyKind::Unknown => bail!(
            "expected a verifier key <name>+<id>+<key> or a file holding one, but `{}` is neither",
            clip(text)
        ),
    }
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}
