//! The commands over `--server URL`: the same flags and the same output as
//! on a local ledger. Reads ask the server for the exact text the local
//! command prints (the server renders with the same functions) and print
//! it as received; arguments are checked here first, so that a mistake
//! reads as it does locally. `record` and `import` check every receipt —
//! the checkpoint's signature under the operator key given or pinned on
//! first use, and each entry's inclusion proof — before reporting success.

use crate::args::CheckpointArgs;
use crate::args::{
    AuditArgs, ClaimsArgs, Command, ExportArgs, Global, ImportArgs, LogArgs, Proof, ProveArgs,
    RecordArgs, StatusArgs, TimelineArgs,
};
use crate::ingest::{
    parse_numbered_with_id, print_appended_rows, signed_line, Lines, RECORD_EVENTS_MAX,
};
use crate::keys::read_signer;
use crate::out;
use crate::query::{claim_query, view_of};
use crate::serve::RemoteAppend;
use anyhow::{anyhow, bail, Context};
use armistice_api::query::{self, Names};
use armistice_api::wire::Receipt;
use armistice_client::{Client, ClientError, KeySource, KnownServers};
use armistice_merkle::note::{NoteSigner, NoteVerifier};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use uuid::Uuid;

/// Events sent in one request of a remote `import`.
const IMPORT_BATCH_EVENTS: usize = 1000;
/// Bytes of JSON Lines sent in one request of a remote `import` (well
/// under the server's default 16 MiB body limit).
const IMPORT_BATCH_BYTES: usize = 4 * 1024 * 1024;

/// Runs `command` against the server, or `None` for a command that works
/// on a ledger folder only.
pub fn run(server: &str, global: &Global, command: &Command) -> Option<anyhow::Result<ExitCode>> {
    use Command as C;
    let outcome = match command {
        C::Record(a) => record(server, global, a),
        C::Import(a) => import(server, global, a),
        C::Export(a) => export(server, global, a),
        C::Log(a) => log(server, global, a),
        C::Status(a) => status(server, global, a),
        C::Claims(a) => claims(server, global, a),
        C::Audit(a) => audit(server, global, a),
        C::Timeline(a) => timeline(server, global, a),
        C::Checkpoint(a) => checkpoint(server, global, a),
        C::Prove(a) => prove(server, global, a),
        _ => return None,
    };
    Some(outcome.map(|()| ExitCode::SUCCESS))
}

fn client(server: &str, global: &Global) -> anyhow::Result<Client> {
    let token = match &global.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--token-file: cannot read {}", path.display()))?;
            Some(text.trim().to_owned())
        }
        None => None,
    };
    Ok(Client::new(server, token)?)
}

fn format(json: bool) -> (&'static str, String) {
    ("format", if json { "json" } else { "text" }.to_owned())
}

fn some(name: &'static str, value: &Option<String>) -> Option<(&'static str, String)> {
    value.clone().map(|v| (name, v))
}

fn print_text(client: &Client, path: &str, query: &[(&str, String)]) -> anyhow::Result<()> {
    out!("{}", client.get_text(path, query)?)?;
    Ok(())
}

