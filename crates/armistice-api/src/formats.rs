//! The bodies of the read queries in each format they come in, for the
//! command line and the server alike: text, JSON, CSV (RFC 4180) and
//! GeoJSON (RFC 7946). Each function returns the bytes with their media
//! type and a file name to save them under, so `armistice claims --format
//! csv` and `GET /v1/claims?format=csv` answer the same bytes.
//!
//! The CSV columns of `claims` are also the properties of each GeoJSON
//! feature: one struct ([`ClaimColumns`]) is both. `docs/GUIDE.md` lists
//! every column with its meaning and its ACLED equivalent.
//!
//! ```
//! use armistice_api::formats::{claims_body, ClaimsFormat};
//! use armistice_projections::{Parties, View};
//!
//! let body = claims_body(ClaimsFormat::Csv, &[], &Parties::new(), View::EVERYTHING);
//! assert_eq!(body.content_type, "text/csv; charset=utf-8; header=present");
//! assert!(body.bytes.starts_with(b"claim_id,agreement_id,claimant,accused,"));
//! assert_eq!(body.file_name, "armistice-claims.csv");
//! ```

use crate::error::ApiError;
use crate::query::Names;
use armistice_core::event::{AgreementKind, Category, Confidence, Finding, Precision, Response};
use armistice_core::{AgreementId, ClaimId, PartyId, Timestamp};
use armistice_projections::{
    render_claims, render_status, render_story, AgreementStatus, ClaimRow, ClaimState, Parties,
    StatusRow, Story, View,
};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The HTTP header that tells how many claims a GeoJSON answer left out
/// for want of coordinates (the command line says it on standard error).
pub const WITHOUT_COORDINATES_HEADER: &str = "X-Armistice-Without-Coordinates";

/// What separates the items of a list inside one CSV cell (flags, scope).
const LIST_SEPARATOR: &str = ";";

/// A format of an answer, with its media type and file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// The human rendering.
    Text,
    /// JSON, as `--json` prints it.
    Json,
    /// RFC 4180 CSV with a header row, UTF-8, CRLF line ends.
    Csv,
    /// An RFC 7946 FeatureCollection of Points.
    Geojson,
}

impl Format {
    /// The name on the command line and in `?format=`.
    pub const fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Geojson => "geojson",
        }
    }

    /// The media type of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; charset=utf-8",
            Format::Json => "application/json",
            // RFC 4180 registers `header`; the charset says the text is UTF-8.
            Format::Csv => "text/csv; charset=utf-8; header=present",
            Format::Geojson => "application/geo+json",
        }
    }

    /// The file extension of a body in this format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Geojson => "geojson",
        }
    }
}

