//! Where PostgreSQL is installed, and who runs it.
//!
//! PostgreSQL refuses to run as root. When the tests run as root (CI does),
//! the server programs run as the unprivileged system user [`SERVER_USER`],
//! created on first use, through `setpriv`; otherwise they run as the
//! current user.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::process::{is_root, run};
use crate::{Error, Result};

/// The system user that runs the PostgreSQL servers when the tests run as
/// root. Created with `useradd --system` if missing.
pub const SERVER_USER: &str = "armistice-pg";

/// The programs the kit runs; a bin directory without them is no install.
const PROGRAMS_NEEDED: [&str; 4] = ["initdb", "postgres", "pg_ctl", "pg_basebackup"];

/// The tool name in [`Error::NotInstalled`].
const TOOL: &str = "PostgreSQL";

/// A PostgreSQL installation and the user its servers run as.
#[derive(Debug)]
pub(crate) struct Install {
    bin_dir: PathBuf,
    /// `Some` when running as root: the servers run as this user.
    run_as: Option<ServerUser>,
}

/// An unprivileged user's ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerUser {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

impl Install {
    /// The installation, found (and the server user made) once per process.
    pub(crate) fn get() -> Result<&'static Install> {
        static INSTALL: OnceLock<Install> = OnceLock::new();
        static FINDING: Mutex<()> = Mutex::new(());
        if let Some(install) = INSTALL.get() {
            return Ok(install);
        }
        // One thread at a time: concurrent `useradd`s of one name can make
        // it twice with different ids. (Another process's `useradd` is
        // handled in `server_user`.)
        let _finding = FINDING.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(install) = INSTALL.get() {
            return Ok(install);
        }
        let bin_dir = find_bin_dir().ok_or(Error::NotInstalled { tool: TOOL })?;
        let run_as = if is_root() {
            Some(server_user()?)
        } else {
            None
        };
        Ok(INSTALL.get_or_init(|| Install { bin_dir, run_as }))
    }

    /// A command running PostgreSQL's `program` as the server user, in
    /// `dir`, with no `PG*` variables of the environment (they would point
    /// the programs at another server or data directory).
    pub(crate) fn command(&self, program: &str, dir: &Path) -> Command {
        let program = self.bin_dir.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("setpriv");
                command
                    .arg(format!("--reuid={}", user.uid))
                    .arg(format!("--regid={}", user.gid))
                    .arg("--clear-groups")
                    .arg("--")
                    .arg(program);
                command
            }
            None => Command::new(program),
        };
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PG") {
                command.env_remove(name);
            }
        }
        // The server user may not be allowed into the test's directory.
        command.current_dir(dir);
        command
    }

    /// Gives `path` to the server user (when there is one).
    pub(crate) fn chown(&self, path: &Path) -> Result<()> {
        match self.run_as {
            Some(user) => std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
                .map_err(|e| Error::io(format!("chown {} to {SERVER_USER}", path.display()), e)),
            None => Ok(()),
        }
    }
}

/// `pg_config --bindir` if it has the programs, else the newest
/// `/usr/lib/postgresql/VERSION/bin` that has them.
fn find_bin_dir() -> Option<PathBuf> {
    let from_pg_config = run(Command::new("pg_config").arg("--bindir"), "pg_config")
        .ok()
        .map(|out| PathBuf::from(out.trim()));
    if let Some(dir) = from_pg_config.filter(|dir| has_programs(dir)) {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_programs(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

fn has_programs(dir: &Path) -> bool {
    PROGRAMS_NEEDED.iter().all(|p| dir.join(p).is_file())
}

/// The ids of [`SERVER_USER`], made with `useradd --system` if missing.
fn server_user() -> Result<ServerUser> {
    if let Some(user) = lookup_user() {
        return Ok(user);
    }
    let made = run(
        Command::new("useradd").args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SERVER_USER,
        ]),
        &format!("useradd --system {SERVER_USER}"),
    );
    // Another test process may have made it meanwhile: look again.
    match (made, lookup_user()) {
        (_, Some(user)) => Ok(user),
        (Err(error), None) => Err(error),
        (Ok(_), None) => Err(Error::unexpected(
            format!("user {SERVER_USER}"),
            "useradd succeeded but `id` does not find the user",
        )),
    }
}

fn lookup_user() -> Option<ServerUser> {
    let id = |flag: &str| -> Option<u32> {
        let out = run(
            Command::new("id").args([OsStr::new(flag), OsStr::new(SERVER_USER)]),
            "id",
        )
        .ok()?;
        out.trim().parse().ok()
    };
    Some(ServerUser {
        uid: id("-u")?,
        gid: id("-g")?,
    })
}
