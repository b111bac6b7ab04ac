//! The sled ledger: opening and creating it, the writer with group commit,
//! import sessions, and the head record kept beside the database.
//!
//! An append stages its batch ([`crate::stage`]) under the writer lock and
//! joins the accepted batches waiting in memory; one waiting append leads
//! the next flush: it writes every waiting batch in one `apply_batch` with
//! the head marker, then sled's `flush` and an `fdatasync` of sled's data
//! file, then replaces the head record file; each append is acknowledged
//! once such a flush covers it. Readers see only durable entries.

use crate::error::StoreError;
use crate::guard::guard;
use crate::head::{self, HeadRecord};
use crate::layout;
use crate::stage::{LogView, Stage, StageContext};
use crate::tree::{frontier_positions, Frontier, STORED_LEVEL_MIN};
use crate::types::{AppendOptions, Appended, Head, OperatorKeys};
use crate::write::{self, Overlay};
use armistice_core::disclose::Salt;
use armistice_core::json::Submission;
use armistice_core::rules::RuleState;
use ed25519_dalek::SigningKey;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// The folder inside a ledger that holds sled's files.
pub const SLED_DIR: &str = "sled";

/// How a command opens the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// To append: the folder lock is taken and the database opened in place.
    Write,
    /// To read. Nothing of the ledger's files is written: sled's recovery
    /// writes to the files it opens (it rewrites the tail of the active
    /// segment and regenerates its snapshot), so a private copy of the
    /// database is read — a copy-on-write clone where the file system
    /// makes one (`copy_file_range`), a plain copy otherwise.
    Read,
    /// To check: always a private copy, so that sled's own recovery never
    /// rewrites a damaged database before it has been examined.
    Examine,
}

/// An open ledger. One process at a time; within it, appends are serialised.
pub struct Ledger {
    path: PathBuf,
    origin: String,
    keys: Mutex<SigningKeys>,
    /// sled's handle. Not dropped when a write failed: sled's drop flushes,
    /// and after a failed write its flush never returns.
    pub(crate) tree: SledHandle,
    sled_dir: PathBuf,
    data_file: Option<File>,
    /// Blob files already synced (see [`Ledger::sync_blobs`]).
    synced_blobs: Mutex<std::collections::HashSet<std::ffi::OsString>>,
    identity: Option<FolderIdentity>,
    mode: OpenMode,
    writer: Mutex<Writer>,
    durability: Mutex<Durability>,
    durable_changed: Condvar,
    /// Every new durable head, for readers that follow the log.
    head_sender: tokio::sync::watch::Sender<Head>,
    flushes: AtomicU64,
    /// Set when a write failed: sled's memory may then hold what the disk
    /// does not, so no further append is accepted from this handle.
    broken: AtomicBool,
    head_record: Option<Result<HeadRecord, String>>,
    /// Removes the private copy (if any) when the ledger closes.
    _copy: Option<tempfile::TempDir>,
    /// Held for the ledger's lifetime; declared last so sled closes first.
    _lock: File,
}

pub(crate) struct Writer {
    pub(crate) rules: RuleState,
    pub(crate) frontier: Frontier,
    pub(crate) applied: Head,
    pub(crate) operator_keys: OperatorKeys,
    pub(crate) pending: Overlay,
}

struct Durability {
    durable: Head,
    syncing: bool,
}

/// The operator's secret keys this process holds.
#[derive(Default)]
struct SigningKeys {
    /// The key in force.
    current: Option<SigningKey>,
    /// The key an `operator_key_rotated` about to be appended installs.
    next: Option<SigningKey>,
}

/// The device and inode of the folder and the database file, so that a
/// folder removed or replaced while the ledger is open is noticed before an
/// append is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FolderIdentity {
    folder: (u64, u64),
    database: (u64, u64),
}

impl FolderIdentity {
    fn of(path: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let id = |p: &Path| std::fs::metadata(p).map(|m| (m.dev(), m.ino()));
        Ok(FolderIdentity {
            folder: id(path)?,
            database: id(&path.join(SLED_DIR).join("db"))?,
        })
    }
}

