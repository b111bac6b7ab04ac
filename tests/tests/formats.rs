//! End-to-end tests of the output formats: `claims --format
//! json|csv|geojson`, `status --format csv`, `timeline --format json`.
//! Every body is read back with a reader that did not write it (the `csv`
//! crate, the `geojson` crate, `serde_json`) and checked against
//! `claims --json`, the filters, and the text the commands print.

mod common;
#[path = "common/formats.rs"]
mod formats;

use common::{Ledger, EXIT_ERROR, WORLD};
use formats::*;
use serde_json::{json, Value};

/// The views and filters every format is checked under: each filter must
/// leave some claims out, so a format that ignored it would be caught.
const FILTERS: &[&[&str]] = &[
    &["--agreement", "energy-moratorium-2025"],
    &["--by", "RU"],
    &["--against", "RU"],
    &["--state", "disputed"],
    &["--category", "energy_infrastructure_strike"],
    &[
        "--incident-from",
        "2025-04-01",
        "--incident-to",
        "2025-04-21",
    ],
    &["--at", "2025-04-12"],
    &["--known-at", "2025-04-04"],
    &["--by", "UA", "--state", "open", "--at", "2025-05-01"],
];

#[test]
fn every_format_lists_the_claims_of_claims_json_under_every_filter() {
    let ledger = example();
    let all = claims_json(&ledger, &["--at", "2025-06-01"]);
    assert_eq!(all.len(), 19, "the example's claims");
    let mut views: Vec<Vec<&str>> = vec![vec![]];
    views.extend(FILTERS.iter().map(|f| f.to_vec()));
    for filter in views {
        let args: Vec<&str> = if filter.contains(&"--at") {
            filter.clone()
        } else {
            [&["--at", "2025-06-01"][..], &filter].concat()
        };
        let rows = claims_json(&ledger, &args);
        if !filter.is_empty() {
            assert!(
                !rows.is_empty() && rows.len() < all.len(),
                "{filter:?} should keep some claims and leave some out: {}",
                rows.len()
            );
        }
        check_csv(&ledger, &args, &rows);
        check_geojson(&ledger, &args, &rows);
    }
}

/// The CSV has the header, one record per JSON row, in the same order,
/// each cell what the JSON row says.
fn check_csv(ledger: &Ledger, args: &[&str], rows: &[Value]) {
    let (header, records) = csv(ledger, &[&["claims"], args].concat());
    let names: Vec<&str> = CLAIM_COLUMNS.iter().map(|(c, _)| *c).collect();
    assert_eq!(header, names, "{args:?}");
    assert_eq!(
        records.len(),
        rows.len(),
        "{args:?}: as many rows as --json"
    );
    for (record, row) in records.iter().zip(rows) {
        assert_eq!(record, &expected_row(row), "{args:?}");
    }
}

/// The GeoJSON has one Point per JSON row with coordinates, `[lon, lat]`,
/// its properties the CSV row; the others are counted on standard error.
fn check_geojson(ledger: &Ledger, args: &[&str], rows: &[Value]) {
    let (collection, left_out) = geojson(ledger, args);
    let placed: Vec<&Value> = rows.iter().filter(|r| !r["lat"].is_null()).collect();
    assert_eq!(left_out, rows.len() - placed.len(), "{args:?}");
    assert_eq!(collection.features.len(), placed.len(), "{args:?}");
    for (feature, row) in collection.features.iter().zip(placed) {
        assert_eq!(feature_id(feature), cell(&row["claim"]), "{args:?}");
        let lon = row["lon"].as_f64().unwrap();
        let lat = row["lat"].as_f64().unwrap();
        assert_eq!(point(feature), [lon, lat], "{args:?}: longitude first");
        let properties = feature.properties.as_ref().expect("properties");
        let as_cells: Row = properties
            .iter()
            .map(|(k, v)| (k.clone(), cell(v)))
            .collect();
        assert_eq!(as_cells, expected_row(row), "{args:?}");
        let keys: Vec<&str> = properties.keys().map(String::as_str).collect();
        let names: Vec<&str> = CLAIM_COLUMNS.iter().map(|(c, _)| *c).collect();
        assert_eq!(keys, names, "properties in the CSV's column order");
    }
}

