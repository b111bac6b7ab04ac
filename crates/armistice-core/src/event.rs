//! The event model: what each statement on the ledger says.
//!
//! These types are both the stored form (bincode, where the declaration
//! order of fields and variants *is* the format: append, never reorder) and,
//! through [`crate::json`], the JSON Lines form.

use crate::ids::{AgreementId, ClaimId, PartyId, StreamId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A statement as its author made it: the event and who says it, when.
/// This is what a party signs and what the payload bytes encode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Unique id of the statement; a re-submission with the same id is the same statement.
    pub event_id: Uuid,
    /// The party making the statement (`operator` for the ledger's keeper).
    pub by: PartyId,
    /// When the act or statement happened in the world.
    pub occurred_at: Timestamp,
    /// Free text or URL saying where the statement was reported.
    pub source: Option<String>,
    /// What is stated.
    pub event: Event,
}

/// What a statement says. Variant order is the stored format: new types go at the end.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The operator registers a party.
    PartyRegistered(PartyRegistered),
    /// A party replaces its signing key (signed by the current one).
    PartyKeyRotated(PartyKeyRotated),
    /// A party or mediator proposes an agreement (a unilateral one is also its signature).
    AgreementProposed(AgreementProposed),
    /// A bound party signs, possibly with conditions.
    AgreementSigned(AgreementSigned),
    /// A bound party states its own reading of the terms.
    AgreementTermsContested(AgreementTermsContested),
    /// The agreement is suspended.
    AgreementSuspended(AgreementSuspended),
    /// A suspended agreement is resumed.
    AgreementResumed(AgreementResumed),
    /// Expiry, scope or terms are amended.
    AgreementAmended(AgreementAmended),
    /// A party withdraws or a mediator ends the agreement.
    AgreementTerminated(AgreementTerminated),
    /// A party alleges a violation.
    ViolationAlleged(Box<ViolationAlleged>),
    /// The claimant adds evidence.
    EvidenceAdded(EvidenceAdded),
    /// The accused answers.
    AllegationResponded(AllegationResponded),
    /// A monitor assesses.
    AllegationAssessed(AllegationAssessed),
    /// The claimant withdraws the claim.
    AllegationRetracted(AllegationRetracted),
    /// The operator removes disclosures of an earlier entry, keeping their digests.
    EntryRedacted(EntryRedacted),
    /// The operator replaces a party's lost or compromised key, after verifying out of band.
    PartyKeyReplaced(PartyKeyReplaced),
    /// The operator's key is replaced (signed by the current one); later
    /// checkpoints are signed by the new key.
    OperatorKeyRotated(OperatorKeyRotated),
}

/// Every event type, in stored order, with its JSON name.
pub const EVENT_TYPES: [(EventType, &str); 17] = [
    (EventType::PartyRegistered, "party_registered"),
    (EventType::PartyKeyRotated, "party_key_rotated"),
    (EventType::AgreementProposed, "agreement_proposed"),
    (EventType::AgreementSigned, "agreement_signed"),
    (
        EventType::AgreementTermsContested,
        "agreement_terms_contested",
    ),
    (EventType::AgreementSuspended, "agreement_suspended"),
    (EventType::AgreementResumed, "agreement_resumed"),
    (EventType::AgreementAmended, "agreement_amended"),
    (EventType::AgreementTerminated, "agreement_terminated"),
    (EventType::ViolationAlleged, "violation_alleged"),
    (EventType::EvidenceAdded, "evidence_added"),
    (EventType::AllegationResponded, "allegation_responded"),
    (EventType::AllegationAssessed, "allegation_assessed"),
    (EventType::AllegationRetracted, "allegation_retracted"),
    (EventType::EntryRedacted, "entry_redacted"),
    (EventType::PartyKeyReplaced, "party_key_replaced"),
    (EventType::OperatorKeyRotated, "operator_key_rotated"),
];

/// An event's type without its fields; its `u8` code is stored in the entry header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum EventType {
    PartyRegistered = 1,
    PartyKeyRotated = 2,
    AgreementProposed = 3,
    AgreementSigned = 4,
    AgreementTermsContested = 5,
    AgreementSuspended = 6,
    AgreementResumed = 7,
    AgreementAmended = 8,
    AgreementTerminated = 9,
    ViolationAlleged = 10,
    EvidenceAdded = 11,
    AllegationResponded = 12,
    AllegationAssessed = 13,
    AllegationRetracted = 14,
    EntryRedacted = 15,
    PartyKeyReplaced = 16,
    OperatorKeyRotated = 17,
}

