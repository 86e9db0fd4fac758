//! `GET /tokens`: the workspace's API tokens, and for people who may manage them a create form
//! and revoke buttons. `POST /tokens` creates one (the same shared action as `POST /v1/tokens`)
//! and shows its value once, with a copy button; `POST /tokens/{id}/revoke` revokes one. Every
//! dashboard response is `no-store`, so the page with the value is never cached.

use antpath_db::token_admin::{self, TokenListing};
use antpath_types::TokenId;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Redirect;
use maud::{Markup, html};
use serde::Deserialize;

use super::assets::Asset;
use super::error::PageError;
use super::format::{maybe_time, time};
use super::layout::{Section, Shell, csrf_field};
use super::{actor, parse_id};
use crate::actions::tokens::{MAX_TOKEN_NAME_CHARS, TokenRequest};
use crate::actions::{self};
use crate::auth::Scope;
use crate::session::{Action, CsrfForm, SignedIn};
use crate::state::AppState;

/// The scopes a form offers: checkbox name, wire spelling, what it allows.
const SCOPE_CHOICES: [(&str, Scope, &str); 3] = [
    (
        "scope_runs_read",
        Scope::RunsRead,
        "read runs, events and outputs",
    ),
    (
        "scope_runs_write",
        Scope::RunsWrite,
        "submit, cancel and delete runs; download links",
    ),
    (
        "scope_tokens_manage",
        Scope::TokensManage,
        "create and revoke tokens",
    ),
];

/// `GET /tokens`.
pub async fn list(State(state): State<AppState>, signed_in: SignedIn) -> Result<Markup, PageError> {
    let tokens = token_admin::list_with_creators(&state.pool, signed_in.workspace.id).await?;
    Ok(page(&signed_in, &tokens))
}

fn page(signed_in: &SignedIn, tokens: &[TokenListing]) -> Markup {
    let may_manage = signed_in.may(Action::ManageTokens);
    Shell::new(signed_in, Section::Tokens, "API tokens").render(html! {
        div.page-head { h1 { "API tokens" } }
        p.muted { "Tokens let programs use the API as this workspace. Each acts on behalf of the person who created it." }
        @if tokens.is_empty() {
            p.empty { "No tokens yet." }
        } @else {
            div.table-wrap { table.tokens {
                thead { tr {
                    th { "Name" } th { "Token" } th { "Scopes" } th { "Created by" } th { "Created" }
                    th { "Last used" } th { "State" } @if may_manage { th {} }
                } }
                tbody { @for listing in tokens { (row(signed_in, listing, may_manage)) } }
            } }
        }
        @if may_manage {
            section.card {
                h2 { "New token" }
                form.stack method="post" action="/tokens" {
                    (csrf_field(signed_in))
                    label { "Name "
                        input type="text" name="name" required maxlength=(MAX_TOKEN_NAME_CHARS)
                            placeholder="ci-deploy";
                    }
                    fieldset {
                        legend { "Scopes" }
                        @for (field, scope, help) in SCOPE_CHOICES {
                            label.check {
                                input type="checkbox" name=(field) value="on"
                                    checked[scope == Scope::RunsRead];
                                code { (scope.as_str()) } " — " (help)
                            }
                        }
                    }
                    button.primary type="submit" { "Create token" }
                }
            }
        }
    })
}

fn row(signed_in: &SignedIn, listing: &TokenListing, may_manage: bool) -> Markup {
    let token = &listing.token;
    html! {
        tr.revoked[token.revoked_at.is_some()] {
            td { (token.name) }
            td.mono { (token.prefix) "…" }
            td { @for scope in &token.scopes { code.scope { (scope) } " " } }
            td { (listing.creator_email) }
            td { (time(token.created_at)) }
            td { @if token.last_used_at.is_some() { (maybe_time(token.last_used_at)) } @else { span.muted { "never" } } }
            td {
                @if let Some(at) = token.revoked_at { span.badge.r-revoked { "revoked" } " " (time(at)) }
                @else { span.badge.r-active { "active" } }
            }
            @if may_manage {
                td { @if token.revoked_at.is_none() {
                    form.inline method="post" action=(format!("/tokens/{}/revoke", token.id)) {
                        (csrf_field(signed_in))
                        button.danger.small type="submit" { "Revoke" }
                    }
                } }
            }
        }
    }
}

/// The create form: a name and one checkbox per scope (distinct names, so any urlencoded
/// reader takes them).
#[derive(Debug, Deserialize)]
pub struct NewTokenForm {
    name: String,
    scope_runs_read: Option<String>,
    scope_runs_write: Option<String>,
    scope_tokens_manage: Option<String>,
}

impl NewTokenForm {
    fn scopes(&self) -> Vec<String> {
        let ticked = [
            &self.scope_runs_read,
            &self.scope_runs_write,
            &self.scope_tokens_manage,
        ];
        SCOPE_CHOICES
            .iter()
            .zip(ticked)
            .filter(|(_, value)| value.is_some())
            .map(|((_, scope, _), _)| scope.as_str().to_owned())
            .collect()
    }
}

/// `POST /tokens`: creates the token and shows it once.
pub async fn create(
    State(state): State<AppState>,
    form: CsrfForm<NewTokenForm>,
) -> Result<(StatusCode, Markup), PageError> {
    let (signed_in, request) = (form.0, form.1);
    if !signed_in.may(Action::ManageTokens) {
        return Err(PageError::not_allowed("create tokens"));
    }
    let scopes = request.scopes();
    // A token carries no more than its creator's role grants.
    let role = signed_in.workspace.role;
    let created = actions::tokens::create(
        &state,
        actor(&signed_in),
        &TokenRequest {
            name: &request.name,
            scopes: &scopes,
        },
        |scope| role.grants(scope),
    )
    .await?;
    let record = &created.record;
    let body = html! {
        section.card.created-token {
            h1 { "Token created" }
            div.callout.warn { strong { "Copy it now. " } "This is the only time it is shown; antpath keeps only a hash of it." }
            p { "Name: " strong { (record.name) } " · scopes "
                @for scope in &record.scopes { code.scope { (scope) } " " } }
            div.secret {
                input id="new-token" type="text" readonly value=(created.value.expose_secret())
                    aria-label="The new token" autocomplete="off" spellcheck="false";
                button.primary type="button" data-copy="new-token" { "Copy" }
                span.copied data-copied-for="new-token" hidden { "Copied" }
            }
            p { a href="/tokens" { "Back to tokens" } }
        }
    };
    let page = Shell::new(&signed_in, Section::Tokens, "Token created")
        .script(Asset::TokenJs)
        .render(body);
    Ok((StatusCode::CREATED, page))
}

/// The revoke form carries only its CSRF field.
#[derive(Debug, Deserialize)]
pub struct RevokeForm {}

/// `POST /tokens/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: CsrfForm<RevokeForm>,
) -> Result<Redirect, PageError> {
    let signed_in = form.0;
    let id: TokenId = parse_id(&id, "token")?;
    if !signed_in.may(Action::ManageTokens) {
        return Err(PageError::not_allowed("revoke tokens"));
    }
    actions::tokens::revoke(&state, actor(&signed_in), id).await?;
    Ok(Redirect::to("/tokens"))
}
