//! `record`, `import` and `sign`: JSON Lines in. Input is read one line at
//! a time and each line is checked as it arrives, so the first bad line
//! stops the command at once, whatever follows it; memory holds at most a
//! bounded part of the batch (the store hands staged chunks to the database
//! as it goes), while the batch still lands whole or not at all.

use crate::args::{Global, ImportArgs, RecordArgs, SignArgs};
use crate::keys::read_signer;
use crate::open::{now, open};
use crate::outln;
use anyhow::{anyhow, bail, Context};
use armistice_api::wire::AppendedJson;
use armistice_core::disclose::{committed_fields, Salts};
use armistice_core::json::{
    parse_line, statement_fields, Submission, COPY_LINE_BYTES_MAX, LINE_BYTES_MAX,
};
use armistice_core::sign::sign_statement;
use armistice_merkle::note::NoteSigner;
use armistice_store::{AppendOptions, Appended, Ledger, OpenMode, StoreError};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::Path;
use uuid::Uuid;

/// Lines staged per call into the store: a rejection is found within this
/// many lines of the bad one.
const LINES_PER_CALL: usize = 256;
/// Bytes of input staged per call at most.
const BYTES_PER_CALL: usize = 4 * 1024 * 1024;
/// Most events one `record` call takes: more is an `import`.
pub const RECORD_EVENTS_MAX: usize = 10_000;

/// A source of numbered, non-blank JSON lines.
pub struct Lines {
    reader: Box<dyn BufRead>,
    number: usize,
    buffer: Vec<u8>,
    name: String,
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
        let mut lines = Lines::from_reader(reader);
        lines.name = match file {
            "-" => "standard input".to_owned(),
            path => path.to_owned(),
        };
        Ok(lines)
    }

    /// Reads lines from any reader (the demo's embedded example).
    pub fn from_reader(reader: Box<dyn BufRead>) -> Lines {
        Lines {
            reader,
            number: 0,
            buffer: Vec::new(),
            name: "the input".to_owned(),
        }
    }

    /// The next non-blank line and its number (from 1), or `None` at the
    /// end. A line longer than any line accepted is an error as soon as its
    /// first [`COPY_LINE_BYTES_MAX`] + 1 bytes are read.
    pub fn next_line(&mut self) -> anyhow::Result<Option<(usize, String)>> {
        loop {
            self.buffer.clear();
            self.number += 1;
            let limit = COPY_LINE_BYTES_MAX as u64 + 1;
            let read = self
                .reader
                .by_ref()
                .take(limit)
                .read_until(b'\n', &mut self.buffer)?;
            if read == 0 {
                return Ok(None);
            }
            if self.buffer.len() as u64 == limit && self.buffer.last() != Some(&b'\n') {
                bail!(
                    "line {}: longer than {COPY_LINE_BYTES_MAX} bytes (a statement is at most {LINE_BYTES_MAX} bytes, an exported copy at most {COPY_LINE_BYTES_MAX}); nothing was recorded",
                    self.number
                );
            }
            let text = std::str::from_utf8(&self.buffer).map_err(|_| {
                anyhow!(
                    "line {}: not valid UTF-8; nothing was recorded",
                    self.number
                )
            })?;
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
    key: Option<&NoteSigner>,
) -> anyhow::Result<Submission> {
    parse_numbered_with_id(number, line, key, Uuid::now_v7())
}

/// [`parse_numbered`], with the `event_id` a line without one gets.
pub fn parse_numbered_with_id(
    number: usize,
    line: &str,
    key: Option<&NoteSigner>,
    fresh_id: Uuid,
) -> anyhow::Result<Submission> {
    let mut submission = parse_line(line, fresh_id)
        .map_err(|e| anyhow!("line {number}: {e}; nothing was recorded"))?;
    if let Some(key) = key {
        sign(&mut submission, key).map_err(|e| anyhow!("line {number}: {e}"))?;
    }
    Ok(submission)
}

/// Client-side signing: fixes `occurred_at` (now, when absent) and the
/// salts of the redactable fields (fresh random ones, when absent), then
/// signs the committed statement with the party key.
fn sign(submission: &mut Submission, key: &NoteSigner) -> anyhow::Result<()> {
    if submission.signature.is_some() {
        bail!("field `signature`: the line is already signed; drop --sign or the signature");
    }
    if submission.statement.by.is_operator() {
        bail!("field `by`: operator statements are signed by the ledger, not with a party key");
    }
    if !submission.copy.is_empty() {
        bail!("a copied entry cannot be signed again");
    }
    if !submission.occurred_at_given {
        submission.statement.occurred_at = now();
        submission.occurred_at_given = true;
    }
    for field in committed_fields(&submission.statement) {
        submission.salts.entry(field).or_insert_with(|| {
            let mut salt = [0; 16];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
            salt
        });
    }
    let signature = sign_statement(&submission.statement, &submission.salts, key.signing_key())
        .map_err(|e| anyhow!("field `salts`: {e}"))?;
    submission.signature = Some(signature);
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
    let key = args
        .sign
        .as_deref()
        .map(|path| read_signer(path, "armistice-party"))
        .transpose()?;
    let lines = Lines::open(&args.file)?;
    let ledger = open(global, OpenMode::Write)?;
    let outcome = ingest(
        &ledger,
        lines,
        false,
        key.as_ref(),
        &ProgressBar::hidden(),
        Some(RECORD_EVENTS_MAX),
    )?;
    print_appended(&outcome.appended, args.json)
}

fn print_appended(appended: &[Appended], json: bool) -> anyhow::Result<()> {
    let rows: Vec<AppendedJson> = appended.iter().map(AppendedJson::from).collect();
    print_appended_rows(&rows, json)
}

/// What `record` prints for the events it appended (also over `--server`).
pub fn print_appended_rows(appended: &[AppendedJson], json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string(appended)?)?;
        return Ok(());
    }
    for a in appended {
        let note = if a.duplicate {
            "  (already recorded; nothing added)"
        } else {
            ""
        };
        outln!(
            "seq {}  {}  {} v{}{note}",
            a.seq,
            a.event_id,
            a.stream,
            a.version
        )?;
    }
    Ok(())
}

