//! The remote side of the `armistice` commands: a blocking HTTP client of
//! `armistice serve` (reqwest with rustls, no OpenSSL) that trusts nothing
//! it is handed. Reads come back as the exact text the command prints
//! (the server renders with the same functions as the local command), so
//! the command line prints them as they are; an append comes back as a
//! receipt, which [`Client::append`] checks against the operator's key
//! before anyone reports success.
//!
//! Which key is the operator's: the one given (`--operator-vkey`), or else
//! the one pinned for this server on first use in a small file
//! ([`KnownServers`]); a later mismatch is a loud error.
//!
//! ```no_run
//! use armistice_client::Client;
//! let client = Client::new("http://127.0.0.1:8080", None)?;
//! let status = client.get_text("/v1/status", &[("format", "text".into())])?;
//! print!("{status}");
//! # Ok::<(), armistice_client::ClientError>(())
//! ```
#![warn(missing_docs)]

mod known;

pub use known::{KeySource, KnownServers};

use armistice_api::receipt::{verify_receipt, Checked, ReceiptError};
use armistice_api::wire::{ErrorBody, Receipt};
use armistice_merkle::note::NoteVerifier;
use reqwest::blocking::{Client as Http, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use std::time::Duration;

/// How long to wait for a connection to the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, or the transfer broke off.
    #[error("{url}: {detail}")]
    Transport {
        /// The server.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The server answered with an error.
    #[error("{}", .body.error)]
    Server {
        /// The HTTP status.
        status: u16,
        /// The server's error (message, line, field).
        body: ErrorBody,
    },
    /// The server's answer is not what the API says.
    #[error("the server's answer cannot be read: {0}")]
    Answer(String),
    /// A receipt does not show what it says: nothing is reported as recorded.
    #[error("the server's receipt does not verify: {0}")]
    Receipt(#[from] ReceiptError),
    /// The operator's key cannot be settled (pinning).
    #[error("{0}")]
    Key(String),
}

/// A server, reached over HTTP.
pub struct Client {
    http: Http,
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client of the server at `base` (`http://host:port`), with the
    /// operator's bearer token when operator statements are to be sent.
    pub fn new(base: &str, token: Option<String>) -> Result<Client, ClientError> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Key(format!(
                "--server {base}: give a URL, http://HOST:PORT or https://HOST"
            )));
        }
        let http = Http::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // Answers stream for as long as the log is long; the server bounds its own work.
            .timeout(None)
            .user_agent(concat!("armistice/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| transport(&base, &e))?;
        Ok(Client { http, base, token })
    }

    /// The server's URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GETs `path` with `query`, checking the status; the body is left to read.
    pub fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Response, ClientError> {
        let response = self
            .http
            .get(self.url(path))
            .query(query)
            .send()
            .map_err(|e| transport(&self.base, &e))?;
        checked(&self.base, response)
    }

    /// GETs `path` and returns its body as text.
    pub fn get_text(&self, path: &str, query: &[(&str, String)]) -> Result<String, ClientError> {
        self.get(path, query)?
            .text()
            .map_err(|e| transport(&self.base, &e))
    }

    /// Sends a batch of JSON Lines; returns the receipt, checked under `operator`.
    pub fn append(
        &self,
        lines: String,
        backfill: bool,
        operator: &NoteVerifier,
    ) -> Result<(Receipt, Checked), ClientError> {
        let mut request = self
            .http
            .post(self.url("/v1/events"))
            .header(CONTENT_TYPE, "application/x-ndjson")
            .body(lines);
        if backfill {
            request = request.query(&[("backfill", "true")]);
        }
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = checked(
            &self.base,
            request.send().map_err(|e| transport(&self.base, &e))?,
        )?;
        let text = response.text().map_err(|e| transport(&self.base, &e))?;
        let receipt: Receipt = serde_json::from_str(&text)
            .map_err(|e| ClientError::Answer(format!("not a receipt: {e}")))?;
        let checked = verify_receipt(&receipt, operator)?;
        Ok((receipt, checked))
    }

    /// The operator's verifier key as the server presents it (for the
    /// checkpoint of the whole log): to be pinned, never trusted as given.
    pub fn presented_operator_key(&self) -> Result<NoteVerifier, ClientError> {
        let text = self.get_text("/v1/checkpoint", &[("format", "json".to_owned())])?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ClientError::Answer(format!("checkpoint: {e}")))?;
        let vkey = value
            .get("vkey")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| ClientError::Answer("checkpoint: no `vkey`".to_owned()))?;
        NoteVerifier::parse(vkey)
            .map_err(|e| ClientError::Answer(format!("checkpoint: `vkey`: {e}")))
    }
}

fn transport(base: &str, error: &reqwest::Error) -> ClientError {
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    ClientError::Transport {
        url: base.to_owned(),
        detail,
    }
}

/// An error status becomes [`ClientError::Server`] with the server's message.
fn checked(base: &str, response: Response) -> Result<Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().map_err(|e| transport(base, &e))?;
    let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or_else(|_| ErrorBody {
        error: format!("{base} answered {status}: {}", text.trim()),
        line: None,
        field: None,
    });
    Err(ClientError::Server {
        status: status.as_u16(),
        body,
    })
}
