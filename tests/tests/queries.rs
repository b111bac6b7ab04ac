//! End-to-end tests of the query commands (`status`, `claims`, `audit`,
//! `timeline`, `demo`) on the spring-2025 example. Expected values are
//! worked out by hand from the rules, not copied from the program.

mod common;

use common::Ledger;
use serde_json::Value;

fn example() -> Ledger {
    let ledger = Ledger::new();
    ledger.ok(&[
        "import",
        "--backfill",
        &common::spring_2025_path().to_string_lossy(),
    ]);
    ledger
}

fn json(ledger: &Ledger, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let out = ledger.ok(&args);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}):\n{out}"))
}

fn statuses(ledger: &Ledger, args: &[&str]) -> Vec<(String, String)> {
    let rows = json(ledger, &[&["status"], args].concat());
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["agreement"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(a, s)| (a.to_string(), s.to_string()))
        .collect()
}

#[test]
fn status_at_telling_dates() {
    let ledger = example();
    // 22 March: the moratorium is in force (both signed by 19 March, effective 18 March 17:00);
    // Jeddah was signed by UA only.
    assert_eq!(
        statuses(&ledger, &["--at", "2025-03-22"]),
        pairs(&[
            ("jeddah-interim-ceasefire-2025", "proposed"),
            ("energy-moratorium-2025", "in_force")
        ])
    );
    // Easter Sunday noon: both truces in force; the moratorium expired on 17 April 17:00.
    let easter = statuses(&ledger, &["--at", "2025-04-20T12:00:00Z"]);
    for (agreement, status) in [
        ("energy-moratorium-2025", "expired"),
        ("black-sea-2025", "in_force"),
        ("ru-easter-truce-2025", "in_force"),
        ("ua-easter-mirror-2025", "in_force"),
    ] {
        assert!(
            easter.contains(&(agreement.to_owned(), status.to_owned())),
            "{agreement} {status}: {easter:?}"
        );
    }
    // 19 April 14:00 UTC: Russia's truce is declared but starts at 15:00 UTC (18:00 Moscow).
    let before = statuses(&ledger, &["--at", "2025-04-19T14:00:00Z"]);
    assert!(
        before.contains(&("ru-easter-truce-2025".into(), "pending".into())),
        "{before:?}"
    );
}

#[test]
fn status_json_has_the_contract_fields_and_counts_side_by_side() {
    let ledger = example();
    let rows = json(
        &ledger,
        &["status", "ru-easter-truce-2025", "--at", "2025-04-22"],
    );
    let row = &rows[0];
    for field in [
        "agreement",
        "title",
        "kind",
        "status",
        "parties",
        "signed_by",
        "effective_from",
        "expires_at",
        "scope",
        "rules",
        "claims",
        "claims_by",
        "alleged_by",
    ] {
        assert!(row.get(field).is_some(), "status lacks `{field}`: {row}");
    }
    for state in [
        "total",
        "open",
        "acknowledged",
        "disputed",
        "verified",
        "refuted",
        "inconclusive",
        "retracted",
    ] {
        assert!(row["claims"].get(state).is_some(), "claims lacks `{state}`");
    }
    assert_eq!(row["rules"], "1");
    assert_eq!(row["kind"], "unilateral");
    assert_eq!(row["signed_by"], serde_json::json!(["RU"]));
    // Allegations per party: single incidents counted, aggregate claims
    // listed one by one and never summed (two counts may overlap).
    assert_eq!(row["alleged_by"]["UA"]["incidents"], 0, "{row}");
    let ua_counts: Vec<&Value> = row["alleged_by"]["UA"]["aggregates"]
        .as_array()
        .unwrap_or_else(|| panic!("aggregates is a list: {row}"))
        .iter()
        .map(|a| &a["count"])
        .collect();
    assert_eq!(ua_counts, [2935], "{row}");
    let mirror = json(
        &ledger,
        &["status", "ua-easter-mirror-2025", "--at", "2025-04-22"],
    );
    let ru = &mirror[0]["alleged_by"]["RU"];
    assert_eq!(ru["incidents"], 0, "{ru}");
    let mut ru_counts: Vec<u64> = ru["aggregates"]
        .as_array()
        .unwrap_or_else(|| panic!("aggregates is a list: {ru}"))
        .iter()
        .map(|a| a["count"].as_u64().unwrap())
        .collect();
    ru_counts.sort_unstable();
    assert_eq!(ru_counts, [1000, 4900], "listed apart, not summed: {ru}");
    for aggregate in ru["aggregates"].as_array().unwrap() {
        for field in ["claim", "count", "incident_at", "incident_until"] {
            assert!(
                aggregate.get(field).is_some(),
                "aggregate lacks `{field}`: {aggregate}"
            );
        }
    }
    assert_eq!(mirror[0]["claims_by"]["RU"], 2);
}