/// Defines the formats one query comes in: an enum of a subset of
/// [`Format`], parsed from its name with the allowed ones listed on error.
macro_rules! query_formats {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every format of this query, `text` (the default) first.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Their names, as the command line lists them.
            pub const NAMES: &'static [&'static str] = &[$(Format::$variant.name()),+];

            /// The general format.
            pub fn format(self) -> Format {
                match self {
                    $($name::$variant => Format::$variant,)+
                }
            }

            /// The name on the command line and in `?format=`.
            pub fn name(self) -> &'static str {
                self.format().name()
            }

            /// Parses `format` as a caller gave it, naming the parameter.
            pub fn parse(names: Names, text: &str) -> Result<$name, ApiError> {
                text.parse()
                    .map_err(|e| ApiError::Invalid(format!("{}: {e}", names.of("format"))))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::Text
            }
        }

        impl FromStr for $name {
            type Err = String;

            /// Parses a format name; the error lists the allowed ones.
            fn from_str(text: &str) -> Result<Self, String> {
                let found = $name::ALL.iter().find(|f| f.name() == text);
                found.copied().ok_or_else(|| {
                    format!(
                        "unknown format `{text}`; expected one of {}",
                        $name::NAMES.join(", ")
                    )
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

query_formats! {
    /// The formats of `claims`.
    ClaimsFormat {
        /// The aligned table.
        Text,
        /// The rows as JSON.
        Json,
        /// One CSV row per claim.
        Csv,
        /// One Point feature per claim that has coordinates.
        Geojson,
    }
}

query_formats! {
    /// The formats of `status`.
    StatusFormat {
        /// The table and paragraphs.
        Text,
        /// The rows as JSON.
        Json,
        /// One CSV row per agreement and party.
        Csv,
    }
}

query_formats! {
    /// The formats of `timeline`.
    TimelineFormat {
        /// The story as text.
        Text,
        /// The story as JSON.
        Json,
    }
}

/// An answer ready to send or print.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Body {
    /// The bytes (UTF-8 text in every format).
    pub bytes: Vec<u8>,
    /// Their media type, for `Content-Type`.
    pub content_type: &'static str,
    /// A file name to save them under, for `Content-Disposition`.
    pub file_name: String,
    /// GeoJSON only: how many claims were left out for want of coordinates
    /// (for [`WITHOUT_COORDINATES_HEADER`]).
    pub without_coordinates: Option<usize>,
}

impl Body {
    fn new(format: Format, bytes: Vec<u8>, file_stem: &str, view: View) -> Body {
        let stamp = match view.at {
            Timestamp::MAX => String::new(),
            // `20250422T000000Z`: no `:`, which some file systems refuse.
            at => format!("-{}", at.to_string().replace(['-', ':'], "")),
        };
        Body {
            bytes,
            content_type: format.content_type(),
            file_name: format!("{file_stem}{stamp}.{}", format.extension()),
            without_coordinates: None,
        }
    }
}

/// JSON as `--json` prints it: pretty, with a final newline.
fn json_bytes(value: &impl Serialize) -> Vec<u8> {
    // The rows are plain data with string map keys: serializing them to
    // memory cannot fail.
    let mut bytes = serde_json::to_vec_pretty(value).expect("rows serialize to JSON");
    bytes.push(b'\n');
    bytes
}

/// The CSV writer of every table: RFC 4180 (CRLF line ends, fields quoted
/// when they hold a comma, a quote or a line break, quotes doubled), with
/// the header written by the caller so that an empty table still has one.
fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new())
}

/// A table as CSV: the header, then one row per item.
fn csv_bytes<R: Serialize>(header: &[&str], rows: impl IntoIterator<Item = R>) -> Vec<u8> {
    // Writing flat records of strings, numbers and booleans to memory
    // cannot fail (the unit tests write every column type).
    let mut writer = csv_writer();
    writer.write_record(header).expect("CSV header to memory");
    for row in rows {
        writer.serialize(row).expect("CSV row to memory");
    }
    writer.into_inner().expect("CSV flushed to memory")
}

/// The name an enum value has in JSON (`energy_infrastructure`).
fn serde_name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => format!("{other:?}"),
    }
}

fn list<T: Serialize + Copy>(items: &[T]) -> String {
    let names: Vec<String> = items.iter().map(|i| serde_name(*i)).collect();
    names.join(LIST_SEPARATOR)
}

/// `claims`: the body in `format`.
pub fn claims_body(format: ClaimsFormat, rows: &[ClaimRow], parties: &Parties, view: View) -> Body {
    let stem = "armistice-claims";
    match format {
        ClaimsFormat::Text => {
            let text = render_claims(rows, parties, view);
            Body::new(Format::Text, text.into_bytes(), stem, view)
        }
        ClaimsFormat::Json => Body::new(Format::Json, json_bytes(&rows), stem, view),
        ClaimsFormat::Csv => {
            let bytes = csv_bytes(&CLAIM_COLUMNS, rows.iter().map(ClaimColumns::of));
            Body::new(Format::Csv, bytes, stem, view)
        }
        ClaimsFormat::Geojson => {
            let (bytes, without) = claims_geojson(rows);
            let mut body = Body::new(Format::Geojson, bytes, stem, view);
            body.without_coordinates = Some(without);
            body
        }
    }
}

/// The CSV columns of `claims`, and the properties of each GeoJSON feature
/// (in this order; [`CLAIM_COLUMNS`] names them). Names follow ACLED's
/// where the meaning is the same (`event_date`, `location`, `latitude`,
/// `longitude`, `fatalities`); `docs/GUIDE.md` documents each.
#[derive(Clone, Debug, Serialize)]
pub struct ClaimColumns<'a> {
    /// The claim's id.
    pub claim_id: &'a ClaimId,
    /// The agreement said to be violated.
    pub agreement_id: &'a AgreementId,
    /// The party that makes the claim.
    pub claimant: &'a PartyId,
    /// The party accused.
    pub accused: &'a PartyId,
    /// What kind of violation.
    pub category: Category,
    /// How many violations the claim counts.
    pub count: u64,
    /// The day (UTC) the incident began, `YYYY-MM-DD`.
    pub event_date: String,
    /// When the incident began.
    pub incident_start: Timestamp,
    /// When a period ended.
    pub incident_end: Option<Timestamp>,
    /// How precisely the start is known.
    pub incident_precision: Option<Precision>,
    /// When the claim was made.
    pub occurred_at: Timestamp,
    /// When the ledger recorded it.
    pub recorded_at: Timestamp,
    /// The place's name.
    pub location: &'a str,
    /// Latitude, WGS 84 degrees.
    pub latitude: Option<f64>,
    /// Longitude, WGS 84 degrees.
    pub longitude: Option<f64>,
    /// People killed, as alleged.
    pub fatalities: Option<u32>,
    /// People injured, as alleged.
    pub injured: Option<u32>,
    /// The claimant's words.
    pub description: &'a str,
    /// The claim's state.
    pub state: ClaimState,
    /// The latest answer.
    pub response: Option<Response>,
    /// The latest assessment's finding.
    pub finding: Option<Finding>,
    /// The latest assessment's confidence.
    pub confidence: Option<Confidence>,
    /// The flags, `;`-separated.
    pub flags: String,
    /// How many answers.
    pub responses: u32,
    /// How many assessments.
    pub assessments: u32,
    /// How many pieces of evidence.
    pub evidence_items: u32,
    /// Whether migrated from another record.
    pub backfilled: bool,
    /// The seq of the allegation's entry.
    pub seq: u64,
    /// The rules version.
    pub rules: &'static str,
}

