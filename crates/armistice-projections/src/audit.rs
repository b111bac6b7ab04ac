//! The audit of one claim: every entry that touches it, its state after
//! each, and findings a mediator should look at.
//!
//! An audit takes two passes over the log, because a counter-claim may be
//! filed before the answer that names it: first a [`Replay`](crate::Replay)
//! (which learns the claim's counter-claims and its agreement's dates), then
//! an [`AuditCollector`] that gathers the timeline. Signature checks, the
//! hash chain and evidence files are the store's and the CLI's business:
//! their outcomes come in as plain values.

use crate::claims::{category_name, ClaimProgress, ClaimState, Flag};
use crate::error::ProjectionError;
use crate::fold::{ClaimFacts, Key, Projection, Replay, View};
use crate::text::minute;
use crate::LATE_AFTER_MICROS;
use armistice_core::event::{Category, Event, Finding};
use armistice_core::{AgreementId, ClaimId, Header, PartyId, Record, Timestamp};
use serde::Serialize;
use std::ops::ControlFlow;

/// What the caller found when checking an entry's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureCheck {
    /// Signed, and the signature verifies against the key then registered.
    Valid,
    /// Signed, but the signature does not verify.
    Invalid,
    /// Not signed.
    Unsigned,
    /// Signed, not checked by the caller.
    Unchecked,
}

impl SignatureCheck {
    /// `unsigned` or `unchecked`, from the header alone.
    pub fn unverified(header: &Header) -> Self {
        match header.signature {
            Some(_) => SignatureCheck::Unchecked,
            None => SignatureCheck::Unsigned,
        }
    }
}

/// How an entry of the timeline touches the audited claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// An entry of the claim's own stream.
    Claim,
    /// An entry of one of its counter-claims.
    CounterClaim,
    /// An answer to another claim that names this one as its counter-claim.
    NamesAsCounterClaim,
    /// A change of the claimant's or the accused's key after the claim was
    /// filed (a rotation by the party, or a replacement by the operator):
    /// later signatures are checked under the new key.
    KeyChange,
}

/// One entry of an audit's timeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Its place in the log.
    pub seq: u64,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// The claim the entry is about.
    pub claim: ClaimId,
    /// How it touches the audited claim.
    pub relation: Relation,
    /// Who made the statement.
    pub by: PartyId,
    /// When it happened.
    pub occurred_at: Timestamp,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// The entry's hash, in hex.
    pub hash: String,
    /// The audited claim's state after this entry.
    pub state: ClaimState,
    /// The signature check the caller reported.
    pub signature: SignatureCheck,
    /// What the entry says, in a few words.
    pub summary: String,
    /// The fields redacted from the entry (`*` for a format 1 redaction, which removed them all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<&'static str>,
    /// Whether the entry was migrated from another record.
    #[serde(skip_serializing_if = "is_false")]
    pub backfilled: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

/// The kind of an audit finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingCode {
    /// The agreement was not in force at the incident.
    OutsideWindow,
    /// The category is outside the agreement's scope at the incident.
    OutsideScope,
    /// The accused has not answered.
    NoResponse,
    /// The accused's first answer came more than 7 days after the claim.
    LateResponse,
    /// The latest findings of two monitors differ.
    ConflictingAssessments,
    /// An evidence file was not found.
    EvidenceMissing,
    /// An evidence file does not hash to the recorded sha256.
    EvidenceMismatch,
    /// An entry was recorded more than 7 days after it occurred.
    RecordedLate,
    /// An entry was migrated from another record.
    Backfilled,
}

/// One finding of an audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditFinding {
    /// Its kind.
    pub code: FindingCode,
    /// What exactly, in words.
    pub detail: String,
}

/// A piece of evidence offered for the audited claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EvidenceRef {
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Where it is kept.
    pub uri: String,
    /// Its media type.
    pub media_type: String,
    /// The entry that offered it.
    pub seq: u64,
    /// The caller's check of the file, when it checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<EvidenceOutcome>,
}

/// The outcome of looking an evidence file up and re-hashing it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum EvidenceOutcome {
    /// Found, and its hash matches.
    Ok,
    /// Not found by its sha256 or its uri's file name.
    Missing,
    /// Found, but it hashes to `actual`.
    Mismatch {
        /// The file's actual SHA-256, hex.
        actual: String,
    },
}

/// The caller's check of one evidence file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceCheck {
    /// The recorded SHA-256.
    pub sha256: String,
    /// The recorded uri.
    pub uri: String,
    /// What the caller found.
    pub outcome: EvidenceOutcome,
}

