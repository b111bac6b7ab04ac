//! Power loss, simulated after the fact (the method of ALICE and
//! CrashMonkey): the `lostwrites` shim (`tests/shim/lostwrites.c`, loaded with
//! `LD_PRELOAD`) records every file-system operation a command makes under
//! the ledger folder; [`replay`] then rebuilds, from a copy of the folder
//! taken before the command started, what a power loss at the command's last
//! moment would have left on disk, into a new folder.
//!
//! # The model of what survives a power loss
//!
//! * The copy taken before the command is durable as it is.
//! * **File contents** (writes, truncations): a change survives only if a
//!   `fsync` or `fdatasync` of the same file (through any descriptor)
//!   *began* after the change completed and returned successfully (or a
//!   `sync`/`syncfs` did). `sync_file_range` is not a barrier (it neither
//!   writes the drive's cache nor metadata) and makes nothing durable.
//! * **Names** (a file created, renamed, unlinked; a folder made or
//!   removed) depend on the [`Model`]:
//!   - [`Model::Strict`], POSIX's promise: a change of a folder's entries
//!     survives only if that folder is then fsynced (for a rename: the
//!     folder of its new name); a file created and fsynced but whose folder
//!     never was is lost whole.
//!   - [`Model::OrderedNames`], what ext4 (`data=ordered`) and most
//!     journaling file systems give in practice: every change of names
//!     survives, in order, but file contents still only as far as synced.
//!
//! Each model gives one state; a ledger must come back with every
//! acknowledged entry from both.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

/// Which changes of names survive the power loss (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    Strict,
    OrderedNames,
}

/// Compiles the shim into `dir` with the system's C compiler; returns the
/// shared library's path.
pub fn build_shim(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("shim/lostwrites.c");
    let library = dir.join("liblostwrites.so");
    let output = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the lost-writes test compiles {} with `cc`, which could not run ({e}): \
                 install a C compiler (gcc)",
                source.display()
            )
        });
    assert!(
        output.status.success(),
        "cc failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    library
}

/// Loads the shim into `command`, recording operations under `root` (the
/// ledger folder) into `log`.
pub fn trace(command: &mut Command, library: &Path, root: &Path, log: &Path) {
    let root = root
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    command
        .env("LD_PRELOAD", library)
        .env("LOSTWRITES_ROOT", root)
        .env("LOSTWRITES_LOG", log);
}

/// One operation as the shim logged it.
#[derive(Clone, Debug)]
pub enum Op {
    Open {
        fd: i32,
        path: PathBuf,
        flags: i32,
    },
    Close {
        fd: i32,
    },
    Write {
        fd: i32,
        path: PathBuf,
        offset: u64,
        data: Vec<u8>,
    },
    Truncate {
        fd: i32,
        path: PathBuf,
        len: u64,
    },
    /// `fsync` (data only: `fdatasync`), covering the records logged before it began.
    Sync {
        fd: i32,
        path: PathBuf,
        data_only: bool,
        records_before: usize,
    },
    /// `sync_file_range`: logged, not a barrier.
    SyncRange {
        fd: i32,
    },
    /// `syncfs` or `sync`.
    SyncAll {
        records_before: usize,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
    },
    Unlink {
        path: PathBuf,
    },
    MakeDir {
        path: PathBuf,
    },
    RemoveDir {
        path: PathBuf,
    },
}

const MAGIC: u32 = 0x3152_574c;
const HEADER_BYTES: usize = 48;
const O_CREAT: i32 = 0o100;
const O_TRUNC: i32 = 0o1000;
const O_DIRECTORY: i32 = 0o200000;

