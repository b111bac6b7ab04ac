//! `armistice verify-proof`: checks proofs and exports against signed
//! checkpoints, offline, with no ledger — what a party or court does with
//! the checkpoint it kept last week and what the ledger hands out today.

use crate::args::VerifyProofArgs;
use crate::ingest::Lines;
use crate::outln;
use anyhow::{anyhow, bail, Context};
use armistice_core::entry::Hash;
use armistice_merkle::checkpoint::{parse_note, SignedCheckpoint};
use armistice_merkle::note::NoteVerifier;
use armistice_merkle::{verify_consistency, verify_inclusion};
use armistice_store::Ledger;
use serde_json::Value;

/// `armistice verify-proof`.
pub fn verify_proof(args: &VerifyProofArgs) -> anyhow::Result<()> {
    if let Some(file) = &args.receipt {
        if args.proof.is_some() || args.export.is_some() || !args.checkpoints.is_empty() {
            bail!("--receipt is checked on its own: it carries its checkpoint and proofs");
        }
        return crate::receipts::verify_receipts(file, &args.key);
    }
    let notes = args
        .checkpoints
        .iter()
        .map(|path| read_note(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let origin = notes
        .first()
        .map(|(_, n)| n.checkpoint.origin.clone())
        .unwrap_or_else(|| "armistice".to_owned());
    let key = crate::keys::read_verifier(&args.key, &origin).context("--key")?;
    // An export is checked by copying it into a ledger of its own, which
    // holds the operator's verifier key only: every line must reproduce its
    // entry byte for byte and field for field, as `import --backfill` demands.
    let copy = args
        .export
        .as_deref()
        .map(|path| copy_of_export(path, &key))
        .transpose()?;
    let mut checkpoints = Vec::new();
    for (path, note) in notes {
        let size = note.checkpoint.size;
        let signer = match &copy {
            Some((_, ledger)) => NoteVerifier::new(
                ledger.origin(),
                &ledger.operator_keys().for_checkpoint(size),
            )
            .map_err(|e| anyhow!("{e}"))?,
            None => key.clone(),
        };
        check_signature(&path, &note, &signer)?;
        checkpoints.push(note);
    }
    if let Some((_, ledger)) = &copy {
        check_roots(ledger, &checkpoints)?;
    }
    match &args.proof {
        Some(file) => check_proof(file, &checkpoints, copy.as_ref().map(|(_, l)| l)),
        // Checkpoints alone: each signature was checked above.
        None => Ok(()),
    }
}

fn read_note(path: &std::path::Path) -> anyhow::Result<(std::path::PathBuf, SignedCheckpoint)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let signed =
        parse_note(&text).map_err(|e| anyhow!("{}: not a checkpoint note: {e}", path.display()))?;
    Ok((path.to_owned(), signed))
}

/// Checks a checkpoint's signature, naming the key expected and the keys found.
fn check_signature(
    path: &std::path::Path,
    signed: &SignedCheckpoint,
    key: &NoteVerifier,
) -> anyhow::Result<()> {
    let found = || {
        signed
            .signatures
            .iter()
            .map(|s| format!("`{}` (key id {})", s.key_name, hex::encode(s.key_id)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if signed.checkpoint.origin != key.name() {
        bail!(
            "{}: the checkpoint's origin `{}` is not the name of the expected key `{key}` (key id {}); the note's signatures are by {}",
            path.display(),
            signed.checkpoint.origin,
            hex::encode(key.key_id()),
            found()
        );
    }
    if let Err(e) = signed.verify(key.name(), key.verifying_key()) {
        bail!(
            "{}: not signed by the expected key `{key}` (key id {}): {e}; the note's signatures are by {}",
            path.display(),
            hex::encode(key.key_id()),
            found()
        );
    }
    outln!(
        "checkpoint {}: size {}, signed by the operator of {}",
        path.display(),
        signed.checkpoint.size,
        signed.checkpoint.origin
    )?;
    Ok(())
}

/// Copies an export into a temporary ledger that knows only the operator's
/// verifier key: the whole import machinery checks every line.
fn copy_of_export(
    path: &std::path::Path,
    key: &NoteVerifier,
) -> anyhow::Result<(tempfile::TempDir, Ledger)> {
    let dir = tempfile::TempDir::new()?;
    let ledger = Ledger::create(&dir.path().join("copy"), &key.public_key(), key.name())?;
    let lines = Lines::open(&path.to_string_lossy())?;
    let summary = crate::ingest::ingest_copies(&ledger, lines)
        .map_err(|e| anyhow!("export {}: {e:#}", path.display()))?;
    outln!(
        "export: {} entries, every field checked against the bytes its hash covers, every signature against the key its author had then",
        summary.events
    )?;
    Ok((dir, ledger))
}

/// The tree over the copied entries must reproduce every checkpoint's root.
fn check_roots(ledger: &Ledger, checkpoints: &[SignedCheckpoint]) -> anyhow::Result<()> {
    let len = ledger.head().seq;
    for signed in checkpoints {
        let size = signed.checkpoint.size;
        if size > len {
            bail!(
                "the checkpoint at size {size} covers more entries than the export holds ({len})"
            );
        }
        if ledger.root(size)? != signed.checkpoint.root {
            bail!("the export's first {size} entries do not give the checkpoint's root: history was rewritten");
        }
        outln!("ok: the export's first {size} entries reproduce the checkpoint at size {size}: the ledger has only grown since")?;
    }
    Ok(())
}

fn hashes(value: &Value, field: &str) -> anyhow::Result<Vec<Hash>> {
    let items = value
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("proof: no `{field}` list"))?;
    items
        .iter()
        .map(|item| {
            armistice_core::event::parse_hex_array::<32>(item.as_str().unwrap_or_default())
                .map_err(|e| anyhow!("proof: `{field}`: {e}"))
        })
        .collect()
}

fn number(value: &Value, field: &str) -> anyhow::Result<u64> {
    value
        .get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("proof: no `{field}` number"))
}

fn hash(value: &Value, field: &str) -> anyhow::Result<Hash> {
    let text = value
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("proof: no `{field}`"))?;
    armistice_core::event::parse_hex_array::<32>(text).map_err(|e| anyhow!("proof: `{field}`: {e}"))
}

fn signed_root(checkpoints: &[SignedCheckpoint], size: u64) -> anyhow::Result<Hash> {
    checkpoints
        .iter()
        .find(|c| c.checkpoint.size == size)
        .map(|c| c.checkpoint.root)
        .ok_or_else(|| anyhow!("no --checkpoint of size {size} was given: a root only counts when the operator signed it"))
}

fn check_proof(
    file: &str,
    checkpoints: &[SignedCheckpoint],
    export: Option<&Ledger>,
) -> anyhow::Result<()> {
    let text = match file {
        "-" => std::io::read_to_string(std::io::stdin())?,
        path => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?,
    };
    let proof: Value = serde_json::from_str(&text).map_err(|e| anyhow!("{file}: not JSON: {e}"))?;
    if proof.get("leaf_index").is_some() {
        let (index, size) = (number(&proof, "leaf_index")?, number(&proof, "tree_size")?);
        let leaf = hash(&proof, "leaf_hash")?;
        let root = signed_root(checkpoints, size)?;
        verify_inclusion(&leaf, index, size, &hashes(&proof, "path")?, &root)
            .map_err(|e| anyhow!("the inclusion proof fails: {e}"))?;
        outln!(
            "ok: entry {} is in the tree of {size} entries that the checkpoint signs",
            index + 1
        )?;
        if let Some(ledger) = export.filter(|l| l.head().seq > index) {
            let record = ledger.record(index + 1)?;
            if ledger.node(0, index)? != leaf {
                bail!(
                    "the export's entry {} is not the leaf the proof is about",
                    index + 1
                );
            }
            let claim = record
                .statement
                .event
                .claim()
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into());
            outln!(
                "ok: it is the export's entry {}: {} by {} ({claim})",
                index + 1,
                record.header.event_type,
                record.header.by
            )?;
        }
        return Ok(());
    }
    let (first, second) = (number(&proof, "first")?, number(&proof, "second")?);
    let (root1, root2) = (
        signed_root(checkpoints, first)?,
        signed_root(checkpoints, second)?,
    );
    verify_consistency(first, second, &root1, &root2, &hashes(&proof, "proof")?)
        .map_err(|e| anyhow!("the consistency proof fails: {e}"))?;
    outln!("ok: the tree of {second} entries extends the tree of {first}: nothing signed before was changed")?;
    Ok(())
}
