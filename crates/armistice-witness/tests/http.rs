//! The witness over real HTTP on 127.0.0.1: an in-process server, a real
//! client, and logs made with `MemoryTree` and `checkpoint::sign`.

use std::path::Path;
use std::sync::Arc;

use armistice_merkle::checkpoint::{
    parse_note, parse_signature_line, sign, Checkpoint, SignedCheckpoint,
};
use armistice_merkle::cosignature::{verify_cosignature, verify_quorum};
use armistice_merkle::note::{NoteSigner, NoteVerifier};
use armistice_merkle::{consistency_proof, empty_root, root, Hash, MemoryTree};
use armistice_witness::client::{add_checkpoint, http_client};
use armistice_witness::{
    origin_hash, serve, AddCheckpointRequest, ClientError, Witness, REQUEST_BODY_BYTES_MAX,
    TLOG_SIZE_CONTENT_TYPE,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const ORIGIN: &str = "example.com/ledger";

/// A log: its tree and its key.
struct Log {
    tree: MemoryTree,
    key: NoteSigner,
}

impl Log {
    fn new(origin: &str, seed: u8) -> Self {
        Log {
            tree: MemoryTree::new(),
            key: NoteSigner::from_seed(origin, [seed; 32]).unwrap(),
        }
    }

    fn grow(&mut self, entries: u64) {
        for _ in 0..entries {
            let n = self.tree.len();
            self.tree
                .push(format!("{} entry {n}", self.key.name()).as_bytes());
        }
    }

    fn size(&self) -> u64 {
        self.tree.len()
    }

    fn signed(&self, size: u64) -> SignedCheckpoint {
        let checkpoint = Checkpoint::new(self.key.name(), size, root(size, &self.tree).unwrap());
        sign(&checkpoint, self.key.name(), self.key.signing_key()).unwrap()
    }

    fn note(&self) -> String {
        self.signed(self.size()).to_note()
    }

    fn proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, String> {
        consistency_proof(old, new, &self.tree).map_err(|e| e.to_string())
    }

    fn request(&self, old_size: u64) -> String {
        let proof = match old_size {
            0 => vec![],
            old => self.proof(old, self.size()).unwrap(),
        };
        AddCheckpointRequest {
            old_size,
            proof,
            note: self.note(),
        }
        .to_body()
    }
}

/// A witness served on 127.0.0.1 until `stop` is called.
struct Server {
    url: String,
    witness: Arc<Witness>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    async fn start(dir: &Path, key: &NoteSigner, logs: &[NoteVerifier]) -> Server {
        let witness = Arc::new(Witness::open(dir, key.clone(), logs).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, Arc::clone(&witness), async move {
            let _ = stopped.await;
        }));
        Server {
            url,
            witness,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Stops the server and waits for it, releasing the state folder.
    async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        assert_eq!(
            Arc::strong_count(&self.witness),
            1,
            "the router let go of the witness"
        );
    }

    async fn post(&self, body: impl Into<String>) -> (u16, String, String) {
        let response = reqwest::Client::new()
            .post(format!("{}/add-checkpoint", self.url))
            .body(body.into())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, content_type, response.text().await.unwrap())
    }
}

fn witness_key() -> NoteSigner {
    NoteSigner::from_seed("witness.example/w1", [42; 32]).unwrap()
}

/// The log's checkpoint with the witness's lines added, checked with the quorum.
fn assert_cosigned(log: &Log, lines: &[String], witness: &NoteVerifier) {
    let mut signed = log.signed(log.size());
    for line in lines {
        signed.signatures.push(parse_signature_line(line).unwrap());
    }
    assert_eq!(
        verify_quorum(&signed, std::slice::from_ref(witness), 1),
        Ok(1)
    );
    signed
        .verify(log.key.name(), log.key.verifier().verifying_key())
        .unwrap();
}

#[tokio::test]
async fn cosigns_a_growing_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(ORIGIN, 1);
    let server = Server::start(dir.path(), &witness_key(), &[log.key.verifier()]).await;
    let http = http_client().unwrap();
    let vkey = server.witness.verifier();
    assert_eq!(
        vkey.to_string(),
        NoteVerifier::parse(&vkey.to_string()).unwrap().to_string()
    );

    let mut known = 0;
    for step in [1u64, 1, 2, 5, 250, 7, 0, 1000] {
        log.grow(step);
        let lines = add_checkpoint(&http, &server.url, &log.note(), known, |a, b| {
            log.proof(a, b)
        })
        .await
        .unwrap();
        assert_eq!(lines.len(), 1);
        assert_cosigned(&log, &lines, &vkey);
        known = log.size();
        assert_eq!(
            server.witness.latest(ORIGIN).unwrap(),
            Some((log.size(), root(log.size(), &log.tree).unwrap()))
        );
    }
    // A log that forgot the witness's size (0) is told it and retries once.
    log.grow(3);
    let lines = add_checkpoint(&http, &server.url, &log.note(), 0, |a, b| log.proof(a, b))
        .await
        .unwrap();
    assert_cosigned(&log, &lines, &vkey);
    // So is one that believes a wrong size.
    log.grow(1);
    let lines = add_checkpoint(&http, &server.url, &log.note(), 2, |a, b| log.proof(a, b))
        .await
        .unwrap();
    assert_cosigned(&log, &lines, &vkey);
    server.stop().await;
}

