//! Throwaway PostgreSQL clusters for tests: a primary, streaming standbys
//! (synchronous or not), crashes, restarts and promotion.
//!
//! Each [`Cluster`] lives in its own temporary directory (data directory,
//! server log, Unix socket) and listens on a free port of 127.0.0.1 only,
//! with `trust` authentication for [`SUPERUSER`]: nothing outside the
//! machine can reach it, and tests running in parallel never share one.
//! Its postmaster is a child of the test process, run as [`SERVER_USER`]
//! when the tests run as root (PostgreSQL refuses root), else as the
//! current user.
//! Dropping a `Cluster` stops its server (immediate mode, so it is quick),
//! kills any process it left, and removes the directory; this also happens
//! while a failing test unwinds. Only a test process killed outright (or
//! built with `panic = "abort"`) can leave a server behind.
//!
//! The server is configured as a production primary would be where it
//! matters to durability tests: `fsync = on`, `synchronous_commit = on`,
//! `wal_level = replica`. `initdb` and `pg_basebackup` run with
//! `--no-sync`: their files only have to survive a process crash, not a
//! power cut, and syncing them would slow every test.
//!
//! ```no_run
//! use std::time::Duration;
//! use armistice_testkit::{or_skip, pg::Cluster};
//!
//! let Some(primary) = or_skip(Cluster::primary()) else { return };
//! let standby = Cluster::standby_of(&primary, "s1").unwrap();
//! primary.set_synchronous_standby_names("FIRST 1 (s1)").unwrap();
//! primary.wait_synchronous("s1", Duration::from_secs(30)).unwrap();
//! primary.execute("CREATE TABLE t (x int); INSERT INTO t VALUES (1)").unwrap();
//! primary.kill9().unwrap();
//! standby.promote().unwrap();
//! standby.execute("INSERT INTO t VALUES (2)").unwrap();
//! ```

mod install;

use std::cell::RefCell;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use install::Install;
pub use install::SERVER_USER;
pub use postgres;

use crate::process::{
    free_loopback_port, group_members, kill_all, poll_until, run, tail, wait_gone,
};
use crate::{Error, Result};

/// The superuser every cluster is made with; [`Cluster::url`] connects as it.
pub const SUPERUSER: &str = "postgres";
/// The database every cluster is made with; [`Cluster::url`] names it.
pub const DATABASE: &str = "armistice";
/// How long a standby may take to reach a state (streaming, synchronous)
/// where the kit waits for one itself.
pub const REPLICATION_TIMEOUT: Duration = Duration::from_secs(30);
/// The file in the data directory holding the kit's settings, included
/// from `postgresql.conf` and rewritten whole on every change.
const SETTINGS_FILE: &str = "armistice-testkit.conf";
/// The server log, beside (not in) the data directory, so that
/// `pg_basebackup` does not copy it.
const LOG_FILE: &str = "server.log";
/// `pg_ctl -t`: seconds to wait for a stop or a promotion.
const PG_CTL_TIMEOUT_S: u32 = 60;
/// How long a server may take to accept connections once started.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The line of `postmaster.pid` (from 0) that says `ready`, `standby`, ….
const PID_FILE_STATUS_LINE: usize = 7;
/// Starts tried with a fresh port when the chosen one was taken meanwhile.
const START_ATTEMPTS_MAX: u32 = 3;
/// How long the processes of a dead server may take to exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// PostgreSQL keeps at most this many bytes of an `application_name`.
const APPLICATION_NAME_BYTES_MAX: usize = 63;
/// The program name of every PostgreSQL server process.
const SERVER_COMM: &str = "postgres";
/// What the server logs when its port was taken.
const PORT_TAKEN_LOG: &str = "could not bind";

/// One PostgreSQL server and its data directory, removed on drop.
#[derive(Debug)]
pub struct Cluster {
    install: &'static Install,
    /// Holds `data/`, the server log and the Unix socket.
    dir: tempfile::TempDir,
    data: PathBuf,
    /// `primary`, or the standby's `application_name`.
    name: String,
    settings: Mutex<Settings>,
    /// The postmaster, once started: this process's child.
    postmaster: Mutex<Option<Child>>,
}

/// The settings the kit rewrites ([`SETTINGS_FILE`]).
#[derive(Debug)]
struct Settings {
    port: u16,
    synchronous_standby_names: String,
}

