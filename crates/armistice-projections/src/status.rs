//! Agreement status at a time, and the rows of `armistice status`.

use crate::claims::ClaimState;
use crate::error::ProjectionError;
use crate::fold::{AgreementFacts, ClaimFacts, Key, Projection};
use armistice_core::event::{AgreementKind, Scope};
use armistice_core::{AgreementId, ClaimId, PartyId, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// An agreement's status at a time (first rule that holds wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementStatus {
    /// An `agreement_terminated` occurred at or before the time.
    Terminated,
    /// `expires_at`, as amended, is at or before the time.
    Expired,
    /// The latest suspension or resumption at or before the time is a suspension.
    Suspended,
    /// Every party has signed and `effective_from` has come.
    InForce,
    /// Every party has signed; `effective_from` is still to come.
    Pending,
    /// Otherwise: some party has not signed.
    Proposed,
}

impl AgreementStatus {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        match self {
            AgreementStatus::Terminated => "terminated",
            AgreementStatus::Expired => "expired",
            AgreementStatus::Suspended => "suspended",
            AgreementStatus::InForce => "in_force",
            AgreementStatus::Pending => "pending",
            AgreementStatus::Proposed => "proposed",
        }
    }
}

impl fmt::Display for AgreementStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The index of the last entry of a `Key`-sorted list that occurred at or before `at`.
fn last_at_or_before<T>(sorted: &[(Key, T)], at: Timestamp) -> Option<&T> {
    let end = sorted.partition_point(|(key, _)| key.0 <= at);
    end.checked_sub(1).map(|i| &sorted[i].1)
}

impl AgreementFacts {
    /// Whether party `index` had signed by `at` (conditionally or not).
    pub(crate) fn signed_by(&self, index: usize, at: Timestamp) -> bool {
        self.first_signed[index].is_some_and(|key| key.0 <= at)
    }

    /// When the last party signed, if all have (at any time).
    pub(crate) fn all_signed_at(&self) -> Option<Timestamp> {
        let firsts = self.first_signed.iter().map(|key| key.map(|k| k.0));
        firsts.collect::<Option<Vec<_>>>()?.into_iter().max()
    }

    /// `expires_at` after the amendments that occurred at or before `at`.
    pub(crate) fn expires_at(&self, at: Timestamp) -> Option<Timestamp> {
        last_at_or_before(&self.expiry_amendments, at)
            .copied()
            .or(self.proposal.expires_at)
    }

    /// The scope after the amendments that occurred at or before `at`.
    pub(crate) fn scope_at(&self, at: Timestamp) -> &[Scope] {
        last_at_or_before(&self.scope_amendments, at).unwrap_or(&self.proposal.scope)
    }

    /// Whether the latest suspension or resumption at or before `at` suspends.
    pub(crate) fn suspended_at(&self, at: Timestamp) -> bool {
        last_at_or_before(&self.toggles, at)
            .copied()
            .unwrap_or(false)
    }

    /// The status at `at`, counting only events that occurred at or before
    /// it; `None` when the proposal itself comes later.
    pub(crate) fn status_at(&self, at: Timestamp) -> Option<AgreementStatus> {
        if self.proposed.0 > at {
            return None;
        }
        let all_signed = (0..self.proposal.parties.len()).all(|i| self.signed_by(i, at));
        let status = if self.terminated.as_ref().is_some_and(|(key, _)| key.0 <= at) {
            AgreementStatus::Terminated
        } else if self.expires_at(at).is_some_and(|expiry| expiry <= at) {
            AgreementStatus::Expired
        } else if self.suspended_at(at) {
            AgreementStatus::Suspended
        } else if all_signed && self.proposal.effective_from <= at {
            AgreementStatus::InForce
        } else if all_signed {
            AgreementStatus::Pending
        } else {
            AgreementStatus::Proposed
        };
        Some(status)
    }
}

/// Claim counts by state, over the claims visible under the view.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClaimCounts {
    /// All claims.
    pub total: u64,
    /// `open`.
    pub open: u64,
    /// `acknowledged`.
    pub acknowledged: u64,
    /// `disputed`.
    pub disputed: u64,
    /// `verified`.
    pub verified: u64,
    /// `refuted`.
    pub refuted: u64,
    /// `inconclusive`.
    pub inconclusive: u64,
    /// `retracted`.
    pub retracted: u64,
}