#[tokio::test]
async fn refuses_forks_with_the_statuses_of_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(ORIGIN, 1);
    let server = Server::start(dir.path(), &witness_key(), &[log.key.verifier()]).await;
    log.grow(10);
    assert_eq!(server.post(log.request(0)).await.0, 200);

    // A fork: another tree of the same key, same size, other root.
    let mut fork = Log::new(ORIGIN, 1);
    fork.tree.push(b"something else");
    fork.grow(9);
    assert_eq!(fork.size(), 10);
    let (status, _, body) = server.post(fork.request(10)).await;
    assert_eq!(status, 422, "{body}");

    // A fork that grew: the proof from 10 cannot lead from the witness's root.
    fork.grow(5);
    let (status, _, body) = server.post(fork.request(10)).await;
    assert_eq!(status, 422, "{body}");

    // A smaller size than the witness holds, old size said truly: 400.
    let smaller = AddCheckpointRequest {
        old_size: 10,
        proof: vec![],
        note: log.signed(7).to_note(),
    };
    assert_eq!(server.post(smaller.to_body()).await.0, 400);
    // ... and with the old size of that smaller tree: 409 with the real size.
    let smaller = AddCheckpointRequest {
        old_size: 5,
        proof: log.proof(5, 7).unwrap(),
        note: log.signed(7).to_note(),
    };
    let (status, content_type, body) = server.post(smaller.to_body()).await;
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (409, TLOG_SIZE_CONTENT_TYPE, "10\n")
    );

    // A corrupted proof for a real extension: 422.
    log.grow(6);
    let mut bad = AddCheckpointRequest {
        old_size: 10,
        proof: log.proof(10, 16).unwrap(),
        note: log.note(),
    };
    bad.proof[0][0] ^= 1;
    assert_eq!(server.post(bad.to_body()).await.0, 422);
    // Too few proof hashes, or proof lines from size 0: 422.
    bad.proof = log.proof(10, 16).unwrap();
    bad.proof.pop();
    assert_eq!(server.post(bad.to_body()).await.0, 422);

    // The same size again with the same root is cosigned again.
    let same = AddCheckpointRequest {
        old_size: 10,
        proof: vec![],
        note: log.signed(10).to_note(),
    };
    assert_eq!(server.post(same.to_body()).await.0, 200);
    // Nothing above moved the witness.
    assert_eq!(
        server.witness.latest(ORIGIN).unwrap().map(|l| l.0),
        Some(10)
    );
    assert_eq!(server.post(log.request(10)).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn empty_trees_and_proofs_from_zero() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new(ORIGIN, 1);
    let server = Server::start(dir.path(), &witness_key(), &[log.key.verifier()]).await;
    let bad_root = Checkpoint::new(ORIGIN, 0, [1; 32]);
    let note = sign(&bad_root, ORIGIN, log.key.signing_key())
        .unwrap()
        .to_note();
    let request = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        note,
    };
    assert_eq!(server.post(request.to_body()).await.0, 422);

    let empty = Checkpoint::new(ORIGIN, 0, empty_root());
    let note = sign(&empty, ORIGIN, log.key.signing_key())
        .unwrap()
        .to_note();
    let with_proof = AddCheckpointRequest {
        old_size: 0,
        proof: vec![[0; 32]],
        note: note.clone(),
    };
    assert_eq!(server.post(with_proof.to_body()).await.0, 422);
    let request = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        note,
    };
    assert_eq!(server.post(request.to_body()).await.0, 200);
    assert_eq!(
        server.witness.latest(ORIGIN).unwrap(),
        Some((0, empty_root()))
    );
    server.stop().await;
}

