//! `armistice serve` end to end, through the real binary on 127.0.0.1:0:
//! the remote command line prints byte for byte what the local one prints;
//! every refusal has its status and leaves the ledger unchanged; the feed
//! resumes with `Last-Event-ID`; receipts verify offline; SIGTERM exits 0.

mod common;
#[path = "common/server.rs"]
mod server;

use common::{describe, Ledger};
use serde_json::Value;
use server::{remote, Server};
use std::io::{BufRead, BufReader};

/// The read commands compared, on the spring-2025 example.
const READS: &[&[&str]] = &[
    &["export"],
    &["export", "--from", "5", "--to", "9"],
    &["log"],
    &["log", "--json"],
    &["status", "--at", "2025-03-20"],
    &["status", "--at", "2025-04-20", "--json"],
    &["status", "energy-moratorium-2025", "--at", "2025-03-26"],
    &[
        "status",
        "--at",
        "2025-04-20",
        "--known-at",
        "2025-04-01",
        "--json",
    ],
    &["claims", "--at", "2025-05-01"],
    &["claims", "--at", "2025-05-01", "--json"],
    &[
        "claims",
        "--agreement",
        "energy-moratorium-2025",
        "--by",
        "RU",
        "--at",
        "2025-04-30",
        "--json",
    ],
    &["claims", "--state", "disputed", "--at", "2025-05-01"],
    &["audit", "RU-2025-03-21-sudzha"],
    &["audit", "RU-2025-03-21-sudzha", "--json"],
    &[
        "audit",
        "UA-2025-04-01-kherson-energy",
        "--known-at",
        "2025-04-05",
    ],
    &["status", "--at", "2025-04-20", "--format", "csv"],
    &["claims", "--at", "2025-05-01", "--format", "csv"],
    &[
        "claims",
        "--by",
        "UA",
        "--at",
        "2025-05-01",
        "--format",
        "geojson",
    ],
    &[
        "timeline",
        "energy-moratorium-2025",
        "--at",
        "2025-05-01",
        "--format",
        "json",
    ],
    &["timeline", "energy-moratorium-2025", "--at", "2025-05-01"],
    &[
        "timeline",
        "ru-easter-truce-2025",
        "--at",
        "2025-04-22",
        "--known-at",
        "2025-04-21",
    ],
    &["checkpoint", "--size", "30"],
    &["checkpoint", "--size", "30", "--json"],
    &["checkpoint"],
    &["prove", "inclusion", "--seq", "7", "--size", "40"],
    &["prove", "inclusion", "--seq", "7", "--json"],
    &["prove", "consistency", "--from", "10", "--to", "61"],
    &[
        "prove",
        "consistency",
        "--from",
        "10",
        "--to",
        "61",
        "--json",
    ],
];

/// Reads that fail, with the same exit code on both sides.
const FAILING_READS: &[&[&str]] = &[
    &["audit", "no-such-claim"],
    &["timeline", "no-such-agreement"],
    &["prove", "inclusion", "--seq", "99"],
    &["export", "--from", "0"],
    &["status", "--at", "yesterday"],
];

