//! Unit tests of `rules`.
use super::*;
use crate::json::parse_line;

const SETUP: &[&str] = &[
    r#"{"type":"party_registered","by":"operator","party":"UA","name":"Ukraine","role":"belligerent"}"#,
    r#"{"type":"party_registered","by":"operator","party":"RU","name":"Russia","role":"belligerent"}"#,
    r#"{"type":"party_registered","by":"operator","party":"US","name":"USA","role":"mediator"}"#,
    r#"{"type":"party_registered","by":"operator","party":"MON","name":"Monitor","role":"monitor"}"#,
    r#"{"type":"agreement_proposed","by":"US","agreement":"e","title":"Energy","kind":"bilateral","parties":["RU","UA"],"mediators":["US"],"scope":["energy_infrastructure"],"effective_from":"2025-03-18T00:00:00Z"}"#,
    r#"{"type":"violation_alleged","by":"UA","claim":"c1","agreement":"e","against":"RU","incident_at":"2025-03-19T00:00:00Z","category":"shelling","location":{"name":"K"},"description":"d","occurred_at":"2025-03-20T00:00:00Z"}"#,
];

fn statement(line: &str) -> Statement {
    let mut statement = parse_line(line, uuid::Uuid::nil()).unwrap().statement;
    if !line.contains("occurred_at") {
        statement.occurred_at = Timestamp::parse_rfc3339("2025-04-01T00:00:00Z").unwrap();
    }
    statement
}

/// Given SETUP and `given`, when `line` is checked, then it passes or
/// fails with a message containing `expect`.
fn check(given: &[&str], line: &str, expect: Option<&str>) {
    let mut state = RuleState::default();
    let clock = Clock {
        now: Timestamp::parse_rfc3339("2025-06-01T00:00:00Z").unwrap(),
        recorded_at: Timestamp::parse_rfc3339("2025-06-01T00:00:00Z").unwrap(),
    };
    for setup in SETUP.iter().chain(given) {
        let s = statement(setup);
        for stream in referenced_streams(&s) {
            state.mark_loaded(stream);
        }
        state
            .check(
                &s,
                Signature::Given {
                    signature: None,
                    schema: 2,
                    payload: &[],
                },
                clock,
            )
            .unwrap_or_else(|e| panic!("setup {setup}: {e}"));
        state.apply(&s);
    }
    let s = statement(line);
    for stream in referenced_streams(&s) {
        state.mark_loaded(stream);
    }
    match (
        state.check(
            &s,
            Signature::Given {
                signature: None,
                schema: 2,
                payload: &[],
            },
            clock,
        ),
        expect,
    ) {
        (Ok(()), None) => {}
        (Err(e), Some(expect)) => assert!(e.to_string().contains(expect), "{line}: {e}"),
        (outcome, _) => panic!("{line}: expected {expect:?}, got {outcome:?}"),
    }
}

const RESPOND: &str = r#"{"type":"allegation_responded","by":"RU","claim":"c1","response":"denied","statement":"no"}"#;

