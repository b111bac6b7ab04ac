//! Unit tests of the formats: every body is read back with a reader that
//! did not write it (the `csv` crate's reader, the `geojson` crate's parser,
//! `serde_json`).

use super::*;
use armistice_core::json::parse_line;
use armistice_core::{Header, Record};
use armistice_projections::{replay, ClaimFilter, Flag};

fn t(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

/// A claim row as the register gives it, at a place with or without coordinates.
fn row(claim: &str, point: Option<(f64, f64)>, description: &str) -> ClaimRow {
    ClaimRow {
        claim: ClaimId::new(claim.to_owned()).unwrap(),
        agreement: AgreementId::new("a".to_owned()).unwrap(),
        by: PartyId::new("UA".to_owned()).unwrap(),
        against: PartyId::new("RU".to_owned()).unwrap(),
        category: Category::EnergyInfrastructureStrike,
        incident_at: t("2025-03-18T20:00:00Z"),
        incident_precision: Some(Precision::Hour),
        incident_until: None,
        occurred_at: t("2025-03-19T07:00:00Z"),
        recorded_at: t("2025-03-19T09:00:00.5Z"),
        location: "Sloviansk, Donetsk oblast".to_owned(),
        lat: point.map(|p| p.0),
        lon: point.map(|p| p.1),
        killed: Some(2),
        injured: None,
        description: description.to_owned(),
        count: 1,
        state: ClaimState::Verified,
        response: Some(Response::DisputedFacts),
        finding: Some(Finding::Verified),
        confidence: Some(Confidence::High),
        flags: vec![Flag::OutsideWindow, Flag::Countered],
        responses: 1,
        assessments: 2,
        evidence: 3,
        backfilled: false,
        seq: 42,
        rules: "1",
    }
}

/// Reads a CSV body back: its header and its records.
fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader.records().collect::<Result<_, _>>().unwrap();
    (header, records)
}

#[test]
fn csv_headers_are_the_struct_fields() {
    // The header is written by hand (so that an empty table has one); the
    // csv crate's own header from the struct must agree with it.
    let mut writer = csv::Writer::from_writer(Vec::new());
    let claim = row("c1", Some((48.852, 37.605)), "d");
    writer.serialize(ClaimColumns::of(&claim)).unwrap();
    let bytes = writer.into_inner().unwrap();
    let (header, _) = read_csv(&bytes);
    assert_eq!(header, CLAIM_COLUMNS);

    let projection = replay(&records(&world()), View::EVERYTHING);
    let rows = projection.status(None).unwrap();
    let mut writer = csv::Writer::from_writer(Vec::new());
    for columns in StatusColumns::of(&rows[0], projection.parties()) {
        writer.serialize(columns).unwrap();
    }
    let (header, _) = read_csv(&writer.into_inner().unwrap());
    assert_eq!(header, STATUS_COLUMNS);
}

#[test]
fn claims_csv_quotes_commas_quotes_and_line_breaks() {
    let tricky = "He said \"stop, now\",\nthen left;\r\nüber-\u{0436}\tend";
    let rows = [
        row("c1", Some((48.852, 37.605)), tricky),
        row("c2", None, "[redacted]"),
    ];
    let body = claims_body(ClaimsFormat::Csv, &rows, &Parties::new(), View::EVERYTHING);
    assert_eq!(body.content_type, "text/csv; charset=utf-8; header=present");
    let text = String::from_utf8(body.bytes.clone()).unwrap();
    // RFC 4180: records end in CRLF, a field with a comma, quote or line
    // break is quoted and its quotes doubled.
    assert!(text.starts_with("claim_id,agreement_id,"), "{text}");
    assert!(text.ends_with("\r\n"), "{text:?}");
    assert!(
        text.contains("\"He said \"\"stop, now\"\",\nthen left;\r\nüber-"),
        "{text}"
    );
    assert!(text.contains(",\"Sloviansk, Donetsk oblast\","), "{text}");
    let (header, records) = read_csv(&body.bytes);
    assert_eq!(header, CLAIM_COLUMNS);
    assert_eq!(records.len(), 2);
    let cell = |record: &csv::StringRecord, column: &str| {
        let i = CLAIM_COLUMNS.iter().position(|c| *c == column).unwrap();
        record.get(i).unwrap().to_owned()
    };
    let first = &records[0];
    for (column, expected) in [
        ("claim_id", "c1"),
        ("claimant", "UA"),
        ("accused", "RU"),
        ("category", "energy_infrastructure_strike"),
        ("event_date", "2025-03-18"),
        ("incident_start", "2025-03-18T20:00:00Z"),
        ("incident_end", ""),
        ("incident_precision", "hour"),
        ("recorded_at", "2025-03-19T09:00:00.500Z"),
        ("location", "Sloviansk, Donetsk oblast"),
        ("latitude", "48.852"),
        ("longitude", "37.605"),
        ("fatalities", "2"),
        ("injured", ""),
        ("description", tricky),
        ("state", "verified"),
        ("response", "disputed_facts"),
        ("finding", "verified"),
        ("confidence", "high"),
        ("flags", "outside_window;countered"),
        ("evidence_items", "3"),
        ("backfilled", "false"),
        ("seq", "42"),
        ("rules", "1"),
    ] {
        assert_eq!(cell(first, column), expected, "{column}");
    }
    assert_eq!(cell(&records[1], "description"), "[redacted]");
    assert_eq!(cell(&records[1], "latitude"), "");
}

