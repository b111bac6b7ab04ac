//! The one-pass fold: records in `seq` order become per-agreement and
//! per-claim facts, from which every projection is read.
//!
//! Memory grows with the number of parties, agreements and claims, never
//! with the number of events: an answer or an assessment only updates
//! counters and the "latest" slot of its claim. Agreements keep their own
//! dated events (signatures, suspensions, amendments, terminations), which
//! are few, so that their status can be evaluated at any time.

use crate::claims::ClaimProgress;
use armistice_core::event::{
    AgreementProposed, Casualties, Category, Event, Precision, Role, Scope, ViolationAlleged,
};
use armistice_core::{AgreementId, ClaimId, PartyId, Record, Timestamp};
// FxHash: the ids are short strings the ledger validated, not attacker-chosen
// keys of a long-lived server map, and SipHash was a visible share of replay.
use rustc_hash::FxHashMap as HashMap;
use std::collections::BTreeMap;
use std::ops::ControlFlow;

/// The order in which "latest" is decided: `occurred_at`, ties broken by `seq`.
pub(crate) type Key = (Timestamp, u64);

/// Which records a query sees: bitemporal replay.
///
/// A record is visible when `occurred_at <= at` (world time) and
/// `recorded_at <= known_at` (ledger time); time-dependent status is
/// evaluated at `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// World time: events that occurred later are not considered.
    pub at: Timestamp,
    /// Ledger time: entries recorded later are not considered.
    pub known_at: Timestamp,
}

impl View {
    /// Everything the ledger holds, evaluated at the end of time.
    pub const EVERYTHING: View = View {
        at: Timestamp::MAX,
        known_at: Timestamp::MAX,
    };

    /// The world at `at`, as everything recorded tells it.
    pub fn at(at: Timestamp) -> View {
        View {
            at,
            known_at: Timestamp::MAX,
        }
    }

    /// The world at `at`, as the ledger knew it at `known_at`.
    pub fn new(at: Timestamp, known_at: Timestamp) -> View {
        View { at, known_at }
    }

    /// Whether the ledger knew of this entry at `known_at`.
    pub fn knows(&self, recorded_at: Timestamp) -> bool {
        recorded_at <= self.known_at
    }

    /// Whether an entry passes both filters.
    pub fn admits(&self, occurred_at: Timestamp, recorded_at: Timestamp) -> bool {
        occurred_at <= self.at && self.knows(recorded_at)
    }
}

/// A registered party, for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Party {
    /// Its full name.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// A signature (or a unilateral proposal, which is one).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Signature {
    /// Index of the signer in the agreement's `parties`.
    pub party: usize,
    pub key: Key,
    pub conditions: Option<String>,
}

/// A party's own reading of the terms, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Contested {
    pub by: PartyId,
    pub key: Key,
    pub statement: String,
    pub asserted_effective_from: Option<Timestamp>,
    pub asserted_scope: Option<Vec<Scope>>,
}

/// What the fold keeps of an agreement: its proposal and its own dated
/// events, sorted by [`Key`] when the fold finishes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct AgreementFacts {
    pub proposal: AgreementProposed,
    pub proposed_by: PartyId,
    pub proposed: Key,
    /// Whether the proposal passes the view's filters.
    pub visible: bool,
    pub signatures: Vec<Signature>,
    /// Suspensions (`true`) and resumptions (`false`).
    pub toggles: Vec<(Key, bool)>,
    pub expiry_amendments: Vec<(Key, Timestamp)>,
    pub scope_amendments: Vec<(Key, Vec<Scope>)>,
    pub amendments: Vec<Key>,
    /// The earliest termination and its reason.
    pub terminated: Option<(Key, String)>,
    /// Readings visible under the view (they do not affect status).
    pub contested: Vec<Contested>,
    /// Per party (same order as `parties`), its earliest signature; filled by `seal`.
    pub first_signed: Vec<Option<Key>>,
}

