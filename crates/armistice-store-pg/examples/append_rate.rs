//! Appends per second from 8 and 64 writer threads, one event per append:
//! PostgreSQL with one synchronous standby, PostgreSQL alone, and sled, in
//! the same run. A quick measurement for docs/SCALING.md (the benchmark
//! suite takes it over later):
//!
//!     cargo run -p armistice-store-pg --example append_rate [SECONDS]

use armistice_store::{Ledger, Store};
use armistice_store_conformance::data::{append, claim, operator, ORIGIN, SETUP};
use armistice_store_pg::{PgOptions, PgStore};
use armistice_testkit::pg::{Cluster, REPLICATION_TIMEOUT};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Appends from `threads` writers for `duration`; appends per second.
fn rate(store: &dyn Store, threads: usize, duration: Duration, tag: &str) -> f64 {
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for t in 0..threads {
            let (done, stop) = (&done, &stop);
            scope.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    append(store, &[&claim(&format!("{tag}-{t}-{i}"))]);
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            });
        }
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
    });
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn pg_store(url: &str) -> PgStore {
    let key = operator();
    let store = PgStore::create(
        &PgOptions::new(url),
        &key.verifying_key().to_bytes(),
        ORIGIN,
    )
    .unwrap();
    store.attach_operator_key(key).unwrap();
    append(&store, &SETUP);
    store
}

fn report_pg(name: &str, store: &PgStore, threads: usize, duration: Duration) {
    let before = store.stats();
    let tag: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    let per_s = rate(store, threads, duration, &format!("{tag}{threads}"));
    let after = store.stats();
    let transactions = after.transactions - before.transactions;
    let appends = after.appends - before.appends;
    let locked = (after.locked_micros - before.locked_micros) as f64;
    let staging = (after.staging_micros - before.staging_micros) as f64;
    let ahead = after.staged_ahead - before.staged_ahead;
    println!(
        "{name:<28} {threads:>3} writers: {per_s:>8.0} appends/s  ({:.1} appends per transaction, {:.0}% staged ahead of the lock; head row held {:.2} ms per transaction, {:.0}% of it staging)",
        appends as f64 / transactions.max(1) as f64,
        100.0 * ahead as f64 / transactions.max(1) as f64,
        locked / transactions.max(1) as f64 / 1000.0,
        100.0 * staging / locked.max(1.0),
    );
}

fn main() {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let duration = Duration::from_secs(seconds);
    let primary = Cluster::primary().expect("PostgreSQL");
    let standby = Cluster::standby_of(&primary, "s1").unwrap();
    primary
        .set_synchronous_standby_names("FIRST 1 (s1)")
        .unwrap();
    primary.wait_synchronous("s1", REPLICATION_TIMEOUT).unwrap();
    let synced = pg_store(&primary.url());
    let alone_cluster = Cluster::primary().unwrap();
    let alone = pg_store(&alone_cluster.url());
    let dir = tempfile::TempDir::new().unwrap();
    let ledger = Ledger::create(
        &dir.path().join("l"),
        &operator().verifying_key().to_bytes(),
        ORIGIN,
    )
    .unwrap();
    ledger.attach_operator_key(operator()).unwrap();
    append(&ledger, &SETUP);
    for threads in [8, 64] {
        report_pg("postgres + sync standby", &synced, threads, duration);
        report_pg("postgres alone", &alone, threads, duration);
        let flushes = ledger.flushes();
        let per_s = rate(&ledger, threads, duration, &format!("sled{threads}"));
        println!(
            "{:<28} {threads:>3} writers: {per_s:>8.0} appends/s  ({} flushes)",
            "sled",
            ledger.flushes() - flushes
        );
    }
    drop(standby);
}
