//! Small text helpers shared by the human renderers: dates to the minute,
//! thousands separators, names of enum values and aligned tables.

use armistice_core::event::{AgreementKind, Confidence, Response, Scope};
use armistice_core::Timestamp;

/// `YYYY-MM-DD HH:MM` in UTC (`latest` for the open upper bound).
pub(crate) fn minute(at: Timestamp) -> String {
    if at == Timestamp::MAX {
        return "latest".to_owned();
    }
    let text = at.to_string();
    match (text.get(..10), text.get(11..16)) {
        (Some(date), Some(time)) if text.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {time}")
        }
        _ => text,
    }
}

/// `2935` as `2,935`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    // A separator goes before every digit whose count of followers is a
    // positive multiple of three.
    let mut left_in_group = digits.len() % 3;
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && left_in_group == 0 {
            out.push(',');
        }
        left_in_group = if left_in_group == 0 {
            2
        } else {
            left_in_group - 1
        };
        out.push(c);
    }
    out
}

/// The JSON name of a scope.
pub(crate) fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::AllHostilities => "all_hostilities",
        Scope::EnergyInfrastructure => "energy_infrastructure",
        Scope::Maritime => "maritime",
        Scope::CivilianTargets => "civilian_targets",
        Scope::Other => "other",
    }
}

/// A scope list as `a, b`.
pub(crate) fn scope_names(scope: &[Scope]) -> String {
    let names: Vec<&str> = scope.iter().map(|s| scope_name(*s)).collect();
    names.join(", ")
}

/// The JSON name of an agreement kind.
pub(crate) fn kind_name(kind: AgreementKind) -> &'static str {
    match kind {
        AgreementKind::Bilateral => "bilateral",
        AgreementKind::Unilateral => "unilateral",
    }
}

/// The JSON name of a confidence.
pub(crate) fn confidence_name(confidence: Confidence) -> &'static str {
    match confidence {
        Confidence::Low => "low",
        Confidence::Medium => "medium",
        Confidence::High => "high",
    }
}

/// The verb for an answer: `acknowledges`, `denies`, `disputes the facts`.
pub(crate) fn response_verb(response: Response) -> &'static str {
    match response {
        Response::Acknowledged => "acknowledges",
        Response::Denied => "denies",
        Response::DisputedFacts => "disputes the facts",
    }
}

/// Lays rows out in columns, each as wide as its widest cell, two spaces
/// apart; the last column is not padded.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        for (i, (cell, width)) in row.iter().zip(&widths).enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = width - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

/// Cuts `text` to at most `max` characters, ending with `…` when cut.
pub(crate) fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_minutes_thousands_and_tables() {
        let at = Timestamp::parse_rfc3339("2025-04-19T15:00:00Z").unwrap();
        assert_eq!(minute(at), "2025-04-19 15:00");
        assert_eq!(minute(Timestamp::MAX), "latest");
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (2935, "2,935"),
            (1_000_000, "1,000,000"),
        ] {
            assert_eq!(thousands(n), text);
        }
        let rows = vec![
            vec!["a".to_owned(), "bb".to_owned()],
            vec!["ccc".to_owned(), "d".to_owned()],
        ];
        assert_eq!(table(&["X", "Y"], &rows), "X    Y\na    bb\nccc  d\n");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
