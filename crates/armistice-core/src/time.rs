//! Timestamps: microseconds since the Unix epoch, shown as RFC 3339 in UTC.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A point in time, in microseconds since 1970-01-01T00:00:00Z.
///
/// Stored as an integer (bincode decodes it twice as fast as a string);
/// human-readable formats (JSON) see an RFC 3339 string such as
/// `2025-03-18T17:00:00Z`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The earliest representable time; useful as an open lower bound.
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The latest representable time; useful as an open upper bound.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// Microseconds since the epoch.
    pub fn micros(self) -> i64 {
        self.0
    }

    /// Converts from chrono, truncating below the microsecond.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Timestamp(at.timestamp_micros())
    }

    /// Converts to chrono; `None` outside chrono's range.
    pub fn to_datetime(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_micros(self.0)
    }

    /// The earliest time the ledger accepts: 0000-01-01T00:00:00Z.
    pub const FIRST: Timestamp = Timestamp(-62_167_219_200_000_000);
    /// The latest time the ledger accepts: 9999-12-31T23:59:59.999999Z.
    pub const LAST: Timestamp = Timestamp(253_402_300_799_999_999);

    /// Parses RFC 3339 strictly, in the one form the ledger prints back:
    /// `YYYY-MM-DDThh:mm:ss[.ffffff](Z|±hh:mm)`, with an upper-case `T` and
    /// `Z`, at most six fraction digits (the ledger keeps microseconds; more
    /// would be silently dropped), no leap second `:60`, no `-00:00`
    /// (RFC 3339's "offset unknown"), and a UTC year from 0000 to 9999 (so
    /// that the time prints as RFC 3339 and re-imports).
    ///
    /// ```
    /// use armistice_core::Timestamp;
    /// let t = Timestamp::parse_rfc3339("2025-03-18T20:00:00+03:00").unwrap();
    /// assert_eq!(t.to_string(), "2025-03-18T17:00:00Z");
    /// assert!(Timestamp::parse_rfc3339("9999-12-31T23:59:59-05:00").is_err());
    /// assert!(Timestamp::parse_rfc3339("2025-03-18 17:00:00Z").is_err());
    /// ```
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("`{text}` is not an RFC 3339 timestamp: {why}");
        check_rfc3339_shape(text).map_err(|why| bad(&why))?;
        let parsed = DateTime::parse_from_rfc3339(text).map_err(|e| bad(&e.to_string()))?;
        let at = Timestamp::from_datetime(parsed.with_timezone(&Utc));
        if at < Timestamp::FIRST || at > Timestamp::LAST {
            return Err(format!(
                "`{text}` is {at} in UTC, outside the years 0000 to 9999 that the ledger accepts"
            ));
        }
        Ok(at)
    }

    /// Parses RFC 3339 or a plain date `YYYY-MM-DD` (midnight UTC): the form
    /// accepted on the command line.
    pub fn parse_date_or_rfc3339(text: &str) -> Result<Self, String> {
        let plain_date = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| {
                matches!((i, b), (4 | 7, b'-') | (0..=3 | 5 | 6 | 8 | 9, b'0'..=b'9'))
            });
        if plain_date {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| format!("`{text}` is not a calendar date"))?;
            let midnight = date.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
            return midnight
                .map(Timestamp::from_datetime)
                .ok_or_else(|| format!("`{text}` is out of range"));
        }
        Self::parse_rfc3339(text).map_err(|e| {
            format!("{e} (on the command line a plain YYYY-MM-DD date is accepted too)")
        })
    }

    /// The date part, `YYYY-MM-DD`, in UTC.
    pub fn date(self) -> String {
        match self.to_datetime() {
            Some(at) => at.format("%Y-%m-%d").to_string(),
            None => self.to_string(),
        }
    }
}

/// Checks the characters of a strict RFC 3339 timestamp (calendar validity
/// is chrono's to check); the error says what is wrong.
fn check_rfc3339_shape(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| bytes.get(i) == Some(&c);
    if !(digits(0..4) && at(4, b'-') && digits(5..7) && at(7, b'-') && digits(8..10)) {
        return Err("expected YYYY-MM-DD first".into());
    }
    if !at(10, b'T') {
        return Err("the date and time must be separated by an upper-case `T`".into());
    }
    if !(digits(11..13) && at(13, b':') && digits(14..16) && at(16, b':') && digits(17..19)) {
        return Err("expected hh:mm:ss after the `T`".into());
    }
    if &bytes[17..19] == b"60" {
        return Err("a leap second (`:60`) is not accepted".into());
    }
    let mut i = 19;
    if at(i, b'.') {
        let start = i + 1;
        i = start;
        while bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        match i - start {
            0 => return Err("a `.` must be followed by fraction digits".into()),
            1..=6 => {}
            n => {
                return Err(format!(
                    "{n} fraction digits; the ledger keeps microseconds, so at most 6"
                ))
            }
        }
    }
    match &bytes[i..] {
        b"Z" => Ok(()),
        [b'+' | b'-', h1, h2, b':', m1, m2]
            if [h1, h2, m1, m2].iter().all(|b| b.is_ascii_digit()) =>
        {
            if &bytes[i..] == b"-00:00" {
                Err("the offset -00:00 means \"offset unknown\"; give Z or the real offset".into())
            } else {
                Ok(())
            }
        }
        [] => Err("the offset is missing: end with `Z` or `±hh:mm`".into()),
        _ => Err("the offset must be an upper-case `Z` or `±hh:mm`".into()),
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_datetime() {
            Some(at) => f.write_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None => write!(f, "@{}us", self.0),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            Timestamp::parse_rfc3339(&text).map_err(de::Error::custom)
        } else {
            i64::deserialize(deserializer).map(Timestamp)
        }
    }
}

#[cfg(test)]
#[path = "tests/time.rs"]
mod tests;
