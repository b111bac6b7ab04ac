//! `armistice timeline AGREEMENT`: a readable, chronological story of one
//! agreement and its claims, with their answers and assessments.
//!
//! Unlike the other projections this one keeps text per event, but only
//! for the one agreement asked about and its claims.

use crate::claims::category_name;
use crate::error::ProjectionError;
use crate::fold::{Key, Replay, View};
use crate::render::Parties;
use crate::status::StatusRow;
use crate::text::{
    clip, confidence_name, kind_name, minute, response_verb, scope_names, thousands,
};
use crate::LATE_AFTER_MICROS;
use armistice_core::event::{Event, Finding};
use armistice_core::{AgreementId, ClaimId, Record, Timestamp};
use std::collections::HashSet;
use std::fmt::Write;
use std::ops::ControlFlow;

/// Longest free text quoted in a story line, in characters.
const QUOTE_CHARS_MAX: usize = 200;

/// The streaming fold behind [`timeline_story`].
#[derive(Clone, Debug)]
pub struct StoryReplay {
    agreement: AgreementId,
    view: View,
    replay: Replay,
    claims: HashSet<ClaimId>,
    /// (when, indented, text).
    lines: Vec<(Key, bool, String)>,
}

impl StoryReplay {
    /// An empty story of `agreement` under `view`.
    pub fn new(agreement: AgreementId, view: View) -> Self {
        StoryReplay {
            agreement,
            view,
            replay: Replay::new(view),
            claims: HashSet::new(),
            lines: Vec::new(),
        }
    }

    /// Folds one record; `Break` once records come from after `known_at`.
    pub fn apply(&mut self, record: &Record) -> ControlFlow<()> {
        self.replay.apply(record)?;
        let header = &record.header;
        if !self.view.admits(header.occurred_at, header.recorded_at) {
            return ControlFlow::Continue(());
        }
        let event = &record.statement.event;
        let about_claim = event.claim().is_some_and(|c| self.claims.contains(c));
        let about_agreement = event.agreement() == Some(&self.agreement);
        if !(about_claim || about_agreement) {
            return ControlFlow::Continue(());
        }
        if let Event::ViolationAlleged(e) = event {
            self.claims.insert(e.claim.clone());
        }
        let mut text = format!("{} {}", record.statement.by, sentence(event));
        let delay = header
            .recorded_at
            .micros()
            .saturating_sub(header.occurred_at.micros());
        if delay > LATE_AFTER_MICROS {
            let _ = write!(text, " (recorded only on {})", minute(header.recorded_at));
        }
        if header.backfilled {
            text.push_str(" (backfilled)");
        }
        let indented = event.claim().is_some() && !matches!(event, Event::ViolationAlleged(_));
        self.lines
            .push(((header.occurred_at, header.seq), indented, text));
        ControlFlow::Continue(())
    }

    /// Ends the story; an agreement not visible under the view is an error.
    pub fn finish(self) -> Result<String, ProjectionError> {
        let StoryReplay {
            view,
            replay,
            mut lines,
            agreement,
            ..
        } = self;
        let projection = replay.finish();
        let rows = projection.status(Some(&agreement))?;
        let Some(row) = rows.first() else {
            return Err(projection.unknown_agreement(&agreement));
        };
        let all_signed_at = projection
            .agreement_facts(&agreement)
            .and_then(|a| a.all_signed_at());
        add_milestones(&mut lines, row, all_signed_at, view.at);
        lines.sort_by_key(|line| line.0);
        let mut out = story_header(row, projection.parties(), view);
        for ((at, _), indented, text) in &lines {
            let indent = if *indented { "    " } else { "" };
            let _ = writeln!(out, "{}  {indent}{text}", minute(*at));
        }
        out.push_str(&story_footer(row, view));
        Ok(out)
    }
}

/// Lines for the moments nobody records: taking effect and lapsing.
fn add_milestones(
    lines: &mut Vec<(Key, bool, String)>,
    row: &StatusRow,
    all_signed_at: Option<Timestamp>,
    at: Timestamp,
) {
    if let Some(signed) = all_signed_at {
        let from = signed.max(row.effective_from);
        if from <= at {
            let text = "· the agreement comes into force: every party has signed and effective_from has come".to_owned();
            lines.push(((from, u64::MAX), false, text));
        }
    }
    if let Some(expiry) = row.expires_at.filter(|e| *e <= at) {
        let text = "· the agreement lapses (expires_at); no entry marks the day".to_owned();
        lines.push(((expiry, u64::MAX), false, text));
    }
}

