//! sled panics on some damaged files instead of returning an error (while
//! opening a truncated database, for one). Every call into sled goes
//! through [`guard`], which turns such a panic into
//! [`StoreError::Damaged`](crate::StoreError::Damaged) so that nothing
//! panics on any content of the ledger folder.

use crate::error::StoreError;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `work`; a panic inside it becomes a `Damaged` error naming what
/// sled said. (The caller's panic hook decides whether the panic is also
/// printed; the CLI's stays quiet and reports the error instead.)
pub fn guard<T>(work: impl FnOnce() -> T) -> Result<T, StoreError> {
    // The sled handle may be left inconsistent by the panic; every caller
    // treats `Damaged` as the end of its use of the ledger.
    catch_unwind(AssertUnwindSafe(work)).map_err(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "sled stopped on unreadable data".to_owned());
        StoreError::Damaged(detail)
    })
}