/// Prints a query's body (status, claims, timeline) as the local command
/// does, the count of claims a GeoJSON body left out on standard error.
fn print_body(client: &Client, path: &str, query: &[(&str, String)]) -> anyhow::Result<()> {
    let response = client.get(path, query)?;
    let left_out = response
        .headers()
        .get(armistice_api::formats::WITHOUT_COORDINATES_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let bytes = response
        .bytes()
        .map_err(|e| anyhow!("{}: the transfer broke off: {e}", client.base()))?;
    crate::out::write_bytes(&bytes)?;
    if let Some(left_out @ 1..) = left_out {
        eprintln!("armistice: {left_out} claim(s) without coordinates left out of the GeoJSON");
    }
    Ok(())
}

/// Copies a streamed answer to standard output as it arrives; a transfer
/// cut short is an error, never a short output that looks whole.
fn print_stream(client: &Client, path: &str, query: &[(&str, String)]) -> anyhow::Result<()> {
    let mut response = client.get(path, query)?;
    let mut buffer = vec![0; 1 << 16];
    let mut stdout = std::io::stdout().lock();
    loop {
        let read = response
            .read(&mut buffer)
            .map_err(|e| anyhow!("{}: the transfer broke off: {e}", client.base()))?;
        if read == 0 {
            break;
        }
        stdout.write_all(&buffer[..read])?;
    }
    stdout.flush()?;
    Ok(())
}

fn status(server: &str, global: &Global, args: &StatusArgs) -> anyhow::Result<()> {
    view_of(&args.when)?;
    if let Some(agreement) = &args.agreement {
        query::agreement_id(Names::CLI, "AGREEMENT", agreement)?;
    }
    let params: Vec<_> = [
        some("agreement", &args.agreement),
        some("at", &args.when.at),
        some("known_at", &args.when.known_at),
        Some(("format", args.output().name().to_owned())),
    ]
    .into_iter()
    .flatten()
    .collect();
    print_body(&client(server, global)?, "/v1/status", &params)
}

fn claims(server: &str, global: &Global, args: &ClaimsArgs) -> anyhow::Result<()> {
    view_of(&args.when)?;
    claim_query(args).filter(Names::CLI)?;
    let params: Vec<_> = [
        some("agreement", &args.agreement),
        some("by", &args.by),
        some("against", &args.against),
        some("state", &args.state),
        some("category", &args.category),
        some("incident_from", &args.incident_from),
        some("incident_to", &args.incident_to),
        some("at", &args.when.at),
        some("known_at", &args.when.known_at),
        Some(("format", args.output().name().to_owned())),
    ]
    .into_iter()
    .flatten()
    .collect();
    print_body(&client(server, global)?, "/v1/claims", &params)
}

fn audit(server: &str, global: &Global, args: &AuditArgs) -> anyhow::Result<()> {
    if args.evidence_dir.is_some() {
        bail!("--evidence-dir re-hashes files on this machine, which the server cannot see: run the audit on a local copy of the ledger (`export`, then `import --backfill`), or without --evidence-dir");
    }
    let claim = query::claim_id(Names::CLI, "CLAIM", &args.claim)?;
    if let Some(known_at) = &args.known_at {
        query::parse_when(Names::CLI, "known-at", known_at)?;
    }
    let params: Vec<_> = [some("known_at", &args.known_at), Some(format(args.json))]
        .into_iter()
        .flatten()
        .collect();
    print_text(
        &client(server, global)?,
        &format!("/v1/claims/{claim}/audit"),
        &params,
    )
}

fn timeline(server: &str, global: &Global, args: &TimelineArgs) -> anyhow::Result<()> {
    let agreement = query::agreement_id(Names::CLI, "AGREEMENT", &args.agreement)?;
    view_of(&args.when)?;
    let params: Vec<_> = [
        some("at", &args.when.at),
        some("known_at", &args.when.known_at),
        Some(("format", args.format.name().to_owned())),
    ]
    .into_iter()
    .flatten()
    .collect();
    print_body(
        &client(server, global)?,
        &format!("/v1/agreements/{agreement}/timeline"),
        &params,
    )
}

fn export(server: &str, global: &Global, args: &ExportArgs) -> anyhow::Result<()> {
    let to = args.to.unwrap_or(u64::MAX);
    if args.from == 0 || args.from > to {
        bail!("--from must be at least 1 and no greater than --to");
    }
    let mut params = vec![("from", args.from.to_string())];
    if let Some(to) = args.to {
        params.push(("to", to.to_string()));
    }
    print_stream(&client(server, global)?, "/v1/entries", &params)
}

fn log(server: &str, global: &Global, args: &LogArgs) -> anyhow::Result<()> {
    print_stream(&client(server, global)?, "/v1/log", &[format(args.json)])
}

fn checkpoint(server: &str, global: &Global, args: &CheckpointArgs) -> anyhow::Result<()> {
    let mut params = vec![format(args.json)];
    if let Some(size) = args.size {
        params.push(("size", size.to_string()));
    }
    print_text(&client(server, global)?, "/v1/checkpoint", &params)
}

fn prove(server: &str, global: &Global, args: &ProveArgs) -> anyhow::Result<()> {
    let client = client(server, global)?;
    match &args.proof {
        Proof::Inclusion { seq, size, json } => {
            let mut params = vec![("seq", seq.to_string()), format(*json)];
            if let Some(size) = size {
                params.push(("size", size.to_string()));
            }
            print_text(&client, "/v1/proofs/inclusion", &params)
        }
        Proof::Consistency { from, to, json } => {
            let params = vec![
                ("from", from.to_string()),
                ("to", to.to_string()),
                format(*json),
            ];
            print_text(&client, "/v1/proofs/consistency", &params)
        }
    }
}

/// Where operator keys are pinned: `$ARMISTICE_HOME/known_servers`, else
/// `$XDG_CONFIG_HOME/armistice/known_servers`, else `~/.config/armistice/known_servers`.
pub fn known_servers() -> anyhow::Result<KnownServers> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let path = if let Some(home) = var("ARMISTICE_HOME") {
        home.join("known_servers")
    } else if let Some(config) = var("XDG_CONFIG_HOME") {
        config.join("armistice").join("known_servers")
    } else if let Some(home) = var("HOME") {
        home.join(".config").join("armistice").join("known_servers")
    } else {
        bail!("no place to pin the server's operator key: set ARMISTICE_HOME, or give --operator-vkey");
    };
    Ok(KnownServers::at(path))
}

