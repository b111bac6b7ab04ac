//! The witness's durable state: per log origin, the latest checkpoint it
//! cosigned, one small file each, replaced atomically.
//!
//! ```text
//! <state dir>/lock                  held (flock) while a witness has the folder open
//! <state dir>/logs/<sha256(origin)> the latest cosigned checkpoint note of that origin:
//!                                   body, the log's verified signature(s), the cosignature
//! ```
//!
//! A file is written as `<name>.tmp`, fsynced, renamed over `<name>`, and the
//! `logs` folder is fsynced: after a crash either the old or the new note is
//! there, whole.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::WitnessError;

/// The lowercase hex SHA-256 of a log origin: the state file's name and the
/// `<origin hash>` of the monitoring URL.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

/// The opened state folder; holds the lock until dropped.
#[derive(Debug)]
pub(crate) struct StateDir {
    logs: PathBuf,
    _lock: File,
}

fn storage(path: &Path) -> impl FnOnce(std::io::Error) -> WitnessError + '_ {
    move |source| WitnessError::Storage {
        path: path.to_owned(),
        source,
    }
}

/// fsync a folder, so that the names created or renamed in it are durable.
fn sync_dir(path: &Path) -> Result<(), WitnessError> {
    File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(storage(path))
}

impl StateDir {
    /// Opens (creating if needed) the folder and takes its lock.
    pub(crate) fn open(dir: &Path) -> Result<Self, WitnessError> {
        let logs = dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(storage(&logs))?;
        sync_dir(dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(storage(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(WitnessError::Locked(dir.to_owned())),
            Err(TryLockError::Error(source)) => {
                return Err(WitnessError::Storage {
                    path: lock_path,
                    source,
                })
            }
        }
        Ok(StateDir { logs, _lock: lock })
    }

    /// The state file of `origin`.
    pub(crate) fn path(&self, origin: &str) -> PathBuf {
        self.logs.join(origin_hash(origin))
    }

    /// The stored note of `origin`, if the witness ever cosigned one.
    pub(crate) fn read(&self, origin: &str) -> Result<Option<String>, WitnessError> {
        let path = self.path(origin);
        match std::fs::read(&path) {
            Ok(bytes) => {
                String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| WitnessError::CorruptState {
                        path,
                        detail: "not UTF-8".into(),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(WitnessError::Storage { path, source }),
        }
    }

    /// Replaces the stored note of `origin` durably (temp file, fsync,
    /// rename, fsync of the folder); returns once it is on disk.
    pub(crate) fn write(&self, origin: &str, note: &str) -> Result<(), WitnessError> {
        let path = self.path(origin);
        let temp = path.with_extension("tmp");
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&temp)
            .map_err(storage(&temp))?;
        file.write_all(note.as_bytes()).map_err(storage(&temp))?;
        file.sync_all().map_err(storage(&temp))?;
        drop(file);
        std::fs::rename(&temp, &path).map_err(storage(&path))?;
        sync_dir(&self.logs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_and_a_second_opener_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(dir.path()).unwrap();
        assert_eq!(state.read("o").unwrap(), None);
        state.write("o", "one\n").unwrap();
        state.write("o", "two\n").unwrap();
        assert_eq!(state.read("o").unwrap().as_deref(), Some("two\n"));
        assert!(!state.path("o").with_extension("tmp").exists());
        assert!(matches!(
            StateDir::open(dir.path()),
            Err(WitnessError::Locked(_))
        ));
        drop(state);
        let again = StateDir::open(dir.path()).unwrap();
        assert_eq!(again.read("o").unwrap().as_deref(), Some("two\n"));
        assert_eq!(
            origin_hash("example.com/behind-the-sofa").len(),
            64,
            "hex SHA-256"
        );
    }
}