impl ClaimCounts {
    fn add(&mut self, state: ClaimState) {
        self.total += 1;
        let slot = match state {
            ClaimState::Open => &mut self.open,
            ClaimState::Acknowledged => &mut self.acknowledged,
            ClaimState::Disputed => &mut self.disputed,
            ClaimState::Verified => &mut self.verified,
            ClaimState::Refuted => &mut self.refuted,
            ClaimState::Inconclusive => &mut self.inconclusive,
            ClaimState::Retracted => &mut self.retracted,
        };
        *slot += 1;
    }

    /// The count of claims in `state`.
    pub fn of(&self, state: ClaimState) -> u64 {
        match state {
            ClaimState::Open => self.open,
            ClaimState::Acknowledged => self.acknowledged,
            ClaimState::Disputed => self.disputed,
            ClaimState::Verified => self.verified,
            ClaimState::Refuted => self.refuted,
            ClaimState::Inconclusive => self.inconclusive,
            ClaimState::Retracted => self.retracted,
        }
    }
}

/// What one party alleges under an agreement, by kind of claim.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Alleged {
    /// Claims of one incident (`count` 1; its time may be a window).
    pub incidents: u64,
    /// Aggregate claims (`count` above 1), in filing order.
    pub aggregates: Vec<AggregateClaim>,
}

/// One aggregate claim, as `status` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AggregateClaim {
    /// The claim.
    pub claim: ClaimId,
    /// How many violations it counts.
    pub count: u64,
    /// The start of its period.
    pub incident_at: Timestamp,
    /// The end of its period, if given.
    pub incident_until: Option<Timestamp>,
}

impl Alleged {
    fn add(&mut self, claim: &ClaimFacts) {
        if claim.count == 1 {
            self.incidents += 1;
        } else {
            self.aggregates.push(AggregateClaim {
                claim: claim.id.clone(),
                count: claim.count,
                incident_at: claim.incident_at,
                incident_until: claim.incident_until,
            });
        }
    }
}

/// A party's own reading of the terms, shown beside the official one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ContestedReading {
    /// The party.
    pub by: PartyId,
    /// When it stated its reading.
    pub occurred_at: Timestamp,
    /// Its statement.
    pub statement: String,
    /// The start it asserts.
    pub asserted_effective_from: Option<Timestamp>,
    /// The scope it asserts.
    pub asserted_scope: Option<Vec<Scope>>,
}

/// One object of `armistice status`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StatusRow {
    /// The agreement's id.
    pub agreement: AgreementId,
    /// Its title.
    pub title: String,
    /// Bilateral or unilateral.
    pub kind: AgreementKind,
    /// Its status at the evaluation time.
    pub status: AgreementStatus,
    /// The parties bound.
    pub parties: Vec<PartyId>,
    /// The parties that had signed by then, in `parties` order.
    pub signed_by: Vec<PartyId>,
    /// When it takes effect.
    pub effective_from: Timestamp,
    /// When it lapses, as amended by then.
    pub expires_at: Option<Timestamp>,
    /// What it covers, as amended by then.
    pub scope: Vec<Scope>,
    /// The rules version.
    pub rules: &'static str,
    /// Claim counts by state.
    pub claims: ClaimCounts,
    /// Per party, how many claims it filed.
    pub claims_by: BTreeMap<PartyId, u64>,
    /// Per party, what it alleges, by kind of claim: single incidents are
    /// counted; aggregate claims ("2,935 violations in 30 hours") are listed
    /// one by one, never summed, since they may overlap.
    pub alleged_by: BTreeMap<PartyId, Alleged>,
    /// Its mediators.
    pub mediators: Vec<PartyId>,
    /// Who proposed it, and when.
    pub proposed_by: PartyId,
    /// When it was proposed.
    pub proposed_at: Timestamp,
    /// Where it applies.
    pub area: Option<String>,
    /// The conditions attached to each conditional signature.
    pub conditions: BTreeMap<PartyId, String>,
    /// Each party's own reading, in the order they were stated.
    pub contested: Vec<ContestedReading>,
    /// How many amendments had occurred by then.
    pub amendments: u64,
    /// The reason of the termination, once terminated.
    pub termination_reason: Option<String>,
    /// The time the status is evaluated at.
    pub at: Timestamp,
}

