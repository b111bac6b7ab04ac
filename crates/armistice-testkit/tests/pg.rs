//! The PostgreSQL kit against the real server: a primary answers, a
//! synchronous standby has every committed row and takes writes once
//! promoted after its primary's SIGKILL, and nothing outlives a cluster,
//! even one whose test panicked.

use std::path::PathBuf;
use std::time::Duration;

use armistice_testkit::or_skip;
use armistice_testkit::pg::{Cluster, DATABASE, SUPERUSER};

const WAIT: Duration = Duration::from_secs(30);

fn count(cluster: &Cluster, table: &str) -> i64 {
    let mut client = cluster.connect().expect("connect");
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .expect("count")
        .get(0)
}

/// Whether `pid` is a live process (a zombie has exited).
fn is_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.trim().chars().next());
        !matches!(state, Some('Z' | 'X'))
    })
}

#[test]
fn a_primary_starts_and_answers_as_configured() {
    let Some(primary) = or_skip(Cluster::primary()) else {
        return;
    };
    assert_eq!(
        primary.url(),
        format!(
            "postgresql://{SUPERUSER}@127.0.0.1:{}/{DATABASE}",
            primary.port()
        )
    );
    assert!(primary.data_dir().join("PG_VERSION").is_file());
    assert!(primary.is_running());

    let mut client = postgres::Client::connect(&primary.url(), postgres::NoTls).expect("url");
    let row = client
        .query_one(
            "SELECT current_database()::text, current_setting('fsync'), \
             current_setting('synchronous_commit'), current_setting('listen_addresses'), \
             current_setting('wal_level')",
            &[],
        )
        .expect("query");
    let values: Vec<String> = (0..5).map(|i| row.get(i)).collect();
    assert_eq!(values, [DATABASE, "on", "on", "127.0.0.1", "replica"]);
}

#[test]
fn a_stopped_or_crashed_primary_starts_again_with_its_data() {
    let Some(primary) = or_skip(Cluster::primary()) else {
        return;
    };
    primary
        .execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        .expect("insert");
    primary.restart().expect("restart");
    let pid = primary.pid().expect("postmaster.pid");
    primary.kill9().expect("kill -9");
    assert!(!primary.is_running());
    assert!(!is_alive(pid));
    primary.start().expect("start after a crash");
    assert_ne!(primary.pid().expect("postmaster.pid"), pid);
    assert_eq!(count(&primary, "t"), 1);
    primary.stop().expect("stop");
    assert!(!primary.is_running());
}

#[test]
fn a_synchronous_standby_keeps_every_commit_through_a_crash_of_the_primary() {
    let Some(primary) = or_skip(Cluster::primary()) else {
        return;
    };
    let s1 = Cluster::standby_of(&primary, "s1").expect("standby s1");
    let s2 = Cluster::standby_of(&primary, "s2").expect("standby s2");
    primary
        .set_synchronous_standby_names("ANY 1 (s1, s2)")
        .expect("synchronous_standby_names");
    for name in ["s1", "s2"] {
        let replica = primary.wait_synchronous(name, WAIT).expect("synchronous");
        assert_eq!(replica.sync_state, "quorum");
    }
    assert_eq!(primary.replicas().expect("replicas").len(), 2);

    // s1 alone from now on: once s2 is gone, only s1 can acknowledge a
    // commit, whichever setting the primary's processes have loaded.
    drop(s2);
    primary
        .set_synchronous_standby_names("FIRST 1 (s1)")
        .expect("FIRST 1 (s1)");
    let replica = primary
        .wait_synchronous("s1", WAIT)
        .expect("s1 synchronous");
    assert_eq!(replica.sync_state, "sync");

    // With remote_apply a commit returns once the standby shows it.
    primary
        .execute(
            "CREATE TABLE t (x int);
             SET synchronous_commit = remote_apply;
             INSERT INTO t VALUES (1);",
        )
        .expect("insert with remote_apply");
    assert_eq!(count(&s1, "t"), 1, "the row is not on the standby");

    // With synchronous_commit = on a commit returns once s1 has flushed it,
    // so it survives the primary's crash.
    primary.execute("INSERT INTO t VALUES (2)").expect("insert");
    primary.kill9().expect("kill -9 the primary");
    s1.promote().expect("promote s1");
    assert_eq!(count(&s1, "t"), 2, "a committed row was lost");
    s1.execute("INSERT INTO t VALUES (3)")
        .expect("a write on the promoted standby");
    assert_eq!(count(&s1, "t"), 3);
}

#[test]
fn a_cluster_whose_test_panics_leaves_no_process_nor_directory() {
    let mut seen: Option<(Vec<u32>, PathBuf)> = None;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let Some(primary) = or_skip(Cluster::primary()) else {
            return;
        };
        let standby = Cluster::standby_of(&primary, "s1").expect("standby");
        let pids = vec![primary.pid().expect("pid"), standby.pid().expect("pid")];
        seen = Some((pids, primary.data_dir().to_path_buf()));
        primary.kill9().expect("kill -9");
        panic!("a deliberate panic: the kit must clean up after a failing test");
    }));
    let Some((pids, data_dir)) = seen else {
        return; // skipped
    };
    assert!(outcome.is_err());
    for pid in pids {
        assert!(!is_alive(pid), "postmaster {pid} outlived its test");
    }
    assert!(
        !data_dir.exists(),
        "{} outlived its test",
        data_dir.display()
    );
}

#[test]
fn a_standby_name_must_fit_synchronous_standby_names() {
    let Some(primary) = or_skip(Cluster::primary()) else {
        return;
    };
    let error = Cluster::standby_of(&primary, "s 1, x").expect_err("a bad name");
    assert!(error.to_string().contains("standby name"), "{error}");
    let error = primary
        .set_synchronous_standby_names("FIRST 1 ('s1')")
        .expect_err("a quote");
    assert!(error.to_string().contains("quote"), "{error}");
}
