//! Rows 1 and 2: durable appends, one event per call, from one writer and
//! from many concurrent writers (group commit), against raw `fdatasync`
//! and SQLite one-transaction-per-event.

use crate::gen::{self, Generator, Plan, Rng};
use crate::table::{Compare, Line, LineSpec, Samples};
use crate::{raw, sqlite, Sizes};
use armistice_core::json::Submission;
use armistice_store::{AppendOptions, Ledger};
use std::path::Path;
use std::sync::Barrier;
use std::time::Instant;

/// A fresh ledger at `path` holding the setup events (parties, every
/// agreement and its signatures), and the generator that continues it.
pub fn ledger_with_setup(
    path: &Path,
    seed: u64,
    events: u64,
) -> anyhow::Result<(Ledger, Generator)> {
    let ledger = super::create_ledger(path, seed)?;
    let plan = Plan {
        events,
        backfill: false,
        agreements_up_front: true,
    };
    let mut generator = Generator::new(seed, plan);
    let setup = generator.take_batch(Generator::setup_events());
    ledger.append(&setup, &live_options())?;
    Ok((ledger, generator))
}

/// Options of a live append: the ledger sets `recorded_at`.
pub fn live_options() -> AppendOptions {
    AppendOptions {
        now: gen::clock_now(),
        backfill: false,
    }
}

/// The mean stored size (leaf, marker and payload) of entries `from..=to`.
fn mean_entry_bytes(ledger: &Ledger, from: u64, to: u64) -> anyhow::Result<usize> {
    let (mut bytes, mut count) = (0usize, 0usize);
    for item in ledger.entries(from, to) {
        bytes += item?.1.len();
        count += 1;
    }
    Ok(bytes / count.max(1))
}

/// Row 1: one writer, one event per `append`.
pub fn single_writer(dir: &Path, seed: u64, sizes: &Sizes) -> anyhow::Result<Line> {
    let (mut armistice, mut baseline) = (Vec::new(), Vec::new());
    let mut extra_flushes = 0;
    let mut record_bytes = 0;
    for run in 0..sizes.runs_short {
        let path = dir.join(format!("row1-{run}"));
        let (ledger, mut generator) = ledger_with_setup(&path, seed + run as u64, sizes.events)?;
        let batch: Vec<Submission> = generator.take_batch(sizes.single_appends);
        let (first, flushes) = (ledger.head().seq + 1, ledger.flushes());
        let start = Instant::now();
        for submission in &batch {
            ledger.append(std::slice::from_ref(submission), &live_options())?;
        }
        let elapsed = start.elapsed();
        armistice.push(batch.len() as f64 / elapsed.as_secs_f64());
        extra_flushes += (ledger.flushes() - flushes).saturating_sub(batch.len() as u64);
        record_bytes = mean_entry_bytes(&ledger, first, ledger.head().seq)?;
        drop(ledger);
        std::fs::remove_dir_all(&path)?;
        let raw_path = dir.join("row1-raw");
        baseline.push(raw::rate_of_same_size(
            &raw_path,
            record_bytes,
            sizes.single_appends,
            1,
        )?);
    }
    let spec = LineSpec {
        row: "1",
        what: "durable append, 1 writer, 1 event/call",
        unit: "events/s",
        baseline_name: "raw append+fdatasync",
        compare: Compare::Throughput,
        target: Some(0.5),
    };
    let note = format!(
        "{} appends per run, records of {record_bytes} bytes; flushes beyond one per append: {extra_flushes}",
        sizes.single_appends
    );
    Ok(Line::new(
        spec,
        Samples::new(armistice),
        Samples::new(baseline),
        note,
    ))
}

/// What one run of row 2 measured.
struct ConcurrentRun {
    events_per_s: f64,
    batch: f64,
    record_bytes: usize,
}

