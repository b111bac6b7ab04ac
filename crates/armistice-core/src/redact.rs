//! Redaction: deleting the disclosures of chosen fields of an entry.
//!
//! Only redactable free-text fields can be removed (see
//! [`crate::disclose::Field`]); ids, enums and times carry the record's
//! structure (who alleged what against whom, when) and stay, so projections
//! and audits still work on a redacted entry. Each removed field keeps its
//! digest in the entry, so the entry's hash, its proofs and its author's
//! signature all still verify.

use crate::disclose::{committed_fields, redactable_fields, Disclosure, Field};
use crate::event::Statement;
use crate::rejection::Rejection;

/// Reads the `fields` of an `entry_redacted`: at least one, each a known
/// field name, none twice.
///
/// ```
/// use armistice_core::redact::parse_fields;
/// assert!(parse_fields(&["description".into()]).is_ok());
/// assert!(parse_fields(&[]).is_err());
/// assert!(parse_fields(&["colour".into()]).is_err());
/// ```
pub fn parse_fields(names: &[String]) -> Result<Vec<Field>, Rejection> {
    if names.is_empty() {
        return Err(Rejection::field(
            "fields",
            "list is empty: name the fields to redact (e.g. [\"description\"]); a redaction is never implicit",
        ));
    }
    let mut fields = Vec::with_capacity(names.len());
    for name in names {
        let field = Field::from_name(name).ok_or_else(|| {
            let known: Vec<&str> = crate::disclose::FIELDS.iter().map(|(_, n)| *n).collect();
            Rejection::field(
                "fields",
                format!(
                    "`{name}` is not a redactable field; redactable fields are {}",
                    known.join(", ")
                ),
            )
        })?;
        if fields.contains(&field) {
            return Err(Rejection::field(
                "fields",
                format!("`{name}` is listed twice"),
            ));
        }
        fields.push(field);
    }
    Ok(fields)
}

/// Checks that `fields` can be redacted from an entry whose reading copy is
/// `statement` with `already` redacted: each is a field the entry commits
/// and has not been redacted yet.
pub fn check_redactable(
    statement: &Statement,
    already: &[Field],
    fields: &[Field],
) -> Result<(), Rejection> {
    let committed = committed_fields(statement);
    for field in fields {
        if already.contains(field) {
            return Err(Rejection::field(
                "fields",
                format!("`{field}` of this entry is already redacted"),
            ));
        }
        if !committed.contains(field) {
            let names: Vec<&str> = redactable_fields(statement)
                .iter()
                .filter(|f| committed.contains(f) && !already.contains(f))
                .map(|f| f.name())
                .collect();
            return Err(Rejection::field(
                "fields",
                format!(
                    "`{field}` is not a field of this `{}` entry; its redactable fields are {}",
                    statement.event.event_type(),
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
    }
    Ok(())
}

/// The disclosures left after removing `fields`.
pub fn without(disclosures: &[Disclosure], fields: &[Field]) -> Vec<Disclosure> {
    disclosures
        .iter()
        .filter(|d| !fields.iter().any(|f| *f as u8 == d.field))
        .cloned()
        .collect()
}
