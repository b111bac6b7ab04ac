//! A synthetic ledger, deterministic from a seed: parties registered by the
//! operator, agreements proposed by mediators and signed by both sides, and
//! claims (about 40% of events) followed by evidence, responses from the
//! accused, assessments by monitors and retractions.
//!
//! Every sequence the generator emits is valid under the ledger's rules, so
//! the store's checks run on the whole workload as they would in use.

use armistice_core::event::*;
use armistice_core::json::{EntryCopy, Submission};
use armistice_core::{AgreementId, ClaimId, PartyId, Statement, Timestamp};
use std::collections::VecDeque;
use uuid::Uuid;

/// 2025-01-01T00:00:00Z, in microseconds: where the synthetic history starts.
pub const HISTORY_START_MICROS: i64 = 1_735_689_600_000_000;
/// One year, in microseconds: the synthetic history spans it.
pub const HISTORY_SPAN_MICROS: i64 = 365 * DAY_MICROS;
const DAY_MICROS: i64 = 24 * HOUR_MICROS;
const HOUR_MICROS: i64 = 3_600_000_000;

/// Agreements in a generated ledger.
pub const AGREEMENTS: usize = 40;
/// Most recent claims kept open for follow-ups (older ones are left alone):
/// bounds the generator's memory whatever the number of events.
const CLAIM_POOL_MAX: usize = 2048;

/// The ledger's clock for every append: a day after the history ends.
pub fn clock_now() -> Timestamp {
    Timestamp(HISTORY_START_MICROS + HISTORY_SPAN_MICROS + DAY_MICROS)
}

/// A point `fraction` of the way through the history.
pub fn history_point(fraction: f64) -> Timestamp {
    Timestamp(HISTORY_START_MICROS + (HISTORY_SPAN_MICROS as f64 * fraction) as i64)
}

