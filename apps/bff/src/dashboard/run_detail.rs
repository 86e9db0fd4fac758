//! `GET /runs/{id}`: one run of the current workspace — what it is, its lifecycle timeline,
//! provider attempts, event metadata, outputs and capture failures, and how its cleanup
//! stands — and `GET /runs/{id}/outputs/{output_id}/download`, which signs a download link only
//! when followed and redirects to it.
//!
//! While a worker still has work on the run (`phase` is not `done`) the page carries the
//! `data-stream` of `GET /v1/runs/{id}/stream` and `run.js` keeps it current.

use antpath_db::run_history::{self, AttemptRecord, PhaseStep, ResourceStanding};
use antpath_db::run_outputs::{self, CaptureFailureRecord, EventRecord, OutputRecord};
use antpath_db::run_reads::{self, RunRecord};
use antpath_types::{CleanupState, OutputId, Phase, RunId};
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};

use super::assets::Asset;
use super::error::PageError;
use super::format::{self, human_size, maybe_time, thousands, time};
use super::layout::{Section, Shell, cleanup_badge, state_badge, status_badge};
use super::{actor, parse_id};
use crate::actions;
use crate::session::{Action, SignedIn};
use crate::state::AppState;

/// Events listed on the page; the rest arrive live or through the API.
const MAX_EVENTS: i64 = 1000;

/// Everything the page shows.
struct RunPage {
    run: RunRecord,
    history: Vec<PhaseStep>,
    attempts: Vec<AttemptRecord>,
    events: Vec<EventRecord>,
    events_cut: bool,
    outputs: Vec<OutputRecord>,
    failures: Vec<CaptureFailureRecord>,
    resources: Vec<ResourceStanding>,
}

async fn load(state: &AppState, signed_in: &SignedIn, id: RunId) -> Result<RunPage, PageError> {
    let workspace = signed_in.workspace.id;
    let pool = &state.pool;
    let run = run_reads::get(pool, workspace, id)
        .await?
        .ok_or(PageError::NotFound("run"))?;
    let mut events = run_outputs::list_events(pool, workspace, id, None, MAX_EVENTS + 1).await?;
    let events_cut = events.len() as i64 > MAX_EVENTS;
    events.truncate(MAX_EVENTS as usize);
    Ok(RunPage {
        history: run_history::phase_history(pool, workspace, id).await?,
        attempts: run_history::attempts(pool, workspace, id).await?,
        events,
        events_cut,
        outputs: run_outputs::list_outputs(pool, workspace, id).await?,
        failures: run_outputs::list_capture_failures(pool, workspace, id).await?,
        resources: run_history::resources(pool, workspace, id).await?,
        run,
    })
}

/// `GET /runs/{id}`.
pub async fn show(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id: RunId = parse_id(&id, "run")?;
    let page = load(&state, &signed_in, id).await?;
    let run = &page.run;
    let live = run.phase != Phase::Done;
    let last_seq = page.events.last().map_or(0, |e| e.seq);
    let body = html! {
        div.run
            data-run-id=(run.id)
            data-stream=[live.then(|| format!("/v1/runs/{}/stream", run.id))]
            data-last-seq=(last_seq)
            data-status=(run.status.as_str())
            data-phase=(run.phase.as_str())
            data-cleanup=(run.cleanup_state.as_str())
        {
            (heading(&signed_in, run))
            (cleanup_warning(run))
            (failure(run))
            (summary(run))
            div.columns {
                (timeline(&page.history, run))
                (attempts(&page.attempts))
            }
            (outputs(run.id, &page.outputs, &page.failures))
            (events(&page.events, page.events_cut))
            (cleanup(run, &page.resources))
        }
    };
    let shell = Shell::new(&signed_in, Section::Runs, format!("Run {}", run.id));
    let shell = if live {
        shell.script(Asset::RunJs)
    } else {
        shell
    };
    Ok(shell.render(body))
}