/// An append in progress, holding the writer lock (an import): chunks of
/// events staged, each written to sled before the next (uncommitted), the
/// last with the commit. Readers see none of it until [`Session::commit`]
/// has made it durable; dropping it uncommitted removes what it wrote, and a
/// crash leaves entries past the head marker, which the next open removes.
pub struct Session<'a> {
    ledger: &'a Ledger,
    writer: MutexGuard<'a, Writer>,
    stage: Stage,
    salts: Salts,
    /// Whether chunks were written to sled already (then the commit writes
    /// directly instead of joining the group commit).
    direct: bool,
    committed: bool,
}

/// The sled tree as staging reads it: the batches waiting for a flush
/// first, then sled.
pub(crate) struct SledView<'a> {
    pub(crate) tree: &'a sled::Db,
    pub(crate) pending: &'a Overlay,
    pub(crate) durable: u64,
}

impl LogView for SledView<'_> {
    fn event_seq(&self, id: &uuid::Uuid) -> Result<Option<u64>, StoreError> {
        let value = write::get(self.tree, self.pending, &layout::event_id(id))?;
        Ok(value.as_deref().and_then(layout::tail_u64))
    }

    fn stream_seqs(&self, stream: &str) -> Result<Vec<u64>, StoreError> {
        write::stream_seqs(self.tree, self.pending, stream)
    }

    fn entry_bytes(&self, seq: u64) -> Result<Vec<u8>, StoreError> {
        write::entry_bytes(self.tree, self.pending, seq)?
            .ok_or_else(|| StoreError::corrupt(seq, "the entry is missing from the log"))
    }

    fn durable_seq(&self) -> u64 {
        self.durable
    }
}

/// Fresh salts from the operating system's generator, drawn 256 at a time
/// (one system call per 4 KiB rather than per salt).
#[derive(Default)]
struct Salts {
    buffer: Vec<u8>,
}

impl Salts {
    fn next(&mut self) -> Salt {
        if self.buffer.len() < 16 {
            self.buffer.resize(4096, 0);
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut self.buffer);
        }
        let mut salt = [0; 16];
        salt.copy_from_slice(&self.buffer[self.buffer.len() - 16..]);
        let keep = self.buffer.len() - 16;
        // Each salt is handed out once: its bytes leave the buffer.
        self.buffer.truncate(keep);
        salt
    }
}

impl Ledger {
    /// Creates a new, empty ledger at `path` (a folder that must not exist
    /// yet, or be empty), kept by the operator whose public key is given,
    /// whose checkpoints name `origin`.
    pub fn create(
        path: &Path,
        operator_public_key: &[u8; 32],
        origin: &str,
    ) -> Result<Ledger, StoreError> {
        if path.exists() && std::fs::read_dir(path)?.next().is_some() {
            return Err(StoreError::AlreadyExists(path.to_owned()));
        }
        std::fs::create_dir_all(path)?;
        crate::space::ensure(path, 0)?;
        let lock = lock_folder(path, OpenMode::Write)?;
        let tree = open_tree(&path.join(SLED_DIR))?;
        let mut batch = sled::Batch::default();
        batch.insert(&[layout::FORMAT], &[layout::STORE_FORMAT]);
        batch.insert(
            &[layout::OPERATOR],
            OperatorKeys::new(*operator_public_key).encode(),
        );
        batch.insert(&[layout::ORIGIN], origin.as_bytes());
        guard(|| tree.apply_batch(batch))??;
        guard(|| tree.flush())??;
        File::open(path.join(SLED_DIR).join("db"))?.sync_all()?;
        drop(tree);
        head::write(
            path,
            &HeadRecord {
                seq: 0,
                hash: Head::EMPTY.hash,
                root: armistice_merkle::empty_root(),
                recorded_at: Head::EMPTY.recorded_at,
            },
        )?;
        drop(lock);
        Self::open(path, OpenMode::Write)
    }

