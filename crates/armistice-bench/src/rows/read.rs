//! Rows 4, 5 and 6: reading the log back. Full replay of every projection
//! against decoding alone, as-of queries against SQL over the SQLite table,
//! and `verify` against plain SHA-256 over the same bytes.

use crate::child::{peak_rss_kib, Phase, PhaseOutput};
use crate::gen;
use crate::sqlite;
use crate::table::{Compare, Line, LineSpec, Samples};
use anyhow::Context;
use armistice_core::entry::{decode_entry, sha256};
use armistice_core::Timestamp;
use armistice_projections::{ClaimFilter, Projection, Replay, View};
use armistice_store::Ledger;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

/// Replays the entries `view` can see, as `armistice`'s query path does
/// (stopping at `known_at` by binary search, or fetching the entries that
/// occurred by `at` through the index); returns the projection and how many
/// entries were read.
pub fn project_counting(ledger: &Ledger, view: View) -> anyhow::Result<(Projection, u64)> {
    let last = match view.known_at {
        Timestamp::MAX => ledger.head().seq,
        known_at => ledger.last_seq_recorded_by(known_at)?,
    };
    let mut replay = Replay::new(view);
    let mut read = 0;
    // Like `armistice`: entries that occurred by `--at` through the index
    // when they are under half of the log.
    if let Some(records) = ledger.records_occurred_by(view.at, last, last / 2)? {
        for record in &records {
            read += 1;
            if replay.apply(record).is_break() {
                break;
            }
        }
        return Ok((replay.finish(), read));
    }
    for record in ledger.records_ahead(1, last) {
        read += 1;
        if replay.apply(&record?).is_break() {
            break;
        }
    }
    Ok((replay.finish(), read))
}

/// Every projection over the whole log: the fold, then `status` and
/// `claims`. Returns the entries read.
pub fn replay_everything(ledger: &Ledger) -> anyhow::Result<u64> {
    let (projection, read) = project_counting(ledger, View::EVERYTHING)?;
    black_box(projection.status(None)?);
    black_box(projection.claims(&ClaimFilter::default()));
    Ok(read)
}

/// Decodes every entry (header and payload), folding nothing.
pub fn decode_everything(ledger: &Ledger) -> anyhow::Result<u64> {
    let mut decoded = 0;
    for item in ledger.entries(1, ledger.head().seq) {
        let (_, value) = item?;
        black_box(decode_entry(&value)?);
        decoded += 1;
    }
    Ok(decoded)
}

/// The child's work for `--phase replay` / `--phase decode`.
pub fn read_phase(path: &Path, fold: bool) -> anyhow::Result<PhaseOutput> {
    let ledger = Ledger::open(path, armistice_store::OpenMode::Read)
        .with_context(|| format!("opening {}", path.display()))?;
    let start = Instant::now();
    let events = match fold {
        true => replay_everything(&ledger)?,
        false => decode_everything(&ledger)?,
    };
    Ok(PhaseOutput {
        seconds: start.elapsed().as_secs_f64(),
        events,
        peak_rss_kib: peak_rss_kib()?,
    })
}

fn rate_samples(
    runs: usize,
    mut work: impl FnMut() -> anyhow::Result<u64>,
) -> anyhow::Result<Samples> {
    let mut rates = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let events = work()?;
        rates.push(events as f64 / start.elapsed().as_secs_f64());
    }
    Ok(Samples::new(rates))
}

/// Row 4: full replay against decode-only (lines 4a) and the absolute
/// target of a million events per second (4b).
pub fn replay_lines(ledger: &Ledger, runs: usize) -> anyhow::Result<Vec<Line>> {
    let mut armistice_rates = Vec::new();
    let mut decode_rates = Vec::new();
    for _ in 0..runs {
        // Alternate the two so that drift (page cache, CPU clock) hits both alike.
        armistice_rates.extend(rate_samples(1, || replay_everything(ledger))?.values);
        decode_rates.extend(rate_samples(1, || decode_everything(ledger))?.values);
    }
    let armistice = Samples::new(armistice_rates);
    let note = format!(
        "{} entries: records() + fold + finish + status(None) + claims(all) vs raw_entries() + Header::decode + decode_payload",
        ledger.head().seq
    );
    let relative = Line::new(
        LineSpec {
            row: "4a",
            what: "full replay of every projection",
            unit: "events/s",
            baseline_name: "decode only",
            compare: Compare::Throughput,
            target: None,
        },
        armistice.clone(),
        Samples::new(decode_rates),
        note,
    );
    let absolute = Line::new(
        LineSpec {
            row: "4b",
            what: "full replay of every projection, warm",
            unit: "events/s",
            baseline_name: "target 1M events/s",
            compare: Compare::Throughput,
            target: Some(1.0),
        },
        armistice,
        Samples::one(1e6),
        String::new(),
    );
    Ok(vec![relative, absolute])
}

