//! `verify-proof --receipt FILE`: checks receipts offline, with the
//! operator's verifier key and nothing else: each checkpoint's signature,
//! and each entry's inclusion proof (and leaf) against the signed root.

use crate::outln;
use anyhow::{anyhow, bail, Context};
use armistice_api::receipt::verify_receipt;
use armistice_api::wire::Receipt;
use std::path::Path;

/// Checks every receipt in `file` (one JSON each, as `--receipt` saves them).
pub fn verify_receipts(file: &Path, key: &str) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let receipts = serde_json::Deserializer::from_str(&text)
        .into_iter::<Receipt>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("{}: not a receipt: {e}", file.display()))?;
    if receipts.is_empty() {
        bail!("{}: no receipt in it", file.display());
    }
    for (index, receipt) in receipts.iter().enumerate() {
        let origin = armistice_merkle::checkpoint::parse_note(&receipt.checkpoint)
            .map(|c| c.checkpoint.origin)
            .unwrap_or_else(|_| "armistice".to_owned());
        let operator = crate::keys::read_verifier(key, &origin).context("--key")?;
        let checked = verify_receipt(receipt, &operator)
            .map_err(|e| anyhow!("{}: receipt {}: {e}", file.display(), index + 1))?;
        let size = checked.checkpoint.checkpoint.size;
        outln!(
            "receipt {}: checkpoint of size {size}, signed by the operator of {}",
            index + 1,
            checked.checkpoint.checkpoint.origin
        )?;
        for entry in &receipt.appended {
            let what = if checked.leaves_checked {
                " (its leaf matches)"
            } else {
                ""
            };
            outln!(
                "ok: entry {} ({}, {} v{}) is in the tree of {size} entries that the checkpoint signs{what}",
                entry.seq,
                entry.event_id,
                entry.stream,
                entry.version
            )?;
        }
    }
    Ok(())
}
