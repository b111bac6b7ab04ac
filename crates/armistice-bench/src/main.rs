//! `armistice-bench`: the benchmark suite of issue 5. It generates a
//! synthetic ledger from a seed and prints one table in which every
//! Armistice figure stands beside its baseline (raw `fdatasync`, plain
//! decoding, SHA-256, SQLite) measured in the same run, as a ratio against
//! the issue's target. No figure is asserted: a benchmark is not a test.
//!
//! ```text
//! cargo run --release -p armistice-bench -- --events 1000000
//! cargo run --release -p armistice-bench -- --quick      # CI smoke run
//! ```
#![forbid(unsafe_code)]

mod child;
mod gen;
mod raw;
mod rows;
mod sqlite;
mod table;

use anyhow::Context;

/// sled allocates for every insert (copy-on-write leaves); mimalloc makes
/// that markedly cheaper than the system allocator (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use armistice_store::Ledger;
use child::{Phase, PhaseOutput};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use table::{Line, Report, Samples};

/// Benchmarks Armistice against the machine's limits and SQLite, in one run.
#[derive(Parser, Debug)]
#[command(name = "armistice-bench", version)]
struct Args {
    /// Events in the bulk-imported ledger (rows 3 to 7) [default: 1000000, or 20000 with --quick].
    #[arg(long)]
    events: Option<u64>,
    /// Small sizes for a CI smoke run (well under a minute).
    #[arg(long)]
    quick: bool,
    /// Seed of the synthetic ledger.
    #[arg(long, default_value_t = 5)]
    seed: u64,
    /// Folder for temporary data (a fresh subfolder is made and removed);
    /// default: the system temp folder. Use a disk, not tmpfs.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Also write the table as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Internal: run one measured phase in this (child) process on `--dir`.
    #[arg(long, hide = true, value_enum)]
    phase: Option<Phase>,
    /// Internal: the as-of question of `--phase sql`.
    #[arg(long, hide = true)]
    question: Option<usize>,
}

/// How much work each row does.
#[derive(Clone, Debug)]
pub struct Sizes {
    /// Events of the bulk-imported ledger.
    pub events: u64,
    /// Appends per run of row 1.
    pub single_appends: usize,
    /// Concurrent writers of row 2.
    pub threads: usize,
    /// Events per writer in row 2.
    pub threads_events: usize,
    /// Runs of the short rows (1 and 5).
    pub runs_short: usize,
    /// Runs of row 2 and of the read rows (4 and 6).
    pub runs_read: usize,
    /// Runs of the N-event import and its SQLite baseline, and of the memory children.
    pub runs_long: usize,
}

