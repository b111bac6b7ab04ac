//! `status`, `claims`, `audit` and `timeline`: projections rebuilt from the
//! log for each query, reading only as far as `--known-at` allows.

use crate::args::{AuditArgs, ClaimsArgs, Global, StatusArgs, TimelineArgs, When};
use crate::open::{now, open, parse_when};
use crate::{out, outln};
use anyhow::{anyhow, bail, Context};
use armistice_core::entry::sha256;
use armistice_core::{AgreementId, ClaimId, PartyId, Timestamp};
use armistice_projections::{
    parse_category, render_audit, render_claims, render_status, AuditCollector, AuditInputs,
    ClaimFilter, ClaimState, EvidenceCheck, EvidenceOutcome, Projection, Replay, SignatureCheck,
    StoryReplay, View,
};
use armistice_store::{Ledger, OpenMode, SignatureStatus, Signatures};
use serde::Serialize;
use std::path::Path;
use std::str::FromStr;

/// Below one entry in this many, a replay fetches the entries that occurred
/// by `--at` one by one through the index (measured: a random read costs
/// about two sequential ones).
const INDEX_SHARE_MAX: u64 = 2;

/// The view asked for: `--at` (default now) and `--known-at` (default everything).
pub fn view_of(when: &When) -> anyhow::Result<View> {
    let at = when
        .at
        .as_deref()
        .map(|t| parse_when("--at", t))
        .transpose()?
        .unwrap_or_else(now);
    let known_at = known_at_of(when.known_at.as_deref())?;
    Ok(View::new(at, known_at))
}

fn known_at_of(text: Option<&str>) -> anyhow::Result<Timestamp> {
    Ok(text
        .map(|t| parse_when("--known-at", t))
        .transpose()?
        .unwrap_or(Timestamp::MAX))
}

/// The last seq a view can see: recorded_at never decreases along the log,
/// so a `--known-at` in the past reads only the entries recorded by then.
fn last_seq(ledger: &Ledger, view: View) -> anyhow::Result<u64> {
    Ok(match view.known_at {
        Timestamp::MAX => ledger.head().seq,
        known_at => ledger.last_seq_recorded_by(known_at)?,
    })
}

/// Replays the log into a projection for `view`. Only entries that occurred
/// by `--at` can count, so when they are under half of the log they are
/// fetched through the occurred_at index instead of reading it all.
pub fn project(ledger: &Ledger, view: View) -> anyhow::Result<Projection> {
    let last = last_seq(ledger, view)?;
    let mut replay = Replay::new(view);
    if let Some(records) = ledger.records_occurred_by(view.at, last, last / INDEX_SHARE_MAX)? {
        for record in &records {
            if replay.apply(record).is_break() {
                break;
            }
        }
        return Ok(replay.finish());
    }
    for record in ledger.records_ahead(1, last) {
        if replay.apply(&record?).is_break() {
            break;
        }
    }
    Ok(replay.finish())
}

/// Replays only what a question about one agreement needs (its parties,
/// its stream, its claims' streams), found through the store's indexes.
fn project_agreement(
    ledger: &Ledger,
    agreement: &AgreementId,
    view: View,
) -> anyhow::Result<Projection> {
    let mut replay = Replay::new(view);
    for record in ledger.agreement_records(agreement.as_str())? {
        if replay.apply(&record).is_break() {
            break;
        }
    }
    Ok(replay.finish())
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?)?;
    Ok(())
}

fn id<T>(flag: &str, text: &str, parse: impl Fn(String) -> Result<T, String>) -> anyhow::Result<T> {
    parse(text.to_owned()).map_err(|e| anyhow!("{flag}: {e}"))
}

/// `armistice status`.
pub fn status(global: &Global, args: &StatusArgs) -> anyhow::Result<()> {
    let view = view_of(&args.when)?;
    let agreement = args
        .agreement
        .as_deref()
        .map(|a| id("AGREEMENT", a, AgreementId::new))
        .transpose()?;
    let ledger = open(global, OpenMode::Read)?;
    let projection = match &agreement {
        Some(agreement) => project_agreement(&ledger, agreement, view)?,
        None => project(&ledger, view)?,
    };
    let rows = projection.status(agreement.as_ref())?;
    if args.json {
        return print_json(&rows);
    }
    out!("{}", render_status(&rows, projection.parties(), view))?;
    Ok(())
}

