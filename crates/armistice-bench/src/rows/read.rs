//! Rows 4, 5 and 6: reading the log back. Full replay of every projection
//! against decoding alone, as-of queries against SQL over the SQLite table,
//! and `verify` against plain SHA-256 over the same bytes.

use crate::child::{peak_rss_kib, PhaseOutput};
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
            target: Some(0.5),
        },
        armistice.clone(),
        Samples::new(decode_rates),
        note,
    );
    let absolute = Line::new(
        LineSpec {
            row: "4b",
            what: "full replay of every projection",
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
                target: Some(1.0),
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
            target: Some(0.5),
        },
        Samples::new(armistice),
        Samples::new(baseline),
        format!(
            "{} entries, {total_bytes} stored bytes; problems found: {problems}",
            bodies.len()
        ),
    ))
}