#[test]
fn the_remote_command_line_prints_what_the_local_one_prints() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger, &[]);
    // Loaded over the network: a backfill, with the operator's token.
    let token_file = ledger.path().join("operator.token");
    let example = common::spring_2025_path();
    let without_token = remote(&ledger, &server)
        .args(["import", "--backfill", &example.to_string_lossy()])
        .output()
        .unwrap();
    assert_eq!(
        without_token.status.code(),
        Some(common::EXIT_ERROR),
        "a backfill is the operator's: {}",
        describe(&without_token)
    );
    let import = remote(&ledger, &server)
        .args(["--token-file", &token_file.to_string_lossy()])
        .args(["import", "--backfill", &example.to_string_lossy()])
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", describe(&import));
    let remote_out: Vec<_> = READS
        .iter()
        .map(|args| remote(&ledger, &server).args(*args).output().unwrap())
        .collect();
    let remote_failures: Vec<_> = FAILING_READS
        .iter()
        .map(|args| remote(&ledger, &server).args(*args).output().unwrap())
        .collect();
    let (status, stderr) = server.stop();
    assert!(
        status.success(),
        "serve exits 0 on SIGTERM: {status:?}\n{stderr}"
    );
    for (args, remote) in READS.iter().zip(&remote_out) {
        let local = ledger.run(args);
        assert!(
            local.status.success(),
            "local {args:?}: {}",
            describe(&local)
        );
        assert!(
            remote.status.success(),
            "remote {args:?}: {}",
            describe(remote)
        );
        assert!(!local.stdout.is_empty(), "{args:?} printed nothing");
        assert_eq!(
            String::from_utf8_lossy(&remote.stdout),
            String::from_utf8_lossy(&local.stdout),
            "remote and local output differ for {args:?}"
        );
    }
    for (args, remote) in FAILING_READS.iter().zip(&remote_failures) {
        let local = ledger.run(args);
        assert_eq!(
            remote.status.code(),
            Some(common::EXIT_ERROR),
            "remote {args:?}: {}",
            describe(remote)
        );
        assert_eq!(
            local.status.code(),
            Some(common::EXIT_ERROR),
            "local {args:?}: {}",
            describe(&local)
        );
        assert!(
            remote.stdout.is_empty(),
            "remote {args:?} printed on stdout"
        );
    }
}

/// The ledger as the server shows it: every export line.
fn snapshot(server: &Server) -> String {
    server.text("/v1/entries")
}

fn error_of(response: reqwest::blocking::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "errors are JSON"
    );
    let body: Value = serde_json::from_str(&response.text().unwrap()).expect("a JSON error");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    (status, body)
}

