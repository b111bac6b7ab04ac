//! Durability with a synchronous standby: the primary killed (-9) during
//! appends and the standby promoted loses no acknowledged entry and adds
//! none twice; a commit whose acknowledgement was lost is reported as
//! unknown and is safe to send again; reads from a standby.

use armistice_core::json::Submission;
use armistice_store::StoreError;
use armistice_store_conformance::data::{append, claim, operator, options, sub, ORIGIN, SETUP};
use armistice_store_pg::{PgOptions, PgStore};
use armistice_testkit::or_skip;
use armistice_testkit::pg::{Cluster, REPLICATION_TIMEOUT};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// A primary with the synchronous standby `s1` (`FIRST 1 (s1)`).
fn primary_and_standby() -> Option<(Cluster, Cluster)> {
    let primary = or_skip(Cluster::primary())?;
    let standby = Cluster::standby_of(&primary, "s1").unwrap();
    primary
        .set_synchronous_standby_names("FIRST 1 (s1)")
        .unwrap();
    primary.wait_synchronous("s1", REPLICATION_TIMEOUT).unwrap();
    Some((primary, standby))
}

/// Both servers in one URL: a connection finds whichever is the primary.
fn failover_url(primary: &Cluster, standby: &Cluster) -> String {
    format!(
        "postgresql://postgres@127.0.0.1:{},127.0.0.1:{}/armistice?target_session_attrs=read-write&connect_timeout=2",
        primary.port(),
        standby.port()
    )
}