impl EventType {
    /// The JSON `type` name.
    pub fn name(self) -> &'static str {
        EVENT_TYPES[self as usize - 1].1
    }

    /// Looks a JSON `type` name up.
    pub fn from_name(name: &str) -> Option<Self> {
        EVENT_TYPES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(t, _)| *t)
    }

    /// Looks a stored code up.
    pub fn from_code(code: u8) -> Option<Self> {
        EVENT_TYPES
            .get(usize::from(code).checked_sub(1)?)
            .map(|(t, _)| *t)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `party_registered`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyRegistered {
    /// The party's short code.
    pub party: PartyId,
    /// Its full name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Its Ed25519 public key, once it signs its statements.
    #[serde(default)]
    pub public_key: Option<PublicKeyHex>,
}

/// `party_key_rotated`: `by` replaces its key from this entry on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyKeyRotated {
    /// The new Ed25519 public key.
    pub public_key: PublicKeyHex,
}

/// An Ed25519 public key, 32 bytes stored. JSON carries it as 64 hex
/// characters (the form `export` prints) or as a signed-note verifier key
/// (`<name>+<key id>+<base64>`, the form `keygen` prints); a secret key is
/// refused, saying so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicKeyHex(pub [u8; 32]);

/// Reads a public key from JSON text: 64 hex characters or a signed-note
/// verifier key.
pub fn parse_public_key(text: &str) -> Result<[u8; 32], String> {
    if text.starts_with("PRIVATE+KEY+") {
        return Err("this is a secret key (PRIVATE+KEY+…); give the public key (`armistice keygen` prints it, and writes it to FILE.pub)".into());
    }
    if text.len() == 64 {
        return parse_hex_array::<32>(text);
    }
    let mut parts = text.splitn(3, '+');
    let (Some(_name), Some(_id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "`{text}` is neither 64 hex characters nor a verifier key <name>+<key id>+<base64>"
        ));
    };
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|_| format!("the key part of `{text}` is not base64"))?;
    match bytes.split_first() {
        Some((1, rest)) => rest
            .try_into()
            .map_err(|_| format!("`{text}` does not hold a 32-byte Ed25519 key")),
        _ => Err(format!("`{text}` is not an Ed25519 verifier key")),
    }
}

impl Serialize for PublicKeyHex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(self.0))
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for PublicKeyHex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            parse_public_key(&text)
                .map(PublicKeyHex)
                .map_err(serde::de::Error::custom)
        } else {
            <[u8; 32]>::deserialize(d).map(PublicKeyHex)
        }
    }
}

/// Parses exactly `N` bytes of hex.
pub fn parse_hex_array<const N: usize>(text: &str) -> Result<[u8; N], String> {
    let bytes = hex::decode(text).map_err(|e| format!("`{text}` is not hex ({e})"))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("expected {} hex characters, got {}", 2 * N, 2 * b.len()))
}

/// What a registered party may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A side bound by agreements; files claims and answers them.
    Belligerent,
    /// Proposes and brokers agreements.
    Mediator,
    /// Assesses claims.
    Monitor,
}

/// `agreement_proposed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementProposed {
    /// The agreement's id.
    pub agreement: AgreementId,
    /// Its title.
    pub title: String,
    /// Bilateral, or a unilateral declaration.
    pub kind: AgreementKind,
    /// The belligerents bound by it.
    pub parties: Vec<PartyId>,
    /// Its mediators.
    #[serde(default)]
    pub mediators: Vec<PartyId>,
    /// What it covers.
    pub scope: Vec<Scope>,
    /// Where it applies.
    #[serde(default)]
    pub area: Option<String>,
    /// When it takes effect (may lie in the future).
    pub effective_from: Timestamp,
    /// When it lapses, if ever.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// Its text.
    #[serde(default)]
    pub terms: Option<String>,
}

/// Bilateral or unilateral.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementKind {
    /// Binds several parties, each of whom signs.
    Bilateral,
    /// One party's declaration; its proposal is its signature.
    Unilateral,
}

/// What an agreement covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Scope {
    AllHostilities,
    EnergyInfrastructure,
    Maritime,
    CivilianTargets,
    Other,
}

impl Scope {
    /// Whether a claim of `category` falls under this scope.
    pub fn covers(self, category: Category) -> bool {
        use Category as C;
        match self {
            Scope::AllHostilities => true,
            Scope::EnergyInfrastructure => category == C::EnergyInfrastructureStrike,
            Scope::Maritime => category == C::ShippingAttack,
            Scope::CivilianTargets => matches!(
                category,
                C::Shelling | C::DroneStrike | C::MissileStrike | C::SmallArms
            ),
            Scope::Other => category == C::Other,
        }
    }
}

/// `agreement_signed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementSigned {
    /// The agreement signed.
    pub agreement: AgreementId,
    /// A conditional acceptance.
    #[serde(default)]
    pub conditions: Option<String>,
}

