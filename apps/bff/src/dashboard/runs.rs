//! `GET /runs`: the current workspace's runs, newest first, filtered by status and template,
//! a page at a time (the same cursor as `GET /v1/runs`). While any listed run is still active
//! the page reloads itself every few seconds.

use std::collections::HashMap;

use antpath_db::run_outputs;
use antpath_db::run_reads::{self, RunFilter, RunRecord};
use antpath_types::{RunId, RunStatus};
use axum::extract::State;
use axum::http::Uri;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PageError;
use super::format::{self, duration, thousands};
use super::layout::{Section, Shell, status_badge};
use super::query;
use crate::session::SignedIn;
use crate::state::AppState;
use crate::views::{decode_run_cursor, encode_run_cursor};

/// Runs per page.
const PAGE_SIZE: i64 = 25;
/// Seconds between reloads while a listed run is active.
const REFRESH_SECONDS: u32 = 5;
/// Longest template name accepted as a filter (template names are short identifiers).
const MAX_TEMPLATE_FILTER_CHARS: usize = 200;

/// The list's query; an empty field (the filter form's "any") means no filter.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    template: Option<String>,
    cursor: Option<String>,
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// `GET /runs`.
pub async fn list(
    State(state): State<AppState>,
    signed_in: SignedIn,
    uri: Uri,
) -> Result<Markup, PageError> {
    let params: ListQuery = query(&uri)?;
    let status = non_empty(params.status.as_deref())
        .map(|s| {
            s.parse::<RunStatus>()
                .map_err(|_| PageError::BadRequest("There is no run status of that name.".into()))
        })
        .transpose()?;
    let template = non_empty(params.template.as_deref());
    if template.is_some_and(|t| t.chars().count() > MAX_TEMPLATE_FILTER_CHARS) {
        return Err(PageError::BadRequest(
            "The template filter is longer than any template name.".into(),
        ));
    }
    let after = non_empty(params.cursor.as_deref())
        .map(|c| {
            decode_run_cursor(c)
                .map_err(|_| PageError::BadRequest("This page link is not one we made.".into()))
        })
        .transpose()?;
    let filter = RunFilter {
        status,
        template_name: template,
    };
    let workspace = signed_in.workspace.id;
    // One extra row tells whether another page exists.
    let mut rows = run_reads::list(&state.pool, workspace, filter, after, PAGE_SIZE + 1).await?;
    let next_cursor = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(encode_run_cursor)
    } else {
        None
    };
    let ids: Vec<RunId> = rows.iter().map(|r| r.id).collect();
    let outputs: HashMap<RunId, i64> = run_outputs::count_outputs(&state.pool, workspace, &ids)
        .await?
        .into_iter()
        .collect();
    let any_active = rows.iter().any(|r| r.status.is_active());
    let link = |cursor: Option<&str>| page_link(status, template, cursor);

    let body = html! {
        div.page-head {
            h1 { "Runs" }
            (filter_form(status, template))
        }
        @if rows.is_empty() {
            p.empty {
                @if status.is_some() || template.is_some() {
                    "No runs match these filters. " a href="/runs" { "Show all runs" }
                } @else {
                    "No runs yet. Submit one with the API or the CLI and it shows up here."
                }
            }
        } @else {
            div.table-wrap {
                table.runs {
                    thead { tr {
                        th { "Status" } th { "Run" } th { "Template" } th { "Created" }
                        th.num { "Duration" } th.num { "Tokens" } th.num { "Outputs" }
                        th.num { "Cost" }
                    } }
                    tbody {
                        @for run in &rows {
                            (row(run, outputs.get(&run.id).copied().unwrap_or(0)))
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if after.is_some() { a href=(link(None)) { "← Newest" } }
            @if let Some(cursor) = &next_cursor { a.next href=(link(Some(cursor))) { "Older →" } }
        }
        @if any_active {
            p.muted.small { "Some runs are still active; this page refreshes every "
                (REFRESH_SECONDS) " seconds." }
        }
    };
    let mut shell = Shell::new(&signed_in, Section::Runs, "Runs");
    if any_active {
        shell = shell.refresh_every(REFRESH_SECONDS);
    }
    Ok(shell.render(body))
}

/// `/runs?…` keeping the filters, for the pager.
fn page_link(status: Option<RunStatus>, template: Option<&str>, cursor: Option<&str>) -> String {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    if let Some(status) = status {
        pairs.push(("status", status.as_str()));
    }
    if let Some(template) = template {
        pairs.push(("template", template));
    }
    if let Some(cursor) = cursor {
        pairs.push(("cursor", cursor));
    }
    let encoded: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect();
    if encoded.is_empty() {
        "/runs".into()
    } else {
        format!("/runs?{}", encoded.join("&"))
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn filter_form(status: Option<RunStatus>, template: Option<&str>) -> Markup {
    html! {
        form.filters method="get" action="/runs" {
            label { "Status "
                select name="status" {
                    option value="" selected[status.is_none()] { "any" }
                    @for s in RunStatus::ALL {
                        option value=(s.as_str()) selected[status == Some(s)] { (format::words(s.as_str())) }
                    }
                }
            }
            label { "Template "
                input type="text" name="template" value=[template] placeholder="any"
                    maxlength=(MAX_TEMPLATE_FILTER_CHARS);
            }
            button type="submit" { "Filter" }
        }
    }
}

fn row(run: &RunRecord, outputs: i64) -> Markup {
    let end = run
        .ended_at
        .or_else(|| run.status.is_terminal().then_some(run.updated_at));
    let took = duration(end.unwrap_or_else(Utc::now) - run.created_at);
    let tokens = run.input_tokens + run.output_tokens;
    html! {
        tr data-run-id=(run.id) {
            td { (status_badge(run.status)) }
            td { a.mono href=(format!("/runs/{}", run.id)) { (run.id) } }
            td {
                (run.template_name) " "
                span.mono.muted title=(run.template_hash) { (format::short_hash(&run.template_hash)) }
            }
            td { (format::time(run.created_at)) }
            td.num { @if end.is_none() { span.muted { "running " } } (took) }
            td.num title=(format!("{} in, {} out, {} cache read, {} cache written",
                thousands(run.input_tokens), thousands(run.output_tokens),
                thousands(run.cache_read_tokens), thousands(run.cache_creation_tokens))) {
                (thousands(tokens))
            }
            td.num { (outputs) }
            td.num { @if let Some(cost) = run.list_cost_micro_usd { (format::usd_micros(cost)) } @else { span.muted { "—" } } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pager_links_keep_the_filters_and_encode_them() {
        assert_eq!(page_link(None, None, None), "/runs");
        assert_eq!(
            page_link(Some(RunStatus::Failed), Some("a b&c"), Some("1.run_x")),
            "/runs?status=failed&template=a%20b%26c&cursor=1.run_x"
        );
    }
}