#[test]
fn the_example_puts_its_points_where_the_claims_say() {
    let ledger = example();
    let (collection, left_out) = geojson(&ledger, &["--at", "2025-06-01"]);
    // 10 of the example's 19 claims give coordinates.
    assert_eq!((collection.features.len(), left_out), (10, 9));
    let sudzha = collection
        .features
        .iter()
        .find(|f| feature_id(f) == "RU-2025-03-21-sudzha")
        .expect("Sudzha has a point");
    // Sudzha, Kursk oblast: 51.19 N, 35.27 E.
    assert_eq!(point(sudzha), [35.27, 51.19]);
    let properties = sudzha.properties.as_ref().unwrap();
    assert_eq!(properties["finding"], "inconclusive");
    assert_eq!(properties["confidence"], "medium");
    assert_eq!(properties["response"], "disputed_facts");
    assert_eq!(properties["incident_precision"], "hour");
    assert_eq!(properties["backfilled"], true);
    assert_eq!(properties["fatalities"], Value::Null);
    for feature in &collection.features {
        let [lon, lat] = point(feature)[..] else {
            panic!("a position of two numbers")
        };
        // Every place of the example lies in Ukraine or western Russia.
        assert!((22.0..=48.0).contains(&lon), "{lon}");
        assert!((44.0..=53.0).contains(&lat), "{lat}");
    }
}

/// A claim by UA against RU under `A1`, at a place with coordinates.
fn placed_claim(claim: &str, description: &str, place: &str, lat: f64, lon: f64) -> String {
    json!({
        "type": "violation_alleged", "by": "UA", "claim": claim, "agreement": "A1",
        "against": "RU", "incident_at": "2025-01-02T03:04:05Z", "incident_precision": "day",
        "category": "energy_infrastructure_strike",
        "location": {"name": place, "lat": lat, "lon": lon},
        "casualties": {"killed": 2, "injured": 5},
        "description": description,
    })
    .to_string()
}

#[test]
fn commas_quotes_and_line_breaks_in_text_round_trip() {
    let ledger = Ledger::new();
    ledger.record(WORLD);
    let tricky =
        "Shells hit \"Depot 7\", then the school,\nsaid the mayor; 2 dead\t5 hurt — «ünïcödé»";
    let formula = "=HYPERLINK(\"http://example.org\",\"x\"), kept as recorded";
    ledger.record(&format!(
        "{}\n{}\n",
        placed_claim("Q1", tricky, "Kherson, \"Old Town\"", 46.635, 32.617),
        placed_claim("Q2", formula, "Santiago, Chile", -33.45, -70.66),
    ));
    let rows = claims_json(&ledger, &[]);
    assert_eq!(ids(&rows), ["C1", "Q1", "Q2"]);

    let raw = ledger.ok(&["claims", "--format", "csv"]);
    // RFC 4180: the field is quoted, its quotes doubled, its line break kept.
    assert!(
        raw.contains("\"Shells hit \"\"Depot 7\"\", then the school,\nsaid the mayor;"),
        "{raw}"
    );
    assert!(raw.contains(",\"Kherson, \"\"Old Town\"\"\","), "{raw}");
    let (_, records) = csv(&ledger, &["claims"]);
    assert_eq!(records.len(), 3);
    assert_eq!(records[1]["description"], tricky);
    assert_eq!(records[1]["location"], "Kherson, \"Old Town\"");
    assert_eq!(records[2]["description"], formula);
    for (column, value) in [
        ("event_date", "2025-01-02"),
        ("incident_start", "2025-01-02T03:04:05Z"),
        ("incident_precision", "day"),
        ("latitude", "46.635"),
        ("longitude", "32.617"),
        ("fatalities", "2"),
        ("injured", "5"),
        ("state", "open"),
        ("response", ""),
        ("backfilled", "false"),
    ] {
        assert_eq!(records[1][column], value, "{column}");
    }
    assert_eq!(records[0]["latitude"], "", "C1 gives no coordinates");

    let (collection, left_out) = geojson(&ledger, &[]);
    assert_eq!(left_out, 1, "C1 has no coordinates");
    let features = &collection.features;
    assert_eq!(
        features.iter().map(feature_id).collect::<Vec<_>>(),
        ["Q1", "Q2"]
    );
    assert_eq!(point(&features[0]), [32.617, 46.635]);
    assert_eq!(
        point(&features[1]),
        [-70.66, -33.45],
        "west and south are negative"
    );
    let properties = features[0].properties.as_ref().unwrap();
    assert_eq!(properties["description"], tricky);
    assert_eq!(properties["location"], "Kherson, \"Old Town\"");
}