fn new_store(url: &str) -> PgStore {
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

/// Waits (bounded) until `done`.
fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every row's event id occurs once, and the seqs run 1..=n.
fn assert_no_duplicate(url: &str) {
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let row = client
        .query_one(
            "SELECT count(*), count(DISTINCT event_id), coalesce(min(seq), 1), coalesce(max(seq), 0) FROM armistice.entries",
            &[],
        )
        .unwrap();
    let (rows, ids, min, max): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((rows, min, max), (ids, 1, rows), "duplicates or gaps");
}

#[test]
fn a_primary_killed_during_appends_loses_no_acknowledged_entry() {
    let Some((primary, standby)) = primary_and_standby() else {
        return;
    };
    let url = failover_url(&primary, &standby);
    let store = new_store(&url);
    let acknowledged: Mutex<BTreeMap<Uuid, u64>> = Mutex::new(BTreeMap::new());
    let failed: Mutex<Vec<Submission>> = Mutex::new(Vec::new());
    let after_failover = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let finished = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for writer in 0..4 {
            let (store, acknowledged, failed) = (&store, &acknowledged, &failed);
            let (stop, after_failover, finished) = (&stop, &after_failover, &finished);
            scope.spawn(move || {
                let _done = Finished(finished);
                let mut i = 0;
                let mut acked_after = 0;
                while !stop.load(Ordering::SeqCst) {
                    let submission = sub(&claim(&format!("k{writer}-{i}")));
                    i += 1;
                    match store.append(std::slice::from_ref(&submission), &options()) {
                        Ok(appended) => {
                            let mut acked = acknowledged.lock().unwrap();
                            acked.insert(appended[0].event_id, appended[0].seq);
                            if after_failover.load(Ordering::SeqCst) {
                                acked_after += 1;
                                if acked_after >= 5 {
                                    return;
                                }
                            }
                        }
                        Err(StoreError::Rejected { rejection, .. }) => {
                            panic!("writer {writer}: {rejection}")
                        }
                        Err(_) => {
                            failed.lock().unwrap().push(submission);
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                }
            });
        }
        wait_until("40 acknowledged appends", Duration::from_secs(60), || {
            acknowledged.lock().unwrap().len() >= 40
        });
        primary.kill9().unwrap();
        standby.promote().unwrap();
        after_failover.store(true, Ordering::SeqCst);
        // Writers stop by themselves after five appends to the new primary;
        // this bounds the test should they never get one.
        let deadline = Instant::now() + Duration::from_secs(120);
        while finished.load(Ordering::SeqCst) < 4 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        stop.store(true, Ordering::SeqCst);
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(
        acknowledged.len() >= 60,
        "appends went on after the failover"
    );
    // A new handle on the promoted standby, as a restarted server has.
    let store = PgStore::open(&PgOptions::new(&url)).unwrap();
    store.attach_operator_key(operator()).unwrap();
    for (event_id, seq) in &acknowledged {
        let record = store.record(*seq).unwrap();
        assert_eq!(
            record.header.event_id, *event_id,
            "acknowledged entry {seq} is lost"
        );
    }
    // What failed may or may not have landed: sent again, it lands once.
    let failed = failed.into_inner().unwrap();
    for submission in &failed {
        store
            .append(std::slice::from_ref(submission), &options())
            .unwrap();
    }
    assert_no_duplicate(&standby.url());
    let report = store.verify().unwrap();
    assert_eq!(report.problems, vec![]);
    assert_eq!(
        report.entries,
        (SETUP.len() + acknowledged.len() + failed.len()) as u64
    );
    append(&store, &[&claim("after")]);
}

/// Counts a writer as finished when it returns (or panics).
struct Finished<'a>(&'a AtomicUsize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// The backend pid of the commit waiting for the standby.
fn waiting_commit(primary: &Cluster) -> i32 {
    let mut client = primary.connect().unwrap();
    let mut pid = None;
    wait_until(
        "a commit waiting for the standby",
        Duration::from_secs(30),
        || {
            pid = client
            .query_opt(
                "SELECT pid FROM pg_stat_activity WHERE wait_event = 'SyncRep' AND application_name = 'armistice'",
                &[],
            )
            .unwrap()
            .map(|row| row.get(0));
            pid.is_some()
        },
    );
    pid.unwrap_or_default()
}

/// The standby stops, a commit waits for it, and the wait ends by
/// `stop_waiting` (the connection terminated, or the wait cancelled): the
/// append is reported as of unknown outcome; once the standby is back,
/// sending it again answers "duplicate", and it is stored once.
fn lost_acknowledgement(stop_waiting: &str) {
    let Some((primary, standby)) = primary_and_standby() else {
        return;
    };
    let url = primary.url();
    let store = new_store(&url);
    standby.stop().unwrap();
    let submission = sub(&claim("lost"));
    let outcome = std::thread::scope(|scope| {
        let sent = scope.spawn(|| store.append(std::slice::from_ref(&submission), &options()));
        let pid = waiting_commit(&primary);
        // While the commit waits for the standby, nobody sees it, not even
        // on the primary: an entry is never shown before it is durable.
        assert_eq!(store.head().seq, 6);
        let mut reader = primary.connect().unwrap();
        let shown: i64 = reader
            .query_one("SELECT count(*) FROM armistice.entries WHERE seq = 7", &[])
            .unwrap()
            .get(0);
        assert_eq!(shown, 0, "a commit waiting for the standby is visible");
        primary
            .execute(&format!("SELECT {stop_waiting}({pid})"))
            .unwrap();
        sent.join().unwrap()
    });
    match outcome {
        Err(StoreError::OutcomeUnknown(detail)) => {
            let message = StoreError::OutcomeUnknown(detail).to_string();
            assert!(message.contains("same event ids"), "{message}");
        }
        other => panic!("{stop_waiting}: expected an unknown outcome, got {other:?}"),
    }
    standby.start().unwrap();
    primary.wait_synchronous("s1", REPLICATION_TIMEOUT).unwrap();
    let again = store
        .append(std::slice::from_ref(&submission), &options())
        .unwrap();
    assert!(
        again[0].duplicate,
        "{stop_waiting}: the first commit had landed"
    );
    assert_eq!(again[0].seq, 7);
    assert_no_duplicate(&url);
    assert_eq!(store.verify().unwrap().problems, vec![]);
    // And it is on the standby (flushed before the duplicate's answer;
    // shown once replayed).
    let mut on_standby = standby.connect().unwrap();
    wait_until(
        "the standby to show entry 7",
        Duration::from_secs(30),
        || {
            on_standby
                .query("SELECT seq FROM armistice.entries WHERE seq = 7", &[])
                .is_ok_and(|rows| rows.len() == 1)
        },
    );
}

#[test]
fn a_commit_whose_connection_died_is_unknown_and_safe_to_send_again() {
    lost_acknowledgement("pg_terminate_backend");
}

#[test]
fn a_commit_whose_standby_wait_was_cancelled_is_unknown_and_safe_to_send_again() {
    lost_acknowledgement("pg_cancel_backend");
}

#[test]
fn reads_from_a_standby_show_only_what_it_has() {
    let Some((primary, standby)) = primary_and_standby() else {
        return;
    };
    let writer = new_store(&primary.url());
    let reader = PgStore::open(&PgOptions::new(&primary.url()).read_from(&standby.url())).unwrap();
    let watch = reader.watch_head();
    for i in 0..20 {
        let appended = append(&writer, &[&claim(&format!("r{i}"))]);
        let seq = appended[0].seq;
        // The standby flushed it before the commit returned; it shows it
        // once replayed, never an entry past its own head.
        wait_until(
            "the standby to show the entry",
            Duration::from_secs(30),
            || reader.head().seq >= seq,
        );
        assert_eq!(reader.record(seq).unwrap().hash, appended[0].hash);
        let head = reader.head().seq;
        assert!(matches!(
            reader.entry_bytes(head + 1),
            Err(StoreError::NoSuchEntry { .. })
        ));
    }
    wait_until(
        "the watch to see the last head",
        Duration::from_secs(30),
        || watch.borrow().seq == 26,
    );
    assert_eq!(reader.verify().unwrap().problems, vec![]);
    assert!(matches!(
        reader.sign_checkpoint(26),
        Err(StoreError::WrongOperatorKey)
    ));
}
