//! The Armistice log on PostgreSQL: a second implementation of
//! [`armistice_store::Store`], for several `armistice serve` processes, on
//! one machine or many, over one log.
//!
//! Every decision about an entry (signatures, idempotency, expected
//! versions, the rules, copies, redactions, the leaf, its hash and the
//! Merkle nodes) is made by the backend-neutral
//! [`armistice_store::stage::Stage`], exactly as the sled store makes it;
//! this crate reads and writes rows around it:
//!
//! - appends: one transaction per group of concurrent appends that locks
//!   the single head row, writes every batch's rows, moves the head and
//!   commits ([`append`](crate::PgStore::append)); a group is staged while
//!   the one before it commits, and staged again under the lock when the
//!   head it finds is not the one it was staged after. The order of the log
//!   is global and gap-free across servers, and an append is acknowledged
//!   once PostgreSQL's commit is durable (on a synchronous standby too, when
//!   the server names one);
//! - reads: any committed row is a durable entry; reads may go to a
//!   standby ([`PgOptions::read_from`]);
//! - proofs and checkpoints from the stored subtree hashes; one checkpoint
//!   per size;
//! - `verify` re-checks every row, index, node, the head and the
//!   checkpoints.
//!
//! The tables are described in [`schema`]; `docs/SCALING.md` says how the
//! store behaves with several servers and standbys.
//!
//! ```no_run
//! use armistice_store_pg::{PgOptions, PgStore};
//!
//! let options = PgOptions::new("postgresql://armistice@127.0.0.1:5432/armistice");
//! let store = PgStore::create(&options, &[7; 32], "example.org/log")?;
//! assert_eq!(store.head().seq, 0);
//! # Ok::<(), armistice_store::StoreError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod append;
mod error;
mod pool;
mod read;
pub mod schema;
mod store;
mod trust;
mod verify;
mod watch;

pub use append::{PgSession, GROUP_APPENDS_MAX};
pub use read::{PgEntries, PgRecords};
pub use store::{display_url, AppendStats, PgOptions, PgStore, CONNECTIONS_MAX_DEFAULT};
