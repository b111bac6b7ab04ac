//! Armistice's domain: identifiers, the event model, the rules enforced at
//! append, the canonical stored encoding and statement signatures.
//!
//! This crate knows nothing of sled, files, terminals or clocks: times and
//! fresh ids are passed in by the caller.
#![warn(missing_docs)]

pub mod disclose;
pub mod entry;
pub mod event;
pub mod ids;
pub mod json;
pub mod redact;
pub mod rejection;
pub mod rules;
pub mod sign;
pub mod time;

pub use entry::{Hash, Header, Record, Redaction};
pub use event::{Event, EventType, Statement};
pub use ids::{AgreementId, ClaimId, PartyId, StreamId};
pub use rejection::Rejection;
pub use time::Timestamp;