/// One row of the primary's `pg_stat_replication`: a connected standby.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    /// The standby's `application_name` (its name in
    /// [`Cluster::standby_of`]).
    pub name: String,
    /// `startup`, `catchup`, `streaming`, …
    pub state: String,
    /// `async`, `potential`, `sync` or `quorum`.
    pub sync_state: String,
}

impl Cluster {
    /// A fresh primary: `initdb`, started, with the database [`DATABASE`].
    ///
    /// [`Error::NotInstalled`] when PostgreSQL is not installed.
    pub fn primary() -> Result<Cluster> {
        let cluster = Cluster::empty("primary")?;
        cluster.initdb()?;
        cluster.start()?;
        cluster.execute_in("postgres", &format!("CREATE DATABASE {DATABASE}"))?;
        Ok(cluster)
    }

    /// A streaming standby of `primary`, copied with `pg_basebackup -R`,
    /// started, and streaming when this returns. `name` is its
    /// `application_name`, as named in `synchronous_standby_names`
    /// (letters, digits and `_`).
    pub fn standby_of(primary: &Cluster, name: &str) -> Result<Cluster> {
        check_application_name(name)?;
        let standby = Cluster::empty(name)?;
        let conninfo = format!(
            "host=127.0.0.1 port={} user={SUPERUSER} application_name={name}",
            primary.port()
        );
        let mut basebackup = standby.command("pg_basebackup");
        basebackup
            .arg("--pgdata")
            .arg(&standby.data)
            .args(["--dbname", &conninfo])
            .args(["--write-recovery-conf", "--wal-method=stream"])
            .args(["--checkpoint=fast", "--no-sync"]);
        run(&mut basebackup, &format!("pg_basebackup of standby {name}"))?;
        // The copy holds the primary's settings: give it its own port and no
        // synchronous standbys of its own (it would wait for them once
        // promoted).
        standby.write_settings(&standby.settings())?;
        standby.start()?;
        primary.wait_streaming(name, REPLICATION_TIMEOUT)?;
        Ok(standby)
    }

    /// A cluster with a temporary directory and a port, and nothing else.
    fn empty(name: &str) -> Result<Cluster> {
        let install = Install::get()?;
        let dir = tempfile::Builder::new()
            .prefix("armistice-pg-")
            .tempdir()
            .map_err(|e| Error::io("make a temporary directory", e))?;
        install.chown(dir.path())?;
        let data = dir.path().join("data");
        Ok(Cluster {
            install,
            dir,
            data,
            name: name.to_owned(),
            settings: Mutex::new(Settings {
                port: free_loopback_port()?,
                synchronous_standby_names: String::new(),
            }),
            postmaster: Mutex::new(None),
        })
    }

    /// `postgresql://postgres@127.0.0.1:PORT/armistice`.
    pub fn url(&self) -> String {
        format!(
            "postgresql://{SUPERUSER}@127.0.0.1:{}/{DATABASE}",
            self.port()
        )
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.settings().port
    }

    /// `primary`, or the standby's `application_name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The data directory (`PGDATA`).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The postmaster's process id, from `postmaster.pid`: the running
    /// server's, or the last one's after [`Cluster::kill9`].
    pub fn pid(&self) -> Result<u32> {
        let path = self.data.join("postmaster.pid");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
        let first = text.lines().next().unwrap_or_default();
        first
            .trim()
            .parse()
            .map_err(|_| Error::unexpected(format!("first line of {}", path.display()), first))
    }

    /// Whether the postmaster is running.
    pub fn is_running(&self) -> bool {
        self.postmaster().as_mut().is_some_and(is_running)
    }

    /// What the server has logged so far, for a failing test to print.
    pub fn server_log(&self) -> String {
        std::fs::read(self.dir.path().join(LOG_FILE))
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// A new client connection to [`DATABASE`].
    pub fn connect(&self) -> Result<postgres::Client> {
        self.connect_to(DATABASE)
    }

    /// A new client connection to `database`.
    pub fn connect_to(&self, database: &str) -> Result<postgres::Client> {
        let mut config = postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port())
            .user(SUPERUSER)
            .dbname(database)
            .application_name("armistice-testkit")
            .connect_timeout(CONNECT_TIMEOUT);
        Ok(config.connect(postgres::NoTls)?)
    }

    /// Runs `sql` (one or more statements) in [`DATABASE`] on a new
    /// connection.
    pub fn execute(&self, sql: &str) -> Result<()> {
        self.execute_in(DATABASE, sql)
    }

    fn execute_in(&self, database: &str, sql: &str) -> Result<()> {
        Ok(self.connect_to(database)?.batch_execute(sql)?)
    }

