//! Rows 8 and 9: the ledger over HTTP (`armistice serve`, in this process,
//! on 127.0.0.1). Row 8: durable appends from 64 concurrent HTTP clients,
//! each checking its receipt, against 64 threads appending in process
//! through the same group commit. Row 9: `status --at` over HTTP against
//! the same query answered in process (what the local command runs).

use crate::gen;
use crate::table::{Compare, Line, LineSpec, Samples};
use crate::Sizes;
use anyhow::Context;
use armistice_api::formats::{self, StatusFormat};
use armistice_core::json::{parse_line, Submission};
use armistice_core::Timestamp;
use armistice_merkle::note::NoteVerifier;
use armistice_projections::View;
use armistice_server::ServerConfig;
use armistice_store::{Ledger, OpenMode, Store};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// The bearer token of the benchmark's servers.
const TOKEN: &str = "bench-token";

/// A server over `store` on 127.0.0.1:0, running on its own runtime until
/// the returned guard is dropped.
struct Running {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    fn start(store: Arc<dyn Store>) -> anyhow::Result<Running> {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (address_sender, address) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || -> anyhow::Result<()> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                address_sender.send(listener.local_addr()?)?;
                let config = ServerConfig {
                    operator_token: Some(TOKEN.to_owned()),
                    ..ServerConfig::default()
                };
                armistice_server::serve(listener, store, config, async move {
                    let _ = stopped.await;
                })
                .await?;
                Ok(())
            })
        });
        let address = address
            .recv_timeout(Duration::from_secs(60))
            .context("the benchmark's server did not start")?;
        Ok(Running {
            url: format!("http://{address}"),
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    fn finish(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(outcome)) => outcome,
            Some(Err(_)) => anyhow::bail!("the benchmark's server panicked"),
            None => Ok(()),
        }
    }
}

/// Registrations of new parties: operator statements, which both paths
/// accept without party keys (the ledger signs each one).
fn registrations(run: usize, threads: usize, per_thread: usize) -> Vec<Vec<String>> {
    (0..threads)
        .map(|t| {
            (0..per_thread)
                .map(|i| {
                    format!(
                        r#"{{"type":"party_registered","by":"operator","party":"B{run}-{t}-{i}","name":"Bench party {t}-{i}","role":"monitor"}}"#
                    )
                })
                .collect()
        })
        .collect()
}

