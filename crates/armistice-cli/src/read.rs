//! `export`, `log` and `verify`: reading the log back.

use crate::args::{ExportArgs, Global, LogArgs, VerifyArgs};
use crate::open::open;
use crate::{out, outln};
use anyhow::{bail, Context};
use armistice_api::output::Format;
use armistice_api::query::Names;
use armistice_store::{Ledger, OpenMode};
use serde_json::json;
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
    let mut sink = |text: &str| out!("{text}");
    armistice_api::output::write_export(ledger, from, to, Names::CLI, &mut sink)?;
    Ok(())
}

/// `armistice log`: a readable listing.
pub fn log(global: &Global, args: &LogArgs) -> anyhow::Result<()> {
    let ledger = open(global, OpenMode::Read)?;
    let mut sink = |text: &str| out!("{text}");
    armistice_api::output::write_log(&ledger, Format::json_if(args.json), &mut sink)?;
    Ok(())
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
