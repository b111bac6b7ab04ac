//! `armistice witness` end to end: the real binary on 127.0.0.1:0, fed the
//! checkpoints of a growing in-memory log, killed with SIGKILL and restarted
//! on the same state folder: it must still refuse a fork of what it cosigned.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;

use armistice_merkle::checkpoint::{parse_signature_line, sign, Checkpoint, SignedCheckpoint};
use armistice_merkle::cosignature::{cosigner_verifier, verify_quorum};
use armistice_merkle::note::NoteSigner;
use armistice_merkle::{consistency_proof, root, Hash, MemoryTree};
use armistice_witness::AddCheckpointRequest;

const ORIGIN: &str = "armistice/e2e-ledger";

/// A log kept in memory, signing its checkpoints.
struct Log {
    tree: MemoryTree,
    key: NoteSigner,
}

impl Log {
    /// A log whose entries start with `prefix`: two prefixes make two forks.
    fn new(prefix: &str, entries: u64) -> Log {
        let mut log = Log {
            tree: MemoryTree::new(),
            key: NoteSigner::from_seed(ORIGIN, [1; 32]).unwrap(),
        };
        for i in 0..entries {
            log.tree.push(format!("{prefix} {i}").as_bytes());
        }
        log
    }

    fn signed(&self, size: u64) -> SignedCheckpoint {
        let checkpoint = Checkpoint::new(ORIGIN, size, root(size, &self.tree).unwrap());
        sign(&checkpoint, ORIGIN, self.key.signing_key()).unwrap()
    }

    fn proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        consistency_proof(old, new, &self.tree).map_err(|e| e.to_string())
    }

    /// The request body for size `size` from old size `old`.
    fn request(&self, old: u64, size: u64) -> String {
        AddCheckpointRequest {
            old_size: old,
            proof: if old == 0 {
                vec![]
            } else {
                self.proof(old, size).unwrap()
            },
            note: self.signed(size).to_note(),
        }
        .to_body()
    }
}

/// The files a witness process needs: its key and its state folder.
struct Setup {
    dir: tempfile::TempDir,
    key: NoteSigner,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let key = NoteSigner::from_seed("witness.example/e2e", [7; 32]).unwrap();
        std::fs::write(
            dir.path().join("witness.key"),
            key.to_secret_string() + "\n",
        )
        .unwrap();
        Setup { dir, key }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Starts `armistice witness` on 127.0.0.1:0; returns it and its address.
    fn start(&self, log: &Log) -> (Child, String) {
        let mut child = common::armistice(self.dir.path())
            .arg("witness")
            .args(["--listen", "127.0.0.1:0", "--key", "witness.key"])
            .arg("--log")
            .arg(log.key.verifier().to_string())
            .arg("--state")
            .arg(self.state())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn armistice witness");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first).unwrap();
        let address = first
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("first line: {first:?}"))
            .to_owned();
        assert!(
            !address.ends_with(":0"),
            "the real port is printed: {address}"
        );
        (child, address)
    }
}

/// One `POST /add-checkpoint` over a fresh connection: status, content type, body.
fn post(address: &str, body: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /add-checkpoint HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

/// Checks a 200 body: a cosignature by the setup's witness on `size` of `log`.
fn assert_cosigned(setup: &Setup, log: &Log, size: u64, body: &str) {
    let mut signed = log.signed(size);
    for line in body.lines() {
        signed.signatures.push(parse_signature_line(line).unwrap());
    }
    assert_eq!(
        verify_quorum(&signed, &[cosigner_verifier(&setup.key)], 1),
        Ok(1)
    );
}

fn kill(mut child: Child) {
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

#[test]
fn a_witness_killed_right_after_answering_still_refuses_the_fork() {
    let setup = Setup::new();
    let log = Log::new("entry", 40);
    let fork = Log::new("forged", 40);
    let (child, address) = setup.start(&log);

    // The log's own client, against the real binary.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let http = armistice_witness::client::http_client().unwrap();
    let url = format!("http://{address}");
    let mut known = 0;
    for size in [3u64, 8, 8, 21, 30] {
        let note = log.signed(size).to_note();
        let lines = runtime
            .block_on(armistice_witness::client::add_checkpoint(
                &http,
                &url,
                &note,
                known,
                |a, b| log.proof(a, b),
            ))
            .unwrap();
        assert_cosigned(&setup, &log, size, &(lines.join("\n") + "\n"));
        known = size;
    }
    kill(child);

    let (child, address) = setup.start(&log);
    let (status, _, body) = post(&address, &fork.request(30, 30));
    assert_eq!(status, 422, "same size, other root: {body}");
    let (status, content_type, body) = post(&address, &fork.request(0, 35));
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "30\n")
    );
    let (status, _, body) = post(&address, &log.request(30, 35));
    assert_eq!(status, 200, "{body}");
    assert_cosigned(&setup, &log, 35, &body);
    kill(child);
}

