//! Several processes on one ledger, and a writer killed mid-import: nothing
//! lost, nothing partial, and a ledger that still verifies.

mod common;

use common::{claim_line, describe, spawn_piped, Ledger, WORLD};
use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Claims per appender, and appenders started at once.
const APPENDERS: usize = 6;
const CLAIMS_PER_APPENDER: usize = 5;

#[test]
fn concurrent_appenders_with_wait_lose_nothing() {
    let ledger = Ledger::new();
    ledger.record(WORLD);
    let base = ledger.head().entries;

    // `record` reads its input before it opens the ledger: start every process,
    // then release them all at once by writing and closing their inputs.
    let mut children: Vec<_> = (0..APPENDERS)
        .map(|_| {
            let mut command = ledger.command();
            command.args(["record", "--wait", "30", "-"]);
            spawn_piped(command)
        })
        .collect();
    let inputs: Vec<String> = (0..APPENDERS)
        .map(|p| {
            (0..CLAIMS_PER_APPENDER)
                .map(|c| claim_line(&format!("P{p}-{c}")) + "\n")
                .collect()
        })
        .collect();
    for (child, input) in children.iter_mut().zip(&inputs) {
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
    }
    let mut printed_seqs = BTreeSet::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "appender: {}", describe(&output));
        let seqs: Vec<u64> = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
            .collect();
        assert_eq!(seqs.len(), CLAIMS_PER_APPENDER);
        // One batch lands as one run of consecutive seqs.
        assert!(
            seqs.windows(2).all(|w| w[1] == w[0] + 1),
            "a batch is contiguous: {seqs:?}"
        );
        printed_seqs.extend(seqs);
    }

    let total = (APPENDERS * CLAIMS_PER_APPENDER) as u64;
    let expected: BTreeSet<u64> = (base + 1..=base + total).collect();
    assert_eq!(printed_seqs, expected, "every seq printed once, no gap");
    let entries = ledger.entries();
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=base + total).collect::<Vec<_>>(), "gap-free");
    let claims: BTreeSet<String> = entries
        .iter()
        .filter_map(|e| e["claim"].as_str())
        .filter(|c| c.starts_with('P'))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        claims.len(),
        APPENDERS * CLAIMS_PER_APPENDER,
        "nothing lost"
    );
    assert_eq!(ledger.head().entries, base + total);
}

/// Spawns `import -` (with `--wait`, so that our probes cannot make it fail)
/// and returns once it holds the ledger, as seen by a `log` without
/// `--wait` failing with "in use". Returns that failure's stderr.
fn hold_with_import(ledger: &Ledger) -> (std::process::Child, String) {
    let mut command = ledger.command();
    command.args(["import", "--wait", "30", "-"]);
    let importer = spawn_piped(command);
    // The importer opens the ledger before it reads its input, and its input
    // stays open: it holds the ledger until we close it. Probe until the
    // ledger reports itself in use (each probe is a whole process run, so
    // this loop spins at most a few times).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let started = Instant::now();
        let output = ledger.run(&["log"]);
        match output.status.code() {
            Some(0) => {
                assert!(
                    Instant::now() < deadline,
                    "the importer never opened the ledger"
                );
            }
            Some(2) => {
                let stderr = String::from_utf8(output.stderr).unwrap();
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "a busy ledger must fail fast, not hang"
                );
                return (importer, stderr);
            }
            _ => panic!("log on a busy ledger: {}", describe(&output)),
        }
    }
}