/// SplitMix64: small, fast and good enough to pick words and weights.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A random (version 4) UUID.
    pub fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// 32 random bytes (a signing key seed).
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        out
    }

    fn hex64(&mut self) -> String {
        let bytes = self.bytes32();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

const BELLIGERENTS: [(&str, &str); 4] = [
    ("NORTH", "Northern Republic"),
    ("SOUTH", "Southern Federation"),
    ("EAST", "Eastern Autonomous Region"),
    ("WEST", "Western Coalition of Provinces"),
];
const MEDIATORS: [(&str, &str); 2] = [
    ("MEDA", "Standing mediation group of neighbouring states"),
    ("MEDB", "Special envoy of the regional organisation"),
];
const MONITORS: [(&str, &str); 2] = [
    ("MONA", "Joint ceasefire monitoring mission"),
    ("MONB", "Independent satellite imagery monitor"),
];

const WORDS: [&str; 48] = [
    "artillery",
    "fire",
    "reported",
    "near",
    "the",
    "eastern",
    "outskirts",
    "of",
    "village",
    "residential",
    "buildings",
    "damaged",
    "overnight",
    "according",
    "to",
    "local",
    "officials",
    "two",
    "drones",
    "intercepted",
    "over",
    "substation",
    "power",
    "outage",
    "affecting",
    "thousands",
    "households",
    "shelling",
    "continued",
    "for",
    "approximately",
    "forty",
    "minutes",
    "witnesses",
    "described",
    "impacts",
    "on",
    "road",
    "bridge",
    "and",
    "market",
    "monitors",
    "could",
    "not",
    "access",
    "site",
    "because",
    "mines",
];
const PLACES: [&str; 12] = [
    "Novoselka district",
    "Harbour of Belport",
    "Kirovske substation",
    "Ridge road km 14",
    "Dalnyi railway junction",
    "Zarichne village",
    "Old bridge at Sokil",
    "Lake Ostrov shore",
    "Pryvilne grain terminal",
    "Hill 203",
    "Stepove pumping station",
    "Market square, Lysa",
];
const SOURCES: [&str; 6] = [
    "Ministry of Defence daily briefing, morning edition",
    "Statement of the General Staff on its official channel",
    "Monitoring mission spot report (public summary)",
    "Regional administration press release",
    "Joint press conference of the mediators",
    "Report relayed by the liaison officer at the coordination centre",
];
const CATEGORIES: [Category; 7] = [
    Category::Shelling,
    Category::DroneStrike,
    Category::MissileStrike,
    Category::EnergyInfrastructureStrike,
    Category::ShippingAttack,
    Category::SmallArms,
    Category::Other,
];

/// Text of about `low..=high` bytes, from a fixed word list.
fn prose(rng: &mut Rng, low: u64, high: u64) -> String {
    let target = rng.between(low, high) as usize;
    let mut text = String::with_capacity(target + 16);
    while text.len() < target {
        if !text.is_empty() {
            text.push(' ');
        }
        let word = *rng.pick(&WORDS);
        text.push_str(word);
    }
    text.push('.');
    text
}

fn party(code: &str) -> PartyId {
    // The fixed codes above are valid identifiers.
    PartyId::new(code).unwrap_or_else(|e| unreachable!("{e}"))
}

/// An agreement as the generator tracks it.
#[derive(Clone, Debug)]
struct AgreementSlot {
    id: AgreementId,
    parties: [PartyId; 2],
    mediator: PartyId,
    suspended: bool,
}

/// A claim still open to follow-ups.
#[derive(Clone, Debug)]
struct OpenClaim {
    id: ClaimId,
    claimant: PartyId,
    accused: PartyId,
    occurred_at: Timestamp,
}

/// A statement waiting for its place (its times are set when emitted).
#[derive(Clone, Debug)]
struct Draft {
    by: PartyId,
    event: Event,
}

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Events the history spreads over its year (sets the time step).
    pub events: u64,
    /// Whether entries carry their own `recorded_at` (append with `backfill: true`).
    pub backfill: bool,
    /// Whether every agreement is proposed at the start rather than spread over the first 60%.
    pub agreements_up_front: bool,
}

/// The generator: an endless iterator of valid submissions.
#[derive(Clone, Debug)]
pub struct Generator {
    rng: Rng,
    plan: Plan,
    emitted: u64,
    last_recorded: i64,
    pending: VecDeque<Draft>,
    agreements: Vec<AgreementSlot>,
    proposed: usize,
    claims: VecDeque<OpenClaim>,
    claims_only: bool,
}

impl Generator {
    /// A generator whose first events register the parties.
    pub fn new(seed: u64, plan: Plan) -> Generator {
        let mut rng = Rng::new(seed);
        let pairs = [(0, 1), (2, 3), (0, 2), (1, 3), (0, 3), (1, 2)];
        let agreements = (0..AGREEMENTS)
            .map(|k| {
                let (a, b) = pairs[k % pairs.len()];
                let text = format!("ceasefire-{k:02}-{}", BELLIGERENTS[a].0.to_lowercase());
                AgreementSlot {
                    id: AgreementId::new(text).unwrap_or_else(|e| unreachable!("{e}")),
                    parties: [party(BELLIGERENTS[a].0), party(BELLIGERENTS[b].0)],
                    mediator: party(rng.pick(&MEDIATORS).0),
                    suspended: false,
                }
            })
            .collect();
        let roles = BELLIGERENTS
            .iter()
            .map(|p| (p, Role::Belligerent))
            .chain(MEDIATORS.iter().map(|p| (p, Role::Mediator)))
            .chain(MONITORS.iter().map(|p| (p, Role::Monitor)));
        let pending = roles
            .map(|((code, name), role)| Draft {
                by: PartyId::operator(),
                event: Event::PartyRegistered(PartyRegistered {
                    party: party(code),
                    name: (*name).to_owned(),
                    role,
                    public_key: None,
                }),
            })
            .collect();
        Generator {
            rng,
            plan,
            emitted: 0,
            last_recorded: HISTORY_START_MICROS,
            pending,
            agreements,
            proposed: 0,
            claims: VecDeque::new(),
            claims_only: false,
        }
    }