#[test]
fn one_agreement_reads_like_the_full_replay() {
    let ledger = example();
    // Early dates replay through the occurred_at index (few entries occurred by then),
    // later ones read the log in order; one agreement reads only its streams.
    for (at, known_at) in [
        ("2025-03-19", None),
        ("2025-03-21", Some("2025-03-20")),
        ("2025-03-25", None),
        ("2025-04-12", Some("2025-04-04")),
        ("2025-06-30", None),
    ] {
        let mut args = vec!["status", "--at", at];
        if let Some(k) = known_at {
            args.extend(["--known-at", k]);
        }
        let all = json(&ledger, &args);
        for row in all.as_array().unwrap() {
            let agreement = row["agreement"].as_str().unwrap();
            let mut one_args = args.clone();
            one_args.insert(1, agreement);
            assert_eq!(json(&ledger, &one_args)[0], *row, "{agreement} at {at}");
        }
    }
}

#[test]
fn known_at_shows_what_the_record_knew() {
    let ledger = example();
    let everything = json(
        &ledger,
        &["status", "energy-moratorium-2025", "--at", "2025-04-12"],
    );
    let then = json(
        &ledger,
        &[
            "status",
            "energy-moratorium-2025",
            "--at",
            "2025-04-12",
            "--known-at",
            "2025-04-04",
        ],
    );
    // The Kherson shelling claim was recorded on 5 April and the verification on 10 April.
    assert_eq!(everything[0]["claims"]["total"], 12);
    assert_eq!(then[0]["claims"]["total"], 11);
    assert_eq!(everything[0]["claims"]["verified"], 1);
    assert_eq!(then[0]["claims"]["verified"], 0);
}

#[test]
fn claims_filters_and_fields() {
    let ledger = example();
    let rows = json(
        &ledger,
        &[
            "claims",
            "--agreement",
            "energy-moratorium-2025",
            "--state",
            "retracted",
        ],
    );
    assert_eq!(rows.as_array().unwrap().len(), 1);
    let row = &rows[0];
    assert_eq!(row["claim"], "UA-2025-04-01-kherson-energy-dup");
    for field in [
        "claim",
        "agreement",
        "by",
        "against",
        "category",
        "incident_at",
        "occurred_at",
        "recorded_at",
        "location",
        "state",
        "flags",
        "responses",
        "assessments",
    ] {
        assert!(row.get(field).is_some(), "claims lacks `{field}`: {row}");
    }
    let by_ru = json(&ledger, &["claims", "--by", "RU", "--against", "UA"]);
    assert!(by_ru
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["by"] == "RU" && r["against"] == "UA"));
    let window = json(
        &ledger,
        &[
            "claims",
            "--incident-from",
            "2025-04-23",
            "--incident-to",
            "2025-04-23T23:59:59Z",
        ],
    );
    let ids: Vec<&str> = window
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["claim"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["UA-2025-04-23-kherson-energy"]);
    assert!(window[0]["flags"]
        .as_array()
        .unwrap()
        .contains(&Value::from("outside_window")));
    let shelling = json(
        &ledger,
        &[
            "claims",
            "--category",
            "shelling",
            "--agreement",
            "energy-moratorium-2025",
        ],
    );
    assert!(shelling.as_array().unwrap().iter().all(|r| r["flags"]
        .as_array()
        .unwrap()
        .contains(&Value::from("outside_scope"))));
}

