//! The figures a chaos run prints: what was thrown at the stack, how the runs ended, and each
//! invariant's count of offenders, as Markdown tables that paste into `docs/reliability.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::checks::{Check, Submitted};
use crate::facts::Facts;
use crate::model::RunRow;

/// One printed row.
#[derive(Debug, Clone)]
pub struct Figure {
    /// What is counted.
    pub label: String,
    /// The value, formatted.
    pub value: String,
}

/// All figures of one chaos run.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// The setting and what the harness and the simulator did.
    pub chaos: Vec<Figure>,
    /// Per scenario: `(runs, with the expected outcome)`.
    pub scenarios: BTreeMap<&'static str, (usize, usize)>,
    /// The invariants.
    pub checks: Vec<Check>,
}

impl Figures {
    /// Adds one chaos figure.
    pub fn add(&mut self, label: &str, value: impl std::fmt::Display) {
        self.chaos.push(Figure {
            label: label.to_owned(),
            value: value.to_string(),
        });
    }

    /// Counts, per scenario, the runs and those that ended as expected.
    pub fn tally_scenarios(&mut self, submitted: &[Submitted], facts: &Facts) {
        let rows: BTreeMap<&str, &RunRow> = facts.runs.iter().map(|r| (r.id.as_str(), r)).collect();
        for s in submitted {
            let entry = self.scenarios.entry(s.planned.scenario.name()).or_default();
            entry.0 += 1;
            let matched =
                s.id.as_deref()
                    .and_then(|id| rows.get(id))
                    .is_some_and(|row| row.outcome() == s.planned.scenario.expected());
            entry.1 += usize::from(matched);
        }
    }

    /// Counts the simulator's calls and injected faults.
    pub fn tally_provider(&mut self, calls: &[Value]) {
        let mut faults: BTreeMap<&str, usize> = BTreeMap::new();
        let mut refused_cleanups = 0;
        for call in calls {
            if let Some(fault) = call["fault"].as_str() {
                *faults.entry(fault).or_default() += 1;
                let path = call["path"].as_str().unwrap_or_default();
                if fault == "server_error"
                    && (call["method"] == "DELETE" || path.ends_with("/archive"))
                {
                    refused_cleanups += 1;
                }
            }
        }
        self.add("provider calls", calls.len());
        for (fault, n) in faults {
            self.add(&format!("provider faults: {fault}"), n);
        }
        self.add(
            "provider deletes and archives answered 500",
            refused_cleanups,
        );
    }

    /// Whether every invariant holds.
    pub fn all_hold(&self) -> bool {
        self.checks.iter().all(Check::holds)
    }

    /// The Markdown report.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "\n## Chaos figures\n\n| figure | value |\n| --- | ---: |"
        );
        for f in &self.chaos {
            let _ = writeln!(out, "| {} | {} |", f.label, f.value);
        }
        let _ = writeln!(
            out,
            "\n| scenario | runs | expected outcome |\n| --- | ---: | ---: |"
        );
        for (name, (runs, matched)) in &self.scenarios {
            let _ = writeln!(out, "| {name} | {runs} | {matched} |");
        }
        let _ = writeln!(out, "\n| invariant | offenders |\n| --- | ---: |");
        for check in &self.checks {
            let mark = if check.holds() { "" } else { " ✗" };
            let _ = writeln!(out, "| {} | {}{mark} |", check.name, check.bad);
        }
        for check in self.checks.iter().filter(|c| !c.holds()) {
            let _ = writeln!(out, "\n{} — e.g.:", check.name);
            for example in &check.examples {
                let _ = writeln!(out, "  - {example}");
            }
        }
        out
    }
}

/// The median and the largest of `values` (0 when empty).
pub fn median_and_max(mut values: Vec<f64>) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let median = values.get(values.len() / 2).copied().unwrap_or(0.0);
    (median, values.last().copied().unwrap_or(0.0))
}