    /// How many events set the scene when agreements come up front: the
    /// registrations, then each agreement's proposal and two signatures.
    pub fn setup_events() -> usize {
        BELLIGERENTS.len() + MEDIATORS.len() + MONITORS.len() + 3 * AGREEMENTS
    }

    /// A generator for one of several concurrent writers, after the setup
    /// events of `self` are stored: it emits only claims and their
    /// follow-ups, which do not depend on the other writers' statements.
    pub fn fork(&self, seed: u64, events: u64) -> Generator {
        let mut fork = self.clone();
        fork.rng = Rng::new(seed);
        fork.plan.events = events;
        fork.emitted = 0;
        fork.claims.clear();
        fork.claims_only = true;
        fork
    }

    /// The next `count` submissions.
    pub fn take_batch(&mut self, count: usize) -> Vec<Submission> {
        (0..count).map(|_| self.next_submission()).collect()
    }

    /// The next submission.
    pub fn next_submission(&mut self) -> Submission {
        let step = HISTORY_SPAN_MICROS / self.plan.events.max(1) as i64;
        let recorded = (HISTORY_START_MICROS + self.emitted as i64 * step).max(self.last_recorded);
        self.last_recorded = recorded;
        self.emitted += 1;
        let (draft, occurred) = self.next_draft(Timestamp(recorded));
        let source = (self.rng.below(10) < 7).then(|| (*self.rng.pick(&SOURCES)).to_owned());
        Submission {
            statement: Statement {
                event_id: self.rng.uuid(),
                by: draft.by,
                occurred_at: occurred,
                source,
                event: draft.event,
            },
            occurred_at_given: true,
            signature: None,
            expected_version: None,
            salts: Default::default(),
            copy: EntryCopy {
                recorded_at: self.plan.backfill.then_some(Timestamp(recorded)),
                ..EntryCopy::default()
            },
        }
    }

    fn next_draft(&mut self, recorded: Timestamp) -> (Draft, Timestamp) {
        if let Some(draft) = self.pending.pop_front() {
            return (draft, recorded);
        }
        if self.proposed < self.agreements.len() && self.emitted >= self.proposal_due() {
            return (self.propose(recorded), recorded);
        }
        let roll = self.rng.below(1000);
        if self.claims.is_empty() || roll < 400 {
            return self.allege(recorded);
        }
        match roll {
            400..=599 => self.respond(recorded),
            600..=729 => self.add_evidence(recorded),
            730..=929 => self.assess(recorded),
            930..=959 => self.retract(recorded),
            _ if self.claims_only => self.respond(recorded),
            _ => (self.agreement_event(), recorded),
        }
    }

    /// The event index at which the next agreement is proposed: a quarter
    /// at the start, the rest spread over the first 60% of the history.
    fn proposal_due(&self) -> u64 {
        let k = self.proposed as u64;
        let total = self.agreements.len() as u64;
        if self.plan.agreements_up_front || k < total / 4 {
            return 0;
        }
        k * self.plan.events * 6 / (10 * total)
    }