impl AgreementFacts {
    fn new(proposal: &AgreementProposed, by: &PartyId, key: Key, visible: bool) -> Self {
        let mut facts = AgreementFacts {
            proposal: proposal.clone(),
            proposed_by: by.clone(),
            proposed: key,
            visible,
            signatures: Vec::new(),
            toggles: Vec::new(),
            expiry_amendments: Vec::new(),
            scope_amendments: Vec::new(),
            amendments: Vec::new(),
            terminated: None,
            contested: Vec::new(),
            first_signed: Vec::new(),
        };
        if proposal.kind == armistice_core::event::AgreementKind::Unilateral {
            // A unilateral declaration is its party's signature.
            if let Some(party) = proposal.parties.iter().position(|p| p == by) {
                facts.signatures.push(Signature {
                    party,
                    key,
                    conditions: None,
                });
            }
        }
        facts
    }

    /// Sorts the dated events into "latest" order and derives each party's
    /// first signature; called once, when the fold finishes.
    fn seal(&mut self) {
        self.signatures.sort_by_key(|s| s.key);
        self.toggles.sort_by_key(|t| t.0);
        self.expiry_amendments.sort_by_key(|a| a.0);
        self.scope_amendments.sort_by_key(|a| a.0);
        self.amendments.sort();
        self.first_signed = vec![None; self.proposal.parties.len()];
        for signature in &self.signatures {
            let slot = &mut self.first_signed[signature.party];
            if slot.is_none() {
                *slot = Some(signature.key);
            }
        }
    }
}

/// What the fold keeps of a claim: its allegation's fields and counters.
/// Of the allegation's free text only the place's name and the description
/// are kept (the register shows them); evidence is counted, not kept.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ClaimFacts {
    pub id: ClaimId,
    /// Index into the projection's agreements.
    pub agreement: usize,
    pub by: PartyId,
    pub against: PartyId,
    pub category: Category,
    pub incident_at: Timestamp,
    pub incident_precision: Option<Precision>,
    pub incident_until: Option<Timestamp>,
    pub count: u64,
    pub location: String,
    /// The place's coordinates (WGS 84 degrees; the input rules give both or neither).
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub casualties: Option<Casualties>,
    /// The claimant's words (`[redacted]` once redacted).
    pub description: String,
    pub occurred_at: Timestamp,
    pub recorded_at: Timestamp,
    pub seq: u64,
    pub backfilled: bool,
    /// Whether the allegation passes the view's filters.
    pub visible: bool,
    pub evidence: u32,
    pub progress: ClaimProgress,
    pub counter_claims: Vec<ClaimId>,
}

/// The streaming fold: feed records in `seq` order with [`Replay::apply`],
/// then read the result from [`Replay::finish`].
///
/// Because `recorded_at` never decreases along `seq`, a caller may stop at
/// the first record for which [`Replay::apply`] returns `Break`.
#[derive(Clone, Debug)]
pub struct Replay {
    view: View,
    last_seq: u64,
    parties: BTreeMap<PartyId, Party>,
    agreements: Vec<AgreementFacts>,
    agreement_index: HashMap<AgreementId, usize>,
    claims: Vec<ClaimFacts>,
    claim_index: HashMap<ClaimId, usize>,
}

impl Replay {
    /// An empty fold for `view`.
    pub fn new(view: View) -> Self {
        Replay {
            view,
            last_seq: 0,
            parties: BTreeMap::new(),
            agreements: Vec::new(),
            agreement_index: HashMap::default(),
            claims: Vec::new(),
            claim_index: HashMap::default(),
        }
    }

