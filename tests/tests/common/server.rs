//! Helpers for the tests of `armistice serve`: a real server on
//! `127.0.0.1:0` (loopback only) over a temporary ledger, started and
//! stopped through the real binary, and plain HTTP calls to it.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use crate::common::{describe, Ledger};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Longest a server may take to start or to stop.
const START_STOP_MAX: Duration = Duration::from_secs(60);

/// A running `armistice serve`.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// What it wrote on standard error, collected by a thread.
    stderr: Option<std::thread::JoinHandle<String>>,
    http: reqwest::blocking::Client,
}

impl Server {
    /// Starts `armistice --ledger L serve --listen 127.0.0.1:0 EXTRA…` and
    /// waits for its first line, `listening on http://HOST:PORT`.
    pub fn start(ledger: &Ledger, extra: &[&str]) -> Server {
        let mut command = ledger.command();
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn armistice serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = BufReader::new(stderr).read_to_string(&mut text);
            text
        });
        let mut first = String::new();
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("read the first line");
        let Some(url) = first
            .trim()
            .strip_prefix("listening on ")
            .map(str::to_owned)
        else {
            let _ = child.kill();
            let _ = child.wait();
            let err = stderr.join().unwrap_or_default();
            panic!("serve did not say where it listens: {first:?}\n{err}")
        };
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        Server {
            child: Some(child),
            url,
            stderr: Some(stderr),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .expect("HTTP client"),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    /// `URL + path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// GET.
    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.http.get(self.at(path)).send().expect("GET")
    }

    /// GET with a 200 expected; the body.
    pub fn text(&self, path: &str) -> String {
        let response = self.get(path);
        let status = response.status();
        let body = response.text().expect("body");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// POSTs a body to `/v1/events`.
    pub fn post(
        &self,
        content_type: &str,
        body: impl Into<reqwest::blocking::Body>,
        token: Option<&str>,
    ) -> reqwest::blocking::Response {
        let mut request = self
            .http
            .post(self.at("/v1/events"))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.send().expect("POST /v1/events")
    }

    /// Sends a signal to the server (`kill -SIG PID`, the server is our child).
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// SIGTERM, then waits for the exit; returns its status and standard error.
    pub fn stop(mut self) -> (ExitStatus, String) {
        self.signal("TERM");
        self.wait()
    }

    /// SIGKILL, then waits.
    pub fn kill(mut self) -> String {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
        }
        self.wait().1
    }

    /// Waits for the server to exit (after a signal sent with [`Server::signal`]).
    pub fn wait_exit(mut self) -> (ExitStatus, String) {
        self.wait()
    }

    fn wait(&mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("a running server");
        let deadline = Instant::now() + START_STOP_MAX;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait for serve") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve did not stop within {START_STOP_MAX:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self
            .stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        (status, stderr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The operator token `init` wrote.
pub fn token(ledger: &Ledger) -> String {
    std::fs::read_to_string(ledger.path().join("operator.token"))
        .expect("operator.token")
        .trim()
        .to_owned()
}

/// The operator's verifier key `init` wrote.
pub fn operator_vkey(ledger: &Ledger) -> String {
    std::fs::read_to_string(ledger.path().join("operator.vkey"))
        .expect("operator.vkey")
        .trim()
        .to_owned()
}

/// `armistice keygen --out DIR/NAME.key`; returns the key file and its public key (hex).
pub fn keygen(ledger: &Ledger, name: &str) -> (std::path::PathBuf, String) {
    let path = ledger.dir().join(format!("{name}.key"));
    ledger.ok(&["keygen", "--out", &path.to_string_lossy(), "--name", name]);
    let vkey = std::fs::read_to_string(path.with_extension("key.pub")).expect("the .pub file");
    let verifier = vkey
        .trim()
        .splitn(3, '+')
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(verifier)
        .expect("base64 key");
    (path, hex::encode(&bytes[1..]))
}

/// `armistice sign --key KEY` of `lines`, offline: the signed lines.
pub fn sign(ledger: &Ledger, key: &std::path::Path, lines: &str) -> String {
    let output = ledger.run_stdin(&["sign", "--key", &key.to_string_lossy(), "-"], lines);
    assert!(output.status.success(), "sign: {}", describe(&output));
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// The binary against the server: `armistice --server URL ARGS`, with a
/// home of its own for pinned keys.
pub fn remote(ledger: &Ledger, server: &Server) -> std::process::Command {
    let mut command = crate::common::armistice(ledger.dir());
    command
        .arg("--server")
        .arg(&server.url)
        .env("ARMISTICE_HOME", ledger.dir().join("home"))
        .env_remove("ARMISTICE_SERVER");
    command
}

/// Key files of the parties [`world`] registers.
pub struct World {
    /// Ukraine's key (belligerent).
    pub ua: std::path::PathBuf,
    /// Russia's key (belligerent).
    pub ru: std::path::PathBuf,
    /// The monitoring mission's key (monitor).
    pub mon: std::path::PathBuf,
}

/// Registers UA and RU (belligerents) and MON (a monitor), each with a key,
/// and GE without one; UA proposes agreement `A1` with RU and files claim
/// `C0` against RU (both signed). Recorded locally, before any server.
pub fn world(ledger: &Ledger) -> World {
    let (ua, ua_pub) = keygen(ledger, "UA");
    let (ru, ru_pub) = keygen(ledger, "RU");
    let (mon, mon_pub) = keygen(ledger, "MON");
    ledger.record(&format!(
        r#"{{"type":"party_registered","by":"operator","party":"UA","name":"Ukraine","role":"belligerent","public_key":"{ua_pub}"}}
{{"type":"party_registered","by":"operator","party":"RU","name":"Russian Federation","role":"belligerent","public_key":"{ru_pub}"}}
{{"type":"party_registered","by":"operator","party":"MON","name":"Monitoring mission","role":"monitor","public_key":"{mon_pub}"}}
{{"type":"party_registered","by":"operator","party":"GE","name":"Georgia","role":"belligerent"}}
"#
    ));
    let signed = sign(
        ledger,
        &ua,
        r#"{"type":"agreement_proposed","by":"UA","agreement":"A1","title":"Energy moratorium","kind":"bilateral","parties":["UA","RU"],"mediators":[],"scope":["energy_infrastructure"],"effective_from":"2025-01-01T00:00:00Z"}
{"type":"violation_alleged","by":"UA","claim":"C0","agreement":"A1","against":"RU","incident_at":"2025-01-02T00:00:00Z","category":"shelling","location":{"name":"Sloviansk"},"description":"Shelling of a substation"}
"#,
    );
    ledger.record(&signed);
    World { ua, ru, mon }
}

/// An unsigned claim by `by` against `against` under `A1`.
pub fn claim(by: &str, against: &str, claim: &str) -> String {
    format!(
        r#"{{"type":"violation_alleged","by":"{by}","claim":"{claim}","agreement":"A1","against":"{against}","incident_at":"2025-01-02T00:00:00Z","category":"drone_strike","location":{{"name":"Town {claim}"}},"description":"Claim {claim}"}}"#
    )
}

/// An unsigned assessment of `C0` by the monitor.
pub fn assessment(reasoning: &str) -> String {
    format!(
        r#"{{"type":"allegation_assessed","by":"MON","claim":"C0","finding":"inconclusive","confidence":"low","reasoning":"{reasoning}"}}"#
    )
}
