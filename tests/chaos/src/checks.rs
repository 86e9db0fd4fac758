//! The invariants the stack must hold after the chaos, each counted as "how many things are
//! wrong" so the figures can print them and the test can demand zero.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::facts::Facts;
use crate::model::RunRow;
use crate::plan::PlannedRun;

/// How many offending items a check names in its report.
const EXAMPLES: usize = 5;

/// One invariant's result.
#[derive(Debug, Clone)]
pub struct Check {
    /// What must hold, as a sentence.
    pub name: &'static str,
    /// How many things break it (0 when it holds).
    pub bad: usize,
    /// A few of them, for the report.
    pub examples: Vec<String>,
}

impl Check {
    /// A check broken by `offenders` (none: it holds).
    pub fn from_offenders(name: &'static str, offenders: Vec<String>) -> Self {
        Self {
            name,
            bad: offenders.len(),
            examples: offenders.into_iter().take(EXAMPLES).collect(),
        }
    }

    /// Whether it holds.
    pub fn holds(&self) -> bool {
        self.bad == 0
    }
}

/// A planned run and the id it got.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The plan entry.
    pub planned: PlannedRun,
    /// The run's wire id, if the submit went through.
    pub id: Option<String>,
    /// What went wrong with the user's own calls (submit, cancel, delete).
    pub problems: Vec<String>,
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

fn meta<'a>(resource: &'a Value, key: &str) -> Option<&'a str> {
    resource["metadata"][key].as_str()
}

/// Maps every simulator record to the run that made it: by its own metadata, else (files,
/// credentials) through the session or vault it belongs to.
fn owners(resources: &[Value]) -> HashMap<String, String> {
    let mut owner: HashMap<String, String> = resources
        .iter()
        .filter_map(|r| {
            Some((
                text(r, "id").to_owned(),
                meta(r, "antpath_run_id")?.to_owned(),
            ))
        })
        .collect();
    for r in resources {
        let parent = match text(r, "kind") {
            "file" => text(r, "session_id"),
            "credential" => text(r, "vault_id"),
            _ => continue,
        };
        if !owner.contains_key(text(r, "id"))
            && let Some(run) = owner.get(parent).cloned()
        {
            owner.insert(text(r, "id").to_owned(), run);
        }
    }
    owner
}

/// Every check, in report order.
pub fn all(submitted: &[Submitted], facts: &Facts) -> Vec<Check> {
    let runs: HashMap<&str, &RunRow> = facts.runs.iter().map(|r| (r.id.as_str(), r)).collect();
    vec![
        outcomes(submitted, &runs),
        unsettled(facts),
        duplicated_sessions(facts),
        duplicated_resources(facts),
        unjournaled(facts),
        journal_duplicates(facts),
        live_unretained(facts, &runs),
        secrets_after_cleanup(facts),
        abandoned_cleanups(facts),
        storage_counters(facts),
        orphaned_files(facts),
        missing_files(facts),
        outputs_match(submitted, facts, &runs),
    ]
}

fn outcomes(submitted: &[Submitted], runs: &HashMap<&str, &RunRow>) -> Check {
    let offenders = submitted
        .iter()
        .filter_map(|s| {
            let expected = s.planned.scenario.expected();
            let Some(id) = &s.id else {
                return Some(format!(
                    "#{} ({}) was never submitted",
                    s.planned.index,
                    s.planned.scenario.name()
                ));
            };
            let Some(row) = runs.get(id.as_str()) else {
                return Some(format!("{id} has no row"));
            };
            let got = row.outcome();
            (got != expected).then(|| {
                format!(
                    "{id} ({}): expected {expected}, got {got} (status {}, error {:?})",
                    s.planned.scenario.name(),
                    row.status,
                    row.error_class
                )
            })
        })
        .collect();
    Check::from_offenders("every run ended with its scenario's outcome", offenders)
}

