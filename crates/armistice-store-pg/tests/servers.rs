//! Several servers over one PostgreSQL log: handles appending at once,
//! rule state and operator keys seen across them, one checkpoint per size,
//! and what the database itself refuses.

use armistice_core::json::Submission;
use armistice_store::{Appended, Store, StoreError};
use armistice_store_conformance::backends::Postgres;
use armistice_store_conformance::data::{append, claim, operator, options, subs, ORIGIN, SETUP};
use armistice_store_pg::{PgOptions, PgStore};
use ed25519_dalek::SigningKey;
use std::collections::HashSet;

/// A new log with [`SETUP`] and two handles on it, both signing.
fn two_servers(postgres: &Postgres) -> (PgStore, PgStore, String) {
    let url = postgres.database();
    let key = operator();
    let a = PgStore::create(
        &PgOptions::new(&url),
        &key.verifying_key().to_bytes(),
        ORIGIN,
    )
    .unwrap();
    a.attach_operator_key(key.clone()).unwrap();
    append(&a, &SETUP);
    let b = PgStore::open(&PgOptions::new(&url)).unwrap();
    b.attach_operator_key(key).unwrap();
    (a, b, url)
}

fn rejection(result: Result<Vec<Appended>, StoreError>) -> String {
    match result {
        Err(StoreError::Rejected { rejection, .. }) => rejection.to_string(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn two_servers_appending_at_once_keep_one_gap_free_order() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, b, _) = two_servers(&postgres);
    let per_thread = 12;
    let mut seqs: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let server = if t % 2 == 0 { &a } else { &b };
                scope.spawn(move || {
                    (0..per_thread)
                        .map(|i| append(server, &[&claim(&format!("t{t}-{i}"))])[0].seq)
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    seqs.sort_unstable();
    assert_eq!(seqs, (7..7 + 8 * per_thread).collect::<Vec<u64>>());
    assert_eq!(a.head(), b.head());
    assert_eq!(a.verify().unwrap().problems, vec![]);
    assert_eq!(b.export_lines(), a.export_lines());
}

/// What one server appended, the other's rules see at once: a claim filed
/// through A is answered through B, and filing it again through A is
/// refused (A's cached rule state is dropped when the head moved under it).
#[test]
fn each_server_judges_against_what_the_others_appended() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, b, _) = two_servers(&postgres);
    append(&a, &[&claim("x1")]);
    let respond = r#"{"type":"allegation_responded","by":"RU","claim":"x1","response":"denied","statement":"no"}"#;
    append(&b, &[respond]);
    let message = rejection(a.append(&subs(&[&claim("x1")]), &options()));
    assert!(message.contains("claim `x1` already exists"), "{message}");
    let retract = r#"{"type":"allegation_retracted","by":"UA","claim":"x1","reason":"mistaken"}"#;
    append(&a, &[retract]);
    let message = rejection(b.append(&subs(&[respond]), &options()));
    assert!(message.contains("retracted"), "{message}");
    // An event id stored through one server is a duplicate through the other.
    let line = claim("x2").replace(
        r#""type":"violation_alleged","#,
        r#""type":"violation_alleged","event_id":"0195865d-0d00-7151-80b4-f355638800ab","#,
    );
    let first = append(&a, &[&line]);
    let again = append(&b, &[&line]);
    assert!(again[0].duplicate && again[0].seq == first[0].seq);
    assert_eq!(b.verify().unwrap().problems, vec![]);
}

#[test]
fn a_rotation_through_one_server_holds_on_the_other() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, b, _) = two_servers(&postgres);
    let new_key = SigningKey::from_bytes(&[11; 32]);
    a.prepare_rotation(new_key.clone());
    let hex: String = new_key
        .verifying_key()
        .to_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let rotation =
        format!(r#"{{"type":"operator_key_rotated","by":"operator","public_key":"{hex}"}}"#);
    let rotated = append(&a, &[&rotation]);
    assert_eq!(rotated[0].seq, 7);
    assert_eq!(
        b.operator_keys().current(),
        new_key.verifying_key().to_bytes()
    );
    assert!(!b.can_sign(), "B holds the old key, no longer in force");
    let register = r#"{"type":"party_registered","by":"operator","party":"EU","name":"European Union","role":"mediator"}"#;
    let message = rejection(b.append(&subs(&[register]), &options()));
    assert!(message.contains("not the one in force"), "{message}");
    append(&a, &[register]);
    let checkpoint = a.sign_checkpoint(8).unwrap();
    checkpoint.verify(ORIGIN, &new_key.verifying_key()).unwrap();
    assert!(matches!(
        b.sign_checkpoint(8),
        Err(StoreError::WrongOperatorKey)
    ));
    b.attach_operator_key(new_key).unwrap();
    assert_eq!(b.sign_checkpoint(8).unwrap(), checkpoint);
    assert_eq!(b.verify().unwrap().problems, vec![]);
}

