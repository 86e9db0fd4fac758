//! The figures a chaos run prints: what was thrown at the stack, how the runs ended, and each
//! invariant's count of offenders, as Markdown tables that paste into `docs/reliability.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use crate::checks::{Check, Submitted};
use crate::facts::Facts;
use crate::model::RunRow;
use crate::monkey::Tally;
use crate::proxy::ProxyStats;
use crate::suite::Options;

/// What one chaos run did, as the figures need it.
#[derive(Debug)]
pub struct Record<'a> {
    /// The knobs.
    pub options: &'a Options,
    /// What was found afterwards.
    pub facts: &'a Facts,
    /// Runs whose submit went through.
    pub submitted: usize,
    /// What the monkey did.
    pub tally: Tally,
    /// What the database proxy did.
    pub proxy: ProxyStats,
    /// Worker processes started, restarts included.
    pub worker_starts: u32,
    /// Sweeper passes in the quiet phase.
    pub sweeps: u32,
    /// Length of the chaos phase.
    pub chaos_secs: f64,
    /// Length of the quiet phase until everything settled.
    pub settle_secs: f64,
    /// The whole run.
    pub wall_secs: f64,
}

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
    /// Per scenario: `(runs, with the expected outcome, their times in seconds)`.
    pub scenarios: BTreeMap<&'static str, (usize, usize, Vec<f64>)>,
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

    /// Counts, per scenario, the runs, those that ended as expected, and their times.
    pub fn tally_scenarios(&mut self, submitted: &[Submitted], facts: &Facts) {
        let rows: BTreeMap<&str, &RunRow> = facts.runs.iter().map(|r| (r.id.as_str(), r)).collect();
        for s in submitted {
            let entry = self.scenarios.entry(s.planned.scenario.name()).or_default();
            entry.0 += 1;
            let row = s.id.as_deref().and_then(|id| rows.get(id));
            let matched = row.is_some_and(|row| row.outcome() == s.planned.scenario.expected());
            entry.1 += usize::from(matched);
            entry.2.extend(row.map(|row| row.seconds));
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

    /// Adds the figures of the setting, the chaos, cleanup and timings.
    pub fn record(&mut self, r: &Record<'_>) {
        let (options, facts, tally) = (r.options, r.facts, r.tally);
        self.add("seed", options.dose.seed);
        self.add("runs submitted", r.submitted);
        self.add("workspaces", options.workspaces);
        self.add("worker replicas", options.workers);
        self.tally_provider(&facts.sim_calls);
        self.add(
            "provider deletes failing for (s)",
            options.dose.deletes_fail_for.as_secs(),
        );
        self.add("worker SIGKILLs", tally.worker_kills);
        self.add("worker starts", r.worker_starts);
        self.add("pg_terminate_backend rounds", tally.terminate_rounds);
        self.add("backends terminated", tally.backends_terminated);
        self.add("proxy cuts of every connection", tally.proxy_severs);
        self.add("connections cut by the proxy", r.proxy.severed);
        let outage = options.dose.outage_for.as_secs();
        self.add(
            "database outages",
            format!("{} × {outage} s", tally.outages),
        );
        self.add(
            "failed cleanup actions (retried)",
            facts.failed_cleanup_actions,
        );
        let rounds: Vec<i32> = facts.runs.iter().map(|run| run.cleanup_rounds).collect();
        let retried = rounds.iter().filter(|n| **n > 1).count();
        self.add("runs whose cleanup took more than one round", retried);
        self.add(
            "cleanup rounds of one run, max",
            rounds.iter().max().copied().unwrap_or(0),
        );
        self.add(
            "resources found by the cleanup's leak scan",
            facts.found_by_scan,
        );
        let creates = |path: &str| {
            facts
                .sim_calls
                .iter()
                .filter(|c| c["method"] == "POST" && c["path"] == path)
                .filter(|c| c["status"].as_u64().is_some_and(|s| s < 300))
                .count()
        };
        self.add("agents created", creates("/v1/agents"));
        self.add("environments created", creates("/v1/environments"));
        self.add("live agent-cache entries", facts.cache_live.len());
        let mut states: BTreeMap<&str, usize> = BTreeMap::new();
        for run in &facts.runs {
            *states.entry(run.cleanup.as_str()).or_default() += 1;
        }
        let states: Vec<String> = states.iter().map(|(s, n)| format!("{s} {n}")).collect();
        self.add("cleanup states at the end", states.join(", "));
        self.add(
            "runs with more than one provider attempt",
            facts.runs_with_retried_attempts,
        );
        self.add("sweeper passes", r.sweeps);
        let (median, max) = median_and_max(facts.runs.iter().map(|run| run.seconds).collect());
        self.add("run time, median (s)", format!("{median:.1}"));
        self.add("run time, max (s)", format!("{max:.1}"));
        self.add("chaos phase (s)", format!("{:.1}", r.chaos_secs));
        self.add(
            "quiet phase until settled (s)",
            format!("{:.1}", r.settle_secs),
        );
        self.add("wall time (s)", format!("{:.1}", r.wall_secs));
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
            "\n| scenario | runs | expected outcome | time, median (s) | time, max (s) |\n\
             | --- | ---: | ---: | ---: | ---: |"
        );
        for (name, (runs, matched, times)) in &self.scenarios {
            let (median, max) = median_and_max(times.clone());
            let _ = writeln!(
                out,
                "| {name} | {runs} | {matched} | {median:.1} | {max:.1} |"
            );
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