/// What the caller verified outside the projection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditInputs {
    /// Whether the hash chain verifies over the entries shown and all before them.
    pub chain_ok: bool,
    /// The checks of the evidence files (`--evidence-dir`), if made.
    pub evidence_checks: Option<Vec<EvidenceCheck>>,
}

/// `armistice audit CLAIM`: the whole story of one claim.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Audit {
    /// The claim.
    pub claim: ClaimId,
    /// Its agreement.
    pub agreement: AgreementId,
    /// The claimant.
    pub by: PartyId,
    /// The accused.
    pub against: PartyId,
    /// What kind of violation.
    pub category: Category,
    /// When the incident happened.
    pub incident_at: Timestamp,
    /// How many violations it counts.
    pub count: u64,
    /// Its state.
    pub state: ClaimState,
    /// Its flags.
    pub flags: Vec<Flag>,
    /// Every entry touching it, in `seq` order.
    pub timeline: Vec<AuditEntry>,
    /// What a mediator should look at.
    pub findings: Vec<AuditFinding>,
    /// Whether the hash chain verifies up to the last entry shown.
    pub chain_ok: bool,
    /// The evidence offered, with the caller's checks.
    pub evidence: Vec<EvidenceRef>,
    /// The ledger time of the audit (`null`: everything recorded).
    pub known_at: Option<Timestamp>,
    /// The rules version.
    pub rules: &'static str,
}

/// The second pass of an audit: gathers the entries touching one claim.
#[derive(Clone, Debug)]
pub struct AuditCollector<'p> {
    projection: &'p Projection,
    claim: &'p ClaimFacts,
    progress: ClaimProgress,
    /// Per monitor, its latest finding.
    monitors: Vec<(PartyId, Key, Finding)>,
    timeline: Vec<AuditEntry>,
    evidence: Vec<EvidenceRef>,
    last_seq: u64,
}

impl<'p> AuditCollector<'p> {
    /// Starts the second pass for `claim`, using a replay of the same
    /// records (usually under `View { at: MAX, known_at: K }`).
    pub fn new(projection: &'p Projection, claim: &ClaimId) -> Result<Self, ProjectionError> {
        let facts = projection
            .claim(claim)
            .ok_or_else(|| ProjectionError::UnknownClaim(claim.clone()))?;
        Ok(AuditCollector {
            projection,
            claim: facts,
            progress: ClaimProgress::default(),
            monitors: Vec::new(),
            timeline: Vec::new(),
            evidence: Vec::new(),
            last_seq: 0,
        })
    }

    /// Folds one record with the caller's check of its signature. Returns
    /// `Break` once records come from after the view's `known_at`.
    pub fn apply(&mut self, record: &Record, signature: SignatureCheck) -> ControlFlow<()> {
        let header = &record.header;
        assert!(
            header.seq > self.last_seq,
            "audit out of order: seq {} after {}",
            header.seq,
            self.last_seq
        );
        self.last_seq = header.seq;
        let view = self.projection.view();
        if !view.knows(header.recorded_at) {
            return ControlFlow::Break(());
        }
        if !view.admits(header.occurred_at, header.recorded_at) {
            return ControlFlow::Continue(());
        }
        let key_change = match &record.statement.event {
            Event::PartyKeyRotated(_) => Some(&record.statement.by),
            Event::PartyKeyReplaced(e) => Some(&e.party),
            _ => None,
        };
        let involved = key_change.is_some_and(|party| {
            (*party == self.claim.by || *party == self.claim.against) && header.seq > self.claim.seq
        });
        let claim_id = self.claim.id.clone();
        let found = match involved {
            true => Some((&claim_id, Relation::KeyChange)),
            false => self.relation(&record.statement.event),
        };
        let Some((about, relation)) = found else {
            return ControlFlow::Continue(());
        };
        if relation == Relation::Claim {
            self.own_event(record);
        }
        self.timeline.push(AuditEntry {
            seq: header.seq,
            event_type: header.event_type.name(),
            claim: about.clone(),
            relation,
            by: record.statement.by.clone(),
            occurred_at: header.occurred_at,
            recorded_at: header.recorded_at,
            hash: hex::encode(record.hash),
            state: self.progress.state(),
            signature,
            summary: summary(&record.statement.event),
            redacted: record.redaction.field_names(),
            backfilled: header.backfilled,
        });
        ControlFlow::Continue(())
    }

