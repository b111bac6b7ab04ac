//! The result table: one line per comparison, each figure beside its
//! baseline from the same run, as a ratio against a target; printed as text
//! and optionally written as JSON.

use serde::Serialize;
use std::fmt::Write as _;

/// Repeated measurements of one quantity.
#[derive(Clone, Debug, Serialize)]
pub struct Samples {
    /// Every run's value, in run order.
    pub values: Vec<f64>,
}

impl Samples {
    /// Samples from values (at least one).
    pub fn new(values: Vec<f64>) -> Samples {
        assert!(!values.is_empty(), "a measurement needs at least one run");
        Samples { values }
    }

    /// One value.
    pub fn one(value: f64) -> Samples {
        Samples::new(vec![value])
    }

    fn sorted(&self) -> Vec<f64> {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        sorted
    }

    /// The median (the mean of the middle two for an even count).
    pub fn median(&self) -> f64 {
        let sorted = self.sorted();
        let mid = sorted.len() / 2;
        match sorted.len() % 2 {
            1 => sorted[mid],
            _ => (sorted[mid - 1] + sorted[mid]) / 2.0,
        }
    }

    /// The smallest value.
    pub fn min(&self) -> f64 {
        self.sorted()[0]
    }

    /// The largest value.
    pub fn max(&self) -> f64 {
        self.sorted()[self.values.len() - 1]
    }

    /// `median (min–max, n runs)`, or just the value for one run.
    pub fn show(&self, unit: &str) -> String {
        if self.values.len() == 1 {
            return format!("{} {unit}", human(self.median()));
        }
        format!(
            "{} {unit} ({}–{}, n={})",
            human(self.median()),
            human(self.min()),
            human(self.max()),
            self.values.len()
        )
    }
}

/// A number with 3 significant digits and a k/M suffix.
pub fn human(value: f64) -> String {
    let (scaled, suffix) = match value.abs() {
        v if v >= 1e6 => (value / 1e6, "M"),
        v if v >= 1e4 => (value / 1e3, "k"),
        _ => (value, ""),
    };
    let digits = match scaled.abs() {
        v if v >= 100.0 => 0,
        v if v >= 10.0 => 1,
        v if v >= 1.0 => 2,
        _ => 3,
    };
    format!("{scaled:.digits$}{suffix}")
}

/// Which way a ratio must go to meet its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// The ratio must be at least the target.
    AtLeast,
    /// The ratio must be at most the target.
    AtMost,
    /// No target: shown for information.
    None,
}

/// One line of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Line {
    /// The row number (`1`, `2a`, …).
    pub row: String,
    /// What is measured.
    pub what: String,
    /// Armistice's figure.
    pub armistice: Samples,
    /// Its unit (`events/s`, `ms`, `bytes/event`).
    pub unit: String,
    /// The baseline's name.
    pub baseline_name: String,
    /// The baseline's figure, in the same unit.
    pub baseline: Samples,
    /// The ratio shown: armistice / baseline for throughput and sizes,
    /// baseline / armistice for times (so that above 1 means "faster").
    pub ratio: f64,
    /// The target for the ratio.
    pub target: f64,
    /// Which way the target points.
    pub goal: Goal,
    /// Whether the target was met (`None` without a target).
    pub met: Option<bool>,
    /// A remark (entries read, batch size…).
    pub note: String,
}

/// How a line compares its two figures.
#[derive(Clone, Copy, Debug)]
pub enum Compare {
    /// Higher is better: ratio = armistice / baseline.
    Throughput,
    /// Lower is better: ratio = baseline / armistice (speed-up).
    Time,
    /// Sizes: ratio = armistice / baseline, lower is better.
    Size,
}

/// The line's figures before the ratio is worked out.
pub struct LineSpec<'a> {
    /// The row number.
    pub row: &'a str,
    /// What is measured.
    pub what: &'a str,
    /// Its unit.
    pub unit: &'a str,
    /// The baseline's name.
    pub baseline_name: &'a str,
    /// How to compare.
    pub compare: Compare,
    /// The target for the ratio (`None` for information only).
    pub target: Option<f64>,
}

impl Line {
    /// Works out the ratio (of medians) and whether the target is met.
    pub fn new(spec: LineSpec<'_>, armistice: Samples, baseline: Samples, note: String) -> Line {
        let (a, b) = (armistice.median(), baseline.median());
        let ratio = match spec.compare {
            Compare::Throughput | Compare::Size => a / b,
            Compare::Time => b / a,
        };
        let goal = match (spec.target, spec.compare) {
            (None, _) => Goal::None,
            (Some(_), Compare::Size) => Goal::AtMost,
            (Some(_), _) => Goal::AtLeast,
        };
        let target = spec.target.unwrap_or(f64::NAN);
        let met = match goal {
            Goal::AtLeast => Some(ratio >= target),
            Goal::AtMost => Some(ratio <= target),
            Goal::None => None,
        };
        Line {
            row: spec.row.to_owned(),
            what: spec.what.to_owned(),
            armistice,
            unit: spec.unit.to_owned(),
            baseline_name: spec.baseline_name.to_owned(),
            baseline,
            ratio,
            target,
            goal,
            met,
            note,
        }
    }

    fn target_text(&self) -> String {
        match self.goal {
            Goal::AtLeast => format!(">= {}", self.target),
            Goal::AtMost => format!("<= {}", self.target),
            Goal::None => "-".to_owned(),
        }
    }
}

/// The whole report: the method, then the lines.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// How the figures were obtained (machine, sizes, runs).
    pub method: Vec<String>,
    /// The comparisons.
    pub lines: Vec<Line>,
}

impl Report {
    /// The table as aligned text, one comparison per line, notes below.
    pub fn render(&self) -> String {
        let header = [
            "row",
            "what",
            "armistice",
            "baseline",
            "ratio",
            "target",
            "met?",
        ];
        let rows: Vec<[String; 7]> = self
            .lines
            .iter()
            .map(|line| {
                [
                    line.row.clone(),
                    line.what.clone(),
                    line.armistice.show(&line.unit),
                    format!("{}: {}", line.baseline_name, line.baseline.show(&line.unit)),
                    format!("{:.3}", line.ratio),
                    line.target_text(),
                    match line.met {
                        Some(true) => "met".to_owned(),
                        Some(false) => "MISSED".to_owned(),
                        None => "-".to_owned(),
                    },
                ]
            })
            .collect();
        let mut widths = header.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let mut push_row = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            let _ = writeln!(out, "| {} |", padded.join(" | "));
        };
        push_row(&header.map(str::to_owned));
        push_row(&widths.map(|w| "-".repeat(w)));
        for row in &rows {
            push_row(row);
        }
        out.push('\n');
        for line in self.lines.iter().filter(|l| !l.note.is_empty()) {
            let _ = writeln!(out, "[{}] {}: {}", line.row, line.what, line.note);
        }
        out.push_str("\nMethod:\n");
        for item in &self.method {
            let _ = writeln!(out, "- {item}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread() {
        let s = Samples::new(vec![3.0, 1.0, 2.0, 10.0]);
        assert_eq!(s.median(), 2.5);
        assert_eq!((s.min(), s.max()), (1.0, 10.0));
        assert_eq!(human(1_234_567.0), "1.23M");
        assert_eq!(human(45_678.0), "45.7k");
    }
}
