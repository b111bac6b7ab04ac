//! The physical limit: appending bytes to a plain file and `fdatasync`ing
//! it, on the same filesystem as the ledger.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// Appends `records` to a new file at `path`, with one `fdatasync` after
/// every `per_sync` records (and after the last). Returns the time taken;
/// the file is removed afterwards.
pub fn append_with_syncs<'a>(
    path: &Path,
    records: impl IntoIterator<Item = &'a [u8]>,
    per_sync: usize,
) -> std::io::Result<Duration> {
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(path)?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let start = Instant::now();
    let mut unsynced = 0;
    for record in records {
        writer.write_all(record)?;
        unsynced += 1;
        if unsynced == per_sync {
            sync(&mut writer)?;
            unsynced = 0;
        }
    }
    if unsynced > 0 {
        sync(&mut writer)?;
    }
    let elapsed = start.elapsed();
    drop(writer);
    std::fs::remove_file(path)?;
    Ok(elapsed)
}

fn sync(writer: &mut BufWriter<File>) -> std::io::Result<()> {
    writer.flush()?;
    writer.get_ref().sync_data()
}

/// `count` records of `bytes` bytes each, one `fdatasync` per `per_sync`:
/// returns records per second.
pub fn rate_of_same_size(
    path: &Path,
    bytes: usize,
    count: usize,
    per_sync: usize,
) -> std::io::Result<f64> {
    let record = vec![0x5au8; bytes];
    let elapsed = append_with_syncs(path, std::iter::repeat_n(&record[..], count), per_sync)?;
    Ok(count as f64 / elapsed.as_secs_f64())
}