fn heading(signed_in: &SignedIn, run: &RunRecord) -> Markup {
    let may_mutate = signed_in.may(Action::MutateRuns);
    html! {
        div.page-head {
            div {
                p.crumbs { a href="/runs" { "Runs" } " /" }
                h1.mono { (run.id) }
                p.subtitle {
                    span #run-status { (status_badge(run.status)) }
                    " phase " code #run-phase { (run.phase.as_str()) }
                    " · " (run.template_name) " "
                    span.mono.muted title=(run.template_hash) { (format::short_hash(&run.template_hash)) }
                }
            }
            @if may_mutate {
                div.actions {
                    @if run.status.is_active() && run.cancel_requested_at.is_none() {
                        a.button.warn href=(format!("/runs/{}/cancel", run.id)) { "Cancel run" }
                    }
                    @if run.pending_delete_at.is_none() {
                        a.button.danger href=(format!("/runs/{}/delete", run.id)) { "Delete run" }
                    }
                }
            }
        }
    }
}

/// A box that cannot be missed while cleanup is under way, retrying or gave up.
fn cleanup_warning(run: &RunRecord) -> Markup {
    let (headline, message) = match run.cleanup_state {
        CleanupState::Running => (
            "Cleanup has not finished.",
            "Cleanup of this run's provider resources is under way.",
        ),
        CleanupState::Retrying => (
            "Cleanup has not finished.",
            "Cleanup of this run's provider resources failed and is being retried. Resources may \
             still exist on the provider until it succeeds.",
        ),
        CleanupState::Abandoned => (
            "Cleanup did not finish.",
            "It gave up: the run's secrets were destroyed, but the provider resources listed \
             under Cleanup may still exist and may need removing by hand.",
        ),
        CleanupState::Pending | CleanupState::Succeeded | CleanupState::Retained => {
            return html! {};
        }
    };
    html! {
        div.callout.warn #cleanup-warning role="status" {
            strong { (headline) } " " (message)
        }
    }
}

fn failure(run: &RunRecord) -> Markup {
    html! {
        @if let Some(class) = &run.error_class {
            div.callout.error {
                strong { "Error: " } code { (class) }
                @if let Some(message) = &run.error_message { p.reason { (message) } }
            }
        }
    }
}

fn summary(run: &RunRecord) -> Markup {
    html! {
        dl.facts {
            div { dt { "Created" } dd { (time(run.created_at)) } }
            div { dt { "Dispatched" } dd { (maybe_time(run.dispatched_at)) } }
            div { dt { "Ended" } dd { (maybe_time(run.ended_at)) } }
            @if let (Some(ended), Some(started)) = (run.ended_at, run.dispatched_at) {
                div { dt { "Ran for" } dd { (format::duration(ended - started)) } }
            }
            div { dt { "Attempt" } dd { (run.attempt_count) " of at most " (run.max_attempts) } }
            div { dt { "Input tokens" } dd.num #run-input-tokens { (thousands(run.input_tokens)) } }
            div { dt { "Output tokens" } dd.num #run-output-tokens { (thousands(run.output_tokens)) } }
            div { dt { "Cache read / written" } dd.num {
                (thousands(run.cache_read_tokens)) " / " (thousands(run.cache_creation_tokens)) } }
            @if let Some(cost) = run.list_cost_micro_usd {
                div { dt { "Cost" } dd.num #run-cost { (format::usd_micros(cost)) } }
            }
            @if let Some(active) = run.active_seconds {
                div { dt { "Active" } dd.num { (format!("{active:.1} s")) } }
            }
            div { dt { "Duration cap" } dd { (format::duration(chrono::TimeDelta::seconds(run.max_duration_seconds.into()))) } }
            @if let Some(budget) = run.max_spend_usd {
                div { dt { "Spend budget" } dd { "$" (format!("{budget:.2}")) } }
            }
            @if let Some(at) = run.cancel_requested_at {
                div { dt { "Cancel requested" } dd { (time(at)) } }
            }
            @if let Some(at) = run.pending_delete_at {
                div { dt { "Delete requested" } dd { (time(at)) } }
            }
            @if let Some(key) = &run.idempotency_key {
                div { dt { "Idempotency key" } dd.mono { (key) } }
            }
        }
    }
}

/// One timeline entry; `run.js` appends entries of the same shape.
fn step(entry: &PhaseStep) -> Markup {
    html! {
        li {
            (time(entry.entered_at)) " "
            (status_badge(entry.status))
            " phase " code { (entry.phase.as_str()) }
            " · cleanup " (format::words(entry.cleanup_state.as_str()))
        }
    }
}

fn timeline(history: &[PhaseStep], run: &RunRecord) -> Markup {
    html! {
        section.card {
            h2 { "Timeline" }
            ol.timeline #timeline {
                @for entry in history { (step(entry)) }
                @if history.is_empty() {
                    li.muted { "Submitted " (time(run.created_at)) "; no lifecycle history was recorded." }
                }
            }
        }
    }
}

fn attempts(attempts: &[AttemptRecord]) -> Markup {
    html! {
        section.card {
            h2 { "Provider attempts" }
            @if attempts.is_empty() {
                p.muted { "No provider attempt has started yet." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th { "#" } th { "State" } th { "Started" } th { "Ended" } th { "Tools" } th { "Error" } } }
                    tbody { @for a in attempts { tr {
                        td.num { (a.attempt_number) }
                        td { (state_badge(&a.state)) }
                        td { (time(a.started_at)) }
                        td { (maybe_time(a.ended_at)) }
                        td { @if a.used_tools { "used" } @else { span.muted { "none" } } }
                        td {
                            @if let Some(class) = &a.error_class { code { (class) } }
                            @if let Some(message) = &a.error_message { " " span.reason { (message) } }
                        }
                    } } }
                } }
            }
        }
    }
}