/// The operator key receipts must carry: given, pinned, or pinned now.
fn operator_key(
    client: &Client,
    remote: &RemoteAppend,
) -> anyhow::Result<(NoteVerifier, KeySource, KnownServers)> {
    let given = remote
        .operator_vkey
        .as_deref()
        .map(|v| crate::keys::read_verifier(v, "armistice").context("--operator-vkey"))
        .transpose()?;
    let known = known_servers()?;
    let (key, source) = known.operator_key(client, given)?;
    if source == KeySource::FirstUse {
        eprintln!(
            "armistice: first use of {}: its operator key {key} is now pinned in {}; compare it with the operator's out of band",
            client.base(),
            known.path().display()
        );
    }
    Ok((key, source, known))
}

/// Statements read and made ready to send, with their input line numbers.
struct Batch {
    lines: Vec<String>,
    numbers: Vec<usize>,
    bytes: usize,
}

/// An `event_id` for a line without one, from its content, so that a
/// re-run of an interrupted import sends the same ids (and adds only what
/// is missing) — UUID v8 from SHA-256 of the line.
fn content_id(line: &str) -> Uuid {
    let digest = armistice_core::entry::sha256(line.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// Reads up to `max` events (and `bytes_max` bytes), each checked (and
/// signed) as locally; `None` at the end of the input.
fn read_batch(
    lines: &mut Lines,
    key: Option<&NoteSigner>,
    fresh_id: fn(&str) -> Uuid,
    max: usize,
    bytes_max: usize,
) -> anyhow::Result<Option<Batch>> {
    let mut batch = Batch {
        lines: Vec::new(),
        numbers: Vec::new(),
        bytes: 0,
    };
    while batch.lines.len() < max && batch.bytes < bytes_max {
        let Some((number, line)) = lines.next_line()? else {
            break;
        };
        let submission = parse_numbered_with_id(number, &line, key, fresh_id(&line))?;
        let text = match key {
            Some(_) => signed_line(&submission),
            None => line,
        };
        batch.bytes += text.len() + 1;
        batch.lines.push(text);
        batch.numbers.push(number);
    }
    Ok((!batch.lines.is_empty()).then_some(batch))
}

/// Sends a batch and checks its receipt.
fn send(
    client: &Client,
    batch: &Batch,
    backfill: bool,
    key: &(NoteVerifier, KeySource, KnownServers),
) -> Result<Receipt, anyhow::Error> {
    let (operator, source, known) = key;
    match client.append(batch.lines.join("\n"), backfill, operator) {
        Ok((receipt, _)) => Ok(receipt),
        Err(ClientError::Server { body, .. }) => {
            let number = body.line.and_then(|line| batch.numbers.get(line.checked_sub(1)?)).copied();
            Err(match number {
                Some(number) => anyhow!("line {number}: {}", body.error),
                None => anyhow!("{}", body.error),
            })
        }
        Err(error @ ClientError::Receipt(_)) if *source == KeySource::Pinned => Err(anyhow!(
            "{error}: the operator key pinned for {} in {} does not sign it. The server may not be the one first met, or its operator rotated the key: check out of band, then edit that file",
            client.base(),
            known.path().display()
        )),
        Err(error) => Err(error.into()),
    }
}

/// Where receipts are saved (one JSON per line), if asked.
fn receipt_file(remote: &RemoteAppend) -> anyhow::Result<Option<std::fs::File>> {
    remote
        .receipt
        .as_ref()
        .map(|path| {
            std::fs::File::create(path)
                .with_context(|| format!("--receipt: cannot create {}", path.display()))
        })
        .transpose()
}

fn save(file: &mut Option<std::fs::File>, receipt: &Receipt) -> anyhow::Result<()> {
    if let Some(file) = file {
        writeln!(file, "{}", serde_json::to_string(receipt)?)?;
        file.sync_data()?;
    }
    Ok(())
}

fn input_name(file: &str) -> &str {
    if file == "-" {
        "standard input"
    } else {
        file
    }
}

fn record(server: &str, global: &Global, args: &RecordArgs) -> anyhow::Result<()> {
    let key = args
        .sign
        .as_deref()
        .map(|p| read_signer(p, "armistice-party"))
        .transpose()?;
    let mut lines = Lines::open(&args.file)?;
    let batch = read_batch(
        &mut lines,
        key.as_ref(),
        |_| Uuid::now_v7(),
        RECORD_EVENTS_MAX,
        usize::MAX,
    )?
    .ok_or_else(|| anyhow!("no events in {}", input_name(&args.file)))?;
    if let Some((number, _)) = lines.next_line()? {
        bail!("line {number}: `record` takes at most {RECORD_EVENTS_MAX} events in one batch; use `armistice import` for more; nothing was recorded");
    }
    let client = client(server, global)?;
    let trust = operator_key(&client, &args.remote)?;
    let mut file = receipt_file(&args.remote)?;
    let receipt =
        send(&client, &batch, false, &trust).map_err(|e| anyhow!("{e}; nothing was recorded"))?;
    save(&mut file, &receipt)?;
    print_appended_rows(&receipt.appended, args.json)
}

fn import(server: &str, global: &Global, args: &ImportArgs) -> anyhow::Result<()> {
    let key = args
        .sign
        .as_deref()
        .map(|p| read_signer(p, "armistice-party"))
        .transpose()?;
    let mut lines = Lines::open(&args.file)?;
    let client = client(server, global)?;
    let trust = operator_key(&client, &args.remote)?;
    let mut file = receipt_file(&args.remote)?;
    let progress = crate::ingest::progress_bar(&args.file);
    let (mut events, mut duplicates, mut head) = (0u64, 0u64, 0u64);
    while let Some(batch) = read_batch(
        &mut lines,
        key.as_ref(),
        content_id,
        IMPORT_BATCH_EVENTS,
        IMPORT_BATCH_BYTES,
    )? {
        let receipt = send(&client, &batch, args.backfill, &trust).map_err(|e| match events {
            0 => anyhow!("{e}; nothing was recorded"),
            n => anyhow!("{e}; the {n} events before this batch were recorded (receipts checked): re-run the import to add the rest, event ids make that safe"),
        })?;
        save(&mut file, &receipt)?;
        events += receipt.appended.len() as u64;
        duplicates += receipt.appended.iter().filter(|a| a.duplicate).count() as u64;
        head = head.max(
            armistice_merkle::checkpoint::parse_note(&receipt.checkpoint)
                .map(|c| c.checkpoint.size)
                .unwrap_or(0),
        );
        progress.inc(receipt.appended.len() as u64);
    }
    progress.finish_and_clear();
    if events == 0 {
        bail!("no events in {}", input_name(&args.file));
    }
    crate::outln!("imported {events} events ({duplicates} already recorded); the log now holds {head} entries")?;
    Ok(())
}
