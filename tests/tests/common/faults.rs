//! Fault-injection harness for the storage tests: seeded randomness, copies
//! and fingerprints of ledger folders, small file systems mounted for one
//! test, an unprivileged user, the peak memory of a running child, commands
//! run under a time limit, and generators of valid events.
//!
//! Include it beside `common` in a test file:
//!
//! ```ignore
//! mod common;
//! #[path = "common/faults.rs"]
//! mod faults;
//! ```
//!
//! Everything here drives the real binary or the file system from outside;
//! nothing depends on how the store lays out its files, except where a
//! function says so.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use crate::common::{binary, describe};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

// ---------------------------------------------------------------------------
// Seeds.

/// A seed for a test's faults: `ARMISTICE_TEST_SEED` to replay one, else
/// the clock. Printed, so that a failing run shows it (the test harness
/// prints a failed test's output); every assertion message repeats it too.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("ARMISTICE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .expect("the clock is after 1970")
                .as_nanos() as u64
        });
    println!("{test}: seed {seed} (replay with ARMISTICE_TEST_SEED={seed})");
    seed
}

/// SplitMix64: small, fast and good enough to pick offsets from a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

// ---------------------------------------------------------------------------
// Folders: copies, fingerprints, sizes.

/// Copies the folder `from` to `to` (which must not exist), file by file.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.expect("read_dir entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// What a file is, to tell whether anything touched it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState {
    pub len: u64,
    pub modified: Option<SystemTime>,
    pub mode: u32,
    /// The whole contents: ledgers in these tests are a few MiB at most.
    pub contents: Vec<u8>,
}

/// Every file and folder under `dir`, by path relative to it (folders with
/// empty contents), with contents, length, mode and modification time.
pub fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, FileState> {
    let mut out = BTreeMap::new();
    fingerprint_into(dir, dir, &mut out);
    out
}

fn fingerprint_into(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, FileState>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let entry = entry.expect("read_dir entry");
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).expect("metadata");
        let relative = path.strip_prefix(root).expect("under root").to_path_buf();
        let contents = if meta.is_file() {
            std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        } else {
            Vec::new()
        };
        out.insert(
            relative,
            FileState {
                len: if meta.is_file() { meta.len() } else { 0 },
                modified: meta.modified().ok(),
                mode: meta.mode(),
                contents,
            },
        );
        if meta.is_dir() {
            fingerprint_into(root, &path, out);
        }
    }
}

/// The differences between two fingerprints, one line each (empty: none).
pub fn fingerprint_changes(
    before: &BTreeMap<PathBuf, FileState>,
    after: &BTreeMap<PathBuf, FileState>,
) -> Vec<String> {
    let mut changes = Vec::new();
    for (path, old) in before {
        match after.get(path) {
            None => changes.push(format!("{} was removed", path.display())),
            Some(new) => {
                if new.contents != old.contents || new.len != old.len {
                    changes.push(format!(
                        "{}: contents changed ({} -> {} bytes)",
                        path.display(),
                        old.len,
                        new.len
                    ));
                } else if new.modified != old.modified {
                    changes.push(format!("{}: modification time changed", path.display()));
                }
                if new.mode != old.mode {
                    changes.push(format!(
                        "{}: mode {:o} -> {:o}",
                        path.display(),
                        old.mode,
                        new.mode
                    ));
                }
            }
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        changes.push(format!("{} was created", path.display()));
    }
    changes
}

/// Bytes the files under `dir` occupy on disk, as `du` counts them
/// (allocated blocks, so a sparse file counts only what it holds).
pub fn disk_usage(dir: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let entry = entry.expect("read_dir entry");
            let meta = std::fs::symlink_metadata(entry.path()).expect("metadata");
            total += meta.blocks() * 512;
            if meta.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    total
}

/// The files directly under `dir` whose names start with `prefix`.
pub fn files_starting_with(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("read_dir entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect();
    found.sort();
    found
}

/// Makes one folder readable and traversable by other users (0755):
/// `tempfile` makes its folders 0700.
pub fn open_to_all(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", dir.display()));
}

// ---------------------------------------------------------------------------
// Privileges, mounts, users.

/// Whether this process runs with effective user id 0 (read from /proc, so
/// without `unsafe`).
pub fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|effective| effective == "0")
}

/// Whether a test that needs root and mounts may skip: only when not root,
/// or when root outside CI and the kernel refused. In CI (`CI` set), a root
/// run that cannot mount fails instead, so that CI never skips silently.
pub fn skip_or_fail(test: &str, why: &str) {
    if is_root() && std::env::var_os("CI").is_some() {
        panic!("{test}: running as root in CI, yet {why}");
    }
    println!("SKIPPED {test}: {why}");
    eprintln!("SKIPPED {test}: {why}");
}

/// A file system mounted for one test; unmounted when dropped.
pub struct Mount {
    point: PathBuf,
}