fn unsettled(facts: &Facts) -> Check {
    let offenders = facts
        .runs
        .iter()
        .filter(|r| !r.settled())
        .map(|r| {
            format!(
                "{}: status {}, phase {}, cleanup {}",
                r.id, r.status, r.phase, r.cleanup
            )
        })
        .collect();
    Check::from_offenders(
        "no run is stuck (phase done, cleanup over, purged if deleted)",
        offenders,
    )
}

fn duplicated_sessions(facts: &Facts) -> Check {
    let mut per_attempt: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for r in facts
        .sim_resources
        .iter()
        .filter(|r| r["kind"] == "session")
    {
        if let (Some(run), Some(attempt)) = (meta(r, "antpath_run_id"), meta(r, "antpath_attempt"))
        {
            per_attempt
                .entry((run.to_owned(), attempt.to_owned()))
                .or_default()
                .push(text(r, "id").to_owned());
        }
    }
    let offenders = per_attempt
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|((run, attempt), ids)| format!("{run} attempt {attempt}: {ids:?}"))
        .collect();
    Check::from_offenders(
        "the provider has at most one session per run attempt",
        offenders,
    )
}

fn duplicated_resources(facts: &Facts) -> Check {
    let mut per_key: BTreeMap<(String, String, String), Vec<String>> = BTreeMap::new();
    for r in &facts.sim_resources {
        if let (Some(run), Some(attempt), Some(key)) = (
            meta(r, "antpath_run_id"),
            meta(r, "antpath_attempt"),
            meta(r, "antpath_resource"),
        ) {
            per_key
                .entry((run.to_owned(), attempt.to_owned(), key.to_owned()))
                .or_default()
                .push(text(r, "id").to_owned());
        }
    }
    let offenders = per_key
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|((run, attempt, key), ids)| format!("{run} attempt {attempt} {key}: {ids:?}"))
        .collect();
    Check::from_offenders(
        "the provider has at most one resource per run attempt and key",
        offenders,
    )
}

fn unjournaled(facts: &Facts) -> Check {
    let journaled: HashSet<&str> = facts
        .journal
        .iter()
        .filter_map(|j| j.provider_id.as_deref())
        .collect();
    let offenders = facts
        .sim_resources
        .iter()
        .filter(|r| meta(r, "antpath_run_id").is_some() && !journaled.contains(text(r, "id")))
        .map(|r| {
            format!(
                "{} {} of {}",
                text(r, "kind"),
                text(r, "id"),
                meta(r, "antpath_run_id").unwrap_or("?")
            )
        })
        .collect();
    Check::from_offenders(
        "every provider resource a run made is in the journal",
        offenders,
    )
}

fn journal_duplicates(facts: &Facts) -> Check {
    let mut sessions: BTreeMap<(&str, i32), usize> = BTreeMap::new();
    for j in facts
        .journal
        .iter()
        .filter(|j| j.kind == "session" && j.provider_id.is_some())
    {
        *sessions.entry((j.run.as_str(), j.attempt)).or_default() += 1;
    }
    let offenders = sessions
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((run, attempt), n)| format!("{run} attempt {attempt}: {n} sessions"))
        .collect();
    Check::from_offenders(
        "the journal has at most one session per run attempt",
        offenders,
    )
}

fn live_unretained(facts: &Facts, runs: &HashMap<&str, &RunRow>) -> Check {
    let owner = owners(&facts.sim_resources);
    // A cached agent or environment belongs to the cache while its entry is live; one the
    // cache no longer lists (or never listed) is a leak like any other.
    let cached: HashSet<&str> = facts.cache_live.iter().map(String::as_str).collect();
    let offenders = facts
        .sim_resources
        .iter()
        .filter(|r| r["state"] == "live")
        .filter(|r| !(meta(r, "antpath_cache_id").is_some() && cached.contains(text(r, "id"))))
        .filter(|r| {
            owner
                .get(text(r, "id"))
                .and_then(|run| runs.get(run.as_str()))
                .is_none_or(|run| run.cleanup_policy != "retain")
        })
        .map(|r| {
            let run = owner.get(text(r, "id")).map_or("no run", String::as_str);
            format!("{} {} ({run})", text(r, "kind"), text(r, "id"))
        })
        .collect();
    Check::from_offenders(
        "no provider resource is live except those of retained runs",
        offenders,
    )
}

