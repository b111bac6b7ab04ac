//! `export`, `log` and `verify`: reading the log back.

use crate::args::{ExportArgs, Global, LogArgs, VerifyArgs};
use crate::open::open;
use anyhow::{bail, Context};
use armistice_core::entry::Header;
use armistice_core::json::export_fields;
use armistice_store::{decode_record, Ledger};
use serde_json::{json, Value};
use std::io::{BufWriter, Write};
use std::process::ExitCode;

/// `armistice export`: JSON Lines of the stored entries.
pub fn export(global: &Global, args: &ExportArgs) -> anyhow::Result<()> {
    let ledger = open(global)?;
    let to = args.to.unwrap_or(u64::MAX);
    if args.from == 0 || args.from > to {
        bail!("--from must be at least 1 and no greater than --to");
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    for item in ledger.raw_entries(args.from, to) {
        let (seq, value) = item?;
        let record = decode_record(seq, &value)?;
        let (_, leaf_len) =
            Header::decode(&value).map_err(|e| anyhow::anyhow!("entry {seq}: {e}"))?;
        let payload = (!record.redacted).then(|| &value[leaf_len + 1..]);
        let line = export_fields(
            &record.header,
            &record.hash,
            &value[..leaf_len],
            &record.statement,
            payload,
        );
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// `armistice log`: a readable listing.
pub fn log(global: &Global, args: &LogArgs) -> anyhow::Result<()> {
    let ledger = open(global)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut rows = Vec::new();
    if !args.json {
        writeln!(
            out,
            "{:>6}  {:<20}  {:<20}  {:<26}  {:<8}  stream",
            "seq", "recorded", "occurred", "type", "by"
        )?;
    }
    for record in ledger.records(1, u64::MAX) {
        let record = record?;
        let h = &record.header;
        if args.json {
            rows.push(json!({
                "seq": h.seq, "recorded_at": h.recorded_at.to_string(), "occurred_at": h.occurred_at.to_string(),
                "type": h.event_type.name(), "by": h.by.as_str(), "stream": h.stream, "version": h.version,
                "hash": hex::encode(record.hash), "backfilled": h.backfilled, "signed": h.signature.is_some(),
                "redacted": record.redacted,
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
        if record.redacted {
            marks.push_str(" redacted");
        }
        writeln!(
            out,
            "{:>6}  {:<20}  {:<20}  {:<26}  {:<8}  {}{marks}",
            h.seq,
            short_time(h.recorded_at),
            short_time(h.occurred_at),
            h.event_type.name(),
            h.by.as_str(),
            h.stream
        )?;
    }
    if args.json {
        serde_json::to_writer_pretty(&mut out, &Value::Array(rows))?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

fn short_time(at: armistice_core::Timestamp) -> String {
    match at.to_datetime() {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => at.to_string(),
    }
}

/// `armistice verify`: exit 0 when intact, 1 with the first bad seq otherwise.
pub fn verify(global: &Global, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let ledger = open(global)?;
    let report = ledger.verify()?;
    let mut problem = report.problem.as_ref().map(|p| (p.seq, p.detail.clone()));
    if problem.is_none() {
        problem = check_checkpoints(&ledger)?;
    }
    let mut against = None;
    if let (None, Some(file)) = (&problem, &args.against) {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        match crate::trust::check_against(&ledger, &text) {
            Ok(size) => against = Some(size),
            Err(detail) => problem = Some((0, format!("against {}: {detail}", file.display()))),
        }
    }
    if args.json {
        let value = json!({
            "ok": problem.is_none(),
            "entries": report.entries,
            "head": hex::encode(report.head.hash),
            "signatures_valid": report.signatures_valid,
            "redacted": report.redacted,
            "first_bad_seq": problem.as_ref().map(|p| p.0),
            "problem": problem.as_ref().map(|p| p.1.clone()),
            "consistent_with_checkpoint_size": against,
        });
        println!("{value}");
    } else if let Some((seq, detail)) = &problem {
        match seq {
            0 => println!("DAMAGED: {detail}"),
            seq => println!("DAMAGED at seq {seq}: {detail}"),
        }
    } else {
        println!(
            "ok: {} entries intact, head {}; {} signatures valid, {} redacted",
            report.entries,
            hex::encode(report.head.hash),
            report.signatures_valid,
            report.redacted
        );
        if let Some(size) = against {
            println!(
                "ok: consistent with the checkpoint at size {size}: the log has only grown since"
            );
        }
    }
    Ok(if problem.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Every checkpoint the ledger signed must still match its tree.
fn check_checkpoints(ledger: &Ledger) -> anyhow::Result<Option<(u64, String)>> {
    for signed in ledger.checkpoints()? {
        let size = signed.checkpoint.size;
        if size > ledger.head().seq {
            return Ok(Some((0, format!("a checkpoint was signed at size {size}, beyond the log's end: entries were removed"))));
        }
        if ledger.root(size)? != signed.checkpoint.root {
            return Ok(Some((0, format!("the tree no longer matches the checkpoint signed at size {size}: history was rewritten"))));
        }
    }
    Ok(None)
}