#[test]
fn an_empty_table_still_has_its_header() {
    let body = claims_body(ClaimsFormat::Csv, &[], &Parties::new(), View::EVERYTHING);
    let expected = format!("{}\r\n", CLAIM_COLUMNS.join(","));
    assert_eq!(String::from_utf8(body.bytes).unwrap(), expected);
    let body = status_body(StatusFormat::Csv, &[], &Parties::new(), View::EVERYTHING);
    let expected = format!("{}\r\n", STATUS_COLUMNS.join(","));
    assert_eq!(String::from_utf8(body.bytes).unwrap(), expected);
}

#[test]
fn geojson_has_lon_lat_points_and_counts_claims_without_coordinates() {
    let rows = [
        row("c1", Some((48.852, 37.605)), "a \"quoted\", line\nbreak"),
        row("c2", None, "no place"),
        row("c3", Some((-33.5, -70.25)), "south and west"),
    ];
    let body = claims_body(
        ClaimsFormat::Geojson,
        &rows,
        &Parties::new(),
        View::EVERYTHING,
    );
    assert_eq!(body.content_type, "application/geo+json");
    assert_eq!(body.without_coordinates, Some(1));
    assert_eq!(body.file_name, "armistice-claims.geojson");
    let text = String::from_utf8(body.bytes).unwrap();
    let parsed: geojson::GeoJson = text.parse().unwrap();
    let geojson::GeoJson::FeatureCollection(collection) = parsed else {
        panic!("not a FeatureCollection: {text}");
    };
    assert_eq!(collection.features.len(), 2);
    let expected = [("c1", 37.605, 48.852), ("c3", -70.25, -33.5)];
    for (feature, (id, lon, lat)) in collection.features.iter().zip(expected) {
        assert_eq!(feature.id, Some(geojson::feature::Id::String(id.into())));
        let geometry = feature.geometry.as_ref().unwrap();
        let geojson::Value::Point(point) = &geometry.value else {
            panic!("not a Point: {geometry:?}");
        };
        // RFC 7946: longitude first.
        assert_eq!(point, &vec![lon, lat]);
        let properties = feature.properties.as_ref().unwrap();
        let keys: Vec<&str> = properties.keys().map(String::as_str).collect();
        assert_eq!(keys, CLAIM_COLUMNS, "properties are the CSV columns");
        assert_eq!(properties["latitude"], serde_json::json!(lat));
        assert_eq!(properties["longitude"], serde_json::json!(lon));
        assert_eq!(properties["injured"], serde_json::Value::Null);
        assert_eq!(properties["fatalities"], serde_json::json!(2));
        assert_eq!(properties["backfilled"], serde_json::json!(false));
    }
    let first = collection.features[0].properties.as_ref().unwrap();
    assert_eq!(first["description"], "a \"quoted\", line\nbreak");
}

#[test]
fn geojson_of_no_claim_is_an_empty_collection() {
    let body = claims_body(
        ClaimsFormat::Geojson,
        &[],
        &Parties::new(),
        View::EVERYTHING,
    );
    let value: serde_json::Value = serde_json::from_slice(&body.bytes).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"type": "FeatureCollection", "features": []})
    );
    assert_eq!(body.without_coordinates, Some(0));
}