/// One as-of question, asked of both systems.
struct Question {
    row: String,
    what: String,
    view: View,
}

fn questions() -> Vec<Question> {
    let mut out = Vec::new();
    let when = [("early", 0.1), ("middle", 0.5), ("late", 0.9)];
    for (index, (label, fraction)) in when.into_iter().enumerate() {
        let point = gen::history_point(fraction);
        let letters = ["a", "b", "c", "d", "e", "f"];
        out.push(Question {
            row: format!("5{}", letters[2 * index]),
            what: format!("status --at {label} ({})", point.date()),
            view: View::new(point, Timestamp::MAX),
        });
        out.push(Question {
            row: format!("5{}", letters[2 * index + 1]),
            what: format!("claims --known-at {label} ({})", point.date()),
            view: View::new(gen::clock_now(), point),
        });
    }
    out
}

/// Armistice's answer: the replay, then `status` (all agreements) or `claims`.
fn armistice_answer(ledger: &Ledger, question: &Question) -> anyhow::Result<(u64, u64)> {
    let (projection, read) = project_counting(ledger, question.view)?;
    let claims = match question.view.known_at {
        Timestamp::MAX => projection
            .status(None)?
            .iter()
            .map(|row| row.claims.total)
            .sum(),
        _ => projection.claims(&ClaimFilter::default()).len() as u64,
    };
    Ok((read, claims))
}

/// SQL's answer to the same question: claim counts by agreement and state
/// as of `at`, or every claim recorded by `known_at` with its state.
fn sql_answer(conn: &rusqlite::Connection, question: &Question) -> anyhow::Result<u64> {
    let at = question.view.at.micros();
    match question.view.known_at {
        Timestamp::MAX => sqlite::status_counts(conn, u64::MAX >> 1, at),
        known_at => {
            let last = sqlite::last_seq_recorded_by(conn, known_at.micros())?;
            sqlite::claim_list(conn, last, at)
        }
    }
}

/// Row 5: the as-of queries, each `runs` times on both systems.
pub fn query_lines(ledger: &Ledger, db: &Path, runs: usize) -> anyhow::Result<Vec<Line>> {
    let conn = sqlite::open(db)?;
    let mut lines = Vec::new();
    for question in questions() {
        let (mut armistice, mut baseline) = (Vec::new(), Vec::new());
        let (mut read, mut claims, mut sql_claims) = (0, 0, 0);
        for _ in 0..runs {
            let start = Instant::now();
            (read, claims) = armistice_answer(ledger, &question)?;
            armistice.push(start.elapsed().as_secs_f64() * 1e3);
            let start = Instant::now();
            sql_claims = sql_answer(&conn, &question)?;
            baseline.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let note = format!(
            "read {read} of {} entries ({:.1}%); claims: Armistice {claims}, SQL {sql_claims}",
            ledger.head().seq,
            100.0 * read as f64 / ledger.head().seq.max(1) as f64
        );
        lines.push(Line::new(
            LineSpec {
                row: &question.row,
                what: &question.what,
                unit: "ms",
                baseline_name: "SQL over SQLite",
                compare: Compare::Time,
                target: Some(3.0),
            },
            Samples::new(armistice),
            Samples::new(baseline),
            note,
        ));
    }
    Ok(lines)
}

/// Row 6: `verify` against SHA-256 over the same stored bytes (each
/// entry's bytes hashed separately, in one thread).
pub fn verify_line(ledger: &Ledger, bodies: &[&[u8]], runs: usize) -> anyhow::Result<Line> {
    let total_bytes: usize = bodies.iter().map(|b| b.len()).sum();
    let megabytes = total_bytes as f64 / 1e6;
    let (mut armistice, mut baseline) = (Vec::new(), Vec::new());
    let mut problems = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let report = ledger.verify()?;
        armistice.push(megabytes / start.elapsed().as_secs_f64());
        problems = report.problems.len();
        let start = Instant::now();
        for body in bodies {
            black_box(sha256(body));
        }
        baseline.push(megabytes / start.elapsed().as_secs_f64());
    }
    Ok(Line::new(
        LineSpec {
            row: "6",
            what: "verify (chain, Merkle, indexes, signatures)",
            unit: "MB/s",
            baseline_name: "SHA-256 of the same bytes",
            compare: Compare::Throughput,
            target: Some(0.25),
        },
        Samples::new(armistice),
        Samples::new(baseline),
        format!(
            "{} entries, {total_bytes} stored bytes; problems found: {problems}",
            bodies.len()
        ),
    ))
}

