//! Output and waiting (issue 8, reproductions 16, 21 and 22): every command
//! ends quietly when its reader goes away (`armistice status --json | true`)
//! and fails clearly when standard output cannot be written (`> /dev/full`);
//! a ledger in use says how to wait; bad `--wait` values are refused.

mod common;
#[path = "common/hardening.rs"]
mod hardening;

use common::{armistice, describe, Ledger};
use hardening::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The commands of reproduction 16, run on the example ledger; `keygen`
/// writes a new key file each time (`n` makes its name unique).
fn commands(ledger: &Ledger, n: usize) -> Vec<(String, Command)> {
    let checkpoint = ledger.file("checkpoint.txt", &ledger.ok(&["checkpoint"]));
    let export = ledger.file("export.jsonl", &ledger.export());
    let key = vkey_path(ledger);
    let on_ledger: &[&[&str]] = &[
        &["status", "--json"],
        &["status"],
        &["claims"],
        &["claims", "--json"],
        &["audit", "RU-2025-03-21-sudzha"],
        &["audit", "RU-2025-03-21-sudzha", "--json"],
        &["timeline", "energy-moratorium-2025"],
        &["verify"],
        &["verify", "--json"],
        &["prove", "inclusion", "--seq", "3"],
        &[
            "prove",
            "consistency",
            "--from",
            "3",
            "--to",
            "61",
            "--json",
        ],
        &["checkpoint"],
        &["checkpoint", "--json"],
        &["export"],
        &["log"],
        &["log", "--json"],
    ];
    let mut out: Vec<(String, Command)> = on_ledger
        .iter()
        .map(|args| {
            let mut command = ledger.command();
            command.args(*args);
            (args.join(" "), command)
        })
        .collect();
    let key_file = ledger.dir().join(format!("party-{n}.key"));
    let mut keygen = armistice(ledger.dir());
    keygen.args(["keygen", "--out", key_file.to_str().unwrap()]);
    out.push(("keygen".into(), keygen));
    // The demo builds its own ledger in a temporary folder.
    let mut demo = armistice(ledger.dir());
    demo.arg("demo").env("TMPDIR", ledger.dir());
    out.push(("demo".into(), demo));
    let mut offline = armistice(ledger.dir());
    offline.arg("verify-proof").args([
        "--export",
        export.to_str().unwrap(),
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    out.push(("verify-proof --export".into(), offline));
    out
}

/// Reproduction 16: a reader that closes at once (`| true`): exit 0, nothing
/// on standard error, no panic.
#[test]
fn output_to_a_closed_pipe_ends_quietly() {
    let ledger = example();
    let before = ledger.snapshot();
    for (what, command) in commands(&ledger, 0) {
        let output = run_with_closed_stdout(command);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{what} | true: {}",
            describe(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.trim().is_empty(),
            "{what} | true ends quietly: {stderr}"
        );
    }
    // A reader that takes one line and goes (`| head -1`), mid-stream.
    for args in [&["export"][..], &["log"], &["log", "--json"]] {
        let mut command = ledger.command();
        command
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        assert!(!first.is_empty());
        drop(reader);
        let output = child.wait_with_output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?} | head -1: {}",
            describe(&output)
        );
        assert!(
            output.stderr.is_empty(),
            "{args:?} | head -1: {}",
            describe(&output)
        );
    }
    assert_eq!(
        ledger.snapshot().0,
        before.0,
        "the ledger's entries are unchanged"
    );
}

/// Reproduction 16: a standard output that cannot be written (`> /dev/full`):
/// exit 2 with a message, no panic.
#[test]
fn output_to_a_full_device_is_a_clear_error() {
    let ledger = example();
    for (what, command) in commands(&ledger, 1) {
        let output = run_into_dev_full(command);
        assert_clean_error(&output, &format!("{what} > /dev/full"));
    }
}

/// Reproduction 21: a ledger held by another process: the message says how
/// to wait (`--wait`) and mentions `--server`; `--wait` waits for it.
#[test]
fn a_busy_ledger_says_how_to_wait() {
    let ledger = example();
    // An import reading standard input holds the ledger until its input ends
    // (it waits for the ledger itself, should a probe below hold it as it starts).
    let mut holder = ledger.command();
    holder
        .args(["--wait", "60", "import", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut holder = holder.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let stderr = loop {
        let output = ledger.run(&["status"]);
        if !output.status.success() {
            break common::expect_error(output, "status while another process writes");
        }
        if let Some(status) = holder.try_wait().unwrap() {
            let output = holder.wait_with_output().unwrap();
            panic!("the importer ended early ({status}): {}", describe(&output));
        }
        assert!(
            Instant::now() < deadline,
            "the importer never held the ledger"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_mentions(&stderr, &["in use", "--wait", "--server"], "a busy ledger");
    // A short wait is not enough: the same error, after waiting.
    let started = Instant::now();
    let stderr = ledger.fails(&["--wait", "0.3", "status"]);
    assert!(started.elapsed() >= Duration::from_millis(300), "it waited");
    assert_mentions(&stderr, &["in use"], "after --wait 0.3");
    // A long wait ends when the holder does.
    let mut waiting = ledger.command();
    waiting
        .args(["--wait", "60", "status"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let waiting = waiting.spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    {
        use std::io::Write;
        let mut input = holder.stdin.take().unwrap();
        input
            .write_all(
                br#"{"type":"party_registered","by":"operator","party":"PL","name":"Poland","role":"mediator"}
"#,
            )
            .unwrap();
    }
    let held = holder.wait_with_output().unwrap();
    assert!(held.status.success(), "{}", describe(&held));
    let output = waiting.wait_with_output().unwrap();
    assert!(output.status.success(), "--wait 60: {}", describe(&output));
    assert_eq!(ledger.head().entries, 62);
}

/// Reproduction 22: `--wait` values that are no number of seconds from 0 to
/// a day: a clear error naming `--wait`, exit 2, no panic.
#[test]
fn bad_wait_values_are_refused_naming_wait() {
    let ledger = Ledger::new();
    for value in ["inf", "1e19", "-1", "nan", "NaN", "86401", "abc", ""] {
        let output = ledger.run(&["--wait", value, "status"]);
        assert_clean_error(&output, &format!("--wait {value:?}"));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--wait"), "--wait {value:?}: {stderr}");
    }
    // (`--wait -inf` reads as an unknown flag `-i`; given with `=` it is a value.)
    let output = ledger.run(&["--wait=-inf", "status"]);
    assert_clean_error(&output, "--wait=-inf");
    assert!(String::from_utf8_lossy(&output.stderr).contains("--wait"));
    for value in ["0", "0.5", "86400"] {
        ledger.ok(&["--wait", value, "status"]);
    }
}
