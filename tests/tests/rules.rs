//! Every rule of "Rules enforced at append": each rejected input leaves the
//! ledger unchanged byte for byte (same export, same count and head hash),
//! with a message naming the line and the field.
//!
//! One data-driven table, run through one helper ([`check`]).

mod common;

use common::{claim_line, describe, spring_2025, Ledger, WORLD};
use serde_json::Value;

/// When the setup and the rejected lines are recorded (the ledger's clock:
/// they never carry `recorded_at`) or backfilled (with `recorded_at`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Record,
    Backfill,
}

/// One rule: what the ledger holds beyond [`WORLD`], the line it must
/// reject, and a substring of the error.
struct Case {
    name: &'static str,
    setup: Vec<String>,
    mode: Mode,
    bad: String,
    expect: &'static str,
}

/// The time every setup line is backfilled at.
const SETUP_AT: &str = "2025-01-01T00:00:00Z";
/// The time the filler line before a backfilled rejected line carries.
const FILLER_AT: &str = "2025-01-02T00:00:00Z";
/// A time later than any test run.
const FUTURE: &str = "2999-01-01T00:00:00Z";

fn with_fields(line: &str, fields: &[(&str, &str)]) -> String {
    let mut value: Value = serde_json::from_str(line).expect("a JSON test line");
    let object = value.as_object_mut().expect("a JSON object");
    for (key, text) in fields {
        object.insert((*key).to_owned(), Value::String((*text).to_owned()));
    }
    value.to_string()
}

