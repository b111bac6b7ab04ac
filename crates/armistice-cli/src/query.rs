//! `status`, `claims`, `audit` and `timeline`: the queries of
//! `armistice_api`, over the local ledger, printed as tables or JSON.

use crate::args::{AuditArgs, ClaimsArgs, Global, StatusArgs, TimelineArgs, When};
use crate::open::{now, open};
use crate::{out, outln};
use anyhow::{bail, Context};
use armistice_api::formats;
use armistice_api::query::{self, ClaimQuery, Names};
use armistice_api::ApiError;
use armistice_core::entry::sha256;
use armistice_core::Timestamp;
use armistice_projections::{render_audit, EvidenceCheck, EvidenceOutcome, View};
use armistice_store::OpenMode;
use serde::Serialize;
use std::path::Path;

/// The view asked for: `--at` (default now) and `--known-at` (default everything).
pub fn view_of(when: &When) -> anyhow::Result<View> {
    Ok(query::view(
        Names::CLI,
        when.at.as_deref(),
        when.known_at.as_deref(),
        now(),
    )?)
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// Prints a query's body; a GeoJSON body's claims left out for want of
/// coordinates are counted on standard error.
fn print_body(body: &formats::Body) -> anyhow::Result<()> {
    out::write_bytes(&body.bytes)?;
    if let Some(left_out @ 1..) = body.without_coordinates {
        eprintln!("armistice: {left_out} claim(s) without coordinates left out of the GeoJSON");
    }
    Ok(())
}

/// `armistice status`.
pub fn status(global: &Global, args: &StatusArgs) -> anyhow::Result<()> {
    let view = view_of(&args.when)?;
    let agreement = args
        .agreement
        .as_deref()
        .map(|a| query::agreement_id(Names::CLI, "AGREEMENT", a))
        .transpose()?;
    let ledger = open(global, OpenMode::Read)?;
    let (rows, parties) = query::status(&ledger, agreement.as_ref(), view)?;
    print_body(&formats::status_body(args.output(), &rows, &parties, view))
}

/// The filters of `claims`, as given.
pub fn claim_query(args: &ClaimsArgs) -> ClaimQuery {
    ClaimQuery {
        agreement: args.agreement.clone(),
        by: args.by.clone(),
        against: args.against.clone(),
        state: args.state.clone(),
        category: args.category.clone(),
        incident_from: args.incident_from.clone(),
        incident_to: args.incident_to.clone(),
    }
}

/// `armistice claims`.
pub fn claims(global: &Global, args: &ClaimsArgs) -> anyhow::Result<()> {
    let view = view_of(&args.when)?;
    let filter = claim_query(args).filter(Names::CLI)?;
    let ledger = open(global, OpenMode::Read)?;
    let (rows, parties) = query::claims(&ledger, &filter, view, Names::CLI)?;
    print_body(&formats::claims_body(args.output(), &rows, &parties, view))
}

/// `armistice audit`: the claim's story, signatures under the keys of
/// their time, evidence files re-hashed, and the hash chain re-verified.
pub fn audit(global: &Global, args: &AuditArgs) -> anyhow::Result<()> {
    let claim = query::claim_id(Names::CLI, "CLAIM", &args.claim)?;
    let known_at = args
        .known_at
        .as_deref()
        .map(|t| query::parse_when(Names::CLI, "known-at", t))
        .transpose()?
        .unwrap_or(Timestamp::MAX);
    if let Some(dir) = &args.evidence_dir {
        if !dir.is_dir() {
            bail!("--evidence-dir: {} is not a folder", dir.display());
        }
    }
    let ledger = open(global, OpenMode::Read)?;
    let checker = |sha: &str, uri: &str| -> Result<EvidenceCheck, ApiError> {
        let dir = args.evidence_dir.as_deref().unwrap_or(Path::new("."));
        check_evidence(dir, sha, uri).map_err(|e| ApiError::Invalid(format!("{e:#}")))
    };
    let evidence: Option<query::EvidenceChecker<'_>> = match &args.evidence_dir {
        Some(_) => Some(&checker),
        None => None,
    };
    let (audit, parties) = query::audit(&ledger, &claim, known_at, evidence)?;
    if args.json {
        return print_json(&audit);
    }
    out!("{}", render_audit(&audit, &parties))?;
    Ok(())
}

/// Files looked at at most when searching an evidence folder by name.
const EVIDENCE_FILES_MAX: usize = 100_000;

/// Finds and re-hashes an evidence file. Under `dir`, in this order:
/// a file named by its sha256 (`DIR/<sha256>`); the uri's path (its scheme
/// and leading `/` dropped: `file:ua/video1.mp4` → `DIR/ua/video1.mp4`);
/// then any file in any subfolder named like the uri's last segment
/// (`file:video1.mp4` → `DIR/ua/video1.mp4`), preferring one whose hash
/// matches. A uri that climbs out of the folder (`..`) is not followed.
pub fn check_evidence(dir: &Path, sha256_hex: &str, uri: &str) -> anyhow::Result<EvidenceCheck> {
    let path_part = uri
        .split_once(':')
        .filter(|(scheme, _)| {
            scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        })
        .map_or(uri, |(_, rest)| rest)
        .trim_start_matches('/');
    let safe = !path_part.is_empty()
        && Path::new(path_part)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    let name = Path::new(path_part)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let mut candidates = vec![dir.join(sha256_hex)];
    if safe {
        candidates.push(dir.join(path_part));
    }
    let mut found: Vec<std::path::PathBuf> =
        candidates.into_iter().filter(|p| p.is_file()).collect();
    if let (true, Some(name)) = (found.is_empty(), &name) {
        found = find_by_name(dir, name);
    }
    let mut outcome = EvidenceOutcome::Missing;
    for path in found {
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let actual = hex::encode(sha256(&bytes));
        if actual == sha256_hex {
            outcome = EvidenceOutcome::Ok;
            break;
        }
        if outcome == EvidenceOutcome::Missing {
            outcome = EvidenceOutcome::Mismatch { actual };
        }
    }
    Ok(EvidenceCheck {
        sha256: sha256_hex.to_owned(),
        uri: uri.to_owned(),
        outcome,
    })
}

/// Files named `name` anywhere under `dir` (bounded search).
fn find_by_name(dir: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    let mut seen = 0;
    while let Some(folder) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > EVIDENCE_FILES_MAX {
                return found;
            }
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_file() && entry.file_name().to_string_lossy() == name => {
                    found.push(path)
                }
                _ => {}
            }
        }
    }
    found.sort();
    found
}

/// `armistice timeline`.
pub fn timeline(global: &Global, args: &TimelineArgs) -> anyhow::Result<()> {
    let agreement = query::agreement_id(Names::CLI, "AGREEMENT", &args.agreement)?;
    let view = view_of(&args.when)?;
    let ledger = open(global, OpenMode::Read)?;
    let story = query::timeline_story(&ledger, &agreement, view)?;
    print_body(&formats::timeline_body(args.format, &story))
}
