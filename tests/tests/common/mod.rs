//! Shared helpers for the end-to-end tests: a temporary ledger driven through
//! the real `armistice` binary.
//!
//! Every test makes its own [`Ledger`] in its own temporary directory, so
//! tests never share state and can run in parallel.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

/// The exit code of `verify` when it found damage.
pub const EXIT_DAMAGE: i32 = 1;
/// The exit code of every other failure.
pub const EXIT_ERROR: i32 = 2;

/// Path of the `armistice` binary, built once per test process when absent.
///
/// Cargo does not give a test of one package the binaries of another
/// (`CARGO_BIN_EXE_*` is per package), so the binary is found beside the test
/// executable: `<target>/<profile>/deps/<test>` → `<target>/<profile>/armistice`.
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(locate_or_build)
}

fn locate_or_build() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable has a path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lives in <target>/<profile>/deps/")
        .to_path_buf();
    let binary = profile_dir.join(format!("armistice{}", std::env::consts::EXE_SUFFIX));
    // Missing (a fresh clone running only this package's tests) or older than
    // the sources it is built from: testing a stale binary would test old code.
    if !binary.exists() || older_than_sources(&binary) {
        build_cli(&profile_dir);
    }
    assert!(
        binary.exists(),
        "the armistice binary is missing at {}: run `cargo build -p armistice-cli` first",
        binary.display()
    );
    binary
}

/// Whether any source of the workspace's crates changed after `binary` was built.
fn older_than_sources(binary: &Path) -> bool {
    let Ok(built) = binary.metadata().and_then(|m| m.modified()) else {
        return true;
    };
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut pending = vec![workspace.join("crates")];
    let mut sources = vec![workspace.join("Cargo.lock"), workspace.join("Cargo.toml")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs" || e == "toml") {
                sources.push(path);
            }
        }
    }
    sources.iter().any(|source| {
        source
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified > built)
    })
}

/// Builds `armistice-cli` into the same target directory and profile as this
/// test executable (a fresh clone running only `cargo test -p armistice-tests`).
fn build_cli(profile_dir: &Path) {
    let profile = profile_dir
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("debug");
    let target_dir = profile_dir.parent().expect("<target>/<profile>");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let cargo_profile = if profile == "debug" { "dev" } else { profile };
    let status = Command::new(cargo)
        .args(["build", "-p", "armistice-cli", "--profile", cargo_profile])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir)
        .status();
    match status {
        Ok(status) if status.success() => {}
        other => panic!(
            "the armistice binary is missing and `cargo build -p armistice-cli` failed ({other:?}): \
             run `cargo build -p armistice-cli` first"
        ),
    }
}

/// A command running the binary with no ledger chosen by the environment, in
/// `dir` (so the default `./armistice.ledger` never lands in the repository).
pub fn armistice(dir: &Path) -> Command {
    let mut command = Command::new(binary());
    command
        .current_dir(dir)
        .env_remove("ARMISTICE_LEDGER")
        .stdin(Stdio::null());
    command
}

/// Runs a command to completion with `input` on its standard input.
pub fn run_with_input(mut command: Command, input: &[u8]) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("spawn armistice");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Written from a thread so that a child that stops reading (an early
    // rejection) cannot deadlock against a full stdout pipe.
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for armistice");
    writer.join().expect("stdin writer");
    output
}

/// Standard output and error of a finished command, for failure messages.
pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Count and head hash, as `verify --json` reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub entries: u64,
    pub head: Option<String>,
}

/// A ledger in its own temporary directory.
pub struct Ledger {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Ledger {
    /// `armistice init` in a fresh temporary directory.
    pub fn new() -> Ledger {
        Ledger::init(&[])
    }

    /// `armistice init --operator-key KEY`: a ledger kept by the same operator.
    pub fn with_operator_key(key: &Path) -> Ledger {
        Ledger::init(&["--operator-key".as_ref(), key.as_os_str()])
    }

    /// `armistice init EXTRA…` in a fresh temporary directory.
    pub fn init(extra: &[&std::ffi::OsStr]) -> Ledger {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("ledger");
        let ledger = Ledger { dir, path };
        let output = ledger.command().arg("init").args(extra).output().unwrap();
        assert!(output.status.success(), "init: {}", describe(&output));
        ledger
    }

    /// The ledger folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary directory holding the ledger, for the test's own files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The operator's key file that `init` keeps in the ledger folder.
    pub fn operator_key(&self) -> PathBuf {
        self.path.join("operator.key")
    }

    /// Writes a file in the temporary directory and returns its path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir().join(name);
        std::fs::write(&path, contents).expect("write test file");
        path
    }

    /// The binary with `--ledger` set, run in the temporary directory.
    pub fn command(&self) -> Command {
        let mut command = armistice(self.dir());
        command.arg("--ledger").arg(&self.path);
        command
    }