/// Parses the shim's log.
pub fn read_log(log: &Path) -> Vec<Op> {
    let bytes = std::fs::read(log).unwrap_or_default();
    let mut ops = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        assert!(
            at + HEADER_BYTES <= bytes.len(),
            "lost-writes log ends mid-record"
        );
        let header = &bytes[at..at + HEADER_BYTES];
        let u32_at = |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().unwrap());
        let i32_at = |i: usize| i32::from_le_bytes(header[i..i + 4].try_into().unwrap());
        let i64_at = |i: usize| i64::from_le_bytes(header[i..i + 8].try_into().unwrap());
        assert_eq!(u32_at(0), MAGIC, "lost-writes log: bad record at byte {at}");
        let op = header[4];
        let (fd, flags, a, b) = (i32_at(8), i32_at(12), i64_at(16), i64_at(24));
        let path_len = u32_at(32) as usize;
        let path2_len = u32_at(36) as usize;
        let data_len = u64::from_le_bytes(header[40..48].try_into().unwrap()) as usize;
        let mut cursor = at + HEADER_BYTES;
        let mut take = |n: usize| {
            let slice = &bytes[cursor..cursor + n];
            cursor += n;
            slice
        };
        let path = PathBuf::from(String::from_utf8_lossy(take(path_len)).into_owned());
        let path2 = PathBuf::from(String::from_utf8_lossy(take(path2_len)).into_owned());
        let data = take(data_len).to_vec();
        at = cursor;
        let offset = u64::try_from(a).expect("non-negative offset");
        ops.push(match op {
            1 => Op::Open { fd, path, flags },
            2 => Op::Close { fd },
            3 => Op::Write {
                fd,
                path,
                offset,
                data,
            },
            4 => Op::Truncate {
                fd,
                path,
                len: offset,
            },
            5 => Op::Sync {
                fd,
                path,
                data_only: flags == 1,
                records_before: offset as usize,
            },
            6 => {
                let _ = b;
                Op::SyncRange { fd }
            }
            7 => Op::SyncAll {
                records_before: offset as usize,
            },
            9 => Op::Rename {
                from: path,
                to: path2,
            },
            10 => Op::Unlink { path },
            11 => Op::MakeDir { path },
            12 => Op::RemoveDir { path },
            other => panic!("lost-writes log: unknown op {other}"),
        });
    }
    ops
}

