//! `export`, `log` and `verify`: reading the log back.

use crate::args::{ExportArgs, Global, LogArgs, VerifyArgs};
use crate::open::open;
use crate::{out, outln};
use anyhow::{bail, Context};
use armistice_store::{Ledger, OpenMode};
use serde_json::{json, Value};
use std::process::ExitCode;

/// `armistice export`: JSON Lines of the stored entries.
pub fn export(global: &Global, args: &ExportArgs) -> anyhow::Result<()> {
    let ledger = open(global, OpenMode::Read)?;
    let to = args.to.unwrap_or(u64::MAX);
    if args.from == 0 || args.from > to {
        bail!("--from must be at least 1 and no greater than --to");
    }
    export_range(&ledger, args.from, to)
}

fn export_range(ledger: &Ledger, from: u64, to: u64) -> anyhow::Result<()> {
    let mut buffer = String::new();
    for item in ledger.entries(from, to) {
        let (seq, bytes) = item?;
        buffer.push_str(&armistice_api::export::export_text(seq, &bytes)?);
        buffer.push('\n');
        if buffer.len() > 1 << 16 {
            out!("{buffer}")?;
            buffer.clear();
        }
    }
    out!("{buffer}")?;
    Ok(())
}

/// `armistice log`: a readable listing.
pub fn log(global: &Global, args: &LogArgs) -> anyhow::Result<()> {
    let ledger = open(global, OpenMode::Read)?;
    let mut text = String::new();
    let mut rows = Vec::new();
    if !args.json {
        text.push_str(&format!(
            "{:>6}  {:<20}  {:<20}  {:<26}  {:<8}  stream\n",
            "seq", "recorded", "occurred", "type", "by"
        ));
    }
    for record in ledger.records(1, u64::MAX) {
        let record = record?;
        let h = &record.header;
        if args.json {
            rows.push(json!({
                "seq": h.seq, "recorded_at": h.recorded_at.to_string(), "occurred_at": h.occurred_at.to_string(),
                "type": h.event_type.name(), "by": h.by.as_str(), "stream": h.stream, "version": h.version,
                "hash": hex::encode(record.hash), "backfilled": h.backfilled, "signed": h.signature.is_some(),
                "redacted": record.redaction.field_names(),
            }));
            continue;
        }
        let mut marks = String::new();
        if h.signature.is_some() {
            marks.push_str(" signed");
        }
        if h.backfilled {
            marks.push_str(" backfilled");
        }
        if record.redaction.is_redacted() {
            marks.push_str(&format!(
                " redacted({})",
                record.redaction.field_names().join(",")
            ));
        }
        text.push_str(&format!(
            "{:>6}  {:<20}  {:<20}  {:<26}  {:<8}  {}{marks}\n",
            h.seq,
            short_time(h.recorded_at),
            short_time(h.occurred_at),
            h.event_type.name(),
            h.by.as_str(),
            h.stream
        ));
        if text.len() > 1 << 16 {
            out!("{text}")?;
            text.clear();
        }
    }
    if args.json {
        text = serde_json::to_string_pretty(&Value::Array(rows))?;
        text.push('\n');
    }
    out!("{text}")?;
    Ok(())
}

fn short_time(at: armistice_core::Timestamp) -> String {
    match at.to_datetime() {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => at.to_string(),
    }
}

/// `armistice verify`: exit 0 when intact; otherwise 1, with one line per
/// problem (`seq N: what is wrong`), the first bad seq first. The database
/// is examined on a private copy, so that nothing (sled's own recovery
/// included) writes to a ledger under examination.
pub fn verify(global: &Global, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let ledger = open(global, OpenMode::Examine)?;
    let report = ledger.verify()?;
    let mut problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    let mut against = None;
    if let (true, Some(file)) = (problems.is_empty(), &args.against) {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let signed = crate::trust::read_checkpoint(&ledger, &text)
            .with_context(|| format!("--against {}", file.display()))?;
        match crate::trust::check_against(&ledger, &signed) {
            Ok(size) => against = Some(size),
            Err(detail) => problems.push(format!("against {}: {detail}", file.display())),
        }
    }
    if args.json {
        let value = json!({
            "ok": problems.is_empty(),
            "entries": report.entries,
            "head": hex::encode(report.head.hash),
            "proven_to": report.proven_to,
            "signatures_valid": report.signatures_valid,
            "redacted": report.redacted,
            "uncommitted": report.uncommitted,
            "first_bad_seq": report.first_problem().map(|p| p.seq),
            "problems": problems,
            "consistent_with_checkpoint_size": against,
        });
        outln!("{value}")?;
    } else if problems.is_empty() {
        outln!(
            "ok: {} entries intact, head {}; {} signatures valid, {} redacted",
            report.entries,
            hex::encode(report.head.hash),
            report.signatures_valid,
            report.redacted
        )?;
        if report.uncommitted > 0 {
            outln!(
                "note: {} uncommitted entries of an interrupted append follow the head; the next write removes them",
                report.uncommitted
            )?;
        }
        if let Some(size) = against {
            outln!(
                "ok: consistent with the checkpoint at size {size}: the log has only grown since"
            )?;
        }
    } else {
        for problem in &problems {
            outln!("{problem}")?;
        }
        outln!(
            "entries 1 to {} verify; what follows cannot be proven from this copy (see docs/RECOVERY.md)",
            report.proven_to
        )?;
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
