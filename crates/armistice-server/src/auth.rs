//! Who may append what over the network. Authentication is by signature,
//! not by account: every party statement must carry its party's signature
//! (the rules then verify it under the party's registered key), and
//! operator statements — which the ledger signs itself — need the
//! operator's bearer token.

use crate::error::HttpError;
use crate::ingest::Numbered;
use armistice_store::Store;
use axum::http::{header, HeaderMap, StatusCode};

/// Checks the bearer token when the batch holds an operator statement or
/// is a backfill (which only the operator may send).
pub fn check_operator(
    token: Option<&str>,
    headers: &HeaderMap,
    batch: &[Numbered],
    backfill: bool,
) -> Result<(), HttpError> {
    let first_operator = batch
        .iter()
        .find(|n| n.submission.statement.by.is_operator())
        .map(|n| n.line);
    let line = match (first_operator, backfill) {
        (Some(line), _) => Some(line),
        (None, true) => None,
        (None, false) => return Ok(()),
    };
    let refuse = |message: &str| {
        let error = HttpError::new(StatusCode::UNAUTHORIZED, message);
        match line {
            Some(line) => error.at_line(line).with_field(Some("by".to_owned())),
            None => error,
        }
    };
    let what = if line.is_some() {
        "operator statements are"
    } else {
        "backfills are"
    };
    let Some(expected) = token else {
        return Err(refuse(&format!(
            "{what} not accepted here: the server was started without an operator token"
        )));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        None => Err(refuse(&format!(
            "{what} the operator's: they need `Authorization: Bearer <token>`, the operator token (the ledger's operator.token; `--token-file`)"
        ))),
        Some(given) if !same_secret(given.as_bytes(), expected.as_bytes()) => {
            Err(refuse("the bearer token is not the operator's"))
        }
        Some(_) => Ok(()),
    }
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The first party statement of the batch that carries no signature.
pub fn first_unsigned(batch: &[Numbered]) -> Option<&Numbered> {
    batch.iter().find(|n| {
        !n.submission.statement.by.is_operator()
            && n.submission.signature.is_none()
            && n.submission.copy.hash.is_none()
    })
}

/// The 403 for an unsigned party statement, saying what to do: sign it, or
/// first have the operator register a key for a party that has none.
pub fn unsigned_error(store: &dyn Store, unsigned: &Numbered) -> HttpError {
    let by = unsigned.submission.statement.by.as_str().to_owned();
    let has_key = armistice_api::query::parties(store)
        .ok()
        .and_then(|parties| parties.into_iter().find(|p| p.party == by))
        .map(|p| p.public_key.is_some());
    let message = match has_key {
        Some(true) => format!(
            "the statement by `{by}` is not signed: over the network every party statement must carry its party's signature (`armistice sign --key KEY`, or `record --sign KEY`)"
        ),
        Some(false) => format!(
            "party `{by}` has no registered key, and over the network every party statement must be signed by its party's key: have the operator register one (`party_key_replaced`, or `public_key` at registration), then sign with it"
        ),
        None => format!("unknown party `{by}`: the operator must register it, with a key, before it can make statements over the network"),
    };
    HttpError::new(StatusCode::FORBIDDEN, message)
        .at_line(unsigned.line)
        .with_field(Some("signature".to_owned()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare_whole() {
        assert!(super::same_secret(b"abc", b"abc"));
        assert!(!super::same_secret(b"abc", b"abd"));
        assert!(!super::same_secret(b"abc", b"abcd"));
    }
}
