//! Reading what Chromium logged: console entries (the `browser` log) and the
//! hosts of the requests a page made (the `performance` log's DevTools
//! network events).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{Error, Result};

/// One entry of the browser console, as Chromium logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleEntry {
    /// `SEVERE` (errors), `WARNING`, `INFO`, `DEBUG`.
    pub level: String,
    /// `console-api` (a `console.*` call), `javascript` (an uncaught
    /// exception), `network` (a failed load), …
    pub source: String,
    /// The text, led by the URL and line of the page that logged it.
    pub message: String,
}

impl ConsoleEntry {
    /// Whether this is an error (`SEVERE`).
    pub fn is_error(&self) -> bool {
        self.level == "SEVERE"
    }
}

/// The entries of a `browser` log answer.
pub(crate) fn console_entries(answer: &Value) -> Result<Vec<ConsoleEntry>> {
    entries(answer, "browser log")?
        .iter()
        .map(|entry| {
            let text = |key: &str| entry[key].as_str().unwrap_or_default().to_owned();
            Ok(ConsoleEntry {
                level: text("level"),
                source: text("source"),
                message: text("message"),
            })
        })
        .collect()
}

/// The hosts of the requests in a `performance` log answer: every
/// `Network.requestWillBeSent` (sent or not: a request that failed counts)
/// and `Network.webSocketCreated` to an `http`, `https`, `ws` or `wss` URL.
pub(crate) fn requested_hosts(answer: &Value) -> Result<BTreeSet<String>> {
    let mut hosts = BTreeSet::new();
    for entry in entries(answer, "performance log")? {
        // Each entry's `message` is a JSON text: {"message": {"method", "params"}}.
        let Some(text) = entry["message"].as_str() else {
            continue;
        };
        let event: Value = serde_json::from_str(text)
            .map_err(|e| Error::unexpected("performance log entry", format!("{e}: {text}")))?;
        let params = &event["message"]["params"];
        let url = match event["message"]["method"].as_str() {
            Some("Network.requestWillBeSent") => &params["request"]["url"],
            Some("Network.webSocketCreated") => &params["url"],
            _ => continue,
        };
        if let Some(host) = url.as_str().and_then(host_of) {
            hosts.insert(host);
        }
    }
    Ok(hosts)
}

fn entries<'a>(answer: &'a Value, what: &str) -> Result<&'a Vec<Value>> {
    answer
        .as_array()
        .ok_or_else(|| Error::unexpected(what, answer.to_string()))
}

/// The host of a network URL (lower case, IPv6 in brackets, no port), or
/// `None` for `data:`, `chrome:`, `blob:` and other local schemes.
pub(crate) fn host_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "ws" | "wss"
    ) {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        &host_port[..=host_port.find(']')?]
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hosts_are_read_from_network_urls_only() {
        let cases = [
            ("http://192.0.2.1/x.png", Some("192.0.2.1")),
            (
                "https://User:pw@Example.ORG:8443/a?b#c",
                Some("example.org"),
            ),
            ("http://127.0.0.1:8080", Some("127.0.0.1")),
            ("ws://[::1]:9000/feed", Some("[::1]")),
            ("http://host?q=http://other/", Some("host")),
            ("data:image/png;base64,AAAA", None),
            ("chrome://resources/js/util.js", None),
            ("blob:http://127.0.0.1/uuid", None),
            ("about:blank", None),
        ];
        for (url, expected) in cases {
            assert_eq!(host_of(url).as_deref(), expected, "{url}");
        }
    }

    #[test]
    fn requests_and_websockets_count_other_events_do_not() {
        let event = |method: &str, params: Value| json!({"message": json!({"message": {"method": method, "params": params}}).to_string()});
        let answer = json!([
            event(
                "Network.requestWillBeSent",
                json!({"request": {"url": "http://127.0.0.1:5/"}})
            ),
            event(
                "Network.requestWillBeSent",
                json!({"request": {"url": "http://192.0.2.1/x.png"}})
            ),
            event(
                "Network.webSocketCreated",
                json!({"url": "ws://localhost:7/feed"})
            ),
            event(
                "Network.responseReceived",
                json!({"response": {"url": "http://203.0.113.9/"}})
            ),
        ]);
        let hosts: Vec<String> = requested_hosts(&answer).unwrap().into_iter().collect();
        assert_eq!(hosts, ["127.0.0.1", "192.0.2.1", "localhost"]);
    }

    #[test]
    fn console_entries_keep_level_source_and_message() {
        let answer = json!([{"level": "SEVERE", "source": "javascript", "message": "x 1:2 Uncaught Error: e", "timestamp": 1}]);
        let entries = console_entries(&answer).unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries[0].is_error());
        assert_eq!(entries[0].source, "javascript");
    }
}
