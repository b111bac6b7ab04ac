//! The log's side of tlog-witness: ask a witness to cosign a checkpoint,
//! sending a consistency proof from the size the witness cosigned last.

use std::time::Duration;

use armistice_merkle::checkpoint::parse_signature_line;
use armistice_merkle::Hash;
use reqwest::header::CONTENT_TYPE;

use crate::error::ClientError;
use crate::request::AddCheckpointRequest;
use crate::server::TLOG_SIZE_CONTENT_TYPE;

/// How long one request to a witness may take, connection included.
pub const CLIENT_TIMEOUT_S: u64 = 10;

/// The largest response the client reads from a witness.
pub const RESPONSE_BYTES_MAX: usize = 64 * 1024;

/// An HTTP client for witnesses: rustls, [`CLIENT_TIMEOUT_S`].
pub fn http_client() -> Result<reqwest::Client, ClientError> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(CLIENT_TIMEOUT_S))
        .build()?)
}

/// Asks the witness at `submission_prefix` (e.g. `https://witness.example/w1`)
/// to cosign `note`, a checkpoint signed by the log, and returns the
/// cosignature line(s) it answered (without their newlines).
///
/// `known_size` is the size the log believes the witness cosigned last (0 if
/// it does not know); `proof(old, new)` gives the consistency proof between
/// two sizes of the log (it is not called for `old` 0). If the witness holds
/// another size (409), the request is made once more from that size.
///
/// The lines are checked to be signature lines, not verified: add them to the
/// checkpoint and verify them with the witness's key
/// ([`verify_cosignature`](armistice_merkle::cosignature::verify_cosignature)).
pub async fn add_checkpoint<P, E>(
    http: &reqwest::Client,
    submission_prefix: &str,
    note: &str,
    known_size: u64,
    mut proof: P,
) -> Result<Vec<String>, ClientError>
where
    P: FnMut(u64, u64) -> Result<Vec<Hash>, E>,
    E: std::fmt::Display,
{
    let size = armistice_merkle::checkpoint::parse_note(note)
        .map_err(|e| ClientError::BadResponse(format!("the checkpoint to send: {e}")))?
        .checkpoint
        .size;
    let url = format!("{}/add-checkpoint", submission_prefix.trim_end_matches('/'));
    reqwest::Url::parse(&url).map_err(|_| ClientError::BadUrl(submission_prefix.to_owned()))?;
    let mut old_size = known_size;
    for attempt in 0..2 {
        let proof = match old_size {
            0 => Vec::new(),
            old => proof(old, size).map_err(|e| ClientError::Proof {
                old_size: old,
                detail: e.to_string(),
            })?,
        };
        let body = AddCheckpointRequest {
            old_size,
            proof,
            note: note.to_owned(),
        }
        .to_body();
        match send(http, &url, body).await? {
            Answer::Cosigned(lines) => return Ok(lines),
            Answer::Conflict(recorded_size) if attempt == 0 => old_size = recorded_size,
            Answer::Conflict(recorded_size) => return Err(ClientError::Conflict { recorded_size }),
        }
    }
    // The second attempt always returns above.
    Err(ClientError::Conflict {
        recorded_size: old_size,
    })
}

enum Answer {
    Cosigned(Vec<String>),
    Conflict(u64),
}

async fn send(http: &reqwest::Client, url: &str, body: String) -> Result<Answer, ClientError> {
    let mut response = http
        .post(url)
        .timeout(Duration::from_secs(CLIENT_TIMEOUT_S))
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > RESPONSE_BYTES_MAX {
            return Err(ClientError::BadResponse(format!(
                "the response is over {RESPONSE_BYTES_MAX} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&bytes);
    match status {
        200 => cosignature_lines(&text).map(Answer::Cosigned),
        409 => {
            if content_type.as_deref() != Some(TLOG_SIZE_CONTENT_TYPE) {
                return Err(ClientError::BadResponse(format!(
                    "409 with content type {content_type:?}, not {TLOG_SIZE_CONTENT_TYPE}"
                )));
            }
            text.strip_suffix('\n')
                .and_then(|size| armistice_merkle::checkpoint::parse_size(size).ok())
                .map(Answer::Conflict)
                .ok_or_else(|| ClientError::BadResponse(format!("409 with body {text:?}")))
        }
        _ => Err(ClientError::Refused {
            status,
            body: text
                .chars()
                .take(400)
                .collect::<String>()
                .trim_end()
                .to_owned(),
        }),
    }
}

/// One or more signature lines, each ending in a newline.
fn cosignature_lines(text: &str) -> Result<Vec<String>, ClientError> {
    let lines = text
        .strip_suffix('\n')
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ClientError::BadResponse("no cosignature line".into()))?;
    lines
        .split('\n')
        .map(|line| {
            parse_signature_line(line)
                .map(|_| line.to_owned())
                .map_err(|e| ClientError::BadResponse(e.to_string()))
        })
        .collect()
}
