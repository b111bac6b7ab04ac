//! Recovery on open: what a killed or rejected import left past the head
//! marker is removed, at a cost proportional to what it left; leftovers of
//! sled itself (a half-written snapshot after a full disk) are cleared; and
//! a private copy of the database is made for readers that must not write.

use crate::chunk;
use crate::error::StoreError;
use crate::guard::guard;
use crate::layout::{self, CHUNK_ENTRIES};
use crate::ledger::SLED_DIR;
use crate::tree::STORED_LEVEL_MIN;
use crate::types::OperatorKeys;
use crate::write::Overlay;
use armistice_core::Header;
use std::collections::BTreeMap;
use std::path::Path;

/// Removes sled's half-written snapshot files (`snap.*.generating`): sled
/// writes a snapshot there and renames it when complete, so one left behind
/// (by a full disk, or a kill) is never the only copy of anything; left in
/// place, it makes every later open fail.
pub fn clean_sled_leftovers(sled_dir: &Path) -> Result<(), StoreError> {
    let Ok(entries) = std::fs::read_dir(sled_dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Copies sled's folder into a private temporary folder, for readers on
/// read-only media and for `verify`, which must examine a damaged database
/// before sled's recovery could change it.
pub fn private_copy(sled_dir: &Path) -> Result<tempfile::TempDir, StoreError> {
    let copy = tempfile::Builder::new()
        .prefix("armistice-read-")
        .tempdir()?;
    copy_tree(sled_dir, &copy.path().join(SLED_DIR))?;
    clean_sled_leftovers(&copy.path().join(SLED_DIR))?;
    Ok(copy)
}

/// Copies a folder (`std::fs::copy` uses `copy_file_range`, which clones
/// on file systems that can); the copy is the reader's own, so it is made
/// writable whatever the originals' modes.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to)?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

/// Removes entries above `head`, with their index keys and Merkle nodes:
/// the remains of a session that never committed. Returns how many.
pub fn truncate_after(
    tree: &sled::Db,
    dir: &Path,
    head: u64,
    keys: &OperatorKeys,
) -> Result<u64, StoreError> {
    let mut ops = Overlay::default();
    let mut removed: Vec<Vec<u8>> = Vec::new();
    // A chunk sealed by the session that also holds committed entries goes
    // back to tail keys for those.
    let boundary = if head.is_multiple_of(CHUNK_ENTRIES) {
        head / CHUNK_ENTRIES
    } else {
        layout::chunk_of(head + 1)
    };
    for item in guard(|| tree.range(layout::chunk(boundary)..layout::chunk(u64::MAX)))? {
        let (key, value) = guard(|| item)??;
        let Some(index) = layout::key_u64(&key, layout::CHUNK) else {
            continue;
        };
        let entries = chunk::decode(&value).ok_or_else(|| {
            StoreError::corrupt(
                index * CHUNK_ENTRIES + 1,
                format!("chunk {index} is damaged"),
            )
        })?;
        for (offset, bytes) in entries.into_iter().enumerate() {
            let seq = index * CHUNK_ENTRIES + offset as u64 + 1;
            if seq <= head {
                ops.put(layout::tail(seq).to_vec(), bytes.to_vec());
            } else {
                removed.push(bytes.to_vec());
            }
        }
        ops.remove(key.to_vec());
        ops.remove(layout::summary(index).to_vec());
    }
    for item in guard(|| tree.range(layout::tail(head + 1)..layout::tail(u64::MAX)))? {
        let (key, value) = guard(|| item)??;
        ops.remove(key.to_vec());
        removed.push(value.to_vec());
    }
    if removed.is_empty() && ops.is_empty() {
        return Ok(0);
    }
    let mut segments: BTreeMap<Vec<u8>, Option<Vec<u64>>> = BTreeMap::new();
    for bytes in &removed {
        let Ok((header, _)) = Header::decode(bytes) else {
            continue;
        };
        ops.remove(layout::event_id(&header.event_id).to_vec());
        let key = layout::stream_segment(&header.stream, layout::segment_of(header.version.max(1)));
        if !segments.contains_key(&key) {
            let current = guard(|| tree.get(&key))??.and_then(|v| layout::unpack_seqs(&v));
            segments.insert(key.clone(), current);
        }
        if let Some(Some(seqs)) = segments.get_mut(&key) {
            seqs.retain(|seq| *seq <= head);
        }
        let (mut level, mut index) = (0u8, header.seq.saturating_sub(1));
        loop {
            if level >= STORED_LEVEL_MIN {
                ops.remove(layout::merkle(level, index).to_vec());
            }
            if index & 1 == 0 || level == 63 {
                break;
            }
            level += 1;
            index >>= 1;
        }
    }
    for (key, seqs) in segments {
        match seqs {
            Some(seqs) if !seqs.is_empty() => {
                ops.put(key, seqs.iter().flat_map(|s| s.to_be_bytes()).collect())
            }
            _ => ops.remove(key),
        }
    }
    let mut keys = keys.clone();
    keys.truncate(head);
    ops.put(vec![layout::OPERATOR], keys.encode());
    crate::write::apply(tree, dir, &ops)?;
    Ok(removed.len() as u64)
}
