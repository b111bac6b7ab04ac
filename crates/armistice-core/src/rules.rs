//! The rules enforced at append: what the ledger already holds decides
//! whether a new statement may join it.
//!
//! [`RuleState`] is a fold over the log, kept per stream so that a store can
//! load only the streams a statement touches ([`referenced_streams`]).
//! Deciding ([`RuleState::check`]) never changes state; applying
//! ([`RuleState::apply`]) an accepted statement cannot fail.

use crate::event::*;
use crate::ids::{AgreementId, ClaimId, PartyId, StreamId};
use crate::rejection::Rejection;
use crate::sign;
use crate::time::Timestamp;
use std::collections::{HashMap, HashSet};

/// Most violations one aggregate claim may count: sums over every claim of
/// a ledger then stay far from overflowing.
pub const COUNT_MAX: u64 = 1_000_000_000;

/// What the rules need to know of a registered party.
#[derive(Clone, Debug, PartialEq)]
pub struct PartyState {
    /// Its role.
    pub role: Role,
    /// Its current signing key.
    pub public_key: Option<[u8; 32]>,
}

/// What the rules need to know of an agreement.
#[derive(Clone, Debug, PartialEq)]
pub struct AgreementState {
    /// Bilateral or unilateral.
    pub kind: AgreementKind,
    /// The parties bound.
    pub parties: Vec<PartyId>,
    /// Its mediators.
    pub mediators: Vec<PartyId>,
    /// Who has signed (a unilateral agreement's proposer from the start).
    pub signed: Vec<PartyId>,
    /// Whether it is suspended now (in log order).
    pub suspended: bool,
    /// Whether it was terminated.
    pub terminated: bool,
    /// When it takes effect (an amended expiry must come after it).
    pub effective_from: Timestamp,
}

/// What the rules need to know of a claim.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimState {
    /// Who filed it.
    pub claimant: PartyId,
    /// Who is accused.
    pub accused: PartyId,
    /// Whether the claimant retracted it.
    pub retracted: bool,
}

/// The times a statement is judged against.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// The ledger's clock at append: nothing may be later.
    pub now: Timestamp,
    /// The entry's `recorded_at`: `occurred_at` may not be later.
    pub recorded_at: Timestamp,
}

/// The signature that comes with a statement.
#[derive(Clone, Copy, Debug)]
pub enum Signature<'a> {
    /// The signature given, if any, over `payload`, the payload bytes of
    /// `schema` that it covers (when the author has a key, it is verified).
    Given {
        /// The signature.
        signature: Option<&'a [u8; 64]>,
        /// The payload's schema.
        schema: u8,
        /// The payload bytes.
        payload: &'a [u8],
    },
    /// A schema 1 redacted entry's reading copy: its signature was verified
    /// when the entry was first appended and cannot be checked again.
    Unverifiable,
}

/// The fold of the log that the rules consult, per stream.
#[derive(Clone, Debug, Default)]
pub struct RuleState {
    parties: HashMap<PartyId, PartyState>,
    agreements: HashMap<AgreementId, AgreementState>,
    claims: HashMap<ClaimId, ClaimState>,
    versions: HashMap<StreamId, u64>,
    loaded: HashSet<StreamId>,
}

/// The streams whose state [`RuleState::check`] reads for `statement`: a
/// store must [`RuleState::apply`] each one's entries (or mark it loaded
/// when empty) before checking.
pub fn referenced_streams(statement: &Statement) -> Vec<StreamId> {
    let mut streams = vec![statement.stream()];
    if !statement.by.is_operator() {
        streams.push(StreamId::Party(statement.by.clone()));
    }
    match &statement.event {
        Event::AgreementProposed(e) => {
            for party in e.parties.iter().chain(&e.mediators) {
                streams.push(StreamId::Party(party.clone()));
            }
        }
        Event::ViolationAlleged(e) => {
            streams.push(StreamId::Agreement(e.agreement.clone()));
            streams.push(StreamId::Party(e.against.clone()));
        }
        Event::AllegationResponded(e) => {
            if let Some(counter) = &e.counter_claim {
                streams.push(StreamId::Claim(counter.clone()));
            }
        }
        _ => {}
    }
    streams.sort();
    streams.dedup();
    streams
}