/// How many operations of each kind a log holds, for the test's report.
pub fn summary(ops: &[Op]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for op in ops {
        let name = match op {
            Op::Open { .. } => "open",
            Op::Close { .. } => "close",
            Op::Write { .. } => "write",
            Op::Truncate { .. } => "truncate",
            Op::Sync {
                data_only: true, ..
            } => "fdatasync",
            Op::Sync { .. } => "fsync",
            Op::SyncRange { .. } => "sync_file_range",
            Op::SyncAll { .. } => "syncfs",
            Op::Rename { .. } => "rename",
            Op::Unlink { .. } => "unlink",
            Op::MakeDir { .. } => "mkdir",
            Op::RemoveDir { .. } => "rmdir",
        };
        *counts.entry(name).or_default() += 1;
    }
    counts
        .iter()
        .map(|(name, n)| format!("{n} {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A file or folder of the simulated disk.
struct Inode {
    dir: bool,
    /// What a power loss now would leave of its contents.
    durable: Vec<u8>,
    /// Changes since, with the index of their record in the log.
    pending: Vec<(usize, Change)>,
}

enum Change {
    Write { offset: u64, data: Vec<u8> },
    Truncate { len: u64 },
}

impl Inode {
    fn apply_pending(&mut self, records_before: usize) {
        let mut kept = Vec::new();
        for (index, change) in std::mem::take(&mut self.pending) {
            if index >= records_before {
                kept.push((index, change));
                continue;
            }
            match change {
                Change::Write { offset, data } => {
                    let end = offset as usize + data.len();
                    if self.durable.len() < end {
                        self.durable.resize(end, 0);
                    }
                    self.durable[offset as usize..end].copy_from_slice(&data);
                }
                Change::Truncate { len } => self.durable.resize(len as usize, 0),
            }
        }
        self.pending = kept;
    }
}

/// A change of a folder's entries, waiting for that folder's fsync (strict model).
enum NameChange {
    Link {
        path: PathBuf,
        inode: usize,
    },
    Unlink {
        path: PathBuf,
    },
    Rename {
        from: PathBuf,
        to: PathBuf,
        inode: usize,
    },
}

impl NameChange {
    /// The folder whose fsync makes it durable.
    fn folder(&self) -> PathBuf {
        let path = match self {
            NameChange::Link { path, .. } | NameChange::Unlink { path } => path,
            NameChange::Rename { to, .. } => to,
        };
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// The simulated disk: names (as the program sees them, and as a power loss
/// would leave them) over inodes.
struct Disk {
    model: Model,
    root: PathBuf,
    inodes: Vec<Inode>,
    live: BTreeMap<PathBuf, usize>,
    durable: BTreeMap<PathBuf, usize>,
    pending_names: Vec<NameChange>,
    fds: HashMap<i32, usize>,
}

impl Disk {
    fn from_copy(copy: &Path, root: &Path, model: Model) -> Disk {
        let mut disk = Disk {
            model,
            root: root.to_owned(),
            inodes: Vec::new(),
            live: BTreeMap::new(),
            durable: BTreeMap::new(),
            pending_names: Vec::new(),
            fds: HashMap::new(),
        };
        let top = disk.new_inode(true, Vec::new());
        disk.live.insert(PathBuf::new(), top);
        disk.durable.insert(PathBuf::new(), top);
        disk.load(copy, Path::new(""));
        disk
    }

    fn load(&mut self, dir: &Path, relative: &Path) {
        for entry in std::fs::read_dir(dir).expect("read the copy") {
            let entry = entry.expect("read_dir entry");
            let name = relative.join(entry.file_name());
            let kind = entry.file_type().expect("file type");
            let inode = if kind.is_dir() {
                self.new_inode(true, Vec::new())
            } else {
                self.new_inode(false, std::fs::read(entry.path()).expect("read the copy"))
            };
            self.live.insert(name.clone(), inode);
            self.durable.insert(name.clone(), inode);
            if kind.is_dir() {
                self.load(&entry.path(), &name);
            }
        }
    }

    fn new_inode(&mut self, dir: bool, contents: Vec<u8>) -> usize {
        self.inodes.push(Inode {
            dir,
            durable: contents,
            pending: Vec::new(),
        });
        self.inodes.len() - 1
    }

    /// `path` relative to the ledger folder, with `.` and `..` resolved.
    fn relative(&self, path: &Path) -> Option<PathBuf> {
        let mut normal = PathBuf::new();
        for component in path.components() {
            match component {
                Component::ParentDir => {
                    normal.pop();
                }
                Component::CurDir => {}
                other => normal.push(other),
            }
        }
        normal.strip_prefix(&self.root).ok().map(Path::to_path_buf)
    }

    /// The inode an operation on `fd` (last known as `path`) reaches.
    fn inode_of(&self, fd: i32, path: &Path) -> usize {
        if let Some(inode) = self.fds.get(&fd) {
            return *inode;
        }
        self.relative(path)
            .and_then(|relative| self.live.get(&relative).copied())
            .unwrap_or_else(|| {
                panic!(
                    "replay: fd {fd} ({}) is neither opened in the log nor a known file",
                    path.display()
                )
            })
    }

    fn change_names(&mut self, change: NameChange) {
        match self.model {
            Model::OrderedNames => self.make_name_durable(change),
            Model::Strict => self.pending_names.push(change),
        }
    }

    fn make_name_durable(&mut self, change: NameChange) {
        match change {
            NameChange::Link { path, inode } => {
                self.durable.insert(path, inode);
            }
            NameChange::Unlink { path } => {
                let gone: Vec<PathBuf> = self
                    .durable
                    .keys()
                    .filter(|p| p.starts_with(&path))
                    .cloned()
                    .collect();
                for p in gone {
                    self.durable.remove(&p);
                }
            }
            NameChange::Rename { from, to, inode } => {
                self.durable.remove(&from);
                self.durable.insert(to, inode);
            }
        }
    }

    /// A folder was fsynced: the pending changes of its entries survive.
    fn folder_synced(&mut self, folder: &Path) {
        let (now, later): (Vec<NameChange>, Vec<NameChange>) =
            std::mem::take(&mut self.pending_names)
                .into_iter()
                .partition(|change| change.folder() == folder);
        self.pending_names = later;
        for change in now {
            self.make_name_durable(change);
        }
    }

    fn apply(&mut self, index: usize, op: Op) {
        match op {
            Op::Open { fd, path, flags } => self.open(index, fd, &path, flags),
            Op::Close { fd } => {
                self.fds.remove(&fd);
            }
            Op::Write {
                fd,
                path,
                offset,
                data,
            } => {
                let inode = self.inode_of(fd, &path);
                self.inodes[inode]
                    .pending
                    .push((index, Change::Write { offset, data }));
            }
            Op::Truncate { fd, path, len } => {
                let inode = self.inode_of(fd, &path);
                self.inodes[inode]
                    .pending
                    .push((index, Change::Truncate { len }));
            }
            Op::Sync {
                fd,
                path,
                records_before,
                ..
            } => {
                let inode = self.inode_of(fd, &path);
                self.inodes[inode].apply_pending(records_before);
                if self.inodes[inode].dir {
                    let folder = self
                        .live
                        .iter()
                        .find(|(_, i)| **i == inode)
                        .map(|(p, _)| p.clone());
                    if let Some(folder) = folder {
                        self.folder_synced(&folder);
                    }
                }
            }
            Op::SyncRange { .. } => {}
            Op::SyncAll { records_before } => {
                for inode in &mut self.inodes {
                    inode.apply_pending(records_before);
                }
                for change in std::mem::take(&mut self.pending_names) {
                    self.make_name_durable(change);
                }
            }
            Op::Rename { from, to } => self.rename(&from, &to),
            Op::Unlink { path } | Op::RemoveDir { path } => {
                if let Some(path) = self.relative(&path) {
                    self.live.retain(|p, _| !p.starts_with(&path));
                    self.change_names(NameChange::Unlink { path });
                }
            }
            Op::MakeDir { path } => {
                if let Some(path) = self.relative(&path) {
                    let inode = self.new_inode(true, Vec::new());
                    self.live.insert(path.clone(), inode);
                    self.change_names(NameChange::Link { path, inode });
                }
            }
        }
    }

    fn open(&mut self, index: usize, fd: i32, path: &Path, flags: i32) {
        let relative = self
            .relative(path)
            .unwrap_or_else(|| panic!("replay: {} is outside the ledger", path.display()));
        let inode = match self.live.get(&relative) {
            Some(inode) => *inode,
            None => {
                assert!(
                    flags & O_CREAT != 0,
                    "replay: {} opened without O_CREAT but unknown to the model",
                    path.display()
                );
                let inode = self.new_inode(flags & O_DIRECTORY != 0, Vec::new());
                self.live.insert(relative.clone(), inode);
                self.change_names(NameChange::Link {
                    path: relative,
                    inode,
                });
                inode
            }
        };
        if flags & O_TRUNC != 0 {
            self.inodes[inode]
                .pending
                .push((index, Change::Truncate { len: 0 }));
        }
        self.fds.insert(fd, inode);
    }

    fn rename(&mut self, from: &Path, to: &Path) {
        let (Some(from), Some(to)) = (self.relative(from), self.relative(to)) else {
            return;
        };
        let Some(inode) = self.live.remove(&from) else {
            panic!("replay: rename of {}, unknown to the model", from.display());
        };
        self.live.insert(to.clone(), inode);
        self.change_names(NameChange::Rename { from, to, inode });
    }

    /// Writes what survives into `into`.
    fn materialise(&self, into: &Path) {
        std::fs::create_dir_all(into).expect("create the replay folder");
        for (path, inode) in &self.durable {
            let target = into.join(path);
            // A file whose folder's creation did not survive is lost with it.
            let reachable = path
                .ancestors()
                .skip(1)
                .all(|a| a.as_os_str().is_empty() || self.durable.contains_key(a));
            if !reachable {
                continue;
            }
            let inode = &self.inodes[*inode];
            if inode.dir {
                std::fs::create_dir_all(&target).expect("create a folder");
            } else {
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).expect("create a folder");
                }
                std::fs::write(&target, &inode.durable).expect("write a file");
            }
        }
    }
}

/// Rebuilds into `into` what a power loss right after the logged operations
/// would leave of the ledger folder `root`, starting from `copy` (taken before
/// the command), under `model`.
pub fn replay(copy: &Path, root: &Path, ops: &[Op], model: Model, into: &Path) {
    let root = root
        .canonicalize()
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    let mut disk = Disk::from_copy(copy, &root, model);
    for (index, op) in ops.iter().enumerate() {
        disk.apply(index, op.clone());
    }
    disk.materialise(into);
}
