//! The store conformance suite: one set of checks every implementation of
//! [`armistice_store::Store`] passes, written once, run on every backend.
//!
//! - [`checks`]: what one store must do, whatever keeps it (gap-free
//!   appends, atomic batches, idempotency, expected versions, sessions,
//!   redaction, proofs equal to an in-memory tree's, checkpoints, the head
//!   watch, concurrent writers). [`store_conformance!`] makes one `#[test]`
//!   of each for a backend.
//! - [`across`]: what two backends must agree on: a faithful copy moves
//!   from one to the other and back byte for byte, with the old checkpoints
//!   still valid, and the queries give the same records.
//! - [`backends`]: sled in a temporary folder, and PostgreSQL on a
//!   throwaway server of the test kit (a skip where PostgreSQL is not
//!   installed, a failure under CI).
//!
//! `tests/sled.rs` and `tests/postgres.rs` run the suite on each backend;
//! `tests/across.rs` runs the cross-backend checks both ways. A new backend
//! implements [`backends::Backend`] and adds one line:
//!
//! ```text
//! armistice_store_conformance::store_conformance!(Some(MyBackend::new()));
//! ```
//!
//! A dev-only crate (never published, never linked into a binary): it
//! sits above both store crates, so neither depends on the other.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod across;
pub mod backends;
pub mod checks;
pub mod data;

/// Makes one `#[test]` per check of [`checks`] for the backend `$backend`
/// (an expression giving `Option<impl Backend>`; `None` skips).
#[macro_export]
macro_rules! store_conformance {
    ($backend:expr) => {
        $crate::store_conformance!(@tests $backend;
            appends_are_gap_free_and_read_back,
            a_rejected_batch_changes_nothing,
            a_resent_event_is_a_duplicate_and_other_content_is_refused,
            expected_versions_order_a_stream,
            sessions_land_whole_or_not_at_all,
            redaction_keeps_every_hash,
            proofs_equal_a_memory_trees,
            checkpoints_are_kept_once_per_size,
            the_head_watch_sees_appends,
            concurrent_appends_are_gap_free,
            the_spring_2025_example_verifies
        );
    };
    (@tests $backend:expr; $($check:ident),*) => {
        $(
            #[test]
            fn $check() {
                if let Some(backend) = $backend {
                    $crate::checks::$check(&backend);
                }
            }
        )*
    };
}
