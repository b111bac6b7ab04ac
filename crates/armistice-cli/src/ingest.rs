//! `record` and `import`: JSON Lines in, one all-or-nothing batch appended.

use crate::args::{Global, ImportArgs, RecordArgs};
use crate::keys::read_signing_key;
use crate::open::{now, open};
use anyhow::{anyhow, bail, Context};
use armistice_core::json::{parse_line, Submission, LINE_BYTES_MAX};
use armistice_core::sign::sign_statement;
use armistice_store::{AppendOptions, Appended, StoreError};
use ed25519_dalek::SigningKey;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::Path;
use uuid::Uuid;

/// Lines an import appends per chunk (memory holds one chunk at a time).
const IMPORT_CHUNK_LINES: usize = 10_000;

/// A source of numbered, non-blank JSON lines.
pub struct Lines {
    reader: Box<dyn BufRead>,
    number: usize,
    buffer: Vec<u8>,
}

impl Lines {
    /// Opens FILE, or standard input for `-`.
    pub fn open(file: &str) -> anyhow::Result<Lines> {
        let reader: Box<dyn BufRead> = if file == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            let handle =
                std::fs::File::open(file).with_context(|| format!("cannot open {file}"))?;
            Box::new(BufReader::with_capacity(1 << 20, handle))
        };
        Ok(Lines::from_reader(reader))
    }

    /// Reads lines from any reader (the demo's embedded example).
    pub fn from_reader(reader: Box<dyn BufRead>) -> Lines {
        Lines {
            reader,
            number: 0,
            buffer: Vec::new(),
        }
    }

    /// The next non-blank line and its number (from 1), or `None` at the end.
    pub fn next_line(&mut self) -> anyhow::Result<Option<(usize, String)>> {
        loop {
            self.buffer.clear();
            self.number += 1;
            let limit = LINE_BYTES_MAX as u64 + 1;
            let read = self
                .reader
                .by_ref()
                .take(limit)
                .read_until(b'\n', &mut self.buffer)?;
            if read == 0 {
                return Ok(None);
            }
            if self.buffer.len() as u64 == limit && self.buffer.last() != Some(&b'\n') {
                bail!("line {}: longer than {LINE_BYTES_MAX} bytes", self.number);
            }
            let text = std::str::from_utf8(&self.buffer)
                .map_err(|_| anyhow!("line {}: not valid UTF-8", self.number))?;
            let text = text.trim();
            if !text.is_empty() {
                return Ok(Some((self.number, text.to_owned())));
            }
        }
    }
}

/// Parses one line, assigning ids, and signs it when a key is given.
pub fn parse_numbered(
    number: usize,
    line: &str,
    key: Option<&SigningKey>,
) -> anyhow::Result<Submission> {
    let mut submission =
        parse_line(line, Uuid::now_v7()).map_err(|e| anyhow!("line {number}: {e}"))?;
    if let Some(key) = key {
        sign(&mut submission, key).map_err(|e| anyhow!("line {number}: {e}"))?;
    }
    Ok(submission)
}

/// Client-side signing: fixes `occurred_at` (now, when absent), then signs
/// the statement with the party key. Operator statements are left for the
/// ledger to sign.
fn sign(submission: &mut Submission, key: &SigningKey) -> anyhow::Result<()> {
    if submission.signature.is_some() {
        bail!("field `signature`: the line is already signed; drop --sign or the signature");
    }
    if submission.statement.by.is_operator() {
        return Ok(());
    }
    if !submission.occurred_at_given {
        submission.statement.occurred_at = now();
        submission.occurred_at_given = true;
    }
    submission.signature = Some(sign_statement(&submission.statement, key));
    Ok(())
}

/// Names the input line of a rejected event.
fn at_line(error: StoreError, numbers: &[usize]) -> anyhow::Error {
    match error {
        StoreError::Rejected { index, rejection } => match numbers.get(index) {
            Some(number) => anyhow!("line {number}: {rejection}; nothing was recorded"),
            None => anyhow!("{rejection}; nothing was recorded"),
        },
        other => anyhow::Error::new(other),
    }
}