    fn propose(&mut self, recorded: Timestamp) -> Draft {
        let slot = self.agreements[self.proposed].clone();
        self.proposed += 1;
        for signer in &slot.parties {
            let conditions = (self.rng.below(3) == 0).then(|| prose(&mut self.rng, 60, 160));
            self.pending.push_back(Draft {
                by: signer.clone(),
                event: Event::AgreementSigned(AgreementSigned {
                    agreement: slot.id.clone(),
                    conditions,
                }),
            });
        }
        let scope = match self.rng.below(3) {
            0 => vec![Scope::AllHostilities],
            1 => vec![Scope::EnergyInfrastructure, Scope::CivilianTargets],
            _ => vec![Scope::Maritime, Scope::CivilianTargets],
        };
        Draft {
            by: slot.mediator.clone(),
            event: Event::AgreementProposed(AgreementProposed {
                agreement: slot.id.clone(),
                title: format!(
                    "Ceasefire arrangement no. {} between the parties",
                    self.proposed
                ),
                kind: AgreementKind::Bilateral,
                parties: slot.parties.to_vec(),
                mediators: vec![slot.mediator],
                scope,
                area: Some((*self.rng.pick(&PLACES)).to_owned()),
                effective_from: Timestamp(recorded.0 + DAY_MICROS),
                expires_at: None,
                terms: Some(prose(&mut self.rng, 200, 400)),
            }),
        }
    }

    fn evidence(&mut self) -> Evidence {
        let sha256 = self.rng.hex64();
        Evidence {
            uri: format!("https://evidence.example.org/files/{}.jpg", &sha256[..16]),
            sha256,
            media_type: "image/jpeg".to_owned(),
            description: prose(&mut self.rng, 20, 60),
        }
    }

    fn allege(&mut self, recorded: Timestamp) -> (Draft, Timestamp) {
        let proposed = self.proposed.max(1).min(self.agreements.len());
        let slot = &self.agreements[self.rng.below(proposed as u64) as usize];
        let side = self.rng.below(2) as usize;
        let (claimant, accused) = (slot.parties[side].clone(), slot.parties[1 - side].clone());
        let agreement = slot.id.clone();
        let occurred = Timestamp(recorded.0 - self.rng.below(2 * HOUR_MICROS as u64) as i64);
        let incident_at = Timestamp(occurred.0 - self.rng.below(3 * DAY_MICROS as u64) as i64);
        let id = ClaimId::new(self.rng.uuid().to_string()).unwrap_or_else(|e| unreachable!("{e}"));
        let evidence = (0..self.rng.below(3)).map(|_| self.evidence()).collect();
        let event = ViolationAlleged {
            claim: id.clone(),
            agreement,
            against: accused.clone(),
            incident_at,
            incident_precision: Some(Precision::Hour),
            incident_until: None,
            count: self.rng.between(1, 4),
            category: *self.rng.pick(&CATEGORIES),
            location: Location {
                name: (*self.rng.pick(&PLACES)).to_owned(),
                lat: Some(47.0 + self.rng.below(1000) as f64 / 1000.0),
                lon: Some(35.0 + self.rng.below(1000) as f64 / 1000.0),
            },
            casualties: (self.rng.below(4) == 0).then(|| Casualties {
                killed: self.rng.below(3) as u32,
                injured: self.rng.below(8) as u32,
            }),
            description: prose(&mut self.rng, 120, 280),
            evidence,
        };
        if self.claims.len() >= CLAIM_POOL_MAX {
            self.claims.pop_front();
        }
        self.claims.push_back(OpenClaim {
            id,
            claimant: claimant.clone(),
            accused,
            occurred_at: occurred,
        });
        let draft = Draft {
            by: claimant,
            event: Event::ViolationAlleged(Box::new(event)),
        };
        (draft, occurred)
    }

    /// A claim from the pool, and the `occurred_at` of a follow-up to it.
    fn some_claim(&mut self, recorded: Timestamp) -> (usize, Timestamp) {
        let index = self.rng.below(self.claims.len() as u64) as usize;
        let jitter = self.rng.below(6 * HOUR_MICROS as u64) as i64;
        let occurred = Timestamp((recorded.0 - jitter).max(self.claims[index].occurred_at.0));
        (index, occurred)
    }

