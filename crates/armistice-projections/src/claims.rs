//! The claims register: each claim's state and flags, and the filter of
//! `armistice claims`.

use crate::error::ProjectionError;
use crate::fold::{ClaimFacts, Key, Projection};
use crate::status::AgreementStatus;
use armistice_core::event::{Category, Confidence, Event, Finding, Precision, Response};
use armistice_core::{AgreementId, ClaimId, PartyId, Timestamp};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// A claim's state (first rule that holds wins): `retracted`; else the
/// latest assessment's finding; else the latest response (`acknowledged`,
/// or `disputed` for a denial or disputed facts); else `open`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// Nobody has answered or assessed it yet.
    Open,
    /// The accused acknowledged it.
    Acknowledged,
    /// The accused denied it or disputed the facts.
    Disputed,
    /// A monitor verified it.
    Verified,
    /// A monitor refuted it.
    Refuted,
    /// A monitor could not conclude.
    Inconclusive,
    /// The claimant withdrew it.
    Retracted,
}

impl ClaimState {
    /// Every state, in the order counts are shown.
    pub const ALL: [ClaimState; 7] = [
        ClaimState::Open,
        ClaimState::Acknowledged,
        ClaimState::Disputed,
        ClaimState::Verified,
        ClaimState::Refuted,
        ClaimState::Inconclusive,
        ClaimState::Retracted,
    ];

    /// The JSON and command-line name.
    pub fn name(self) -> &'static str {
        match self {
            ClaimState::Open => "open",
            ClaimState::Acknowledged => "acknowledged",
            ClaimState::Disputed => "disputed",
            ClaimState::Verified => "verified",
            ClaimState::Refuted => "refuted",
            ClaimState::Inconclusive => "inconclusive",
            ClaimState::Retracted => "retracted",
        }
    }
}

impl fmt::Display for ClaimState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ClaimState {
    type Err = String;

    /// Parses a state name; the error lists the allowed ones.
    fn from_str(text: &str) -> Result<Self, String> {
        let found = ClaimState::ALL.into_iter().find(|s| s.name() == text);
        found.ok_or_else(|| {
            let names: Vec<&str> = ClaimState::ALL.iter().map(|s| s.name()).collect();
            format!(
                "unknown claim state `{text}`; expected one of {}",
                names.join(", ")
            )
        })
    }
}

/// A flag on a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The agreement was not in force at the incident (as the ledger knew it).
    OutsideWindow,
    /// The category is not covered by the agreement's scope at the incident.
    OutsideScope,
    /// The accused answered with a counter-claim.
    Countered,
    /// The claim's own entry was migrated from another record.
    Backfilled,
}

impl Flag {
    /// Every flag, in the order they are listed.
    pub const ALL: [Flag; 4] = [
        Flag::OutsideWindow,
        Flag::OutsideScope,
        Flag::Countered,
        Flag::Backfilled,
    ];

    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            Flag::OutsideWindow => "outside_window",
            Flag::OutsideScope => "outside_scope",
            Flag::Countered => "countered",
            Flag::Backfilled => "backfilled",
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Flag {
    type Err = String;

    /// Parses a flag name; the error lists the allowed ones.
    fn from_str(text: &str) -> Result<Self, String> {
        let found = Flag::ALL.into_iter().find(|f| f.name() == text);
        found.ok_or_else(|| {
            let names: Vec<&str> = Flag::ALL.iter().map(|f| f.name()).collect();
            format!(
                "unknown flag `{text}`; expected one of {}",
                names.join(", ")
            )
        })
    }
}

/// Every category name, as the command line accepts it.
pub const CATEGORY_NAMES: [&str; 7] = [
    "shelling",
    "drone_strike",
    "missile_strike",
    "energy_infrastructure_strike",
    "shipping_attack",
    "small_arms",
    "other",
];

/// Parses a category name; the error lists the allowed ones.
pub fn parse_category(text: &str) -> Result<Category, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        format!(
            "unknown category `{text}`; expected one of {}",
            CATEGORY_NAMES.join(", ")
        )
    })
}

/// The name of a category (`energy_infrastructure_strike`).
pub(crate) fn category_name(category: Category) -> &'static str {
    match category {
        Category::Shelling => CATEGORY_NAMES[0],
        Category::DroneStrike => CATEGORY_NAMES[1],
        Category::MissileStrike => CATEGORY_NAMES[2],
        Category::EnergyInfrastructureStrike => CATEGORY_NAMES[3],
        Category::ShippingAttack => CATEGORY_NAMES[4],
        Category::SmallArms => CATEGORY_NAMES[5],
        Category::Other => CATEGORY_NAMES[6],
    }
}