/// Why a file was not captured, in words.
fn skip_reason(reason: &str) -> &str {
    match reason {
        "workspace_quota_exceeded" => "the workspace's storage cap was reached",
        "size_cap_exceeded" => "larger than the largest file antpath keeps",
        "size_mismatch" => "its size did not match what the provider listed",
        "download_failed" => "downloading it from the provider failed",
        "upload_failed" => "storing it failed",
        "capture_abandoned" => "capture gave up before reaching it",
        "not_downloadable" => "the provider does not serve it (a copy of a mounted input)",
        other => other,
    }
}

/// `<filename> (<size>) — skipped: <reason>`.
fn failure_line(failure: &CaptureFailureRecord) -> String {
    let size = failure
        .size_bytes
        .map_or_else(|| "size unknown".to_owned(), human_size);
    format!(
        "{} ({size}) — skipped: {}",
        failure.display_name,
        skip_reason(&failure.reason)
    )
}

fn outputs(run: RunId, outputs: &[OutputRecord], failures: &[CaptureFailureRecord]) -> Markup {
    html! {
        section.card #outputs {
            h2 { "Outputs" }
            @if outputs.is_empty() && failures.is_empty() {
                p.muted { "No outputs captured." }
            }
            @if !outputs.is_empty() {
                div.table-wrap { table.outputs {
                    thead { tr { th { "File" } th.num { "Size" } th { "SHA-256" } th { "Type" } th {} } }
                    tbody { @for o in outputs { tr {
                        td.filename { (o.display_name) }
                        td.num title=(format!("{} bytes", thousands(o.size_bytes))) { (human_size(o.size_bytes)) }
                        td.mono.hash { (o.sha256) }
                        td { @if let Some(t) = &o.content_type { (t) } @else { span.muted { "—" } } }
                        td { a.button.small href=(format!("/runs/{run}/outputs/{}/download", o.id)) { "Download" } }
                    } } }
                } }
            }
            @if !failures.is_empty() {
                h3 { "Not captured" }
                ul.failures {
                    @for f in failures {
                        li {
                            span.failure-line { (failure_line(f)) }
                            @if let Some(message) = &f.message { " " span.muted.reason { (message) } }
                        }
                    }
                }
            }
        }
    }
}

/// Tokens of an event's summary, as `in / out`, when it reports any.
fn event_tokens(summary: &serde_json::Value) -> Option<String> {
    let input = summary
        .get("input_tokens")
        .and_then(serde_json::Value::as_i64);
    let output = summary
        .get("output_tokens")
        .and_then(serde_json::Value::as_i64);
    (input.is_some() || output.is_some()).then(|| {
        format!(
            "{} in / {} out",
            thousands(input.unwrap_or(0)),
            thousands(output.unwrap_or(0))
        )
    })
}

