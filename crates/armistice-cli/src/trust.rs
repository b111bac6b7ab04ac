//! `checkpoint`, `prove` and the `verify --against` check.

use crate::args::{CheckpointArgs, Global, Proof, ProveArgs};
use crate::open::{open, operator_verifier};
use crate::out;
use anyhow::bail;
use armistice_api::output::{self, Format};
use armistice_api::query::Names;
use armistice_merkle::checkpoint::{parse_note, SignedCheckpoint};
use armistice_store::Ledger;
use armistice_store::OpenMode;
use base64::Engine;
use ed25519_dalek::VerifyingKey;

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
    out!(
        "{}",
        armistice_api::output::checkpoint_json(&ledger, &signed)?
    )?;
    Ok(())
}

/// `armistice prove inclusion|consistency`.
pub fn prove(global: &Global, args: &ProveArgs) -> anyhow::Result<()> {
    let ledger = open(global, OpenMode::Read)?;
    let text = match &args.proof {
        Proof::Inclusion { seq, size, json } => {
            output::inclusion(&ledger, *seq, *size, Names::CLI, Format::json_if(*json))?
        }
        Proof::Consistency { from, to, json } => {
            output::consistency(&ledger, *from, *to, Names::CLI, Format::json_if(*json))?
        }
    };
    out!("{text}")?;
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