#[test]
fn a_witness_killed_mid_stream_keeps_what_it_answered() {
    let setup = Setup::new();
    let log = Log::new("entry", 60);
    let fork = Log::new("forged", 60);
    let (child, address) = setup.start(&log);

    // Requests for sizes 1, 2, 3, … sent back to back from a thread; the
    // witness is killed as soon as the 20th answer arrives, while the 21st is
    // on its way (before, during or after its write).
    let (answers, answered) = mpsc::channel();
    let bodies: Vec<(u64, String)> = (1..=59)
        .map(|size| (size, log.request(size - 1, size)))
        .collect();
    let sender = {
        let address = address.clone();
        std::thread::spawn(move || {
            for (size, body) in bodies {
                let Ok(mut stream) = TcpStream::connect(&address) else {
                    return;
                };
                let request = format!(
                    "POST /add-checkpoint HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let mut response = String::new();
                if stream.write_all(request.as_bytes()).is_err()
                    || stream.read_to_string(&mut response).is_err()
                {
                    return;
                }
                if !response.starts_with("HTTP/1.1 200") || answers.send(size).is_err() {
                    return;
                }
            }
        })
    };
    let mut last_answered = 0;
    while last_answered < 20 {
        last_answered = answered.recv().expect("the witness answers");
    }
    kill(child);
    sender.join().unwrap();
    // Anything answered after the 20th also counts: it left the witness.
    last_answered = answered.try_iter().last().unwrap_or(last_answered);

    let (child, address) = setup.start(&log);
    let (status, _, body) = post(&address, &log.request(0, 59));
    assert_eq!(status, 409);
    let recorded: u64 = body.trim_end().parse().unwrap();
    println!("killed after answer {last_answered}; the witness had recorded {recorded}");
    assert!(
        recorded == last_answered || recorded == last_answered + 1,
        "answered up to {last_answered}, recorded {recorded}"
    );
    let (status, _, body) = post(&address, &fork.request(recorded, recorded));
    assert_eq!(status, 422, "the fork at {recorded}: {body}");
    let (status, _, body) = post(&address, &log.request(recorded, 59));
    assert_eq!(status, 200, "{body}");
    kill(child);
}

#[test]
fn sigterm_stops_the_witness_with_exit_code_0() {
    let setup = Setup::new();
    let log = Log::new("entry", 5);
    let (mut child, address) = setup.start(&log);
    assert_eq!(post(&address, &log.request(0, 5)).0, 200);
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    // The state survived the stop, and the folder is free again.
    let (child, address) = setup.start(&log);
    assert_eq!(
        post(&address, &log.request(0, 5)),
        (409, "text/x.tlog.size".into(), "5\n".into())
    );
    kill(child);
    assert!(Path::new(&setup.state()).join("logs").is_dir());
}

#[test]
fn bad_arguments_are_refused() {
    let setup = Setup::new();
    let log = Log::new("entry", 1);
    // A public key where the secret key goes.
    std::fs::write(
        setup.dir.path().join("public.key"),
        log.key.verifier().to_string(),
    )
    .unwrap();
    let output = common::armistice(setup.dir.path())
        .args([
            "witness",
            "--listen",
            "127.0.0.1:0",
            "--key",
            "public.key",
            "--log",
        ])
        .arg(log.key.verifier().to_string())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(common::EXIT_ERROR),
        "{}",
        common::describe(&output)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("secret"));
    // A secret key where a log's public key goes.
    let output = common::armistice(setup.dir.path())
        .args([
            "witness",
            "--listen",
            "127.0.0.1:0",
            "--key",
            "witness.key",
            "--log",
        ])
        .arg(log.key.to_secret_string())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(common::EXIT_ERROR),
        "{}",
        common::describe(&output)
    );
}