fn secrets_after_cleanup(facts: &Facts) -> Check {
    let offenders = facts
        .runs
        .iter()
        .filter(|r| r.cleanup_over() && r.has_secrets)
        .map(|r| format!("{} (cleanup {})", r.id, r.cleanup))
        .collect();
    Check::from_offenders(
        "no run whose cleanup is over keeps a run_secrets row",
        offenders,
    )
}

fn abandoned_cleanups(facts: &Facts) -> Check {
    let offenders = facts
        .runs
        .iter()
        .filter(|r| r.cleanup == crate::model::CLEANUP_ABANDONED)
        .map(|r| format!("{} after {} rounds", r.id, r.cleanup_rounds))
        .collect();
    Check::from_offenders(
        "no cleanup gave up (the give-up window is a day)",
        offenders,
    )
}

fn storage_counters(facts: &Facts) -> Check {
    let mut stored: HashMap<&str, i64> = HashMap::new();
    for o in &facts.outputs {
        *stored.entry(o.workspace.as_str()).or_default() += o.size_bytes;
    }
    let offenders = facts
        .workspaces
        .iter()
        .filter_map(|w| {
            let sum = stored.get(w.id.as_str()).copied().unwrap_or(0);
            (sum != w.storage_used_bytes).then(|| {
                format!(
                    "{}: counter {} bytes, outputs {sum} bytes",
                    w.id, w.storage_used_bytes
                )
            })
        })
        .collect();
    Check::from_offenders(
        "each workspace's storage counter equals its stored output bytes",
        offenders,
    )
}

fn orphaned_files(facts: &Facts) -> Check {
    let keys: HashSet<&str> = facts
        .outputs
        .iter()
        .map(|o| o.storage_key.as_str())
        .collect();
    let offenders = facts
        .stored_files
        .iter()
        .filter(|f| !keys.contains(f.as_str()))
        .cloned()
        .collect();
    Check::from_offenders(
        "every file under the storage root has an output_objects row",
        offenders,
    )
}

fn missing_files(facts: &Facts) -> Check {
    let files: HashSet<&str> = facts.stored_files.iter().map(String::as_str).collect();
    let offenders = facts
        .outputs
        .iter()
        .filter(|o| !files.contains(o.storage_key.as_str()))
        .map(|o| format!("{} of {}", o.storage_key, o.run))
        .collect();
    Check::from_offenders("every output_objects row has its file", offenders)
}

fn outputs_match(submitted: &[Submitted], facts: &Facts, runs: &HashMap<&str, &RunRow>) -> Check {
    let provider_sha: HashMap<&str, &str> = facts
        .sim_resources
        .iter()
        .filter(|r| r["kind"] == "file")
        .map(|r| (text(r, "id"), text(r, "sha256")))
        .collect();
    let mut per_run: HashMap<&str, Vec<&crate::facts::OutputRow>> = HashMap::new();
    for o in &facts.outputs {
        per_run.entry(o.run.as_str()).or_default().push(o);
    }
    let offenders = submitted
        .iter()
        .filter_map(|s| {
            let id = s.id.as_deref()?;
            let expected = s.planned.scenario.expected_files()?;
            // A run with the wrong outcome is already reported; its outputs say nothing more.
            (runs.get(id)?.outcome() == s.planned.scenario.expected()).then_some(())?;
            let stored = per_run.get(id).map_or(&[][..], Vec::as_slice);
            let wrong = stored
                .iter()
                .filter(|o| provider_sha.get(o.provider_file_id.as_str()) != Some(&o.sha256.as_str()))
                .count();
            (stored.len() != expected || wrong > 0).then(|| {
                format!("{id} ({}): {} outputs, {expected} expected, {wrong} differ from the provider's", s.planned.scenario.name(), stored.len())
            })
        })
        .collect();
    Check::from_offenders(
        "each finished run stored exactly its provider files, byte for byte",
        offenders,
    )
}

