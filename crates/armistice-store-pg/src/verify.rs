//! Re-checking everything the tables hold, in one read-only snapshot: every
//! entry row (through [`EntryChecker`], the checks the sled verifier makes:
//! decoding, the chain, stream versions, payload digests, disclosures,
//! signatures under the keys of their time, redactions), the index columns
//! of each row against its bytes, the unique indexes and the append-only
//! triggers the log relies on, every stored Merkle node, the head row and
//! its frontier, the operator's key history and every checkpoint kept.

use crate::append::decode_frontier;
use crate::error::database;
use crate::schema::{self, UNIQUE_INDEXES};
use crate::store::{head_of, PgStore};
use armistice_core::entry::{split_entry, Hash, Record};
use armistice_core::Event;
use armistice_merkle::checkpoint;
use armistice_store::check::{EntryChecker, Expected};
use armistice_store::{OperatorKeys, Problem, StoreError, VerifyReport, PROBLEMS_MAX};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, Row};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The triggers that make the database refuse rewrites.
const TRIGGERS: [&str; 10] = [
    "entries_append_only",
    "entries_keep_leaf",
    "entries_no_truncate",
    "nodes_append_only",
    "nodes_no_truncate",
    "checkpoints_append_only",
    "checkpoints_no_truncate",
    "head_forward",
    "head_kept",
    "head_no_truncate",
];

/// A kept checkpoint, as its row holds it.
struct KeptCheckpoint {
    size: u64,
    root: Vec<u8>,
    note: String,
}

impl PgStore {
    /// Re-checks everything stored; the report lists what is wrong, first
    /// bad seq first.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut conn = self.shared.read_pool.get()?;
        let verified = verify_in(&mut conn, &self.origin);
        // The snapshot ends either way; a failed connection is not lent again.
        if verified.is_err() || conn.batch_execute("COMMIT").is_err() {
            conn.mark_broken();
        }
        verified
    }
}

fn verify_in(client: &mut Client, origin: &str) -> Result<VerifyReport, StoreError> {
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .map_err(|e| database(&e))?;
    let stored_keys = schema::operator_keys(client)?;
    let first_key = stored_keys.all().first().map_or([0; 32], |(_, key)| *key);
    let kept = kept_checkpoints(client)?;
    let mut roots: BTreeMap<u64, Hash> = kept
        .iter()
        .map(|c| (c.size, armistice_merkle::empty_root()))
        .collect();
    let mut checker = EntryChecker::new(first_key);
    scan_entries(client, &mut checker, &mut roots)?;
    let (mut report, expected) = checker.finish();
    let mut problems = Problems(&mut report.problems);
    if problems.0.len() < PROBLEMS_MAX {
        check_head(client, &mut problems, report.head, &expected)?;
        check_nodes(client, &mut problems, &expected)?;
        if stored_keys != expected.operator_keys {
            problems.add(
                0,
                "the operator's key history does not match the rotations in the log",
            );
        }
        check_schema(client, &mut problems)?;
        if problems.0.is_empty() {
            check_checkpoints(
                &mut problems,
                &kept,
                &roots,
                &stored_keys,
                origin,
                report.head.seq,
            );
        }
    }
    report.problems.sort_by_key(|p| (p.seq == 0, p.seq));
    report.problems.truncate(PROBLEMS_MAX);
    Ok(report)
}

/// Problems found after the entries.
struct Problems<'a>(&'a mut Vec<Problem>);

impl Problems<'_> {
    fn add(&mut self, seq: u64, detail: impl Into<String>) {
        self.0.push(Problem {
            seq,
            detail: detail.into(),
        });
    }
}

fn kept_checkpoints(client: &mut Client) -> Result<Vec<KeptCheckpoint>, StoreError> {
    let rows = client
        .query(
            "SELECT size, root, note FROM armistice.checkpoints ORDER BY size",
            &[],
        )
        .map_err(|e| database(&e))?;
    Ok(rows
        .into_iter()
        .map(|row| KeptCheckpoint {
            size: u64::try_from(row.get::<_, i64>(0)).unwrap_or(u64::MAX),
            root: row.get(1),
            note: row.get(2),
        })
        .collect())
}