    fn relation<'e>(&self, event: &'e Event) -> Option<(&'e ClaimId, Relation)> {
        let about = event.claim()?;
        if *about == self.claim.id {
            return Some((about, Relation::Claim));
        }
        if self.claim.counter_claims.contains(about) {
            return Some((about, Relation::CounterClaim));
        }
        match event {
            Event::AllegationResponded(e) if e.counter_claim.as_ref() == Some(&self.claim.id) => {
                Some((about, Relation::NamesAsCounterClaim))
            }
            _ => None,
        }
    }

    fn own_event(&mut self, record: &Record) {
        let key = (record.header.occurred_at, record.header.seq);
        let by = &record.statement.by;
        let event = &record.statement.event;
        self.progress.apply(event, by, &self.claim.against, key);
        let offered = match event {
            Event::ViolationAlleged(e) => e.evidence.as_slice(),
            Event::EvidenceAdded(e) => e.evidence.as_slice(),
            Event::AllegationAssessed(e) => {
                self.keep_monitor(by, key, e.finding);
                &[]
            }
            _ => &[],
        };
        for item in offered {
            self.evidence.push(EvidenceRef {
                sha256: item.sha256.clone(),
                uri: item.uri.clone(),
                media_type: item.media_type.clone(),
                seq: record.header.seq,
                check: None,
            });
        }
    }

    fn keep_monitor(&mut self, by: &PartyId, key: Key, finding: Finding) {
        match self
            .monitors
            .iter_mut()
            .find(|(monitor, _, _)| monitor == by)
        {
            Some(slot) if slot.1 < key => *slot = (by.clone(), key, finding),
            Some(_) => {}
            None => self.monitors.push((by.clone(), key, finding)),
        }
    }

    /// The evidence offered so far, for the caller to check before [`finish`](Self::finish).
    pub fn evidence(&self) -> &[EvidenceRef] {
        &self.evidence
    }

    /// The `seq` of the last entry shown: the chain must verify up to it.
    pub fn last_shown_seq(&self) -> Option<u64> {
        self.timeline.last().map(|entry| entry.seq)
    }

    /// Ends the pass with the caller's verifications.
    pub fn finish(self, inputs: AuditInputs) -> Audit {
        let projection = self.projection;
        let claim = self.claim;
        let flags = projection.flags(claim);
        let mut evidence = self.evidence;
        let mut findings = agreement_findings(projection, claim, &flags);
        findings.extend(answer_findings(claim, &self.progress));
        findings.extend(monitor_findings(&self.monitors));
        if let Some(checks) = &inputs.evidence_checks {
            findings.extend(evidence_findings(&mut evidence, checks));
        }
        findings.extend(entry_findings(&self.timeline));
        let known_at = projection.view().known_at;
        Audit {
            claim: claim.id.clone(),
            agreement: projection.agreements[claim.agreement]
                .proposal
                .agreement
                .clone(),
            by: claim.by.clone(),
            against: claim.against.clone(),
            category: claim.category,
            incident_at: claim.incident_at,
            count: claim.count,
            state: self.progress.state(),
            flags,
            timeline: self.timeline,
            findings,
            chain_ok: inputs.chain_ok,
            evidence,
            known_at: (known_at != Timestamp::MAX).then_some(known_at),
            rules: crate::RULES_VERSION,
        }
    }
}

fn finding(code: FindingCode, detail: String) -> AuditFinding {
    AuditFinding { code, detail }
}

fn agreement_findings(
    projection: &Projection,
    claim: &ClaimFacts,
    flags: &[Flag],
) -> Vec<AuditFinding> {
    let agreement = &projection.agreements[claim.agreement];
    let id = &agreement.proposal.agreement;
    let mut out = Vec::new();
    if flags.contains(&Flag::OutsideWindow) {
        let status = projection.window_status(claim);
        let status = status.map_or("not yet proposed", |s| s.name());
        out.push(finding(
            FindingCode::OutsideWindow,
            format!(
                "at the incident ({}) `{id}` was {status}, as the ledger knew it",
                minute(claim.incident_at)
            ),
        ));
    }
    if flags.contains(&Flag::OutsideScope) {
        let at = claim.incident_at.min(projection.view().at);
        out.push(finding(
            FindingCode::OutsideScope,
            format!(
                "category {} is not covered by the scope of `{id}` at the incident ({})",
                category_name(claim.category),
                crate::text::scope_names(agreement.scope_at(at))
            ),
        ));
    }
    out
}

fn answer_findings(claim: &ClaimFacts, progress: &ClaimProgress) -> Option<AuditFinding> {
    let Some(first) = progress.first_response else {
        return Some(finding(
            FindingCode::NoResponse,
            format!("{} has not answered the claim", claim.against),
        ));
    };
    let delay = first.micros().saturating_sub(claim.occurred_at.micros());
    (delay > LATE_AFTER_MICROS).then(|| {
        finding(
            FindingCode::LateResponse,
            format!(
                "{} first answered on {}, {} days after the claim was made ({})",
                claim.against,
                minute(first),
                delay / (LATE_AFTER_MICROS / 7),
                minute(claim.occurred_at)
            ),
        )
    })
}