fn concurrent_run(path: &Path, seed: u64, sizes: &Sizes) -> anyhow::Result<ConcurrentRun> {
    let (ledger, generator) = ledger_with_setup(path, seed, sizes.events)?;
    let per_thread = sizes.threads_events;
    let work: Vec<Vec<Submission>> = (0..sizes.threads)
        .map(|t| {
            let events = (per_thread * sizes.threads) as u64;
            generator
                .fork(seed.wrapping_mul(1000) + t as u64, events)
                .take_batch(per_thread)
        })
        .collect();
    let (first, flushes) = (ledger.head().seq + 1, ledger.flushes());
    let barrier = Barrier::new(sizes.threads + 1);
    let elapsed = std::thread::scope(|scope| -> anyhow::Result<std::time::Duration> {
        let handles: Vec<_> = work
            .iter()
            .map(|events| {
                let (ledger, barrier) = (&ledger, &barrier);
                scope.spawn(move || -> anyhow::Result<()> {
                    barrier.wait();
                    for submission in events {
                        ledger.append(std::slice::from_ref(submission), &live_options())?;
                    }
                    Ok(())
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a writer thread panicked"))??;
        }
        Ok(start.elapsed())
    })?;
    let events = (per_thread * sizes.threads) as f64;
    let rounds = (ledger.flushes() - flushes).max(1) as f64;
    let record_bytes = mean_entry_bytes(&ledger, first, ledger.head().seq)?;
    Ok(ConcurrentRun {
        events_per_s: events / elapsed.as_secs_f64(),
        batch: events / rounds,
        record_bytes,
    })
}

/// Rows of synthetic bytes for SQLite's concurrent writers: each thread
/// files new claims (stream `claim/<thread>-<i>`, version 1).
fn sqlite_rows(sizes: &Sizes, record_bytes: usize, seed: u64) -> Vec<Vec<sqlite::Row>> {
    let mut rng = Rng::new(seed);
    let mut seq = 0;
    (0..sizes.threads)
        .map(|t| {
            (0..sizes.threads_events)
                .map(|i| {
                    seq += 1;
                    sqlite::Row {
                        seq,
                        event_id: *rng.uuid().as_bytes(),
                        stream: format!("claim/{t}-{i}"),
                        version: 1,
                        occurred_at: gen::HISTORY_START_MICROS + seq as i64,
                        recorded_at: gen::HISTORY_START_MICROS + seq as i64,
                        event_type: 10,
                        agreement: Some("ceasefire-00-north".to_owned()),
                        outcome: None,
                        body: vec![0x5a; record_bytes],
                        payload_bytes: record_bytes,
                    }
                })
                .collect()
        })
        .collect()
}

/// Row 2: many writers, one event per call; lines 2a (raw, same batch
/// size) and 2b (SQLite, one transaction per event).
pub fn concurrent_writers(dir: &Path, seed: u64, sizes: &Sizes) -> anyhow::Result<Vec<Line>> {
    let events = sizes.threads * sizes.threads_events;
    let (mut armistice, mut raw_rates, mut sqlite_rates, mut batches) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut record_bytes = 0;
    for run in 0..sizes.runs_read {
        let path = dir.join(format!("row2-{run}"));
        let measured = concurrent_run(&path, seed + run as u64, sizes)?;
        std::fs::remove_dir_all(&path)?;
        armistice.push(measured.events_per_s);
        batches.push(measured.batch);
        record_bytes = measured.record_bytes;
        let per_sync = measured.batch.round().max(1.0) as usize;
        raw_rates.push(raw::rate_of_same_size(
            &dir.join("row2-raw"),
            record_bytes,
            events,
            per_sync,
        )?);
        let db = dir.join(format!("row2-{run}.sqlite"));
        let elapsed =
            sqlite::concurrent_appends(&db, sqlite_rows(sizes, record_bytes, seed + run as u64))?;
        sqlite_rates.push(events as f64 / elapsed.as_secs_f64());
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.join(format!("row2-{run}.sqlite{suffix}")));
        }
    }
    let batches = Samples::new(batches);
    let armistice = Samples::new(armistice);
    let note = format!(
        "{} threads x {} events; observed batch (events per flush) {}; raw baseline syncs once per rounded batch of each run; SQLite: {} threads share one Mutex<Connection>, autocommit INSERT per event; records of {record_bytes} bytes",
        sizes.threads,
        sizes.threads_events,
        batches.show("events"),
        sizes.threads
    );
    let raw_line = Line::new(
        LineSpec {
            row: "2a",
            what: "durable append, 64 writers (group commit)",
            unit: "events/s",
            baseline_name: "raw append, fdatasync per batch",
            compare: Compare::Throughput,
            target: Some(0.3),
        },
        armistice.clone(),
        Samples::new(raw_rates),
        note,
    );
    let sqlite_line = Line::new(
        LineSpec {
            row: "2b",
            what: "durable append, 64 writers (group commit)",
            unit: "events/s",
            baseline_name: "SQLite WAL FULL, 1 txn/event",
            compare: Compare::Throughput,
            target: Some(5.0),
        },
        armistice,
        Samples::new(sqlite_rates),
        String::new(),
    );
    Ok(vec![raw_line, sqlite_line])
}
