//! Row 3: bulk import of N events in session chunks of 10,000 (as
//! `armistice import` does), measured in a child process that also reports
//! its peak memory; against raw append with a `fdatasync` per 1,000 records
//! and SQLite with 1,000 inserts per transaction.

use crate::child::{peak_rss_kib, PhaseOutput};
use crate::gen::{self, Generator, Plan};
use crate::table::{Compare, Line, LineSpec, Samples};
use crate::{raw, sqlite};
use anyhow::Context;
use armistice_core::entry::{decode_entry, Header};
use armistice_core::event::{Event, Finding, Response};
use armistice_store::{AppendOptions, Ledger};
use std::path::Path;
use std::time::{Duration, Instant};

/// Events per session chunk, as `armistice import` appends them.
pub const IMPORT_CHUNK_EVENTS: usize = 10_000;
/// Records per `fdatasync` (raw) and rows per transaction (SQLite).
pub const BASELINE_BATCH_RECORDS: usize = 1_000;

/// The child's work: generate `events` events from `seed` and import them
/// into a new ledger at `path`. Only the appends and the commit are timed;
/// generating each chunk is not.
pub fn import_phase(path: &Path, events: u64, seed: u64) -> anyhow::Result<PhaseOutput> {
    let ledger = super::create_ledger(path, seed)?;
    let plan = Plan {
        events,
        backfill: true,
        agreements_up_front: false,
    };
    let mut generator = Generator::new(seed, plan);
    let options = AppendOptions {
        now: gen::clock_now(),
        backfill: true,
    };
    let mut timed = Duration::ZERO;
    let mut session = ledger.begin()?;
    let mut left = events as usize;
    while left > 0 {
        let chunk = generator.take_batch(left.min(IMPORT_CHUNK_EVENTS));
        left -= chunk.len();
        let start = Instant::now();
        session
            .append(&chunk, &options)
            .context("the generated events were rejected")?;
        timed += start.elapsed();
    }
    let start = Instant::now();
    session.commit()?;
    timed += start.elapsed();
    Ok(PhaseOutput {
        seconds: timed.as_secs_f64(),
        events,
        peak_rss_kib: peak_rss_kib()?,
    })
}

/// Every committed entry as the SQLite baseline stores it, with the
/// stored bytes themselves.
pub fn load_rows(ledger: &Ledger) -> anyhow::Result<Vec<sqlite::Row>> {
    let mut rows = Vec::with_capacity(ledger.head().seq as usize);
    for item in ledger.entries(1, ledger.head().seq) {
        let (seq, value) = item?;
        let (header, leaf_len) = Header::decode(&value)?;
        let statement = decode_entry(&value)?.statement;
        let (agreement, outcome) = match &statement.event {
            Event::ViolationAlleged(e) => (Some(e.agreement.to_string()), None),
            Event::AllegationResponded(e) => (
                None,
                Some(match e.response {
                    Response::Acknowledged => "acknowledged",
                    Response::Denied | Response::DisputedFacts => "disputed",
                }),
            ),
            Event::AllegationAssessed(e) => (
                None,
                Some(match e.finding {
                    Finding::Verified => "verified",
                    Finding::Refuted => "refuted",
                    Finding::Inconclusive => "inconclusive",
                }),
            ),
            _ => (None, None),
        };
        rows.push(sqlite::Row {
            seq,
            event_id: *header.event_id.as_bytes(),
            stream: header.stream,
            version: header.version,
            occurred_at: header.occurred_at.micros(),
            recorded_at: header.recorded_at.micros(),
            event_type: header.event_type as u8,
            agreement,
            outcome,
            body: value.to_vec(),
            payload_bytes: value.len() - leaf_len,
        });
    }
    Ok(rows)
}

/// Row 3's lines: Armistice's import rates (from the children) against the
/// raw and SQLite rates measured here over the same stored bytes. Leaves
/// the SQLite database at `db` for row 5.
pub fn import_lines(
    dir: &Path,
    db: &Path,
    rows: &[sqlite::Row],
    armistice: Samples,
    runs: usize,
) -> anyhow::Result<Vec<Line>> {
    let events = rows.len() as f64;
    let mut raw_rates = Vec::new();
    for _ in 0..runs.max(3) {
        let records = rows.iter().map(|r| r.body.as_slice());
        let elapsed =
            raw::append_with_syncs(&dir.join("row3-raw"), records, BASELINE_BATCH_RECORDS)?;
        raw_rates.push(events / elapsed.as_secs_f64());
    }
    let mut sqlite_rates = Vec::new();
    for run in 0..runs {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        let elapsed = sqlite::bulk_load(db, rows, BASELINE_BATCH_RECORDS)
            .with_context(|| format!("SQLite bulk load, run {run}"))?;
        sqlite_rates.push(events / elapsed.as_secs_f64());
    }
    let sqlite_line = Line::new(
        LineSpec {
            row: "3a",
            what: "bulk import (session, chunks of 10k)",
            unit: "events/s",
            baseline_name: "SQLite 1k rows/txn + 3 indexes + chain",
            compare: Compare::Throughput,
            target: Some(2.0),
        },
        armistice.clone(),
        Samples::new(sqlite_rates),
        format!(
            "{} events; SQLite: unique event_id, unique (stream, version), index on occurred_at, SHA-256(prev || row bytes) in the client",
            rows.len()
        ),
    );
    let raw_line = Line::new(
        LineSpec {
            row: "3b",
            what: "bulk import (session, chunks of 10k)",
            unit: "events/s",
            baseline_name: "raw append, fdatasync per 1k",
            compare: Compare::Throughput,
            target: Some(0.1),
        },
        armistice,
        Samples::new(raw_rates),
        String::new(),
    );
    Ok(vec![sqlite_line, raw_line])
}