impl Mount {
    /// Mounts a tmpfs of `bytes` at `point` (an existing, empty folder).
    pub fn tmpfs(point: &Path, bytes: u64) -> Result<Mount, String> {
        if !is_root() {
            return Err("mounting needs root and this test runs as another user".into());
        }
        run_tool(
            Command::new("mount")
                .args(["-t", "tmpfs", "-o"])
                .arg(format!("size={bytes},mode=0755"))
                .arg("tmpfs")
                .arg(point),
        )?;
        Ok(Mount {
            point: point.to_owned(),
        })
    }

    /// Bind-mounts `source` at `point`, then remounts the bind read-only.
    pub fn bind_read_only(source: &Path, point: &Path) -> Result<Mount, String> {
        if !is_root() {
            return Err("mounting needs root and this test runs as another user".into());
        }
        run_tool(Command::new("mount").arg("--bind").arg(source).arg(point))?;
        let mount = Mount {
            point: point.to_owned(),
        };
        run_tool(
            Command::new("mount")
                .args(["-o", "remount,ro,bind"])
                .arg(point),
        )?;
        Ok(mount)
    }

    /// Grows (or shrinks) a tmpfs to `bytes`.
    pub fn resize(&self, bytes: u64) {
        run_tool(
            Command::new("mount")
                .arg("-o")
                .arg(format!("remount,size={bytes}"))
                .arg(&self.point),
        )
        .unwrap_or_else(|e| panic!("resize the tmpfs at {}: {e}", self.point.display()));
    }

    pub fn point(&self) -> &Path {
        &self.point
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        // A lazy unmount when something still holds the mount (a child the
        // failing test did not reap), so that a failure never leaks a mount.
        if run_tool(Command::new("umount").arg(&self.point)).is_err() {
            let _ = run_tool(Command::new("umount").arg("-l").arg(&self.point));
        }
    }
}

