//! Lost writes: a power loss keeps only what was synced. Each test runs one
//! command under the `lostwrites` shim (`tests/shim/lostwrites.c`), rebuilds
//! from the log what a power loss at the command's last moment would have
//! left (see `common/lostwrites.rs` for the model: file data only as far as
//! a completed `fsync`/`fdatasync` of that file covers it; names either
//! only after their folder's fsync, or in order), and opens that copy: every
//! entry the command acknowledged must be there, and the copy must verify.

mod common;
#[path = "common/faults.rs"]
mod faults;
#[path = "common/lostwrites.rs"]
mod lostwrites;

use common::{describe, spring_2025, Ledger};
use faults::{copy_dir, imported_head, recorded_seqs, run_limited, spring_claim, spring_claims};
use lostwrites::{build_shim, read_log, replay, summary, trace, Model, Op};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};

/// A ledger holding the spring-2025 example, a copy of it taken now, and the
/// compiled shim.
struct Setup {
    ledger: Ledger,
    shim: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let ledger = Ledger::new();
        ledger.backfill(&spring_2025());
        let shim = build_shim(ledger.dir());
        Setup { ledger, shim }
    }

    /// Copies the ledger folder before a traced command (the durable state
    /// the replay starts from) and returns the copy and the log's path.
    fn before(&self, name: &str) -> (PathBuf, PathBuf) {
        let copy = self.ledger.dir().join(format!("{name}-before"));
        copy_dir(self.ledger.path(), &copy);
        (copy, self.ledger.dir().join(format!("{name}.log")))
    }

    /// `armistice ARGS` on the ledger, traced into `log`, input piped.
    fn spawn_traced(&self, args: &[&str], log: &Path) -> Child {
        let mut command = self.ledger.command();
        command.args(args);
        trace(&mut command, &self.shim, self.ledger.path(), log);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn armistice under the shim")
    }

    fn run_traced(&self, args: &[&str], input: &str, log: &Path) -> Output {
        let mut child = self.spawn_traced(args, log);
        let mut stdin = child.stdin.take().expect("piped stdin");
        let input = input.to_owned();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let output = child.wait_with_output().expect("wait for armistice");
        writer.join().expect("stdin writer");
        output
    }

    /// The exported lines of the live ledger (which lost nothing), seq 1..=n.
    fn expected_lines(&self, n: u64) -> Vec<String> {
        let export = self.ledger.export();
        let lines: Vec<String> = export.lines().map(str::to_owned).collect();
        assert!(
            lines.len() as u64 >= n,
            "the live ledger holds {} entries, fewer than the {n} acknowledged",
            lines.len()
        );
        lines[..n as usize].to_vec()
    }
}