#[test]
fn a_redacted_description_or_place_reads_redacted_in_every_format() {
    let ledger = Ledger::new();
    ledger.record(WORLD);
    let witness = "Witness Ivan Petrov, 12 Lenin St, saw the strike";
    ledger.record(&placed_claim(
        "R1",
        witness,
        "Ivan's house, Sloviansk",
        48.85,
        37.6,
    ));
    let seq = claims_json(&ledger, &["--by", "UA"])[1]["seq"].clone();
    let redact = |fields: Value| {
        ledger.record(
            &json!({"type": "entry_redacted", "by": "operator", "target_seq": seq,
                    "reason": "witness safety", "fields": fields})
            .to_string(),
        );
    };

    redact(json!(["description"]));
    let rows = claims_json(&ledger, &["--against", "RU"]);
    assert_eq!(rows[1]["claim"], "R1");
    assert_eq!(rows[1]["description"], "[redacted]");
    let (_, records) = csv(&ledger, &["claims", "--against", "RU"]);
    assert_eq!(records[1]["description"], "[redacted]");
    assert_eq!(records[1]["location"], "Ivan's house, Sloviansk");
    let (collection, left_out) = geojson(&ledger, &["--against", "RU"]);
    assert_eq!((collection.features.len(), left_out), (1, 1));
    let properties = collection.features[0].properties.as_ref().unwrap();
    assert_eq!(properties["description"], "[redacted]");
    for format in ["json", "csv", "geojson", "text"] {
        let out = ledger.ok(&["claims", "--format", format]);
        assert!(!out.contains("Petrov"), "{format}: {out}");
    }

    // The place and the casualties redacted too: no point is left to show.
    redact(json!(["location", "casualties"]));
    let (_, records) = csv(&ledger, &["claims"]);
    let r1 = &records[1];
    assert_eq!(r1["location"], "[redacted]");
    assert_eq!(
        (r1["latitude"].as_str(), r1["longitude"].as_str()),
        ("", "")
    );
    assert_eq!(
        (r1["fatalities"].as_str(), r1["injured"].as_str()),
        ("", "")
    );
    let (collection, left_out) = geojson(&ledger, &[]);
    assert_eq!((collection.features.len(), left_out), (0, 2));
    let raw = ledger.ok(&["claims", "--format", "geojson"]);
    assert!(!raw.contains("Ivan"), "{raw}");
}

#[test]
fn json_format_is_the_json_flag_and_text_the_default() {
    let ledger = example();
    for (command, args) in [
        ("claims", vec!["--at", "2025-04-22", "--by", "UA"]),
        ("status", vec!["--at", "2025-04-22"]),
        (
            "status",
            vec!["energy-moratorium-2025", "--at", "2025-04-22"],
        ),
    ] {
        let args = [&[command][..], &args].concat();
        let flag = ledger.ok(&[&args[..], &["--json"]].concat());
        let format = ledger.ok(&[&args[..], &["--format", "json"]].concat());
        assert_eq!(flag, format, "{args:?}");
        let default = ledger.ok(&args);
        let text = ledger.ok(&[&args[..], &["--format", "text"]].concat());
        assert_eq!(default, text, "{args:?}");
    }
    let args = ["timeline", "energy-moratorium-2025", "--at", "2025-04-22"];
    assert_eq!(
        ledger.ok(&args),
        ledger.ok(&[&args[..], &["--format", "text"]].concat())
    );
}

