//! `armistice witness`: a C2SP tlog-witness over HTTP, until SIGTERM or
//! SIGINT, after which the requests in flight finish and it exits 0.

use crate::args::WitnessArgs;
use anyhow::Context;
use armistice_merkle::note::{NoteSigner, NoteVerifier};
use armistice_witness::Witness;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Worker threads of the witness's runtime (the work is small; fsyncs run on
/// tokio's blocking threads).
const WORKER_THREADS: usize = 2;

/// `armistice witness`.
pub fn run(args: &WitnessArgs) -> anyhow::Result<()> {
    let key_text = std::fs::read_to_string(&args.key)
        .with_context(|| format!("cannot read key file {}", args.key.display()))?;
    let signer = NoteSigner::parse(&key_text)
        .with_context(|| format!("{}: not a witness secret key", args.key.display()))?;
    let logs = args
        .logs
        .iter()
        .map(|text| read_vkey(text))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let state = args
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from("./armistice.witness"));
    let witness = Witness::open(&state, signer, &logs)
        .with_context(|| format!("cannot open the witness state in {}", state.display()))?;
    let witness = Arc::new(witness);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "listening on http://{address}")?;
        stdout.flush()?;
        drop(stdout);
        eprintln!("witness key (cosignature/v1): {}", witness.verifier());
        for log in &logs {
            eprintln!("witnessing {}", log.name());
        }
        armistice_witness::serve(listener, witness, shutdown_signal())
            .await
            .context("the server failed")
    })?;
    eprintln!("witness stopped");
    Ok(())
}

/// A log's verifier key, given as text or as a file holding it.
fn read_vkey(text: &str) -> anyhow::Result<NoteVerifier> {
    let path = Path::new(text);
    let (text, origin) = if path.is_file() {
        let contents = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        (contents, format!("{}: ", path.display()))
    } else {
        (text.to_owned(), String::new())
    };
    NoteVerifier::parse(&text).with_context(|| format!("{origin}--log is not a log's verifier key"))
}

/// Completes on SIGTERM or SIGINT.
#[cfg(unix)]
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(error) => {
            eprintln!("armistice: cannot watch for SIGTERM ({error}); stop with SIGINT");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    eprintln!("shutting down: finishing the requests in flight");
}

/// Completes on Ctrl-C (no SIGTERM outside Unix).
#[cfg(not(unix))]
async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("shutting down: finishing the requests in flight");
}
