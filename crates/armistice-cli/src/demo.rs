//! `armistice demo`: the spring-2025 example, imported into a fresh ledger
//! and shown at a few telling dates.

use crate::args::{AuditArgs, ClaimsArgs, DemoArgs, Global, StatusArgs, When};
use crate::ingest::{ingest, Lines};
use crate::{open, query};
use crate::{out, outln};
use anyhow::bail;
use armistice_store::OpenMode;
use indicatif::ProgressBar;
use std::io::Cursor;

/// The example scenario (see `docs/examples/README.md`).
const EXAMPLE: &str = include_str!("../../../docs/examples/spring-2025.jsonl");

fn when(at: &str, known_at: Option<&str>) -> When {
    When {
        at: Some(at.to_owned()),
        known_at: known_at.map(str::to_owned),
    }
}

fn section(title: &str, explanation: &str) -> anyhow::Result<()> {
    outln!("\n━━ {title}")?;
    outln!("   {explanation}\n")?;
    Ok(())
}

fn status(global: &Global, agreement: Option<&str>, when: When) -> anyhow::Result<()> {
    query::status(
        global,
        &StatusArgs {
            agreement: agreement.map(str::to_owned),
            when,
            json: false,
            format: Default::default(),
        },
    )
}

/// Runs the demo in `--ledger` (which must not exist yet) or a temporary folder.
pub fn run(global: &Global, _args: &DemoArgs) -> anyhow::Result<()> {
    let given = global.ledger.clone();
    let temporary = tempfile::TempDir::new()?;
    let path = match &global.ledger {
        Some(path) if path.exists() => bail!(
            "{} already exists: the demo builds a fresh ledger",
            path.display()
        ),
        Some(path) => path.clone(),
        None => temporary.path().join("demo.ledger"),
    };
    let global = Global {
        ledger: Some(path.clone()),
        wait: global.wait,
        server: None,
        token_file: None,
    };
    open::create(&path, None, Some("example.org/armistice-demo"))?;
    let summary = {
        let ledger = open::open(&global, OpenMode::Write)?;
        let lines = Lines::from_reader(Box::new(Cursor::new(EXAMPLE.as_bytes())));
        ingest(&ledger, lines, true, None, &ProgressBar::hidden(), None)?
    };
    outln!("Armistice demo: spring 2025, from public reporting (details marked illustrative in docs/examples).")?;
    let place = match &given {
        Some(path) => path.display().to_string(),
        None => "a temporary ledger, removed when the demo ends (give --ledger DIR to keep one)"
            .to_owned(),
    };
    outln!("Imported {} events into {place}. This is a migration: every entry keeps the date the secretariat recorded it.", summary.events)?;

    section("1. 25 March 2025", "The energy moratorium is in force; the Black Sea arrangements are being signed, Russia only on conditions.")?;
    status(&global, None, when("2025-03-25T18:00:00Z", None))?;

    section("2. Disputed claims under the moratorium, as of 12 April", "Each side's claims stand side by side; the ledger decides no truth, it records who said what.")?;
    let disputed = ClaimsArgs {
        agreement: Some("energy-moratorium-2025".into()),
        by: None,
        against: None,
        state: Some("disputed".into()),
        category: None,
        incident_from: None,
        incident_to: None,
        when: when("2025-04-12", None),
        json: false,
        format: Default::default(),
    };
    query::claims(&global, &disputed)?;

    section("3. What the record knew on 4 April about 12 April", "Bitemporal replay: the Kherson shelling claim was recorded late (5 April) and the monitor's verification on 10 April, so neither shows yet.")?;
    status(
        &global,
        Some("energy-moratorium-2025"),
        when("2025-04-12", Some("2025-04-04")),
    )?;

    section(
        "4. Easter, 22 April",
        "Two unilateral truces, two irreconcilable counts: UA alleges 2,935 violations, RU 4,900.",
    )?;
    status(
        &global,
        Some("ru-easter-truce-2025"),
        when("2025-04-22", None),
    )?;
    status(
        &global,
        Some("ua-easter-mirror-2025"),
        when("2025-04-22", None),
    )?;

    section("5. After the moratorium lapsed", "Claims about incidents after 17 April are flagged outside_window: no agreement then bound the strike.")?;
    let after = ClaimsArgs {
        incident_from: Some("2025-04-17".into()),
        state: None,
        when: when("2025-05-01", None),
        ..disputed
    };
    query::claims(&global, &after)?;

    section("6. Audit of a disputed claim: the Sudzha gas metering station", "Russia's claim, Ukraine's counter-claim and satellite evidence, the monitor's assessment, and the hash chain re-verified.")?;
    let audit = AuditArgs {
        claim: "RU-2025-03-21-sudzha".into(),
        known_at: None,
        evidence_dir: None,
        json: false,
    };
    query::audit(&global, &audit)?;

    section("7. Proof that nothing was altered", "Every entry is hash-chained and in an RFC 6962 Merkle tree; the operator signs checkpoints anyone can check.")?;
    let ledger = open::open(&global, OpenMode::Write)?;
    let report = ledger.verify()?;
    outln!(
        "verify: {} entries, {} problems, {} signatures valid",
        report.entries,
        report.problems.len(),
        report.signatures_valid
    )?;
    out!("{}", ledger.sign_checkpoint(ledger.head().seq)?.to_note())?;
    Ok(())
}