    /// Folds one record. Returns `Break` when the record was recorded after
    /// `known_at`: it is ignored, and so would every later one be.
    ///
    /// # Panics
    /// When records do not arrive in increasing `seq` order: that is a
    /// broken invariant of the store, not a rejected input.
    pub fn apply(&mut self, record: &Record) -> ControlFlow<()> {
        let header = &record.header;
        assert!(
            header.seq > self.last_seq,
            "replay out of order: seq {} after {}",
            header.seq,
            self.last_seq
        );
        self.last_seq = header.seq;
        if !self.view.knows(header.recorded_at) {
            return ControlFlow::Break(());
        }
        let visible = self.view.admits(header.occurred_at, header.recorded_at);
        let key = (header.occurred_at, header.seq);
        let by = &record.statement.by;
        match &record.statement.event {
            Event::PartyRegistered(e) => {
                let party = Party {
                    name: e.name.clone(),
                    role: e.role,
                };
                self.parties.entry(e.party.clone()).or_insert(party);
            }
            Event::AgreementProposed(e) => self.propose(e, by, key, visible),
            Event::ViolationAlleged(e) => self.allege(e, record, visible),
            event if event.claim().is_some() => {
                if visible {
                    self.claim_event(event, by, key);
                }
            }
            event => self.agreement_event(event, by, key, visible),
        }
        ControlFlow::Continue(())
    }

    fn propose(&mut self, e: &AgreementProposed, by: &PartyId, key: Key, visible: bool) {
        if self.agreement_index.contains_key(&e.agreement) {
            return;
        }
        self.agreement_index
            .insert(e.agreement.clone(), self.agreements.len());
        self.agreements
            .push(AgreementFacts::new(e, by, key, visible));
    }

    fn agreement_event(&mut self, event: &Event, by: &PartyId, key: Key, visible: bool) {
        let Some(id) = event.agreement() else { return };
        let Some(&index) = self.agreement_index.get(id) else {
            return;
        };
        let facts = &mut self.agreements[index];
        match event {
            Event::AgreementSigned(e) => {
                if let Some(party) = facts.proposal.parties.iter().position(|p| p == by) {
                    let conditions = e.conditions.clone();
                    facts.signatures.push(Signature {
                        party,
                        key,
                        conditions,
                    });
                }
            }
            Event::AgreementSuspended(_) => facts.toggles.push((key, true)),
            Event::AgreementResumed(_) => facts.toggles.push((key, false)),
            Event::AgreementAmended(e) => {
                facts.amendments.push(key);
                if let Some(expires_at) = e.expires_at {
                    facts.expiry_amendments.push((key, expires_at));
                }
                if let Some(scope) = &e.scope {
                    facts.scope_amendments.push((key, scope.clone()));
                }
            }
            Event::AgreementTerminated(e) => {
                let earlier = match &facts.terminated {
                    Some((first, _)) => key < *first,
                    None => true,
                };
                if earlier {
                    facts.terminated = Some((key, e.reason.clone()));
                }
            }
            Event::AgreementTermsContested(e) if visible => facts.contested.push(Contested {
                by: by.clone(),
                key,
                statement: e.statement.clone(),
                asserted_effective_from: e.asserted_effective_from,
                asserted_scope: e.asserted_scope.clone(),
            }),
            _ => {}
        }
    }

    fn allege(&mut self, e: &ViolationAlleged, record: &Record, visible: bool) {
        if self.claim_index.contains_key(&e.claim) {
            return;
        }
        let Some(&agreement) = self.agreement_index.get(&e.agreement) else {
            return;
        };
        let header = &record.header;
        self.claim_index.insert(e.claim.clone(), self.claims.len());
        self.claims.push(ClaimFacts {
            id: e.claim.clone(),
            agreement,
            by: record.statement.by.clone(),
            against: e.against.clone(),
            category: e.category,
            incident_at: e.incident_at,
            incident_precision: e.incident_precision,
            incident_until: e.incident_until,
            count: e.count,
            location: e.location.name.clone(),
            lat: e.location.lat,
            lon: e.location.lon,
            casualties: e.casualties.clone(),
            description: e.description.clone(),
            occurred_at: header.occurred_at,
            recorded_at: header.recorded_at,
            seq: header.seq,
            backfilled: header.backfilled,
            visible,
            evidence: if visible {
                count_u32(e.evidence.len())
            } else {
                0
            },
            progress: ClaimProgress::default(),
            counter_claims: Vec::new(),
        });
    }

