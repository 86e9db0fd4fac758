//! `GET /workspace`: the current workspace's storage against its cap, active runs against
//! theirs, any deletion under way, and its members. Owners and admins manage members: add an
//! existing user by email, change a role, remove a member. Only an owner may grant the owner
//! role or change an owner's membership, and the last owner can be neither demoted nor removed
//! (the db decides that under a lock, see [`antpath_db::members`]).

use antpath_db::members::{self, Change, Member};
use antpath_types::{Role, UserId};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::json;

use super::error::PageError;
use super::format::{human_size, time};
use super::layout::{Section, Shell, csrf_field};
use super::{actor, parse_id};
use crate::routes::workspace::{WorkspaceView, load_view};
use crate::routes::{Bucket, rate_limit};
use crate::session::{Action, CsrfForm, SignedIn};
use crate::state::AppState;

/// Longest email the schema accepts.
const MAX_EMAIL_CHARS: usize = 320;

/// `GET /workspace`.
pub async fn show(State(state): State<AppState>, signed_in: SignedIn) -> Result<Markup, PageError> {
    render(&state, &signed_in, None).await
}

/// The page, with `notice` (why a member change was refused) above the members.
async fn render(
    state: &AppState,
    signed_in: &SignedIn,
    notice: Option<&str>,
) -> Result<Markup, PageError> {
    let workspace = signed_in.workspace.id;
    let mut conn = state.pool.acquire().await?;
    let view = load_view(&mut conn, workspace)
        .await?
        .ok_or(PageError::NotFound("workspace"))?;
    let members = members::list(&mut *conn, workspace).await?;
    Ok(
        Shell::new(signed_in, Section::Workspace, view.name.clone()).render(html! {
            div.page-head {
                div {
                    h1 { (view.name) }
                    p.subtitle.muted { "Plan " (view.plan.name) " · " span.mono { (view.id) } " · " (view.status) }
                }
            }
            (deletion(&view))
            (usage(&view))
            (members_section(signed_in, &members, notice))
        }),
    )
}

fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        100
    } else {
        (part.saturating_mul(100) / whole).clamp(0, 100)
    }
}

fn usage(view: &WorkspaceView) -> Markup {
    let storage = &view.storage;
    let cap_runs = i64::from(view.plan.max_active_runs);
    html! {
        div.columns {
            section.card.meter {
                h2 { "Storage" }
                progress value=(storage.used_bytes.min(storage.cap_bytes)) max=(storage.cap_bytes.max(1)) {
                    (percent(storage.used_bytes, storage.cap_bytes)) "%"
                }
                p { strong { (human_size(storage.used_bytes)) } " of " (human_size(storage.cap_bytes))
                    " (" (percent(storage.used_bytes, storage.cap_bytes)) "%)" }
                @if storage.used_bytes >= storage.cap_bytes {
                    p.callout.warn { "The storage cap is reached: new outputs are not captured until space is freed." }
                }
            }
            section.card.meter {
                h2 { "Active runs" }
                progress value=(view.active_runs.min(cap_runs)) max=(cap_runs.max(1)) {
                    (percent(view.active_runs, cap_runs)) "%"
                }
                p { strong { (view.active_runs) } " of " (cap_runs) " at once"
                    " · at most " (view.plan.max_active_runs_per_token) " per token" }
            }
        }
    }
}

fn deletion(view: &WorkspaceView) -> Markup {
    html! {
        @if let Some(deletion) = &view.deletion {
            div.callout.error role="status" {
                strong { "This workspace is being deleted (" (deletion.state) "). " }
                "Asked for " (time(deletion.requested_at)) ". "
                (deletion.progress.runs_remaining) " runs and "
                (human_size(deletion.progress.bytes_remaining)) " of outputs are left to remove."
            }
        }
    }
}

/// Whether the person may change `target`'s membership: managers may, but an owner's
/// membership only an owner may touch.
fn may_change(signed_in: &SignedIn, target_role: Role) -> bool {
    signed_in.may(Action::ManageMembers)
        && (target_role != Role::Owner || signed_in.workspace.role == Role::Owner)
}

