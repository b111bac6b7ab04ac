//! Following the head: a thread `LISTEN`s on the primary for the
//! `pg_notify` every append transaction sends (from any server), reads the
//! head on the read side and announces it; it also polls the read side, so
//! that a lost notification, a `LISTEN` that cannot be made (a standby, a
//! primary away) or a standby still replaying delays a head, never hides it.

use crate::schema::HEAD_CHANNEL;
use crate::store::Shared;
use postgres::fallible_iterator::FallibleIterator;
use postgres::NoTls;
use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::time::{Duration, Instant};

/// How often the read side is polled while notifications arrive.
const POLL_LISTENING: Duration = Duration::from_secs(1);
/// How often it is polled when no `LISTEN` can be made.
const POLL_DEAF: Duration = Duration::from_millis(200);
/// How often a lagging read side is polled after a notification.
const POLL_CATCHING_UP: Duration = Duration::from_millis(10);
/// How long a lagging read side is polled quickly before the slow poll.
const CATCH_UP_MAX: Duration = Duration::from_secs(2);
/// How long to wait before making a `LISTEN` again after it failed.
const RELISTEN_AFTER: Duration = Duration::from_secs(2);

/// Starts the watcher; it stops soon after the store is dropped.
pub(crate) fn spawn(shared: Weak<Shared>) {
    std::thread::Builder::new()
        .name("armistice-pg-head".into())
        .spawn(move || run(shared))
        .map(drop)
        // Without the thread, `head()` still reads the head itself.
        .unwrap_or(());
}

fn alive(shared: &Weak<Shared>) -> Option<std::sync::Arc<Shared>> {
    shared
        .upgrade()
        .filter(|s| !s.stopped.load(Ordering::SeqCst))
}

fn run(weak: Weak<Shared>) {
    let mut listen_failed_at: Option<Instant> = None;
    loop {
        let Some(shared) = alive(&weak) else { return };
        announce(&shared);
        let retry = listen_failed_at.is_none_or(|at| at.elapsed() >= RELISTEN_AFTER);
        let listener = match retry {
            true => listen(&shared.listen_config),
            false => None,
        };
        drop(shared);
        match listener {
            Some(client) => {
                listen_failed_at = None;
                follow(&weak, client);
            }
            None => {
                listen_failed_at = listen_failed_at.or(Some(Instant::now()));
                std::thread::sleep(POLL_DEAF);
            }
        }
    }
}

/// A connection listening on the head channel.
fn listen(config: &postgres::Config) -> Option<postgres::Client> {
    let mut client = config.connect(NoTls).ok()?;
    client
        .batch_execute(&format!("LISTEN {HEAD_CHANNEL}"))
        .ok()?;
    Some(client)
}

/// Reads the head on each notification and each poll, until the
/// connection fails or the store is gone.
fn follow(weak: &Weak<Shared>, mut client: postgres::Client) {
    loop {
        let note = client.notifications().timeout_iter(POLL_LISTENING).next();
        let Some(shared) = alive(weak) else { return };
        let announced = match note {
            Ok(Some(note)) => note.payload().parse::<u64>().ok(),
            Ok(None) => None,
            Err(_) => return,
        };
        let seen = announce(&shared);
        // A standby shows the head a little after the primary announced it.
        if let Some(target) = announced.filter(|target| *target > seen) {
            let deadline = Instant::now() + CATCH_UP_MAX;
            while Instant::now() < deadline && alive(weak).is_some() {
                std::thread::sleep(POLL_CATCHING_UP);
                if announce(&shared) >= target {
                    break;
                }
            }
        }
        if client.is_closed() {
            return;
        }
    }
}

/// Reads the head on the read side and announces it; its seq (0 when
/// unreadable).
fn announce(shared: &Shared) -> u64 {
    match shared.read_head() {
        Ok(head) => {
            shared.observe(head);
            head.seq
        }
        Err(_) => 0,
    }
}
