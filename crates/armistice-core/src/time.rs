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

    /// Parses RFC 3339 (`2025-03-18T17:00:00Z`, any offset).
    ///
    /// ```
    /// use armistice_core::Timestamp;
    /// let t = Timestamp::parse_rfc3339("2025-03-18T20:00:00+03:00").unwrap();
    /// assert_eq!(t.to_string(), "2025-03-18T17:00:00Z");
    /// ```
    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text)
            .map(|at| Timestamp::from_datetime(at.with_timezone(&Utc)))
            .map_err(|e| format!("`{text}` is not an RFC 3339 timestamp ({e})"))
    }

    /// Parses RFC 3339 or a plain date `YYYY-MM-DD` (midnight UTC): the form
    /// accepted on the command line.
    pub fn parse_date_or_rfc3339(text: &str) -> Result<Self, String> {
        if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            let midnight = date.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
            return midnight
                .map(Timestamp::from_datetime)
                .ok_or_else(|| format!("`{text}` is out of range"));
        }
        Self::parse_rfc3339(text)
            .map_err(|_| format!("`{text}` is neither an RFC 3339 timestamp nor a YYYY-MM-DD date"))
    }

    /// The date part, `YYYY-MM-DD`, in UTC.
    pub fn date(self) -> String {
        match self.to_datetime() {
            Some(at) => at.format("%Y-%m-%d").to_string(),
            None => self.to_string(),
        }
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