#[test]
fn formats_a_command_lacks_are_refused() {
    let ledger = example();
    for args in [
        &["claims", "--json", "--format", "csv"][..],
        &["claims", "--format", "xml"],
        &["status", "--format", "geojson"],
        &["timeline", "energy-moratorium-2025", "--format", "csv"],
        &["timeline", "energy-moratorium-2025", "--json"],
    ] {
        let output = ledger.run(args);
        assert_eq!(output.status.code(), Some(EXIT_ERROR), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let stderr = ledger.fails(&["status", "--format", "geojson"]);
    assert!(stderr.contains("text, json, csv"), "{stderr}");
}

#[test]
fn no_matching_claim_gives_a_header_and_an_empty_collection() {
    let ledger = example();
    let args = ["--state", "verified", "--by", "RU"];
    assert!(claims_json(&ledger, &args).is_empty());
    let raw = ledger.ok(&[&["claims"][..], &args, &["--format", "csv"]].concat());
    let names: Vec<&str> = CLAIM_COLUMNS.iter().map(|(c, _)| *c).collect();
    assert_eq!(raw, format!("{}\r\n", names.join(",")));
    let (collection, left_out) = geojson(&ledger, &args);
    assert_eq!((collection.features.len(), left_out), (0, 0));
}

#[test]
fn status_csv_has_one_row_per_agreement_and_party() {
    let ledger = example();
    for args in [
        vec!["status", "--at", "2025-04-22"],
        vec!["status", "ua-easter-mirror-2025", "--at", "2025-04-22"],
        vec!["status", "--at", "2025-04-01", "--known-at", "2025-03-20"],
    ] {
        let agreements = json(&ledger, &args);
        let (_, records) = csv(&ledger, &args);
        let mut expected = Vec::new();
        for agreement in agreements.as_array().unwrap() {
            let bound: Vec<&str> = agreement["parties"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect();
            let claimants = agreement["claims_by"].as_object().unwrap();
            let others = claimants
                .keys()
                .map(String::as_str)
                .filter(|p| !bound.contains(p));
            for party in bound.iter().copied().chain(others) {
                expected.push((agreement, party));
            }
        }
        assert_eq!(records.len(), expected.len(), "{args:?}");
        for (record, (agreement, party)) in records.iter().zip(expected) {
            let alleged = &agreement["alleged_by"][party];
            let signed = agreement["signed_by"]
                .as_array()
                .unwrap()
                .contains(&json!(party));
            let aggregates = alleged["aggregates"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let counts: Vec<String> = aggregates.iter().map(|a| cell(&a["count"])).collect();
            for (column, value) in [
                ("agreement_id", cell(&agreement["agreement"])),
                ("title", cell(&agreement["title"])),
                ("status", cell(&agreement["status"])),
                ("at", cell(&agreement["at"])),
                ("expires_at", cell(&agreement["expires_at"])),
                ("scope", cell(&agreement["scope"])),
                ("party", party.to_owned()),
                ("signed", signed.to_string()),
                ("conditions", cell(&agreement["conditions"][party])),
                ("claims_filed", cell(&agreement["claims_by"][party])),
                ("incidents_alleged", cell(&alleged["incidents"])),
                ("aggregate_claims", aggregates.len().to_string()),
                ("aggregate_counts", counts.join(";")),
            ] {
                assert_eq!(record[column], value, "{args:?} {party} {column}");
            }
        }
    }
    // The Easter mirror: UA's declaration; RU's aggregates listed, not summed.
    let (_, records) = csv(
        &ledger,
        &["status", "ua-easter-mirror-2025", "--at", "2025-04-22"],
    );
    let ru = records
        .iter()
        .find(|r| r["party"] == "RU")
        .expect("RU files claims under it");
    assert_eq!(ru["bound"], "false");
    assert_eq!(ru["party_name"], "Russian Federation");
    assert!(ru["aggregate_counts"].contains(';'), "{ru:?}");
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 time, as the text shows it.
fn minute(at: &Value) -> String {
    let at = at.as_str().unwrap();
    format!("{} {}", &at[..10], &at[11..16])
}

#[test]
fn timeline_json_holds_every_line_of_the_text() {
    let ledger = example();
    for when in [
        vec!["--at", "2025-04-22"],
        vec!["--at", "2025-06-01", "--known-at", "2025-04-21"],
    ] {
        for agreement in ["energy-moratorium-2025", "ua-easter-mirror-2025"] {
            let args = [&["timeline", agreement][..], &when].concat();
            let text = ledger.ok(&args);
            let story: Value =
                serde_json::from_str(&ledger.ok(&[&args[..], &["--format", "json"]].concat()))
                    .unwrap();
            assert_eq!(story["agreement"], agreement);
            assert_eq!(story["rules"], "1");
            let status = json(&ledger, &[&["status", agreement][..], &when].concat());
            assert_eq!(story["status"], status[0], "the footer's status");
            // The text's lines between the header and the footer, rebuilt
            // from the JSON's events.
            let body: Vec<&str> = text
                .split("(times in UTC)\n\n")
                .nth(1)
                .unwrap()
                .split("\n\n")
                .next()
                .unwrap()
                .lines()
                .collect();
            let events = story["events"].as_array().unwrap();
            assert_eq!(body.len(), events.len(), "{args:?}");
            for (line, event) in body.iter().zip(events) {
                assert_eq!(*line, rebuilt(event), "{args:?}");
            }
            let seqs: Vec<u64> = events.iter().filter_map(|e| e["seq"].as_u64()).collect();
            let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
            assert!(times.windows(2).all(|w| w[0] <= w[1]), "in time order");
            assert!(!seqs.is_empty());
        }
    }
}

/// A story line as the text prints it, from its JSON form.
fn rebuilt(event: &Value) -> String {
    let indented = !event["claim"].is_null() && event["type"] != "violation_alleged";
    let author = match &event["by"] {
        Value::Null => "·".to_owned(),
        by => cell(by),
    };
    let mut line = format!(
        "{}  {}{author} {}",
        minute(&event["at"]),
        if indented { "    " } else { "" },
        cell(&event["sentence"])
    );
    if event["recorded_late"] == true {
        line.push_str(&format!(
            " (recorded only on {})",
            minute(&event["recorded_at"])
        ));
    }
    if event["backfilled"] == true {
        line.push_str(" (backfilled)");
    }
    line
}
