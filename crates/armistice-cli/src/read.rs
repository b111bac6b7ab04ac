//! `export`, `log` and `verify`: reading the log back.

use crate::args::{ExportArgs, Global, LogArgs, VerifyArgs};
use crate::open::open;
use anyhow::{bail, Context};
use armistice_core::entry::Header;
use armistice_core::json::export_fields;
use armistice_store::decode_record;
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

/// `armistice verify`: exit 0 when intact; otherwise 1, with one line per
/// problem (`seq N: what is wrong`), the first bad seq first.
pub fn verify(global: &Global, args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let ledger = open(global)?;
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
            "signatures_valid": report.signatures_valid,
            "redacted": report.redacted,
            "first_bad_seq": report.first_problem().map(|p| p.seq),
            "problems": problems,
            "consistent_with_checkpoint_size": against,
        });
        println!("{value}");
    } else if problems.is_empty() {
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
    } else {
        for problem in &problems {
            println!("{problem}");
        }
    }
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
