//! The store conformance suite on the PostgreSQL store (skipped where
//! PostgreSQL is not installed, never under CI).

armistice_store_conformance::store_conformance!(
    armistice_store_conformance::backends::Postgres::new()
);