/// The roles the person may grant.
fn grantable(signed_in: &SignedIn) -> Vec<Role> {
    Role::ALL
        .iter()
        .copied()
        .filter(|r| *r != Role::Owner || signed_in.workspace.role == Role::Owner)
        .collect()
}

fn role_select(name: &str, id: &str, roles: &[Role], selected: Role) -> Markup {
    html! {
        select name=(name) id=(id) {
            @for role in roles {
                option value=(role.as_str()) selected[*role == selected] { (role.as_str()) }
            }
        }
    }
}

fn members_section(signed_in: &SignedIn, members: &[Member], notice: Option<&str>) -> Markup {
    let manage = signed_in.may(Action::ManageMembers);
    let roles = grantable(signed_in);
    html! {
        section.card {
            h2 { "Members" }
            @if let Some(notice) = notice { div.callout.error role="alert" { (notice) } }
            div.table-wrap { table.members {
                thead { tr { th { "Email" } th { "Role" } th { "Member since" } @if manage { th { "Change" } } } }
                tbody { @for m in members { tr {
                    td { (m.email) @if m.user_id == signed_in.user_id { " " span.muted { "(you)" } } }
                    td { span.badge.(format!("role-{}", m.role.as_str())) { (m.role.as_str()) } }
                    td { (time(m.since)) }
                    @if manage {
                        td { @if may_change(signed_in, m.role) {
                            form.inline method="post" action=(format!("/workspace/members/{}/role", m.user_id)) {
                                (csrf_field(signed_in))
                                label.visually-hidden for=(format!("role-{}", m.user_id)) { "Role" }
                                (role_select("role", &format!("role-{}", m.user_id), &roles, m.role))
                                button.small type="submit" { "Set role" }
                            }
                            " "
                            form.inline method="post" action=(format!("/workspace/members/{}/remove", m.user_id)) {
                                (csrf_field(signed_in))
                                button.danger.small type="submit" { "Remove" }
                            }
                        } }
                    }
                } } }
            } }
            @if manage {
                h3 { "Add a member" }
                form.inline-form method="post" action="/workspace/members" {
                    (csrf_field(signed_in))
                    label { "Email " input type="email" name="email" required maxlength=(MAX_EMAIL_CHARS); }
                    label { "Role " (role_select("role", "new-member-role", &roles, Role::Member)) }
                    button.primary type="submit" { "Add" }
                }
                p.muted.small { "The person must already have an antpath account." }
            }
        }
    }
}

/// The add form.
#[derive(Debug, Deserialize)]
pub struct AddMemberForm {
    email: String,
    role: String,
}

/// The role form.
#[derive(Debug, Deserialize)]
pub struct RoleForm {
    role: String,
}

/// The remove form carries only its CSRF field.
#[derive(Debug, Deserialize)]
pub struct RemoveForm {}

fn parse_role(text: &str) -> Result<Role, PageError> {
    text.parse()
        .map_err(|_| PageError::BadRequest("There is no role of that name.".into()))
}

/// The workspace page again with `notice`, answered with `status` (a refused change).
async fn refused(
    state: &AppState,
    signed_in: &SignedIn,
    status: StatusCode,
    notice: &str,
) -> Result<Response, PageError> {
    Ok((status, render(state, signed_in, Some(notice)).await?).into_response())
}

const LAST_OWNER: &str = "A workspace needs at least one owner: make someone else an owner first.";

