//! The backends the suite runs on: a fresh sled ledger in a temporary
//! folder, and a fresh database on a throwaway PostgreSQL server that the
//! tests of one process share while any of them runs.

use armistice_store::{Ledger, Store};
use armistice_store_pg::{PgOptions, PgStore};
use armistice_testkit::{or_skip, pg::Cluster};
use ed25519_dalek::SigningKey;
use std::any::Any;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// A store made for one check, with what must outlive it.
pub struct Created {
    /// The store (declared first: dropped before what it lives in).
    pub store: Box<dyn Store>,
    /// Where it is: a folder or a database URL.
    pub location: String,
    _keep: Box<dyn Any + Send + Sync>,
}

impl std::ops::Deref for Created {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

/// A way to make empty stores.
pub trait Backend: Sync {
    /// Its name in messages.
    fn name(&self) -> &'static str;
    /// A new, empty store kept by `operator`, whose checkpoints name
    /// `origin`. With `signing` it holds the operator's secret key (it
    /// signs operator statements and checkpoints); without, only the public
    /// key, as a copy of someone else's log does.
    fn create(&self, operator: &SigningKey, signing: bool, origin: &str) -> Created;
}

/// The sled store, in a temporary folder.
pub struct Sled;

impl Backend for Sled {
    fn name(&self) -> &'static str {
        "sled"
    }

    fn create(&self, operator: &SigningKey, signing: bool, origin: &str) -> Created {
        let dir = tempfile::TempDir::new().expect("a temporary folder");
        let path = dir.path().join("ledger");
        let ledger = Ledger::create(&path, &operator.verifying_key().to_bytes(), origin)
            .expect("a new sled ledger");
        if signing {
            ledger
                .attach_operator_key(operator.clone())
                .expect("the operator key");
        }
        Created {
            store: Box::new(ledger),
            location: path.display().to_string(),
            _keep: Box::new(dir),
        }
    }
}

/// The PostgreSQL store: a new database per store, on a server shared by
/// the checks running at the same time (started again when none runs, so
/// that nothing outlives the test process).
pub struct Postgres {
    cluster: Arc<Cluster>,
}

impl Postgres {
    /// The shared server, or `None` (a printed skip) where PostgreSQL is
    /// not installed.
    pub fn new() -> Option<Postgres> {
        Some(Postgres {
            cluster: shared_cluster()?,
        })
    }

    /// The server.
    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.cluster
    }

    /// A new, empty database on the server; its URL.
    pub fn database(&self) -> String {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let name = format!("store_{}", NEXT.fetch_add(1, Ordering::SeqCst));
        self.cluster
            .execute(&format!("CREATE DATABASE {name}"))
            .expect("a new database");
        format!(
            "postgresql://{}@127.0.0.1:{}/{name}",
            armistice_testkit::pg::SUPERUSER,
            self.cluster.port()
        )
    }
}

impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgres"
    }

    fn create(&self, operator: &SigningKey, signing: bool, origin: &str) -> Created {
        let url = self.database();
        let store = PgStore::create(
            &PgOptions::new(&url),
            &operator.verifying_key().to_bytes(),
            origin,
        )
        .expect("a new PostgreSQL store");
        if signing {
            store
                .attach_operator_key(operator.clone())
                .expect("the operator key");
        }
        Created {
            store: Box::new(store),
            location: url,
            _keep: Box::new(Arc::clone(&self.cluster)),
        }
    }
}

/// The server the running checks share: made by the first, stopped (and
/// its folder removed) when the last one lets go of it.
fn shared_cluster() -> Option<Arc<Cluster>> {
    static SHARED: Mutex<Weak<Cluster>> = Mutex::new(Weak::new());
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cluster) = shared.upgrade() {
        return Some(cluster);
    }
    let cluster = Arc::new(or_skip(Cluster::primary())?);
    *shared = Arc::downgrade(&cluster);
    Some(cluster)
}
