//! The head record: how long the ledger is, kept outside sled.
//!
//! A file `HEAD` beside the database holds the newest durable entry's seq,
//! hash and recorded_at and the tree root at that size. It is replaced
//! atomically after every durable commit (written to `HEAD.tmp`, synced,
//! renamed over `HEAD`, then the folder synced), so that a database that
//! lost its tail — truncated, restored from an older copy, or rewritten and
//! re-chained — no longer matches it: opening and `verify` compare the two
//! and fail loudly, naming both sizes, instead of reporting a smaller "ok".
//!
//! The file is text, one `name value` pair a line, ending with a SHA-256 of
//! the lines before it (a torn or edited file is noticed as such).

use armistice_core::entry::{sha256, Hash};
use armistice_core::Timestamp;
use std::io::Write;
use std::path::Path;

/// The file's name in the ledger folder.
pub const HEAD_FILE: &str = "HEAD";
const TEMP_FILE: &str = "HEAD.tmp";
const MAGIC: &str = "armistice-head 1";

/// What the head file records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadRecord {
    /// The newest durable entry's seq (0: empty).
    pub seq: u64,
    /// Its hash.
    pub hash: Hash,
    /// The Merkle root of the first `seq` entries.
    pub root: Hash,
    /// Its recorded_at.
    pub recorded_at: Timestamp,
}

impl HeadRecord {
    fn body(&self) -> String {
        format!(
            "{MAGIC}\nseq {}\nhash {}\nroot {}\nrecorded_at {}\n",
            self.seq,
            hex::encode(self.hash),
            hex::encode(self.root),
            self.recorded_at.micros()
        )
    }

    /// The file's text.
    pub fn to_text(&self) -> String {
        let body = self.body();
        format!("{body}checksum {}\n", hex::encode(sha256(body.as_bytes())))
    }

    /// Reads the file's text; the error says what is wrong.
    pub fn parse(text: &str) -> Result<HeadRecord, String> {
        let (body, last) = text
            .trim_end_matches('\n')
            .rsplit_once('\n')
            .ok_or("it is not a head record")?;
        let body = format!("{body}\n");
        let checksum = last
            .strip_prefix("checksum ")
            .ok_or("its checksum line is missing")?;
        if hex::encode(sha256(body.as_bytes())) != checksum {
            return Err("its checksum does not match: the file was damaged or edited".into());
        }
        let mut lines = body.lines();
        if lines.next() != Some(MAGIC) {
            return Err(format!("it does not start with `{MAGIC}`"));
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|line| line.strip_prefix(name))
                .and_then(|rest| rest.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| format!("its `{name}` line is missing"))
        };
        let hash = |text: String| {
            armistice_core::event::parse_hex_array::<32>(&text).map_err(|e| e.to_string())
        };
        let record = HeadRecord {
            seq: field("seq")?.parse().map_err(|_| "bad seq")?,
            hash: hash(field("hash")?)?,
            root: hash(field("root")?)?,
            recorded_at: Timestamp(
                field("recorded_at")?
                    .parse()
                    .map_err(|_| "bad recorded_at")?,
            ),
        };
        Ok(record)
    }
}

/// Reads the head file; `Ok(None)` when there is none (a ledger made before it existed).
pub fn read(folder: &Path) -> std::io::Result<Option<Result<HeadRecord, String>>> {
    match std::fs::read_to_string(folder.join(HEAD_FILE)) {
        Ok(text) => Ok(Some(HeadRecord::parse(&text))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces the head file atomically and durably: write, fsync, rename, fsync the folder.
pub fn write(folder: &Path, record: &HeadRecord) -> std::io::Result<()> {
    let temp = folder.join(TEMP_FILE);
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(record.to_text().as_bytes())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, folder.join(HEAD_FILE))?;
    std::fs::File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_named() {
        let record = HeadRecord {
            seq: 2081,
            hash: [7; 32],
            root: [9; 32],
            recorded_at: Timestamp(1_742_300_000_000_000),
        };
        let text = record.to_text();
        assert_eq!(HeadRecord::parse(&text), Ok(record));
        let edited = text.replace("seq 2081", "seq 2080");
        assert!(HeadRecord::parse(&edited).unwrap_err().contains("checksum"));
        assert!(HeadRecord::parse("").is_err());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
        write(dir.path(), &record).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(Ok(record)));
    }
}