impl RuleState {
    /// How many streams are loaded.
    pub fn loaded_streams(&self) -> usize {
        self.loaded.len()
    }

    /// Whether `stream` is loaded (its state is known, present or absent).
    pub fn is_loaded(&self, stream: &StreamId) -> bool {
        self.loaded.contains(stream)
    }

    /// Marks `stream` as loaded: every entry of it has been applied.
    pub fn mark_loaded(&mut self, stream: StreamId) {
        self.loaded.insert(stream);
    }

    /// Drops what is known of `stream`, so that it is loaded again from the
    /// log (after a batch that touched it was rejected).
    pub fn forget(&mut self, stream: &StreamId) {
        self.loaded.remove(stream);
        self.versions.remove(stream);
        match stream {
            StreamId::Party(id) => {
                self.parties.remove(id);
            }
            StreamId::Agreement(id) => {
                self.agreements.remove(id);
            }
            StreamId::Claim(id) => {
                self.claims.remove(id);
            }
            StreamId::Ledger => {}
        }
    }

    /// The number of entries in `stream` (0 when it is new).
    pub fn version(&self, stream: &StreamId) -> u64 {
        self.versions.get(stream).copied().unwrap_or(0)
    }

    /// A registered party.
    pub fn party(&self, id: &PartyId) -> Option<&PartyState> {
        self.parties.get(id)
    }

    /// A known agreement.
    pub fn agreement(&self, id: &AgreementId) -> Option<&AgreementState> {
        self.agreements.get(id)
    }

    /// A known claim.
    pub fn claim(&self, id: &ClaimId) -> Option<&ClaimState> {
        self.claims.get(id)
    }

    /// Decides whether `statement`, with `signature`, may be appended now.
    pub fn check(
        &self,
        statement: &Statement,
        signature: Signature<'_>,
        clock: Clock,
    ) -> Result<(), Rejection> {
        for stream in referenced_streams(statement) {
            assert!(
                self.is_loaded(&stream),
                "rule check before stream {stream} was loaded"
            );
        }
        check_times(statement, clock)?;
        optional_non_empty("source", &statement.source)?;
        self.check_author(statement, signature)?;
        // A copy of a format 1 entry is judged as format 1 judged it.
        let legacy = matches!(
            signature,
            Signature::Unverifiable
                | Signature::Given {
                    schema: crate::entry::SCHEMA_V1,
                    ..
                }
        );
        self.check_event(statement, legacy)
    }

    /// Checks who may make `statement` and its signature alone (before
    /// idempotency: a re-sent statement is answered "already recorded" only
    /// when it would itself be accepted).
    pub fn check_signature(
        &self,
        statement: &Statement,
        signature: Signature<'_>,
    ) -> Result<(), Rejection> {
        self.check_author(statement, signature)
    }

    fn check_author(
        &self,
        statement: &Statement,
        signature: Signature<'_>,
    ) -> Result<(), Rejection> {
        let by = &statement.by;
        let operator_event = is_operator_event(&statement.event);
        if by.is_operator() {
            if !operator_event {
                return Err(Rejection::field("by", format!(
                    "the operator may only register parties, replace their keys, rotate its own key and redact entries, not make a `{}` statement",
                    statement.event.event_type()
                )));
            }
            // The ledger signs operator statements itself; clients never do.
            return Ok(());
        }
        if operator_event {
            return Err(Rejection::field(
                "by",
                format!(
                    "only `operator` may make a `{}` statement, not `{by}`",
                    statement.event.event_type()
                ),
            ));
        }
        let party = self.parties.get(by).ok_or_else(|| {
            Rejection::field("by", format!("unknown party `{by}`: register it first"))
        })?;
        let (signature, schema, payload) = match signature {
            Signature::Given {
                signature,
                schema,
                payload,
            } => (signature, schema, payload),
            Signature::Unverifiable => return Ok(()),
        };
        match (party.public_key, signature) {
            (Some(key), Some(signature)) => sign::verify_payload(schema, payload, &key, signature)
                .map_err(|e| Rejection::field("signature", format!("{e} (party `{by}`)"))),
            (Some(_), None) => Err(Rejection::field(
                "signature",
                format!("party `{by}` has a registered key, so its statements must be signed"),
            )),
            (None, Some(_)) => Err(Rejection::field(
                "signature",
                format!("party `{by}` has no registered key to check this signature against"),
            )),
            (None, None) => Ok(()),
        }
    }