/// The part of a claim's life that decides its state, updated event by
/// event (shared by the replay and the audit, so both apply one rule).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ClaimProgress {
    pub retracted: Option<Key>,
    pub latest_response: Option<(Key, Response)>,
    pub latest_assessment: Option<(Key, (Finding, Confidence))>,
    pub responses: u32,
    pub assessments: u32,
    /// The earliest `occurred_at` of an answer by the accused.
    pub first_response: Option<Timestamp>,
    /// Whether an answer of the accused named a counter-claim.
    pub countered: bool,
}

impl ClaimProgress {
    /// Folds one event of the claim's stream, made by `by` at `key`.
    pub fn apply(&mut self, event: &Event, by: &PartyId, accused: &PartyId, key: Key) {
        match event {
            Event::AllegationResponded(e) => {
                self.responses = self.responses.saturating_add(1);
                keep_latest(&mut self.latest_response, key, e.response);
                if by == accused {
                    let first = self.first_response.map_or(key.0, |t| t.min(key.0));
                    self.first_response = Some(first);
                    self.countered |= e.counter_claim.is_some();
                }
            }
            Event::AllegationAssessed(e) => {
                self.assessments = self.assessments.saturating_add(1);
                keep_latest(&mut self.latest_assessment, key, (e.finding, e.confidence));
            }
            Event::AllegationRetracted(_) => {
                self.retracted = Some(self.retracted.map_or(key, |k| k.min(key)));
            }
            _ => {}
        }
    }

    /// The state by the precedence rules.
    pub fn state(&self) -> ClaimState {
        if self.retracted.is_some() {
            return ClaimState::Retracted;
        }
        if let Some((_, (finding, _))) = self.latest_assessment {
            return match finding {
                Finding::Verified => ClaimState::Verified,
                Finding::Refuted => ClaimState::Refuted,
                Finding::Inconclusive => ClaimState::Inconclusive,
            };
        }
        match self.latest_response {
            Some((_, Response::Acknowledged)) => ClaimState::Acknowledged,
            Some((_, Response::Denied | Response::DisputedFacts)) => ClaimState::Disputed,
            None => ClaimState::Open,
        }
    }
}

/// Replaces `slot` when `key` is later ("latest": `occurred_at`, then `seq`).
pub(crate) fn keep_latest<T>(slot: &mut Option<(Key, T)>, key: Key, value: T) {
    let later = match slot {
        Some((current, _)) => *current < key,
        None => true,
    };
    if later {
        *slot = Some((key, value));
    }
}

/// One row of `armistice claims`: what an analyst needs of one claim.
///
/// Free text reads as the ledger holds it: a redacted description or place
/// reads `[redacted]` (and a redacted place has no coordinates, redacted
/// casualties none).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClaimRow {
    /// The claim's id.
    pub claim: ClaimId,
    /// The agreement said to be violated.
    pub agreement: AgreementId,
    /// The claimant.
    pub by: PartyId,
    /// The accused.
    pub against: PartyId,
    /// What kind of violation.
    pub category: Category,
    /// When the incident happened (the start, for a period).
    pub incident_at: Timestamp,
    /// How precisely `incident_at` is known, if the claimant said.
    pub incident_precision: Option<Precision>,
    /// The end of the period, for an aggregate claim.
    pub incident_until: Option<Timestamp>,
    /// When the claim was made.
    pub occurred_at: Timestamp,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// Where.
    pub location: String,
    /// Latitude of the place, WGS 84 degrees (absent when not given).
    pub lat: Option<f64>,
    /// Longitude of the place, WGS 84 degrees (absent when not given).
    pub lon: Option<f64>,
    /// People killed, as alleged (absent when the claim gives no casualties).
    pub killed: Option<u32>,
    /// People injured, as alleged (absent when the claim gives no casualties).
    pub injured: Option<u32>,
    /// What happened, in the claimant's words.
    pub description: String,
    /// How many violations the claim counts.
    pub count: u64,
    /// Its state.
    pub state: ClaimState,
    /// The latest visible answer ("latest": `occurred_at`, then `seq`).
    pub response: Option<Response>,
    /// The latest visible assessment's finding.
    pub finding: Option<Finding>,
    /// The latest visible assessment's confidence.
    pub confidence: Option<Confidence>,
    /// Its flags.
    pub flags: Vec<Flag>,
    /// Visible answers.
    pub responses: u32,
    /// Visible assessments.
    pub assessments: u32,
    /// Visible pieces of evidence.
    pub evidence: u32,
    /// Whether the allegation was migrated from another record (`import --backfill`).
    pub backfilled: bool,
    /// The seq of the allegation's entry (for `prove inclusion --seq`).
    pub seq: u64,
    /// The rules version.
    pub rules: &'static str,
}