#[test]
fn refusals_have_their_status_and_leave_the_ledger_unchanged() {
    let ledger = Ledger::new();
    let world = server::world(&ledger);
    let token = server::token(&ledger);
    let server = Server::start(&ledger, &["--max-body", "64K"]);
    let before = snapshot(&server);
    let check = |what: &str, response: reqwest::blocking::Response, status: u16| -> Value {
        let (got, body) = error_of(response);
        assert_eq!(got, status, "{what}: {body}");
        assert_eq!(snapshot(&server), before, "{what} changed the ledger");
        body
    };
    let nd = "application/x-ndjson";

    // A party with a key must sign; one without a key is told to register one.
    let body = check(
        "unsigned",
        server.post(nd, server::claim("UA", "RU", "X1"), None),
        403,
    );
    assert_eq!(
        (body["line"].as_u64(), body["field"].as_str()),
        (Some(1), Some("signature")),
        "{body}"
    );
    let body = check(
        "keyless",
        server.post(nd, server::claim("GE", "RU", "X2"), None),
        403,
    );
    assert!(
        body["error"].as_str().unwrap().contains("register"),
        "{body}"
    );
    // Signed by another party's key: the rules' verdict, 403 too.
    let forged = server::sign(&ledger, &world.ru, &server::claim("UA", "RU", "X3"));
    check("forged", server.post(nd, forged, None), 403);

    // Operator statements need the token.
    let operator = r#"{"type":"party_registered","by":"operator","party":"SA","name":"Saudi Arabia","role":"mediator"}"#;
    let body = check("no token", server.post(nd, operator, None), 401);
    assert_eq!(body["line"].as_u64(), Some(1));
    check(
        "wrong token",
        server.post(nd, operator, Some("not-the-token")),
        401,
    );

    // Too large, with a length and chunked.
    let big = format!("{}\n", server::claim("UA", "RU", "X4")).repeat(400);
    assert!(big.len() > 64 * 1024);
    check("oversized", server.post(nd, big.clone(), Some(&token)), 413);
    let chunks = std::io::Cursor::new(big.into_bytes());
    check(
        "oversized, chunked",
        server.post(nd, reqwest::blocking::Body::new(chunks), Some(&token)),
        413,
    );

    // Malformed input names its line; an array names the element.
    let signed = server::sign(&ledger, &world.ua, &server::claim("UA", "RU", "X5"));
    let body = check(
        "malformed",
        server.post(nd, format!("{signed}{{\"type\":\"nope\"}}\n{signed}"), None),
        400,
    );
    assert_eq!(body["line"].as_u64(), Some(2), "{body}");
    let body = check(
        "not JSON",
        server.post(nd, format!("\n{signed}{{oops\n"), None),
        400,
    );
    assert_eq!(body["line"].as_u64(), Some(3), "{body}");
    let array = format!("[{}, {{\"type\":\"party_registered\"}}]", signed.trim());
    let body = check("array", server.post("application/json", array, None), 400);
    assert_eq!(body["line"].as_u64(), Some(2), "{body}");
    check(
        "wrong content type",
        server.post("text/plain", signed.clone(), None),
        415,
    );
    check("empty", server.post(nd, "\n\n", None), 400);

    // A rejection by the rules: the whole batch is refused, the line named.
    let late = server::sign(&ledger, &world.ua, &server::claim("UA", "GE", "X6"));
    let body = check(
        "rules",
        server.post(nd, format!("{signed}{late}"), None),
        400,
    );
    assert_eq!(
        (body["line"].as_u64(), body["field"].as_str()),
        (Some(2), Some("against")),
        "{body}"
    );

    // Conflicts: an expected version behind, and an event id with other content.
    let stale = server::claim("UA", "RU", "C0")
        .replace("\"by\":\"UA\"", "\"by\":\"UA\",\"expected_version\":0");
    let stale = server::sign(&ledger, &world.ua, &stale);
    check("expected version", server.post(nd, stale, None), 409);
    let export = server.text("/v1/entries/6");
    let stored: Value = serde_json::from_str(&export).unwrap();
    let event_id = stored["event_id"].as_str().unwrap();
    let other = server::claim("UA", "RU", "C0-other").replace(
        "\"by\":\"UA\"",
        &format!("\"by\":\"UA\",\"event_id\":\"{event_id}\""),
    );
    let other = server::sign(&ledger, &world.ua, &other);
    check("event id reused", server.post(nd, other, None), 409);

    // Reads: unknown ids, bad parameters.
    check("no such entry", server.get("/v1/entries/999"), 404);
    check("no such claim", server.get("/v1/claims/nope/audit"), 404);
    check(
        "no such agreement",
        server.get("/v1/agreements/nope/timeline"),
        404,
    );
    check(
        "unknown parameter",
        server.get("/v1/status?att=2025-01-01"),
        400,
    );
    check("bad date", server.get("/v1/status?at=soon"), 400);
    check("bad tile", server.get("/tile/0/5"), 400);
    check("tile beyond the log", server.get("/tile/0/000"), 404);
    check("no such endpoint", server.get("/v2/nothing"), 404);

    // The parties, their roles and current keys.
    let parties: Value = serde_json::from_str(&server.text("/v1/parties")).unwrap();
    let ua = parties
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["party"] == "UA")
        .unwrap();
    assert_eq!(
        (ua["role"].as_str(), ua["key_since_seq"].as_u64()),
        (Some("belligerent"), Some(1))
    );
    assert!(ua["vkey"].as_str().unwrap().starts_with("UA+"), "{ua}");
    let ge = parties
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["party"] == "GE")
        .unwrap();
    assert!(ge.get("public_key").is_none(), "{ge}");

    // And what is right goes through.
    let ok = server.post(nd, signed, None);
    assert_eq!(ok.status(), 200);
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    assert!(
        stderr.contains("path=/v1/events status=413"),
        "one log line per request:\n{stderr}"
    );
    ledger.verify();
}