    fn check_event(&self, statement: &Statement, legacy: bool) -> Result<(), Rejection> {
        let by = &statement.by;
        match &statement.event {
            Event::PartyRegistered(e) => self.check_party_registered(e),
            Event::PartyKeyRotated(e) => match self.parties.get(by) {
                Some(PartyState {
                    public_key: Some(_),
                    ..
                }) => check_key("public_key", &e.public_key),
                _ => Err(Rejection::field(
                    "by",
                    format!(
                    "party `{by}` has no key to rotate; the operator registers a party's first key"
                ),
                )),
            },
            Event::AgreementProposed(e) => self.check_proposal(by, e),
            Event::AgreementSigned(e) => {
                let agreement = self.live_agreement(&e.agreement, "signed")?;
                if !agreement.parties.contains(by) {
                    return Err(not_bound(by, &e.agreement, "sign"));
                }
                if agreement.signed.contains(by) {
                    return Err(Rejection::field(
                        "by",
                        format!("`{by}` has already signed `{}`", e.agreement),
                    ));
                }
                optional_non_empty("conditions", &e.conditions)
            }
            Event::AgreementTermsContested(e) => {
                let agreement = self.known_agreement(&e.agreement)?;
                if !agreement.parties.contains(by) {
                    return Err(not_bound(by, &e.agreement, "contest its terms"));
                }
                non_empty("statement", &e.statement)?;
                if let Some(scope) = &e.asserted_scope {
                    check_scope("asserted_scope", scope)?;
                }
                Ok(())
            }
            Event::AgreementSuspended(e) => {
                let agreement = self.live_agreement(&e.agreement, "suspended")?;
                party_or_mediator(by, &e.agreement, agreement, "suspend")?;
                non_empty("reason", &e.reason)?;
                if agreement.suspended {
                    return Err(Rejection::field(
                        "agreement",
                        format!("`{}` is already suspended", e.agreement),
                    ));
                }
                Ok(())
            }
            Event::AgreementResumed(e) => {
                let agreement = self.live_agreement(&e.agreement, "resumed")?;
                party_or_mediator(by, &e.agreement, agreement, "resume")?;
                if !agreement.suspended {
                    return Err(Rejection::field(
                        "agreement",
                        format!(
                            "`{}` is not suspended; only a suspended agreement resumes",
                            e.agreement
                        ),
                    ));
                }
                Ok(())
            }
            Event::AgreementAmended(e) => {
                let agreement = self.live_agreement(&e.agreement, "amended")?;
                party_or_mediator(by, &e.agreement, agreement, "amend")?;
                if e.expires_at.is_none() && e.scope.is_none() && e.terms.is_none() {
                    return Err(Rejection::event(
                        "an amendment needs at least one of `expires_at`, `scope`, `terms`",
                    ));
                }
                optional_non_empty("terms", &e.terms)?;
                if let Some(expires_at) = e.expires_at {
                    if expires_at <= agreement.effective_from {
                        return Err(Rejection::field(
                            "expires_at",
                            format!(
                                "{expires_at} is not after the agreement's effective_from {}",
                                agreement.effective_from
                            ),
                        ));
                    }
                }
                if let Some(scope) = &e.scope {
                    check_scope("scope", scope)?;
                }
                Ok(())
            }
            Event::AgreementTerminated(e) => {
                let agreement = self.live_agreement(&e.agreement, "terminated")?;
                party_or_mediator(by, &e.agreement, agreement, "terminate")?;
                non_empty("reason", &e.reason)
            }
            Event::ViolationAlleged(e) => self.check_allegation(by, e, statement),
            Event::EvidenceAdded(e) => {
                let claim = self.open_claim(&e.claim, "add evidence to")?;
                claimant_only(by, &e.claim, claim, "add evidence to")?;
                if e.evidence.is_empty() {
                    return Err(Rejection::field("evidence", "list is empty"));
                }
                check_evidence(&e.evidence)
            }
            Event::AllegationResponded(e) => self.check_response(by, e),
            Event::AllegationAssessed(e) => {
                self.known_claim(&e.claim)?;
                match self.parties.get(by) {
                    Some(PartyState {
                        role: Role::Monitor,
                        ..
                    }) => non_empty("reasoning", &e.reasoning),
                    _ => Err(Rejection::field(
                        "by",
                        format!("only a monitor assesses claims; `{by}` is not a monitor"),
                    )),
                }
            }
            Event::AllegationRetracted(e) => {
                let claim = self.open_claim(&e.claim, "retract")?;
                claimant_only(by, &e.claim, claim, "retract")?;
                non_empty("reason", &e.reason)
            }
            // Whether the target entry exists and has these fields is the
            // store's to judge; the rules see who redacts and what is named.
            // Format 1 stored an empty list to mean every field.
            Event::EntryRedacted(e) if legacy && e.fields.is_empty() => {
                non_empty("reason", &e.reason)
            }
            Event::EntryRedacted(e) => {
                non_empty("reason", &e.reason)?;
                crate::redact::parse_fields(&e.fields).map(|_| ())
            }
            Event::PartyKeyReplaced(e) => {
                if !self.parties.contains_key(&e.party) {
                    return Err(Rejection::field(
                        "party",
                        format!("unknown party `{}`", e.party),
                    ));
                }
                check_key("public_key", &e.public_key)?;
                non_empty("reason", &e.reason)
            }
            Event::OperatorKeyRotated(e) => check_key("public_key", &e.public_key),
        }
    }

