//! `armistice serve` under load, through the real binary on 127.0.0.1:0:
//! sixteen concurrent clients of two parties and a monitor; a tiled-log
//! reader written here from the C2SP spec alone; SIGKILL mid-load.

mod common;
#[path = "common/server.rs"]
mod server;

use armistice_api::receipt::verify_receipt;
use armistice_api::wire::Receipt;
use armistice_client::Client;
use armistice_merkle::note::NoteVerifier;
use base64::Engine;
use common::Ledger;
use serde_json::Value;
use server::Server;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

const CLIENTS: usize = 16;
const EVENTS_PER_CLIENT: usize = 100;

/// Each client's signed statements, one line each: clients take turns
/// being UA (claims against RU), RU (claims against UA) and the monitor
/// (assessments of `C0`), signed offline with `armistice sign`.
fn signed_statements(
    ledger: &Ledger,
    world: &server::World,
    clients: usize,
    per_client: usize,
) -> Vec<Vec<String>> {
    let mut by_party: [Vec<(usize, String)>; 3] = Default::default();
    for client in 0..clients {
        for n in 0..per_client {
            let line = match client % 3 {
                0 => server::claim("UA", "RU", &format!("UA-{client}-{n}")),
                1 => server::claim("RU", "UA", &format!("RU-{client}-{n}")),
                _ => server::assessment(&format!("look {client}-{n}")),
            };
            by_party[client % 3].push((client, line));
        }
    }
    let mut out = vec![Vec::new(); clients];
    for (party, key) in [&world.ua, &world.ru, &world.mon].into_iter().enumerate() {
        let input: String = by_party[party]
            .iter()
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let signed = server::sign(ledger, key, &input);
        for ((client, _), line) in by_party[party].iter().zip(signed.lines()) {
            out[*client].push(line.to_owned());
        }
    }
    out
}

fn event_ids_of(export: &str) -> Vec<(u64, String)> {
    export
        .lines()
        .map(|line| {
            let entry: Value = serde_json::from_str(line).unwrap();
            (
                entry["seq"].as_u64().unwrap(),
                entry["event_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn sixteen_concurrent_clients_every_receipt_verifies_and_tiles_rebuild_the_root() {
    let ledger = Ledger::new();
    let world = server::world(&ledger);
    let statements = signed_statements(&ledger, &world, CLIENTS, EVENTS_PER_CLIENT);
    let operator = NoteVerifier::parse(&server::operator_vkey(&ledger)).unwrap();
    let server = Server::start(&ledger, &["--checkpoint-interval", "0.2"]);
    let receipts = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for lines in &statements {
            let (server, operator, receipts) = (&server, &operator, &receipts);
            scope.spawn(move || {
                let client = Client::new(&server.url, None).unwrap();
                for line in lines {
                    // Client::append checks the receipt before returning it.
                    let (receipt, _) = client
                        .append(line.clone(), false, operator)
                        .expect("appended");
                    receipts.lock().unwrap().push((line.clone(), receipt));
                }
            });
        }
    });
    let receipts = receipts.into_inner().unwrap();
    assert_eq!(receipts.len(), CLIENTS * EVENTS_PER_CLIENT);

    // Every acknowledged entry is there once, at the seq its receipt names; no gaps.
    let export = server.text("/v1/entries");
    let stored = event_ids_of(&export);
    let seqs: Vec<u64> = stored.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as u64).collect::<Vec<_>>(),
        "seq is gap-free"
    );
    assert_eq!(stored.len(), 6 + CLIENTS * EVENTS_PER_CLIENT);
    let mut seen = HashSet::new();
    for (_, id) in &stored {
        assert!(seen.insert(id.clone()), "event {id} is stored twice");
    }
    let at: BTreeMap<u64, &str> = stored.iter().map(|(seq, id)| (*seq, id.as_str())).collect();
    for (line, receipt) in &receipts {
        let sent: Value = serde_json::from_str(line).unwrap();
        let appended = &receipt.appended[0];
        assert_eq!(Some(&appended.event_id.as_str()), at.get(&appended.seq));
        assert_eq!(sent["event_id"].as_str(), Some(appended.event_id.as_str()));
        assert!(!appended.duplicate);
        // Offline, from the saved JSON: anyone with the operator's key can check it.
        let saved: Receipt =
            serde_json::from_str(&serde_json::to_string(receipt).unwrap()).unwrap();
        verify_receipt(&saved, &operator).expect("the receipt verifies offline");
    }

    // A tiled-log reader from the spec alone rebuilds the checkpoint's root.
    let (size, root) = read_tiles(&server);
    assert!(size >= 256, "at least one full tile: {size}");
    assert_eq!(root, checkpoint_root(&server, size));
    let (status, stderr) = server.stop();
    assert!(status.success(), "{stderr}");
    ledger.verify();
}

/// The root of the tree of `size` leaves, as `/v1/checkpoint?size=` signs it.
fn checkpoint_root(server: &Server, size: u64) -> [u8; 32] {
    let note = server.text(&format!("/v1/checkpoint?size={size}"));
    root_of_note(&note).1
}

fn root_of_note(note: &str) -> (u64, [u8; 32]) {
    let mut lines = note.lines();
    let _origin = lines.next().unwrap();
    let size = lines.next().unwrap().parse().unwrap();
    let root = base64::engine::general_purpose::STANDARD
        .decode(lines.next().unwrap())
        .unwrap();
    (size, root.try_into().unwrap())
}

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// RFC 6962 MTH over leaf hashes.
fn mth(hashes: &[[u8; 32]]) -> [u8; 32] {
    match hashes.len() {
        0 => sha(&[]),
        1 => hashes[0],
        n => {
            let k = n.next_power_of_two() / 2;
            sha(&[&[1], &mth(&hashes[..k]), &mth(&hashes[k..])])
        }
    }
}

