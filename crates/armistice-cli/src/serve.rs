//! `armistice serve`: the ledger on the network (see `armistice-server`),
//! and the flags of a remote append.

use crate::args::Global;
use crate::open::{open, operator_token_path};
use crate::outln;
use anyhow::{bail, Context};
use armistice_server::config::{BODY_BYTES_MAX_DEFAULT, CHECKPOINT_INTERVAL_DEFAULT};
use armistice_server::ServerConfig;
use armistice_store::{OpenMode, Store};
use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the first line printed names it).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
    /// The operator's bearer token, read from this file [default: LEDGER/operator.token, written by `init`].
    #[arg(long, value_name = "FILE")]
    pub operator_token_file: Option<PathBuf>,
    /// Largest request body (bytes; K, M, G, KiB, MiB, GiB accepted).
    #[arg(long, value_name = "SIZE", default_value_t = BODY_BYTES_MAX_DEFAULT, value_parser = parse_size)]
    pub max_body: usize,
    /// Seconds between checkpoints signed while entries are being appended.
    #[arg(long, value_name = "SECONDS", default_value_t = CHECKPOINT_INTERVAL_DEFAULT.as_secs_f64(), value_parser = parse_interval)]
    pub checkpoint_interval: f64,
}

/// With `--server`: where the receipt goes and whose key it must carry.
#[derive(Args, Debug, Clone, Default)]
pub struct RemoteAppend {
    /// With --server: save the receipt(s) (one JSON per batch, a line each) for `verify-proof --receipt`.
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
    /// With --server: the operator's verifier key (`<name>+<id>+<key>` or a file) that must sign the
    /// receipts [default: the key pinned for the server on first use].
    #[arg(long, value_name = "VKEY")]
    pub operator_vkey: Option<String>,
}

/// Largest `--max-body`: 1 GiB.
const MAX_BODY_BYTES_LIMIT: usize = 1 << 30;

fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: usize = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size"))?;
    let factor: usize = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        other => {
            return Err(format!(
                "`{other}`: sizes are bytes, or K, M, G (KiB, MiB, GiB)"
            ))
        }
    };
    let bytes = number
        .checked_mul(factor)
        .filter(|b| (1..=MAX_BODY_BYTES_LIMIT).contains(b));
    bytes.ok_or_else(|| format!("`{text}` is out of range: 1 byte to 1 GiB"))
}

fn parse_interval(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !seconds.is_finite() || !(0.01..=86_400.0).contains(&seconds) {
        return Err(format!(
            "`{text}` is out of range: give 0.01 to 86400 seconds"
        ));
    }
    Ok(seconds)
}

fn read_token(path: &std::path::Path) -> anyhow::Result<String> {
    let token = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the operator token {}", path.display()))?;
    let token = token.trim().to_owned();
    if token.is_empty() {
        bail!("the operator token file {} is empty", path.display());
    }
    Ok(token)
}

/// `armistice serve`: holds the ledger open, serves it until SIGTERM or
/// SIGINT, then lets appends in flight finish, closes the ledger, exits 0.
pub fn serve(global: &Global, args: &ServeArgs) -> anyhow::Result<()> {
    // The server is the ledger's one writer; `--server` is for its clients.
    let mut local = global.clone();
    local.server = None;
    let ledger = open(&local, OpenMode::Write)?;
    if ledger.operator_key().is_none() {
        bail!(
            "the operator's secret key is not in {}: the server signs receipts and checkpoints with it (serving a copy read-only will come with mirrors)",
            ledger.path().display()
        );
    }
    let operator_token = match &args.operator_token_file {
        Some(path) => Some(read_token(path)?),
        None => {
            let path = operator_token_path(ledger.path());
            match path.exists() {
                true => Some(read_token(&path)?),
                false => {
                    eprintln!("armistice: warning: no operator token at {}: operator statements will be refused (give --operator-token-file)", path.display());
                    None
                }
            }
        }
    };
    init_logging();
    let config = ServerConfig {
        body_bytes_max: args.max_body,
        checkpoint_interval: Duration::from_secs_f64(args.checkpoint_interval),
        operator_token,
        ..ServerConfig::default()
    };
    let store: Arc<dyn Store> = Arc::new(ledger);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let served: anyhow::Result<()> = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let address = listener.local_addr()?;
        outln!("listening on http://{address}")?;
        armistice_server::serve(listener, Arc::clone(&store), config, stop_signal()).await?;
        Ok(())
    });
    // Dropping the runtime waits for the store calls still running (an
    // append in flight finishes and is durable); then the ledger closes.
    drop(runtime);
    drop(store);
    served?;
    tracing::info!("stopped; the ledger is closed");
    Ok(())
}

/// One log line per request on standard error, at the level `RUST_LOG` sets (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

/// Resolves on SIGTERM or SIGINT.
async fn stop_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("stopping: no new requests; finishing those in flight");
}
