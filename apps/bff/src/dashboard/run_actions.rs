//! Cancel and delete, each in two steps: `GET` shows what will happen and a confirm button,
//! the confirm button `POST`s (with the CSRF field) and the shared action does it — the same
//! one `POST /v1/runs/{id}/cancel` and `DELETE /v1/runs/{id}` use. People whose role may not
//! change runs see no buttons, and are refused with a 403 page if they ask anyway.

use antpath_db::run_reads::{self, RunRecord};
use antpath_types::RunId;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;

use super::error::PageError;
use super::layout::{Section, Shell, csrf_field, status_badge};
use super::{actor, parse_id};
use crate::actions;
use crate::session::{Action, CsrfForm, SignedIn};
use crate::state::AppState;

/// A confirmation form carries only its CSRF field (checked by [`CsrfForm`]).
#[derive(Debug, Deserialize)]
pub struct Confirm {}

/// The run a confirmation is about, after the role check.
async fn run_to_change(
    state: &AppState,
    signed_in: &SignedIn,
    id: &str,
    what: &str,
) -> Result<RunRecord, PageError> {
    let id: RunId = parse_id(id, "run")?;
    if !signed_in.may(Action::MutateRuns) {
        return Err(PageError::not_allowed(what));
    }
    run_reads::get(&state.pool, signed_in.workspace.id, id)
        .await?
        .ok_or(PageError::NotFound("run"))
}

fn confirmation(
    signed_in: &SignedIn,
    run: &RunRecord,
    verb: &str,
    explanation: Markup,
    button_class: &str,
) -> Markup {
    let title = format!("{verb} run {}?", run.id);
    Shell::new(signed_in, Section::Runs, title.clone()).render(html! {
        section.card.confirm {
            h1 { (verb) " run " span.mono { (run.id) } "?" }
            p { (status_badge(run.status)) " · " (run.template_name) }
            (explanation)
            form method="post" action=(format!("/runs/{}/{}", run.id, verb.to_lowercase())) {
                (csrf_field(signed_in))
                button.(button_class) type="submit" { "Confirm: " (verb.to_lowercase()) " this run" }
                " "
                a href=(format!("/runs/{}", run.id)) { "Keep it" }
            }
        }
    })
}

/// `GET /runs/{id}/cancel`: the confirmation.
pub async fn confirm_cancel(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let run = run_to_change(&state, &signed_in, &id, "cancel runs").await?;
    let explanation = if run.status.is_active() {
        html! { p { "The run stops as soon as a worker picks up the request. Outputs produced so far are still captured." } }
    } else {
        html! { p { "This run is already over; cancelling changes nothing." } }
    };
    Ok(confirmation(
        &signed_in,
        &run,
        "Cancel",
        explanation,
        "warn",
    ))
}

/// `POST /runs/{id}/cancel`: records the cancel, then back to the run.
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Confirm>,
) -> Result<Redirect, PageError> {
    let signed_in = form.0;
    let id = run_it_may_change(&signed_in, &id, "cancel runs")?;
    actions::runs::cancel(&state, actor(&signed_in), id).await?;
    Ok(Redirect::to(&format!("/runs/{id}")))
}

/// `GET /runs/{id}/delete`: the confirmation.
pub async fn confirm_delete(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let run = run_to_change(&state, &signed_in, &id, "delete runs").await?;
    let explanation = html! {
        p { "Its stored outputs are removed and cannot be downloaded again. "
            @if run.status.is_active() { "The run is still active, so it is cancelled first. " }
            "Its metadata stays listed as deleted." }
    };
    Ok(confirmation(
        &signed_in,
        &run,
        "Delete",
        explanation,
        "danger",
    ))
}

/// `POST /runs/{id}/delete`: records the delete, then back to the list.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<Confirm>,
) -> Result<Redirect, PageError> {
    let signed_in = form.0;
    let id = run_it_may_change(&signed_in, &id, "delete runs")?;
    actions::runs::delete(&state, actor(&signed_in), id).await?;
    Ok(Redirect::to("/runs"))
}

/// The run a POST names, once the signed-in person's role may change runs (`what` names the
/// action in the refusal).
fn run_it_may_change(signed_in: &SignedIn, id: &str, what: &str) -> Result<RunId, PageError> {
    let id: RunId = parse_id(id, "run")?;
    if !signed_in.may(Action::MutateRuns) {
        return Err(PageError::not_allowed(what));
    }
    Ok(id)
}