/// What an import did.
pub struct ImportSummary {
    /// Events read.
    pub events: u64,
    /// Of which already stored (idempotent re-submissions).
    pub duplicates: u64,
    /// The last seq after the import.
    pub head: u64,
    /// What was appended, per event (kept only for `record`).
    pub appended: Vec<Appended>,
}

/// `armistice import`.
pub fn import(global: &Global, args: &ImportArgs) -> anyhow::Result<()> {
    let key = args
        .sign
        .as_deref()
        .map(|path| read_signer(path, "armistice-party"))
        .transpose()?;
    let lines = Lines::open(&args.file)?;
    let ledger = open(global, OpenMode::Write)?;
    let progress = progress_bar(&args.file);
    let summary = ingest(&ledger, lines, args.backfill, key.as_ref(), &progress, None)?;
    progress.finish_and_clear();
    outln!(
        "imported {} events ({} already recorded); the log now holds {} entries",
        summary.events,
        summary.duplicates,
        summary.head
    )?;
    Ok(())
}

/// Appends every line as one session: committed whole, or rolled back.
/// With `events_max`, more events than that is an error (and the appended
/// rows are kept for printing).
pub fn ingest(
    ledger: &Ledger,
    lines: Lines,
    backfill: bool,
    key: Option<&NoteSigner>,
    progress: &ProgressBar,
    events_max: Option<usize>,
) -> anyhow::Result<ImportSummary> {
    ingest_with(ledger, lines, backfill, key, progress, events_max, false)
}

fn ingest_with(
    ledger: &Ledger,
    mut lines: Lines,
    backfill: bool,
    key: Option<&NoteSigner>,
    progress: &ProgressBar,
    events_max: Option<usize>,
    copies_only: bool,
) -> anyhow::Result<ImportSummary> {
    let mut session = ledger.begin()?;
    let mut summary = ImportSummary {
        events: 0,
        duplicates: 0,
        head: 0,
        appended: Vec::new(),
    };
    // Line numbers of every event so far (8 bytes each), to name the line of
    // a rejection found when the whole batch is checked.
    let mut numbers = Vec::new();
    loop {
        let (mut chunk, mut bytes) = (Vec::new(), 0);
        while chunk.len() < LINES_PER_CALL && bytes < BYTES_PER_CALL {
            let Some((number, line)) = lines.next_line()? else {
                break;
            };
            bytes += line.len();
            let submission = parse_numbered(number, &line, key)?;
            if copies_only && submission.copy.hash.is_none() {
                bail!("line {number}: not an export line: it has no `hash`");
            }
            chunk.push(submission);
            numbers.push(number);
            if events_max.is_some_and(|max| numbers.len() > max) {
                bail!(
                    "line {number}: `record` takes at most {} events in one batch; use `armistice import` for more; nothing was recorded",
                    events_max.unwrap_or_default()
                );
            }
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
        if events_max.is_some() {
            summary.appended.extend(appended);
        }
    }
    if summary.events == 0 {
        bail!("no events in {}", lines.name);
    }
    summary.head = session.commit().map_err(|e| at_line(e, &numbers))?.seq;
    Ok(summary)
}

/// Copies an export line by line into `ledger` (a copy): every line must
/// be an export line (with its `hash`) and reproduce its entry exactly.
pub fn ingest_copies(ledger: &Ledger, lines: Lines) -> anyhow::Result<ImportSummary> {
    ingest_with(
        ledger,
        lines,
        true,
        None,
        &ProgressBar::hidden(),
        None,
        true,
    )
}

/// `armistice sign`: signs each line with a party key, offline, and prints
/// it with its event_id, occurred_at, salts and signature.
pub fn sign_lines(args: &SignArgs) -> anyhow::Result<()> {
    let key = read_signer(&args.key, "armistice-party")?;
    let mut lines = Lines::open(&args.file)?;
    let mut signed = 0;
    while let Some((number, line)) = lines.next_line()? {
        let submission = parse_numbered(number, &line, Some(&key))?;
        outln!("{}", signed_line(&submission))?;
        signed += 1;
    }
    if signed == 0 {
        bail!("no events in {}", lines.name);
    }
    Ok(())
}

/// A signed statement as one JSON line: its fields, `expected_version`,
/// the salts and the signature (what `sign` prints and `--server` sends).
pub fn signed_line(submission: &Submission) -> String {
    let mut fields = statement_fields(&submission.statement);
    if let Some(expected) = submission.expected_version {
        fields.insert("expected_version".into(), expected.into());
    }
    fields.insert("salts".into(), salts_json(&submission.salts));
    if let Some(signature) = submission.signature {
        fields.insert("signature".into(), hex::encode(signature).into());
    }
    serde_json::Value::Object(fields).to_string()
}

/// Salts as JSON: field name → 32 hex characters.
pub fn salts_json(salts: &Salts) -> serde_json::Value {
    serde_json::Value::Object(
        salts
            .iter()
            .map(|(field, salt)| (field.name().to_owned(), hex::encode(salt).into()))
            .collect(),
    )
}

/// Events/s and ETA on a terminal; nothing when stderr is piped.
pub fn progress_bar(file: &str) -> ProgressBar {
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
