//! Selective disclosure: each redactable free-text field of a statement is
//! committed separately as a salted digest, the way selective-disclosure
//! credentials (IETF SD-JWT) commit their claims.
//!
//! A statement is stored as two parts:
//!
//! - the **payload**: the statement with every redactable field blanked
//!   (the *skeleton*), followed by one `(field, digest)` commitment per field
//!   present. The entry's leaf holds the payload's SHA-256 and the author
//!   signs the payload, so both cover the digests, never the values;
//! - the **disclosures**: per field, the salt and the value. A value is
//!   proven by recomputing its digest.
//!
//! Redaction deletes a field's disclosure (value and salt) and keeps its
//! digest: every other field still verifies against the payload, and so does
//! the author's signature. The byte layout is in `docs/FORMAT.md`.
//!
//! ```
//! use armistice_core::disclose::{commit, reveal, Field, Salts};
//! use armistice_core::json::parse_line;
//! let line = r#"{"type":"allegation_retracted","by":"UA","claim":"c1","reason":"witness Ivan asked"}"#;
//! let statement = parse_line(line, uuid::Uuid::nil()).unwrap().statement;
//! let salts = Salts::from([(Field::Reason, [7; 16])]);
//! let committed = commit(&statement, &salts).unwrap();
//! // Every disclosure present: the statement comes back whole.
//! let (copy, redacted) = reveal(&committed.payload, &committed.disclosures).unwrap();
//! assert_eq!(copy, statement);
//! assert!(redacted.is_empty());
//! // The reason's disclosure removed: it reads `[redacted]`, the rest still proves.
//! let (copy, redacted) = reveal(&committed.payload, &[]).unwrap();
//! assert_eq!(redacted, vec![Field::Reason]);
//! assert!(format!("{copy:?}").contains("[redacted]"));
//! ```

use crate::entry::{sha256, Hash};
use crate::event::{Casualties, Event, Evidence, Location, Statement};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A salt: 16 random bytes chosen by whoever commits the statement (the
/// signer, for a signed statement).
pub type Salt = [u8; 16];

/// The salts of a statement's committed fields.
pub type Salts = BTreeMap<Field, Salt>;

/// What a redacted text field reads.
pub const REDACTED_TEXT: &str = "[redacted]";

/// Domain separation of a disclosure's digest.
const DISCLOSURE_DOMAIN: &[u8] = b"armistice/disclosure/v1\n";

/// A redactable field. Its code is stored in the commitments; the order of
/// the codes is the order of the commitments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum Field {
    Source = 1,
    Name = 2,
    Title = 3,
    Area = 4,
    Terms = 5,
    Conditions = 6,
    Statement = 7,
    Reason = 8,
    Description = 9,
    Location = 10,
    Casualties = 11,
    Evidence = 12,
    Reasoning = 13,
}

/// Every field, by code, with its JSON name.
pub const FIELDS: [(Field, &str); 13] = [
    (Field::Source, "source"),
    (Field::Name, "name"),
    (Field::Title, "title"),
    (Field::Area, "area"),
    (Field::Terms, "terms"),
    (Field::Conditions, "conditions"),
    (Field::Statement, "statement"),
    (Field::Reason, "reason"),
    (Field::Description, "description"),
    (Field::Location, "location"),
    (Field::Casualties, "casualties"),
    (Field::Evidence, "evidence"),
    (Field::Reasoning, "reasoning"),
];

impl Field {
    /// The JSON name.
    pub fn name(self) -> &'static str {
        FIELDS[self as usize - 1].1
    }

    /// Looks a JSON name up.
    pub fn from_name(name: &str) -> Option<Field> {
        FIELDS.iter().find(|(_, n)| *n == name).map(|(f, _)| *f)
    }

    /// Looks a stored code up.
    pub fn from_code(code: u8) -> Option<Field> {
        FIELDS
            .get(usize::from(code).checked_sub(1)?)
            .map(|(f, _)| *f)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The committed form of a statement: what the leaf and the signature cover.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommittedPayload {
    /// The statement with every redactable field blanked.
    pub skeleton: Statement,
    /// One digest per field present, in field-code order.
    pub commitments: Vec<(u8, Hash)>,
}

/// One field's disclosure: its salt and the encoded value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disclosure {
    /// The field's code.
    pub field: u8,
    /// The salt.
    pub salt: Salt,
    /// The value, encoded as `docs/FORMAT.md` says per field.
    pub value: Vec<u8>,
}

