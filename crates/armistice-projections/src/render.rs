//! Human renderings of the projections, for `armistice status`, `claims`
//! and `audit` without `--json`: aligned tables and short paragraphs a
//! mediator can read, with party names and both sides' counts side by side.

use crate::audit::{Audit, EvidenceOutcome};
use crate::claims::{category_name, ClaimRow, ClaimState};
use crate::fold::{Party, View};
use crate::status::{AgreementStatus, Alleged, StatusRow};
use crate::text::{clip, kind_name, minute, scope_names, table, thousands};
use armistice_core::{PartyId, Timestamp};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Party names by id, as [`Projection::parties`](crate::Projection::parties) gives them.
pub type Parties = BTreeMap<PartyId, Party>;

fn name<'a>(parties: &'a Parties, id: &'a PartyId) -> &'a str {
    parties.get(id).map_or(id.as_str(), |p| p.name.as_str())
}

/// "on 2025-04-01 00:00 UTC, as recorded up to …".
fn view_line(view: View) -> String {
    let at = if view.at == Timestamp::MAX {
        "today".to_owned()
    } else {
        format!("on {} UTC", minute(view.at))
    };
    if view.known_at == Timestamp::MAX {
        format!("{at}, as everything recorded tells it")
    } else {
        format!(
            "{at}, as the ledger knew it on {} UTC",
            minute(view.known_at)
        )
    }
}

fn expiry(at: Option<Timestamp>) -> String {
    at.map_or_else(|| "no expiry".to_owned(), minute)
}

/// "RU alleges 3 incidents and aggregates of 1,000 and 4,900 · UA alleges 2 incidents".
/// Aggregate counts are listed, never summed: they may overlap.
pub(crate) fn alleged_line(alleged_by: &BTreeMap<PartyId, Alleged>) -> String {
    let sides: Vec<String> = alleged_by
        .iter()
        .map(|(party, alleged)| format!("{party} alleges {}", alleged_words(alleged)))
        .collect();
    sides.join(" · ")
}

fn alleged_words(alleged: &Alleged) -> String {
    let plural = if alleged.incidents == 1 { "" } else { "s" };
    let mut words = format!("{} incident{plural}", alleged.incidents);
    if !alleged.aggregates.is_empty() {
        let counts: Vec<String> = alleged
            .aggregates
            .iter()
            .map(|a| thousands(a.count))
            .collect();
        let (noun, list) = match counts.len() {
            1 => ("an aggregate of", counts[0].clone()),
            _ => ("aggregates of", {
                let (last, rest) = counts.split_last().unwrap_or((&counts[0], &[]));
                format!("{} and {last}", rest.join(", "))
            }),
        };
        words.push_str(&format!(
            " and {noun} {list} (not summed: they may overlap)"
        ));
    }
    words
}

/// The table cell: "RU 3 + agg 4,900 · UA 2".
fn alleged_cell(alleged_by: &BTreeMap<PartyId, Alleged>) -> String {
    let sides: Vec<String> = alleged_by
        .iter()
        .map(|(party, alleged)| {
            let mut cell = format!("{party} {}", alleged.incidents);
            if !alleged.aggregates.is_empty() {
                let counts: Vec<String> = alleged
                    .aggregates
                    .iter()
                    .map(|a| thousands(a.count))
                    .collect();
                cell.push_str(&format!(" + agg {}", counts.join(", ")));
            }
            cell
        })
        .collect();
    sides.join(" · ")
}

/// `armistice status`: a summary table, then one paragraph per agreement.
pub fn render_status(rows: &[StatusRow], parties: &Parties, view: View) -> String {
    let mut out = format!("Agreements {}\n\n", view_line(view));
    if rows.is_empty() {
        out.push_str("No agreement had been proposed.\n");
        return out;
    }
    let header = [
        "AGREEMENT",
        "STATUS",
        "EFFECTIVE",
        "EXPIRES",
        "SIGNED",
        "CLAIMS",
        "ALLEGED",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            vec![
                row.agreement.to_string(),
                row.status.name().to_owned(),
                minute(row.effective_from),
                expiry(row.expires_at),
                format!("{}/{}", row.signed_by.len(), row.parties.len()),
                row.claims.total.to_string(),
                alleged_cell(&row.alleged_by),
            ]
        })
        .collect();
    out.push_str(&table(&header, &cells));
    for row in rows {
        out.push('\n');
        out.push_str(&agreement_paragraph(row, parties));
    }
    out
}