    fn respond(&mut self, recorded: Timestamp) -> (Draft, Timestamp) {
        let (index, occurred) = self.some_claim(recorded);
        let claim = self.claims[index].clone();
        let response = *self.rng.pick(&[
            Response::Denied,
            Response::Denied,
            Response::DisputedFacts,
            Response::Acknowledged,
        ]);
        let event = Event::AllegationResponded(AllegationResponded {
            claim: claim.id,
            response,
            statement: prose(&mut self.rng, 100, 260),
            counter_claim: None,
        });
        let draft = Draft {
            by: claim.accused,
            event,
        };
        (draft, occurred)
    }

    fn add_evidence(&mut self, recorded: Timestamp) -> (Draft, Timestamp) {
        let (index, occurred) = self.some_claim(recorded);
        let claim = self.claims[index].clone();
        let evidence = (0..self.rng.between(1, 2))
            .map(|_| self.evidence())
            .collect();
        let event = Event::EvidenceAdded(EvidenceAdded {
            claim: claim.id,
            evidence,
        });
        let draft = Draft {
            by: claim.claimant,
            event,
        };
        (draft, occurred)
    }

    fn assess(&mut self, recorded: Timestamp) -> (Draft, Timestamp) {
        let (index, occurred) = self.some_claim(recorded);
        let claim = self.claims[index].clone();
        let finding = *self
            .rng
            .pick(&[Finding::Verified, Finding::Refuted, Finding::Inconclusive]);
        let confidence = *self
            .rng
            .pick(&[Confidence::Low, Confidence::Medium, Confidence::High]);
        let event = Event::AllegationAssessed(AllegationAssessed {
            claim: claim.id,
            finding,
            confidence,
            reasoning: prose(&mut self.rng, 150, 300),
        });
        if self.rng.below(2) == 0 {
            // Assessed claims mostly rest: fewer follow-ups after a finding.
            self.claims.swap_remove_back(index);
        }
        let draft = Draft {
            by: party(self.rng.pick(&MONITORS).0),
            event,
        };
        (draft, occurred)
    }

    fn retract(&mut self, recorded: Timestamp) -> (Draft, Timestamp) {
        let (index, occurred) = self.some_claim(recorded);
        // Only assessments may follow a retraction; the generator adds none.
        let claim = self
            .claims
            .swap_remove_back(index)
            .unwrap_or_else(|| unreachable!("index {index} was drawn below the pool's length"));
        let event = Event::AllegationRetracted(AllegationRetracted {
            claim: claim.id,
            reason: prose(&mut self.rng, 60, 160),
        });
        let draft = Draft {
            by: claim.claimant,
            event,
        };
        (draft, occurred)
    }

    /// An amendment, a contested reading, or a suspension or resumption.
    fn agreement_event(&mut self) -> Draft {
        let index = self.rng.below(self.proposed.max(1) as u64) as usize;
        let slot = &mut self.agreements[index];
        let agreement = slot.id.clone();
        match self.rng.below(3) {
            0 => Draft {
                by: slot.mediator.clone(),
                event: Event::AgreementAmended(AgreementAmended {
                    agreement,
                    expires_at: None,
                    scope: None,
                    terms: Some(prose(&mut self.rng, 200, 360)),
                }),
            },
            1 => Draft {
                by: slot.parties[self.rng.below(2) as usize].clone(),
                event: Event::AgreementTermsContested(AgreementTermsContested {
                    agreement,
                    statement: prose(&mut self.rng, 120, 300),
                    asserted_effective_from: None,
                    asserted_scope: None,
                }),
            },
            _ => {
                slot.suspended = !slot.suspended;
                let by = slot.mediator.clone();
                let event = match slot.suspended {
                    true => Event::AgreementSuspended(AgreementSuspended {
                        agreement,
                        reason: prose(&mut self.rng, 80, 200),
                    }),
                    false => Event::AgreementResumed(AgreementResumed { agreement }),
                };
                Draft { by, event }
            }
        }
    }
}

impl Iterator for Generator {
    type Item = Submission;

    fn next(&mut self) -> Option<Submission> {
        Some(self.next_submission())
    }
}
