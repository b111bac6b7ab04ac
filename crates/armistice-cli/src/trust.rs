//! `checkpoint`, `prove` and the `verify --against` check.

use crate::args::{CheckpointArgs, Global, Proof, ProveArgs};
use crate::open::{open, operator_verifier};
use crate::{out, outln};
use anyhow::bail;
use armistice_merkle::checkpoint::{key_id, parse_note, SignedCheckpoint};
use armistice_store::Ledger;
use armistice_store::OpenMode;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde_json::json;

/// `armistice checkpoint`: sign the tree head and print it as a C2SP note (or JSON).
pub fn checkpoint(global: &Global, args: &CheckpointArgs) -> anyhow::Result<()> {
    let ledger = open(global, OpenMode::Write)?;
    let head = ledger.head().seq;
    let size = args.size.unwrap_or(head);
    if size > head {
        bail!("--size {size} is beyond the log, which holds {head} entries");
    }
    if ledger.operator_key().is_none() {
        bail!(
            "the operator's secret key is not in {}: only the ledger's keeper signs checkpoints (a copy holds the verifier key only)",
            ledger.path().display()
        );
    }
    let signed = ledger.sign_checkpoint(size)?;
    if !args.json {
        out!("{}", signed.to_note())?;
        return Ok(());
    }
    let public_key = ledger.operator_keys().for_checkpoint(size);
    let signature = signed.signatures.first().map(|s| hex::encode(&s.signature));
    let vkey = armistice_merkle::note::NoteVerifier::new(ledger.origin(), &public_key)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let timestamp = match size {
        0 => None,
        size => Some(ledger.record_header(size)?.recorded_at.to_string()),
    };
    let value = json!({
        "origin": signed.checkpoint.origin,
        "size": size,
        "root_hash": hex::encode(signed.checkpoint.root),
        "public_key": hex::encode(public_key),
        "vkey": vkey.to_string(),
        "key_id": hex::encode(key_id(ledger.origin(), &public_key)),
        "signature": signature,
        "timestamp": timestamp,
        "note": signed.to_note(),
    });
    outln!("{}", serde_json::to_string_pretty(&value)?)?;
    Ok(())
}

/// `armistice prove inclusion|consistency`.
pub fn prove(global: &Global, args: &ProveArgs) -> anyhow::Result<()> {
    let ledger = open(global, OpenMode::Read)?;
    let head = ledger.head().seq;
    let hex_list = |hashes: &[[u8; 32]]| hashes.iter().map(hex::encode).collect::<Vec<_>>();
    match &args.proof {
        Proof::Inclusion { seq, size, json } => {
            let size = size.unwrap_or(head);
            if size > head {
                bail!("--size {size} is beyond the log, which holds {head} entries");
            }
            if *seq == 0 || *seq > size {
                bail!("--seq must lie between 1 and the tree size {size}");
            }
            let proof = ledger.inclusion_proof(*seq, size)?;
            let value = json!({
                "leaf_index": proof.leaf_index,
                "tree_size": proof.tree_size,
                "leaf_hash": hex::encode(proof.leaf_hash),
                "root_hash": hex::encode(proof.root_hash),
                "path": hex_list(&proof.path),
            });
            print_proof(&value, *json)?;
        }
        Proof::Consistency { from, to, json } => {
            if *from == 0 {
                bail!("--from must be at least 1: there is nothing to prove about the empty tree");
            }
            if from > to {
                bail!("--from {from} is greater than --to {to}");
            }
            if *to > head {
                bail!("--to {to} is beyond the log, which holds {head} entries");
            }
            let value = json!({
                "first": from,
                "second": to,
                "first_root": hex::encode(ledger.root(*from)?),
                "second_root": hex::encode(ledger.root(*to)?),
                "proof": hex_list(&ledger.consistency_proof(*from, *to)?),
            });
            print_proof(&value, *json)?;
        }
    }
    Ok(())
}

fn print_proof(value: &serde_json::Value, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{value}")?;
        return Ok(());
    }
    let Some(map) = value.as_object() else {
        return Ok(());
    };
    for (key, item) in map {
        match item.as_array() {
            Some(items) => {
                outln!("{key}:")?;
                for hash in items {
                    outln!("  {}", hash.as_str().unwrap_or_default())?;
                }
            }
            None => outln!(
                "{key}: {}",
                item.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| item.to_string())
            )?,
        }
    }
    Ok(())
}

/// Reads a checkpoint note and checks that this ledger's operator signed
/// it: anything else is not a checkpoint of this ledger (an input error).
pub fn read_checkpoint(ledger: &Ledger, note: &str) -> anyhow::Result<SignedCheckpoint> {
    let signed = parse_note(note).map_err(|e| anyhow::anyhow!("not a checkpoint note: {e}"))?;
    let size = signed.checkpoint.size;
    let key = VerifyingKey::from_bytes(&ledger.operator_keys().for_checkpoint(size))?;
    signed.verify(ledger.origin(), &key).map_err(|e| {
        let found: Vec<&str> = signed.signatures.iter().map(|s| s.key_name.as_str()).collect();
        anyhow::anyhow!(
            "not a checkpoint signed by this ledger's operator: expected a signature by {} ({e}); the note is signed by {}",
            operator_verifier(ledger).map(|v| v.to_string()).unwrap_or_default(),
            found.join(", ")
        )
    })?;
    Ok(signed)
}

/// Checks a checkpoint of this ledger: its tree at that size must have the
/// same root (the log only grew since). Returns the checkpoint's size.
pub fn check_against(ledger: &Ledger, signed: &SignedCheckpoint) -> Result<u64, String> {
    let size = signed.checkpoint.size;
    let head = ledger.head().seq;
    if size > head {
        return Err(format!("the checkpoint covers {size} entries but the log holds only {head}: entries were removed"));
    }
    let root = ledger.root(size).map_err(|e| e.to_string())?;
    if root != signed.checkpoint.root {
        let b64 = base64::engine::general_purpose::STANDARD;
        return Err(format!(
            "the tree of the first {size} entries has root {} but the checkpoint says {}: history was rewritten",
            b64.encode(root),
            b64.encode(signed.checkpoint.root)
        ));
    }
    Ok(size)
}