/// 64 threads appending one event per call in process; events/s.
fn in_process(ledger: &Ledger, work: &[Vec<String>]) -> anyhow::Result<f64> {
    let parsed: Vec<Vec<Submission>> = work
        .iter()
        .map(|lines| {
            lines
                .iter()
                .map(|l| parse_line(l, uuid::Uuid::now_v7()).map_err(|e| anyhow::anyhow!("{e}")))
                .collect()
        })
        .collect::<anyhow::Result<_>>()?;
    let barrier = Barrier::new(work.len() + 1);
    let elapsed = std::thread::scope(|scope| -> anyhow::Result<Duration> {
        let handles: Vec<_> = parsed
            .iter()
            .map(|events| {
                let barrier = &barrier;
                scope.spawn(move || -> anyhow::Result<()> {
                    barrier.wait();
                    for event in events {
                        ledger
                            .append(std::slice::from_ref(event), &super::durable::live_options())?;
                    }
                    Ok(())
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a writer panicked"))??;
        }
        Ok(start.elapsed())
    })?;
    Ok(work.iter().map(Vec::len).sum::<usize>() as f64 / elapsed.as_secs_f64())
}

/// 64 HTTP clients posting one event per request and checking each receipt; events/s.
fn over_http(url: &str, operator: &NoteVerifier, work: &[Vec<String>]) -> anyhow::Result<f64> {
    let clients = work
        .iter()
        .map(|_| armistice_client::Client::new(url, Some(TOKEN.to_owned())))
        .collect::<Result<Vec<_>, _>>()?;
    let barrier = Barrier::new(work.len() + 1);
    let elapsed = std::thread::scope(|scope| -> anyhow::Result<Duration> {
        let handles: Vec<_> = work
            .iter()
            .zip(&clients)
            .map(|(lines, client)| {
                let barrier = &barrier;
                scope.spawn(move || -> anyhow::Result<()> {
                    barrier.wait();
                    for line in lines {
                        client.append(line.clone(), false, operator)?;
                    }
                    Ok(())
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow::anyhow!("a client panicked"))??;
        }
        Ok(start.elapsed())
    })?;
    Ok(work.iter().map(Vec::len).sum::<usize>() as f64 / elapsed.as_secs_f64())
}

/// Row 8: appends over HTTP against the in-process group commit, each on a
/// fresh ledger, in turns within each run.
pub fn append_line(dir: &Path, seed: u64, sizes: &Sizes) -> anyhow::Result<Line> {
    let (mut http, mut local) = (Vec::new(), Vec::new());
    for run in 0..sizes.runs_read {
        let work = registrations(run, sizes.threads, sizes.threads_events);
        let path = dir.join(format!("row8-local-{run}"));
        let ledger = super::create_ledger(&path, seed + run as u64)?;
        local.push(in_process(&ledger, &work)?);
        drop(ledger);
        std::fs::remove_dir_all(&path)?;

        let path = dir.join(format!("row8-http-{run}"));
        let ledger = super::create_ledger(&path, seed + run as u64)?;
        let operator = NoteVerifier::new(ledger.origin(), &ledger.operator_public_key())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let server = Running::start(Arc::new(ledger))?;
        let rate = over_http(&server.url, &operator, &work);
        server.finish()?;
        http.push(rate?);
        std::fs::remove_dir_all(&path)?;
    }
    let note = format!(
        "{} clients x {} events, one event per request (operator registrations, signed by the ledger); each client checks its receipt (checkpoint signature, inclusion proof); server and clients in this process on 127.0.0.1",
        sizes.threads, sizes.threads_events
    );
    Ok(Line::new(
        LineSpec {
            row: "8",
            what: "durable append over HTTP, 64 clients",
            unit: "events/s",
            baseline_name: "in-process group commit, 64 threads",
            compare: Compare::Throughput,
            target: Some(0.5),
        },
        Samples::new(http),
        Samples::new(local),
        note,
    ))
}

/// Row 9: `status --at` (JSON) over HTTP against the same answer in process.
pub fn status_line(ledger_path: &Path, sizes: &Sizes) -> anyhow::Result<Line> {
    let ledger = Ledger::open(ledger_path, OpenMode::Read)?;
    let entries = ledger.head().seq;
    let store: Arc<dyn Store> = Arc::new(ledger);
    let at = Timestamp(gen::HISTORY_START_MICROS + gen::HISTORY_SPAN_MICROS / 2);
    let view = View::new(at, Timestamp::MAX);
    let server = Running::start(Arc::clone(&store))?;
    let http = reqwest::blocking::Client::new();
    let url = format!("{}/v1/status?at={at}", server.url);
    let (mut remote, mut local) = (Vec::new(), Vec::new());
    let mut same = true;
    for _ in 0..sizes.runs_short {
        let start = Instant::now();
        let (rows, parties) = armistice_api::query::status(&*store, None, view)?;
        let answer = formats::status_body(StatusFormat::Json, &rows, &parties, view).bytes;
        local.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        let body = http.get(&url).send()?.error_for_status()?.bytes()?;
        remote.push(start.elapsed().as_secs_f64() * 1e3);
        same &= body == answer;
    }
    server.finish()?;
    anyhow::ensure!(same, "the server's status differs from the local one");
    Ok(Line::new(
        LineSpec {
            row: "9",
            what: "status --at T (JSON) over HTTP",
            unit: "ms",
            baseline_name: "the same query in process (local CLI path)",
            compare: Compare::Time,
            target: Some(0.9),
        },
        Samples::new(remote),
        Samples::new(local),
        format!("{entries} entries, T = mid-history; answers byte-identical; ratio = local time / HTTP time"),
    ))
}