#[test]
fn servers_signing_one_size_keep_one_checkpoint() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, b, url) = two_servers(&postgres);
    let notes: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|t| {
                let server = if t % 2 == 0 { &a } else { &b };
                scope.spawn(move || server.sign_checkpoint(6).unwrap().to_note())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(notes.windows(2).all(|w| w[0] == w[1]), "{notes:?}");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let rows = client
        .query("SELECT note FROM armistice.checkpoints", &[])
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), notes[0]);
}

#[test]
fn opening_and_creating_say_what_is_wrong() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let url = postgres.database();
    let public = operator().verifying_key().to_bytes();
    assert!(matches!(
        PgStore::open(&PgOptions::new(&url)),
        Err(StoreError::NotALedger(_))
    ));
    let store = PgStore::create(&PgOptions::new(&url), &public, ORIGIN).unwrap();
    assert!(matches!(
        PgStore::create(&PgOptions::new(&url), &public, ORIGIN),
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(!store.can_sign());
    let message = rejection(store.append(&subs(&SETUP[..1]), &options()));
    assert!(message.contains("not here"), "{message}");
    let reader = PgStore::open(&PgOptions::new(&url).read_only()).unwrap();
    assert!(matches!(
        reader.append(&subs(&SETUP[..1]), &options()),
        Err(StoreError::ReadOnly(_))
    ));
    let wrong = format!(
        "postgresql://postgres:hunter2@127.0.0.1:{}/no_such_db",
        postgres.cluster().port()
    );
    let error = PgStore::open(&PgOptions::new(&wrong))
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains("no_such_db") && !error.contains("hunter2"),
        "{error}"
    );
}

#[test]
fn the_database_refuses_rewrites_and_verify_finds_what_got_through() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, _, url) = two_servers(&postgres);
    let claims: Vec<String> = (0..70).map(|i| claim(&format!("v{i}"))).collect();
    let lines: Vec<&str> = claims.iter().map(String::as_str).collect();
    append(&a, &lines);
    a.sign_checkpoint(70).unwrap();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let refused = [
        "DELETE FROM armistice.entries WHERE seq = 76",
        "UPDATE armistice.entries SET stream = 'claim/z' WHERE seq = 7",
        "UPDATE armistice.entries SET bytes = set_byte(bytes, 29, get_byte(bytes, 29) # 1) WHERE seq = 7",
        "TRUNCATE armistice.nodes",
        "UPDATE armistice.checkpoints SET size = 71",
        "UPDATE armistice.head SET seq = 5",
        "DELETE FROM armistice.head",
    ];
    for sql in refused {
        let error = client.batch_execute(sql).expect_err(sql);
        assert!(
            error.to_string().contains("armistice:") || format!("{error:?}").contains("armistice:"),
            "{sql}: {error:?}"
        );
    }
    assert_eq!(
        a.verify().unwrap().problems,
        vec![],
        "refused changes changed nothing"
    );
    // As someone who switches the triggers off for the session.
    let mut tamper = |sql: &str| {
        client
            .batch_execute(&format!("SET session_replication_role = replica; {sql}; SET session_replication_role = origin"))
            .unwrap();
    };
    let problems = |store: &PgStore| -> Vec<String> {
        store
            .verify()
            .unwrap()
            .problems
            .iter()
            .map(|p| p.to_string())
            .collect()
    };
    tamper("UPDATE armistice.entries SET bytes = set_byte(bytes, length(bytes) - 3, get_byte(bytes, length(bytes) - 3) # 1) WHERE seq = 9");
    let found = problems(&a);
    assert!(found.iter().any(|p| p.starts_with("seq 9:")), "{found:?}");
    let (_, _, url) = two_servers(&postgres);
    let b = PgStore::open(&PgOptions::new(&url)).unwrap();
    append(&b, &lines);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut tamper = |sql: &str| {
        client
            .batch_execute(&format!("SET session_replication_role = replica; {sql}; SET session_replication_role = origin"))
            .unwrap();
    };
    tamper("UPDATE armistice.entries SET occurred_at = occurred_at + 1 WHERE seq = 8");
    tamper("DELETE FROM armistice.nodes WHERE level = 6 AND idx = 0");
    tamper("DROP INDEX armistice.entries_event_id");
    tamper("ALTER TABLE armistice.entries DISABLE TRIGGER entries_keep_leaf");
    let found = problems(&b);
    for expected in [
        "seq 8: the row's `occurred_at` column",
        "Merkle nodes the entries make are stored",
        "the unique index entries_event_id",
        "the trigger entries_keep_leaf",
    ] {
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{expected}: {found:?}"
        );
    }
    tamper("UPDATE armistice.head SET seq = 70");
    let found = problems(&b);
    assert!(
        found
            .iter()
            .any(|p| p.contains("the head row says seq 70 but the entries end at seq 76")),
        "{found:?}"
    );
}