fn agreement_paragraph(row: &StatusRow, parties: &Parties) -> String {
    let mut out = format!("{} — {}\n", row.agreement, row.title);
    let line = |out: &mut String, label: &str, text: &str| {
        let _ = writeln!(out, "  {label:<10} {text}");
    };
    line(&mut out, "status", &status_sentence(row, parties));
    let bound: Vec<String> = row
        .parties
        .iter()
        .map(|p| format!("{} ({p})", name(parties, p)))
        .collect();
    let mut who = format!("{} · {}", kind_name(row.kind), bound.join(", "));
    if !row.mediators.is_empty() {
        let mediators: Vec<&str> = row.mediators.iter().map(PartyId::as_str).collect();
        let _ = write!(who, " · mediators {}", mediators.join(", "));
    }
    line(&mut out, "parties", &who);
    let mut window = format!(
        "from {} · until {} · scope {}",
        minute(row.effective_from),
        expiry(row.expires_at),
        scope_names(&row.scope)
    );
    if row.amendments > 0 {
        let _ = write!(window, " · amended {}×", row.amendments);
    }
    line(&mut out, "terms", &window);
    if let Some(area) = &row.area {
        line(&mut out, "area", area);
    }
    for (party, conditions) in &row.conditions {
        line(
            &mut out,
            "condition",
            &format!("{party} signed on condition: {}", clip(conditions, 160)),
        );
    }
    for reading in &row.contested {
        line(&mut out, "reading", &contested_sentence(reading));
    }
    if let Some(reason) = &row.termination_reason {
        line(&mut out, "ended", reason);
    }
    line(&mut out, "claims", &counts_sentence(row));
    if row.claims.total > 0 {
        line(&mut out, "alleged", &alleged_line(&row.alleged_by));
    }
    out
}

fn status_sentence(row: &StatusRow, parties: &Parties) -> String {
    let missing: Vec<&str> = row
        .parties
        .iter()
        .filter(|p| !row.signed_by.contains(p))
        .map(|p| name(parties, p))
        .collect();
    match row.status {
        AgreementStatus::Proposed => format!("proposed — not yet signed by {}", missing.join(", ")),
        AgreementStatus::Pending => format!(
            "pending — signed by all, takes effect {}",
            minute(row.effective_from)
        ),
        AgreementStatus::InForce => "in force".to_owned(),
        AgreementStatus::Suspended => "suspended".to_owned(),
        AgreementStatus::Expired => format!("expired {}", expiry(row.expires_at)),
        AgreementStatus::Terminated => "terminated".to_owned(),
    }
}

fn contested_sentence(reading: &crate::status::ContestedReading) -> String {
    let mut text = format!(
        "{} ({}): {}",
        reading.by,
        minute(reading.occurred_at),
        clip(&reading.statement, 160)
    );
    let mut asserts = Vec::new();
    if let Some(from) = reading.asserted_effective_from {
        asserts.push(format!("start {}", minute(from)));
    }
    if let Some(scope) = &reading.asserted_scope {
        asserts.push(format!("scope {}", scope_names(scope)));
    }
    if !asserts.is_empty() {
        let _ = write!(text, " [asserts {}]", asserts.join(", "));
    }
    text
}

fn counts_sentence(row: &StatusRow) -> String {
    let parts: Vec<String> = ClaimState::ALL
        .iter()
        .filter(|s| row.claims.of(**s) > 0)
        .map(|s| format!("{} {}", row.claims.of(*s), s.name()))
        .collect();
    if parts.is_empty() {
        return "none".to_owned();
    }
    format!("{} in all: {}", row.claims.total, parts.join(" · "))
}