#[test]
fn json_and_text_are_what_the_commands_printed_before() {
    let rows = [row("c1", None, "d")];
    let view = View::at(t("2025-04-22T00:00:00Z"));
    let body = claims_body(ClaimsFormat::Json, &rows, &Parties::new(), view);
    let expected = format!("{}\n", serde_json::to_string_pretty(&rows).unwrap());
    assert_eq!(String::from_utf8(body.bytes).unwrap(), expected);
    assert_eq!(body.content_type, "application/json");
    assert_eq!(body.file_name, "armistice-claims-20250422T000000Z.json");
    assert_eq!(body.without_coordinates, None);
    let body = claims_body(ClaimsFormat::Text, &rows, &Parties::new(), view);
    let expected = render_claims(&rows, &Parties::new(), view);
    assert_eq!(String::from_utf8(body.bytes).unwrap(), expected);
    assert_eq!(body.content_type, "text/plain; charset=utf-8");
}

/// JSON lines as records with seq 1, 2, 3, … (each line carries `occurred_at`).
fn records(lines: &[String]) -> Vec<Record> {
    let mut out = Vec::new();
    for (seq, line) in (1..).zip(lines) {
        let submission = parse_line(line, uuid::Uuid::from_u128(u128::from(seq))).unwrap();
        let statement = submission.statement;
        let at = statement.occurred_at;
        out.push(Record {
            header: Header {
                schema: 1,
                seq,
                recorded_at: at,
                occurred_at: at,
                event_type: statement.event.event_type(),
                backfilled: false,
                event_id: statement.event_id,
                stream: statement.stream().name(),
                version: 1,
                by: statement.by.clone(),
                prev_hash: [0; 32],
                payload_sha256: [0; 32],
                signature: None,
            },
            hash: [0; 32],
            statement,
            redaction: armistice_core::Redaction::None,
        });
    }
    out
}