fn story_header(row: &StatusRow, parties: &Parties, view: View) -> String {
    let mut out = format!("{} — {}\n", row.agreement, row.title);
    let bound: Vec<String> = row
        .parties
        .iter()
        .map(|p| {
            format!(
                "{p} = {}",
                parties.get(p).map_or(p.as_str(), |x| x.name.as_str())
            )
        })
        .collect();
    let _ = writeln!(out, "{} · {}", kind_name(row.kind), bound.join("; "));
    if view.known_at != Timestamp::MAX {
        let _ = writeln!(
            out,
            "as the ledger knew it on {} UTC",
            minute(view.known_at)
        );
    }
    out.push_str("(times in UTC)\n\n");
    out
}

fn story_footer(row: &StatusRow, view: View) -> String {
    let when = if view.at == Timestamp::MAX {
        "Today".to_owned()
    } else {
        format!("On {}", minute(view.at))
    };
    let mut out = format!("\n{when}: {}", row.status);
    let _ = write!(out, " · {} claim(s)", row.claims.total);
    let _ = write!(out, " · {}", crate::render::alleged_line(&row.alleged_by));
    out.push('\n');
    out
}

/// The sentence for one event, after its author's code.
fn sentence(event: &Event) -> String {
    match event {
        Event::AgreementProposed(e) => format!(
            "proposes “{}”: {}, binding {}, from {} {}, scope {}",
            e.title,
            kind_name(e.kind),
            e.parties
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            minute(e.effective_from),
            e.expires_at.map_or_else(
                || "with no expiry".to_owned(),
                |x| format!("until {}", minute(x))
            ),
            scope_names(&e.scope)
        ),
        Event::AgreementSigned(e) => match &e.conditions {
            Some(c) => format!("signs, on condition: “{}”", clip(c, QUOTE_CHARS_MAX)),
            None => "signs".to_owned(),
        },
        Event::AgreementTermsContested(e) => {
            format!(
                "states its own reading: “{}”",
                clip(&e.statement, QUOTE_CHARS_MAX)
            )
        }
        Event::AgreementSuspended(e) => format!("suspends the agreement: {}", e.reason),
        Event::AgreementResumed(_) => "resumes the agreement".to_owned(),
        Event::AgreementAmended(e) => amendment(e),
        Event::AgreementTerminated(e) => format!("ends the agreement: {}", e.reason),
        Event::ViolationAlleged(e) => {
            let until = e
                .incident_until
                .map(|u| format!(" to {}", minute(u)))
                .unwrap_or_default();
            format!(
                "alleges {} × {} by {} at {} (incident {}{until}) [{}]",
                thousands(e.count),
                category_name(e.category),
                e.against,
                e.location.name,
                minute(e.incident_at),
                e.claim
            )
        }
        Event::EvidenceAdded(e) => format!(
            "adds {} piece(s) of evidence to {}",
            e.evidence.len(),
            e.claim
        ),
        Event::AllegationResponded(e) => {
            let counter = e
                .counter_claim
                .as_ref()
                .map(|c| format!(", countering with {c}"));
            format!(
                "{} {}{}: “{}”",
                response_verb(e.response),
                e.claim,
                counter.unwrap_or_default(),
                clip(&e.statement, QUOTE_CHARS_MAX)
            )
        }
        Event::AllegationAssessed(e) => format!(
            "assesses {}: {} ({} confidence): “{}”",
            e.claim,
            match e.finding {
                Finding::Verified => "verified",
                Finding::Refuted => "refuted",
                Finding::Inconclusive => "inconclusive",
            },
            confidence_name(e.confidence),
            clip(&e.reasoning, QUOTE_CHARS_MAX)
        ),
        Event::AllegationRetracted(e) => format!("retracts {}: {}", e.claim, e.reason),
        other => other.event_type().name().to_owned(),
    }
}

fn amendment(e: &armistice_core::event::AgreementAmended) -> String {
    let mut changes = Vec::new();
    if let Some(expiry) = e.expires_at {
        changes.push(format!("expiry now {}", minute(expiry)));
    }
    if let Some(scope) = &e.scope {
        changes.push(format!("scope now {}", scope_names(scope)));
    }
    if let Some(terms) = &e.terms {
        changes.push(format!("terms now “{}”", clip(terms, QUOTE_CHARS_MAX)));
    }
    format!("amends the agreement: {}", changes.join("; "))
}

/// The story of `agreement` under `view`, from records in `seq` order.
pub fn timeline_story<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    agreement: &AgreementId,
    view: View,
) -> Result<String, ProjectionError> {
    let mut story = StoryReplay::new(agreement.clone(), view);
    for record in records {
        if story.apply(record).is_break() {
            break;
        }
    }
    story.finish()
}