impl Projection {
    /// The status of every visible agreement (or only `agreement`), in
    /// proposal order. An unknown (or not yet visible) agreement is an error.
    pub fn status(
        &self,
        agreement: Option<&AgreementId>,
    ) -> Result<Vec<StatusRow>, ProjectionError> {
        let chosen: Vec<usize> = match agreement {
            Some(id) => match self.agreement_index.get(id) {
                Some(&i) if self.agreements[i].visible => vec![i],
                _ => return Err(self.unknown_agreement(id)),
            },
            None => (0..self.agreements.len())
                .filter(|&i| self.agreements[i].visible)
                .collect(),
        };
        let mut tallies: Vec<Tally> = vec![Tally::default(); self.agreements.len()];
        for claim in self.visible_claims() {
            tallies[claim.agreement].add(claim);
        }
        Ok(chosen
            .into_iter()
            .map(|i| self.status_row(i, &tallies[i]))
            .collect())
    }

    pub(crate) fn unknown_agreement(&self, id: &AgreementId) -> ProjectionError {
        let known = self.agreement_ids().iter().map(|a| a.to_string()).collect();
        ProjectionError::UnknownAgreement {
            agreement: id.clone(),
            known,
        }
    }

    fn status_row(&self, index: usize, tally: &Tally) -> StatusRow {
        let facts = &self.agreements[index];
        let at = self.at;
        let proposal = &facts.proposal;
        // `status_at` is `Some` here: a visible proposal occurred at or
        // before `view.at`; only a caller-moved evaluation time can precede it.
        let status = facts.status_at(at).unwrap_or(AgreementStatus::Proposed);
        let signed_by = proposal.parties.iter().enumerate();
        let signed_by = signed_by
            .filter(|(i, _)| facts.signed_by(*i, at))
            .map(|(_, p)| p.clone());
        let mut claims_by: BTreeMap<PartyId, u64> =
            proposal.parties.iter().map(|p| (p.clone(), 0)).collect();
        let mut alleged_by: BTreeMap<PartyId, Alleged> = proposal
            .parties
            .iter()
            .map(|p| (p.clone(), Alleged::default()))
            .collect();
        for (party, (claims, alleged)) in &tally.by_party {
            claims_by.insert(party.clone(), *claims);
            alleged_by.insert(party.clone(), alleged.clone());
        }
        StatusRow {
            agreement: proposal.agreement.clone(),
            title: proposal.title.clone(),
            kind: proposal.kind,
            status,
            parties: proposal.parties.clone(),
            signed_by: signed_by.collect(),
            effective_from: proposal.effective_from,
            expires_at: facts.expires_at(at),
            scope: facts.scope_at(at).to_vec(),
            rules: crate::RULES_VERSION,
            claims: tally.counts.clone(),
            claims_by,
            alleged_by,
            mediators: proposal.mediators.clone(),
            proposed_by: facts.proposed_by.clone(),
            proposed_at: facts.proposed.0,
            area: proposal.area.clone(),
            conditions: conditions_at(facts, at),
            contested: contested_at(facts, at),
            amendments: facts.amendments.iter().filter(|k| k.0 <= at).count() as u64,
            termination_reason: facts
                .terminated
                .as_ref()
                .filter(|(key, _)| key.0 <= at)
                .map(|(_, reason)| reason.clone()),
            at,
        }
    }
}

fn conditions_at(facts: &AgreementFacts, at: Timestamp) -> BTreeMap<PartyId, String> {
    let mut out = BTreeMap::new();
    for signature in facts.signatures.iter().filter(|s| s.key.0 <= at) {
        if let Some(conditions) = &signature.conditions {
            let party = facts.proposal.parties[signature.party].clone();
            out.entry(party).or_insert_with(|| conditions.clone());
        }
    }
    out
}

fn contested_at(facts: &AgreementFacts, at: Timestamp) -> Vec<ContestedReading> {
    let readings = facts.contested.iter().filter(|c| c.key.0 <= at);
    readings
        .map(|c| ContestedReading {
            by: c.by.clone(),
            occurred_at: c.key.0,
            statement: c.statement.clone(),
            asserted_effective_from: c.asserted_effective_from,
            asserted_scope: c.asserted_scope.clone(),
        })
        .collect()
}

/// Claims of one agreement, counted by state and by claimant.
#[derive(Clone, Debug, Default)]
struct Tally {
    counts: ClaimCounts,
    /// Per claimant: claims filed, and what they allege by kind.
    by_party: BTreeMap<PartyId, (u64, Alleged)>,
}

impl Tally {
    fn add(&mut self, claim: &ClaimFacts) {
        self.counts.add(claim.progress.state());
        // Look up before inserting so that an existing claimant costs no clone.
        let (claims, alleged) = match self.by_party.get_mut(&claim.by) {
            Some(slot) => slot,
            None => self.by_party.entry(claim.by.clone()).or_default(),
        };
        *claims += 1;
        alleged.add(claim);
    }
}