/// UA and RU bound by `a`, both signed (RU on condition); GE, not bound, files a
/// claim under it; UA files one incident and an aggregate of 2,935.
fn world() -> Vec<String> {
    let at = |day: u32| format!("2025-03-{day:02}T00:00:00Z");
    let line = |by: &str, day: u32, body: &str| {
        format!(r#"{{"by":"{by}","occurred_at":"{}",{body}}}"#, at(day))
    };
    let register = |party: &str, name: &str| {
        line(
            "operator",
            1,
            &format!(
                r#""type":"party_registered","party":"{party}","name":"{name}","role":"belligerent""#
            ),
        )
    };
    let allege = |claim: &str, by: &str, against: &str, count: u32| {
        line(
            by,
            5,
            &format!(
                r#""type":"violation_alleged","claim":"{claim}","agreement":"a","against":"{against}","incident_at":"{}","count":{count},"category":"shelling","location":{{"name":"x"}},"description":"d""#,
                at(4)
            ),
        )
    };
    vec![
        register("UA", "Ukraine"),
        register("RU", "Russia, the Federation"),
        register("GE", "Georgia"),
        line(
            "UA",
            2,
            &format!(
                r#""type":"agreement_proposed","agreement":"a","title":"A \"truce\", at last","kind":"bilateral","parties":["UA","RU"],"scope":["energy_infrastructure","maritime"],"effective_from":"{}""#,
                at(3)
            ),
        ),
        line(
            "RU",
            2,
            r#""type":"agreement_signed","agreement":"a","conditions":"if, and only if""#,
        ),
        line("UA", 2, r#""type":"agreement_signed","agreement":"a""#),
        allege("c1", "UA", "RU", 1),
        allege("c2", "UA", "RU", 2935),
        allege("c3", "GE", "RU", 1),
    ]
}

#[test]
fn status_csv_has_one_row_per_agreement_and_party() {
    let projection = replay(&records(&world()), View::at(t("2025-03-06T00:00:00Z")));
    let rows = projection.status(None).unwrap();
    let view = projection.view();
    let body = status_body(StatusFormat::Csv, &rows, projection.parties(), view);
    assert_eq!(body.file_name, "armistice-status-20250306T000000Z.csv");
    let (header, records) = read_csv(&body.bytes);
    assert_eq!(header, STATUS_COLUMNS);
    let table: Vec<Vec<(&str, &str)>> = records
        .iter()
        .map(|r| STATUS_COLUMNS.iter().copied().zip(r.iter()).collect())
        .collect();
    let pick = |row: &[(&str, &str)], names: &[&str]| -> Vec<String> {
        let value = |name: &&str| row.iter().find(|(c, _)| c == name).unwrap().1.to_owned();
        names.iter().map(value).collect()
    };
    let columns = [
        "party",
        "party_name",
        "bound",
        "signed",
        "conditions",
        "claims_filed",
        "incidents_alleged",
        "aggregate_claims",
        "aggregate_counts",
    ];
    let got: Vec<Vec<String>> = table.iter().map(|r| pick(r, &columns)).collect();
    let expected = [
        ["UA", "Ukraine", "true", "true", "", "2", "1", "1", "2935"],
        [
            "RU",
            "Russia, the Federation",
            "true",
            "true",
            "if, and only if",
            "0",
            "0",
            "0",
            "",
        ],
        ["GE", "Georgia", "false", "false", "", "1", "1", "0", ""],
    ];
    assert_eq!(got, expected);
    for row in &table {
        assert_eq!(
            pick(row, &["agreement_id", "title", "status", "scope", "kind"]),
            [
                "a",
                "A \"truce\", at last",
                "in_force",
                "energy_infrastructure;maritime",
                "bilateral"
            ]
        );
    }
    assert_eq!(
        projection.claims(&ClaimFilter::default()).len(),
        3,
        "the world's claims"
    );
}

#[test]
fn timeline_json_is_the_story() {
    let projection_view = View::at(t("2025-03-06T00:00:00Z"));
    let records = records(&world());
    let mut story = armistice_projections::StoryReplay::new(
        AgreementId::new("a".to_owned()).unwrap(),
        projection_view,
    );
    for record in &records {
        let _ = story.apply(record);
    }
    let story = story.finish_story().unwrap();
    let text = timeline_body(TimelineFormat::Text, &story);
    assert_eq!(text.bytes, render_story(&story).into_bytes());
    assert_eq!(text.file_name, "armistice-timeline-a-20250306T000000Z.txt");
    let body = timeline_body(TimelineFormat::Json, &story);
    let value: serde_json::Value = serde_json::from_slice(&body.bytes).unwrap();
    assert_eq!(value["agreement"], "a");
    assert_eq!(value["at"], "2025-03-06T00:00:00Z");
    assert_eq!(value["known_at"], serde_json::Value::Null);
    assert_eq!(value["status"]["status"], "in_force");
    assert_eq!(value["rules"], "1");
    let events = value["events"].as_array().unwrap();
    let kinds: Vec<(&str, &serde_json::Value)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), &e["seq"]))
        .collect();
    assert_eq!(
        kinds,
        [
            ("agreement_proposed", &serde_json::json!(4)),
            ("agreement_signed", &serde_json::json!(5)),
            ("agreement_signed", &serde_json::json!(6)),
            ("agreement_in_force", &serde_json::Value::Null),
            ("violation_alleged", &serde_json::json!(7)),
            ("violation_alleged", &serde_json::json!(8)),
            ("violation_alleged", &serde_json::json!(9)),
        ]
    );
    assert_eq!(events[1]["by"], "RU");
    assert_eq!(
        events[1]["sentence"],
        "signs, on condition: “if, and only if”"
    );
}

#[test]
fn formats_parse_their_names_and_list_the_allowed_ones() {
    assert_eq!("geojson".parse::<ClaimsFormat>(), Ok(ClaimsFormat::Geojson));
    assert_eq!(ClaimsFormat::default(), ClaimsFormat::Text);
    assert_eq!(StatusFormat::NAMES, ["text", "json", "csv"]);
    assert_eq!(TimelineFormat::NAMES, ["text", "json"]);
    let error = StatusFormat::parse(Names::HTTP, "geojson").unwrap_err();
    assert_eq!(
        error.to_string(),
        "format: unknown format `geojson`; expected one of text, json, csv"
    );
    let error = TimelineFormat::parse(Names::CLI, "csv").unwrap_err();
    assert_eq!(
        error.to_string(),
        "--format: unknown format `csv`; expected one of text, json"
    );
}
