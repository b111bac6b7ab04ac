//! Redaction: the reading copy of a statement with personal data removed.
//!
//! Only free-text fields can be redacted; ids, enums and times carry the
//! record's structure (who alleged what against whom, when) and stay, so
//! projections and audits still work on a redacted entry.

use crate::event::{Event, Evidence, Statement};
use crate::rejection::Rejection;

/// What a redacted text field reads afterwards.
pub const REDACTED_TEXT: &str = "[redacted]";

const ALL_FIELDS: [&str; 13] = [
    "source",
    "name",
    "title",
    "area",
    "terms",
    "conditions",
    "statement",
    "reason",
    "description",
    "location",
    "casualties",
    "evidence",
    "reasoning",
];

/// The copy of `statement` with `fields` blanked (every free-text field it
/// has when `fields` is empty). A field the statement does not have is an error.
///
/// ```
/// use armistice_core::{json::parse_line, redact::redact};
/// let line = r#"{"type":"allegation_retracted","by":"UA","claim":"c1","reason":"witness Ivan asked"}"#;
/// let statement = parse_line(line, uuid::Uuid::nil()).unwrap().statement;
/// let copy = redact(&statement, &["reason".into()]).unwrap();
/// assert!(format!("{copy:?}").contains("[redacted]"));
/// assert!(redact(&statement, &["description".into()]).is_err());
/// ```
pub fn redact(statement: &Statement, fields: &[String]) -> Result<Statement, Rejection> {
    let mut copy = statement.clone();
    if fields.is_empty() {
        for field in ALL_FIELDS {
            blank(&mut copy, field);
        }
        return Ok(copy);
    }
    for field in fields {
        if !blank(&mut copy, field) {
            return Err(Rejection::field(
                "fields",
                format!(
                    "`{field}` is not a free-text field of a `{}` entry; redactable fields are {}",
                    statement.event.event_type(),
                    ALL_FIELDS
                        .iter()
                        .filter(|f| blank(&mut statement.clone(), f))
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    Ok(copy)
}

fn text(slot: &mut String) -> bool {
    *slot = REDACTED_TEXT.to_owned();
    true
}

fn optional_text(slot: &mut Option<String>) -> bool {
    if slot.is_some() {
        *slot = Some(REDACTED_TEXT.to_owned());
    }
    true
}

fn evidence(items: &mut [Evidence]) -> bool {
    for item in items {
        item.uri = REDACTED_TEXT.to_owned();
        item.description = REDACTED_TEXT.to_owned();
    }
    true
}

/// Blanks `field` in `statement`; false when the statement has no such field.
fn blank(statement: &mut Statement, field: &str) -> bool {
    if field == "source" {
        return optional_text(&mut statement.source);
    }
    match (&mut statement.event, field) {
        (Event::PartyRegistered(e), "name") => text(&mut e.name),
        (Event::AgreementProposed(e), "title") => text(&mut e.title),
        (Event::AgreementProposed(e), "area") => optional_text(&mut e.area),
        (Event::AgreementProposed(e), "terms") => optional_text(&mut e.terms),
        (Event::AgreementAmended(e), "terms") => optional_text(&mut e.terms),
        (Event::AgreementSigned(e), "conditions") => optional_text(&mut e.conditions),
        (Event::AgreementTermsContested(e), "statement") => text(&mut e.statement),
        (Event::AgreementSuspended(e), "reason") => text(&mut e.reason),
        (Event::AgreementTerminated(e), "reason") => text(&mut e.reason),
        (Event::AllegationRetracted(e), "reason") => text(&mut e.reason),
        (Event::ViolationAlleged(e), "description") => text(&mut e.description),
        (Event::ViolationAlleged(e), "location") => {
            e.location.lat = None;
            e.location.lon = None;
            text(&mut e.location.name)
        }
        (Event::ViolationAlleged(e), "casualties") => {
            e.casualties = None;
            true
        }
        (Event::ViolationAlleged(e), "evidence") => evidence(&mut e.evidence),
        (Event::EvidenceAdded(e), "evidence") => evidence(&mut e.evidence),
        (Event::AllegationResponded(e), "statement") => text(&mut e.statement),
        (Event::AllegationAssessed(e), "reasoning") => text(&mut e.reasoning),
        _ => false,
    }
}
