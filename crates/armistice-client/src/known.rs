//! Operator keys pinned on first use: `<server URL> <verifier key>` per line
//! in a small file, so that a server presenting another key later is a loud
//! error rather than a silent change of whom the receipts are trusted from.

use crate::{Client, ClientError};
use armistice_merkle::note::NoteVerifier;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file of pinned operator keys.
#[derive(Clone, Debug)]
pub struct KnownServers {
    path: PathBuf,
}

/// Where the operator key of a server came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// `--operator-vkey`.
    Given,
    /// Pinned earlier in the known-servers file.
    Pinned,
    /// Presented by the server now and pinned (first use).
    FirstUse,
}

impl KnownServers {
    /// The file at `path` (made when the first key is pinned).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        KnownServers { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key pinned for `server`, if any.
    pub fn lookup(&self, server: &str) -> Result<Option<NoteVerifier>, ClientError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ClientError::Key(format!(
                    "cannot read {}: {e}",
                    self.path.display()
                )))
            }
        };
        let server = normalized(server);
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let Some((url, vkey)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            if normalized(url) == server {
                return NoteVerifier::parse(vkey.trim()).map(Some).map_err(|e| {
                    ClientError::Key(format!(
                        "{}: the key pinned for {server} cannot be read: {e}",
                        self.path.display()
                    ))
                });
            }
        }
        Ok(None)
    }

    /// Pins `key` for `server`.
    pub fn pin(&self, server: &str, key: &NoteVerifier) -> Result<(), ClientError> {
        let fail = |e: std::io::Error| {
            ClientError::Key(format!(
                "cannot pin the operator key in {}: {e}",
                self.path.display()
            ))
        };
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let fresh = !self.path.exists();
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(fail)?;
        if fresh {
            writeln!(file, "# armistice: operator keys of servers, pinned on first use (server URL, verifier key)").map_err(fail)?;
        }
        writeln!(file, "{} {key}", normalized(server)).map_err(fail)?;
        file.sync_all().map_err(fail)
    }

    /// The operator key to check `client`'s receipts with: `given`, else the
    /// one pinned for the server, else the one the server presents now,
    /// pinned for next time.
    pub fn operator_key(
        &self,
        client: &Client,
        given: Option<NoteVerifier>,
    ) -> Result<(NoteVerifier, KeySource), ClientError> {
        if let Some(given) = given {
            return Ok((given, KeySource::Given));
        }
        if let Some(pinned) = self.lookup(client.base())? {
            return Ok((pinned, KeySource::Pinned));
        }
        let presented = client.presented_operator_key()?;
        self.pin(client.base(), &presented)?;
        Ok((presented, KeySource::FirstUse))
    }
}

fn normalized(server: &str) -> String {
    server.trim().trim_end_matches('/').to_owned()
}
