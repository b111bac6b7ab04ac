//! Helpers of the format tests: each output format of `claims`, `status`
//! and `timeline`, read back with a reader that did not write it (the
//! `csv` crate's reader, the `geojson` crate's parser, `serde_json`).

use super::common::{describe, spring_2025_path, Ledger};
use serde_json::Value;
use std::collections::BTreeMap;

/// One CSV record, by column name.
pub type Row = BTreeMap<String, String>;

/// The CSV columns of `claims`, each with the `claims --json` field it
/// comes from (`event_date` is the date part of `incident_at`).
pub const CLAIM_COLUMNS: [(&str, &str); 29] = [
    ("claim_id", "claim"),
    ("agreement_id", "agreement"),
    ("claimant", "by"),
    ("accused", "against"),
    ("category", "category"),
    ("count", "count"),
    ("event_date", "incident_at"),
    ("incident_start", "incident_at"),
    ("incident_end", "incident_until"),
    ("incident_precision", "incident_precision"),
    ("occurred_at", "occurred_at"),
    ("recorded_at", "recorded_at"),
    ("location", "location"),
    ("latitude", "lat"),
    ("longitude", "lon"),
    ("fatalities", "killed"),
    ("injured", "injured"),
    ("description", "description"),
    ("state", "state"),
    ("response", "response"),
    ("finding", "finding"),
    ("confidence", "confidence"),
    ("flags", "flags"),
    ("responses", "responses"),
    ("assessments", "assessments"),
    ("evidence_items", "evidence"),
    ("backfilled", "backfilled"),
    ("seq", "seq"),
    ("rules", "rules"),
];

/// A ledger holding the spring-2025 example.
pub fn example() -> Ledger {
    let ledger = Ledger::new();
    ledger.ok(&[
        "import",
        "--backfill",
        &spring_2025_path().to_string_lossy(),
    ]);
    ledger
}

/// `ARGS --json`, parsed.
pub fn json(ledger: &Ledger, args: &[&str]) -> Value {
    let out = ledger.ok(&[args, &["--json"]].concat());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{out}"))
}

/// `claims ARGS --json`: the rows.
pub fn claims_json(ledger: &Ledger, args: &[&str]) -> Vec<Value> {
    let rows = json(ledger, &[&["claims"], args].concat());
    rows.as_array().expect("claims --json is an array").clone()
}

/// `ARGS --format csv`, read with the csv crate: the header and the records.
pub fn csv(ledger: &Ledger, args: &[&str]) -> (Vec<String>, Vec<Row>) {
    let out = ledger.ok(&[args, &["--format", "csv"]].concat());
    assert!(
        out.is_empty() || out.ends_with("\r\n"),
        "RFC 4180 records end in CRLF: {out:?}"
    );
    let mut reader = ::csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|record| {
            let record = record.unwrap_or_else(|e| panic!("{args:?}: bad CSV ({e}):\n{out}"));
            header
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_owned))
                .collect()
        })
        .collect();
    (header, rows)
}

/// `claims ARGS --format geojson`, read with the geojson crate: the
/// collection and the count of claims left out that standard error gives
/// (0 when it says nothing).
pub fn geojson(ledger: &Ledger, args: &[&str]) -> (geojson::FeatureCollection, usize) {
    let args = [&["claims"], args, &["--format", "geojson"]].concat();
    let output = ledger.run(&args);
    assert!(output.status.success(), "{args:?}: {}", describe(&output));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    let parsed: geojson::GeoJson = text
        .parse()
        .unwrap_or_else(|e| panic!("{args:?}: not GeoJSON ({e}):\n{text}"));
    let geojson::GeoJson::FeatureCollection(collection) = parsed else {
        panic!("{args:?}: not a FeatureCollection:\n{text}");
    };
    let stderr = String::from_utf8(output.stderr).expect("UTF-8");
    let left_out = match stderr.trim() {
        "" => 0,
        line => {
            let count = line
                .strip_prefix("armistice: ")
                .and_then(|rest| {
                    rest.strip_suffix(" claim(s) without coordinates left out of the GeoJSON")
                })
                .unwrap_or_else(|| panic!("{args:?}: unexpected standard error: {stderr}"));
            count.parse().expect("a count")
        }
    };
    (collection, left_out)
}

/// A JSON value as the CSV writes it: `null` empty, a list `;`-joined.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// The CSV row `claims --format csv` should give for a `claims --json` row.
pub fn expected_row(json: &Value) -> Row {
    CLAIM_COLUMNS
        .iter()
        .map(|(column, field)| {
            let mut text = cell(&json[*field]);
            if *column == "event_date" {
                text.truncate(10);
            }
            ((*column).to_owned(), text)
        })
        .collect()
}

/// The claim ids of some rows, in order.
pub fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| cell(&r["claim"])).collect()
}

/// A feature's point as `[lon, lat]`.
pub fn point(feature: &geojson::Feature) -> Vec<f64> {
    let geometry = feature.geometry.as_ref().expect("a geometry");
    match &geometry.value {
        geojson::Value::Point(position) => position.clone(),
        other => panic!("not a Point: {other:?}"),
    }
}

/// A feature's id, as a string.
pub fn feature_id(feature: &geojson::Feature) -> String {
    match &feature.id {
        Some(geojson::feature::Id::String(id)) => id.clone(),
        other => panic!("feature id is not a string: {other:?}"),
    }
}