    /// Runs `armistice --ledger L ARGS`.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run armistice")
    }

    /// Runs `armistice --ledger L ARGS` with `input` on standard input.
    pub fn run_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut command = self.command();
        command.args(args);
        run_with_input(command, input.as_bytes())
    }

    /// Records JSON Lines from standard input; they must all be accepted.
    pub fn record(&self, lines: &str) -> String {
        let output = self.run_stdin(&["record", "-"], lines);
        assert!(
            output.status.success(),
            "record failed for\n{lines}\n{}",
            describe(&output)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Imports JSON Lines with `--backfill` from standard input; all accepted.
    pub fn backfill(&self, lines: &str) -> String {
        let output = self.run_stdin(&["import", "--backfill", "-"], lines);
        assert!(
            output.status.success(),
            "import --backfill failed for\n{lines}\n{}",
            describe(&output)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "armistice {args:?}: {}",
            describe(&output)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a command that must fail with exit code 2; returns its standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        expect_error(self.run(args), &format!("{args:?}"))
    }

    /// Like [`Ledger::fails`], with `input` on standard input.
    pub fn fails_stdin(&self, args: &[&str], input: &str) -> String {
        expect_error(
            self.run_stdin(args, input),
            &format!("{args:?} with input\n{input}"),
        )
    }

    /// Every stored entry as `export` prints it.
    pub fn export(&self) -> String {
        self.ok(&["export"])
    }

    /// The exported entries, parsed.
    pub fn entries(&self) -> Vec<serde_json::Value> {
        self.export()
            .lines()
            .map(|line| serde_json::from_str(line).expect("export prints JSON lines"))
            .collect()
    }

    /// `verify --json`, which must pass.
    pub fn verify(&self) -> serde_json::Value {
        let output = self.run(&["verify", "--json"]);
        assert!(
            output.status.success(),
            "verify found damage: {}",
            describe(&output)
        );
        serde_json::from_slice(&output.stdout).expect("verify --json prints JSON")
    }

    /// Count and head hash after a passing `verify`.
    pub fn head(&self) -> Head {
        let report = self.verify();
        Head {
            entries: report["entries"].as_u64().expect("verify --json: entries"),
            head: report["head"].as_str().map(str::to_owned),
        }
    }

    /// Export and head, to compare a ledger before and after a rejection.
    pub fn snapshot(&self) -> (String, Head) {
        (self.export(), self.head())
    }
}

/// Asserts exit code 2 with a message on stderr; returns stderr.
pub fn expect_error(output: Output, what: &str) -> String {
    assert_eq!(
        output.status.code(),
        Some(EXIT_ERROR),
        "armistice {what} should fail with exit 2: {}",
        describe(&output)
    );
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        !stderr.trim().is_empty(),
        "armistice {what} failed without a message"
    );
    assert!(
        !stderr.contains("panicked"),
        "armistice {what} panicked: {stderr}"
    );
    stderr
}

/// The example scenario of spring 2025 (every line carries `recorded_at`).
pub fn spring_2025() -> String {
    let path = spring_2025_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Where the example scenario lives.
pub fn spring_2025_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/spring-2025.jsonl")
}

/// Spawns a child with piped standard streams.
pub fn spawn_piped(mut command: Command) -> Child {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn armistice")
}

/// A small world most tests start from: belligerents UA, RU and GE, mediators
/// US and SA, monitor MON; agreement `A1` between UA and RU mediated by US;
/// claim `C1` by UA against RU under `A1`.
pub const WORLD: &str = r#"{"type":"party_registered","by":"operator","party":"UA","name":"Ukraine","role":"belligerent"}
{"type":"party_registered","by":"operator","party":"RU","name":"Russian Federation","role":"belligerent"}
{"type":"party_registered","by":"operator","party":"GE","name":"Georgia","role":"belligerent"}
{"type":"party_registered","by":"operator","party":"US","name":"United States","role":"mediator"}
{"type":"party_registered","by":"operator","party":"SA","name":"Saudi Arabia","role":"mediator"}
{"type":"party_registered","by":"operator","party":"MON","name":"Monitoring mission","role":"monitor"}
{"type":"agreement_proposed","by":"US","agreement":"A1","title":"Energy moratorium","kind":"bilateral","parties":["UA","RU"],"mediators":["US"],"scope":["energy_infrastructure"],"effective_from":"2025-01-01T00:00:00Z"}
{"type":"violation_alleged","by":"UA","claim":"C1","agreement":"A1","against":"RU","incident_at":"2025-01-01T00:00:00Z","category":"shelling","location":{"name":"Sloviansk"},"description":"Shelling of a substation"}
"#;

/// A valid claim line with the given id (by UA against RU under `A1`).
pub fn claim_line(claim: &str) -> String {
    format!(
        r#"{{"type":"violation_alleged","by":"UA","claim":"{claim}","agreement":"A1","against":"RU","incident_at":"2025-01-01T00:00:00Z","category":"drone_strike","location":{{"name":"Town {claim}"}},"description":"Claim {claim}"}}"#
    )
}