/// The export lines of a store, for comparisons.
trait ExportLines {
    fn export_lines(&self) -> Vec<String>;
}

impl ExportLines for PgStore {
    fn export_lines(&self) -> Vec<String> {
        armistice_store_conformance::data::export(self)
    }
}

#[test]
fn an_unsigned_operator_statement_needs_the_key_and_a_party_signature_is_checked() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, _, _) = two_servers(&postgres);
    append(&a, &[&claim("c1")]);
    let mut forged: Submission = armistice_store_conformance::data::assessment("c1");
    forged.signature = Some([1; 64]);
    let message = rejection(a.append(&[forged], &options()));
    assert!(message.contains("signature"), "{message}");
    let ids: HashSet<_> = a
        .stream_records("claim/c1")
        .unwrap()
        .iter()
        .map(|r| r.header.event_id)
        .collect();
    assert_eq!(ids.len(), 1);
}

/// Appends queued behind an import share one transaction: a duplicate of
/// an earlier append of the group is answered with its seq, a rejected
/// append fails alone, and a later one sees what the earlier ones staged.
#[test]
fn appends_sharing_a_transaction_see_each_other_and_fail_alone() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, _, _) = two_servers(&postgres);
    let duplicated = armistice_store_conformance::data::sub(&claim("g1"));
    let respond = r#"{"type":"allegation_responded","by":"RU","claim":"g1","response":"denied","statement":"no"}"#;
    let bad = r#"{"type":"allegation_responded","by":"UA","claim":"g1","response":"denied","statement":"no"}"#;
    let batches: Vec<Vec<Submission>> = vec![
        subs(&[&claim("g0")]),
        vec![duplicated.clone()],
        vec![duplicated],
        subs(&[bad]),
        subs(&[&claim("g2"), respond]),
    ];
    let session = a.begin().unwrap();
    let before = a.stats();
    let outcomes: Vec<Result<Vec<Appended>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = batches
            .iter()
            .enumerate()
            .map(|(i, batch)| {
                let handle = scope.spawn(|| a.append(batch, &options()));
                // The first leads and waits for the import; the others queue in order.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                while a.waiting_appends() <= i {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "append {i} never queued"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                handle
            })
            .collect();
        drop(session);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let seqs = |o: &Result<Vec<Appended>, StoreError>| -> Vec<(u64, bool)> {
        o.as_ref()
            .unwrap()
            .iter()
            .map(|a| (a.seq, a.duplicate))
            .collect()
    };
    assert_eq!(seqs(&outcomes[0]), vec![(7, false)]);
    assert_eq!(seqs(&outcomes[1]), vec![(8, false)]);
    assert_eq!(seqs(&outcomes[2]), vec![(8, true)]);
    assert!(
        matches!(outcomes[3], Err(StoreError::Rejected { .. })),
        "{:?}",
        outcomes[3]
    );
    assert_eq!(seqs(&outcomes[4]), vec![(9, false), (10, false)]);
    let after = a.stats();
    assert_eq!(
        (
            after.transactions - before.transactions,
            after.appends - before.appends
        ),
        (2, 5),
        "the first alone, then the four queued behind it together"
    );
    assert_eq!(a.verify().unwrap().problems, vec![]);
}