impl Sizes {
    fn of(args: &Args) -> Sizes {
        match args.quick {
            true => Sizes {
                events: args.events.unwrap_or(20_000),
                single_appends: 50,
                threads: 64,
                threads_events: 5,
                runs_short: 3,
                runs_read: 3,
                runs_long: 3,
            },
            false => Sizes {
                events: args.events.unwrap_or(1_000_000),
                single_appends: 200,
                threads: 64,
                threads_events: 40,
                runs_short: 5,
                runs_read: 3,
                runs_long: 1,
            },
        }
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("armistice-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(phase) = args.phase {
        return run_phase(phase, &args);
    }
    let sizes = Sizes::of(&args);
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&parent)?;
    let work = tempfile::Builder::new()
        .prefix("armistice-bench-")
        .tempdir_in(&parent)
        .with_context(|| format!("making a temporary folder in {}", parent.display()))?;
    let started = Instant::now();
    let mut report = bench(work.path(), args.seed, &sizes)?;
    report.method.push(format!(
        "total wall time of the run: {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    print!("{}", report.render());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    work.close().context("removing the temporary folder")?;
    Ok(())
}

/// A child process's work: print its report as one JSON line.
fn run_phase(phase: Phase, args: &Args) -> anyhow::Result<()> {
    let dir = args.dir.as_deref().context("--phase needs --dir")?;
    let output = match phase {
        Phase::Import => rows::import::import_phase(dir, args.events.unwrap_or(0), args.seed)?,
        Phase::Replay => rows::read::read_phase(dir, true)?,
        Phase::Decode => rows::read::read_phase(dir, false)?,
        Phase::Sql => rows::read::sql_phase(dir, args.question.unwrap_or(0))?,
    };
    println!("{}", serde_json::to_string(&output)?);
    Ok(())
}

fn progress(what: &str, started: Instant) {
    eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
}

/// Every row, in the issue's order; the data lives under `work`.
fn bench(work: &Path, seed: u64, sizes: &Sizes) -> anyhow::Result<Report> {
    let started = Instant::now();
    let mut lines: Vec<Line> = Vec::new();
    progress("row 1: single durable appends", started);
    lines.push(rows::durable::single_writer(work, seed, sizes)?);
    progress("row 2: concurrent durable appends", started);
    lines.extend(rows::durable::concurrent_writers(work, seed, sizes)?);

    progress("row 3: bulk import (child process)", started);
    let (ledger_path, imports) = import_runs(work, seed, sizes)?;
    let folder_bytes = rows::memory::folder_bytes(&ledger_path)?;
    let ledger = Ledger::open(&ledger_path, armistice_store::OpenMode::Write)?;
    let rows = rows::import::load_rows(&ledger)?;
    let raw_bytes: u64 = rows.iter().map(|r| r.body.len() as u64).sum();
    let rates = imports
        .iter()
        .map(|o| o.events as f64 / o.seconds)
        .collect();
    let db = work.join("row3.sqlite");
    progress("row 3: baselines (raw, SQLite)", started);
    lines.extend(rows::import::import_lines(
        work,
        &db,
        &rows,
        Samples::new(rates),
        sizes.runs_long,
    )?);
    progress("row 4: replay", started);
    lines.extend(rows::read::replay_lines(&ledger, sizes.runs_read)?);
    progress("row 5: as-of queries", started);
    lines.extend(rows::read::query_lines(&ledger, &db, sizes.runs_short)?);

    progress("row 6: verify", started);
    let bodies: Vec<&[u8]> = rows.iter().map(|r| r.body.as_slice()).collect();
    lines.push(rows::read::verify_line(&ledger, &bodies, sizes.runs_read)?);
    let method = method(sizes, seed, work, &rows, raw_bytes);
    drop(bodies);
    drop(rows);
    drop(ledger);
    progress(
        "rows 4 and 5 as the CLI runs them (a new process each time)",
        started,
    );
    let cli = rows::read::cli_binary()?;
    lines.extend(rows::read::replay_process_lines(
        &cli,
        &ledger_path,
        seed,
        sizes.runs_read,
    )?);
    lines.extend(rows::read::query_process_lines(
        &cli,
        &ledger_path,
        &db,
        seed,
        sizes.runs_short,
    )?);

    progress("row 7: disk and memory (child processes)", started);
    lines.push(rows::memory::disk_line(
        folder_bytes,
        raw_bytes,
        sizes.events,
    ));
    let (mut replays, mut decodes) = (Vec::new(), Vec::new());
    for _ in 0..sizes.runs_long {
        replays.push(child::run(Phase::Replay, &ledger_path, 0, seed)?);
        decodes.push(child::run(Phase::Decode, &ledger_path, 0, seed)?);
    }
    lines.extend(rows::memory::memory_lines(&replays, &imports, &decodes));
    progress("rows 8 and 9: over HTTP", started);
    lines.push(rows::server::append_line(work, seed, sizes)?);
    lines.push(rows::server::status_line(&ledger_path, sizes)?);
    progress("done", started);
    Ok(Report { method, lines })
}

/// Row 3's Armistice side: `runs_long` imports, each in a child process
/// into a fresh ledger; the last ledger is kept for the other rows.
fn import_runs(
    work: &Path,
    seed: u64,
    sizes: &Sizes,
) -> anyhow::Result<(PathBuf, Vec<PhaseOutput>)> {
    let mut outputs = Vec::new();
    let mut kept = None;
    for run in 0..sizes.runs_long {
        let path = work.join(format!("ledger-{run}"));
        outputs.push(child::run(Phase::Import, &path, sizes.events, seed)?);
        if let Some(previous) = kept.replace(path) {
            std::fs::remove_dir_all(previous)?;
        }
    }
    let kept = kept.context("no import ran")?;
    Ok((kept, outputs))
}

/// What the figures rest on: machine, sizes, runs, workload.
fn method(
    sizes: &Sizes,
    seed: u64,
    work: &Path,
    rows: &[sqlite::Row],
    raw_bytes: u64,
) -> Vec<String> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut mix = std::collections::BTreeMap::new();
    for row in rows {
        *mix.entry(row.event_type).or_insert(0u64) += 1;
    }
    let events = rows.len().max(1) as f64;
    let payload_bytes: usize = rows.iter().map(|r| r.payload_bytes).sum();
    let mix: Vec<String> = mix
        .iter()
        .filter_map(|(code, count)| {
            let name = armistice_core::EventType::from_code(*code)?.name();
            Some(format!("{name} {:.1}%", 100.0 * *count as f64 / events))
        })
        .collect();
    vec![
        format!("machine: {cpu}, {cores} cores; data under {} (same filesystem for Armistice, raw files and SQLite)", work.display()),
        format!(
            "workload: seed {seed}, {} events over one year of recorded_at, {} agreements, 8 parties; mean stored entry {} bytes (leaf + marker + payload), mean payload {} bytes; mix: {}",
            sizes.events,
            gen::AGREEMENTS,
            raw_bytes / rows.len().max(1) as u64,
            payload_bytes / rows.len().max(1),
            mix.join(", ")
        ),
        format!(
            "runs: rows 1 and 5 x{}, rows 2, 4 and 6 x{}, row 3 (import, SQLite bulk) and row 7 children x{}; raw baseline of row 3 x{}; figures are medians, with (min–max, n) when n > 1; ratios are of medians",
            sizes.runs_short, sizes.runs_read, sizes.runs_long, sizes.runs_long.max(3)
        ),
        "row 1/2 baselines write records of the mean size of the entries Armistice appended, on the same filesystem; row 2a syncs once per observed batch (events / flush rounds)".to_owned(),
        "row 3 times only session.append + commit (generation of each chunk excluded); SQLite rows are prepared in memory before timing; the hash chain is computed in the client".to_owned(),
        "row 5: `status --at T` = the entries that occurred by T (through the occurred_at index when they are under half of the log, else all of it), replayed, then status(None); `claims --known-at K` = binary search for the last seq recorded by K, replay to there, claims(all); SQL answers the same (claim state by Armistice's precedence) with the same binary search on seq; ratio = SQL time / Armistice time".to_owned(),
        "row 6: SHA-256 baseline hashes each stored entry's bytes separately, in one thread".to_owned(),
        "parties have no signing keys: only operator statements (registrations) carry signatures".to_owned(),
    ]
}
