//! `armistice`: the command-line tool for a ledger of ceasefire agreements
//! and the violations each side alleges.

mod args;
mod demo;
mod ingest;
mod keys;
mod migrate;
mod offline;
mod open;
mod out;
mod query;
mod read;
mod receipts;
mod remote;
mod serve;
mod trust;
mod witness;

use clap::Parser;
use std::process::ExitCode;

/// sled allocates for every insert (copy-on-write leaves); mimalloc makes
/// that markedly cheaper than the system allocator (see docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // A panic is reported as an error below, never printed as a trace: the
    // store turns sled's panics on damaged files into errors of its own.
    std::panic::set_hook(Box::new(|_| {}));
    let cli = args::Cli::parse();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli)));
    match outcome {
        Ok(Ok(code)) => code,
        Ok(Err(error)) if out::is_closed_pipe(&error) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("armistice: {error:#}");
            ExitCode::from(2)
        }
        Err(panic) => {
            let detail = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!(
                "armistice: internal error: {detail}; nothing was acknowledged that is not durable"
            );
            ExitCode::from(2)
        }
    }
}

/// Runs one command; `Ok` carries the exit code of a command that ran to
/// its end (e.g. `verify` finding damage exits 1), `Err` is a failure (2).
fn run(cli: args::Cli) -> anyhow::Result<ExitCode> {
    use args::Command as C;
    let global = &cli.global;
    if let Some(server) = &global.server {
        if let Some(outcome) = remote::run(server, global, &cli.command) {
            return outcome;
        }
    }
    match cli.command {
        C::Init(a) => open::init(global, &a).map(ok),
        C::Record(a) => ingest::record(global, &a).map(ok),
        C::Import(a) => ingest::import(global, &a).map(ok),
        C::Sign(a) => ingest::sign_lines(&a).map(ok),
        C::Export(a) => read::export(global, &a).map(ok),
        C::Log(a) => read::log(global, &a).map(ok),
        C::Verify(a) => read::verify(global, &a),
        C::Status(a) => query::status(global, &a).map(ok),
        C::Claims(a) => query::claims(global, &a).map(ok),
        C::Audit(a) => query::audit(global, &a).map(ok),
        C::Timeline(a) => query::timeline(global, &a).map(ok),
        C::Demo(a) => demo::run(global, &a).map(ok),
        C::Keygen(a) => keys::keygen(&a).map(ok),
        C::Checkpoint(a) => trust::checkpoint(global, &a).map(ok),
        C::Prove(a) => trust::prove(global, &a).map(ok),
        C::VerifyProof(a) => offline::verify_proof(&a).map(ok),
        C::RotateOperatorKey(a) => open::rotate_operator_key(global, &a).map(ok),
        C::Migrate(a) => migrate::migrate(global, &a).map(ok),
        C::Serve(a) => serve::serve(global, &a).map(ok),
        C::Witness(a) => witness::run(&a).map(ok),
    }
}

fn ok(_: ()) -> ExitCode {
    ExitCode::SUCCESS
}