/// `POST /workspace/members`: adds an existing user by email (or brings back a removed one).
pub async fn add_member(
    State(state): State<AppState>,
    form: CsrfForm<AddMemberForm>,
) -> Result<Response, PageError> {
    let (signed_in, request) = (form.0, form.1);
    if !signed_in.may(Action::ManageMembers) {
        return Err(PageError::not_allowed("manage members"));
    }
    let role = parse_role(&request.role)?;
    if !grantable(&signed_in).contains(&role) {
        return Err(PageError::not_allowed("grant the owner role"));
    }
    let email = request.email.trim();
    if email.is_empty() || email.chars().count() > MAX_EMAIL_CHARS {
        return Err(PageError::BadRequest("Enter the person's email.".into()));
    }
    let workspace = signed_in.workspace.id;
    rate_limit(&state, Bucket::Mutate, workspace).await?;
    let Some(user) = antpath_db::users::find_id_by_email(&state.pool, email).await? else {
        return refused(
            &state,
            &signed_in,
            StatusCode::UNPROCESSABLE_ENTITY,
            "No antpath account uses that email; the person must have an account first.",
        )
        .await;
    };
    let current = members::role_of(&state.pool, workspace, user).await?;
    if current.is_some_and(|role| !may_change(&signed_in, role)) {
        return Err(PageError::not_allowed("change an owner's membership"));
    }
    let audit = json!({ "role": role.as_str() });
    apply(&state, &signed_in, user, ("member.add", audit), |tx| {
        Box::pin(members::set_role(tx, workspace, user, role))
    })
    .await
}

/// `POST /workspace/members/{user_id}/role`.
pub async fn change_role(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    form: CsrfForm<RoleForm>,
) -> Result<Response, PageError> {
    let (signed_in, request) = (form.0, form.1);
    let user: UserId = parse_id(&user_id, "member")?;
    if !signed_in.may(Action::ManageMembers) {
        return Err(PageError::not_allowed("manage members"));
    }
    let role = parse_role(&request.role)?;
    let workspace = signed_in.workspace.id;
    let current = members::role_of(&state.pool, workspace, user)
        .await?
        .ok_or(PageError::NotFound("member"))?;
    if !may_change(&signed_in, current) || !grantable(&signed_in).contains(&role) {
        return Err(PageError::not_allowed("change an owner's membership"));
    }
    rate_limit(&state, Bucket::Mutate, workspace).await?;
    let audit = json!({ "role": role.as_str() });
    apply(&state, &signed_in, user, ("member.role", audit), |tx| {
        Box::pin(members::set_role(tx, workspace, user, role))
    })
    .await
}

/// `POST /workspace/members/{user_id}/remove`.
pub async fn remove_member(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    form: CsrfForm<RemoveForm>,
) -> Result<Response, PageError> {
    let signed_in = form.0;
    let user: UserId = parse_id(&user_id, "member")?;
    if !signed_in.may(Action::ManageMembers) {
        return Err(PageError::not_allowed("manage members"));
    }
    let workspace = signed_in.workspace.id;
    let current = members::role_of(&state.pool, workspace, user)
        .await?
        .ok_or(PageError::NotFound("member"))?;
    if !may_change(&signed_in, current) {
        return Err(PageError::not_allowed("change an owner's membership"));
    }
    rate_limit(&state, Bucket::Mutate, workspace).await?;
    apply(
        &state,
        &signed_in,
        user,
        ("member.remove", json!({})),
        |tx| Box::pin(members::remove(tx, workspace, user)),
    )
    .await
}

/// A membership change's future, borrowing the transaction.
type ChangeFuture<'t> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Change, sqlx::Error>> + Send + 't>>;

/// Runs `change` in a transaction, audits it as `(action, metadata)` on `user`, and answers:
/// back to the workspace page when done, the page with a notice when refused.
async fn apply(
    state: &AppState,
    signed_in: &SignedIn,
    user: UserId,
    (action, metadata): (&str, serde_json::Value),
    change: impl for<'t> FnOnce(&'t mut sqlx::PgConnection) -> ChangeFuture<'t>,
) -> Result<Response, PageError> {
    let mut tx = state.pool.begin().await?;
    match change(&mut tx).await? {
        Change::Done => {
            actor(signed_in)
                .audit(&mut *tx, action, "user", user.to_string(), metadata)
                .await?;
            tx.commit().await?;
            Ok(Redirect::to("/workspace").into_response())
        }
        Change::LastOwner => {
            drop(tx);
            refused(state, signed_in, StatusCode::CONFLICT, LAST_OWNER).await
        }
        Change::NotMember => Err(PageError::NotFound("member")),
    }
}