#[test]
fn the_api_describes_itself() {
    let ledger = Ledger::new();
    let server = Server::start(&ledger, &[]);
    let health: Value = serde_json::from_str(&server.text("/healthz")).unwrap();
    assert_eq!(health["status"], "ok");
    let api: Value = serde_json::from_str(&server.text("/v1/openapi.json")).unwrap();
    assert!(
        api["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        api["openapi"]
    );
    for path in [
        "/v1/events",
        "/v1/entries",
        "/v1/entries/{seq}",
        "/v1/status",
        "/v1/claims",
        "/v1/claims/{claim}/audit",
        "/v1/agreements/{agreement}/timeline",
        "/v1/parties",
        "/v1/checkpoint",
        "/v1/proofs/inclusion",
        "/v1/proofs/consistency",
        "/v1/feed",
        "/checkpoint",
        "/healthz",
    ] {
        assert!(api["paths"][path].is_object(), "{path} is not described");
    }
    assert!(api["components"]["schemas"]["Receipt"].is_object());
    // The empty log still has a signed checkpoint, for tiled-log clients.
    assert!(server.text("/checkpoint").contains("\n0\n"));
    assert!(server.stop().0.success());
}

/// Reads Server-Sent Events until `until` has been seen: (id, data) each.
fn read_events(response: reqwest::blocking::Response, until: u64) -> Vec<(u64, String)> {
    let mut events = Vec::new();
    let mut id = None;
    for line in BufReader::new(response).lines() {
        let line = line.expect("the feed keeps going");
        if let Some(rest) = line.strip_prefix("id:") {
            id = Some(rest.trim().parse::<u64>().expect("a seq"));
        } else if let Some(rest) = line.strip_prefix("data:") {
            let seq = id.take().expect("id before data");
            events.push((seq, rest.trim_start().to_owned()));
            if seq >= until {
                break;
            }
        }
    }
    events
}

#[test]
fn the_feed_resumes_after_a_disconnect_and_sees_every_entry_once() {
    let ledger = Ledger::new();
    let token = server::token(&ledger);
    let server = Server::start(&ledger, &[]);
    let register = |n: usize| {
        let line = format!(
            r#"{{"type":"party_registered","by":"operator","party":"P{n}","name":"Party {n}","role":"monitor"}}"#
        );
        let response = server.post("application/x-ndjson", line, Some(&token));
        assert_eq!(response.status(), 200);
    };
    for n in 1..=4 {
        register(n);
    }
    let http = reqwest::blocking::Client::new();
    let first = http.get(server.at("/v1/feed?from=1")).send().unwrap();
    assert_eq!(first.headers()["content-type"], "text/event-stream");
    // Entries appended while the reader is connected arrive live.
    let writer = std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            for n in 5..=8 {
                register(n);
            }
        });
        let events = read_events(first, 6);
        handle.join().unwrap();
        events
    });
    for n in 9..=12 {
        register(n);
    }
    let last = writer.last().unwrap().0;
    let resumed = http
        .get(server.at("/v1/feed"))
        .header("Last-Event-ID", last.to_string())
        .send()
        .unwrap();
    let rest = read_events(resumed, 12);
    let all: Vec<(u64, String)> = writer.into_iter().chain(rest).collect();
    let seqs: Vec<u64> = all.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=12).collect::<Vec<_>>(),
        "every entry once, in order"
    );
    let export = server.text("/v1/entries");
    let lines: Vec<&str> = export.lines().collect();
    for (seq, data) in &all {
        assert_eq!(
            data,
            lines[*seq as usize - 1],
            "the feed's data is the export line"
        );
    }
    assert!(server.stop().0.success());
}

