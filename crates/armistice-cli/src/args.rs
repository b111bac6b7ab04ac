//! The command line, as clap derives it.

use armistice_api::formats::{ClaimsFormat, StatusFormat, TimelineFormat};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// A ledger of ceasefire agreements and of the violations each side alleges:
/// append-only, hash-chained, signed, replayable at any date.
#[derive(Parser, Debug)]
#[command(name = "armistice", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The ledger folder; without it, ./armistice.ledger (for `demo`, a temporary folder).
    #[arg(long, global = true, env = "ARMISTICE_LEDGER")]
    pub ledger: Option<PathBuf>,
    /// When another process has the ledger open, wait up to this many seconds for it (0 to 86400).
    #[arg(long, global = true, value_name = "SECONDS", default_value = "0", allow_negative_numbers = true, value_parser = parse_wait)]
    pub wait: f64,
    /// Reach the ledger through `armistice serve` at this URL instead of a folder
    /// (record, import, export, log, status, claims, audit, timeline, checkpoint, prove).
    #[arg(long, global = true, env = "ARMISTICE_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// With --server: a file holding the operator's bearer token, for operator statements.
    #[arg(long, global = true, env = "ARMISTICE_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// Longest `--wait`, in seconds: a day.
pub const WAIT_SECONDS_MAX: f64 = 86_400.0;

fn parse_wait(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !seconds.is_finite() || !(0.0..=WAIT_SECONDS_MAX).contains(&seconds) {
        return Err(format!(
            "`{text}` is out of range: give 0 to {WAIT_SECONDS_MAX} seconds"
        ));
    }
    Ok(seconds)
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create an empty ledger (no entry is appended) and its operator key.
    Init(InitArgs),
    /// Append events given as JSON Lines, as one batch: all land or none.
    Record(RecordArgs),
    /// Bulk-append a JSON Lines file as one batch, with progress on a terminal.
    Import(ImportArgs),
    /// Print stored entries as JSON Lines (re-importable with --backfill).
    Export(ExportArgs),
    /// A readable listing of the log.
    Log(LogArgs),
    /// Re-check every entry: decoding, hash chain, signatures, indexes, Merkle nodes.
    Verify(VerifyArgs),
    /// Agreement status at a date, with claim counts by party.
    Status(StatusArgs),
    /// The claims register, filtered.
    Claims(ClaimsArgs),
    /// The whole story of one claim, with findings and chain check.
    Audit(AuditArgs),
    /// A readable, chronological story of one agreement and its claims.
    Timeline(TimelineArgs),
    /// Import the spring-2025 example and show status, claims and an audit at telling dates.
    Demo(DemoArgs),
    /// Make an Ed25519 key pair for a party.
    Keygen(KeygenArgs),
    /// Sign and print a checkpoint (C2SP signed tree head).
    Checkpoint(CheckpointArgs),
    /// Print an inclusion or consistency proof.
    Prove(ProveArgs),
    /// Check a proof or an export against signed checkpoints, offline (no ledger needed).
    VerifyProof(VerifyProofArgs),
    /// Sign JSON Lines offline with a party key (assigning event_id, occurred_at and salts), no ledger needed.
    Sign(SignArgs),
    /// Replace the operator's key: the current key signs the rotation, the new one signs from then on.
    RotateOperatorKey(RotateOperatorKeyArgs),
    /// Rewrite a ledger of an older storage format into the current one (same entries, hashes, checkpoints).
    Migrate(MigrateArgs),
    /// Serve the ledger over HTTP: appends with signed receipts, queries, proofs, a live feed, tlog-tiles.
    Serve(crate::serve::ServeArgs),
    /// Serve a C2SP tlog-witness: cosign the checkpoints of the given logs while they stay consistent.
    Witness(WitnessArgs),
}