/// Which texts contain a canary: `(source, canary)` for each hit.
pub fn leaks<'a>(texts: &'a [(String, String)], canaries: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    texts
        .iter()
        .flat_map(|(source, body)| {
            canaries
                .iter()
                .filter(|canary| body.contains(**canary))
                .map(move |canary| (source.as_str(), *canary))
        })
        .collect()
}

/// The canary check as a [`Check`]. A text that is empty, or a dump without the runs'
/// prompts, counts as an offender too: a search through nothing proves nothing.
pub fn canary(texts: &[(String, String)], canaries: &[&str], dump_marker: &str) -> Check {
    let mut offenders: Vec<String> = leaks(texts, canaries)
        .into_iter()
        .map(|(source, canary)| format!("{source} contains {}…", &canary[..12.min(canary.len())]))
        .collect();
    for (source, body) in texts {
        if body.trim().is_empty() {
            offenders.push(format!("{source} is empty, so it proves nothing"));
        }
        if source == DUMP && !body.contains(dump_marker) {
            offenders.push(format!(
                "{source} lacks the runs' prompts, so it proves nothing"
            ));
        }
    }
    Check::from_offenders(
        "no secret appears in any process log or in a dump of the database",
        offenders,
    )
}

/// The source name of the database dump among the texts.
pub const DUMP: &str = "pg_dump";

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn session(id: &str, run: &str, attempt: &str, state: &str) -> Value {
        json!({"id": id, "kind": "session", "state": state,
               "metadata": {"antpath_run_id": run, "antpath_attempt": attempt, "antpath_resource": "session"}})
    }

    #[test]
    fn two_sessions_of_one_attempt_are_a_duplicate_but_two_attempts_are_not() {
        let facts = Facts {
            sim_resources: vec![
                session("s1", "run_a", "1", "deleted"),
                session("s2", "run_a", "2", "deleted"),
                session("s3", "run_b", "1", "deleted"),
                session("s4", "run_b", "1", "deleted"),
            ],
            ..Facts::default()
        };
        let check = duplicated_sessions(&facts);
        assert_eq!(check.bad, 1, "{:?}", check.examples);
        assert!(check.examples[0].contains("run_b"));
    }

    #[test]
    fn a_live_file_belongs_to_the_run_of_its_session() {
        let mut resources = vec![session("s1", "run_a", "1", "live")];
        resources.push(json!({"id": "f1", "kind": "file", "state": "live", "session_id": "s1", "metadata": null}));
        resources.push(json!({"id": "f2", "kind": "file", "state": "live", "session_id": "gone", "metadata": null}));
        let owner = owners(&resources);
        assert_eq!(owner.get("f1").map(String::as_str), Some("run_a"));
        assert_eq!(owner.get("f2"), None);
    }

    #[test]
    fn a_canary_is_found_in_any_text_and_named_by_its_source() {
        let texts = vec![
            ("worker.log".to_owned(), "all quiet".to_owned()),
            ("bff.log".to_owned(), "key=sk-ant-secret-1 oops".to_owned()),
        ];
        let check = canary(&texts, &["sk-ant-secret-1"], "");
        assert_eq!(check.bad, 1);
        assert!(check.examples[0].starts_with("bff.log"));
        assert!(
            !check.examples[0].contains("secret-1"),
            "the report does not repeat the secret"
        );
    }

    #[test]
    fn an_empty_log_or_a_dump_without_runs_fails_the_canary_check() {
        let texts = vec![
            ("sweeper.log".to_owned(), String::new()),
            (DUMP.to_owned(), "create table runs ();".to_owned()),
        ];
        let check = canary(&texts, &["sk-ant-secret-1"], "antpath-sim:");
        assert_eq!(check.bad, 2, "{:?}", check.examples);
    }
}