#[test]
fn query_errors_name_what_is_wrong() {
    let ledger = example();
    for (args, expected) in [
        (&["claims", "--state", "pending"][..], "--state"),
        (&["claims", "--category", "artillery"], "--category"),
        (&["claims", "--at", "yesterday"], "--at"),
        (&["status", "--known-at", "2025-13-01"], "--known-at"),
        (&["claims", "--by", "XX"], "unknown party `XX`"),
        (&["claims", "--agreement", "no-such"], "no-such"),
        (&["status", "no-such"], "unknown agreement `no-such`"),
        (&["audit", "no-such-claim"], "no-such-claim"),
        (&["timeline", "no-such"], "no-such"),
        (
            &[
                "audit",
                "RU-2025-03-21-sudzha",
                "--evidence-dir",
                "/no/such/dir",
            ],
            "--evidence-dir",
        ),
    ] {
        let stderr = ledger.fails(args);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let stderr = ledger.fails(&["claims", "--state", "pending"]);
    assert!(
        stderr.contains("disputed"),
        "the allowed values are listed: {stderr}"
    );
}

fn timeline_seqs(audit: &Value) -> Vec<(u64, String)> {
    audit["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().unwrap(),
                e["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn audit_of_the_sudzha_claim() {
    let ledger = example();
    let audit = json(&ledger, &["audit", "RU-2025-03-21-sudzha"]);
    // RU's claim (17), UA's counter-claim (18), UA's answer naming it (19), evidence on the
    // counter-claim (20), the monitor's assessment (38).
    let expected: Vec<(u64, String)> = [
        (17, "open"),
        (18, "open"),
        (19, "disputed"),
        (20, "disputed"),
        (38, "inconclusive"),
    ]
    .iter()
    .map(|(s, st)| (*s, st.to_string()))
    .collect();
    assert_eq!(timeline_seqs(&audit), expected);
    assert_eq!(audit["state"], "inconclusive");
    assert_eq!(audit["chain_ok"], true);
    for entry in audit["timeline"].as_array().unwrap() {
        for field in [
            "seq",
            "type",
            "by",
            "occurred_at",
            "recorded_at",
            "hash",
            "state",
            "signature",
        ] {
            assert!(entry.get(field).is_some(), "timeline entry lacks `{field}`");
        }
    }
    let codes: Vec<&str> = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"outside_scope"), "{codes:?}");
    assert!(!codes.contains(&"no_response"), "{codes:?}");
    // As the record stood on 1 April: no assessment yet.
    let then = json(
        &ledger,
        &["audit", "RU-2025-03-21-sudzha", "--known-at", "2025-04-01"],
    );
    assert_eq!(then["state"], "disputed");
    assert_eq!(timeline_seqs(&then).last().unwrap().0, 20);
    // Twenty-three days between claim and answer: a late response.
    let late = json(&ledger, &["audit", "UA-2025-03-26-eight-strikes"]);
    let codes: Vec<&str> = late["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"late_response"), "{codes:?}");
    let human = ledger.ok(&["audit", "RU-2025-03-21-sudzha"]);
    assert!(
        human.contains("Hash chain up to the last entry shown: verified"),
        "{human}"
    );
}

#[test]
fn audit_re_hashes_evidence_files() {
    let ledger = Ledger::new();
    let photo = b"photo of the substation";
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(photo));
    let evidence = format!(
        r#"[{{"sha256":"{sha}","media_type":"image/jpeg","uri":"file:///evidence/photo.jpg","description":"photo"}},{{"sha256":"{}","media_type":"video/mp4","uri":"https://example.org/clip.mp4","description":"clip"}},{{"sha256":"{}","media_type":"text/plain","uri":"notes.txt","description":"notes"}}]"#,
        "a".repeat(64),
        "b".repeat(64)
    );
    let world = common::WORLD.replace(
        r#""description":"Shelling of a substation"}"#,
        &format!(r#""description":"Shelling of a substation","evidence":{evidence}}}"#),
    );
    ledger.record(&world);
    let dir = ledger.dir().join("evidence");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join(&sha), photo).unwrap();
    std::fs::write(dir.join("notes.txt"), b"not what was hashed").unwrap();
    let audit = json(
        &ledger,
        &["audit", "C1", "--evidence-dir", &dir.to_string_lossy()],
    );
    let findings: Vec<(String, String)> = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_owned(),
                f["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let has = |code: &str, needle: &str| {
        findings
            .iter()
            .any(|(c, d)| c == code && d.contains(needle))
    };
    assert!(has("evidence_missing", "clip.mp4"), "{findings:?}");
    assert!(has("evidence_mismatch", "notes.txt"), "{findings:?}");
    assert!(
        !findings.iter().any(|(_, d)| d.contains("photo.jpg")),
        "the photo matches: {findings:?}"
    );
}

#[test]
fn timeline_tells_the_story() {
    let ledger = example();
    let story = ledger.ok(&["timeline", "ru-easter-truce-2025", "--at", "2025-04-30"]);
    assert!(story.contains("Easter truce"), "{story}");
    assert!(story.contains("2,935") || story.contains("2935"), "{story}");
    let early = ledger.ok(&["timeline", "energy-moratorium-2025", "--at", "2025-03-20"]);
    assert!(!early.contains("2025-03-26"), "nothing after --at: {early}");
}

#[test]
fn demo_runs_and_shows_the_story() {
    let ledger = Ledger::new();
    let place = ledger.dir().join("demo.ledger");
    let output = common::armistice(ledger.dir())
        .args(["--ledger", &place.to_string_lossy(), "demo"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::describe(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "energy-moratorium-2025",
        "Audit of claim RU-2025-03-21-sudzha",
        "verify: 61 entries, 0 problems",
        // The demo's checkpoint names the demo's own origin.
        "— example.org/armistice-demo ",
    ] {
        assert!(text.contains(needle), "demo lacks {needle:?}");
    }
    // The demo leaves a real ledger behind when given one.
    assert!(place.join("operator.key").is_file());
}