/// Replays `log` over `before` under both models and checks each result
/// holds exactly the `expected` export lines as its first entries (and,
/// with `exact`, no more).
fn check_power_loss(
    setup: &Setup,
    before: &Path,
    log: &Path,
    expected: &[String],
    exact: bool,
    what: &str,
) {
    let ops = read_log(log);
    println!("{what}: the command made {}", summary(&ops));
    report_unsynced_names(&ops, what);
    let mut failures = Vec::new();
    for model in [Model::Strict, Model::OrderedNames] {
        let into = setup
            .ledger
            .dir()
            .join(format!("{}-{model:?}", log.display()));
        replay(before, setup.ledger.path(), &ops, model, &into);
        if let Err(failure) = check_copy(setup.ledger.dir(), &into, expected, exact) {
            failures.push(format!("power loss under {model:?} names: {failure}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{what}: {} acknowledged entries; after a simulated power loss:\n{}",
        expected.len(),
        failures.join("\n")
    );
}

/// Whether a replayed copy verifies and exports the expected entries first.
fn check_copy(dir: &Path, copy: &Path, expected: &[String], exact: bool) -> Result<(), String> {
    let verify = run_limited(dir, copy, &["verify", "--json"], 120);
    if let Some(crash) = faults::crashed(&verify) {
        return Err(format!("verify: {crash}\n{}", describe(&verify)));
    }
    let entries = faults::verified_entries(&verify).map_err(|e| format!("verify: {e}"))?;
    if entries < expected.len() as u64 || (exact && entries != expected.len() as u64) {
        return Err(format!(
            "verify passes with {entries} entries where {} were acknowledged",
            expected.len()
        ));
    }
    let export = run_limited(dir, copy, &["export"], 120);
    if !export.status.success() {
        return Err(format!("export: {}", describe(&export)));
    }
    let text = String::from_utf8_lossy(&export.stdout);
    let lines: Vec<&str> = text.lines().collect();
    for (seq, wanted) in expected.iter().enumerate() {
        match lines.get(seq) {
            Some(line) if *line == wanted => {}
            Some(line) => {
                return Err(format!(
                    "seq {} differs from what was acknowledged:\n  {line}\n  {wanted}",
                    seq + 1
                ))
            }
            None => return Err(format!("seq {} is missing from the export", seq + 1)),
        }
    }
    Ok(())
}

/// Prints which changes of names (created, renamed, removed files) no
/// folder fsync covered: under the strict model they are lost.
fn report_unsynced_names(ops: &[Op], what: &str) {
    let folder_syncs = ops
        .iter()
        .filter(|op| matches!(op, Op::Sync { path, .. } if path.is_dir()))
        .count();
    let names = ops
        .iter()
        .filter(|op| {
            matches!(
                op,
                Op::Rename { .. } | Op::Unlink { .. } | Op::MakeDir { .. } | Op::RemoveDir { .. }
            )
        })
        .count();
    let synced_files: std::collections::BTreeSet<String> = ops
        .iter()
        .filter_map(|op| match op {
            Op::Sync { path, .. } => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    println!(
        "{what}: {names} renames/unlinks/mkdirs, {folder_syncs} folder fsyncs; files synced: {synced_files:?}"
    );
}

#[test]
fn single_records_survive_a_power_loss() {
    let setup = Setup::new();
    for i in 0..3 {
        let (before, log) = setup.before(&format!("record{i}"));
        let output = setup.run_traced(&["record", "-"], &spring_claim(&format!("R{i}")), &log);
        assert!(output.status.success(), "record {i}: {}", describe(&output));
        let seqs = recorded_seqs(&output.stdout);
        let acknowledged = *seqs.last().expect("record prints the seq it acknowledged");
        let expected = setup.expected_lines(acknowledged);
        check_power_loss(
            &setup,
            &before,
            &log,
            &expected,
            true,
            &format!("record {i} (seq {acknowledged})"),
        );
        if i == 0 {
            assert_replay_can_lose(&setup, &before, &log, &expected);
        }
    }
}

/// The harness is not vacuous: the same log with every sync left out
/// (nothing made durable) must lose the acknowledged entry.
fn assert_replay_can_lose(setup: &Setup, before: &Path, log: &Path, expected: &[String]) {
    let unsynced: Vec<Op> = read_log(log)
        .into_iter()
        .filter(|op| !matches!(op, Op::Sync { .. } | Op::SyncAll { .. }))
        .collect();
    let into = setup.ledger.dir().join("control-without-syncs");
    replay(before, setup.ledger.path(), &unsynced, Model::Strict, &into);
    assert!(
        check_copy(setup.ledger.dir(), &into, expected, true).is_err(),
        "the replay kept an acknowledged entry although no sync was replayed: \
         the lost-writes harness would not notice a missing sync"
    );
}

/// Events of the traced import: a few thousand, less than one of the
/// importer's chunks.
const IMPORT_EVENTS: usize = 3_000;

#[test]
fn an_import_survives_a_power_loss() {
    let setup = Setup::new();
    let (before, log) = setup.before("import");
    let output = setup.run_traced(&["import", "-"], &spring_claims("I", IMPORT_EVENTS), &log);
    assert!(output.status.success(), "import: {}", describe(&output));
    let acknowledged = imported_head(&output.stdout).expect("import says how many entries");
    assert_eq!(acknowledged, 61 + IMPORT_EVENTS as u64);
    let expected = setup.expected_lines(acknowledged);
    check_power_loss(
        &setup,
        &before,
        &log,
        &expected,
        true,
        &format!("import of {IMPORT_EVENTS} events"),
    );
}

#[test]
fn an_import_killed_mid_stream_then_a_power_loss_keeps_what_was_acknowledged() {
    let seed = faults::seed("killed import under power loss");
    let setup = Setup::new();
    let acknowledged = {
        let stdout = setup.ledger.record(&spring_claim("BEFORE"));
        *recorded_seqs(stdout.as_bytes()).last().expect("a seq")
    };
    let (before, log) = setup.before("killed");
    // Past the importer's second chunk of 10,000 lines, so that its first
    // chunk has been written to sled (uncommitted) when the kill lands.
    let lines = 20_500 + (seed % 3_000) as usize;
    println!("killing the import after {lines} lines");
    let mut child = setup.spawn_traced(&["import", "-"], &log);
    {
        let mut stdin = BufWriter::new(child.stdin.take().expect("piped stdin"));
        for i in 0..lines {
            writeln!(stdin, "{}", spring_claim(&format!("K{i}"))).expect("feed the import");
        }
        stdin.flush().expect("feed the import");
        // The input stays open until after the kill: the import cannot commit.
        child.kill().expect("SIGKILL the import");
        child.wait().expect("reap the import");
    }
    let expected = setup.expected_lines(acknowledged);
    check_power_loss(
        &setup,
        &before,
        &log,
        &expected,
        true,
        &format!("seed {seed}: import killed after {lines} lines"),
    );
}
