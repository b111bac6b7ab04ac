//! Unit tests of `json`.
use super::*;

fn reject(line: &str) -> String {
    parse_line(line, Uuid::nil()).unwrap_err().to_string()
}

const CLAIM: &str = r#"{"type":"violation_alleged","by":"UA","agreement":"a1","against":"RU","incident_at":"2025-03-19T01:00:00Z","category":"drone_strike","location":{"name":"Sloviansk"},"description":"d"}"#;

#[test]
fn parses_a_claim_with_defaults() {
    let sub = parse_line(CLAIM, Uuid::from_u128(5)).unwrap();
    let Event::ViolationAlleged(claim) = &sub.statement.event else {
        panic!()
    };
    assert_eq!(claim.count, 1);
    assert!(claim.evidence.is_empty());
    assert_eq!(claim.claim.as_str(), Uuid::from_u128(5).to_string());
    assert!(!sub.occurred_at_given);
    assert!(sub.copy.is_empty());
}

#[test]
fn errors_name_the_field() {
    assert_eq!(
        reject(r#"{"by":"UA"}"#),
        "field `type`: required field is missing"
    );
    assert!(reject(r#"{"type":"nope","by":"UA"}"#).contains("unknown event type `nope`"));
    let bad_count = CLAIM.replace(r#""description":"d""#, r#""description":"d","count":"x""#);
    assert!(
        reject(&bad_count).starts_with("field `count`:"),
        "{}",
        reject(&bad_count)
    );
    let bad_lat = CLAIM.replace(r#"{"name":"Sloviansk"}"#, r#"{"name":"S","lat":"n"}"#);
    assert!(
        reject(&bad_lat).starts_with("field `location.lat`:"),
        "{}",
        reject(&bad_lat)
    );
    let extra = CLAIM.replace(
        r#""description":"d""#,
        r#""description":"d","colour":"red""#,
    );
    assert!(reject(&extra).contains("unknown field `colour`"));
    let no_loc = CLAIM.replace(r#","location":{"name":"Sloviansk"}"#, "");
    assert_eq!(
        reject(&no_loc),
        "field `location`: required field is missing"
    );
    let bad_enum = CLAIM.replace("drone_strike", "drone");
    assert!(reject(&bad_enum).contains("unknown variant `drone`"));
    assert!(reject(&CLAIM.replace("2025-03-19T01:00:00Z", "yesterday"))
        .starts_with("field `incident_at`"));
    assert!(reject("[1]").contains("expected a JSON object"));
    assert!(reject("{").contains("not valid JSON"));
}

#[test]
fn statement_fields_round_trip_through_parse() {
    let line = CLAIM.replace(
        r#""by":"UA""#,
        r#""by":"UA","occurred_at":"2025-03-19T08:00:00Z""#,
    );
    let sub = parse_line(&line, Uuid::from_u128(9)).unwrap();
    let text = Value::Object(statement_fields(&sub.statement)).to_string();
    let again = parse_line(&text, Uuid::from_u128(10)).unwrap();
    assert_eq!(again.statement, sub.statement);
    assert!(again.occurred_at_given);
}