/// Every entry row in seq order, streamed; the roots at the kept
/// checkpoints' sizes are noted on the way.
fn scan_entries(
    client: &mut Client,
    checker: &mut EntryChecker,
    roots: &mut BTreeMap<u64, Hash>,
) -> Result<(), StoreError> {
    let no_params: [&str; 0] = [];
    let mut rows = client
        .query_raw(
            "SELECT seq, event_id, stream, version, occurred_at, recorded_at, agreement, bytes \
             FROM armistice.entries ORDER BY seq",
            no_params,
        )
        .map_err(|e| database(&e))?;
    let mut next = 1u64;
    let mut after_gap = false;
    while let Some(row) = rows.next().map_err(|e| database(&e))? {
        let Ok(seq) = u64::try_from(row.get::<_, i64>(0)) else {
            checker.problem(0, "an entry row has a negative seq");
            continue;
        };
        let bytes: Vec<u8> = row.get(7);
        if seq != next && !after_gap {
            checker.problem(next, format!("entries {next} to {} are missing", seq - 1));
            after_gap = true;
        }
        if after_gap {
            checker.entry_after_gap(seq, &bytes);
        } else {
            let record = checker.entry(seq, &bytes);
            check_columns(checker, seq, &row, &bytes, record.as_ref());
            if let Some(root) = roots.get_mut(&seq) {
                *root = checker.root();
            }
        }
        next = seq.saturating_add(1);
        if checker.is_full() {
            break;
        }
    }
    Ok(())
}

/// The index columns of a row must say what its bytes say.
fn check_columns(
    checker: &mut EntryChecker,
    seq: u64,
    row: &Row,
    bytes: &[u8],
    record: Option<&Record>,
) {
    let Ok(split) = split_entry(bytes) else {
        return;
    };
    let header = &split.header;
    let agreement = record.and_then(|r| match &r.statement.event {
        Event::ViolationAlleged(e) => Some(e.agreement.as_str().to_owned()),
        _ => None,
    });
    let columns = [
        ("event_id", row.get::<_, Uuid>(1) != header.event_id),
        ("stream", row.get::<_, String>(2) != header.stream),
        (
            "version",
            u64::try_from(row.get::<_, i64>(3)).ok() != Some(header.version),
        ),
        (
            "occurred_at",
            row.get::<_, i64>(4) != header.occurred_at.micros(),
        ),
        (
            "recorded_at",
            row.get::<_, i64>(5) != header.recorded_at.micros(),
        ),
        (
            "agreement",
            record.is_some() && row.get::<_, Option<String>>(6) != agreement,
        ),
    ];
    for (column, differs) in columns {
        if differs {
            checker.problem(
                seq,
                format!("the row's `{column}` column does not match the entry's bytes"),
            );
        }
    }
}

/// The head row must name the last entry and close its tree.
fn check_head(
    client: &mut Client,
    problems: &mut Problems<'_>,
    head: armistice_store::Head,
    expected: &Expected,
) -> Result<(), StoreError> {
    let row = client
        .query_opt(
            "SELECT seq, hash, recorded_at, frontier FROM armistice.head",
            &[],
        )
        .map_err(|e| database(&e))?;
    let Some(row) = row else {
        problems.add(0, "the head row is missing");
        return Ok(());
    };
    let stored = match head_of(row.get(0), row.get(1), row.get(2)) {
        Ok(stored) => stored,
        Err(e) => {
            problems.add(0, format!("the head row is damaged: {e}"));
            return Ok(());
        }
    };
    if stored.seq != head.seq {
        problems.add(
            0,
            format!(
                "the head row says seq {} but the entries end at seq {}",
                stored.seq, head.seq
            ),
        );
        return Ok(());
    }
    if stored != head {
        problems.add(
            head.seq,
            "the head row names another hash or recorded_at than this entry has",
        );
    }
    match decode_frontier(stored.seq, &row.get::<_, Vec<u8>>(3)) {
        Ok(frontier) if frontier == expected.frontier => {}
        Ok(_) => problems.add(
            0,
            "the tree's frontier in the head row does not match the entries",
        ),
        Err(e) => problems.add(0, e.to_string()),
    }
    Ok(())
}

