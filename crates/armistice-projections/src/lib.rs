//! Projections of the Armistice log: agreement status, the claims register,
//! the audit of one claim and a readable timeline, each a pure fold over
//! records in `seq` order.
//!
//! Nothing here reads files, clocks or terminals: the caller feeds records
//! (from the store, or any iterator) and passes "now" inside a [`View`].
//! The same records and view always give the same result, and every JSON
//! object carries [`RULES_VERSION`] so that a later change of rules stays
//! attributable.
//!
//! Bitemporal replay: a [`View`] keeps the records whose `occurred_at` is at
//! or before `at` (world time) and whose `recorded_at` is at or before
//! `known_at` (ledger time), and evaluates time-dependent status at `at`.
//!
//! ```
//! use armistice_core::{json::parse_line, Header, Record, Timestamp};
//! use armistice_projections::{replay, AgreementStatus, View};
//!
//! let lines = [
//!     r#"{"type":"party_registered","by":"operator","party":"RU","name":"Russia","role":"belligerent"}"#,
//!     r#"{"type":"agreement_proposed","by":"RU","agreement":"easter","title":"Easter truce","kind":"unilateral","parties":["RU"],"scope":["all_hostilities"],"effective_from":"2025-04-19T15:00:00Z","expires_at":"2025-04-20T21:00:00Z"}"#,
//! ];
//! let at = Timestamp::parse_rfc3339("2025-04-19T12:00:00Z").unwrap();
//! let records: Vec<Record> = lines
//!     .iter()
//!     .enumerate()
//!     .map(|(i, line)| {
//!         let mut statement = parse_line(line, uuid_like(i)).unwrap().statement;
//!         statement.occurred_at = at;
//!         Record {
//!             header: Header {
//!                 schema: 1,
//!                 seq: i as u64 + 1,
//!                 recorded_at: at,
//!                 occurred_at: at,
//!                 event_type: statement.event.event_type(),
//!                 backfilled: false,
//!                 event_id: statement.event_id,
//!                 stream: statement.stream().name(),
//!                 version: 1,
//!                 by: statement.by.clone(),
//!                 prev_hash: [0; 32],
//!                 payload_sha256: [0; 32],
//!                 signature: None,
//!             },
//!             hash: [0; 32],
//!             statement,
//!             redaction: armistice_core::Redaction::None,
//!         }
//!     })
//!     .collect();
//! # fn uuid_like(i: usize) -> uuid::Uuid { uuid::Uuid::from_u128(i as u128 + 1) }
//!
//! // Declared at noon, in force from 15:00 until the evening of the 20th.
//! let noon = replay(&records, View::at(at));
//! assert_eq!(noon.status(None).unwrap()[0].status, AgreementStatus::Pending);
//! let evening = Timestamp::parse_rfc3339("2025-04-19T18:00:00Z").unwrap();
//! let later = replay(&records, View::at(evening));
//! let rows = later.status(None).unwrap();
//! assert_eq!(rows[0].status, AgreementStatus::InForce);
//! assert_eq!(rows[0].signed_by[0].as_str(), "RU");
//! assert_eq!(rows[0].rules, "1");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod audit;
mod claims;
mod error;
mod fold;
mod render;
mod status;
mod story;
mod text;

pub use audit::{
    audit_records, Audit, AuditCollector, AuditEntry, AuditFinding, AuditInputs, EvidenceCheck,
    EvidenceOutcome, EvidenceRef, FindingCode, Relation, SignatureCheck,
};
pub use claims::{parse_category, ClaimFilter, ClaimRow, ClaimState, Flag, CATEGORY_NAMES};
pub use error::ProjectionError;
pub use fold::{replay, Party, Projection, Replay, View};
pub use render::{render_audit, render_claims, render_status, Parties};
pub use status::{
    AggregateClaim, AgreementStatus, Alleged, ClaimCounts, ContestedReading, StatusRow,
};
pub use story::{render_story, timeline_story, Story, StoryLine, StoryParty, StoryReplay};

/// The version of the rules these projections apply, shown as `"rules"` in
/// every JSON object so that a later change of rules stays attributable.
pub const RULES_VERSION: &str = "1";

/// How long after the fact an answer or a recording may come before the
/// audit calls it late: seven days, in microseconds.
pub const LATE_AFTER_MICROS: i64 = 7 * 24 * 60 * 60 * 1_000_000;
