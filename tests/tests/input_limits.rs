//! Limits on bad input: oversized lines rejected in bounded memory, a
//! rejected or killed import that leaves the ledger's size bounded, and
//! numeric options range-checked with a clear message instead of a panic.

mod common;
#[path = "common/faults.rs"]
mod faults;

use common::{describe, spring_2025, Ledger};
use faults::{assert_no_crash, disk_usage, oversized_claim, peak_rss_bytes, spring_claims};
use std::io::{Read, Write};
use std::process::Stdio;

// ---------------------------------------------------------------------------
// (6) Oversized lines, streamed, rejected at line 1 in bounded memory.

/// Lines of the oversized input and their size: each under the 256 KiB
/// line limit, each over the 64 KiB event limit; 2.5 GB in all, streamed
/// through a pipe, never written to disk.
const OVERSIZED_LINES: usize = 10_000;
const OVERSIZED_LINE_BYTES: usize = 255 * 1024;
/// The peak resident memory a reader of such input may reach.
const RSS_BOUND_BYTES: u64 = 256 << 20;

fn oversized_lines_are_rejected_in_bounded_memory(args: &[&str]) {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    let mut command = ledger.command();
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn armistice");
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let readers = std::thread::spawn(move || {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let _ = stdout.read_to_end(&mut out);
        let _ = stderr.read_to_end(&mut err);
        (out, err)
    });
    let line = oversized_claim("BIG", OVERSIZED_LINE_BYTES) + "\n";
    assert_eq!(line.len(), OVERSIZED_LINE_BYTES);
    let mut stdin = child.stdin.take().expect("piped stdin");
    let (mut peak, mut fed, mut over_bound) = (0, 0, false);
    for _ in 0..OVERSIZED_LINES {
        // A reader that rejected line 1 stops reading: the pipe breaks.
        if stdin.write_all(line.as_bytes()).is_err() {
            break;
        }
        fed += 1;
        // The peak so far, after each line: memory that grows with the
        // input shows here long before 2.5 GB.
        peak = peak.max(peak_rss_bytes(pid).unwrap_or(0));
        if peak > RSS_BOUND_BYTES {
            over_bound = true;
            let _ = child.kill();
            break;
        }
    }
    drop(stdin);
    let status = child.wait().expect("wait for armistice");
    let (out, err) = readers.join().expect("output readers");
    let output = std::process::Output {
        status,
        stdout: out,
        stderr: err,
    };
    println!(
        "{args:?}: fed {fed} lines ({} MiB), peak RSS {} MiB",
        fed * OVERSIZED_LINE_BYTES / (1 << 20),
        peak >> 20
    );
    assert!(
        !over_bound,
        "{args:?}: peak resident memory passed {} MiB ({} MiB) after {fed} lines of {} KiB \
         ({} MiB of input) without rejecting line 1",
        RSS_BOUND_BYTES >> 20,
        peak >> 20,
        OVERSIZED_LINE_BYTES >> 10,
        fed * OVERSIZED_LINE_BYTES / (1 << 20)
    );
    let stderr = common::expect_error(output, &format!("{args:?} with oversized lines"));
    // A 255 KB line is within the one documented limit (256 KiB a line), so
    // line 1 is a valid claim; line 2 repeats its claim id: the first bad line.
    assert!(
        stderr.contains("line 2:"),
        "{args:?}: the rejection names the first bad line, 2: {stderr}"
    );
    assert_eq!(ledger.head().entries, 61, "nothing was recorded");
}

#[test]
fn import_rejects_oversized_lines_in_bounded_memory() {
    oversized_lines_are_rejected_in_bounded_memory(&["import", "-"]);
}

#[test]
fn record_rejects_oversized_lines_in_bounded_memory() {
    oversized_lines_are_rejected_in_bounded_memory(&["record", "-"]);
}

// ---------------------------------------------------------------------------
// (7) A rejected or killed import leaves the ledger's size bounded.

/// Lines of the rejected import; the last one is bad.
const REJECTED_IMPORT_LINES: usize = 25_000;
/// How much a rejected import may leave the ledger folder grown by (`du`).
const GROWTH_BOUND_BYTES: u64 = 8 << 20;

/// A claim under an agreement the ledger does not know: rejected by the rules.
fn bad_claim() -> String {
    faults::spring_claim("BAD").replace(faults::SPRING_AGREEMENT, "no-such-agreement")
}