fn monitor_findings(monitors: &[(PartyId, Key, Finding)]) -> Option<AuditFinding> {
    let first = monitors.first()?.2;
    if monitors.iter().all(|m| m.2 == first) {
        return None;
    }
    let each: Vec<String> = monitors
        .iter()
        .map(|(monitor, _, f)| format!("{monitor}: {}", finding_name(*f)))
        .collect();
    Some(finding(
        FindingCode::ConflictingAssessments,
        format!(
            "the latest findings of the monitors differ ({})",
            each.join("; ")
        ),
    ))
}

fn finding_name(finding: Finding) -> &'static str {
    match finding {
        Finding::Verified => "verified",
        Finding::Refuted => "refuted",
        Finding::Inconclusive => "inconclusive",
    }
}

fn evidence_findings(evidence: &mut [EvidenceRef], checks: &[EvidenceCheck]) -> Vec<AuditFinding> {
    let mut out = Vec::new();
    for item in evidence.iter_mut() {
        let check = checks
            .iter()
            .find(|c| c.sha256 == item.sha256 && c.uri == item.uri);
        let Some(check) = check else { continue };
        item.check = Some(check.outcome.clone());
        match &check.outcome {
            EvidenceOutcome::Ok => {}
            EvidenceOutcome::Missing => out.push(finding(
                FindingCode::EvidenceMissing,
                format!(
                    "no file for {} (sha256 {}) offered at seq {}",
                    item.uri, item.sha256, item.seq
                ),
            )),
            EvidenceOutcome::Mismatch { actual } => out.push(finding(
                FindingCode::EvidenceMismatch,
                format!(
                    "the file for {} hashes to {actual}, not the recorded {} (seq {})",
                    item.uri, item.sha256, item.seq
                ),
            )),
        }
    }
    out
}

fn entry_findings(timeline: &[AuditEntry]) -> Vec<AuditFinding> {
    let mut out = Vec::new();
    for entry in timeline {
        let delay = entry
            .recorded_at
            .micros()
            .saturating_sub(entry.occurred_at.micros());
        if delay > LATE_AFTER_MICROS {
            out.push(finding(
                FindingCode::RecordedLate,
                format!(
                    "seq {} ({} on {}) occurred {} but was recorded {}, {} days later",
                    entry.seq,
                    entry.event_type,
                    entry.claim,
                    minute(entry.occurred_at),
                    minute(entry.recorded_at),
                    delay / (LATE_AFTER_MICROS / 7)
                ),
            ));
        }
        if entry.backfilled {
            out.push(finding(
                FindingCode::Backfilled,
                format!(
                    "seq {} ({} on {}) was migrated from another record",
                    entry.seq, entry.event_type, entry.claim
                ),
            ));
        }
    }
    out
}

/// A few words on what a claim-stream event says.
fn summary(event: &Event) -> String {
    match event {
        Event::ViolationAlleged(e) => format!(
            "alleges {} × {} against {} at {}",
            crate::text::thousands(e.count),
            category_name(e.category),
            e.against,
            e.location.name
        ),
        Event::EvidenceAdded(e) => format!("adds {} piece(s) of evidence", e.evidence.len()),
        Event::AllegationResponded(e) => {
            let counter = e
                .counter_claim
                .as_ref()
                .map(|c| format!(" (counter-claim {c})"));
            format!(
                "{}{}: {}",
                crate::text::response_verb(e.response),
                counter.unwrap_or_default(),
                e.statement
            )
        }
        Event::AllegationAssessed(e) => format!(
            "assesses: {} ({} confidence): {}",
            finding_name(e.finding),
            crate::text::confidence_name(e.confidence),
            e.reasoning
        ),
        Event::AllegationRetracted(e) => format!("retracts: {}", e.reason),
        Event::PartyKeyRotated(_) => "rotates its signing key".to_owned(),
        Event::PartyKeyReplaced(e) => format!("replaces the key of {}: {}", e.party, e.reason),
        other => other.event_type().name().to_owned(),
    }
}

/// Audits `claim` over records held in memory, treating every signature as
/// unchecked: both passes at once, for tests and small ledgers.
pub fn audit_records(
    records: &[Record],
    claim: &ClaimId,
    known_at: Timestamp,
    inputs: AuditInputs,
) -> Result<Audit, ProjectionError> {
    let view = View::new(Timestamp::MAX, known_at);
    let mut replay = Replay::new(view);
    for record in records {
        if replay.apply(record).is_break() {
            break;
        }
    }
    let projection = replay.finish();
    let mut collector = AuditCollector::new(&projection, claim)?;
    for record in records {
        if collector
            .apply(record, SignatureCheck::unverified(&record.header))
            .is_break()
        {
            break;
        }
    }
    Ok(collector.finish(inputs))
}
