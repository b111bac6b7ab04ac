//! Keeping sled away from a full disk. sled does not survive running out
//! of space mid-write: after such a failure its recovery has been seen to
//! bring back some pages older than others, losing writes it had reported
//! durable. So the ledger never lets it get there: before writing it checks
//! that the file system keeps a margin free, and refuses cleanly — nothing
//! written — when it does not.

use crate::error::StoreError;
use std::path::Path;

/// Free space kept beyond what a write needs, in bytes: sled's next segment
/// (512 KiB), a snapshot, the head record, and room to spare.
pub const SPACE_MARGIN_BYTES: u64 = 2 * 1024 * 1024;

/// How many bytes sled may write per byte of keys and values: the log
/// item, and a rewrite of the leaf it lands in.
const WRITE_AMPLIFICATION_MAX: u64 = 4;

/// Fails with [`StoreError::DiskFull`] unless the file system holding
/// `dir` has room for `bytes` of keys and values and the margin.
pub fn ensure(dir: &Path, bytes: u64) -> Result<(), StoreError> {
    let available = fs4::available_space(dir)?;
    let needed = SPACE_MARGIN_BYTES.saturating_add(bytes.saturating_mul(WRITE_AMPLIFICATION_MAX));
    if available < needed {
        return Err(StoreError::DiskFull { available, needed });
    }
    Ok(())
}