/// Every stored node must be one the entries make, and every one they
/// make must be stored.
fn check_nodes(
    client: &mut Client,
    problems: &mut Problems<'_>,
    expected: &Expected,
) -> Result<(), StoreError> {
    let rows = client
        .query(
            "SELECT level, idx, hash FROM armistice.nodes ORDER BY level, idx",
            &[],
        )
        .map_err(|e| database(&e))?;
    let mut stored = 0usize;
    for row in rows {
        let (level, index, hash): (i16, i64, Vec<u8>) = (row.get(0), row.get(1), row.get(2));
        let position = u8::try_from(level).ok().zip(u64::try_from(index).ok());
        let matches = position
            .and_then(|key| expected.nodes.get(&key))
            .is_some_and(|h| h.as_slice() == hash.as_slice());
        if matches {
            stored += 1;
        } else {
            problems.add(
                0,
                format!("stored Merkle node ({level}, {index}) does not match the entries"),
            );
        }
    }
    if stored != expected.nodes.len() {
        problems.add(
            0,
            format!(
                "{stored} of the {} Merkle nodes the entries make are stored",
                expected.nodes.len()
            ),
        );
    }
    Ok(())
}

/// The unique indexes and the triggers the log relies on are there.
fn check_schema(client: &mut Client, problems: &mut Problems<'_>) -> Result<(), StoreError> {
    let rows = client
        .query(
            "SELECT c.relname, i.indisunique AND i.indisvalid, \
             (SELECT string_agg(a.attname, ', ' ORDER BY k.ord) \
              FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) \
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
            &[&schema::SCHEMA],
        )
        .map_err(|e| database(&e))?;
    let indexes: BTreeMap<String, (bool, Option<String>)> = rows
        .into_iter()
        .map(|row| (row.get(0), (row.get(1), row.get(2))))
        .collect();
    for (name, columns) in UNIQUE_INDEXES {
        let sound = indexes
            .get(name)
            .is_some_and(|(unique, on)| *unique && on.as_deref() == Some(columns));
        if !sound {
            problems.add(0, format!("the unique index {name} ({columns}) is missing or not valid: the database no longer refuses a second {columns}"));
        }
    }
    let rows = client
        .query(
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND t.tgenabled <> 'D'",
            &[&schema::SCHEMA],
        )
        .map_err(|e| database(&e))?;
    let enabled: Vec<String> = rows.into_iter().map(|row| row.get(0)).collect();
    for trigger in TRIGGERS {
        if !enabled.iter().any(|t| t == trigger) {
            problems.add(0, format!("the trigger {trigger} is missing or disabled: the database no longer refuses rewrites of the log"));
        }
    }
    Ok(())
}

/// Every kept checkpoint is signed by the operator key of its size, within
/// the log, and matches the tree the entries make.
fn check_checkpoints(
    problems: &mut Problems<'_>,
    kept: &[KeptCheckpoint],
    roots: &BTreeMap<u64, Hash>,
    keys: &OperatorKeys,
    origin: &str,
    head: u64,
) {
    for row in kept {
        let size = row.size;
        let signed = match checkpoint::parse_note(&row.note) {
            Ok(signed) if signed.checkpoint.size == size => signed,
            _ => {
                problems.add(0, format!("the checkpoint kept at size {size} is damaged"));
                continue;
            }
        };
        let key = ed25519_dalek::VerifyingKey::from_bytes(&keys.for_checkpoint(size));
        let valid = key.is_ok_and(|key| signed.verify(origin, &key).is_ok());
        if !valid {
            problems.add(
                0,
                format!(
                    "the checkpoint at size {size} is not signed by the operator key of that size"
                ),
            );
        } else if size > head {
            problems.add(0, format!("a checkpoint was signed at size {size}, beyond the log's end: entries were removed"));
        } else if row.root != signed.checkpoint.root
            || roots.get(&size) != Some(&signed.checkpoint.root)
        {
            problems.add(size, format!("the tree no longer matches the checkpoint signed at size {size}: history was rewritten"));
        }
    }
}
