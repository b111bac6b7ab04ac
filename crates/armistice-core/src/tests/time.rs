//! Unit tests of `time`.
use super::*;

#[test]
fn parses_dates_and_rfc3339() {
    let day = Timestamp::parse_date_or_rfc3339("2025-03-18").unwrap();
    assert_eq!(day.to_string(), "2025-03-18T00:00:00Z");
    let exact = Timestamp::parse_date_or_rfc3339("2025-03-18T12:30:00.25Z").unwrap();
    assert_eq!(exact.micros() - day.micros(), 45_000_250_000);
    assert_eq!(exact.to_string(), "2025-03-18T12:30:00.250Z");
    assert!(Timestamp::parse_date_or_rfc3339("18/03/2025").is_err());
    assert!(Timestamp::parse_rfc3339("2025-03-18T12:30:00").is_err());
}

#[test]
fn json_is_text_and_bincode_is_an_integer() {
    let t = Timestamp::parse_rfc3339("2025-04-19T15:00:00Z").unwrap();
    assert_eq!(
        serde_json::to_string(&t).unwrap(),
        "\"2025-04-19T15:00:00Z\""
    );
    let bytes = bincode::serde::encode_to_vec(t, bincode::config::standard()).unwrap();
    assert!(bytes.len() <= 9);
    let (back, _): (Timestamp, usize) =
        bincode::serde::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
    assert_eq!(back, t);
}