#[tokio::test]
async fn refuses_unknown_logs_and_bad_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(ORIGIN, 1);
    let server = Server::start(dir.path(), &witness_key(), &[log.key.verifier()]).await;
    log.grow(3);

    // Another origin: 404.
    let mut other = Log::new("example.com/other", 2);
    other.grow(3);
    assert_eq!(server.post(other.request(0)).await.0, 404);

    // The right origin signed by another key: 403.
    let mut impostor = Log::new(ORIGIN, 3);
    impostor.grow(3);
    let (status, _, body) = server.post(impostor.request(0)).await;
    assert_eq!(status, 403, "{body}");

    // A trusted key's line that does not verify: 403, even beside a good one.
    let mut signed = log.signed(3);
    let mut broken = signed.signatures[0].clone();
    broken.signature[0] ^= 1;
    signed.signatures.push(broken);
    let request = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        note: signed.to_note(),
    };
    assert_eq!(server.post(request.to_body()).await.0, 403);

    // Unknown lines beside the log's are ignored, and not kept.
    let mut signed = log.signed(3);
    let stranger = NoteSigner::from_seed("stranger", [9; 32]).unwrap();
    signed
        .add_signature(stranger.name(), stranger.signing_key())
        .unwrap();
    let request = AddCheckpointRequest {
        old_size: 0,
        proof: vec![],
        note: signed.to_note(),
    };
    let (status, content_type, body) = server.post(request.to_body()).await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "text/plain; charset=utf-8"),
        "{body}"
    );
    assert_eq!(server.witness.latest(ORIGIN).unwrap().map(|l| l.0), Some(3));

    // What monitors fetch: the log's signature and the cosignature only.
    let url = format!("{}/{}/checkpoint", server.url, origin_hash(ORIGIN));
    let stored = reqwest::get(&url).await.unwrap().text().await.unwrap();
    let stored = parse_note(&stored).unwrap();
    assert_eq!(stored.signatures.len(), 2);
    stored
        .verify(ORIGIN, log.key.verifier().verifying_key())
        .unwrap();
    verify_cosignature(&stored, &server.witness.verifier()).unwrap();
    let unknown = format!(
        "{}/{}/checkpoint",
        server.url,
        origin_hash("example.com/other")
    );
    assert_eq!(reqwest::get(&unknown).await.unwrap().status().as_u16(), 404);
    server.stop().await;
}

#[tokio::test]
async fn survives_a_restart_and_still_refuses_the_fork() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(ORIGIN, 1);
    let keys = [log.key.verifier()];
    let server = Server::start(dir.path(), &witness_key(), &keys).await;
    log.grow(20);
    assert_eq!(server.post(log.request(0)).await.0, 200);
    // A second witness on the same folder is refused while the first runs.
    assert!(Witness::open(dir.path(), witness_key(), &keys).is_err());
    server.stop().await;

    let server = Server::start(dir.path(), &witness_key(), &keys).await;
    let mut fork = Log::new(ORIGIN, 1);
    fork.tree.push(b"rewritten history");
    fork.grow(19);
    assert_eq!(server.post(fork.request(20)).await.0, 422);
    let (status, _, body) = server.post(fork.request(0)).await;
    assert_eq!((status, body.as_str()), (409, "20\n"));
    log.grow(1);
    assert_eq!(server.post(log.request(20)).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn concurrent_requests_from_one_old_size_cosign_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(ORIGIN, 1);
    let server = Arc::new(Server::start(dir.path(), &witness_key(), &[log.key.verifier()]).await);
    log.grow(4);
    assert_eq!(server.post(log.request(0)).await.0, 200);
    // Eight growths of the same tree, all sent from old size 4 at once: the
    // first to take the lock wins, the others see its size (409).
    let mut bodies = Vec::new();
    for _ in 0..8 {
        log.grow(3);
        bodies.push(log.request(4));
    }
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let server = Arc::clone(&server);
            tokio::spawn(async move { server.post(body).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);
    let server = Arc::into_inner(server).unwrap();
    server.stop().await;
}

#[tokio::test]
async fn malformed_and_oversized_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(ORIGIN, 1);
    let server = Server::start(dir.path(), &witness_key(), &[log.key.verifier()]).await;
    log.grow(2);
    for body in [
        String::new(),
        "old 0\n".to_owned(),
        "nonsense".to_owned(),
        format!("old 00\n\n{}", log.note()),
        format!("old 0\n\n{}", log.note().replace('\u{2014}', "-")),
        format!(
            "old 0\n{}\n{}",
            "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n".repeat(64),
            log.note()
        ),
    ] {
        let (status, _, text) = server.post(body.clone()).await;
        assert_eq!(status, 400, "{body:?}: {text}");
    }
    let (status, _, _) = server.post("x".repeat(REQUEST_BODY_BYTES_MAX + 1)).await;
    assert_eq!(status, 413);
    // The same without a Content-Length: a chunked body stopped at the limit.
    // (Blocking I/O, so on its own thread: the server shares this one.)
    let url = server.url.clone();
    let status =
        tokio::task::spawn_blocking(move || chunked_post(&url, REQUEST_BODY_BYTES_MAX + 1));
    assert_eq!(status.await.unwrap(), 413);
    // The old size above the checkpoint's size: 400.
    assert_eq!(
        server
            .post(log.request(0).replacen("old 0", "old 3", 1))
            .await
            .0,
        400
    );
    // A GET of the submission endpoint.
    let get = reqwest::get(format!("{}/add-checkpoint", server.url))
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 405);
    // Nothing was recorded by any of it.
    assert_eq!(server.witness.latest(ORIGIN).unwrap(), None);
    server.stop().await;
}

