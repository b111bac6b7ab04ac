//! `armistice timeline AGREEMENT`: a readable, chronological story of one
//! agreement and its claims, with their answers and assessments.
//!
//! Unlike the other projections this one keeps text per event, but only
//! for the one agreement asked about and its claims.

use crate::claims::category_name;
use crate::error::ProjectionError;
use crate::fold::{Key, Replay, View};
use crate::status::StatusRow;
use crate::text::{
    clip, confidence_name, kind_name, minute, response_verb, scope_names, thousands,
};
use crate::LATE_AFTER_MICROS;
use armistice_core::event::{AgreementKind, Event, EventType, Finding};
use armistice_core::{AgreementId, ClaimId, PartyId, Record, Timestamp};
use serde::Serialize;
use std::collections::HashSet;
use std::fmt::Write;
use std::ops::ControlFlow;

/// Longest free text quoted in a story line, in characters.
const QUOTE_CHARS_MAX: usize = 200;

/// The story of one agreement: the agreement, one line per event in the
/// order things happened, and its status at the end (the footer).
/// `timeline --format json` prints it; [`render_story`] writes the text.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Story {
    /// The agreement.
    pub agreement: AgreementId,
    /// Its title.
    pub title: String,
    /// Bilateral or unilateral.
    pub kind: AgreementKind,
    /// The parties bound, with their names.
    pub parties: Vec<StoryParty>,
    /// World time of the view (`null`: the end of time).
    pub at: Option<Timestamp>,
    /// Ledger time of the view (`null`: everything recorded).
    pub known_at: Option<Timestamp>,
    /// What happened, in `(time, seq)` order.
    pub events: Vec<StoryLine>,
    /// The agreement's status at `at`, as `status --json` gives it.
    pub status: StatusRow,
    /// The rules version.
    pub rules: &'static str,
}

/// A party bound by the agreement, as the story names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoryParty {
    /// Its code.
    pub party: PartyId,
    /// Its full name (its code when it is not registered).
    pub name: String,
}

/// One line of the story: an entry, or a moment no entry marks (the
/// agreement coming into force, or lapsing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoryLine {
    /// When it happened: the entry's `occurred_at`, or the moment itself.
    pub at: Timestamp,
    /// The entry's seq (`null` for a moment no entry marks).
    pub seq: Option<u64>,
    /// Who made the statement (`null` for a moment no entry marks).
    pub by: Option<PartyId>,
    /// The event type; `agreement_in_force` or `agreement_expired` for a
    /// moment no entry marks.
    #[serde(rename = "type")]
    pub event_type: &'static str,
    /// The claim the line is about, if any.
    pub claim: Option<ClaimId>,
    /// What happened, in words (the text form puts the author's code first).
    pub sentence: String,
    /// When the ledger recorded the entry (`null` for a moment no entry marks).
    pub recorded_at: Option<Timestamp>,
    /// Whether the entry was recorded more than seven days after it occurred.
    pub recorded_late: bool,
    /// Whether the entry was migrated from another record.
    pub backfilled: bool,
}

impl StoryLine {
    /// The order of the story: time, then seq (a moment no entry marks
    /// comes after the entries of the same time).
    fn key(&self) -> Key {
        (self.at, self.seq.unwrap_or(u64::MAX))
    }

    /// Lines about a claim's answers, evidence and assessments are indented
    /// under the claim.
    fn indented(&self) -> bool {
        self.claim.is_some() && self.event_type != EventType::ViolationAlleged.name()
    }

    /// The line as the text form prints it, after the time.
    fn text(&self) -> String {
        let mut text = match &self.by {
            Some(by) => format!("{by} {}", self.sentence),
            None => format!("· {}", self.sentence),
        };
        if let (true, Some(recorded_at)) = (self.recorded_late, self.recorded_at) {
            let _ = write!(text, " (recorded only on {})", minute(recorded_at));
        }
        if self.backfilled {
            text.push_str(" (backfilled)");
        }
        text
    }
}