/// `agreement_terms_contested`: a party's own reading, beside the official one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementTermsContested {
    /// The agreement.
    pub agreement: AgreementId,
    /// The party's statement of its reading.
    pub statement: String,
    /// The start it asserts.
    #[serde(default)]
    pub asserted_effective_from: Option<Timestamp>,
    /// The scope it asserts.
    #[serde(default)]
    pub asserted_scope: Option<Vec<Scope>>,
}

/// `agreement_suspended`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementSuspended {
    /// The agreement.
    pub agreement: AgreementId,
    /// Why.
    pub reason: String,
}

/// `agreement_resumed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementResumed {
    /// The agreement.
    pub agreement: AgreementId,
}

/// `agreement_amended`: any of the three fields; absent ones stay as they were.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementAmended {
    /// The agreement.
    pub agreement: AgreementId,
    /// New expiry.
    #[serde(default)]
    pub expires_at: Option<Timestamp>,
    /// New scope, replacing the old one.
    #[serde(default)]
    pub scope: Option<Vec<Scope>>,
    /// New terms.
    #[serde(default)]
    pub terms: Option<String>,
}

/// `agreement_terminated`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementTerminated {
    /// The agreement.
    pub agreement: AgreementId,
    /// Why.
    pub reason: String,
}

/// `violation_alleged`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViolationAlleged {
    /// The claim's id.
    pub claim: ClaimId,
    /// The agreement said to be violated.
    pub agreement: AgreementId,
    /// The accused party.
    pub against: PartyId,
    /// When the incident happened (the start, for a period).
    pub incident_at: Timestamp,
    /// How precisely `incident_at` is known.
    #[serde(default)]
    pub incident_precision: Option<Precision>,
    /// The end of the period, for an aggregate claim.
    #[serde(default)]
    pub incident_until: Option<Timestamp>,
    /// How many violations the claim counts (default 1).
    #[serde(default = "one")]
    pub count: u64,
    /// What kind of violation.
    pub category: Category,
    /// Where.
    pub location: Location,
    /// Casualties alleged.
    #[serde(default)]
    pub casualties: Option<Casualties>,
    /// What happened, in the claimant's words.
    pub description: String,
    /// Evidence offered.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

fn one() -> u64 {
    1
}

/// How precisely an incident time is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Precision {
    Exact,
    Hour,
    Day,
    Week,
}

/// The kind of violation alleged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Category {
    Shelling,
    DroneStrike,
    MissileStrike,
    EnergyInfrastructureStrike,
    ShippingAttack,
    SmallArms,
    Other,
}

/// A place.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Its name.
    pub name: String,
    /// Latitude in degrees.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude in degrees.
    #[serde(default)]
    pub lon: Option<f64>,
}

/// Casualties alleged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Casualties {
    /// People killed.
    #[serde(default)]
    pub killed: u32,
    /// People injured.
    #[serde(default)]
    pub injured: u32,
}

/// A piece of evidence, identified by its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// SHA-256 of the file, 64 lowercase hex characters.
    pub sha256: String,
    /// Its media type (`image/jpeg`).
    pub media_type: String,
    /// Where it is kept.
    pub uri: String,
    /// What it shows.
    pub description: String,
}

/// `evidence_added`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceAdded {
    /// The claim.
    pub claim: ClaimId,
    /// The new evidence.
    pub evidence: Vec<Evidence>,
}

/// `allegation_responded`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllegationResponded {
    /// The claim answered.
    pub claim: ClaimId,
    /// The answer.
    pub response: Response,
    /// The accused's statement.
    pub statement: String,
    /// The responder's own claim against the claimant.
    #[serde(default)]
    pub counter_claim: Option<ClaimId>,
}

/// The accused's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Response {
    Acknowledged,
    Denied,
    DisputedFacts,
}

/// `allegation_assessed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllegationAssessed {
    /// The claim assessed.
    pub claim: ClaimId,
    /// The finding.
    pub finding: Finding,
    /// How sure the monitor is.
    pub confidence: Confidence,
    /// Why.
    pub reasoning: String,
}

/// A monitor's finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Finding {
    Verified,
    Refuted,
    Inconclusive,
}

/// A monitor's confidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// `allegation_retracted`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllegationRetracted {
    /// The claim.
    pub claim: ClaimId,
    /// Why.
    pub reason: String,
}

/// `entry_redacted`: the disclosures of the listed fields of entry
/// `target_seq` are deleted; their digests stay, so the entry still verifies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryRedacted {
    /// The seq of the entry redacted.
    pub target_seq: u64,
    /// Why (e.g. a witness's name).
    pub reason: String,
    /// The redactable fields removed (`description`, `location`, `evidence`, …):
    /// at least one. (Entries of format 1 also stored an empty list, meaning all.)
    #[serde(default)]
    pub fields: Vec<String>,
}

/// `party_key_replaced`: the operator replaces `party`'s key after
/// verifying the party out of band (a lost or compromised key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyKeyReplaced {
    /// The party whose key is replaced.
    pub party: PartyId,
    /// Its new Ed25519 public key.
    pub public_key: PublicKeyHex,
    /// Why, and how the party was verified.
    pub reason: String,
}