    fn check_party_registered(&self, e: &PartyRegistered) -> Result<(), Rejection> {
        if e.party.is_operator() {
            return Err(Rejection::field(
                "party",
                "`operator` is the ledger's keeper, not a party",
            ));
        }
        if self.parties.contains_key(&e.party) {
            return Err(Rejection::field(
                "party",
                format!("party `{}` is already registered", e.party),
            ));
        }
        if let Some(key) = &e.public_key {
            check_key("public_key", key)?;
        }
        non_empty("name", &e.name)
    }

    fn check_proposal(&self, by: &PartyId, e: &AgreementProposed) -> Result<(), Rejection> {
        if self.agreements.contains_key(&e.agreement) {
            return Err(Rejection::field(
                "agreement",
                format!("agreement `{}` already exists", e.agreement),
            ));
        }
        non_empty("title", &e.title)?;
        optional_non_empty("area", &e.area)?;
        optional_non_empty("terms", &e.terms)?;
        if e.parties.is_empty() {
            return Err(Rejection::field(
                "parties",
                "an agreement binds at least one party",
            ));
        }
        self.check_roles("parties", &e.parties, Role::Belligerent)?;
        self.check_roles("mediators", &e.mediators, Role::Mediator)?;
        check_scope("scope", &e.scope)?;
        if let Some(expires_at) = e.expires_at {
            if expires_at <= e.effective_from {
                return Err(Rejection::field(
                    "expires_at",
                    format!(
                        "{expires_at} is not after effective_from {}",
                        e.effective_from
                    ),
                ));
            }
        }
        match e.kind {
            AgreementKind::Unilateral if e.parties.len() != 1 => Err(Rejection::field(
                "parties",
                format!("a unilateral agreement binds exactly one party, not {}", e.parties.len()),
            )),
            AgreementKind::Unilateral if e.parties[0] != *by => Err(Rejection::field("by", format!(
                "only `{}` may propose its unilateral declaration, not `{by}`", e.parties[0]
            ))),
            AgreementKind::Bilateral if e.parties.len() < 2 => Err(Rejection::field(
                "parties",
                "a bilateral agreement binds at least two parties",
            )),
            _ if !e.parties.contains(by) && !e.mediators.contains(by) => Err(Rejection::field("by", format!(
                "only a party named in `parties` or a mediator named in `mediators` proposes; `{by}` is neither"
            ))),
            _ => Ok(()),
        }
    }