/// Which claims `armistice claims` lists; `None` means any. The incident
/// bounds are inclusive, on `incident_at`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClaimFilter {
    /// Only claims under this agreement.
    pub agreement: Option<AgreementId>,
    /// Only claims filed by this party.
    pub by: Option<PartyId>,
    /// Only claims against this party.
    pub against: Option<PartyId>,
    /// Only claims in this state.
    pub state: Option<ClaimState>,
    /// Only claims of this category.
    pub category: Option<Category>,
    /// Only incidents at or after this time.
    pub incident_from: Option<Timestamp>,
    /// Only incidents at or before this time.
    pub incident_to: Option<Timestamp>,
}

impl ClaimFilter {
    /// Whether `row` passes the filter.
    pub fn matches(&self, row: &ClaimRow) -> bool {
        fn pass<T: PartialEq>(wanted: &Option<T>, value: &T) -> bool {
            match wanted {
                Some(wanted) => wanted == value,
                None => true,
            }
        }
        let from_ok = match self.incident_from {
            Some(from) => from <= row.incident_at,
            None => true,
        };
        let to_ok = match self.incident_to {
            Some(to) => row.incident_at <= to,
            None => true,
        };
        pass(&self.agreement, &row.agreement)
            && pass(&self.by, &row.by)
            && pass(&self.against, &row.against)
            && pass(&self.state, &row.state)
            && pass(&self.category, &row.category)
            && from_ok
            && to_ok
    }
}

impl Projection {
    /// The claims visible under the view that pass `filter`, in `seq` order.
    pub fn claims(&self, filter: &ClaimFilter) -> Vec<ClaimRow> {
        let rows = self.visible_claims().map(|claim| self.claim_row_of(claim));
        rows.filter(|row| filter.matches(row)).collect()
    }

    /// One claim's row; an unknown (or not yet visible) claim is an error.
    pub fn claim_row(&self, id: &ClaimId) -> Result<ClaimRow, ProjectionError> {
        self.claim(id)
            .map(|claim| self.claim_row_of(claim))
            .ok_or_else(|| ProjectionError::UnknownClaim(id.clone()))
    }

    pub(crate) fn claim_row_of(&self, claim: &ClaimFacts) -> ClaimRow {
        ClaimRow {
            claim: claim.id.clone(),
            agreement: self.agreements[claim.agreement].proposal.agreement.clone(),
            by: claim.by.clone(),
            against: claim.against.clone(),
            category: claim.category,
            incident_at: claim.incident_at,
            incident_precision: claim.incident_precision,
            incident_until: claim.incident_until,
            occurred_at: claim.occurred_at,
            recorded_at: claim.recorded_at,
            location: claim.location.clone(),
            lat: claim.lat,
            lon: claim.lon,
            killed: claim.casualties.as_ref().map(|c| c.killed),
            injured: claim.casualties.as_ref().map(|c| c.injured),
            description: claim.description.clone(),
            count: claim.count,
            state: claim.progress.state(),
            response: claim.progress.latest_response.map(|(_, response)| response),
            finding: claim
                .progress
                .latest_assessment
                .map(|(_, (finding, _))| finding),
            confidence: claim
                .progress
                .latest_assessment
                .map(|(_, (_, confidence))| confidence),
            flags: self.flags(claim),
            responses: claim.progress.responses,
            assessments: claim.progress.assessments,
            evidence: claim.evidence,
            backfilled: claim.backfilled,
            seq: claim.seq,
            rules: crate::RULES_VERSION,
        }
    }

    /// A claim's flags, in [`Flag::ALL`] order.
    pub(crate) fn flags(&self, claim: &ClaimFacts) -> Vec<Flag> {
        let mut flags = Vec::new();
        if self.window_status(claim) != Some(AgreementStatus::InForce) {
            flags.push(Flag::OutsideWindow);
        }
        if !self.in_scope(claim) {
            flags.push(Flag::OutsideScope);
        }
        if claim.progress.countered {
            flags.push(Flag::Countered);
        }
        if claim.backfilled {
            flags.push(Flag::Backfilled);
        }
        flags
    }

    /// The agreement's status at the incident, as `status --at incident_at`
    /// would compute it under the same `known_at` (`None`: not yet proposed).
    pub(crate) fn window_status(&self, claim: &ClaimFacts) -> Option<AgreementStatus> {
        self.agreements[claim.agreement].status_at(claim.incident_at)
    }

    /// Whether the claim's category is covered by the scope as amended by
    /// visible amendments that occurred at or before the incident.
    pub(crate) fn in_scope(&self, claim: &ClaimFacts) -> bool {
        let when = claim.incident_at.min(self.view.at);
        let scope = self.agreements[claim.agreement].scope_at(when);
        scope.iter().any(|s| s.covers(claim.category))
    }
}