fn run_tool(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Fills the file system holding `dir` with a file of zeros (`dir/filler`,
/// grown when it exists) until it is full; returns the file (remove it to
/// free the space).
pub fn fill_disk(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file =
        std::fs::File::create(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
    // Big writes first, then smaller ones into what is left.
    for size in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
        let chunk = vec![0u8; size];
        while file.write_all(&chunk).is_ok() {}
    }
    path
}

/// Fills the file system holding `dir`, then frees `room` bytes of the
/// filler again; returns the free bytes `df` then reports.
pub fn leave_room(dir: &Path, room: u64) -> u64 {
    let filler = fill_disk(dir);
    let full_len = std::fs::metadata(&filler).expect("the filler").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .and_then(|f| f.set_len(full_len.saturating_sub(room)))
        .expect("shrink the filler");
    free_bytes(dir)
}

/// The unprivileged user the read-only tests run as, when this process is
/// root: `nobody`.
pub const UNPRIVILEGED_UID: u32 = 65534;

/// `armistice ARGS` as an unprivileged user: under `setpriv` when this
/// process is root, else as this (already unprivileged) user. The binary
/// and `dir` must be reachable by that user.
pub fn armistice_unprivileged(dir: &Path) -> Command {
    let mut command = if is_root() {
        let mut command = Command::new("setpriv");
        command
            .arg(format!("--reuid={UNPRIVILEGED_UID}"))
            .arg(format!("--regid={UNPRIVILEGED_UID}"))
            .arg("--clear-groups")
            .arg("--")
            .arg(binary());
        command
    } else {
        Command::new(binary())
    };
    command
        .current_dir(dir)
        .env_remove("ARMISTICE_LEDGER")
        .stdin(Stdio::null());
    command
}

/// Gives the files under `dir` to the unprivileged user (root only).
pub fn chown_to_unprivileged(dir: &Path) {
    if is_root() {
        run_tool(
            Command::new("chown")
                .arg("-R")
                .arg(format!("{UNPRIVILEGED_UID}:{UNPRIVILEGED_UID}"))
                .arg(dir),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
}

/// `chmod -R a-w DIR`.
pub fn write_protect(dir: &Path) {
    run_tool(Command::new("chmod").args(["-R", "a-w"]).arg(dir)).unwrap_or_else(|e| panic!("{e}"));
}

/// `chmod -R u+w DIR`, so that the temporary directory can be removed.
pub fn write_unprotect(dir: &Path) {
    let _ = run_tool(Command::new("chmod").args(["-R", "u+w"]).arg(dir));
}

// ---------------------------------------------------------------------------
// Running the binary: time limits, panics, acknowledgements, memory.

/// The exit status `timeout -s KILL` gives a command it had to kill.
pub const EXIT_TIMED_OUT: i32 = 137;
/// The exit code of a Rust panic.
pub const EXIT_PANIC: i32 = 101;

/// Runs `armistice ARGS` on `ledger` (from `dir`), killed after `seconds`:
/// damaged files must not make the binary hang.
pub fn run_limited(dir: &Path, ledger: &Path, args: &[&str], seconds: u32) -> Output {
    Command::new("timeout")
        .args(["-s", "KILL", &seconds.to_string()])
        .arg(binary())
        .arg("--ledger")
        .arg(ledger)
        .args(args)
        .current_dir(dir)
        .env_remove("ARMISTICE_LEDGER")
        .stdin(Stdio::null())
        .output()
        .expect("run timeout(1) with armistice")
}

/// Whether a finished command panicked or crashed (exit 101, "panicked",
/// a signal, or a hang killed by [`run_limited`]): never acceptable.
pub fn crashed(output: &Output) -> Option<String> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(EXIT_PANIC) => Some("exit 101 (a panic)".into()),
        Some(EXIT_TIMED_OUT) => Some("killed after its time limit (a hang)".into()),
        None => Some(format!("killed by a signal: {:?}", output.status)),
        _ if stderr.contains("panicked") => Some("\"panicked\" on stderr".into()),
        _ => None,
    }
}

/// Asserts that a command neither panicked nor crashed, and that a failure
/// came with a message (on stderr; `verify` reports damage on stdout).
pub fn assert_no_crash(output: &Output, what: &str) {
    if let Some(crash) = crashed(output) {
        panic!("{what}: {crash}\n{}", describe(output));
    }
    if !output.status.success() {
        let said = [&output.stderr, &output.stdout]
            .iter()
            .any(|bytes| !String::from_utf8_lossy(bytes).trim().is_empty());
        assert!(
            said,
            "{what}: failed without a message\n{}",
            describe(output)
        );
    }
}

/// The seqs `record` printed as acknowledged (`seq N  …` lines).
pub fn recorded_seqs(stdout: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("seq "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .collect()
}

/// The head `import` acknowledged ("… the log now holds N entries").
pub fn imported_head(stdout: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(stdout);
    let rest = text.split("the log now holds ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// The entries a passing `verify --json` reports, or why there are none.
pub fn verified_entries(output: &Output) -> Result<u64, String> {
    if output.status.code() != Some(0) {
        return Err(describe(output));
    }
    let report: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("{e}: {}", describe(output)))?;
    report["entries"]
        .as_u64()
        .ok_or_else(|| format!("no `entries`: {report}"))
}

/// The peak resident set size of a running process (VmHWM), in bytes; `None`
/// once it has exited.
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

// ---------------------------------------------------------------------------
// Events.

/// The agreement of the spring-2025 example that the generated claims file
/// under: its parties are UA and RU.
pub const SPRING_AGREEMENT: &str = "energy-moratorium-2025";

/// A valid claim by UA against RU under the spring-2025 energy moratorium.
pub fn spring_claim(id: &str) -> String {
    format!(
        r#"{{"type":"violation_alleged","by":"UA","claim":"{id}","agreement":"{SPRING_AGREEMENT}","against":"RU","incident_at":"2025-03-20T00:00:00Z","category":"energy_infrastructure_strike","location":{{"name":"Substation {id}"}},"description":"Generated claim {id}"}}"#
    )
}

/// `n` valid claims, one a line, `prefix` + index as their ids.
pub fn spring_claims(prefix: &str, n: usize) -> String {
    let mut out = String::with_capacity(n * 260);
    for i in 0..n {
        out.push_str(&spring_claim(&format!("{prefix}{i}")));
        out.push('\n');
    }
    out
}

/// A claim line of about `bytes` bytes (under the 256 KiB line limit when
/// `bytes` is): valid JSON and a valid event, except that it encodes to more
/// than the ledger's 64 KiB event limit. So only the ledger's event-size
/// check rejects it, and an honest reader can do that on line 1.
pub fn oversized_claim(id: &str, bytes: usize) -> String {
    let frame = spring_claim(id);
    let padding = bytes.saturating_sub(frame.len() + 1);
    let line = frame.replacen(
        "\"description\":\"Generated claim",
        &format!("\"description\":\"{}Generated claim", "x".repeat(padding)),
        1,
    );
    debug_assert!(line.len() + 1 >= bytes);
    line
}

/// Like [`run_limited`], with `input` on standard input.
pub fn run_input_limited(
    dir: &Path,
    ledger: &Path,
    args: &[&str],
    input: &str,
    seconds: u32,
) -> Output {
    let mut command = Command::new("timeout");
    command
        .args(["-s", "KILL", &seconds.to_string()])
        .arg(binary())
        .arg("--ledger")
        .arg(ledger)
        .args(args)
        .current_dir(dir)
        .env_remove("ARMISTICE_LEDGER");
    crate::common::run_with_input(command, input.as_bytes())
}

/// Every command that only reads a ledger, with arguments that suit the
/// spring-2025 example (61 entries).
pub const READ_COMMANDS: &[&[&str]] = &[
    &["verify"],
    &["verify", "--json"],
    &["export"],
    &["log"],
    &["status"],
    &["claims"],
    &["audit", "UA-2025-03-19-sloviansk-rail"],
    &["timeline", SPRING_AGREEMENT],
    &["prove", "inclusion", "--seq", "5"],
    &["prove", "consistency", "--from", "3", "--to", "61"],
];

/// Free bytes on the file system holding `path`, as `df` reports them.
pub fn free_bytes(path: &Path) -> u64 {
    let output = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .expect("run df");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .nth(1)
        .and_then(|line| line.trim().parse().ok())
        .unwrap_or(0)
}