/// A server's head watch sees what the others append (their `pg_notify`),
/// and a reader asks for at most what it will read.
#[test]
fn one_servers_watch_sees_the_others_appends() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, b, _) = two_servers(&postgres);
    let watch = b.watch_head();
    let appended = append(&a, &[&claim("w1")]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while watch.borrow().seq < appended[0].seq {
        assert!(
            std::time::Instant::now() < deadline,
            "B never saw A's append"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(watch.borrow().hash, appended[0].hash);
    let at = armistice_core::Timestamp::parse_rfc3339("2025-03-19T08:00:00Z").unwrap();
    assert!(b.records_occurred_by(at, 7, 0).unwrap().is_none());
    let early = b.records_occurred_by(at, 7, 10).unwrap().unwrap();
    assert_eq!(
        early.iter().map(|r| r.header.seq).collect::<Vec<_>>(),
        (1..=7).collect::<Vec<_>>()
    );
}

/// Under load a group is staged while the one before it commits, and the
/// log is the same as if each had been staged under the lock.
#[test]
fn groups_are_staged_ahead_of_the_lock_while_the_one_before_commits() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, b, _) = two_servers(&postgres);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let a = &a;
            scope.spawn(move || {
                for i in 0..10 {
                    append(a, &[&claim(&format!("p{t}-{i}"))]);
                }
            });
        }
    });
    let stats = a.stats();
    assert!(stats.staged_ahead > 0, "{stats:?}");
    // Another server's append in between: the next group staged ahead is
    // staged again under the lock, and the rule state reloads.
    append(&b, &[&claim("between")]);
    let message = rejection(a.append(&subs(&[&claim("between")]), &options()));
    assert!(message.contains("already exists"), "{message}");
    append(&a, &[&claim("after")]);
    assert_eq!(a.head().seq, 6 + 80 + 2);
    assert_eq!(b.verify().unwrap().problems, vec![]);
}

/// A transaction that fails at its commit (here a deferred trigger refuses
/// one claim) takes its group down, and only it: the groups staged ahead
/// on top of it are staged again and land; the failed appends, sent again,
/// land once; the log stays gap-free.
#[test]
fn a_group_failing_at_commit_takes_down_only_itself() {
    let Some(postgres) = Postgres::new() else {
        return;
    };
    let (a, _, url) = two_servers(&postgres);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(
            "CREATE FUNCTION public.boom() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN RAISE EXCEPTION 'boom'; END $$; \
             CREATE CONSTRAINT TRIGGER boom AFTER INSERT ON armistice.entries \
             DEFERRABLE INITIALLY DEFERRED FOR EACH ROW \
             WHEN (NEW.stream = 'claim/boom') EXECUTE FUNCTION public.boom();",
        )
        .unwrap();
    let failures = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (a, failures) = (&a, &failures);
            scope.spawn(move || {
                for i in 0..10 {
                    let id = if t == 3 && i == 5 {
                        "boom".to_owned()
                    } else {
                        format!("f{t}-{i}")
                    };
                    let submission = armistice_store_conformance::data::sub(&claim(&id));
                    let batch = std::slice::from_ref(&submission);
                    if let Err(error) = a.append(batch, &options()) {
                        failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        assert!(matches!(error, StoreError::Database(_)), "{error:?}");
                        if id != "boom" {
                            a.append(batch, &options()).unwrap();
                        }
                    }
                }
            });
        }
    });
    assert!(failures.into_inner() >= 1);
    assert_eq!(a.head().seq, 6 + 79);
    assert!(a.stream_records("claim/boom").unwrap().is_empty());
    assert_eq!(a.verify().unwrap().problems, vec![]);
    append(&a, &[&claim("after")]);
}