    /// Opens the ledger at `path`.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Ledger, StoreError> {
        let db = path.join(SLED_DIR).join("db");
        if !db.is_file() {
            return Err(StoreError::NotALedger(path.to_owned()));
        }
        let lock = lock_folder(path, mode)?;
        let (copy, sled_dir) = match mode {
            OpenMode::Write => {
                // sled's recovery writes as it opens: not on a full disk.
                crate::space::ensure(path, 0)?;
                crate::recover::clean_sled_leftovers(&path.join(SLED_DIR))?;
                (None, path.join(SLED_DIR))
            }
            OpenMode::Read | OpenMode::Examine => {
                let copy = crate::recover::private_copy(&path.join(SLED_DIR))?;
                let dir = copy.path().join(SLED_DIR);
                (Some(copy), dir)
            }
        };
        let tree = open_tree(&sled_dir)?;
        if crate::layout_v1::is_format_1(&tree)? {
            return Err(StoreError::OldFormat(path.to_owned()));
        }
        let data_file = match mode {
            OpenMode::Write => Some(File::open(sled_dir.join("db"))?),
            _ => None,
        };
        let head = read_head(&tree)?;
        let keys = guard(|| tree.get([layout::OPERATOR]))??;
        let operator_keys = keys
            .as_deref()
            .and_then(OperatorKeys::decode)
            .ok_or_else(|| StoreError::corrupt(0, "the operator's public key is missing"))?;
        let origin = match guard(|| tree.get([layout::ORIGIN]))?? {
            Some(origin) => String::from_utf8(origin.to_vec())
                .map_err(|_| StoreError::corrupt(0, "the origin is not text"))?,
            None => default_origin(&operator_keys.all()[0].1),
        };
        let identity = match mode {
            OpenMode::Write => Some(FolderIdentity::of(path)?),
            _ => None,
        };
        let ledger = Ledger {
            path: path.to_owned(),
            origin,
            keys: Mutex::new(SigningKeys::default()),
            tree: SledHandle(Some(tree)),
            sled_dir: sled_dir.clone(),
            synced_blobs: Mutex::new(Default::default()),
            data_file,
            identity,
            mode,
            writer: Mutex::new(Writer {
                rules: RuleState::default(),
                frontier: Frontier::default(),
                applied: head,
                operator_keys,
                pending: Overlay::default(),
            }),
            durability: Mutex::new(Durability {
                durable: head,
                syncing: false,
            }),
            durable_changed: Condvar::new(),
            head_sender: tokio::sync::watch::Sender::new(head),
            flushes: AtomicU64::new(0),
            broken: AtomicBool::new(false),
            head_record: head::read(path)?,
            _copy: copy,
            _lock: lock,
        };
        ledger.after_open(head)?;
        Ok(ledger)
    }

    /// Removes what an uncommitted session left, loads the tree's frontier
    /// and checks the database against the head record.
    fn after_open(&self, head: Head) -> Result<(), StoreError> {
        if self.mode == OpenMode::Write {
            let keys = self.operator_keys();
            if crate::recover::truncate_after(&self.tree, &self.sled_dir, head.seq, &keys)? > 0 {
                self.sync()?;
            }
        }
        let frontier = match self.load_frontier(head.seq) {
            Ok(frontier) => frontier,
            // A damaged database is examined, not refused: `verify` reports
            // what is wrong and what it can still prove.
            Err(_) if self.mode == OpenMode::Examine => Frontier::default(),
            Err(e) => return Err(e),
        };
        let root = frontier.root();
        let mut writer = self.lock_writer();
        writer.frontier = frontier;
        writer.operator_keys.truncate(head.seq);
        drop(writer);
        match &self.head_record {
            // `verify` reports a mismatch itself, with what it can still prove.
            _ if self.mode == OpenMode::Examine => {}
            Some(Ok(record)) => self.compare_head_record(record, head, root)?,
            Some(Err(detail)) => {
                return Err(StoreError::HeadRecord(format!(
                    "{}: {detail}",
                    self.path.join(head::HEAD_FILE).display()
                )))
            }
            None => {}
        }
        if self.mode == OpenMode::Write
            && self
                .head_record
                .as_ref()
                .is_none_or(|r| r.as_ref().is_ok_and(|r| r.seq < head.seq))
        {
            // The database is ahead of its head record (a crash between the
            // two writes, or a ledger made before the record existed).
            self.write_head_record(head, root)?;
        }
        Ok(())
    }

    /// A database shorter than the head record, or with another entry at
    /// its size, lost acknowledged entries: a loud error, never a smaller "ok".
    fn compare_head_record(
        &self,
        record: &HeadRecord,
        head: Head,
        root: [u8; 32],
    ) -> Result<(), StoreError> {
        let lost = |detail: String| StoreError::Lost {
            recorded: record.seq,
            found: head.seq,
            detail,
        };
        if head.seq < record.seq {
            return Err(lost(format!(
                "the database holds {} entries but the head record says {} were committed",
                head.seq, record.seq
            )));
        }
        if head.seq == record.seq && (head.hash != record.hash || root != record.root) {
            return Err(lost(format!(
                "entry {} is not the one the head record names (hash {} there, {} here): the log was rewritten",
                record.seq,
                hex::encode(record.hash),
                hex::encode(head.hash)
            )));
        }
        if head.seq > record.seq {
            let hash = if record.seq == 0 {
                Head::EMPTY.hash
            } else {
                self.record_header(record.seq)
                    .map(|h| armistice_core::entry::sha256(&h.encode()))?
            };
            if hash != record.hash {
                return Err(lost(format!(
                    "entry {} is not the one the head record names: the log was rewritten",
                    record.seq
                )));
            }
        }
        Ok(())
    }

    fn write_head_record(&self, head: Head, root: [u8; 32]) -> Result<(), StoreError> {
        head::write(
            &self.path,
            &HeadRecord {
                seq: head.seq,
                hash: head.hash,
                root,
                recorded_at: head.recorded_at,
            },
        )?;
        Ok(())
    }

    /// The head record kept beside the database, as read at open.
    pub fn head_record(&self) -> Option<&Result<HeadRecord, String>> {
        self.head_record.as_ref()
    }

    /// The checkpoint origin (and the operator key's name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The operator's public key in force now (the newest).
    pub fn operator_public_key(&self) -> [u8; 32] {
        self.lock_writer().operator_keys.current()
    }

    /// The operator's keys along the log.
    pub fn operator_keys(&self) -> OperatorKeys {
        self.lock_writer().operator_keys.clone()
    }

    /// Lets the ledger sign operator statements and checkpoints itself.
    pub fn attach_operator_key(&self, key: SigningKey) -> Result<(), StoreError> {
        if key.verifying_key().to_bytes() != self.operator_public_key() {
            return Err(StoreError::WrongOperatorKey);
        }
        self.lock_keys().current = Some(key);
        Ok(())
    }

    /// Holds the key an `operator_key_rotated` is about to install, so that
    /// once it is appended the ledger signs with it.
    pub fn prepare_rotation(&self, key: SigningKey) {
        self.lock_keys().next = Some(key);
    }

    /// The operator's signing key in force, when this process holds it.
    pub fn operator_key(&self) -> Option<SigningKey> {
        let current = self.operator_public_key();
        self.lock_keys()
            .current
            .clone()
            .filter(|k| k.verifying_key().to_bytes() == current)
    }

    fn lock_keys(&self) -> MutexGuard<'_, SigningKeys> {
        // Plain assignments only: poisoning cannot leave it half-updated.
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The folder the ledger lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sled's tree, for the verifier and for tests that tamper with storage.
    pub fn tree(&self) -> &sled::Db {
        &self.tree
    }

    /// How the ledger was opened.
    pub fn mode(&self) -> OpenMode {
        self.mode
    }

    /// How many flush + fdatasync rounds this handle has made (group commit
    /// shares one among many appends; benchmarks report the ratio).
    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// A channel that sees every new durable head.
    pub fn watch_head(&self) -> tokio::sync::watch::Receiver<Head> {
        self.head_sender.subscribe()
    }

    /// The newest committed (durable) entry; seq 0 when empty.
    pub fn head(&self) -> Head {
        self.lock_durability().durable
    }

    fn lock_durability(&self) -> MutexGuard<'_, Durability> {
        // Only plain assignments happen under this lock: poisoning cannot
        // leave it half-updated.
        self.durability
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn lock_writer(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock can only come from an assertion;
        // a session's drop has then removed what it wrote and reset the
        // rule state, so the state is sound.
        self.writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn check_writable(&self) -> Result<(), StoreError> {
        if self.mode != OpenMode::Write {
            return Err(StoreError::ReadOnly(self.path.clone()));
        }
        if self.broken.load(Ordering::Relaxed) {
            return Err(StoreError::Broken);
        }
        Ok(())
    }

    /// Waits until `target` is durable, leading a flush when none is under way.
    fn make_durable(&self, target: Head) -> Result<(), StoreError> {
        loop {
            let mut durability = self.lock_durability();
            if durability.durable.seq >= target.seq {
                return Ok(());
            }
            if durability.syncing {
                drop(
                    self.durable_changed
                        .wait(durability)
                        .unwrap_or_else(|poisoned| poisoned.into_inner()),
                );
                continue;
            }
            durability.syncing = true;
            drop(durability);
            let written = {
                let mut writer = self.lock_writer();
                self.write_pending(&mut writer)
                    .map(|()| (writer.applied, writer.frontier.root()))
            };
            let synced = written.and_then(|(goal, root)| {
                self.sync()?;
                // The head record goes only where the database went: a
                // folder removed or replaced meanwhile gets none of it.
                self.check_identity()?;
                self.write_head_record(goal, root)?;
                self.check_identity()?;
                Ok(goal)
            });
            if synced.is_err() {
                self.broken.store(true, Ordering::Relaxed);
            }
            let mut durability = self.lock_durability();
            durability.syncing = false;
            if let Ok(goal) = &synced {
                if goal.seq > durability.durable.seq {
                    durability.durable = *goal;
                    self.head_sender.send_replace(*goal);
                }
            }
            self.durable_changed.notify_all();
            synced?;
        }
    }

    /// The folder must still be the one opened: an append is acknowledged
    /// only when it is durable where the ledger is.
    fn check_identity(&self) -> Result<(), StoreError> {
        let Some(identity) = self.identity else {
            return Ok(());
        };
        match FolderIdentity::of(&self.path) {
            Ok(now) if now == identity => Ok(()),
            _ => Err(StoreError::Vanished(self.path.clone())),
        }
    }

    /// Writes the accepted batches waiting for a flush to sled, with the
    /// head marker of the newest accepted entry.
    fn write_pending(&self, writer: &mut Writer) -> Result<(), StoreError> {
        if writer.pending.is_empty() {
            return Ok(());
        }
        writer
            .pending
            .put_final(vec![layout::HEAD], writer.applied.encode());
        // `apply_batch` is atomic: when it fails, nothing was written and the
        // batches stay waiting for the next flush to try again.
        let written = write::apply(&self.tree, &self.sled_dir, &writer.pending);
        if written.is_ok() {
            writer.pending = Overlay::default();
        }
        written
    }

    /// Appends a batch: all of it lands, durably, or none of it does and the
    /// ledger is unchanged byte for byte.
    pub fn append(
        &self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        let mut session = self.begin()?;
        let appended = session.append(batch, options)?;
        session.commit()?;
        Ok(appended)
    }

    /// Starts a session for an append in several chunks (an import): other
    /// appends wait until it is committed or dropped.
    pub fn begin(&self) -> Result<Session<'_>, StoreError> {
        self.check_writable()?;
        let writer = self.lock_writer();
        let stage = Stage::new(
            writer.applied,
            writer.frontier.clone(),
            writer.operator_keys.clone(),
        );
        Ok(Session {
            ledger: self,
            writer,
            stage,
            salts: Salts::default(),
            direct: false,
            committed: false,
        })
    }

    /// Makes every write so far durable: sled's flush, then an `fdatasync`
    /// of its data file (sled 0.34's flush ends in `sync_file_range`, which is
    /// not a durability barrier).
    pub fn sync(&self) -> Result<(), StoreError> {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        guard(|| self.tree.flush())??;
        if let Some(file) = &self.data_file {
            self.sync_blobs()?;
            file.sync_data()?;
        }
        Ok(())
    }

    /// sled writes large items to files under `blobs/` without syncing
    /// them; the log items that point at them are made durable only after
    /// they are: each new blob file is synced, then the folder.
    fn sync_blobs(&self) -> Result<(), StoreError> {
        let dir = self.sled_dir.join("blobs");
        let Ok(listing) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        let mut synced = self.synced_blobs.lock().unwrap_or_else(|p| p.into_inner());
        let mut present = std::collections::HashSet::new();
        let mut new = false;
        for entry in listing {
            let name = entry?.file_name();
            if !synced.contains(&name) {
                match File::open(dir.join(&name)) {
                    Ok(file) => file.sync_all()?,
                    // Collected by sled meanwhile: nothing to keep.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e.into()),
                }
                new = true;
            }
            present.insert(name);
        }
        if new {
            File::open(&dir)?.sync_all()?;
        }
        *synced = present;
        Ok(())
    }

    /// The frontier of the tree of `size` leaves (O(log n) reads).
    fn load_frontier(&self, size: u64) -> Result<Frontier, StoreError> {
        let nodes = frontier_positions(size)
            .into_iter()
            .map(|(level, index)| Ok((level, index, self.node_any(level, index)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Frontier::from_nodes(nodes))
    }

    /// The hash of a complete subtree, committed or not: stored from
    /// [`STORED_LEVEL_MIN`] up, recomputed below from its leaves.
    pub(crate) fn node_any(&self, level: u8, index: u64) -> Result<[u8; 32], StoreError> {
        if level >= STORED_LEVEL_MIN {
            let value = guard(|| self.tree.get(layout::merkle(level, index)))??;
            let bytes = value.ok_or_else(|| {
                StoreError::corrupt(0, format!("Merkle node ({level}, {index}) is missing"))
            })?;
            return bytes.as_ref().try_into().map_err(|_| {
                StoreError::corrupt(0, format!("Merkle node ({level}, {index}) is not 32 bytes"))
            });
        }
        let first = (index << level) + 1;
        let count = 1u64 << level;
        let mut hashes = Vec::with_capacity(count as usize);
        for seq in first..first + count {
            let bytes =
                write::entry_bytes(&self.tree, &Overlay::default(), seq)?.ok_or_else(|| {
                    StoreError::corrupt(
                        seq,
                        format!("entries for Merkle node ({level}, {index}) are missing"),
                    )
                })?;
            let (_, leaf_len) = armistice_core::Header::decode(&bytes)
                .map_err(|e| StoreError::corrupt(seq, e.to_string()))?;
            hashes.push(armistice_merkle::leaf_hash(&bytes[..leaf_len]));
        }
        Ok(armistice_merkle::mth(&hashes))
    }
}

/// sled's handle, which a ledger whose write failed never drops.
pub(crate) struct SledHandle(Option<sled::Db>);

impl std::ops::Deref for SledHandle {
    type Target = sled::Db;

    fn deref(&self) -> &sled::Db {
        // Only `Ledger::drop` takes the handle out, and nothing reads it after.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("the sled handle is used after the ledger was dropped"))
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if self.broken.load(Ordering::Relaxed) {
            // sled's drop flushes, and after a failed write its flush never
            // returns: the handle is left to the end of the process, and
            // nothing more is written through it.
            std::mem::forget(self.tree.0.take());
        }
    }
}

/// The origin a ledger made before `--origin` existed has: `armistice/`
/// and the first 8 bytes of its operator key in hex.
pub fn default_origin(operator_public_key: &[u8; 32]) -> String {
    format!("armistice/{}", hex::encode(&operator_public_key[..8]))
}

/// Takes the ledger folder's own lock: the one that says "in use". Readers
/// open it read-only (nothing is written, and it works on read-only media).
pub(crate) fn lock_folder(path: &Path, mode: OpenMode) -> Result<File, StoreError> {
    let lock_path = path.join("lock");
    let file = match mode {
        OpenMode::Write => std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?,
        _ => match File::open(&lock_path) {
            Ok(file) => file,
            // A ledger copied without its lock file: nobody else holds it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::open(path)?,
            Err(e) => return Err(e.into()),
        },
    };
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy(path.to_owned())),
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// How long to wait for sled's own file lock once the folder lock is ours:
/// sled 0.34 releases it only when its last internal thread has let go of
/// a dropped handle, shortly after the drop.
const SLED_LOCK_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// sled's page cache, in bytes. sled keeps every page it writes or reads in
/// it up to this bound, so it is most of a process's memory: an import or a
/// replay of a million entries would otherwise hold them all.
const SLED_CACHE_BYTES: u64 = 128 * 1024 * 1024;

/// sled's segment size for new databases (sled's default). Its log items
/// above a quarter of it are written as separate blob files, which sled
/// never syncs: [`Ledger::sync`] syncs them before the database.
const SLED_SEGMENT_BYTES: usize = 512 * 1024;

/// The segment size a database was made with (sled refuses another), or
/// the size for a new one.
fn segment_size(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("conf"))
        .ok()
        .and_then(|conf| {
            conf.lines()
                .find_map(|line| line.strip_prefix("segment_size: "))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(SLED_SEGMENT_BYTES)
}

pub(crate) fn open_tree(dir: &Path) -> Result<sled::Db, StoreError> {
    let deadline = std::time::Instant::now() + SLED_LOCK_GRACE;
    let segment = segment_size(dir);
    loop {
        // No background flusher: every commit flushes and syncs itself.
        let config = sled::Config::new()
            .path(dir)
            .flush_every_ms(None)
            .segment_size(segment)
            .cache_capacity(SLED_CACHE_BYTES);
        match guard(|| config.open())? {
            Err(sled::Error::Io(io)) if io.to_string().contains("could not acquire lock") => {
                if std::time::Instant::now() >= deadline {
                    return Err(StoreError::Busy(dir.parent().unwrap_or(dir).to_owned()));
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            other => return Ok(other?),
        }
    }
}

fn read_head(tree: &sled::Db) -> Result<Head, StoreError> {
    match guard(|| tree.get([layout::HEAD]))?? {
        None => Ok(Head::EMPTY),
        Some(value) => {
            Head::decode(&value).ok_or_else(|| StoreError::corrupt(0, "the head marker is damaged"))
        }
    }
}

impl Session<'_> {
    /// Stages a chunk of events, after the chunks before it. A rejection
    /// ends the session: nothing it staged will land. The index of a
    /// rejected event counts from the session's first event.
    pub fn append(
        &mut self,
        batch: &[Submission],
        options: &AppendOptions,
    ) -> Result<Vec<Appended>, StoreError> {
        // In a long session (an import), what is staged goes to sled once it
        // passes a bound (uncommitted), so that memory stays bounded; the
        // rest lands with the commit. A session that fails before the bound
        // never touches the database.
        if self.stage.entries.len() >= HANDOVER_ENTRIES
            || self.stage.staged_bytes() >= HANDOVER_BYTES
        {
            self.ledger.write_pending(&mut self.writer)?;
            let ops = {
                let view = self.view();
                write::stage_ops(&self.stage, &view, false)?
            };
            write::apply(&self.ledger.tree, &self.ledger.sled_dir, &ops)?;
            guard(|| self.ledger.tree.flush())??;
            self.stage.handed_over();
            self.direct = true;
            // The rule state only grows within a session; past a bound it
            // is dropped and reloaded from what was written.
            if self.writer.rules.loaded_streams() > RULE_STREAMS_MAX {
                self.writer.rules = RuleState::default();
            }
        }
        let ledger = self.ledger;
        let operator_key = ledger.lock_keys().current.clone();
        let salts = &mut self.salts;
        let mut salt = || salts.next();
        let mut context = StageContext {
            operator_key: operator_key.as_ref(),
            fresh_salt: &mut salt,
        };
        let writer = &mut *self.writer;
        let view = SledView {
            tree: &ledger.tree,
            pending: &writer.pending,
            durable: ledger.head().seq,
        };
        self.stage
            .stage_chunk(&view, &mut writer.rules, &mut context, batch, options)
    }

    /// Stages entries copied byte for byte, in seq order (a migration).
    pub fn append_raw(&mut self, entries: Vec<Vec<u8>>) -> Result<(), StoreError> {
        if self.stage.entries.len() >= HANDOVER_ENTRIES
            || self.stage.staged_bytes() >= HANDOVER_BYTES
        {
            let ops = {
                let view = self.view();
                write::stage_ops(&self.stage, &view, false)?
            };
            write::apply(&self.ledger.tree, &self.ledger.sled_dir, &ops)?;
            guard(|| self.ledger.tree.flush())??;
            self.stage.handed_over();
            self.direct = true;
        }
        for bytes in entries {
            if let Err(e) = self.stage.push_raw(bytes) {
                self.stage.failed = true;
                return Err(e);
            }
        }
        Ok(())
    }

    fn view(&self) -> SledView<'_> {
        SledView {
            tree: &self.ledger.tree,
            pending: &self.writer.pending,
            durable: self.ledger.head().seq,
        }
    }

    /// The head the session would commit.
    pub fn head(&self) -> Head {
        self.stage.head
    }

    /// Makes everything staged visible and durable; returns once a flush +
    /// `fdatasync` and the head record cover it.
    pub fn commit(mut self) -> Result<Head, StoreError> {
        if self.stage.failed {
            return Err(StoreError::rejected(
                self.stage.position,
                armistice_core::Rejection::event("a rejected batch cannot be committed"),
            ));
        }
        self.stage.finish()?;
        let head = self.stage.head;
        let ledger = self.ledger;
        if head != self.stage.committed || !self.stage.redactions.is_empty() {
            let ops = {
                let view = self.view();
                write::stage_ops(&self.stage, &view, true)?
            };
            if self.direct {
                let mut ops = ops;
                ops.put_final(vec![layout::HEAD], head.encode());
                ledger.write_pending(&mut self.writer)?;
                write::apply(&ledger.tree, &ledger.sled_dir, &ops)?;
            } else {
                self.writer.pending.extend(ops);
            }
            self.writer.frontier = self.stage.frontier.clone();
            self.writer.applied = head;
            if self.writer.operator_keys != self.stage.operator_keys {
                self.writer.operator_keys = self.stage.operator_keys.clone();
                // The rotation's key signs from the next statement on.
                let current = self.writer.operator_keys.current();
                let mut keys = ledger.lock_keys();
                keys.current = keys
                    .next
                    .take()
                    .filter(|k| k.verifying_key().to_bytes() == current);
            }
        }
        self.committed = true;
        // Let the next writer stage while this batch waits for its flush;
        // with nothing new (all duplicates), still wait until what they
        // found is durable.
        drop(self);
        ledger.make_durable(head)?;
        Ok(head)
    }
}

/// Staged entries a session holds in memory before handing them to sled.
/// Below both bounds a rejected import never touches the database.
const HANDOVER_ENTRIES: usize = 200_000;
/// Staged bytes a session holds in memory before handing them to sled.
pub const HANDOVER_BYTES: usize = 16 * 1024 * 1024;

/// Streams whose rule state an import keeps in memory at most before
/// dropping it (it reloads what it needs from what it wrote).
const RULE_STREAMS_MAX: usize = 50_000;

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if self.committed || (!self.direct && self.stage.entries.is_empty()) {
            return;
        }
        // Other writers' accepted batches go to sled first, so that the
        // rule state reloads with them. Best effort: what is left of this
        // session is removed again by the next open.
        let _ = self.ledger.write_pending(&mut self.writer);
        if self.direct {
            let keys = self.writer.operator_keys.clone();
            let _ = crate::recover::truncate_after(
                &self.ledger.tree,
                &self.ledger.sled_dir,
                self.stage.committed.seq,
                &keys,
            );
        }
        self.writer.rules = RuleState::default();
    }
}