#[test]
fn a_second_process_gets_a_clear_error_not_a_hang() {
    let ledger = Ledger::new();
    ledger.record(WORLD);
    let (mut importer, stderr) = hold_with_import(&ledger);
    assert!(stderr.contains("in use"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Other commands fail the same way while the importer holds the ledger.
    for args in [&["verify"][..], &["export"][..]] {
        let stderr = ledger.fails(args);
        assert!(stderr.contains("in use"), "{args:?}: {stderr}");
    }
    let stderr = ledger.fails_stdin(&["record", "-"], &claim_line("X1"));
    assert!(stderr.contains("in use"), "{stderr}");

    // A writer with --wait waits for the importer instead.
    let mut waiting = ledger.command();
    waiting.args(["record", "--wait", "30", "-"]);
    let mut waiting = spawn_piped(waiting);
    waiting
        .stdin
        .take()
        .unwrap()
        .write_all(claim_line("W1").as_bytes())
        .unwrap();

    // Let the importer finish: feed it one claim and close its input.
    {
        let mut stdin = importer.stdin.take().unwrap();
        stdin.write_all(claim_line("I1").as_bytes()).unwrap();
    }
    let output = importer.wait_with_output().unwrap();
    assert!(output.status.success(), "importer: {}", describe(&output));
    let output = waiting.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "waiting writer: {}",
        describe(&output)
    );

    let claims: Vec<String> = ledger
        .entries()
        .iter()
        .filter_map(|e| e["claim"].as_str().map(str::to_owned))
        .collect();
    assert!(claims.contains(&"I1".to_owned()) && claims.contains(&"W1".to_owned()));
    assert!(
        !claims.contains(&"X1".to_owned()),
        "the refused record added nothing"
    );
    assert_eq!(ledger.head().entries, 10);
}

/// Lines of the big import: more than one of the importer's internal chunks
/// (10,000 lines), so that a kill lands after chunks were already appended.
const IMPORT_LINES: usize = 24_000;

/// A seed for the kill point: `ARMISTICE_TEST_SEED` to replay, else the clock.
fn seed() -> u64 {
    let seed = std::env::var("ARMISTICE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
        });
    // Shown by the test harness when the test fails.
    println!("seed {seed} (replay with ARMISTICE_TEST_SEED={seed})");
    seed
}

/// Spawns `import -` and writes `lines` lines to it, then closes its input
/// when `close` is set; returns the still-running importer and, unless
/// closed, its input.
fn feed_import(
    ledger: &Ledger,
    lines: usize,
    close: bool,
) -> (std::process::Child, Option<std::process::ChildStdin>) {
    let mut command = ledger.command();
    command
        .args(["import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut importer = command.spawn().unwrap();
    let mut stdin = BufWriter::new(importer.stdin.take().unwrap());
    for i in 0..lines {
        writeln!(stdin, "{}", claim_line(&format!("K{i}"))).unwrap();
    }
    // Flushed into the pipe: the importer has read all but a pipe's worth.
    let stdin = stdin.into_inner().unwrap();
    if close {
        drop(stdin);
        return (importer, None);
    }
    // Kept open past the kill, so the importer cannot reach its commit.
    (importer, Some(stdin))
}

/// The entries after a crash: the ledger verifies and holds either the old
/// entries or the old plus the whole import.
fn check_all_or_none(ledger: &Ledger, base: u64, seed: u64) -> u64 {
    let head = ledger.head();
    assert!(
        head.entries == base || head.entries == base + IMPORT_LINES as u64,
        "seed {seed}: {} entries after the crash, expected {base} or {}",
        head.entries,
        base + IMPORT_LINES as u64
    );
    let output = ledger.run(&["verify"]);
    assert!(
        output.status.success(),
        "seed {seed}: {}",
        describe(&output)
    );
    // The ledger takes new appends after the crash, right after the head.
    let stdout = ledger.record(&claim_line("AFTER"));
    assert!(
        stdout.starts_with(&format!("seq {} ", head.entries + 1)),
        "seed {seed}: {stdout}"
    );
    head.entries
}

#[test]
fn an_import_killed_mid_stream_leaves_none_of_it() {
    let seed = seed();
    let ledger = Ledger::new();
    ledger.record(WORLD);
    let base = ledger.head().entries;
    // Somewhere after the first internal chunk, before the end of the input.
    let written = 10_500 + (seed as usize % (IMPORT_LINES - 11_000));
    println!("killing after {written} of {IMPORT_LINES} lines");
    let (mut importer, stdin) = feed_import(&ledger, written, false);
    importer.kill().unwrap(); // SIGKILL on Unix
    importer.wait().unwrap();
    drop(stdin);
    let entries = check_all_or_none(&ledger, base, seed);
    assert_eq!(entries, base, "seed {seed}: the input was not finished");
    assert!(
        !ledger.export().contains("\"claim\":\"K0\""),
        "seed {seed}: nothing of the import is visible"
    );
}

#[test]
fn an_import_killed_after_its_input_ends_is_all_or_nothing() {
    let seed = seed();
    let ledger = Ledger::new();
    ledger.record(WORLD);
    let base = ledger.head().entries;
    let (mut importer, _) = feed_import(&ledger, IMPORT_LINES, true);
    // The importer is now parsing its last lines or committing.
    importer.kill().unwrap();
    let status = importer.wait().unwrap();
    println!("importer status: {status:?}");
    check_all_or_none(&ledger, base, seed);
}