#[derive(Args, Debug)]
pub struct WitnessArgs {
    /// The address to listen on, e.g. 127.0.0.1:7380 (port 0: any free port).
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// The witness's secret key file: a signed-note key, PRIVATE+KEY+<name>+<id>+<base64>.
    #[arg(long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// A log to witness: its verifier key <origin>+<id>+<base64>, or a file holding it (repeatable).
    #[arg(long = "log", value_name = "VKEY", required = true)]
    pub logs: Vec<String>,
    /// The folder of the witness's state [default: ./armistice.witness].
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The party's secret key (written by `armistice keygen`).
    #[arg(long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// A JSON Lines file, or `-` for standard input.
    #[arg(default_value = "-")]
    pub file: String,
}

#[derive(Args, Debug)]
pub struct RotateOperatorKeyArgs {
    /// The new secret key (written by `armistice keygen`); a new one is made when absent.
    #[arg(long, value_name = "KEYFILE")]
    pub new_key: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {}

#[derive(Args, Debug)]
pub struct VerifyProofArgs {
    /// A proof from `armistice prove … --json` (`-` for standard input).
    pub proof: Option<String>,
    /// A checkpoint note from `armistice checkpoint` (repeat for a consistency proof: old and new).
    #[arg(
        long = "checkpoint",
        value_name = "FILE",
        required_unless_present = "receipt"
    )]
    pub checkpoints: Vec<PathBuf>,
    /// A receipt (or several, one per line) saved by `record`/`import --server … --receipt FILE`:
    /// its checkpoint's signature and each entry's inclusion proof are checked.
    #[arg(long, value_name = "FILE")]
    pub receipt: Option<PathBuf>,
    /// The operator's verifier key (`<name>+<id>+<key>`, as `init` prints it and
    /// `operator.vkey` holds it), or a file holding it; 64 hex characters are read too.
    #[arg(long)]
    pub key: String,
    /// An export (`armistice export`): recompute every hash and the tree, and check it against the checkpoints.
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Use this operator secret key (a file written by `armistice keygen`) instead of making one.
    #[arg(long, value_name = "FILE", conflicts_with = "operator_vkey")]
    pub operator_key: Option<PathBuf>,
    /// Make a copy of another ledger: only its operator's verifier key
    /// (`<name>+<id>+<key>`, or a file holding it). The copy checks the
    /// operator's statements and checkpoints but can sign none.
    #[arg(long, value_name = "VKEY")]
    pub operator_vkey: Option<String>,
    /// The log's origin, named on every checkpoint (default: the key's name,
    /// or `armistice/<key prefix>` for a new key).
    #[arg(long, value_name = "NAME")]
    pub origin: Option<String>,
}

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// A JSON Lines file, or `-` for standard input.
    #[arg(default_value = "-")]
    pub file: String,
    /// Sign each statement with this party key (assigning event_id, occurred_at and salts first).
    #[arg(long, value_name = "KEYFILE")]
    pub sign: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: crate::serve::RemoteAppend,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// A JSON Lines file, or `-` for standard input.
    pub file: String,
    /// Migrate an older record: lines may carry recorded_at, and hash (an exact copy of an Armistice entry).
    #[arg(long)]
    pub backfill: bool,
    /// Sign each statement with this party key.
    #[arg(long, value_name = "KEYFILE")]
    pub sign: Option<PathBuf>,
    #[command(flatten)]
    pub remote: crate::serve::RemoteAppend,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// First seq.
    #[arg(long, default_value_t = 1)]
    pub from: u64,
    /// Last seq (default: the last entry).
    #[arg(long)]
    pub to: Option<u64>,
}

#[derive(Args, Debug)]
pub struct LogArgs {
    /// One JSON object per entry instead of the table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Also check that the ledger is consistent with this checkpoint file (it only grew since).
    #[arg(long, value_name = "CHECKPOINT")]
    pub against: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The bitemporal view of a query.
#[derive(Args, Debug, Clone)]
pub struct When {
    /// World time: only events that occurred by then, status evaluated then (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long, value_name = "T")]
    pub at: Option<String>,
    /// Ledger time: only what the ledger had recorded by then (default: everything).
    #[arg(long, value_name = "T")]
    pub known_at: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// One agreement (default: all).
    pub agreement: Option<String>,
    #[command(flatten)]
    pub when: When,
    /// Print JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// text, json, or csv (one row per agreement and party; columns in docs/GUIDE.md).
    #[arg(long, value_name = "FORMAT", default_value = "text",
          value_parser = PossibleValuesParser::new(StatusFormat::NAMES).try_map(|s| s.parse::<StatusFormat>()))]
    pub format: StatusFormat,
}

