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

#[test]
fn every_accepted_timestamp_prints_as_rfc3339_and_round_trips() {
    for text in [
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59.999999Z",
        "2025-03-18T20:00:00.5+03:00",
        "2025-03-18T17:00:00-05:30",
    ] {
        let t = Timestamp::parse_rfc3339(text).unwrap();
        assert_eq!(
            Timestamp::parse_rfc3339(&t.to_string()).unwrap(),
            t,
            "{text}"
        );
    }
}

#[test]
fn timestamps_that_mean_two_things_or_nothing_are_refused() {
    for (text, why) in [
        ("9999-12-31T23:59:59-05:00", "outside the years"),
        ("0000-01-01T00:00:00+01:00", "outside the years"),
        ("2025-03-18 17:00:00Z", "upper-case `T`"),
        ("2025-03-18t17:00:00Z", "upper-case `T`"),
        ("2025-03-18T17:00:00z", "upper-case `Z`"),
        ("2025-03-18T17:00:00.1234567Z", "at most 6"),
        ("2025-03-18T23:59:60Z", "leap second"),
        ("2025-03-18T17:00:00-00:00", "offset unknown"),
        ("2025-03-18T17:00:00", "offset is missing"),
        ("2025-02-30T17:00:00Z", "not an RFC 3339"),
        ("+2025-03-18T17:00:00Z", "YYYY-MM-DD"),
        ("2025-03-18T17:00Z", "hh:mm:ss"),
    ] {
        let err = Timestamp::parse_rfc3339(text).unwrap_err();
        assert!(err.contains(why), "{text}: {err}");
    }
    assert!(Timestamp::parse_date_or_rfc3339("2025-3-18").is_err());
    assert!(Timestamp::parse_date_or_rfc3339("2025-02-30").is_err());
}
