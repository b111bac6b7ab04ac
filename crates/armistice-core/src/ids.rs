//! Validated identifiers: parties, agreements, claims and the streams they name.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest identifier accepted, in bytes.
pub const ID_BYTES_MAX: usize = 64;

/// The `by` of statements made by the ledger's keeper, never a registrable party.
pub const OPERATOR: &str = "operator";

fn check_id(kind: &str, text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err(format!("{kind} id is empty"));
    }
    if text.len() > ID_BYTES_MAX {
        return Err(format!(
            "{kind} id `{text}` is {} bytes long; the limit is {ID_BYTES_MAX}",
            text.len()
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if let Some(bad) = text.chars().find(|c| !allowed(*c)) {
        return Err(format!(
            "{kind} id `{text}` contains `{bad}`; use letters, digits, `-`, `_`, `.` or `:`"
        ));
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `text` (1 to 64 bytes of letters, digits, `-`, `_`, `.`, `:`).
            pub fn new(text: impl Into<String>) -> Result<Self, String> {
                let text = text.into();
                check_id($kind, &text)?;
                Ok(Self(text))
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                Self::new(text)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
    };
}

id_type!(
    /// A party's short code (`UA`, `RU`, `OSCE`), or `operator` for the ledger's keeper.
    PartyId,
    "party"
);
id_type!(
    /// An agreement's id, chosen by whoever proposes it.
    AgreementId,
    "agreement"
);
id_type!(
    /// A claim's id, chosen by the claimant or assigned by the ledger.
    ClaimId,
    "claim"
);

impl PartyId {
    /// The ledger keeper's id.
    pub fn operator() -> Self {
        Self(OPERATOR.to_owned())
    }

    /// Whether this is the ledger keeper rather than a registered party.
    pub fn is_operator(&self) -> bool {
        self.0 == OPERATOR
    }
}

/// The stream an event belongs to: every event extends exactly one stream,
/// and each stream has its own gap-free version.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum StreamId {
    /// `party/<id>`: registration and key rotations.
    Party(PartyId),
    /// `agreement/<id>`: the agreement's own life.
    Agreement(AgreementId),
    /// `claim/<id>`: an allegation, its evidence, answers and assessments.
    Claim(ClaimId),
    /// `ledger`: statements about the ledger itself (redactions).
    Ledger,
}

impl StreamId {
    /// The stream's name as stored and shown: `party/UA`, `claim/X`, `ledger`.
    pub fn name(&self) -> String {
        match self {
            StreamId::Party(id) => format!("party/{id}"),
            StreamId::Agreement(id) => format!("agreement/{id}"),
            StreamId::Claim(id) => format!("claim/{id}"),
            StreamId::Ledger => "ledger".to_owned(),
        }
    }

    /// Whether `name` is this stream's name (without building the name: replay
    /// checks it for every entry).
    pub fn has_name(&self, name: &str) -> bool {
        let (prefix, id) = match self {
            StreamId::Party(id) => ("party/", id.as_str()),
            StreamId::Agreement(id) => ("agreement/", id.as_str()),
            StreamId::Claim(id) => ("claim/", id.as_str()),
            StreamId::Ledger => return name == "ledger",
        };
        name.strip_prefix(prefix) == Some(id)
    }

    /// Parses a stream name made by [`StreamId::name`].
    pub fn parse(name: &str) -> Result<Self, String> {
        if name == "ledger" {
            return Ok(StreamId::Ledger);
        }
        let (kind, id) = name
            .split_once('/')
            .ok_or_else(|| format!("stream `{name}` has no `kind/` prefix"))?;
        match kind {
            "party" => Ok(StreamId::Party(PartyId::new(id)?)),
            "agreement" => Ok(StreamId::Agreement(AgreementId::new(id)?)),
            "claim" => Ok(StreamId::Claim(ClaimId::new(id)?)),
            _ => Err(format!("stream `{name}` has an unknown kind `{kind}`")),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
#[path = "tests/ids.rs"]
mod tests;