    /// Sets `synchronous_standby_names` (`ANY 1 (s1, s2)`, `FIRST 1 (s1)`,
    /// or `""` for none) and reloads the configuration. The change takes
    /// effect shortly after: [`Cluster::wait_synchronous`] waits for it.
    pub fn set_synchronous_standby_names(&self, names: &str) -> Result<()> {
        if names.contains(['\'', '\\', '\n', '\r']) {
            return Err(Error::Invalid {
                what: "synchronous_standby_names",
                reason: format!("{names:?} holds a quote, backslash or line break"),
            });
        }
        let mut settings = self.settings();
        settings.synchronous_standby_names = names.to_owned();
        self.write_settings(&settings)?;
        drop(settings);
        self.execute("SELECT pg_reload_conf()")
    }

    /// The standbys connected to this server (`pg_stat_replication`).
    pub fn replicas(&self) -> Result<Vec<Replica>> {
        replicas(&mut self.connect()?)
    }

    /// Waits until the standby `name` is connected and streaming.
    pub fn wait_streaming(&self, name: &str, timeout: Duration) -> Result<Replica> {
        self.wait_replica(name, "streaming", timeout, |_| true)
    }

    /// Waits until the standby `name` is streaming and synchronous
    /// (`sync_state` `sync` or `quorum`): from then on a commit here
    /// returns only once that standby (or its quorum) has flushed it.
    pub fn wait_synchronous(&self, name: &str, timeout: Duration) -> Result<Replica> {
        self.wait_replica(name, "synchronous", timeout, |replica| {
            matches!(replica.sync_state.as_str(), "sync" | "quorum")
        })
    }

    fn wait_replica(
        &self,
        name: &str,
        goal: &str,
        timeout: Duration,
        done: impl Fn(&Replica) -> bool,
    ) -> Result<Replica> {
        let mut client = self.connect()?;
        let last_seen = RefCell::new(None);
        poll_until(
            || {
                format!(
                    "standby {name} to be {goal} on {} (last seen: {:?})",
                    self.name,
                    last_seen.borrow()
                )
            },
            timeout,
            || {
                let replica = replicas(&mut client)?
                    .into_iter()
                    .find(|replica| replica.name == name);
                let found = replica
                    .as_ref()
                    .filter(|r| r.state == "streaming" && done(r))
                    .cloned();
                *last_seen.borrow_mut() = replica;
                Ok(found)
            },
        )
    }

    /// SIGKILLs the postmaster, as a crash would, and reaps it. Its other
    /// processes notice and exit by themselves; [`Cluster::start`] waits
    /// for them.
    pub fn kill9(&self) -> Result<()> {
        let mut postmaster = self.postmaster();
        let Some(child) = running(&mut postmaster) else {
            return Err(self.not_running("kill -9"));
        };
        child
            .kill()
            .and_then(|()| child.wait())
            .map(drop)
            .map_err(|e| Error::io(format!("kill -9 PostgreSQL {}", self.name), e))
    }

    /// A clean shutdown (`pg_ctl stop -m fast`).
    pub fn stop(&self) -> Result<()> {
        let mut postmaster = self.postmaster();
        let Some(child) = running(&mut postmaster) else {
            return Err(self.not_running("stop"));
        };
        self.pg_ctl(&["stop", "-m", "fast"])?;
        reap(child, EXIT_TIMEOUT)
    }

    /// Stops the server if it runs, then starts it again.
    pub fn restart(&self) -> Result<()> {
        if self.is_running() {
            self.stop()?;
        }
        self.start()
    }

    /// Promotes a standby to a primary and waits until it accepts writes
    /// (`pg_ctl promote -w`).
    pub fn promote(&self) -> Result<()> {
        self.pg_ctl(&["promote"])
    }

