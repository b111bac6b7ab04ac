//! What two backends must agree on: a faithful copy (`export`, then
//! `import --backfill` into an empty store with the same operator key)
//! moves from one to the other and back byte for byte, with the old
//! checkpoints still valid; and the queries the projections make give the
//! same records on the same log.

use crate::backends::Backend;
use crate::data::{append, backfill, export, import, operator, records, subs, ORIGIN, SPRING_2025};
use armistice_core::entry::Record;
use armistice_core::Timestamp;
use armistice_store::Store;
use std::collections::BTreeSet;

/// Appends the spring 2025 example with backfill, in one batch.
pub fn append_example(store: &dyn Store) {
    let lines: Vec<&str> = SPRING_2025
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    store
        .append(&subs(&lines), &backfill())
        .unwrap_or_else(|e| panic!("the spring 2025 example: {e}"));
}

/// A log with backfilled entries, operator and party statements, a
/// redaction and two checkpoints, copied from `from` to `to` and back:
/// every export line is the same bytes, the heads and roots are the same,
/// and the source's checkpoints hold on the copies.
pub fn copies_move_between_backends(from: &dyn Backend, to: &dyn Backend) {
    let names = format!("{} → {} → {}", from.name(), to.name(), from.name());
    let source = from.create(&operator(), true, ORIGIN);
    append_example(&*source);
    let allegation = records(&*source)
        .into_iter()
        .find(|r| {
            matches!(
                r.statement.event,
                armistice_core::Event::ViolationAlleged(_)
            )
        })
        .expect("an allegation in the example");
    let redact = format!(
        r#"{{"type":"entry_redacted","by":"operator","target_seq":{},"reason":"a name","fields":["description","source"]}}"#,
        allegation.header.seq
    );
    let early = source.sign_checkpoint(30).expect("a checkpoint at 30");
    append(&*source, &[&redact]);
    let late = source
        .sign_checkpoint(source.head().seq)
        .expect("a checkpoint at the head");
    let lines = export(&*source);
    assert_eq!(lines.len(), 62, "{names}");

    let copy = to.create(&operator(), false, ORIGIN);
    import(&*copy, &lines);
    for checkpoint in [&early, &late] {
        copy.keep_checkpoint(checkpoint)
            .unwrap_or_else(|e| panic!("{names}: keep a source checkpoint: {e}"));
    }
    assert_eq!(export(&*copy), lines, "{names}: the copy's export differs");
    assert_eq!(copy.head(), source.head(), "{names}: heads");
    assert_eq!(copy.root(30).unwrap(), early.checkpoint.root, "{names}");
    let key = operator().verifying_key();
    for kept in copy.checkpoints().unwrap() {
        kept.verify(ORIGIN, &key)
            .unwrap_or_else(|e| panic!("{names}: an old checkpoint: {e}"));
    }
    let report = copy.verify().unwrap();
    assert_eq!(report.problems, vec![], "{names}: the copy verifies");
    assert_eq!(report.redacted, 1, "{names}");
    assert!(
        !copy.can_sign(),
        "{names}: a copy holds only the public key"
    );

    let back = from.create(&operator(), false, ORIGIN);
    import(&*back, &export(&*copy));
    assert_eq!(
        export(&*back),
        lines,
        "{names}: the copy of the copy differs"
    );
    back.keep_checkpoint(&late).unwrap();
    assert_eq!(back.verify().unwrap().problems, vec![], "{names}");
}

/// What two logs of the same statements agree on, whatever their salts:
/// everything but the digests (and so the hashes).
fn comparable(record: &Record) -> impl PartialEq + std::fmt::Debug + '_ {
    let h = &record.header;
    (
        h.seq,
        h.event_id,
        &h.stream,
        h.version,
        h.recorded_at,
        h.occurred_at,
        h.backfilled,
        &h.by,
        &record.statement,
        &record.redaction,
    )
}

fn same(what: &str, a: &[Record], b: &[Record]) {
    let a: Vec<_> = a.iter().map(comparable).collect();
    let b: Vec<_> = b.iter().map(comparable).collect();
    assert_eq!(a, b, "{what}");
}

/// The spring 2025 example appended to both: `last_seq_recorded_by`,
/// `records_occurred_by`, `agreement_records` and `stream_records` give
/// the same records at every time and for every agreement and stream.
pub fn queries_agree(a: &dyn Backend, b: &dyn Backend) {
    let names = format!("{} and {}", a.name(), b.name());
    let (one, two) = (
        a.create(&operator(), true, ORIGIN),
        b.create(&operator(), true, ORIGIN),
    );
    append_example(&*one);
    append_example(&*two);
    let all = records(&*one);
    same(&format!("{names}: every record"), &all, &records(&*two));
    let mut times: BTreeSet<Timestamp> = [Timestamp::MIN, Timestamp(i64::MAX)].into();
    for record in &all {
        for t in [record.header.recorded_at, record.header.occurred_at] {
            times.extend([Timestamp(t.micros() - 1), t]);
        }
    }
    let head = one.head().seq;
    for at in &times {
        let (x, y) = (
            one.last_seq_recorded_by(*at).unwrap(),
            two.last_seq_recorded_by(*at).unwrap(),
        );
        assert_eq!(x, y, "{names}: last_seq_recorded_by({at:?})");
        for last in [x, head] {
            let (x, y) = (
                one.records_occurred_by(*at, last, u64::MAX).unwrap(),
                two.records_occurred_by(*at, last, u64::MAX).unwrap(),
            );
            let (x, y) = (x.expect("some records"), y.expect("some records"));
            same(
                &format!("{names}: records_occurred_by({at:?}, {last})"),
                &x,
                &y,
            );
        }
    }
    let mut agreements: BTreeSet<String> = ["no-such-agreement".to_owned()].into();
    let mut streams = BTreeSet::new();
    for record in &all {
        streams.insert(record.header.stream.clone());
        if let Some(id) = record.header.stream.strip_prefix("agreement/") {
            agreements.insert(id.to_owned());
        }
    }
    for agreement in &agreements {
        same(
            &format!("{names}: agreement_records({agreement})"),
            &one.agreement_records(agreement).unwrap(),
            &two.agreement_records(agreement).unwrap(),
        );
    }
    for stream in &streams {
        same(
            &format!("{names}: stream_records({stream})"),
            &one.stream_records(stream).unwrap(),
            &two.stream_records(stream).unwrap(),
        );
    }
    assert!(
        agreements.len() >= 7 && streams.len() > 20,
        "{names}: the example is all there"
    );
}