    fn check_roles(&self, field: &str, ids: &[PartyId], role: Role) -> Result<(), Rejection> {
        let mut seen = HashSet::new();
        for id in ids {
            if !seen.insert(id) {
                return Err(Rejection::field(field, format!("`{id}` is listed twice")));
            }
            match self.parties.get(id) {
                None => return Err(Rejection::field(field, format!("unknown party `{id}`"))),
                Some(p) if p.role != role => {
                    return Err(Rejection::field(
                        field,
                        format!("`{id}` is registered as {:?}, not {:?}", p.role, role)
                            .to_lowercase(),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn check_allegation(
        &self,
        by: &PartyId,
        e: &ViolationAlleged,
        statement: &Statement,
    ) -> Result<(), Rejection> {
        if self.claims.contains_key(&e.claim) {
            return Err(Rejection::field(
                "claim",
                format!("claim `{}` already exists", e.claim),
            ));
        }
        let agreement = self.known_agreement(&e.agreement)?;
        if !self.parties.contains_key(&e.against) {
            return Err(Rejection::field(
                "against",
                format!("unknown party `{}`", e.against),
            ));
        }
        if !agreement.parties.contains(&e.against) {
            return Err(Rejection::field(
                "against",
                format!(
                    "`{}` is not bound by `{}` (its parties: {})",
                    e.against,
                    e.agreement,
                    join(&agreement.parties)
                ),
            ));
        }
        if e.against == *by {
            return Err(Rejection::field(
                "against",
                "a party cannot allege a violation against itself",
            ));
        }
        if e.count == 0 {
            return Err(Rejection::field("count", "must be at least 1"));
        }
        if e.count > COUNT_MAX {
            return Err(Rejection::field(
                "count",
                format!(
                    "{} is more than {COUNT_MAX} violations in one claim",
                    e.count
                ),
            ));
        }
        if let Some(until) = e.incident_until {
            if until < e.incident_at {
                return Err(Rejection::field(
                    "incident_until",
                    format!("{until} is before incident_at {}", e.incident_at),
                ));
            }
        }
        non_empty("location.name", &e.location.name)?;
        if e.location
            .lat
            .is_some_and(|lat| !(-90.0..=90.0).contains(&lat))
        {
            return Err(Rejection::field(
                "location.lat",
                "must lie between -90 and 90",
            ));
        }
        if e.location
            .lon
            .is_some_and(|lon| !(-180.0..=180.0).contains(&lon))
        {
            return Err(Rejection::field(
                "location.lon",
                "must lie between -180 and 180",
            ));
        }
        non_empty("description", &e.description)?;
        let _ = statement;
        check_evidence(&e.evidence)
    }

    fn check_response(&self, by: &PartyId, e: &AllegationResponded) -> Result<(), Rejection> {
        let claim = self.open_claim(&e.claim, "respond to")?;
        if claim.accused != *by {
            return Err(Rejection::field(
                "by",
                format!(
                    "only the accused (`{}`) responds to claim `{}`, not `{by}`",
                    claim.accused, e.claim
                ),
            ));
        }
        non_empty("statement", &e.statement)?;
        if let Some(counter) = &e.counter_claim {
            let other = self.claims.get(counter).ok_or_else(|| {
                Rejection::field("counter_claim", format!("unknown claim `{counter}`"))
            })?;
            if other.claimant != *by || other.accused != claim.claimant {
                return Err(Rejection::field("counter_claim", format!(
                    "claim `{counter}` is by `{}` against `{}`; a counter-claim must be by `{by}` against `{}`",
                    other.claimant, other.accused, claim.claimant
                )));
            }
        }
        Ok(())
    }

    fn known_agreement(&self, id: &AgreementId) -> Result<&AgreementState, Rejection> {
        self.agreements
            .get(id)
            .ok_or_else(|| Rejection::field("agreement", format!("unknown agreement `{id}`")))
    }

    fn live_agreement(&self, id: &AgreementId, verb: &str) -> Result<&AgreementState, Rejection> {
        let agreement = self.known_agreement(id)?;
        if agreement.terminated {
            return Err(Rejection::field(
                "agreement",
                format!("`{id}` was terminated and can no longer be {verb}"),
            ));
        }
        Ok(agreement)
    }

    fn known_claim(&self, id: &ClaimId) -> Result<&ClaimState, Rejection> {
        self.claims
            .get(id)
            .ok_or_else(|| Rejection::field("claim", format!("unknown claim `{id}`")))
    }

    fn open_claim(&self, id: &ClaimId, verb: &str) -> Result<&ClaimState, Rejection> {
        let claim = self.known_claim(id)?;
        if claim.retracted {
            return Err(Rejection::field("claim", format!(
                "claim `{id}` was retracted; nothing but an assessment may follow, so you cannot {verb} it"
            )));
        }
        Ok(claim)
    }

    /// Applies an accepted (or stored) statement. Never fails: stored
    /// entries were checked when appended.
    pub fn apply(&mut self, statement: &Statement) {
        let stream = statement.stream();
        *self.versions.entry(stream.clone()).or_insert(0) += 1;
        self.loaded.insert(stream);
        let by = &statement.by;
        match &statement.event {
            Event::PartyRegistered(e) => {
                self.parties.insert(
                    e.party.clone(),
                    PartyState {
                        role: e.role,
                        public_key: e.public_key.map(|k| k.0),
                    },
                );
            }
            Event::PartyKeyRotated(e) => {
                if let Some(party) = self.parties.get_mut(by) {
                    party.public_key = Some(e.public_key.0);
                }
            }
            Event::PartyKeyReplaced(e) => {
                if let Some(party) = self.parties.get_mut(&e.party) {
                    party.public_key = Some(e.public_key.0);
                }
            }
            Event::AgreementProposed(e) => {
                let signed = match e.kind {
                    AgreementKind::Unilateral => e.parties.clone(),
                    AgreementKind::Bilateral => Vec::new(),
                };
                self.agreements.insert(
                    e.agreement.clone(),
                    AgreementState {
                        kind: e.kind,
                        parties: e.parties.clone(),
                        mediators: e.mediators.clone(),
                        signed,
                        suspended: false,
                        terminated: false,
                        effective_from: e.effective_from,
                    },
                );
            }
            Event::AgreementSigned(e) => {
                self.with_agreement(&e.agreement, |a| a.signed.push(by.clone()))
            }
            Event::AgreementSuspended(e) => {
                self.with_agreement(&e.agreement, |a| a.suspended = true)
            }
            Event::AgreementResumed(e) => {
                self.with_agreement(&e.agreement, |a| a.suspended = false)
            }
            Event::AgreementTerminated(e) => {
                self.with_agreement(&e.agreement, |a| a.terminated = true)
            }
            Event::AgreementTermsContested(_) | Event::AgreementAmended(_) => {}
            Event::ViolationAlleged(e) => {
                self.claims.insert(
                    e.claim.clone(),
                    ClaimState {
                        claimant: by.clone(),
                        accused: e.against.clone(),
                        retracted: false,
                    },
                );
            }
            Event::AllegationRetracted(e) => {
                if let Some(claim) = self.claims.get_mut(&e.claim) {
                    claim.retracted = true;
                }
            }
            Event::EvidenceAdded(_)
            | Event::AllegationResponded(_)
            | Event::AllegationAssessed(_) => {}
            Event::EntryRedacted(_) | Event::OperatorKeyRotated(_) => {}
        }
    }

    fn with_agreement(&mut self, id: &AgreementId, change: impl FnOnce(&mut AgreementState)) {
        if let Some(agreement) = self.agreements.get_mut(id) {
            change(agreement);
        }
    }
}

fn check_times(statement: &Statement, clock: Clock) -> Result<(), Rejection> {
    let not_future = |field: &str, at: Timestamp| {
        if at > clock.now {
            Err(Rejection::field(
                field,
                format!(
                    "{at} lies in the future (the ledger's clock reads {})",
                    clock.now
                ),
            ))
        } else {
            Ok(())
        }
    };
    not_future("occurred_at", statement.occurred_at)?;
    if statement.occurred_at > clock.recorded_at {
        return Err(Rejection::field(
            "occurred_at",
            format!(
                "{} is later than the entry's recorded_at {}",
                statement.occurred_at, clock.recorded_at
            ),
        ));
    }
    if let Event::ViolationAlleged(e) = &statement.event {
        not_future("incident_at", e.incident_at)?;
        // A claim is made after what it alleges; replay relies on it (a claim
        // visible at T concerns an incident at or before T).
        let latest = e.incident_until.unwrap_or(e.incident_at);
        if latest > statement.occurred_at {
            let field = if e.incident_until.is_some() {
                "incident_until"
            } else {
                "incident_at"
            };
            return Err(Rejection::field(field, format!(
                "{latest} is after the claim's occurred_at {}: a claim cannot be made before the incident it alleges",
                statement.occurred_at
            )));
        }
        if let Some(until) = e.incident_until {
            not_future("incident_until", until)?;
        }
    }
    Ok(())
}

/// Whether only the operator makes statements of this type.
pub fn is_operator_event(event: &Event) -> bool {
    matches!(
        event,
        Event::PartyRegistered(_)
            | Event::EntryRedacted(_)
            | Event::PartyKeyReplaced(_)
            | Event::OperatorKeyRotated(_)
    )
}

/// The same key checks wherever a key enters the ledger.
fn check_key(field: &str, key: &PublicKeyHex) -> Result<(), Rejection> {
    sign::check_public_key(&key.0).map_err(|m| Rejection::field(field, m))
}

fn optional_non_empty(field: &str, text: &Option<String>) -> Result<(), Rejection> {
    match text {
        Some(text) if text.trim().is_empty() => Err(Rejection::field(
            field,
            "is empty; leave the field out when there is nothing to say",
        )),
        _ => Ok(()),
    }
}

fn non_empty(field: &str, text: &str) -> Result<(), Rejection> {
    if text.trim().is_empty() {
        return Err(Rejection::field(field, "must not be empty"));
    }
    Ok(())
}

fn check_scope(field: &str, scope: &[Scope]) -> Result<(), Rejection> {
    if scope.is_empty() {
        return Err(Rejection::field(field, "list is empty"));
    }
    let mut seen = HashSet::new();
    if let Some(twice) = scope.iter().find(|s| !seen.insert(**s)) {
        return Err(Rejection::field(
            field,
            format!("{twice:?} is listed twice"),
        ));
    }
    Ok(())
}

fn check_evidence(evidence: &[Evidence]) -> Result<(), Rejection> {
    for (i, item) in evidence.iter().enumerate() {
        non_empty(&format!("evidence[{i}].media_type"), &item.media_type)?;
        non_empty(&format!("evidence[{i}].uri"), &item.uri)?;
        let ok = item.sha256.len() == 64
            && item
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !ok {
            return Err(Rejection::field(
                format!("evidence[{i}].sha256"),
                format!("`{}` is not 64 lowercase hex characters", item.sha256),
            ));
        }
    }
    Ok(())
}

fn not_bound(by: &PartyId, agreement: &AgreementId, verb: &str) -> Rejection {
    Rejection::field(
        "by",
        format!("`{by}` is not a party bound by `{agreement}`, so it cannot {verb}"),
    )
}

fn party_or_mediator(
    by: &PartyId,
    id: &AgreementId,
    agreement: &AgreementState,
    verb: &str,
) -> Result<(), Rejection> {
    if agreement.parties.contains(by) || agreement.mediators.contains(by) {
        return Ok(());
    }
    Err(Rejection::field(
        "by",
        format!("only a party or mediator of `{id}` may {verb} it; `{by}` is neither"),
    ))
}

fn claimant_only(
    by: &PartyId,
    id: &ClaimId,
    claim: &ClaimState,
    verb: &str,
) -> Result<(), Rejection> {
    if claim.claimant == *by {
        return Ok(());
    }
    Err(Rejection::field(
        "by",
        format!(
            "only the claimant (`{}`) may {verb} claim `{id}`, not `{by}`",
            claim.claimant
        ),
    ))
}

fn join(ids: &[PartyId]) -> String {
    ids.iter()
        .map(PartyId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "tests/rules.rs"]
mod tests;
