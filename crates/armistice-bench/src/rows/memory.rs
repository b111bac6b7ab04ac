//! Row 7: disk bytes per event after the bulk import, against the raw
//! encoded bytes; peak memory of import and replay (each in its own child
//! process) against a child that only decodes.

use crate::child::PhaseOutput;
use crate::table::{Compare, Line, LineSpec, Samples};
use std::path::Path;

/// The bytes of every file under `path`.
pub fn folder_bytes(path: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += match meta.is_dir() {
            true => folder_bytes(&entry.path())?,
            false => meta.len(),
        };
    }
    Ok(total)
}

/// Line 7a: the ledger folder's size per event against the stored bytes
/// (leaf, marker and payload) per event.
pub fn disk_line(folder_bytes: u64, raw_bytes: u64, events: u64) -> Line {
    let per_event = |bytes: u64| bytes as f64 / events.max(1) as f64;
    Line::new(
        LineSpec {
            row: "7a",
            what: "disk bytes per event after import",
            unit: "B/event",
            baseline_name: "raw encoded bytes",
            compare: Compare::Size,
            target: Some(2.0),
        },
        Samples::one(per_event(folder_bytes)),
        Samples::one(per_event(raw_bytes)),
        format!("ledger folder {folder_bytes} bytes (sled files, walked), raw {raw_bytes} bytes over {events} entries"),
    )
}

/// Lines 7b and 7c: peak RSS of replay and of import against decode-only.
pub fn memory_lines(
    replay: &[PhaseOutput],
    import: &[PhaseOutput],
    decode: &[PhaseOutput],
) -> Vec<Line> {
    let mib = |outputs: &[PhaseOutput]| {
        Samples::new(
            outputs
                .iter()
                .map(|o| o.peak_rss_kib as f64 / 1024.0)
                .collect(),
        )
    };
    let spec = |row, what| LineSpec {
        row,
        what,
        unit: "MiB",
        baseline_name: "decode-only child",
        compare: Compare::Size,
        target: None,
    };
    vec![
        Line::new(
            spec("7b", "peak RSS of full replay (child)"),
            mib(replay),
            mib(decode),
            "VmHWM of a child that opens the ledger and replays every projection; baseline child opens it and only decodes".to_owned(),
        ),
        Line::new(
            spec("7c", "peak RSS of bulk import (child)"),
            mib(import),
            mib(decode),
            "VmHWM of the import child (generator included, one 10k chunk of submissions at a time)".to_owned(),
        ),
    ]
}