    fn claim_event(&mut self, event: &Event, by: &PartyId, key: Key) {
        let Some(id) = event.claim() else { return };
        let Some(&index) = self.claim_index.get(id) else {
            return;
        };
        let claim = &mut self.claims[index];
        if let Event::EvidenceAdded(e) = event {
            claim.evidence = claim.evidence.saturating_add(count_u32(e.evidence.len()));
        }
        if let Event::AllegationResponded(e) = event {
            if let Some(counter) = &e.counter_claim {
                if !claim.counter_claims.contains(counter) {
                    claim.counter_claims.push(counter.clone());
                }
            }
        }
        claim.progress.apply(event, by, &claim.against, key);
    }

    /// Ends the fold.
    pub fn finish(mut self) -> Projection {
        for agreement in &mut self.agreements {
            agreement.seal();
        }
        Projection {
            view: self.view,
            at: self.view.at,
            parties: self.parties,
            agreements: self.agreements,
            agreement_index: self.agreement_index,
            claims: self.claims,
            claim_index: self.claim_index,
        }
    }
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Replays `records` (in `seq` order) under `view`, stopping at the first
/// one recorded after `view.known_at`.
pub fn replay<'a>(records: impl IntoIterator<Item = &'a Record>, view: View) -> Projection {
    let mut fold = Replay::new(view);
    for record in records {
        if fold.apply(record).is_break() {
            break;
        }
    }
    fold.finish()
}

/// The result of a replay: read it with [`Projection::status`],
/// [`Projection::claims`] and friends.
#[derive(Clone, Debug)]
pub struct Projection {
    pub(crate) view: View,
    /// When time-dependent status is evaluated (`view.at` unless changed).
    pub(crate) at: Timestamp,
    pub(crate) parties: BTreeMap<PartyId, Party>,
    pub(crate) agreements: Vec<AgreementFacts>,
    pub(crate) agreement_index: HashMap<AgreementId, usize>,
    pub(crate) claims: Vec<ClaimFacts>,
    pub(crate) claim_index: HashMap<ClaimId, usize>,
}

impl Projection {
    /// The view the records were filtered with.
    pub fn view(&self) -> View {
        self.view
    }

    /// The time status is evaluated at.
    pub fn evaluated_at(&self) -> Timestamp {
        self.at
    }

    /// The same facts evaluated at another time. Only the evaluation moves:
    /// the records considered stay those of the view. Replaying exactly the
    /// records a view admits under [`View::EVERYTHING`] and evaluating at
    /// `view.at` gives the view's answer.
    pub fn evaluate_at(mut self, at: Timestamp) -> Projection {
        self.at = at;
        self
    }

    /// The registered parties known under the view.
    pub fn parties(&self) -> &BTreeMap<PartyId, Party> {
        &self.parties
    }

    /// A party's full name, or its code when it is not registered.
    pub fn party_name<'a>(&'a self, id: &'a PartyId) -> &'a str {
        self.parties
            .get(id)
            .map_or(id.as_str(), |p| p.name.as_str())
    }

    /// The ids of the agreements visible under the view, in proposal order.
    pub fn agreement_ids(&self) -> Vec<&AgreementId> {
        let visible = self.agreements.iter().filter(|a| a.visible);
        visible.map(|a| &a.proposal.agreement).collect()
    }

    /// An agreement's facts, whether visible or not.
    pub(crate) fn agreement_facts(&self, id: &AgreementId) -> Option<&AgreementFacts> {
        self.agreement_index.get(id).map(|&i| &self.agreements[i])
    }

    /// A claim visible under the view: its allegation and its agreement's
    /// proposal both pass the filters.
    pub(crate) fn claim(&self, id: &ClaimId) -> Option<&ClaimFacts> {
        let claim = &self.claims[*self.claim_index.get(id)?];
        self.claim_visible(claim).then_some(claim)
    }

    pub(crate) fn claim_visible(&self, claim: &ClaimFacts) -> bool {
        claim.visible && self.agreements[claim.agreement].visible
    }

    pub(crate) fn visible_claims(&self) -> impl Iterator<Item = &ClaimFacts> {
        self.claims.iter().filter(|c| self.claim_visible(c))
    }
}