/// The setup, backfilled at [`SETUP_AT`] so that backfilled cases may follow.
fn setup_lines(extra: &[String]) -> String {
    WORLD
        .lines()
        .map(str::to_owned)
        .chain(extra.iter().cloned())
        .map(|line| {
            with_fields(
                &line,
                &[("recorded_at", SETUP_AT), ("occurred_at", SETUP_AT)],
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A valid line that precedes the bad one, so that the batch has something
/// to roll back and the bad line is line 2.
fn filler(mode: Mode) -> String {
    let line = claim_line("FILLER");
    match mode {
        Mode::Record => line,
        Mode::Backfill => with_fields(
            &line,
            &[("recorded_at", FILLER_AT), ("occurred_at", FILLER_AT)],
        ),
    }
}

/// Runs one case on a ledger that holds its setup; returns what went
/// wrong, if anything. A rejection changes nothing, so the cases that share
/// a setup share a ledger, which also checks that a rejection leaves the
/// ledger fit for the next append. With `before`, the export is compared
/// after the case; without, only once for the whole group (see [`check_group`]).
fn check(ledger: &Ledger, before: Option<&Snapshot>, case: &Case) -> Result<(), String> {
    let file = ledger.file(
        "input.jsonl",
        &format!("{}\n{}\n", filler(case.mode), case.bad),
    );
    let file = file.to_str().unwrap();
    let (record_file, import_stdin): (Vec<&str>, Vec<&str>) = match case.mode {
        Mode::Record => (vec!["record", file], vec!["import", "-"]),
        Mode::Backfill => (
            vec!["import", "--backfill", file],
            vec!["import", "--backfill", "-"],
        ),
    };
    let attempts = [
        (record_file, String::new(), "line 2"),
        (import_stdin, format!("{}\n", case.bad), "line 1"),
    ];
    for (args, input, line) in &attempts {
        let output = ledger.run_stdin(args, input);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(2) {
            return Err(format!("{args:?} should exit 2: {}", describe(&output)));
        }
        if !stderr.contains(line) || !stderr.contains(case.expect) {
            return Err(format!(
                "{args:?}: stderr should name `{line}` and contain `{}`, got: {stderr}",
                case.expect
            ));
        }
    }
    if let Some(before) = before {
        if ledger.snapshot() != *before {
            return Err("the ledger changed after the rejections".to_owned());
        }
    }
    Ok(())
}

/// Export, and count and head hash from `verify --json`.
type Snapshot = (String, common::Head);

/// Runs the cases that share one setup on one ledger, comparing the ledger
/// byte for byte (export, count, head) before and after the whole group;
/// when it changed, runs the group again comparing after every case, to
/// name the case at fault.
fn check_group(cases: &[&Case]) -> Vec<String> {
    let run = |per_case: bool| -> (Vec<String>, bool) {
        let ledger = Ledger::new();
        ledger.backfill(&setup_lines(&cases[0].setup));
        let before = ledger.snapshot();
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|case| {
                check(&ledger, per_case.then_some(&before), case)
                    .err()
                    .map(|e| {
                        format!(
                            "{} ({:?}):\n  bad line: {}\n  {e}",
                            case.name, case.mode, case.bad
                        )
                    })
            })
            .collect();
        (failures, ledger.snapshot() == before)
    };
    let (mut failures, unchanged) = run(false);
    if !unchanged {
        failures.push(format!(
            "the group starting with `{}` changed the ledger; case by case:",
            cases[0].name
        ));
        failures.extend(run(true).0);
    }
    failures
}

fn case(name: &'static str, setup: &[String], bad: String, expect: &'static str) -> Case {
    Case {
        name,
        setup: setup.to_vec(),
        mode: Mode::Record,
        bad,
        expect,
    }
}

fn backfill_case(name: &'static str, bad: String, expect: &'static str) -> Case {
    Case {
        name,
        setup: Vec::new(),
        mode: Mode::Backfill,
        bad,
        expect,
    }
}

/// A claim under `agreement` by `by` against `against`, with extra fields.
fn claim(by: &str, id: &str, agreement: &str, against: &str, extra: &str) -> String {
    format!(
        r#"{{"type":"violation_alleged","by":"{by}","claim":"{id}","agreement":"{agreement}","against":"{against}","incident_at":"2025-01-01T00:00:00Z","category":"shelling","location":{{"name":"Kherson"}},"description":"d"{extra}}}"#
    )
}

/// An agreement proposal with every required field.
fn proposal(by: &str, id: &str, kind: &str, parties: &str, mediators: &str) -> String {
    format!(
        r#"{{"type":"agreement_proposed","by":"{by}","agreement":"{id}","title":"t","kind":"{kind}","parties":{parties},"mediators":{mediators},"scope":["all_hostilities"],"effective_from":"2025-01-01T00:00:00Z"}}"#
    )
}

fn agreement_event(kind: &str, by: &str, agreement: &str, extra: &str) -> String {
    format!(r#"{{"type":"{kind}","by":"{by}","agreement":"{agreement}"{extra}}}"#)
}

fn claim_event(kind: &str, by: &str, claim: &str, extra: &str) -> String {
    format!(r#"{{"type":"{kind}","by":"{by}","claim":"{claim}"{extra}}}"#)
}

fn register(by: &str, party: &str, role: &str) -> String {
    format!(
        r#"{{"type":"party_registered","by":"{by}","party":"{party}","name":"n","role":"{role}"}}"#
    )
}

const EVIDENCE: &str = r#","evidence":[{"sha256":"a3bf2df127b2180df6da2f08087494f52faaf888f26519d28a58437c1ba4d2a5","media_type":"image/jpeg","uri":"https://example.org/a.jpg","description":"photo"}]"#;
const RESPONSE: &str = r#","response":"denied","statement":"s""#;
const ASSESSMENT: &str = r#","finding":"verified","confidence":"high","reasoning":"r""#;

#[allow(clippy::vec_init_then_push)]
fn cases() -> Vec<Case> {
    let none: &[String] = &[];
    let suspended = [agreement_event(
        "agreement_suspended",
        "US",
        "A1",
        r#","reason":"r""#,
    )];
    let terminated = [agreement_event(
        "agreement_terminated",
        "UA",
        "A1",
        r#","reason":"r""#,
    )];
    let signed_ua = [agreement_event("agreement_signed", "UA", "A1", "")];
    let retracted = [claim_event(
        "allegation_retracted",
        "UA",
        "C1",
        r#","reason":"r""#,
    )];
    // A2 binds RU and GE; C3 is RU's claim against GE, C4 UA's second claim against RU.
    let second_front = [
        proposal("RU", "A2", "bilateral", r#"["RU","GE"]"#, "[]"),
        claim("RU", "C3", "A2", "GE", ""),
        claim("UA", "C4", "A1", "RU", ""),
    ];
    let claim_c1 = claim("UA", "C1", "A1", "RU", "");
    let mut v = Vec::new();

    // Unknown party, agreement or claim.
    v.push(case(
        "unknown party as `by`",
        none,
        claim("XX", "C2", "A1", "RU", ""),
        "field `by`",
    ));
    v.push(case(
        "unknown agreement in a claim",
        none,
        claim("UA", "C2", "NOPE", "RU", ""),
        "field `agreement`",
    ));
    v.push(case(
        "unknown agreement signed",
        none,
        agreement_event("agreement_signed", "UA", "NOPE", ""),
        "field `agreement`",
    ));
    v.push(case(
        "unknown claim answered",
        none,
        claim_event("allegation_responded", "RU", "NOPE", RESPONSE),
        "field `claim`",
    ));
    v.push(case(
        "unknown claim assessed",
        none,
        claim_event("allegation_assessed", "MON", "NOPE", ASSESSMENT),
        "field `claim`",
    ));
    v.push(case(
        "unknown party in `parties`",
        none,
        proposal("UA", "A2", "bilateral", r#"["UA","XX"]"#, "[]"),
        "field `parties`",
    ));
    v.push(case(
        "unknown party in `mediators`",
        none,
        proposal("UA", "A2", "bilateral", r#"["UA","RU"]"#, r#"["XX"]"#),
        "field `mediators`",
    ));
    v.push(case(
        "unknown party as `against`",
        none,
        claim("UA", "C2", "A1", "XX", ""),
        "field `against`",
    ));

    // Duplicate ids.
    v.push(case(
        "duplicate party",
        none,
        register("operator", "UA", "belligerent"),
        "field `party`",
    ));
    v.push(case(
        "duplicate agreement",
        none,
        proposal("US", "A1", "bilateral", r#"["UA","RU"]"#, r#"["US"]"#),
        "field `agreement`",
    ));
    v.push(case(
        "duplicate claim",
        none,
        claim_c1.clone(),
        "field `claim`",
    ));
    v.push(case(
        "duplicate claim by the other side",
        none,
        claim("RU", "C1", "A1", "UA", ""),
        "field `claim`",
    ));

    // Who proposes.
    v.push(case(
        "proposer is a mediator not named",
        none,
        proposal("SA", "A2", "bilateral", r#"["UA","RU"]"#, r#"["US"]"#),
        "field `by`",
    ));
    v.push(case(
        "proposer is a monitor",
        none,
        proposal("MON", "A2", "bilateral", r#"["UA","RU"]"#, r#"["US"]"#),
        "field `by`",
    ));
    v.push(case(
        "proposer is a belligerent not bound",
        none,
        proposal("GE", "A2", "bilateral", r#"["UA","RU"]"#, r#"["US"]"#),
        "field `by`",
    ));
    v.push(case(
        "a mediator among `parties`",
        none,
        proposal("UA", "A2", "bilateral", r#"["UA","US"]"#, "[]"),
        "field `parties`",
    ));
    v.push(case(
        "a monitor among `mediators`",
        none,
        proposal("UA", "A2", "bilateral", r#"["UA","RU"]"#, r#"["MON"]"#),
        "field `mediators`",
    ));
    v.push(case(
        "a belligerent among `mediators`",
        none,
        proposal("UA", "A2", "bilateral", r#"["UA","RU"]"#, r#"["GE"]"#),
        "field `mediators`",
    ));
    v.push(case(
        "unilateral with two parties",
        none,
        proposal("UA", "A2", "unilateral", r#"["UA","RU"]"#, "[]"),
        "field `parties`",
    ));
    v.push(case(
        "unilateral proposed by another party",
        none,
        proposal("RU", "A2", "unilateral", r#"["UA"]"#, "[]"),
        "field `by`",
    ));
    v.push(case(
        "unilateral proposed by a named mediator",
        none,
        proposal("US", "A2", "unilateral", r#"["UA"]"#, r#"["US"]"#),
        "field `by`",
    ));

    // Who registers and who signs.
    v.push(case(
        "a party registers a party",
        none,
        register("UA", "PL", "belligerent"),
        "field `by`",
    ));
    v.push(case(
        "a mediator registers a party",
        none,
        register("US", "PL", "mediator"),
        "field `by`",
    ));
    v.push(case(
        "a mediator signs",
        none,
        agreement_event("agreement_signed", "US", "A1", ""),
        "field `by`",
    ));
    v.push(case(
        "a party not bound signs",
        none,
        agreement_event("agreement_signed", "GE", "A1", ""),
        "field `by`",
    ));
    v.push(case(
        "a party signs twice",
        &signed_ua,
        agreement_event("agreement_signed", "UA", "A1", ""),
        "field `by`",
    ));
    v.push(case(
        "the operator makes a party's statement",
        none,
        agreement_event("agreement_signed", "operator", "A1", ""),
        "field `by`",
    ));

    // Who answers, assesses, adds evidence and retracts.
    v.push(case(
        "the claimant responds",
        none,
        claim_event("allegation_responded", "UA", "C1", RESPONSE),
        "field `by`",
    ));
    v.push(case(
        "a mediator responds",
        none,
        claim_event("allegation_responded", "US", "C1", RESPONSE),
        "field `by`",
    ));
    v.push(case(
        "a mediator assesses",
        none,
        claim_event("allegation_assessed", "US", "C1", ASSESSMENT),
        "field `by`",
    ));
    v.push(case(
        "a belligerent assesses",
        none,
        claim_event("allegation_assessed", "RU", "C1", ASSESSMENT),
        "field `by`",
    ));
    v.push(case(
        "the accused adds evidence",
        none,
        claim_event("evidence_added", "RU", "C1", EVIDENCE),
        "field `by`",
    ));
    v.push(case(
        "the accused retracts",
        none,
        claim_event("allegation_retracted", "RU", "C1", r#","reason":"r""#),
        "field `by`",
    ));
    v.push(case(
        "a monitor retracts",
        none,
        claim_event("allegation_retracted", "MON", "C1", r#","reason":"r""#),
        "field `by`",
    ));

    // `against` must be bound by the agreement.
    v.push(case(
        "against a belligerent not bound",
        none,
        claim("UA", "C2", "A1", "GE", ""),
        "field `against`",
    ));
    v.push(case(
        "against a mediator",
        none,
        claim("UA", "C2", "A1", "US", ""),
        "field `against`",
    ));
    v.push(case(
        "against oneself",
        none,
        claim("UA", "C2", "A1", "UA", ""),
        "field `against`",
    ));

    // After a retraction only an assessment.
    v.push(case(
        "evidence after retraction",
        &retracted,
        claim_event("evidence_added", "UA", "C1", EVIDENCE),
        "field `claim`",
    ));
    v.push(case(
        "response after retraction",
        &retracted,
        claim_event("allegation_responded", "RU", "C1", RESPONSE),
        "field `claim`",
    ));
    v.push(case(
        "retraction after retraction",
        &retracted,
        claim_event("allegation_retracted", "UA", "C1", r#","reason":"again""#),
        "field `claim`",
    ));

    // Timestamps.
    v.push(case(
        "malformed occurred_at",
        none,
        claim("UA", "C2", "A1", "RU", r#","occurred_at":"yesterday""#),
        "field `occurred_at`",
    ));
    v.push(case(
        "malformed incident_at",
        none,
        claim("UA", "C2", "A1", "RU", "").replace("2025-01-01T00:00:00Z", "2025-13-01T00:00:00Z"),
        "field `incident_at`",
    ));
    v.push(case(
        "timestamp without a zone",
        none,
        claim(
            "UA",
            "C2",
            "A1",
            "RU",
            r#","occurred_at":"2025-01-01T00:00:00""#,
        ),
        "field `occurred_at`",
    ));
    v.push(case(
        "malformed effective_from",
        none,
        proposal("UA", "A2", "bilateral", r#"["UA","RU"]"#, "[]")
            .replace("2025-01-01T00:00:00Z", "1 January"),
        "field `effective_from`",
    ));
    v.push(case(
        "future occurred_at",
        none,
        claim(
            "UA",
            "C2",
            "A1",
            "RU",
            &format!(r#","occurred_at":"{FUTURE}""#),
        ),
        "field `occurred_at`",
    ));
    v.push(case(
        "future incident_at",
        none,
        claim("UA", "C2", "A1", "RU", "").replace("2025-01-01T00:00:00Z", FUTURE),
        "field `incident_at`",
    ));
    v.push(backfill_case(
        "occurred_at after recorded_at",
        with_fields(
            &claim("UA", "C2", "A1", "RU", ""),
            &[
                ("recorded_at", "2025-01-03T00:00:00Z"),
                ("occurred_at", "2025-01-04T00:00:00Z"),
            ],
        ),
        "field `occurred_at`",
    ));

    // Unknown type and enum values.
    v.push(case(
        "unknown type",
        none,
        r#"{"type":"ceasefire_celebrated","by":"UA","agreement":"A1"}"#.to_owned(),
        "field `type`",
    ));
    v.push(case(
        "unknown role",
        none,
        register("operator", "PL", "observer"),
        "field `role`",
    ));
    v.push(case(
        "unknown kind",
        none,
        proposal("UA", "A2", "trilateral", r#"["UA","RU"]"#, "[]"),
        "field `kind`",
    ));
    v.push(case(
        "unknown scope",
        none,
        proposal("UA", "A2", "bilateral", r#"["UA","RU"]"#, "[]")
            .replace("all_hostilities", "airspace"),
        "field `scope",
    ));
    v.push(case(
        "unknown category",
        none,
        claim("UA", "C2", "A1", "RU", "").replace("shelling", "cyber_attack"),
        "field `category`",
    ));
    v.push(case(
        "unknown incident_precision",
        none,
        claim("UA", "C2", "A1", "RU", r#","incident_precision":"minute""#),
        "field `incident_precision`",
    ));
    v.push(case(
        "unknown response",
        none,
        claim_event(
            "allegation_responded",
            "RU",
            "C1",
            r#","response":"ignored","statement":"s""#,
        ),
        "field `response`",
    ));
    v.push(case(
        "unknown finding",
        none,
        claim_event(
            "allegation_assessed",
            "MON",
            "C1",
            r#","finding":"probable","confidence":"high","reasoning":"r""#,
        ),
        "field `finding`",
    ));
    v.push(case(
        "unknown confidence",
        none,
        claim_event(
            "allegation_assessed",
            "MON",
            "C1",
            r#","finding":"verified","confidence":"total","reasoning":"r""#,
        ),
        "field `confidence`",
    ));

    // Missing required fields.
    v.push(case(
        "missing `against`",
        none,
        claim("UA", "C2", "A1", "RU", "").replace(r#""against":"RU","#, ""),
        "field `against`",
    ));
    v.push(case(
        "missing `incident_at`",
        none,
        claim("UA", "C2", "A1", "RU", "").replace(r#""incident_at":"2025-01-01T00:00:00Z","#, ""),
        "field `incident_at`",
    ));
    v.push(case(
        "missing `location`",
        none,
        claim("UA", "C2", "A1", "RU", "").replace(r#""location":{"name":"Kherson"},"#, ""),
        "field `location`",
    ));
    v.push(case(
        "missing `location.name`",
        none,
        claim("UA", "C2", "A1", "RU", "")
            .replace(r#"{"name":"Kherson"}"#, r#"{"lat":46.6,"lon":32.6}"#),
        "name",
    ));
    v.push(case(
        "missing `by`",
        none,
        claim("UA", "C2", "A1", "RU", "").replace(r#""by":"UA","#, ""),
        "field `by`",
    ));
    v.push(case(
        "missing `type`",
        none,
        r#"{"by":"UA","agreement":"A1"}"#.to_owned(),
        "field `type`",
    ));
    v.push(case(
        "missing `name`",
        none,
        r#"{"type":"party_registered","by":"operator","party":"PL","role":"mediator"}"#.to_owned(),
        "field `name`",
    ));
    v.push(case(
        "missing `effective_from`",
        none,
        proposal("UA", "A2", "bilateral", r#"["UA","RU"]"#, "[]")
            .replace(r#","effective_from":"2025-01-01T00:00:00Z""#, ""),
        "field `effective_from`",
    ));
    v.push(case(
        "missing `statement`",
        none,
        claim_event(
            "allegation_responded",
            "RU",
            "C1",
            r#","response":"denied""#,
        ),
        "field `statement`",
    ));
    v.push(case(
        "missing `reasoning`",
        none,
        claim_event(
            "allegation_assessed",
            "MON",
            "C1",
            r#","finding":"verified","confidence":"high""#,
        ),
        "field `reasoning`",
    ));
    v.push(case(
        "missing `reason` to suspend",
        none,
        agreement_event("agreement_suspended", "US", "A1", ""),
        "field `reason`",
    ));

    // Unknown fields.
    v.push(case(
        "unknown top-level field",
        none,
        claim("UA", "C2", "A1", "RU", r#","colour":"red""#),
        "colour",
    ));
    v.push(case(
        "unknown field in `location`",
        none,
        claim("UA", "C2", "A1", "RU", "").replace(
            r#"{"name":"Kherson"}"#,
            r#"{"name":"Kherson","altitude":12}"#,
        ),
        "altitude",
    ));
    v.push(case(
        "field of another type",
        none,
        agreement_event("agreement_signed", "UA", "A1", r#","reason":"r""#),
        "reason",
    ));

    // Suspend, resume, amend, terminate.
    v.push(case(
        "a monitor suspends",
        none,
        agreement_event("agreement_suspended", "MON", "A1", r#","reason":"r""#),
        "field `by`",
    ));
    v.push(case(
        "a mediator not named suspends",
        none,
        agreement_event("agreement_suspended", "SA", "A1", r#","reason":"r""#),
        "field `by`",
    ));
    v.push(case(
        "a belligerent not bound suspends",
        none,
        agreement_event("agreement_suspended", "GE", "A1", r#","reason":"r""#),
        "field `by`",
    ));
    v.push(case(
        "a monitor resumes",
        &suspended,
        agreement_event("agreement_resumed", "MON", "A1", ""),
        "field `by`",
    ));
    v.push(case(
        "a mediator not named amends",
        none,
        agreement_event("agreement_amended", "SA", "A1", r#","terms":"t2""#),
        "field `by`",
    ));
    v.push(case(
        "a belligerent not bound terminates",
        none,
        agreement_event("agreement_terminated", "GE", "A1", r#","reason":"r""#),
        "field `by`",
    ));
    v.push(case(
        "a monitor terminates",
        none,
        agreement_event("agreement_terminated", "MON", "A1", r#","reason":"r""#),
        "field `by`",
    ));
    v.push(case(
        "a mediator contests the terms",
        none,
        agreement_event(
            "agreement_terms_contested",
            "US",
            "A1",
            r#","statement":"s""#,
        ),
        "field `by`",
    ));
    v.push(case(
        "resume when not suspended",
        none,
        agreement_event("agreement_resumed", "UA", "A1", ""),
        "field `agreement`",
    ));
    v.push(case(
        "suspend when suspended",
        &suspended,
        agreement_event("agreement_suspended", "UA", "A1", r#","reason":"again""#),
        "field `agreement`",
    ));
    v.push(case(
        "sign after termination",
        &terminated,
        agreement_event("agreement_signed", "RU", "A1", ""),
        "field `agreement`",
    ));
    v.push(case(
        "suspend after termination",
        &terminated,
        agreement_event("agreement_suspended", "US", "A1", r#","reason":"r""#),
        "field `agreement`",
    ));
    v.push(case(
        "resume after termination",
        &[
            suspended[0].clone(),
            agreement_event("agreement_terminated", "US", "A1", r#","reason":"r""#),
        ],
        agreement_event("agreement_resumed", "US", "A1", ""),
        "field `agreement`",
    ));
    v.push(case(
        "amend after termination",
        &terminated,
        agreement_event("agreement_amended", "US", "A1", r#","terms":"t2""#),
        "field `agreement`",
    ));
    v.push(case(
        "terminate after termination",
        &terminated,
        agreement_event("agreement_terminated", "RU", "A1", r#","reason":"r""#),
        "field `agreement`",
    ));

    // counter_claim.
    v.push(case(
        "counter_claim unknown",
        none,
        claim_event(
            "allegation_responded",
            "RU",
            "C1",
            r#","response":"denied","statement":"s","counter_claim":"NOPE""#,
        ),
        "field `counter_claim`",
    ));
    v.push(case(
        "counter_claim filed by the claimant",
        &second_front,
        claim_event(
            "allegation_responded",
            "RU",
            "C1",
            r#","response":"denied","statement":"s","counter_claim":"C4""#,
        ),
        "field `counter_claim`",
    ));
    v.push(case(
        "counter_claim against a third party",
        &second_front,
        claim_event(
            "allegation_responded",
            "RU",
            "C1",
            r#","response":"denied","statement":"s","counter_claim":"C3""#,
        ),
        "field `counter_claim`",
    ));

    // Optimistic concurrency on the stream.
    v.push(case(
        "expected_version behind the stream",
        none,
        agreement_event("agreement_signed", "UA", "A1", r#","expected_version":0"#),
        "expected_version",
    ));
    v.push(case(
        "expected_version ahead of the stream",
        none,
        agreement_event("agreement_signed", "UA", "A1", r#","expected_version":7"#),
        "expected_version",
    ));

    // What only backfill may carry.
    v.push(case(
        "recorded_at without --backfill",
        none,
        with_fields(
            &claim("UA", "C2", "A1", "RU", ""),
            &[("recorded_at", "2025-01-03T00:00:00Z")],
        ),
        "recorded_at",
    ));
    v.push(case(
        "hash without --backfill",
        none,
        with_fields(
            &claim("UA", "C2", "A1", "RU", ""),
            &[("hash", &"ab".repeat(32))],
        ),
        "hash",
    ));
    v.push(backfill_case(
        "backfilled recorded_at decreasing",
        with_fields(
            &claim("UA", "C2", "A1", "RU", "").replace("2025-01-01", "2024-12-01"),
            &[
                ("recorded_at", "2024-12-31T00:00:00Z"),
                ("occurred_at", "2024-12-30T00:00:00Z"),
            ],
        ),
        "field `recorded_at`",
    ));
    v.push(backfill_case(
        "backfilled recorded_at in the future",
        with_fields(
            &claim("UA", "C2", "A1", "RU", ""),
            &[
                ("recorded_at", FUTURE),
                ("occurred_at", "2025-01-03T00:00:00Z"),
            ],
        ),
        "field `recorded_at`",
    ));
    v.push(backfill_case(
        "backfilled recorded_at malformed",
        with_fields(
            &claim("UA", "C2", "A1", "RU", ""),
            &[
                ("recorded_at", "2025-01-03"),
                ("occurred_at", "2025-01-03T00:00:00Z"),
            ],
        ),
        "field `recorded_at`",
    ));
    v.push(backfill_case(
        "backfilled future incident_at",
        with_fields(
            &claim("UA", "C2", "A1", "RU", "").replace("2025-01-01T00:00:00Z", FUTURE),
            &[
                ("recorded_at", "2025-01-03T00:00:00Z"),
                ("occurred_at", "2025-01-03T00:00:00Z"),
            ],
        ),
        "field `incident_at`",
    ));
    v.push(backfill_case(
        "backfilled rule still applies",
        with_fields(
            &claim("UA", "C2", "A1", "GE", ""),
            &[
                ("recorded_at", "2025-01-03T00:00:00Z"),
                ("occurred_at", "2025-01-03T00:00:00Z"),
            ],
        ),
        "field `against`",
    ));

    // Not JSON at all.
    v.push(case(
        "not JSON",
        none,
        r#"{"type":"agreement_signed","by":"UA""#.to_owned(),
        "line",
    ));
    v.push(case(
        "JSON but not an object",
        none,
        r#"["agreement_signed"]"#.to_owned(),
        "line",
    ));
    v
}

#[test]
fn every_rule_rejects_and_leaves_the_ledger_unchanged() {
    let cases = cases();
    let mut groups: Vec<Vec<&Case>> = Vec::new();
    for case in &cases {
        match groups
            .iter_mut()
            .find(|g| g[0].setup == case.setup && g[0].mode == case.mode)
        {
            Some(group) => group.push(case),
            None => groups.push(vec![case]),
        }
    }
    // Split the big groups so that two workers share the work evenly.
    let groups: Vec<Vec<&Case>> = groups
        .into_iter()
        .flat_map(|g| g.chunks(12).map(<[&Case]>::to_vec).collect::<Vec<_>>())
        .collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|worker| {
                let groups = &groups;
                scope.spawn(move || {
                    groups
                        .iter()
                        .skip(worker)
                        .step_by(2)
                        .flat_map(|group| check_group(group))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} rules failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// The positive side of some rules above, so that a case does not pass only
/// because its setup was wrong.
#[test]
fn lines_next_to_the_rules_are_accepted() {
    let ledger = Ledger::new();
    ledger.backfill(&setup_lines(&[]));
    ledger.record(
        &[
            // A claim and its answer after termination are still accepted.
            agreement_event("agreement_signed", "UA", "A1", ""),
            agreement_event("agreement_suspended", "RU", "A1", r#","reason":"r""#),
            agreement_event("agreement_resumed", "US", "A1", ""),
            agreement_event("agreement_amended", "UA", "A1", r#","terms":"t2""#),
            agreement_event(
                "agreement_terms_contested",
                "RU",
                "A1",
                r#","statement":"s""#,
            ),
            claim_event("evidence_added", "UA", "C1", EVIDENCE),
            claim("RU", "C2", "A1", "UA", ""),
            claim_event(
                "allegation_responded",
                "RU",
                "C1",
                r#","response":"denied","statement":"s","counter_claim":"C2""#,
            ),
            agreement_event("agreement_terminated", "US", "A1", r#","reason":"r""#),
            claim("UA", "C5", "A1", "RU", ""),
            claim_event("allegation_responded", "UA", "C2", RESPONSE),
            claim_event("allegation_retracted", "UA", "C5", r#","reason":"r""#),
            // Only an assessment after a retraction, and that one is accepted.
            claim_event("allegation_assessed", "MON", "C5", ASSESSMENT),
            // Rules judge in log order: an agreement proposed earlier in the batch.
            proposal("UA", "U1", "unilateral", r#"["UA"]"#, "[]"),
            claim("RU", "C6", "U1", "UA", ""),
            claim_event("allegation_responded", "UA", "C6", RESPONSE),
            agreement_event(
                "agreement_terms_contested",
                "UA",
                "U1",
                r#","statement":"s""#,
            ),
        ]
        .join("\n"),
    );
    ledger.verify();
}

#[test]
fn a_rejection_mid_batch_leaves_nothing_of_the_batch() {
    let ledger = Ledger::new();
    ledger.record(WORLD);
    let before = ledger.snapshot();
    let batch = [
        claim_line("B1"),
        claim_line("B2"),
        claim("UA", "B3", "A1", "GE", ""),
        claim_line("B4"),
    ]
    .join("\n");
    for args in [&["record", "-"][..], &["import", "-"][..]] {
        let stderr = ledger.fails_stdin(args, &batch);
        assert!(stderr.contains("line 3"), "{stderr}");
        assert!(stderr.contains("field `against`"), "{stderr}");
        assert_eq!(ledger.snapshot(), before, "{args:?} left part of the batch");
    }
    // Blank lines still count in the line numbers.
    let spaced = format!(
        "{}\n\n{}\n",
        claim_line("B1"),
        claim("UA", "B3", "A1", "GE", "")
    );
    let stderr = ledger.fails_stdin(&["record", "-"], &spaced);
    assert!(stderr.contains("line 3"), "{stderr}");
    assert_eq!(ledger.snapshot(), before);
}

/// A copy line (`hash` present) must reproduce its hash exactly, or the
/// import fails naming the line and keeps nothing.
#[test]
fn a_copy_line_with_a_wrong_hash_fails_naming_the_line() {
    let source = Ledger::new();
    source.backfill(&spring_2025());
    let exported = source.export();
    let mut lines: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Line 9: a statement changed, its hash left as it was.
    let original = lines[8]["source"].as_str().unwrap().to_owned();
    lines[8]["source"] = Value::String(format!("{original} (edited)"));
    let tampered: String = lines.iter().map(|l| format!("{l}\n")).collect();

    let copy = Ledger::with_operator_key(&source.operator_key());
    let before = copy.snapshot();
    let stderr = copy.fails_stdin(&["import", "--backfill", "-"], &tampered);
    assert!(stderr.contains("line 9"), "{stderr}");
    assert_eq!(copy.snapshot(), before, "nothing of the import is kept");

    // The same without `leaf` and `payload`: only the hash can tell.
    let bare: String = lines
        .iter()
        .map(|l| {
            let mut l = l.clone();
            let object = l.as_object_mut().unwrap();
            object.remove("leaf");
            object.remove("payload");
            format!("{l}\n")
        })
        .collect();
    let stderr = copy.fails_stdin(&["import", "--backfill", "-"], &bare);
    assert!(stderr.contains("line 9"), "{stderr}");
    assert!(stderr.contains("field `hash`"), "{stderr}");
    assert_eq!(copy.snapshot(), before, "nothing of the import is kept");

    // Only the hash changed: also caught.
    let mut lines: Vec<Value> = exported
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines[3]["hash"] = Value::String("00".repeat(32));
    let tampered: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let stderr = copy.fails_stdin(&["import", "--backfill", "-"], &tampered);
    assert!(stderr.contains("line 4"), "{stderr}");
    assert_eq!(copy.snapshot(), before);

    // A copy line whose seq is not the next one.
    let skipped: String = exported
        .lines()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let stderr = copy.fails_stdin(&["import", "--backfill", "-"], &skipped);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert_eq!(copy.snapshot(), before);
}