/// The `armistice` binary built beside this one (`cargo build --release
/// -p armistice-cli`): the read rows are also measured as the CLI runs them.
pub fn cli_binary() -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    let cli = exe.with_file_name(format!("armistice{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        cli.is_file(),
        "{} is missing: build it first with `cargo build --release -p armistice-cli`",
        cli.display()
    );
    Ok(cli)
}

/// Runs the CLI on `ledger` with `args`, its output discarded; returns its
/// whole wall time in seconds.
fn cli_seconds(cli: &Path, ledger: &Path, args: &[&str]) -> anyhow::Result<f64> {
    let started = Instant::now();
    let output = std::process::Command::new(cli)
        .arg("--ledger")
        .arg(ledger)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "armistice {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(started.elapsed().as_secs_f64())
}

/// Rows 4c and 4d: a full replay as the CLI runs it — `armistice status
/// --json`, a new process that opens the ledger, replays every entry and
/// prints — against a new process that opens it and only decodes.
pub fn replay_process_lines(
    cli: &Path,
    ledger: &Path,
    seed: u64,
    runs: usize,
) -> anyhow::Result<Vec<Line>> {
    let (mut armistice, mut decode) = (Vec::new(), Vec::new());
    let mut entries = 0;
    for _ in 0..runs {
        let (output, wall) = crate::child::run_timed(Phase::Decode, ledger, 0, seed, None)?;
        entries = output.events;
        decode.push(entries as f64 / wall);
        let seconds = cli_seconds(cli, ledger, &["status", "--json"])?;
        armistice.push(entries as f64 / seconds);
    }
    let armistice = Samples::new(armistice);
    let note = format!(
        "{entries} entries; wall time of the whole process: `armistice status --json` (opening the ledger — a private copy of its files, see RECOVERY.md — replaying every entry, printing) vs a process that opens it and decodes every entry"
    );
    Ok(vec![
        Line::new(
            LineSpec {
                row: "4c",
                what: "full replay, new process (CLI)",
                unit: "events/s",
                baseline_name: "decode only, new process",
                compare: Compare::Throughput,
                target: Some(0.8),
            },
            armistice.clone(),
            Samples::new(decode),
            note,
        ),
        Line::new(
            LineSpec {
                row: "4d",
                what: "full replay, new process (CLI)",
                unit: "events/s",
                baseline_name: "target 500k events/s",
                compare: Compare::Throughput,
                target: Some(1.0),
            },
            armistice,
            Samples::one(5e5),
            String::new(),
        ),
    ])
}

/// Row 5 as the CLI runs it: each question asked of `armistice` in a new
/// process, against SQL answering it in a new process too.
pub fn query_process_lines(
    cli: &Path,
    ledger: &Path,
    db: &Path,
    seed: u64,
    runs: usize,
) -> anyhow::Result<Vec<Line>> {
    let mut lines = Vec::new();
    for (index, question) in questions().iter().enumerate() {
        let args: Vec<String> = match question.view.known_at {
            Timestamp::MAX => vec![
                "status".into(),
                "--json".into(),
                "--at".into(),
                question.view.at.to_string(),
            ],
            known_at => vec![
                "claims".into(),
                "--json".into(),
                "--at".into(),
                question.view.at.to_string(),
                "--known-at".into(),
                known_at.to_string(),
            ],
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (mut armistice, mut baseline) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            armistice.push(cli_seconds(cli, ledger, &args)? * 1e3);
            let (_, wall) = crate::child::run_timed(Phase::Sql, db, 0, seed, Some(index))?;
            baseline.push(wall * 1e3);
        }
        lines.push(Line::new(
            LineSpec {
                row: &format!("{}-cli", question.row),
                what: &format!("{}, new process (CLI)", question.what),
                unit: "ms",
                baseline_name: "SQL over SQLite, new process",
                compare: Compare::Time,
                target: Some(3.0),
            },
            Samples::new(armistice),
            Samples::new(baseline),
            format!("armistice {}", args.join(" ")),
        ));
    }
    Ok(lines)
}

/// The child's work for `--phase sql`: answer question `index` over the
/// SQLite database at `db` (opening it included).
pub fn sql_phase(db: &Path, index: usize) -> anyhow::Result<PhaseOutput> {
    let start = Instant::now();
    let conn = sqlite::open(db)?;
    let question = questions()
        .into_iter()
        .nth(index)
        .ok_or_else(|| anyhow::anyhow!("no question {index}"))?;
    let claims = sql_answer(&conn, &question)?;
    Ok(PhaseOutput {
        seconds: start.elapsed().as_secs_f64(),
        events: claims,
        peak_rss_kib: peak_rss_kib()?,
    })
}
