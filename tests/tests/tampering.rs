//! Tampering that re-chains what it changed, done by editing sled while the
//! ledger is closed and without the operator's key: the last entry
//! rewritten, the last entries deleted, two entries swapped, the sled tree
//! rolled back to an earlier copy. Every hash inside sled agrees afterwards,
//! so only something kept outside sled (a head record beside it) can tell;
//! plain `verify` must catch each one.

mod common;
#[path = "common/faults.rs"]
mod faults;
#[path = "common/tamper.rs"]
mod tamper;

use common::{describe, spring_2025, Ledger};
use faults::{copy_dir, run_limited};

/// The spring-2025 example and three unsigned claims recorded in one batch
/// (one `recorded_at`, so swapping two keeps the time order): 64 entries.
fn ledger() -> Ledger {
    let ledger = Ledger::new();
    ledger.backfill(&spring_2025());
    ledger.record(&faults::spring_claims("T", 3));
    assert_eq!(ledger.head().entries, 64);
    ledger
}

/// `verify` must not pass: exit 1 (damage found) or 2 (refused, with a
/// message); never a panic, never "ok".
fn assert_caught(ledger: &Ledger, what: &str) {
    let output = run_limited(ledger.dir(), ledger.path(), &["verify"], 60);
    faults::assert_no_crash(&output, what);
    assert_ne!(
        output.status.code(),
        Some(0),
        "{what}: plain verify passed a tampered ledger: {}",
        describe(&output)
    );
    println!("{what}: caught: {}", describe(&output));
}

#[test]
fn the_last_entry_rewritten_and_rechained_is_caught() {
    let ledger = ledger();
    tamper::rewrite_last_entry(ledger.path(), |statement| {
        if let armistice_core::Event::ViolationAlleged(e) = &mut statement.event {
            tamper::replace_text(
                &mut e.description,
                "Generated claim T2",
                "Generated claim X2",
            );
        }
    });
    // The rewrite took (the helper is not a no-op).
    let db = tamper::open_tree(ledger.path());
    let last = tamper::entries(&db).pop().expect("an entry");
    assert!(last.windows(18).any(|w| w == b"Generated claim X2"));
    drop(db);
    assert_caught(&ledger, "the last entry rewritten");
}

#[test]
fn the_last_entries_deleted_are_caught() {
    let ledger = ledger();
    tamper::drop_last_entries(ledger.path(), 2);
    assert_caught(&ledger, "the last 2 entries deleted");
}

#[test]
fn two_entries_swapped_and_rechained_are_caught() {
    let ledger = ledger();
    // Seqs 63 and 64: two claims of the same batch.
    tamper::swap_entries(ledger.path(), 62, 63);
    assert_caught(&ledger, "entries 63 and 64 swapped");
}

#[test]
fn the_sled_tree_rolled_back_to_an_earlier_copy_is_caught() {
    // Needs no knowledge of the layout at all: an older sled folder put back.
    let ledger = ledger();
    let old = ledger.dir().join("sled-at-64");
    copy_dir(&ledger.path().join("sled"), &old);
    ledger.record(&faults::spring_claim("LATER"));
    assert_eq!(ledger.head().entries, 65);
    std::fs::remove_dir_all(ledger.path().join("sled")).expect("remove sled");
    copy_dir(&old, &ledger.path().join("sled"));
    assert_caught(&ledger, "sled rolled back from 65 to 64 entries");
}

/// The helpers change sled consistently: without the tamper-evident part
/// (today), the re-chained ledger reads as whole. Guards the helpers
/// against "caught" because they broke something crude.
#[test]
fn the_tamper_helpers_leave_every_hash_inside_sled_consistent() {
    let ledger = ledger();
    tamper::swap_entries(ledger.path(), 62, 63);
    tamper::swap_entries(ledger.path(), 62, 63);
    let output = run_limited(ledger.dir(), ledger.path(), &["verify"], 60);
    // Swapping back restores the original bytes, so this must pass on any layout.
    assert!(
        output.status.success(),
        "swapping twice restores the ledger: {}",
        describe(&output)
    );
    let entries = ledger.entries();
    assert_eq!(entries.len(), 64);
    assert_eq!(entries[62]["claim"], "T1");
    assert_eq!(entries[63]["claim"], "T2");
}
