//! `armistice verify-proof`: checks proofs and exports against signed
//! checkpoints, offline, with no ledger — what a party or court does with
//! the checkpoint it kept last week and what the ledger hands out today.

use crate::args::VerifyProofArgs;
use crate::ingest::Lines;
use anyhow::{anyhow, bail, Context};
use armistice_core::entry::{sha256, Hash, Header};
use armistice_merkle::checkpoint::{parse_note, SignedCheckpoint};
use armistice_merkle::{leaf_hash, verify_consistency, verify_inclusion, MemoryTree};
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

/// `armistice verify-proof`.
pub fn verify_proof(args: &VerifyProofArgs) -> anyhow::Result<()> {
    let key = read_key(&args.key)?;
    let checkpoints = args
        .checkpoints
        .iter()
        .map(|path| read_checkpoint(path, &key))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let export = args.export.as_deref().map(read_export).transpose()?;
    if let Some(entries) = &export {
        check_export(entries, &checkpoints)?;
    }
    match &args.proof {
        Some(file) => check_proof(file, &checkpoints, export.as_deref()),
        None if export.is_some() => Ok(()),
        None => bail!("give a proof file (from `armistice prove … --json`), an --export, or both"),
    }
}

/// The operator's public key: 64 hex characters, inline or in a file (`operator.key.pub`).
fn read_key(text: &str) -> anyhow::Result<VerifyingKey> {
    let hex_text = match std::fs::read_to_string(text) {
        Ok(contents) => contents,
        Err(_) => text.to_owned(),
    };
    let bytes = armistice_core::event::parse_hex_array::<32>(hex_text.trim())
        .map_err(|e| anyhow!("--key: not a public key or a file holding one: {e}"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| anyhow!("--key: not a valid Ed25519 public key"))
}

fn read_checkpoint(path: &std::path::Path, key: &VerifyingKey) -> anyhow::Result<SignedCheckpoint> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let signed =
        parse_note(&text).map_err(|e| anyhow!("{}: not a checkpoint note: {e}", path.display()))?;
    signed
        .verify(&signed.checkpoint.origin, key)
        .map_err(|e| anyhow!("{}: not signed by this key: {e}", path.display()))?;
    println!(
        "checkpoint {}: size {}, signed by the operator of {}",
        path.display(),
        signed.checkpoint.size,
        signed.checkpoint.origin
    );
    Ok(signed)
}

/// One export line, as far as proofs need it.
struct ExportEntry {
    line: usize,
    seq: u64,
    leaf: Vec<u8>,
    fields: serde_json::Map<String, Value>,
}

fn read_export(path: &std::path::Path) -> anyhow::Result<Vec<ExportEntry>> {
    let mut lines = Lines::open(&path.to_string_lossy())?;
    let mut entries = Vec::new();
    let b64 = base64::engine::general_purpose::STANDARD;
    while let Some((line, text)) = lines.next_line()? {
        let fields: serde_json::Map<String, Value> = serde_json::from_str(&text)
            .map_err(|e| anyhow!("export line {line}: not a JSON object: {e}"))?;
        let seq = fields
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow!("export line {line}: no `seq`"))?;
        let leaf = fields
            .get("leaf")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("export line {line}: no `leaf`"))?;
        let leaf = b64
            .decode(leaf)
            .map_err(|e| anyhow!("export line {line}: `leaf` is not base64: {e}"))?;
        entries.push(ExportEntry {
            line,
            seq,
            leaf,
            fields,
        });
    }
    Ok(entries)
}

fn hex_field(entry: &ExportEntry, field: &str) -> anyhow::Result<Hash> {
    let text = entry
        .fields
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default();
    armistice_core::event::parse_hex_array::<32>(text)
        .map_err(|e| anyhow!("export line {}: `{field}`: {e}", entry.line))
}

/// Recomputes every hash of an export: each leaf decodes and hashes to its
/// `hash`, chains to the one before, holds its payload's digest; then the
/// tree over the leaves must reproduce every checkpoint's root.
fn check_export(entries: &[ExportEntry], checkpoints: &[SignedCheckpoint]) -> anyhow::Result<()> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut prev = armistice_core::entry::GENESIS_HASH;
    let mut tree = MemoryTree::new();
    for (expected, entry) in (1u64..).zip(entries) {
        let at = |what: String| anyhow!("export line {} (seq {}): {what}", entry.line, entry.seq);
        if entry.seq != expected {
            return Err(at(format!(
                "expected seq {expected}: the export must start at 1 and have no gaps"
            )));
        }
        let (header, used) =
            Header::decode(&entry.leaf).map_err(|e| at(format!("`leaf` does not decode: {e}")))?;
        if used != entry.leaf.len() || header.seq != entry.seq {
            return Err(at("`leaf` is not this entry's".into()));
        }
        if sha256(&entry.leaf) != hex_field(entry, "hash")? {
            return Err(at("`hash` is not SHA-256 of `leaf`".into()));
        }
        if header.prev_hash != prev {
            return Err(at(
                "the leaf's prev_hash is not the previous entry's hash: the chain is broken".into(),
            ));
        }
        if let Some(payload) = entry.fields.get("payload").and_then(Value::as_str) {
            let payload = b64
                .decode(payload)
                .map_err(|e| at(format!("`payload` is not base64: {e}")))?;
            if sha256(&payload) != header.payload_sha256 {
                return Err(at(
                    "SHA-256 of `payload` is not the digest the leaf holds".into()
                ));
            }
        }
        prev = sha256(&entry.leaf);
        tree.push_hash(leaf_hash(&entry.leaf));
    }
    println!(
        "export: {} entries, hash chain and payload digests recomputed",
        entries.len()
    );
    for signed in checkpoints {
        let size = signed.checkpoint.size;
        if size > tree.len() {
            bail!(
                "the checkpoint at size {size} covers more entries than the export holds ({})",
                tree.len()
            );
        }
        let root = armistice_merkle::root(size, &tree).map_err(|e| anyhow!("{e}"))?;
        if root != signed.checkpoint.root {
            bail!("the export's first {size} entries do not give the checkpoint's root: history was rewritten");
        }
        println!("ok: the export's first {size} entries reproduce the checkpoint at size {size}: the ledger has only grown since");
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
    export: Option<&[ExportEntry]>,
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
        println!(
            "ok: entry {} is in the tree of {size} entries that the checkpoint signs",
            index + 1
        );
        if let Some(entry) = export.and_then(|entries| entries.iter().find(|e| e.seq == index + 1))
        {
            if leaf_hash(&entry.leaf) != leaf {
                bail!(
                    "the export's entry {} is not the leaf the proof is about",
                    entry.seq
                );
            }
            let describe = |field: &str| {
                entry
                    .fields
                    .get(field)
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_owned()
            };
            println!(
                "ok: it is the export's entry {}: {} by {} ({})",
                entry.seq,
                describe("type"),
                describe("by"),
                describe("claim")
            );
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
    println!("ok: the tree of {second} entries extends the tree of {first}: nothing signed before was changed");
    Ok(())
}