/// The header of `claims --format csv`, in column order.
pub const CLAIM_COLUMNS: [&str; 29] = [
    "claim_id",
    "agreement_id",
    "claimant",
    "accused",
    "category",
    "count",
    "event_date",
    "incident_start",
    "incident_end",
    "incident_precision",
    "occurred_at",
    "recorded_at",
    "location",
    "latitude",
    "longitude",
    "fatalities",
    "injured",
    "description",
    "state",
    "response",
    "finding",
    "confidence",
    "flags",
    "responses",
    "assessments",
    "evidence_items",
    "backfilled",
    "seq",
    "rules",
];

impl<'a> ClaimColumns<'a> {
    /// The columns of one row.
    pub fn of(row: &'a ClaimRow) -> Self {
        ClaimColumns {
            claim_id: &row.claim,
            agreement_id: &row.agreement,
            claimant: &row.by,
            accused: &row.against,
            category: row.category,
            count: row.count,
            event_date: row.incident_at.date(),
            incident_start: row.incident_at,
            incident_end: row.incident_until,
            incident_precision: row.incident_precision,
            occurred_at: row.occurred_at,
            recorded_at: row.recorded_at,
            location: &row.location,
            latitude: row.lat,
            longitude: row.lon,
            fatalities: row.killed,
            injured: row.injured,
            description: &row.description,
            state: row.state,
            response: row.response,
            finding: row.finding,
            confidence: row.confidence,
            flags: list(&row.flags),
            responses: row.responses,
            assessments: row.assessments,
            evidence_items: row.evidence,
            backfilled: row.backfilled,
            seq: row.seq,
            rules: row.rules,
        }
    }
}

/// An RFC 7946 FeatureCollection: one Point (`[lon, lat]`) per claim with
/// both coordinates, its properties the CSV columns (an empty cell is
/// `null`). Returns the bytes and how many claims were left out.
fn claims_geojson(rows: &[ClaimRow]) -> (Vec<u8>, usize) {
    let mut features = Vec::with_capacity(rows.len());
    let mut without = 0;
    for row in rows {
        let (Some(lat), Some(lon)) = (row.lat, row.lon) else {
            without += 1;
            continue;
        };
        features.push(serde_json::json!({
            "type": "Feature",
            "id": row.claim.as_str(),
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": ClaimColumns::of(row),
        }));
    }
    let collection = serde_json::json!({"type": "FeatureCollection", "features": features});
    // Plain data, and coordinates the input rules kept finite and in range.
    let mut bytes = serde_json::to_vec(&collection).expect("GeoJSON to memory");
    bytes.push(b'\n');
    (bytes, without)
}

/// `status`: the body in `format`.
pub fn status_body(
    format: StatusFormat,
    rows: &[StatusRow],
    parties: &Parties,
    view: View,
) -> Body {
    let stem = "armistice-status";
    match format {
        StatusFormat::Text => {
            let text = render_status(rows, parties, view);
            Body::new(Format::Text, text.into_bytes(), stem, view)
        }
        StatusFormat::Json => Body::new(Format::Json, json_bytes(&rows), stem, view),
        StatusFormat::Csv => {
            let table = rows.iter().flat_map(|row| StatusColumns::of(row, parties));
            let bytes = csv_bytes(&STATUS_COLUMNS, table);
            Body::new(Format::Csv, bytes, stem, view)
        }
    }
}