/// A statement split into its committed payload and its disclosures.
#[derive(Clone, Debug, PartialEq)]
pub struct Committed {
    /// The committed payload.
    pub payload: CommittedPayload,
    /// One disclosure per commitment, in the same order.
    pub disclosures: Vec<Disclosure>,
}

/// Why a statement's parts do not fit together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisclosureError {
    /// A committed field has no salt (a signer must choose every salt).
    #[error("no salt for `{0}`: a signed statement carries the salt of every field it commits (`armistice sign` adds them)")]
    MissingSalt(Field),
    /// A salt was given for a field the statement does not commit.
    #[error("a salt is given for `{0}`, which this statement does not have")]
    StraySalt(Field),
    /// A disclosure does not hash to its commitment.
    #[error("the disclosed `{0}` does not match the digest the entry commits to")]
    DigestMismatch(Field),
    /// A disclosure for a field without commitment, twice, or out of order.
    #[error("a disclosure for `{0}` has no place in this entry")]
    StrayDisclosure(String),
    /// The skeleton or commitments are not in canonical form.
    #[error("the payload is not canonical: {0}")]
    NotCanonical(String),
    /// A disclosed value does not decode.
    #[error("the disclosed `{0}` does not decode")]
    BadValue(Field),
}

/// A mutable view of one redactable field inside a statement.
enum Slot<'a> {
    Text(&'a mut String),
    OptionalText(&'a mut Option<String>),
    Location(&'a mut Location),
    Casualties(&'a mut Option<Casualties>),
    Evidence(&'a mut Vec<Evidence>),
}

/// The redactable fields a statement's type has, in code order.
fn slots(statement: &mut Statement) -> Vec<(Field, Slot<'_>)> {
    use Field as F;
    let mut out = vec![(F::Source, Slot::OptionalText(&mut statement.source))];
    match &mut statement.event {
        Event::PartyRegistered(e) => out.push((F::Name, Slot::Text(&mut e.name))),
        Event::AgreementProposed(e) => {
            out.push((F::Title, Slot::Text(&mut e.title)));
            out.push((F::Area, Slot::OptionalText(&mut e.area)));
            out.push((F::Terms, Slot::OptionalText(&mut e.terms)));
        }
        Event::AgreementAmended(e) => out.push((F::Terms, Slot::OptionalText(&mut e.terms))),
        Event::AgreementSigned(e) => {
            out.push((F::Conditions, Slot::OptionalText(&mut e.conditions)))
        }
        Event::AgreementTermsContested(e) => out.push((F::Statement, Slot::Text(&mut e.statement))),
        Event::AgreementSuspended(e) => out.push((F::Reason, Slot::Text(&mut e.reason))),
        Event::AgreementTerminated(e) => out.push((F::Reason, Slot::Text(&mut e.reason))),
        Event::AllegationRetracted(e) => out.push((F::Reason, Slot::Text(&mut e.reason))),
        Event::PartyKeyReplaced(e) => out.push((F::Reason, Slot::Text(&mut e.reason))),
        Event::ViolationAlleged(e) => {
            out.push((F::Description, Slot::Text(&mut e.description)));
            out.push((F::Location, Slot::Location(&mut e.location)));
            out.push((F::Casualties, Slot::Casualties(&mut e.casualties)));
            out.push((F::Evidence, Slot::Evidence(&mut e.evidence)));
        }
        Event::EvidenceAdded(e) => out.push((F::Evidence, Slot::Evidence(&mut e.evidence))),
        Event::AllegationResponded(e) => out.push((F::Statement, Slot::Text(&mut e.statement))),
        Event::AllegationAssessed(e) => out.push((F::Reasoning, Slot::Text(&mut e.reasoning))),
        Event::PartyKeyRotated(_)
        | Event::AgreementResumed(_)
        | Event::EntryRedacted(_)
        | Event::OperatorKeyRotated(_) => {}
    }
    out
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain data (strings, numbers, options, tuples) always encodes.
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .unwrap_or_else(|e| unreachable!("encoding a disclosed value failed: {e}"))
}

fn decode<T: serde::de::DeserializeOwned>(
    field: Field,
    bytes: &[u8],
) -> Result<T, DisclosureError> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map_err(|_| DisclosureError::BadValue(field))?;
    if used != bytes.len() {
        return Err(DisclosureError::BadValue(field));
    }
    Ok(value)
}

type EvidenceText = Vec<(String, String)>;

impl Slot<'_> {
    /// The value's bytes when the field is present, blanking it in place.
    fn take(&mut self) -> Option<Vec<u8>> {
        match self {
            Slot::Text(text) => Some(encode(&std::mem::take(*text))),
            Slot::OptionalText(text) => text.as_mut().map(|t| encode(&std::mem::take(t))),
            Slot::Location(l) => {
                let value = encode(&(std::mem::take(&mut l.name), l.lat.take(), l.lon.take()));
                Some(value)
            }
            Slot::Casualties(c) => c.take().map(|c| encode(&(c.killed, c.injured))),
            Slot::Evidence(items) if items.is_empty() => None,
            Slot::Evidence(items) => {
                let text: EvidenceText = items
                    .iter_mut()
                    .map(|i| {
                        (
                            std::mem::take(&mut i.uri),
                            std::mem::take(&mut i.description),
                        )
                    })
                    .collect();
                Some(encode(&text))
            }
        }
    }

    /// Whether the field is present in a skeleton, and blank as it must be.
    /// (`Some(true)`: present and blank; `Some(false)`: absent; `None`: not canonical.)
    fn skeleton_presence(&self) -> Option<bool> {
        match self {
            Slot::Text(text) => text.is_empty().then_some(true),
            Slot::OptionalText(None) => Some(false),
            Slot::OptionalText(Some(text)) => text.is_empty().then_some(true),
            Slot::Location(l) => {
                (l.name.is_empty() && l.lat.is_none() && l.lon.is_none()).then_some(true)
            }
            // Presence of casualties is told by the commitment alone.
            Slot::Casualties(c) => c.is_none().then_some(false),
            Slot::Evidence(items) => {
                let blank = items
                    .iter()
                    .all(|i| i.uri.is_empty() && i.description.is_empty());
                blank.then_some(!items.is_empty())
            }
        }
    }

    /// Fills the field from its disclosed value.
    fn fill(&mut self, field: Field, bytes: &[u8]) -> Result<(), DisclosureError> {
        match self {
            Slot::Text(text) => **text = decode(field, bytes)?,
            Slot::OptionalText(text) => **text = Some(decode(field, bytes)?),
            Slot::Location(l) => {
                let (name, lat, lon) = decode(field, bytes)?;
                (l.name, l.lat, l.lon) = (name, lat, lon);
            }
            Slot::Casualties(c) => {
                let (killed, injured) = decode(field, bytes)?;
                **c = Some(Casualties { killed, injured });
            }
            Slot::Evidence(items) => {
                let text: EvidenceText = decode(field, bytes)?;
                if text.len() != items.len() {
                    return Err(DisclosureError::BadValue(field));
                }
                for (item, (uri, description)) in items.iter_mut().zip(text) {
                    (item.uri, item.description) = (uri, description);
                }
            }
        }
        Ok(())
    }

    /// Marks the field redacted, as readers see it.
    fn mark_redacted(&mut self) {
        let redacted = || REDACTED_TEXT.to_owned();
        match self {
            Slot::Text(text) => **text = redacted(),
            Slot::OptionalText(text) => **text = Some(redacted()),
            Slot::Location(l) => (l.name, l.lat, l.lon) = (redacted(), None, None),
            Slot::Casualties(c) => **c = None,
            Slot::Evidence(items) => {
                for item in items.iter_mut() {
                    (item.uri, item.description) = (redacted(), redacted());
                }
            }
        }
    }
}

/// The digest a field's disclosure commits to.
pub fn digest(field: Field, salt: &Salt, value: &[u8]) -> Hash {
    let mut bytes = Vec::with_capacity(DISCLOSURE_DOMAIN.len() + 17 + value.len());
    bytes.extend_from_slice(DISCLOSURE_DOMAIN);
    bytes.push(field as u8);
    bytes.extend_from_slice(salt);
    bytes.extend_from_slice(value);
    sha256(&bytes)
}

/// The fields `statement` commits (those present), in code order.
pub fn committed_fields(statement: &Statement) -> Vec<Field> {
    let mut copy = statement.clone();
    slots(&mut copy)
        .into_iter()
        .filter_map(|(field, mut slot)| slot.take().map(|_| field))
        .collect()
}

/// Every redactable field a statement of this type can have.
pub fn redactable_fields(statement: &Statement) -> Vec<Field> {
    let mut copy = statement.clone();
    slots(&mut copy).into_iter().map(|(f, _)| f).collect()
}

/// Splits `statement` into its committed payload and disclosures, with the
/// salts given (one per committed field, no more).
pub fn commit(statement: &Statement, salts: &Salts) -> Result<Committed, DisclosureError> {
    let mut skeleton = statement.clone();
    let mut commitments = Vec::new();
    let mut disclosures = Vec::new();
    for (field, mut slot) in slots(&mut skeleton) {
        let Some(value) = slot.take() else {
            if salts.contains_key(&field) {
                return Err(DisclosureError::StraySalt(field));
            }
            continue;
        };
        let salt = *salts
            .get(&field)
            .ok_or(DisclosureError::MissingSalt(field))?;
        commitments.push((field as u8, digest(field, &salt, &value)));
        disclosures.push(Disclosure {
            field: field as u8,
            salt,
            value,
        });
    }
    if let Some(stray) = salts
        .keys()
        .find(|f| !commitments.iter().any(|(code, _)| *code == **f as u8))
    {
        return Err(DisclosureError::StraySalt(*stray));
    }
    Ok(Committed {
        payload: CommittedPayload {
            skeleton,
            commitments,
        },
        disclosures,
    })
}

/// The disclosures of the fields of `statement` that have a salt in
/// `salts` (the others are skipped): what a copy that shows only some
/// fields proves. A salt for a field the statement lacks is an error.
pub fn disclose_fields(
    statement: &Statement,
    salts: &Salts,
) -> Result<Vec<Disclosure>, DisclosureError> {
    let mut copy = statement.clone();
    let mut disclosures = Vec::new();
    let mut used = 0;
    for (field, mut slot) in slots(&mut copy) {
        let value = slot.take();
        match (value, salts.get(&field)) {
            (Some(value), Some(salt)) => {
                used += 1;
                disclosures.push(Disclosure {
                    field: field as u8,
                    salt: *salt,
                    value,
                });
            }
            (None, Some(_)) => return Err(DisclosureError::StraySalt(field)),
            _ => {}
        }
    }
    if used != salts.len() {
        if let Some(stray) = salts
            .keys()
            .find(|f| !disclosures.iter().any(|d| d.field == **f as u8))
        {
            return Err(DisclosureError::StraySalt(*stray));
        }
    }
    Ok(disclosures)
}

/// Checks that a decoded payload is canonical: the skeleton's redactable
/// fields blank, one commitment per field present, in code order. So one
/// statement has exactly one payload.
pub fn check_canonical(payload: &CommittedPayload) -> Result<(), DisclosureError> {
    let mut skeleton = payload.skeleton.clone();
    let mut commitments = payload.commitments.iter().peekable();
    for (field, slot) in slots(&mut skeleton) {
        let committed = commitments
            .next_if(|(code, _)| *code == field as u8)
            .is_some();
        match (slot.skeleton_presence(), committed) {
            (None, _) => {
                return Err(DisclosureError::NotCanonical(format!(
                    "`{field}` is not blank in the payload"
                )))
            }
            (Some(true), false) => {
                return Err(DisclosureError::NotCanonical(format!(
                    "`{field}` is present without a commitment"
                )))
            }
            // Casualties are absent from every skeleton: the commitment says whether they exist.
            (Some(false), true) if field != Field::Casualties => {
                return Err(DisclosureError::NotCanonical(format!(
                    "`{field}` is committed but absent"
                )))
            }
            _ => {}
        }
    }
    if let Some((code, _)) = commitments.next() {
        return Err(DisclosureError::NotCanonical(format!(
            "commitment with code {code} is out of order or not a field of this statement"
        )));
    }
    Ok(())
}

/// The reading copy of a committed statement: every field with a matching
/// disclosure filled in, every other committed field marked redacted (and
/// listed). A disclosure that does not match its digest is an error.
pub fn reveal(
    payload: &CommittedPayload,
    disclosures: &[Disclosure],
) -> Result<(Statement, Vec<Field>), DisclosureError> {
    reveal_with(payload, disclosures, true)
}

/// [`reveal`] without recomputing each disclosure's digest: for readers of
/// a store whose entries `verify` proves (a replay of a million entries
/// would otherwise hash every field of every one again).
pub fn reveal_unchecked(
    payload: &CommittedPayload,
    disclosures: &[Disclosure],
) -> Result<(Statement, Vec<Field>), DisclosureError> {
    reveal_with(payload, disclosures, false)
}

fn reveal_with(
    payload: &CommittedPayload,
    disclosures: &[Disclosure],
    check_digests: bool,
) -> Result<(Statement, Vec<Field>), DisclosureError> {
    let mut copy = payload.skeleton.clone();
    let mut redacted = Vec::new();
    let mut disclosed = disclosures.iter().peekable();
    let mut commitments = payload.commitments.iter().peekable();
    for (field, mut slot) in slots(&mut copy) {
        let Some((_, commitment)) = commitments.next_if(|(code, _)| *code == field as u8) else {
            continue;
        };
        match disclosed.next_if(|d| d.field == field as u8) {
            Some(disclosure) => {
                if check_digests
                    && digest(field, &disclosure.salt, &disclosure.value) != *commitment
                {
                    return Err(DisclosureError::DigestMismatch(field));
                }
                slot.fill(field, &disclosure.value)?;
            }
            None => {
                slot.mark_redacted();
                redacted.push(field);
            }
        }
    }
    if let Some(stray) = disclosed.next() {
        let name = Field::from_code(stray.field)
            .map(|f| f.name().to_owned())
            .unwrap_or_else(|| format!("code {}", stray.field));
        return Err(DisclosureError::StrayDisclosure(name));
    }
    Ok((copy, redacted))
}

/// The payload bytes: bincode 2, standard configuration.
pub fn encode_payload(payload: &CommittedPayload) -> Vec<u8> {
    encode(payload)
}

/// The disclosures' bytes: bincode 2, standard configuration.
pub fn encode_disclosures(disclosures: &[Disclosure]) -> Vec<u8> {
    encode(&disclosures)
}

/// Decodes disclosures, strictly (no trailing bytes).
pub fn decode_disclosures(bytes: &[u8]) -> Result<Vec<Disclosure>, String> {
    let (value, used): (Vec<Disclosure>, usize) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard())
            .map_err(|e| e.to_string())?;
    if used != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - used));
    }
    Ok(value)
}

/// The salts of the disclosures present.
pub fn salts_of(disclosures: &[Disclosure]) -> Salts {
    disclosures
        .iter()
        .filter_map(|d| Field::from_code(d.field).map(|f| (f, d.salt)))
        .collect()
}

#[cfg(test)]
#[path = "tests/disclose.rs"]
mod tests;
