//! What a projection query can refuse: names that the ledger does not know.

use armistice_core::{AgreementId, ClaimId};

/// A query about something the ledger does not hold under the view: a value
/// the CLI prints and maps to an exit code, never a panic.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProjectionError {
    /// No agreement with this id is visible under the view.
    #[error("unknown agreement `{agreement}`{}", known_list(.known))]
    UnknownAgreement {
        /// The id asked for.
        agreement: AgreementId,
        /// The agreements that are visible, to help the user.
        known: Vec<String>,
    },
    /// No claim with this id is visible under the view.
    #[error("unknown claim `{0}` (or not recorded by the --known-at date)")]
    UnknownClaim(ClaimId),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (no agreement is visible at that date)".to_owned()
    } else {
        format!("; known agreements: {}", known.join(", "))
    }
}