#[test]
fn rules_accept_and_reject_as_the_issue_says() {
    let cases: &[(&[&str], &str, Option<&str>)] = &[
        (&[], RESPOND, None),
        (
            &[],
            &RESPOND.replace(r#""by":"RU""#, r#""by":"UA""#),
            Some("only the accused (`RU`)"),
        ),
        (
            &[],
            &RESPOND.replace("c1", "c9"),
            Some("unknown claim `c9`"),
        ),
        (
            &[],
            r#"{"type":"agreement_signed","by":"RU","agreement":"e"}"#,
            None,
        ),
        (
            &[r#"{"type":"agreement_signed","by":"RU","agreement":"e"}"#],
            r#"{"type":"agreement_signed","by":"RU","agreement":"e"}"#,
            Some("already signed"),
        ),
        (
            &[],
            r#"{"type":"agreement_signed","by":"US","agreement":"e"}"#,
            Some("not a party bound by `e`"),
        ),
        (
            &[],
            r#"{"type":"party_registered","by":"UA","party":"X","name":"x","role":"monitor"}"#,
            Some("only `operator`"),
        ),
        (
            &[],
            r#"{"type":"party_registered","by":"operator","party":"UA","name":"x","role":"monitor"}"#,
            Some("already registered"),
        ),
        (
            &[],
            r#"{"type":"agreement_resumed","by":"US","agreement":"e"}"#,
            Some("not suspended"),
        ),
        (
            &[r#"{"type":"agreement_terminated","by":"RU","agreement":"e","reason":"withdrawal"}"#],
            r#"{"type":"agreement_suspended","by":"US","agreement":"e","reason":"r"}"#,
            Some("was terminated"),
        ),
        (
            &[r#"{"type":"agreement_terminated","by":"RU","agreement":"e","reason":"withdrawal"}"#],
            RESPOND,
            None,
        ),
        (
            &[],
            r#"{"type":"allegation_assessed","by":"US","claim":"c1","finding":"verified","confidence":"low","reasoning":"r"}"#,
            Some("only a monitor"),
        ),
        (
            &[r#"{"type":"allegation_retracted","by":"UA","claim":"c1","reason":"dup"}"#],
            RESPOND,
            Some("was retracted"),
        ),
        (
            &[r#"{"type":"allegation_retracted","by":"UA","claim":"c1","reason":"dup"}"#],
            r#"{"type":"allegation_assessed","by":"MON","claim":"c1","finding":"refuted","confidence":"low","reasoning":"r"}"#,
            None,
        ),
        (
            &[],
            r#"{"type":"evidence_added","by":"RU","claim":"c1","evidence":[]}"#,
            Some("only the claimant (`UA`)"),
        ),
        (
            &[],
            r#"{"type":"agreement_proposed","by":"RU","agreement":"u","title":"t","kind":"unilateral","parties":["UA"],"scope":["other"],"effective_from":"2025-03-18T00:00:00Z"}"#,
            Some("only `UA` may propose its unilateral"),
        ),
        (
            &[],
            r#"{"type":"agreement_proposed","by":"MON","agreement":"b","title":"t","kind":"bilateral","parties":["UA","RU"],"scope":["other"],"effective_from":"2025-03-18T00:00:00Z"}"#,
            Some("`MON` is neither"),
        ),
        (
            &[],
            r#"{"type":"agreement_proposed","by":"US","agreement":"b","title":"t","kind":"bilateral","parties":["UA","US"],"scope":["other"],"effective_from":"2025-03-18T00:00:00Z"}"#,
            Some("not belligerent"),
        ),
        (
            &[],
            &SETUP[5]
                .replace(r#""claim":"c1""#, r#""claim":"c2""#)
                .replace(r#""against":"RU""#, r#""against":"US""#),
            Some("`US` is not bound by `e`"),
        ),
        (
            &[],
            &SETUP[5]
                .replace(r#""claim":"c1""#, r#""claim":"c2""#)
                .replace("2025-03-19T00:00:00Z", "2025-03-21T00:00:00Z"),
            Some("cannot be made before the incident"),
        ),
        (
            &[],
            &SETUP[5]
                .replace(r#""claim":"c1""#, r#""claim":"c2""#)
                .replace("2025-03-20T00:00:00Z", "2025-07-01T00:00:00Z"),
            Some("lies in the future"),
        ),
        (&[], SETUP[5], Some("claim `c1` already exists")),
        (
            &[],
            &SETUP[5].replace(r#""claim":"c1""#, r#""claim":"c2","count":1000000001"#),
            Some("more than 1000000000 violations"),
        ),
    ];
    for (given, line, expect) in cases {
        check(given, line, *expect);
    }
}

#[test]
fn a_counter_claim_must_be_by_the_responder_against_the_claimant() {
    let counter = r#"{"type":"violation_alleged","by":"RU","claim":"c2","agreement":"e","against":"UA","incident_at":"2025-03-19T00:00:00Z","category":"shelling","location":{"name":"K"},"description":"d","occurred_at":"2025-03-20T00:00:00Z"}"#;
    let with_counter = RESPOND.replace(
        r#""statement":"no""#,
        r#""statement":"no","counter_claim":"c2""#,
    );
    check(&[counter], &with_counter, None);
    check(&[], &with_counter, Some("unknown claim `c2`"));
    let own = RESPOND.replace(
        r#""statement":"no""#,
        r#""statement":"no","counter_claim":"c1""#,
    );
    check(
        &[],
        &own,
        Some("a counter-claim must be by `RU` against `UA`"),
    );
}
