//! The queries, over any store: projections rebuilt from the log for each
//! question, reading only as far as `known_at` allows and, for an early
//! `at`, only the chunks that hold what occurred by then.
//!
//! Names of parameters in error messages are given by the caller: `--by`
//! on the command line, `by` over HTTP.

use crate::error::ApiError;
use armistice_core::entry::{sha256, split_entry};
use armistice_core::{AgreementId, ClaimId, PartyId, Timestamp};
use armistice_projections::{
    parse_category, Audit, AuditCollector, AuditInputs, ClaimFilter, ClaimRow, ClaimState,
    EvidenceCheck, Parties, Projection, Replay, SignatureCheck, StatusRow, Story, StoryReplay,
    View,
};
use armistice_store::{SignatureStatus, Signatures, Store};
use std::str::FromStr;

/// Below one entry in this many, a replay reads only the chunks holding
/// entries that occurred by `at` (measured: a random read costs about two
/// sequential ones).
const INDEX_SHARE_MAX: u64 = 2;

/// How parameters are named in messages: `--` on the command line, nothing over HTTP.
#[derive(Clone, Copy, Debug)]
pub struct Names(pub &'static str);

impl Names {
    /// The command line's `--flag`.
    pub const CLI: Names = Names("--");
    /// HTTP query parameters.
    pub const HTTP: Names = Names("");

    /// How `name` (as the command line spells it) is called here.
    pub fn of(self, name: &str) -> String {
        match self.0 {
            "" => name.replace('-', "_"),
            prefix => format!("{prefix}{name}"),
        }
    }
}

/// Parses a date parameter (RFC 3339 or `YYYY-MM-DD`), naming it.
pub fn parse_when(names: Names, name: &str, text: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse_date_or_rfc3339(text)
        .map_err(|e| ApiError::Invalid(format!("{}: {e}", names.of(name))))
}

/// The view asked for: `at` (default `now`) and `known_at` (default everything).
pub fn view(
    names: Names,
    at: Option<&str>,
    known_at: Option<&str>,
    now: Timestamp,
) -> Result<View, ApiError> {
    let at = at
        .map(|t| parse_when(names, "at", t))
        .transpose()?
        .unwrap_or(now);
    let known_at = known_at
        .map(|t| parse_when(names, "known-at", t))
        .transpose()?
        .unwrap_or(Timestamp::MAX);
    Ok(View::new(at, known_at))
}

fn id<T>(
    names: Names,
    name: &str,
    text: &str,
    parse: impl Fn(String) -> Result<T, String>,
) -> Result<T, ApiError> {
    parse(text.to_owned()).map_err(|e| ApiError::Invalid(format!("{}: {e}", names.of(name))))
}

/// An agreement id given by a caller.
pub fn agreement_id(names: Names, name: &str, text: &str) -> Result<AgreementId, ApiError> {
    id(names, name, text, AgreementId::new)
}

/// A claim id given by a caller.
pub fn claim_id(names: Names, name: &str, text: &str) -> Result<ClaimId, ApiError> {
    id(names, name, text, ClaimId::new)
}

/// The filters of `claims`, as text (flags or query parameters).
#[derive(Clone, Debug, Default)]
pub struct ClaimQuery {
    /// Only claims under this agreement.
    pub agreement: Option<String>,
    /// Only claims filed by this party.
    pub by: Option<String>,
    /// Only claims against this party.
    pub against: Option<String>,
    /// Only claims in this state.
    pub state: Option<String>,
    /// Only claims of this category.
    pub category: Option<String>,
    /// Only incidents at or after this time.
    pub incident_from: Option<String>,
    /// Only incidents at or before this time.
    pub incident_to: Option<String>,
}

impl ClaimQuery {
    /// The filter these texts ask for.
    pub fn filter(&self, names: Names) -> Result<ClaimFilter, ApiError> {
        let party = |name: &str, text: &Option<String>| {
            text.as_deref()
                .map(|p| id(names, name, p, PartyId::new))
                .transpose()
        };
        let when = |name: &str, text: &Option<String>| {
            text.as_deref()
                .map(|t| parse_when(names, name, t))
                .transpose()
        };
        Ok(ClaimFilter {
            agreement: self
                .agreement
                .as_deref()
                .map(|a| agreement_id(names, "agreement", a))
                .transpose()?,
            by: party("by", &self.by)?,
            against: party("against", &self.against)?,
            state: self
                .state
                .as_deref()
                .map(ClaimState::from_str)
                .transpose()
                .map_err(|e| ApiError::Invalid(format!("{}: {e}", names.of("state"))))?,
            category: self
                .category
                .as_deref()
                .map(parse_category)
                .transpose()
                .map_err(|e| ApiError::Invalid(format!("{}: {e}", names.of("category"))))?,
            incident_from: when("incident-from", &self.incident_from)?,
            incident_to: when("incident-to", &self.incident_to)?,
        })
    }
}

/// The last seq a view can see: recorded_at never decreases along the log,
/// so a `known_at` in the past reads only the entries recorded by then.
pub fn last_seq(store: &dyn Store, view: View) -> Result<u64, ApiError> {
    Ok(match view.known_at {
        Timestamp::MAX => store.head().seq,
        known_at => store.last_seq_recorded_by(known_at)?,
    })
}

/// Replays the log into a projection for `view`.
pub fn project(store: &dyn Store, view: View) -> Result<Projection, ApiError> {
    let last = last_seq(store, view)?;
    let mut replay = Replay::new(view);
    if let Some(records) = store.records_occurred_by(view.at, last, last / INDEX_SHARE_MAX)? {
        for record in &records {
            if replay.apply(record).is_break() {
                break;
            }
        }
        return Ok(replay.finish());
    }
    for record in store.records_ahead(1, last) {
        if replay.apply(&record?).is_break() {
            break;
        }
    }
    Ok(replay.finish())
}

/// Replays only what a question about one agreement needs.
pub fn project_agreement(
    store: &dyn Store,
    agreement: &AgreementId,
    view: View,
) -> Result<Projection, ApiError> {
    let mut replay = Replay::new(view);
    for record in store.agreement_records(agreement.as_str())? {
        if replay.apply(&record).is_break() {
            break;
        }
    }
    Ok(replay.finish())
}

/// `status`: every agreement (or one) as of the view, with the parties' names.
pub fn status(
    store: &dyn Store,
    agreement: Option<&AgreementId>,
    view: View,
) -> Result<(Vec<StatusRow>, Parties), ApiError> {
    let projection = match agreement {
        Some(agreement) => project_agreement(store, agreement, view)?,
        None => project(store, view)?,
    };
    let rows = projection.status(agreement)?;
    Ok((rows, projection.parties().clone()))
}

/// `claims`: the register under the filter, as of the view.
pub fn claims(
    store: &dyn Store,
    filter: &ClaimFilter,
    view: View,
    names: Names,
) -> Result<(Vec<ClaimRow>, Parties), ApiError> {
    let projection = match &filter.agreement {
        Some(agreement) => project_agreement(store, agreement, view)?,
        None => project(store, view)?,
    };
    if let Some(agreement) = &filter.agreement {
        projection.status(Some(agreement))?;
    }
    for (name, party) in [("by", &filter.by), ("against", &filter.against)] {
        if let Some(party) = party {
            if !projection.parties().contains_key(party) {
                return Err(ApiError::Invalid(format!(
                    "{}: unknown party `{party}`",
                    names.of(name)
                )));
            }
        }
    }
    Ok((projection.claims(filter), projection.parties().clone()))
}

/// Checks evidence files for an audit (the command line re-hashes files
/// in a folder; the server has none).
pub type EvidenceChecker<'a> = &'a dyn Fn(&str, &str) -> Result<EvidenceCheck, ApiError>;

/// `audit`: the whole story of one claim as the record knew it at
/// `known_at`, with each entry's signature checked under the key its
/// author had then and the hash chain re-verified up to the last entry shown.
pub fn audit(
    store: &dyn Store,
    claim: &ClaimId,
    known_at: Timestamp,
    evidence: Option<EvidenceChecker<'_>>,
) -> Result<(Audit, Parties), ApiError> {
    let view = View::new(Timestamp::MAX, known_at);
    let projection = project(store, view)?;
    let mut collector = AuditCollector::new(&projection, claim)?;
    let mut signatures = Signatures::new(store.operator_keys());
    for item in store.entries(1, last_seq(store, view)?) {
        let (seq, bytes) = item?;
        let record = armistice_store::decode_record(seq, &bytes)?;
        let check = match signatures.check_bytes(&bytes, &record) {
            SignatureStatus::Valid => SignatureCheck::Valid,
            SignatureStatus::Invalid(_) => SignatureCheck::Invalid,
            SignatureStatus::Unsigned => SignatureCheck::Unsigned,
            SignatureStatus::Unverifiable => SignatureCheck::Unchecked,
        };
        if collector.apply(&record, check).is_break() {
            break;
        }
    }
    let evidence_checks = match evidence {
        Some(check) => Some(
            collector
                .evidence()
                .iter()
                .map(|e| check(&e.sha256, &e.uri))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        None => None,
    };
    let chain_ok = match collector.last_shown_seq() {
        Some(seq) => chain_intact(store, seq)?,
        None => true,
    };
    let audit = collector.finish(AuditInputs {
        chain_ok,
        evidence_checks,
    });
    Ok((audit, projection.parties().clone()))
}

/// Whether the hash chain from entry 1 to `to` holds: each entry decodes,
/// links to the one before, and holds the payload its digest names.
pub fn chain_intact(store: &dyn Store, to: u64) -> Result<bool, ApiError> {
    let mut prev = armistice_core::entry::GENESIS_HASH;
    for (expected, item) in (1..).zip(store.entries(1, to)) {
        let (seq, bytes) = item?;
        let Ok(split) = split_entry(&bytes) else {
            return Ok(false);
        };
        let (payload, original) = split.payload();
        let intact = seq == expected
            && split.header.prev_hash == prev
            && (!original || sha256(payload) == split.header.payload_sha256)
            && split.record().is_ok();
        if !intact {
            return Ok(false);
        }
        prev = split.hash();
    }
    Ok(true)
}

/// `timeline`: the readable story of one agreement and its claims.
pub fn timeline(
    store: &dyn Store,
    agreement: &AgreementId,
    view: View,
) -> Result<String, ApiError> {
    Ok(armistice_projections::render_story(&timeline_story(
        store, agreement, view,
    )?))
}

/// `timeline`: the story of one agreement and its claims, as data (its
/// JSON form, or [`render_story`](armistice_projections::render_story)'s text).
pub fn timeline_story(
    store: &dyn Store,
    agreement: &AgreementId,
    view: View,
) -> Result<Story, ApiError> {
    let records = store.agreement_records(agreement.as_str())?;
    let mut story = StoryReplay::new(agreement.clone(), view);
    for record in &records {
        if story.apply(record).is_break() {
            break;
        }
    }
    Ok(story.finish_story()?)
}

/// Every registered party, with its role and current key (`GET /v1/parties`).
pub fn parties(store: &dyn Store) -> Result<Vec<crate::wire::PartyJson>, ApiError> {
    use armistice_core::Event;
    let mut parties: std::collections::BTreeMap<String, crate::wire::PartyJson> =
        Default::default();
    let set_key = |parties: &mut std::collections::BTreeMap<String, crate::wire::PartyJson>,
                   party: &str,
                   key: &[u8; 32],
                   seq: u64| {
        if let Some(row) = parties.get_mut(party) {
            row.public_key = Some(hex::encode(key));
            row.vkey = armistice_merkle::note::NoteVerifier::new(party, key)
                .ok()
                .map(|v| v.to_string());
            row.key_since_seq = Some(seq);
        }
    };
    for record in store.party_records()? {
        let seq = record.header.seq;
        match &record.statement.event {
            Event::PartyRegistered(e) => {
                let role = serde_json::to_value(e.role)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                parties.insert(
                    e.party.to_string(),
                    crate::wire::PartyJson {
                        party: e.party.to_string(),
                        name: e.name.clone(),
                        role,
                        public_key: None,
                        vkey: None,
                        key_since_seq: None,
                    },
                );
                if let Some(key) = &e.public_key {
                    set_key(&mut parties, e.party.as_str(), &key.0, seq);
                }
            }
            Event::PartyKeyRotated(e) => set_key(
                &mut parties,
                record.header.by.as_str(),
                &e.public_key.0,
                seq,
            ),
            Event::PartyKeyReplaced(e) => {
                set_key(&mut parties, e.party.as_str(), &e.public_key.0, seq)
            }
            _ => {}
        }
    }
    Ok(parties.into_values().collect())
}