/// The CSV columns of `status`: one row per agreement and party (the
/// parties it binds, in its order, then any other party that filed a claim
/// under it). The agreement's columns repeat on each of its rows; the
/// party's columns are that party's alone, so they may be summed.
#[derive(Clone, Debug, Serialize)]
pub struct StatusColumns<'a> {
    /// The agreement's id.
    pub agreement_id: &'a AgreementId,
    /// Its title.
    pub title: &'a str,
    /// Bilateral or unilateral.
    pub kind: AgreementKind,
    /// Its status at `at`.
    pub status: AgreementStatus,
    /// The time the status is evaluated at.
    pub at: Timestamp,
    /// When it takes effect.
    pub effective_from: Timestamp,
    /// When it lapses, as amended by `at`.
    pub expires_at: Option<Timestamp>,
    /// What it covers, as amended by `at`, `;`-separated.
    pub scope: String,
    /// Where it applies.
    pub area: Option<&'a str>,
    /// Who proposed it.
    pub proposed_by: &'a PartyId,
    /// When.
    pub proposed_at: Timestamp,
    /// Its mediators, `;`-separated.
    pub mediators: String,
    /// Amendments by `at`.
    pub amendments: u64,
    /// Why it ended, once terminated.
    pub termination_reason: Option<&'a str>,
    /// The party of this row.
    pub party: &'a PartyId,
    /// Its full name.
    pub party_name: &'a str,
    /// Whether the agreement binds it.
    pub bound: bool,
    /// Whether it had signed by `at`.
    pub signed: bool,
    /// The conditions of its signature.
    pub conditions: Option<&'a str>,
    /// How many readings of the terms it stated.
    pub readings: usize,
    /// Claims it filed under the agreement.
    pub claims_filed: u64,
    /// Of those, claims of one incident.
    pub incidents_alleged: u64,
    /// Of those, aggregate claims.
    pub aggregate_claims: usize,
    /// The counts of its aggregate claims, `;`-separated, never summed.
    pub aggregate_counts: String,
    /// The rules version.
    pub rules: &'static str,
}

/// The header of `status --format csv`, in column order.
pub const STATUS_COLUMNS: [&str; 25] = [
    "agreement_id",
    "title",
    "kind",
    "status",
    "at",
    "effective_from",
    "expires_at",
    "scope",
    "area",
    "proposed_by",
    "proposed_at",
    "mediators",
    "amendments",
    "termination_reason",
    "party",
    "party_name",
    "bound",
    "signed",
    "conditions",
    "readings",
    "claims_filed",
    "incidents_alleged",
    "aggregate_claims",
    "aggregate_counts",
    "rules",
];

impl<'a> StatusColumns<'a> {
    /// The rows of one agreement.
    pub fn of(row: &'a StatusRow, parties: &'a Parties) -> Vec<Self> {
        let others = row.claims_by.keys().filter(|p| !row.parties.contains(p));
        let everyone = row.parties.iter().chain(others);
        everyone
            .map(|party| {
                let alleged = row.alleged_by.get(party);
                let aggregates = alleged.map_or(&[][..], |a| &a.aggregates[..]);
                let counts: Vec<String> = aggregates.iter().map(|a| a.count.to_string()).collect();
                let mediators: Vec<&str> = row.mediators.iter().map(PartyId::as_str).collect();
                StatusColumns {
                    agreement_id: &row.agreement,
                    title: &row.title,
                    kind: row.kind,
                    status: row.status,
                    at: row.at,
                    effective_from: row.effective_from,
                    expires_at: row.expires_at,
                    scope: list(&row.scope),
                    area: row.area.as_deref(),
                    proposed_by: &row.proposed_by,
                    proposed_at: row.proposed_at,
                    mediators: mediators.join(LIST_SEPARATOR),
                    amendments: row.amendments,
                    termination_reason: row.termination_reason.as_deref(),
                    party,
                    party_name: parties.get(party).map_or(party.as_str(), |p| &p.name),
                    bound: row.parties.contains(party),
                    signed: row.signed_by.contains(party),
                    conditions: row.conditions.get(party).map(String::as_str),
                    readings: row.contested.iter().filter(|c| &c.by == party).count(),
                    claims_filed: row.claims_by.get(party).copied().unwrap_or(0),
                    incidents_alleged: alleged.map_or(0, |a| a.incidents),
                    aggregate_claims: aggregates.len(),
                    aggregate_counts: counts.join(LIST_SEPARATOR),
                    rules: row.rules,
                }
            })
            .collect()
    }
}

/// `timeline`: the body in `format`.
pub fn timeline_body(format: TimelineFormat, story: &Story) -> Body {
    let view = View::new(
        story.at.unwrap_or(Timestamp::MAX),
        story.known_at.unwrap_or(Timestamp::MAX),
    );
    let stem = format!(
        "armistice-timeline-{}",
        story.agreement.as_str().replace(':', "-")
    );
    match format {
        TimelineFormat::Text => {
            let text = render_story(story);
            Body::new(Format::Text, text.into_bytes(), &stem, view)
        }
        TimelineFormat::Json => Body::new(Format::Json, json_bytes(story), &stem, view),
    }
}

#[cfg(test)]
#[path = "tests/formats.rs"]
mod tests;
