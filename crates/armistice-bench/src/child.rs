//! Child processes: work whose peak memory is measured on its own (the
//! bench binary re-runs itself with a hidden `--phase`), reading `VmHWM`
//! from `/proc/self/status` at the end and printing one JSON line.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

/// The work a child does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// Generate and import N events into a new ledger at `--dir`.
    Import,
    /// Replay every projection over the ledger at `--dir`.
    Replay,
    /// Decode every entry of the ledger at `--dir`, without folding.
    Decode,
    /// Answer as-of question `--question` over the SQLite database at `--dir`.
    Sql,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Import => "import",
            Phase::Replay => "replay",
            Phase::Decode => "decode",
            Phase::Sql => "sql",
        }
    }
}

/// What a child reports.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseOutput {
    /// Time of the measured work, in seconds.
    pub seconds: f64,
    /// Events handled.
    pub events: u64,
    /// Peak resident memory (`VmHWM`), KiB.
    pub peak_rss_kib: u64,
}

/// This process's peak resident set size so far, in KiB.
pub fn peak_rss_kib() -> anyhow::Result<u64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    let kib = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim();
    Ok(kib.parse()?)
}

/// Runs `phase` in a child process on `dir`, and reads its report.
pub fn run(phase: Phase, dir: &Path, events: u64, seed: u64) -> anyhow::Result<PhaseOutput> {
    run_timed(phase, dir, events, seed, None).map(|(output, _)| output)
}

/// Runs `phase` in a child process and reads its report, with the child's
/// whole wall time (start to exit) in seconds: what a command costs as a
/// user runs it.
pub fn run_timed(
    phase: Phase,
    dir: &Path,
    events: u64,
    seed: u64,
    question: Option<usize>,
) -> anyhow::Result<(PhaseOutput, f64)> {
    let exe = std::env::current_exe().context("finding the bench binary")?;
    let mut command = Command::new(exe);
    command
        .args(["--phase", phase.name(), "--dir"])
        .arg(dir)
        .args(["--events", &events.to_string(), "--seed", &seed.to_string()]);
    if let Some(question) = question {
        command.args(["--question", &question.to_string()]);
    }
    let started = std::time::Instant::now();
    let output = command
        .output()
        .with_context(|| format!("starting the {} child", phase.name()))?;
    if !output.status.success() {
        bail!(
            "the {} child failed ({}): {}",
            phase.name(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let wall = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let report = serde_json::from_str(last)
        .with_context(|| format!("reading the {} child's report `{last}`", phase.name()))?;
    Ok((report, wall))
}