#[test]
fn remote_record_and_import_check_their_receipts() {
    let ledger = Ledger::new();
    let world = server::world(&ledger);
    let vkey = server::operator_vkey(&ledger);
    let token_file = ledger.path().join("operator.token");
    let server = Server::start(&ledger, &[]);
    let run = |args: &[&str], input: &str| {
        let mut command = remote(&ledger, &server);
        command.args(args);
        common::run_with_input(command, input.as_bytes())
    };

    // Signed offline, carried across, recorded: the receipt verifies offline.
    let signed = server::sign(&ledger, &world.ua, &server::claim("UA", "RU", "R1"));
    let receipt = ledger.dir().join("r1.json");
    let out = run(
        &[
            "record",
            "--json",
            "--receipt",
            &receipt.to_string_lossy(),
            "-",
        ],
        &signed,
    );
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pinned"),
        "first use pins the key"
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["stream"], "claim/R1");
    let checked = ledger.ok(&[
        "verify-proof",
        "--receipt",
        &receipt.to_string_lossy(),
        "--key",
        &vkey,
    ]);
    assert!(checked.contains("ok: entry 7"), "{checked}");
    let pinned = std::fs::read_to_string(ledger.dir().join("home/known_servers")).unwrap();
    assert!(pinned.contains(&vkey), "{pinned}");

    // `record --sign` over the network, then an operator statement with the token.
    let out = run(
        &["record", "--sign", &world.ru.to_string_lossy(), "-"],
        &server::claim("RU", "UA", "R2"),
    );
    assert!(out.status.success(), "{}", describe(&out));
    let operator = r#"{"type":"party_registered","by":"operator","party":"SA","name":"Saudi Arabia","role":"mediator"}"#;
    let out = run(&["record", "-"], operator);
    assert_eq!(out.status.code(), Some(common::EXIT_ERROR));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("line 1: operator statements are the operator's"),
        "{}",
        describe(&out)
    );
    let out = run(
        &["--token-file", &token_file.to_string_lossy(), "record", "-"],
        operator,
    );
    assert!(out.status.success(), "{}", describe(&out));

    // An import in several batches; interrupted (half of it), then run again whole.
    let lines: String = (0..1200)
        .map(|i| format!("{}\n", server::assessment(&format!("look {i}"))))
        .collect();
    let signed = server::sign(&ledger, &world.mon, &lines);
    let half: String = signed.lines().take(700).map(|l| format!("{l}\n")).collect();
    let half_file = ledger.file("half.jsonl", &half);
    let all_file = ledger.file("all.jsonl", &signed);
    let out = run(&["import", &half_file.to_string_lossy()], "");
    assert!(out.status.success(), "{}", describe(&out));
    let receipts = ledger.dir().join("import-receipts.jsonl");
    let out = run(
        &[
            "import",
            "--receipt",
            &receipts.to_string_lossy(),
            &all_file.to_string_lossy(),
        ],
        "",
    );
    assert!(out.status.success(), "{}", describe(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains(
            "imported 1200 events (700 already recorded); the log now holds 1209 entries"
        ),
        "{said}"
    );
    let checked = ledger.ok(&[
        "verify-proof",
        "--receipt",
        &receipts.to_string_lossy(),
        "--key",
        &vkey,
    ]);
    assert_eq!(
        checked
            .lines()
            .filter(|l| l.starts_with("receipt "))
            .count(),
        2,
        "two batches: {checked}"
    );

    // A key that does not sign the receipts is a loud error, and nothing is reported.
    let other_key = std::fs::read_to_string(world.ua.with_extension("key.pub")).unwrap();
    std::fs::write(
        ledger.dir().join("home/known_servers"),
        format!("{} {}\n", server.url, other_key.trim()),
    )
    .unwrap();
    let out = run(
        &["record", "--sign", &world.ua.to_string_lossy(), "-"],
        &server::claim("UA", "RU", "R3"),
    );
    assert_eq!(
        out.status.code(),
        Some(common::EXIT_ERROR),
        "{}",
        describe(&out)
    );
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pinned for"),
        "{}",
        describe(&out)
    );
    let (status, _) = server.stop();
    assert!(status.success());
    assert_eq!(
        ledger.head().entries,
        1210,
        "R3 landed (its receipt was refused by the client, not the server)"
    );
}