/// `operator_key_rotated`: the operator's new key, signed by the current one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorKeyRotated {
    /// The new Ed25519 public key: it signs every later operator statement
    /// and every checkpoint of a size that includes this entry.
    pub public_key: PublicKeyHex,
}

impl Event {
    /// The event's type.
    pub fn event_type(&self) -> EventType {
        match self {
            Event::PartyRegistered(_) => EventType::PartyRegistered,
            Event::PartyKeyRotated(_) => EventType::PartyKeyRotated,
            Event::AgreementProposed(_) => EventType::AgreementProposed,
            Event::AgreementSigned(_) => EventType::AgreementSigned,
            Event::AgreementTermsContested(_) => EventType::AgreementTermsContested,
            Event::AgreementSuspended(_) => EventType::AgreementSuspended,
            Event::AgreementResumed(_) => EventType::AgreementResumed,
            Event::AgreementAmended(_) => EventType::AgreementAmended,
            Event::AgreementTerminated(_) => EventType::AgreementTerminated,
            Event::ViolationAlleged(_) => EventType::ViolationAlleged,
            Event::EvidenceAdded(_) => EventType::EvidenceAdded,
            Event::AllegationResponded(_) => EventType::AllegationResponded,
            Event::AllegationAssessed(_) => EventType::AllegationAssessed,
            Event::AllegationRetracted(_) => EventType::AllegationRetracted,
            Event::EntryRedacted(_) => EventType::EntryRedacted,
            Event::PartyKeyReplaced(_) => EventType::PartyKeyReplaced,
            Event::OperatorKeyRotated(_) => EventType::OperatorKeyRotated,
        }
    }

    /// The agreement this event is about, directly.
    pub fn agreement(&self) -> Option<&AgreementId> {
        match self {
            Event::AgreementProposed(e) => Some(&e.agreement),
            Event::AgreementSigned(e) => Some(&e.agreement),
            Event::AgreementTermsContested(e) => Some(&e.agreement),
            Event::AgreementSuspended(e) => Some(&e.agreement),
            Event::AgreementResumed(e) => Some(&e.agreement),
            Event::AgreementAmended(e) => Some(&e.agreement),
            Event::AgreementTerminated(e) => Some(&e.agreement),
            Event::ViolationAlleged(e) => Some(&e.agreement),
            _ => None,
        }
    }

    /// The claim this event is about.
    pub fn claim(&self) -> Option<&ClaimId> {
        match self {
            Event::ViolationAlleged(e) => Some(&e.claim),
            Event::EvidenceAdded(e) => Some(&e.claim),
            Event::AllegationResponded(e) => Some(&e.claim),
            Event::AllegationAssessed(e) => Some(&e.claim),
            Event::AllegationRetracted(e) => Some(&e.claim),
            _ => None,
        }
    }
}

impl Statement {
    /// The one stream this statement extends.
    pub fn stream(&self) -> StreamId {
        match &self.event {
            Event::PartyRegistered(e) => StreamId::Party(e.party.clone()),
            Event::PartyKeyRotated(_) => StreamId::Party(self.by.clone()),
            Event::PartyKeyReplaced(e) => StreamId::Party(e.party.clone()),
            Event::EntryRedacted(_) | Event::OperatorKeyRotated(_) => StreamId::Ledger,
            event => match (event.claim(), event.agreement()) {
                (Some(claim), _) => StreamId::Claim(claim.clone()),
                (None, Some(agreement)) => StreamId::Agreement(agreement.clone()),
                // Every remaining variant names a claim or an agreement.
                (None, None) => unreachable!("event {} names no stream", event.event_type()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_codes_names_and_variants_agree() {
        for (i, (t, name)) in EVENT_TYPES.iter().enumerate() {
            assert_eq!(*t as usize, i + 1);
            assert_eq!(EventType::from_name(name), Some(*t));
            assert_eq!(EventType::from_code(*t as u8), Some(*t));
            assert_eq!(t.name(), *name);
        }
        assert_eq!(EventType::from_code(0), None);
        assert_eq!(EventType::from_code(18), None);
    }

    #[test]
    fn scope_coverage_follows_the_table() {
        use Category::*;
        assert!(Scope::AllHostilities.covers(ShippingAttack));
        assert!(Scope::EnergyInfrastructure.covers(EnergyInfrastructureStrike));
        assert!(!Scope::EnergyInfrastructure.covers(Shelling));
        assert!(Scope::Maritime.covers(ShippingAttack));
        assert!(Scope::CivilianTargets.covers(DroneStrike));
        assert!(!Scope::CivilianTargets.covers(EnergyInfrastructureStrike));
        assert!(Scope::Other.covers(Other));
    }
}
