//! Request bodies of `POST /v1/events` into submissions: JSON Lines
//! (`application/x-ndjson`), or one JSON object or an array of them
//! (`application/json`). Each statement is parsed by the same strict
//! parser as the command line's, and a bad one is named by its line (for
//! an array, its position from 1).

use crate::error::HttpError;
use armistice_core::json::{parse_line, Submission};
use axum::http::{header, HeaderMap, StatusCode};
use serde_json::value::RawValue;
use uuid::Uuid;

/// A statement and the line it came from (from 1).
pub struct Numbered {
    /// The input line, or the position in an array.
    pub line: usize,
    /// The parsed statement.
    pub submission: Submission,
}

/// The body types accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/x-ndjson`: one statement per line.
    Lines,
    /// `application/json`: one object, or an array of objects.
    Json,
}

/// The body's kind from its `Content-Type`, or 415.
pub fn body_kind(headers: &HeaderMap) -> Result<BodyKind, HttpError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => Ok(BodyKind::Lines),
        "application/json" => Ok(BodyKind::Json),
        _ => Err(HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "statements are sent as `application/x-ndjson` (JSON Lines) or `application/json` (one object or an array), not `{content_type}`"
            ),
        )),
    }
}

fn rejected(line: usize, rejection: armistice_core::Rejection) -> HttpError {
    HttpError::new(
        crate::error::rejection_status(&rejection),
        rejection.to_string(),
    )
    .at_line(line)
    .with_field(rejection.field)
}

fn parse_one(line: usize, text: &str) -> Result<Numbered, HttpError> {
    let submission = parse_line(text, Uuid::now_v7()).map_err(|r| rejected(line, r))?;
    Ok(Numbered { line, submission })
}

/// Parses a body into numbered statements; at least one.
pub fn parse_body(kind: BodyKind, body: &[u8]) -> Result<Vec<Numbered>, HttpError> {
    let batch = match kind {
        BodyKind::Lines => parse_lines(body)?,
        BodyKind::Json => parse_json(body)?,
    };
    if batch.is_empty() {
        return Err(HttpError::invalid("no events in the request"));
    }
    Ok(batch)
}

fn parse_lines(body: &[u8]) -> Result<Vec<Numbered>, HttpError> {
    let mut batch = Vec::new();
    for (index, line) in body.split(|b| *b == b'\n').enumerate() {
        let number = index + 1;
        let text = std::str::from_utf8(line)
            .map_err(|_| HttpError::invalid("not valid UTF-8").at_line(number))?
            .trim();
        if !text.is_empty() {
            batch.push(parse_one(number, text)?);
        }
    }
    Ok(batch)
}

fn parse_json(body: &[u8]) -> Result<Vec<Numbered>, HttpError> {
    let text = std::str::from_utf8(body).map_err(|_| HttpError::invalid("not valid UTF-8"))?;
    let trimmed = text.trim_start();
    if !trimmed.starts_with('[') {
        return Ok(vec![parse_one(1, text.trim())?]);
    }
    // Each element is kept as the exact text sent, so that the strict
    // parser sees it as it was (duplicate keys and all).
    let items: Vec<&RawValue> = serde_json::from_str(text)
        .map_err(|e| HttpError::invalid(format!("not a JSON array of statements: {e}")))?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| parse_one(index + 1, item.get()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"type":"party_registered","by":"operator","party":"UA","name":"Ukraine","role":"belligerent"}"#;

    #[test]
    fn lines_arrays_and_objects_are_numbered() {
        let body = format!("\n{LINE}\n\n{LINE}\n");
        let lines: Vec<usize> = parse_body(BodyKind::Lines, body.as_bytes())
            .unwrap()
            .iter()
            .map(|n| n.line)
            .collect();
        assert_eq!(lines, [2, 4]);
        let array = format!("[{LINE}, {LINE}]");
        assert_eq!(
            parse_body(BodyKind::Json, array.as_bytes()).unwrap().len(),
            2
        );
        assert_eq!(
            parse_body(BodyKind::Json, LINE.as_bytes()).unwrap().len(),
            1
        );
        let bad = format!("{LINE}\n{{\"type\":\"nope\"}}\n");
        let error = parse_body(BodyKind::Lines, bad.as_bytes()).err().unwrap();
        assert_eq!(
            (error.status, error.body.line),
            (StatusCode::BAD_REQUEST, Some(2))
        );
        assert!(parse_body(BodyKind::Json, b"[]").is_err());
    }
}