/// `armistice record`.
pub fn record(global: &Global, args: &RecordArgs) -> anyhow::Result<()> {
    let key = args.sign.as_deref().map(read_signing_key).transpose()?;
    let mut lines = Lines::open(&args.file)?;
    let (mut numbers, mut batch) = (Vec::new(), Vec::new());
    while let Some((number, line)) = lines.next_line()? {
        batch.push(parse_numbered(number, &line, key.as_ref())?);
        numbers.push(number);
    }
    if batch.is_empty() {
        bail!(
            "no events in {}",
            if args.file == "-" {
                "standard input"
            } else {
                &args.file
            }
        );
    }
    let ledger = open(global)?;
    let options = AppendOptions {
        now: now(),
        backfill: false,
    };
    let appended = ledger
        .append(&batch, &options)
        .map_err(|e| at_line(e, &numbers))?;
    print_appended(&appended, args.json);
    Ok(())
}

fn print_appended(appended: &[Appended], json: bool) {
    if json {
        let rows: Vec<serde_json::Value> = appended
            .iter()
            .map(|a| {
                serde_json::json!({
                    "seq": a.seq, "event_id": a.event_id.to_string(), "stream": a.stream,
                    "version": a.version, "hash": hex::encode(a.hash), "duplicate": a.duplicate,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return;
    }
    for a in appended {
        let note = if a.duplicate {
            "  (already recorded; nothing added)"
        } else {
            ""
        };
        println!(
            "seq {}  {}  {} v{}{note}",
            a.seq, a.event_id, a.stream, a.version
        );
    }
}

/// What an import did.
pub struct ImportSummary {
    /// Events read.
    pub events: u64,
    /// Of which already stored (idempotent re-submissions).
    pub duplicates: u64,
    /// The last seq after the import.
    pub head: u64,
}

/// `armistice import`.
pub fn import(global: &Global, args: &ImportArgs) -> anyhow::Result<()> {
    let key = args.sign.as_deref().map(read_signing_key).transpose()?;
    let ledger = open(global)?;
    let progress = progress_bar(&args.file);
    let lines = Lines::open(&args.file)?;
    let summary = import_lines(&ledger, lines, args.backfill, key.as_ref(), &progress)?;
    progress.finish_and_clear();
    println!(
        "imported {} events ({} already recorded); the log now holds {} entries",
        summary.events, summary.duplicates, summary.head
    );
    Ok(())
}

/// Appends every line as one session: committed whole, or rolled back.
pub fn import_lines(
    ledger: &armistice_store::Ledger,
    mut lines: Lines,
    backfill: bool,
    key: Option<&SigningKey>,
    progress: &ProgressBar,
) -> anyhow::Result<ImportSummary> {
    let mut session = ledger.begin();
    let mut summary = ImportSummary {
        events: 0,
        duplicates: 0,
        head: 0,
    };
    loop {
        let (mut numbers, mut chunk) = (Vec::new(), Vec::new());
        while chunk.len() < IMPORT_CHUNK_LINES {
            let Some((number, line)) = lines.next_line()? else {
                break;
            };
            chunk.push(parse_numbered(number, &line, key)?);
            numbers.push(number);
        }
        if chunk.is_empty() {
            break;
        }
        let options = AppendOptions {
            now: now(),
            backfill,
        };
        let appended = session
            .append(&chunk, &options)
            .map_err(|e| at_line(e, &numbers))?;
        summary.events += appended.len() as u64;
        summary.duplicates += appended.iter().filter(|a| a.duplicate).count() as u64;
        progress.inc(appended.len() as u64);
    }
    summary.head = session.commit()?.seq;
    Ok(summary)
}

/// Events/s and ETA on a terminal; nothing when stderr is piped.
fn progress_bar(file: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let total = if file == "-" {
        None
    } else {
        count_lines(Path::new(file)).ok()
    };
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::new_spinner(),
    };
    let template = "{spinner} {pos}/{len} events  {rate}  ETA {eta}  {wide_bar}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.with_key(
            "rate",
            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{:.0} events/s", state.per_sec());
            },
        ));
    }
    bar
}

fn count_lines(path: &Path) -> std::io::Result<u64> {
    let mut reader = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut count = 0;
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(count);
        }
        count += buffer.iter().filter(|b| **b == b'\n').count() as u64;
        let used = buffer.len();
        reader.consume(used);
    }
}