impl StatusArgs {
    /// The format asked for, `--json` included.
    pub fn output(&self) -> StatusFormat {
        if self.json {
            StatusFormat::Json
        } else {
            self.format
        }
    }
}

#[derive(Args, Debug)]
pub struct ClaimsArgs {
    /// Only claims under this agreement.
    #[arg(long)]
    pub agreement: Option<String>,
    /// Only claims filed by this party.
    #[arg(long)]
    pub by: Option<String>,
    /// Only claims against this party.
    #[arg(long)]
    pub against: Option<String>,
    /// Only claims in this state (open, acknowledged, disputed, verified, refuted, inconclusive, retracted).
    #[arg(long)]
    pub state: Option<String>,
    /// Only claims of this category.
    #[arg(long)]
    pub category: Option<String>,
    /// Only incidents at or after this time.
    #[arg(long, value_name = "T")]
    pub incident_from: Option<String>,
    /// Only incidents at or before this time.
    #[arg(long, value_name = "T")]
    pub incident_to: Option<String>,
    #[command(flatten)]
    pub when: When,
    /// Print JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// text, json, csv (one row per claim) or geojson (a point per claim with
    /// coordinates; those without are counted on standard error). Columns in docs/GUIDE.md.
    #[arg(long, value_name = "FORMAT", default_value = "text",
          value_parser = PossibleValuesParser::new(ClaimsFormat::NAMES).try_map(|s| s.parse::<ClaimsFormat>()))]
    pub format: ClaimsFormat,
}

impl ClaimsArgs {
    /// The format asked for, `--json` included.
    pub fn output(&self) -> ClaimsFormat {
        if self.json {
            ClaimsFormat::Json
        } else {
            self.format
        }
    }
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// The claim.
    pub claim: String,
    /// Ledger time: audit the record as it stood then.
    #[arg(long, value_name = "T")]
    pub known_at: Option<String>,
    /// A folder of evidence files, looked up by sha256 or by the uri's file name, and re-hashed.
    #[arg(long, value_name = "DIR")]
    pub evidence_dir: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TimelineArgs {
    /// The agreement.
    pub agreement: String,
    #[command(flatten)]
    pub when: When,
    /// text, or json (the agreement, each line's time, seq, author, type and
    /// sentence, and the status at the end).
    #[arg(long, value_name = "FORMAT", default_value = "text",
          value_parser = PossibleValuesParser::new(TimelineFormat::NAMES).try_map(|s| s.parse::<TimelineFormat>()))]
    pub format: TimelineFormat,
}

#[derive(Args, Debug)]
pub struct DemoArgs {}

impl Global {
    /// The ledger folder, `./armistice.ledger` unless given.
    pub fn ledger_path(&self) -> PathBuf {
        self.ledger
            .clone()
            .unwrap_or_else(|| PathBuf::from("./armistice.ledger"))
    }
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Where to write the secret key (mode 0600); the verifier key goes to FILE.pub.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The key's name, part of its text form (default: the file's name without extension).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct CheckpointArgs {
    /// Tree size (default: the whole log).
    #[arg(long)]
    pub size: Option<u64>,
    /// Print JSON instead of the signed note.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ProveArgs {
    #[command(subcommand)]
    pub proof: Proof,
}

#[derive(Subcommand, Debug)]
pub enum Proof {
    /// Proof that entry SEQ is in the tree of SIZE entries.
    Inclusion {
        /// The entry.
        #[arg(long)]
        seq: u64,
        /// Tree size (default: the whole log).
        #[arg(long)]
        size: Option<u64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Proof that the tree of TO entries extends the tree of FROM entries.
    Consistency {
        /// The older size.
        #[arg(long)]
        from: u64,
        /// The newer size.
        #[arg(long)]
        to: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}