fn events(events: &[EventRecord], cut: bool) -> Markup {
    html! {
        section.card {
            h2 { "Events" }
            p.muted.small #events-empty hidden[!events.is_empty()] { "No events yet." }
            div.table-wrap #events-table hidden[events.is_empty()] { table.events {
                thead { tr { th.num { "#" } th { "Type" } th { "Time" } th { "Attempt" } th { "Tool" } th.num { "Tokens" } } }
                tbody #events-body {
                    @for e in events { tr {
                        td.num { (e.seq) }
                        td.mono { (e.event_type) }
                        td { (time(e.processed_at.unwrap_or(e.received_at))) }
                        td.num { (e.attempt) }
                        td { @if let Some(tool) = e.summary.get("tool").and_then(|t| t.as_str()) { code { (tool) } } }
                        td.num { @if let Some(tokens) = event_tokens(&e.summary) { (tokens) } }
                    } }
                }
            } }
            @if cut {
                p.muted.small { "Showing the first " (thousands(MAX_EVENTS)) " events; "
                    code { "GET /v1/runs/{id}/events" } " lists them all." }
            }
        }
    }
}

fn cleanup(run: &RunRecord, resources: &[ResourceStanding]) -> Markup {
    html! {
        section.card {
            h2 { "Cleanup" }
            p {
                span #run-cleanup { (cleanup_badge(run.cleanup_state)) }
                " policy " code { (run.cleanup_policy.as_str()) }
                " · " (run.cleanup_rounds) " round" @if run.cleanup_rounds != 1 { "s" }
            }
            @if let Some(class) = run.cleanup_error_class {
                p { "Last failure: " code { (class.as_str()) }
                    @if let Some(message) = &run.cleanup_error_message { " " span.reason { (message) } } }
            }
            @if resources.is_empty() {
                p.muted { "No provider resources were created." }
            } @else {
                div.table-wrap { table {
                    thead { tr { th { "Kind" } th { "Resource" } th.num { "Attempt" } th { "Provider id" } th { "State" } th.num { "Failed tries" } th { "Updated" } } }
                    tbody { @for r in resources { tr {
                        td { (r.kind.as_str()) }
                        td.mono { (r.logical_key) @if r.found_by_scan { " " span.muted { "(found by scan)" } } }
                        td.num { (r.attempt_number) }
                        td.mono { @if let Some(id) = &r.provider_id { (id) } @else { span.muted { "—" } } }
                        td { (state_badge(r.state.as_str())) }
                        td.num { (r.failed_cleanup_tries) }
                        td { (time(r.updated_at)) }
                    } } }
                } }
            }
        }
    }
}

/// `GET /runs/{id}/outputs/{output_id}/download`: signs a link now (rate-limited and audited
/// like `POST /v1/runs/{id}/outputs/{output_id}/link`) and answers 303 to it. The link is in
/// the `Location` header only, never in a page.
pub async fn download(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path((id, output_id)): Path<(String, String)>,
) -> Result<Redirect, PageError> {
    let run: RunId = parse_id(&id, "run")?;
    let output_id: OutputId = parse_id(&output_id, "output")?;
    if !signed_in.may(Action::ReadRuns) {
        return Err(PageError::not_allowed("download outputs"));
    }
    let link = actions::runs::sign_output_link(&state, actor(&signed_in), run, output_id).await?;
    Ok(Redirect::to(&link.url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_failure_reads_as_name_size_and_reason() {
        let failure = CaptureFailureRecord {
            provider_file_id: "file_1".into(),
            filename: "big.bin".into(),
            display_name: "big.bin".into(),
            size_bytes: Some(1_234_567),
            reason: "workspace_quota_exceeded".into(),
            message: None,
            created_at: chrono::Utc::now(),
        };
        assert_eq!(
            failure_line(&failure),
            "big.bin (1.2 MB) — skipped: the workspace's storage cap was reached"
        );
        let unknown = CaptureFailureRecord {
            size_bytes: None,
            reason: "something_new".into(),
            ..failure
        };
        assert_eq!(
            failure_line(&unknown),
            "big.bin (size unknown) — skipped: something_new"
        );
        let mounted = CaptureFailureRecord {
            display_name: "résumé.csv".into(),
            size_bytes: Some(64),
            reason: "not_downloadable".into(),
            ..unknown
        };
        assert_eq!(
            failure_line(&mounted),
            "résumé.csv (64 B) — skipped: the provider does not serve it (a copy of a mounted input)"
        );
    }

    #[test]
    fn event_tokens_show_only_when_the_event_reports_usage() {
        assert_eq!(event_tokens(&serde_json::json!({"tool": "bash"})), None);
        assert_eq!(
            event_tokens(&serde_json::json!({"input_tokens": 1200, "output_tokens": 34}))
                .as_deref(),
            Some("1,200 in / 34 out")
        );
    }
}