/// `armistice claims`.
pub fn claims(global: &Global, args: &ClaimsArgs) -> anyhow::Result<()> {
    let view = view_of(&args.when)?;
    let filter = ClaimFilter {
        agreement: args
            .agreement
            .as_deref()
            .map(|a| id("--agreement", a, AgreementId::new))
            .transpose()?,
        by: args
            .by
            .as_deref()
            .map(|p| id("--by", p, PartyId::new))
            .transpose()?,
        against: args
            .against
            .as_deref()
            .map(|p| id("--against", p, PartyId::new))
            .transpose()?,
        state: args
            .state
            .as_deref()
            .map(ClaimState::from_str)
            .transpose()
            .map_err(|e| anyhow!("--state: {e}"))?,
        category: args
            .category
            .as_deref()
            .map(parse_category)
            .transpose()
            .map_err(|e| anyhow!("--category: {e}"))?,
        incident_from: args
            .incident_from
            .as_deref()
            .map(|t| parse_when("--incident-from", t))
            .transpose()?,
        incident_to: args
            .incident_to
            .as_deref()
            .map(|t| parse_when("--incident-to", t))
            .transpose()?,
    };
    let ledger = open(global, OpenMode::Read)?;
    let projection = match &filter.agreement {
        Some(agreement) => project_agreement(&ledger, agreement, view)?,
        None => project(&ledger, view)?,
    };
    if let Some(agreement) = &filter.agreement {
        projection.status(Some(agreement))?;
    }
    for (flag, party) in [("--by", &filter.by), ("--against", &filter.against)] {
        if let Some(party) = party {
            if !projection.parties().contains_key(party) {
                bail!("{flag}: unknown party `{party}`");
            }
        }
    }
    let rows = projection.claims(&filter);
    if args.json {
        return print_json(&rows);
    }
    out!("{}", render_claims(&rows, projection.parties(), view))?;
    Ok(())
}

/// `armistice audit`: two passes over the log — the projection, then the
/// entries touching the claim — with signatures, evidence files and the
/// hash chain checked here, where the I/O is.
pub fn audit(global: &Global, args: &AuditArgs) -> anyhow::Result<()> {
    let claim = id("CLAIM", &args.claim, ClaimId::new)?;
    let known_at = known_at_of(args.known_at.as_deref())?;
    if let Some(dir) = &args.evidence_dir {
        if !dir.is_dir() {
            bail!("--evidence-dir: {} is not a folder", dir.display());
        }
    }
    let ledger = open(global, OpenMode::Read)?;
    let view = View::new(Timestamp::MAX, known_at);
    let projection = project(&ledger, view)?;
    let mut collector = AuditCollector::new(&projection, &claim)?;
    let mut signatures = Signatures::new(ledger.operator_keys());
    for item in ledger.entries(1, last_seq(&ledger, view)?) {
        let (seq, bytes) = item?;
        let record = armistice_store::decode_record(seq, &bytes)?;
        let check = match signatures.check_bytes(&bytes, &record) {
            SignatureStatus::Valid => SignatureCheck::Valid,
            SignatureStatus::Invalid(_) => SignatureCheck::Invalid,
            SignatureStatus::Unsigned => SignatureCheck::Unsigned,
            SignatureStatus::Unverifiable => SignatureCheck::Unchecked,
        };
        if collector.apply(&record, check).is_break() {
            break;
        }
    }
    let evidence_checks = match &args.evidence_dir {
        Some(dir) => Some(
            collector
                .evidence()
                .iter()
                .map(|e| check_evidence(dir, &e.sha256, &e.uri))
                .collect::<anyhow::Result<Vec<_>>>()?,
        ),
        None => None,
    };
    let chain_ok = match collector.last_shown_seq() {
        Some(seq) => ledger.verify_chain(seq)?.is_none(),
        None => true,
    };
    let audit = collector.finish(AuditInputs {
        chain_ok,
        evidence_checks,
    });
    if args.json {
        return print_json(&audit);
    }
    out!("{}", render_audit(&audit, projection.parties()))?;
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
        .filter(|(scheme, _)| scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)))
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
    let mut found: Vec<std::path::PathBuf> = candidates.into_iter().filter(|p| p.is_file()).collect();
    if let (true, Some(name)) = (found.is_empty(), &name) {
        found = find_by_name(dir, name);
    }
    let mut outcome = EvidenceOutcome::Missing;
    for path in found {
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
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
                Ok(t) if t.is_file() && entry.file_name().to_string_lossy() == name => found.push(path),
                _ => {}
            }
        }
    }
    found.sort();
    found
}

/// `armistice timeline`.
pub fn timeline(global: &Global, args: &TimelineArgs) -> anyhow::Result<()> {
    let agreement = id("AGREEMENT", &args.agreement, AgreementId::new)?;
    let view = view_of(&args.when)?;
    let ledger = open(global, OpenMode::Read)?;
    let records = ledger.agreement_records(agreement.as_str())?;
    let mut story = StoryReplay::new(agreement, view);
    for record in &records {
        if story.apply(record).is_break() {
            break;
        }
    }
    out!("{}", story.finish()?)?;
    Ok(())
}