#[tokio::test]
async fn the_spec_example_request_is_judged_by_its_signatures() {
    let body = "old 20852014\n\
        PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n\
        jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\
        5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n\
        /6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\
        \n\
        example.com/behind-the-sofa\n\
        20852163\n\
        CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
        \n\
        \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
        \u{2014} example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";
    // A witness that does not follow that log: 404.
    let dir = tempfile::tempdir().unwrap();
    let ours = NoteSigner::from_seed("example.com/ledger", [1; 32]).unwrap();
    let server = Server::start(dir.path(), &witness_key(), &[ours.verifier()]).await;
    assert_eq!(server.post(body).await.0, 404);
    server.stop().await;
    // One that follows an origin of that name under another key: the
    // example's lines are of unknown keys, so none is trusted: 403.
    let dir = tempfile::tempdir().unwrap();
    let sofa = NoteSigner::from_seed("example.com/behind-the-sofa", [1; 32]).unwrap();
    let server = Server::start(dir.path(), &witness_key(), &[sofa.verifier()]).await;
    assert_eq!(server.post(body).await.0, 403);
    server.stop().await;
}

#[tokio::test]
async fn the_client_reports_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(ORIGIN, 1);
    let server = Server::start(dir.path(), &witness_key(), &[log.key.verifier()]).await;
    let http = http_client().unwrap();
    let mut impostor = Log::new(ORIGIN, 7);
    impostor.grow(1);
    let error = add_checkpoint(&http, &server.url, &impostor.note(), 0, |a, b| {
        impostor.proof(a, b)
    })
    .await
    .unwrap_err();
    assert!(
        matches!(error, ClientError::Refused { status: 403, .. }),
        "{error}"
    );
    log.grow(2);
    add_checkpoint(&http, &server.url, &log.note(), 0, |a, b| log.proof(a, b))
        .await
        .unwrap();
    // A proof source that fails is reported as such.
    log.grow(2);
    let error = add_checkpoint(&http, &server.url, &log.note(), 2, |_, _| {
        Err::<Vec<Hash>, _>("no proof")
    })
    .await
    .unwrap_err();
    assert!(
        matches!(error, ClientError::Proof { old_size: 2, .. }),
        "{error}"
    );
    server.stop().await;
}

/// Posts `bytes` bytes of `x` with chunked transfer encoding; returns the status.
fn chunked_post(url: &str, bytes: usize) -> u16 {
    use std::io::{Read, Write};
    let address = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let head = format!(
        "POST /add-checkpoint HTTP/1.1\r\nHost: {address}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let chunk = "x".repeat(4096);
    let mut sent = 0;
    while sent < bytes {
        let n = chunk.len().min(bytes - sent);
        // The witness may answer and close before the rest is sent.
        if write!(stream, "{n:x}\r\n{}\r\n", &chunk[..n]).is_err() {
            break;
        }
        sent += n;
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_damaged_state_file_stops_the_witness_from_starting() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = Log::new(ORIGIN, 1);
    let keys = [log.key.verifier()];
    let server = Server::start(dir.path(), &witness_key(), &keys).await;
    log.grow(4);
    assert_eq!(server.post(log.request(0)).await.0, 200);
    server.stop().await;
    let file = dir.path().join("logs").join(origin_hash(ORIGIN));
    let stored = std::fs::read_to_string(&file).unwrap();
    // Another log's checkpoint under this origin's name, then garbage.
    std::fs::write(&file, stored.replacen(ORIGIN, "example.com/other", 1)).unwrap();
    let error = Witness::open(dir.path(), witness_key(), &keys).unwrap_err();
    assert!(error.to_string().contains("damaged"), "{error}");
    std::fs::write(&file, "garbage").unwrap();
    assert!(Witness::open(dir.path(), witness_key(), &keys).is_err());
    std::fs::write(&file, stored).unwrap();
    assert!(Witness::open(dir.path(), witness_key(), &keys).is_ok());
}