/// `armistice claims`: one aligned row per claim, then the totals per side.
pub fn render_claims(rows: &[ClaimRow], parties: &Parties, view: View) -> String {
    let mut out = format!("Claims {}\n\n", view_line(view));
    if rows.is_empty() {
        out.push_str("No claim matches.\n");
        return out;
    }
    let header = [
        "CLAIM", "BY", "AGAINST", "CATEGORY", "INCIDENT", "COUNT", "STATE", "ANSWERS", "ASSESSED",
        "FLAGS",
    ];
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let flags: Vec<&str> = row.flags.iter().map(|f| f.name()).collect();
            vec![
                row.claim.to_string(),
                row.by.to_string(),
                row.against.to_string(),
                category_name(row.category).to_owned(),
                minute(row.incident_at),
                thousands(row.count),
                row.state.name().to_owned(),
                row.responses.to_string(),
                row.assessments.to_string(),
                flags.join(","),
            ]
        })
        .collect();
    out.push_str(&table(&header, &cells));
    let mut alleged: BTreeMap<PartyId, Alleged> = BTreeMap::new();
    for row in rows {
        let entry = alleged.entry(row.by.clone()).or_default();
        if row.count == 1 {
            entry.incidents += 1;
        } else {
            entry.aggregates.push(crate::status::AggregateClaim {
                claim: row.claim.clone(),
                count: row.count,
                incident_at: row.incident_at,
                incident_until: row.incident_until,
            });
        }
    }
    let plural = if rows.len() == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "\n{} claim{plural} · {}",
        rows.len(),
        alleged_line(&alleged)
    );
    let names: Vec<String> = alleged
        .keys()
        .map(|p| format!("{p} = {}", name(parties, p)))
        .collect();
    let _ = writeln!(out, "({})", names.join("; "));
    out
}

/// `armistice audit`: the claim, its timeline and the findings.
pub fn render_audit(audit: &Audit, parties: &Parties) -> String {
    let mut out = format!("Audit of claim {}\n", audit.claim);
    let _ = writeln!(
        out,
        "  {} ({}) alleges {} × {} by {} ({}) under {}",
        name(parties, &audit.by),
        audit.by,
        thousands(audit.count),
        category_name(audit.category),
        name(parties, &audit.against),
        audit.against,
        audit.agreement
    );
    let _ = writeln!(
        out,
        "  incident {} · state {}",
        minute(audit.incident_at),
        audit.state
    );
    if !audit.flags.is_empty() {
        let flags: Vec<&str> = audit.flags.iter().map(|f| f.name()).collect();
        let _ = writeln!(out, "  flags {}", flags.join(", "));
    }
    if let Some(known_at) = audit.known_at {
        let _ = writeln!(out, "  as the ledger knew it on {} UTC", minute(known_at));
    }
    out.push_str("\nTimeline\n");
    let cells: Vec<Vec<String>> = audit
        .timeline
        .iter()
        .map(|e| {
            let mut what = format!("{}: {}", e.claim, clip(&e.summary, 90));
            if !e.redacted.is_empty() {
                what.push_str(&format!(" [redacted: {}]", e.redacted.join(", ")));
            }
            vec![
                e.seq.to_string(),
                minute(e.occurred_at),
                minute(e.recorded_at),
                e.by.to_string(),
                e.event_type.to_owned(),
                e.state.name().to_owned(),
                format!("{:?}", e.signature).to_lowercase(),
                what,
            ]
        })
        .collect();
    let header = [
        "SEQ",
        "OCCURRED",
        "RECORDED",
        "BY",
        "TYPE",
        "STATE",
        "SIGNATURE",
        "WHAT",
    ];
    out.push_str(&table(&header, &cells));
    out.push_str(&audit_tail(audit));
    out
}

fn audit_tail(audit: &Audit) -> String {
    let mut out = String::new();
    if !audit.evidence.is_empty() {
        out.push_str("\nEvidence\n");
        for item in &audit.evidence {
            let check = match &item.check {
                None => "not checked".to_owned(),
                Some(EvidenceOutcome::Ok) => "file matches".to_owned(),
                Some(EvidenceOutcome::Missing) => "FILE MISSING".to_owned(),
                Some(EvidenceOutcome::Mismatch { actual }) => {
                    format!("HASH MISMATCH (file is {actual})")
                }
            };
            let _ = writeln!(
                out,
                "  {} ({}), sha256 {}: {check}",
                item.uri, item.media_type, item.sha256
            );
        }
    }
    out.push_str("\nFindings\n");
    if audit.findings.is_empty() {
        out.push_str("  none\n");
    }
    for f in &audit.findings {
        let code = serde_json::to_value(f.code).ok();
        let code = code.as_ref().and_then(|v| v.as_str()).unwrap_or("finding");
        let _ = writeln!(out, "  {code}: {}", f.detail);
    }
    let chain = if audit.chain_ok {
        "verified"
    } else {
        "DOES NOT VERIFY"
    };
    let _ = writeln!(out, "\nHash chain up to the last entry shown: {chain}");
    out
}