fn assert_growth_bounded(ledger: &Ledger, before: u64, what: &str) {
    let after = disk_usage(ledger.path());
    println!(
        "{what}: the ledger folder went from {} KiB to {} KiB",
        before >> 10,
        after >> 10
    );
    assert!(
        after.saturating_sub(before) < GROWTH_BOUND_BYTES,
        "{what}: the ledger folder grew from {} KiB to {} KiB (bound: {} MiB of growth)",
        before >> 10,
        after >> 10,
        GROWTH_BOUND_BYTES >> 20
    );
}

#[test]
fn a_rejected_import_leaves_the_ledger_small() {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    let (export, head) = ledger.snapshot();
    let before = disk_usage(ledger.path());
    let mut input = spring_claims("R", REJECTED_IMPORT_LINES - 1);
    input.push_str(&bad_claim());
    input.push('\n');
    let stderr = ledger.fails_stdin(&["import", "-"], &input);
    assert!(
        stderr.contains(&format!("line {REJECTED_IMPORT_LINES}:")),
        "the rejection names the last line: {stderr}"
    );
    assert_growth_bounded(&ledger, before, "right after the rejected import");
    // The next open has had every chance to give the space back.
    assert_eq!(ledger.snapshot(), (export, head), "the ledger is unchanged");
    assert_growth_bounded(&ledger, before, "after the next open");
}

#[test]
fn a_killed_import_leaves_the_ledger_small() {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    let (export, head) = ledger.snapshot();
    let before = disk_usage(ledger.path());
    let mut command = ledger.command();
    command
        .args(["import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut importer = command.spawn().expect("spawn the import");
    let mut stdin = std::io::BufWriter::new(importer.stdin.take().expect("piped stdin"));
    // Past the importer's second chunk of 10,000: its first is in sled.
    stdin
        .write_all(spring_claims("K", 20_500).as_bytes())
        .expect("feed the import");
    stdin.flush().expect("feed the import");
    importer.kill().expect("SIGKILL the import");
    importer.wait().expect("reap the import");
    drop(stdin);
    assert_eq!(ledger.snapshot(), (export, head), "nothing of the import");
    assert_growth_bounded(&ledger, before, "after a killed import and the next open");
}

// ---------------------------------------------------------------------------
// (8) Numeric options: out of range is a clear error, never a panic.

#[test]
fn wait_out_of_range_is_a_clear_error() {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    let mut failures = Vec::new();
    // `--wait V` for the values of the issue (so that "-1" must reach the
    // option's own check, not clap's "unexpected argument"), `--wait=V` for all.
    let spaced = ["inf", "1e19", "-1", "nan"];
    let joined = ["inf", "1e19", "-1", "nan", "-inf", "NaN", "1e400"];
    let spaced = spaced
        .iter()
        .map(|v| vec!["--wait".to_owned(), (*v).to_owned(), "log".to_owned()]);
    let joined = joined
        .iter()
        .map(|v| vec![format!("--wait={v}"), "log".to_owned()]);
    for args in spaced.chain(joined) {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = ledger.run(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if let Some(crash) = faults::crashed(&output) {
            failures.push(format!("{args:?}: {crash}: {}", stderr.trim()));
        } else if output.status.code() != Some(common::EXIT_ERROR) {
            failures.push(format!(
                "{args:?}: exit {:?}, not 2 (accepted?)",
                output.status.code()
            ));
        } else if !stderr.contains("--wait") {
            failures.push(format!(
                "{args:?}: the message does not name --wait: {stderr}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "--wait out of range:\n{}",
        failures.join("\n")
    );
    // Sensible values still work.
    for value in ["0", "2.5", "30"] {
        let output = ledger.run(&["--wait", value, "log"]);
        assert!(
            output.status.success(),
            "--wait {value}: {}",
            describe(&output)
        );
    }
}

#[test]
fn integer_options_beyond_their_range_are_a_clear_error() {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    let too_big = "18446744073709551616"; // u64::MAX + 1
    for args in [
        vec!["export", "--from", too_big],
        vec!["export", "--to", too_big],
        vec!["checkpoint", "--size", too_big],
        vec!["prove", "inclusion", "--seq", too_big],
        vec!["prove", "inclusion", "--seq", "-1"],
    ] {
        let output = ledger.run(&args);
        assert_no_crash(&output, &format!("{args:?}"));
        let option = args[args.len() - 2];
        let stderr = common::expect_error(output, &format!("{args:?}"));
        assert!(
            stderr.contains(option),
            "{args:?}: names {option}: {stderr}"
        );
    }
}