    /// Starts a stopped or crashed server and waits until it accepts
    /// connections, after the processes of a crashed one have exited.
    /// Should its port have been taken meanwhile, it moves to a free one.
    ///
    /// The postmaster is this process's child rather than `pg_ctl start`'s,
    /// so that it is reaped here the moment it dies: a dead postmaster left
    /// unreaped (a zombie, until init gets to it) would still look alive
    /// to the next postmaster, which would refuse to start.
    pub fn start(&self) -> Result<()> {
        let mut postmaster = self.postmaster();
        if postmaster.as_mut().is_some_and(is_running) {
            return Err(Error::Invalid {
                what: "start",
                reason: format!("PostgreSQL {} is already running", self.name),
            });
        }
        self.wait_for_old_processes()?;
        let mut attempt = 1;
        loop {
            let log_before = self.server_log().len();
            let started = self.spawn_postmaster(&mut postmaster);
            let log = self.server_log();
            let new_log = log.get(log_before..).unwrap_or_default();
            match started {
                Err(_) if new_log.contains(PORT_TAKEN_LOG) && attempt < START_ATTEMPTS_MAX => {
                    let mut settings = self.settings();
                    settings.port = free_loopback_port()?;
                    self.write_settings(&settings)?;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Spawns `postgres -D DATA` into `slot`, in a process group of its own
    /// (so that its processes can be found after it died), logging to
    /// [`LOG_FILE`], and waits until `postmaster.pid` says it is ready.
    fn spawn_postmaster(&self, slot: &mut Option<Child>) -> Result<()> {
        let log_path = self.dir.path().join(LOG_FILE);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| Error::io(format!("open {}", log_path.display()), e))?;
        let log_too = log
            .try_clone()
            .map_err(|e| Error::io(format!("open {}", log_path.display()), e))?;
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(&self.data)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_too)
            .process_group(0);
        let child = command
            .spawn()
            .map_err(|e| Error::io(format!("start postgres ({})", self.name), e))?;
        let pid = child.id();
        let child = slot.insert(child);
        let ready = poll_until(
            || format!("PostgreSQL {} to accept connections", self.name),
            START_TIMEOUT,
            || match child.try_wait() {
                Ok(Some(status)) => Err(Error::Command {
                    what: format!("postgres ({})", self.name),
                    status: status.to_string(),
                    output: format!("server log:\n{}", tail(&self.server_log())),
                }),
                Ok(None) => Ok(self.says_ready(pid).then_some(())),
                Err(e) => Err(Error::io("wait for postgres", e)),
            },
        );
        if ready.is_err() {
            // Never leave a half-started server behind.
            let _ = child.kill();
            let _ = child.wait();
        }
        ready
    }

    /// Whether `postmaster.pid` is that of `pid` and says `ready` (a
    /// primary) or `standby` (a standby open to reads), as `pg_ctl -w`
    /// checks it.
    fn says_ready(&self, pid: u32) -> bool {
        let Ok(text) = std::fs::read_to_string(self.data.join("postmaster.pid")) else {
            return false;
        };
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        lines.first() == Some(&pid.to_string().as_str())
            && lines
                .get(PID_FILE_STATUS_LINE)
                .is_some_and(|status| matches!(*status, "ready" | "standby"))
    }

    fn not_running(&self, what: &'static str) -> Error {
        Error::Invalid {
            what,
            reason: format!("PostgreSQL {} is not running", self.name),
        }
    }

    /// `initdb`, then the kit's `pg_hba.conf` and settings.
    fn initdb(&self) -> Result<()> {
        let mut initdb = self.command("initdb");
        initdb
            .arg("--pgdata")
            .arg(&self.data)
            .arg(format!("--username={SUPERUSER}"))
            .args([
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ]);
        run(&mut initdb, "initdb")?;
        self.write_file(
            "pg_hba.conf",
            "# Written by armistice-testkit: trust, on loopback and the socket only.\n\
             local all         all              trust\n\
             local replication all              trust\n\
             host  all         all 127.0.0.1/32 trust\n\
             host  replication all 127.0.0.1/32 trust\n",
        )?;
        let conf = self.data.join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut file| writeln!(file, "\ninclude '{SETTINGS_FILE}'"))
            .map_err(|e| Error::io(format!("append to {}", conf.display()), e))?;
        self.write_settings(&self.settings())
    }

    /// Rewrites [`SETTINGS_FILE`] from `settings`.
    fn write_settings(&self, settings: &Settings) -> Result<()> {
        let socket_dir = self.dir.path().display();
        let Settings {
            port,
            synchronous_standby_names,
        } = settings;
        self.write_file(
            SETTINGS_FILE,
            &format!(
                "# Written by armistice-testkit; rewritten whole on every change.\n\
                 listen_addresses = '127.0.0.1'\n\
                 port = {port}\n\
                 unix_socket_directories = '{socket_dir}'\n\
                 fsync = on\n\
                 synchronous_commit = on\n\
                 wal_level = replica\n\
                 max_wal_senders = 10\n\
                 max_replication_slots = 10\n\
                 hot_standby = on\n\
                 wal_retrieve_retry_interval = '100ms'\n\
                 max_connections = 40\n\
                 shared_buffers = '32MB'\n\
                 synchronous_standby_names = '{synchronous_standby_names}'\n"
            ),
        )
    }

    /// Writes `name` in the data directory, owned by the server user.
    fn write_file(&self, name: &str, contents: &str) -> Result<()> {
        let path = self.data.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        self.install.chown(&path)
    }

    /// Runs `pg_ctl ACTION -D DATA -w -t TIMEOUT -s` in the cluster's
    /// directory.
    fn pg_ctl(&self, args: &[&str]) -> Result<()> {
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .args(args)
            .arg("--pgdata")
            .arg(&self.data)
            .args(["--wait", "--silent"])
            .arg(format!("--timeout={PG_CTL_TIMEOUT_S}"));
        run(
            &mut pg_ctl,
            &format!("pg_ctl {} ({})", args.join(" "), self.name),
        )
        .map(drop)
    }

    fn command(&self, program: &str) -> std::process::Command {
        self.install.command(program, self.dir.path())
    }

    fn settings(&self) -> MutexGuard<'_, Settings> {
        // The settings stay whole even if a thread panicked holding them.
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn postmaster(&self) -> MutexGuard<'_, Option<Child>> {
        // A child handle stays usable even if a thread panicked holding it.
        self.postmaster
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The server processes of the last postmaster still alive: its process
    /// group (the postmaster's pid, see [`Cluster::spawn_postmaster`])
    /// holds them all, even once it died and they went to init.
    fn leftovers(&self) -> Vec<u32> {
        match self.pid() {
            Ok(pid) => group_members(pid, SERVER_COMM),
            Err(_) => Vec::new(),
        }
    }

    /// Waits for the processes of a dead postmaster to notice and exit
    /// (they hold its shared memory, which a new one would refuse to share);
    /// kills those that do not.
    fn wait_for_old_processes(&self) -> Result<()> {
        let leftovers = self.leftovers();
        if wait_gone(&leftovers, EXIT_TIMEOUT).is_err() {
            kill_all(&leftovers, EXIT_TIMEOUT)?;
        }
        Ok(())
    }

    /// Stops the server at once and makes sure none of its processes is
    /// left.
    fn shut_down(&self) -> Result<()> {
        let mut postmaster = self.postmaster();
        if let Some(child) = running(&mut postmaster) {
            if self.pg_ctl(&["stop", "-m", "immediate"]).is_err() {
                let _ = child.kill();
            }
            reap(child, EXIT_TIMEOUT)?;
        }
        kill_all(&self.leftovers(), EXIT_TIMEOUT)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(error) = self.shut_down() {
            eprintln!(
                "armistice-testkit: stopping PostgreSQL {}: {error}",
                self.name
            );
        }
    }
}

/// Whether `child` has not exited (an error asking counts as exited).
fn is_running(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

/// The child in `slot` if it has not exited.
fn running(slot: &mut Option<Child>) -> Option<&mut Child> {
    if slot.as_mut().is_some_and(is_running) {
        slot.as_mut()
    } else {
        None
    }
}

/// Waits for `child` to exit; SIGKILLs it after `timeout`.
fn reap(child: &mut Child, timeout: Duration) -> Result<()> {
    let pid = child.id();
    let exited = poll_until(
        || format!("process {pid} to exit"),
        timeout,
        || {
            child
                .try_wait()
                .map(|status| status.map(drop))
                .map_err(|e| Error::io("wait for postgres", e))
        },
    );
    if exited.is_err() {
        child
            .kill()
            .and_then(|()| child.wait())
            .map_err(|e| Error::io("kill -9 postgres", e))?;
    }
    Ok(())
}

fn replicas(client: &mut postgres::Client) -> Result<Vec<Replica>> {
    let rows = client.query(
        "SELECT application_name, state, sync_state FROM pg_stat_replication \
         ORDER BY application_name",
        &[],
    )?;
    rows.iter()
        .map(|row| {
            let text = |i: usize| -> Result<String> {
                Ok(row.try_get::<_, Option<String>>(i)?.unwrap_or_default())
            };
            Ok(Replica {
                name: text(0)?,
                state: text(1)?,
                sync_state: text(2)?,
            })
        })
        .collect()
}

fn check_application_name(name: &str) -> Result<()> {
    let fits = !name.is_empty()
        && name.len() <= APPLICATION_NAME_BYTES_MAX
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if fits {
        Ok(())
    } else {
        Err(Error::Invalid {
            what: "standby name",
            reason: format!(
                "{name:?}: use 1 to {APPLICATION_NAME_BYTES_MAX} letters, digits or `_`"
            ),
        })
    }
}