/// The streaming fold behind [`timeline_story`].
#[derive(Clone, Debug)]
pub struct StoryReplay {
    agreement: AgreementId,
    view: View,
    replay: Replay,
    claims: HashSet<ClaimId>,
    lines: Vec<StoryLine>,
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
        let delay = header
            .recorded_at
            .micros()
            .saturating_sub(header.occurred_at.micros());
        self.lines.push(StoryLine {
            at: header.occurred_at,
            seq: Some(header.seq),
            by: Some(record.statement.by.clone()),
            event_type: event.event_type().name(),
            claim: event.claim().cloned(),
            sentence: sentence(event),
            recorded_at: Some(header.recorded_at),
            recorded_late: delay > LATE_AFTER_MICROS,
            backfilled: header.backfilled,
        });
        ControlFlow::Continue(())
    }

    /// Ends the story as text; an agreement not visible under the view is an error.
    pub fn finish(self) -> Result<String, ProjectionError> {
        Ok(render_story(&self.finish_story()?))
    }

    /// Ends the story; an agreement not visible under the view is an error.
    pub fn finish_story(self) -> Result<Story, ProjectionError> {
        let StoryReplay {
            view,
            replay,
            mut lines,
            agreement,
            ..
        } = self;
        let projection = replay.finish();
        let rows = projection.status(Some(&agreement))?;
        let Some(row) = rows.into_iter().next() else {
            return Err(projection.unknown_agreement(&agreement));
        };
        let all_signed_at = projection
            .agreement_facts(&agreement)
            .and_then(|a| a.all_signed_at());
        add_milestones(&mut lines, &row, all_signed_at, view.at);
        lines.sort_by_key(StoryLine::key);
        let parties = row
            .parties
            .iter()
            .map(|p| StoryParty {
                party: p.clone(),
                name: projection.party_name(p).to_owned(),
            })
            .collect();
        let bounded = |t: Timestamp| (t != Timestamp::MAX).then_some(t);
        Ok(Story {
            agreement,
            title: row.title.clone(),
            kind: row.kind,
            parties,
            at: bounded(view.at),
            known_at: bounded(view.known_at),
            events: lines,
            status: row,
            rules: crate::RULES_VERSION,
        })
    }
}

/// Lines for the moments nobody records: taking effect and lapsing.
fn add_milestones(
    lines: &mut Vec<StoryLine>,
    row: &StatusRow,
    all_signed_at: Option<Timestamp>,
    at: Timestamp,
) {
    let moment = |when: Timestamp, event_type: &'static str, sentence: &str| StoryLine {
        at: when,
        seq: None,
        by: None,
        event_type,
        claim: None,
        sentence: sentence.to_owned(),
        recorded_at: None,
        recorded_late: false,
        backfilled: false,
    };
    if let Some(signed) = all_signed_at {
        let from = signed.max(row.effective_from);
        if from <= at {
            lines.push(moment(
                from,
                "agreement_in_force",
                "the agreement comes into force: every party has signed and effective_from has come",
            ));
        }
    }
    if let Some(expiry) = row.expires_at.filter(|e| *e <= at) {
        lines.push(moment(
            expiry,
            "agreement_expired",
            "the agreement lapses (expires_at); no entry marks the day",
        ));
    }
}

/// The text form of a story: `armistice timeline`.
pub fn render_story(story: &Story) -> String {
    let mut out = story_header(story);
    for line in &story.events {
        let indent = if line.indented() { "    " } else { "" };
        let _ = writeln!(out, "{}  {indent}{}", minute(line.at), line.text());
    }
    out.push_str(&story_footer(story));
    out
}

fn story_header(story: &Story) -> String {
    let mut out = format!("{} — {}\n", story.agreement, story.title);
    let bound: Vec<String> = story
        .parties
        .iter()
        .map(|p| format!("{} = {}", p.party, p.name))
        .collect();
    let _ = writeln!(out, "{} · {}", kind_name(story.kind), bound.join("; "));
    if let Some(known_at) = story.known_at {
        let _ = writeln!(out, "as the ledger knew it on {} UTC", minute(known_at));
    }
    out.push_str("(times in UTC)\n\n");
    out
}

fn story_footer(story: &Story) -> String {
    let row = &story.status;
    let when = match story.at {
        None => "Today".to_owned(),
        Some(at) => format!("On {}", minute(at)),
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
