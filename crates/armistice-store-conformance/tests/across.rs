//! Between the sled and the PostgreSQL store, both ways: faithful copies
//! and the queries.

use armistice_store_conformance::across;
use armistice_store_conformance::backends::{Postgres, Sled};

#[test]
fn a_sled_log_copies_to_postgres_and_back_byte_for_byte() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    across::copies_move_between_backends(&Sled, &postgres);
}

#[test]
fn a_postgres_log_copies_to_sled_and_back_byte_for_byte() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    across::copies_move_between_backends(&postgres, &Sled);
}

#[test]
fn queries_agree_between_sled_and_postgres() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    across::queries_agree(&Sled, &postgres);
}