/// `N` as tlog-tiles spells it: 3-digit groups, `x` before all but the last.
fn index_path(n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    let mut rest = n / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn fetch(server: &Server, path: &str) -> (Vec<u8>, Option<String>) {
    let response = server.get(path);
    assert_eq!(response.status(), 200, "GET {path}");
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    let cache = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.bytes().unwrap().to_vec(), cache)
}

/// Reads `/checkpoint` and the tiles as the spec lays them out: every
/// level-0 tile (full, then the partial one), each entry bundle checked
/// against its tile, each level-1 hash checked against the full level-0
/// tile under it; returns the size and the root rebuilt from the leaves.
fn read_tiles(server: &Server) -> (u64, [u8; 32]) {
    let response = server.get("/checkpoint");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let (size, _) = root_of_note(&response.text().unwrap());
    let mut leaves = Vec::new();
    let mut level0_tiles = Vec::new();
    for n in 0..size.div_ceil(256) {
        let width = (size - n * 256).min(256);
        let suffix = if width == 256 {
            String::new()
        } else {
            format!(".p/{width}")
        };
        let (tile, cache) = fetch(server, &format!("/tile/0/{}{suffix}", index_path(n)));
        assert_eq!(tile.len() as u64, 32 * width);
        if width == 256 {
            assert!(
                cache.unwrap().contains("immutable"),
                "a full tile never changes"
            );
        }
        let hashes: Vec<[u8; 32]> = tile.chunks(32).map(|c| c.try_into().unwrap()).collect();
        let (bundle, _) = fetch(server, &format!("/tile/entries/{}{suffix}", index_path(n)));
        let mut rest = &bundle[..];
        for hash in &hashes {
            let length = u16::from_be_bytes([rest[0], rest[1]]) as usize;
            let entry = &rest[2..2 + length];
            assert_eq!(
                &sha(&[&[0], entry]),
                hash,
                "the bundle's entry hashes to the tile's leaf"
            );
            rest = &rest[2 + length..];
        }
        assert!(
            rest.is_empty(),
            "the bundle holds exactly the tile's entries"
        );
        if width == 256 {
            level0_tiles.push(mth(&hashes));
        }
        leaves.extend(hashes);
    }
    let level1_width = size / 256 % 256;
    if level1_width > 0 {
        let (tile, cache) = fetch(server, &format!("/tile/1/000.p/{level1_width}"));
        assert!(!cache.unwrap().contains("immutable"));
        let hashes: Vec<[u8; 32]> = tile.chunks(32).map(|c| c.try_into().unwrap()).collect();
        assert_eq!(
            hashes, level0_tiles,
            "level 1 holds the roots of the full level-0 tiles"
        );
    }
    (size, mth(&leaves))
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_entry() {
    stopped_under_load("KILL");
}

#[test]
fn sigterm_under_load_finishes_what_it_acknowledges_and_exits_0() {
    stopped_under_load("TERM");
}

/// Appends from 8 clients, stops the server with `signal` midway, then
/// checks that every acknowledged entry is there and `verify` passes.
fn stopped_under_load(signal: &str) {
    let ledger = Ledger::new();
    let world = server::world(&ledger);
    let statements = signed_statements(&ledger, &world, 8, 60);
    let operator = NoteVerifier::parse(&server::operator_vkey(&ledger)).unwrap();
    let server = Server::start(&ledger, &[]);
    let acknowledged = Mutex::new(Vec::new());
    let killed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for lines in &statements {
            let (server, operator, acknowledged, killed) =
                (&server, &operator, &acknowledged, &killed);
            scope.spawn(move || {
                let client = Client::new(&server.url, None).unwrap();
                for line in lines {
                    match client.append(line.clone(), false, operator) {
                        Ok((receipt, _)) => acknowledged
                            .lock()
                            .unwrap()
                            .push(receipt.appended[0].event_id.clone()),
                        // Only once the server is gone may an append fail.
                        Err(e) => {
                            assert!(killed.load(Ordering::SeqCst), "failed before the kill: {e}");
                            return;
                        }
                    }
                }
            });
        }
        // Kill once a good part of the load was acknowledged (bounded wait).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while acknowledged.lock().unwrap().len() < 150 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        killed.store(true, Ordering::SeqCst);
        server.signal(signal);
    });
    let (status, stderr) = server.wait_exit();
    if signal == "TERM" {
        assert!(status.success(), "SIGTERM: exit 0\n{stderr}");
        assert!(stderr.contains("the ledger is closed"), "{stderr}");
    }
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(acknowledged.len() >= 150, "{}", acknowledged.len());
    // Restarted: every acknowledged entry is there, and verify passes.
    let report = ledger.verify();
    let export = ledger.export();
    let stored: HashSet<String> = event_ids_of(&export)
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged event {id} was lost");
    }
    assert!(report["entries"].as_u64().unwrap() >= 6 + acknowledged.len() as u64);
    let again = Server::start(&ledger, &[]);
    assert_eq!(
        again.text("/v1/entries"),
        export,
        "the restarted server serves the same log"
    );
    assert!(again.stop().0.success());
}
