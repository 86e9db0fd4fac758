//! TEMPORARY stand-in — the lead replaces this file on merge.
//!
//! It provides exactly the items the dashboard pages are written against (`SignedIn`,
//! `WorkspaceChoice`, `Action`, `CsrfForm`, and a local `Role` standing in for
//! `antpath_types::Role`), so the pages compile and their tests run before the real sign-in
//! exists. The "session" here is a cookie naming a user and a workspace, signed with the token
//! pepper (so it cannot be forged without the server's key); [`stand_in_cookie`] makes one for
//! tests. The real module keeps sessions in `web_sessions`.

use antpath_db::members;
use antpath_types::{UserId, WorkspaceId};
use axum::body::{Body, Bytes};
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;

use crate::state::AppState;

/// The stand-in session cookie's name.
pub const COOKIE: &str = "antpath_stand_in";

/// A workspace role (stand-in for `antpath_types::Role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything, including members and deleting the workspace.
    Owner,
    /// Everything but owner matters.
    Admin,
    /// Runs and tokens.
    Member,
    /// Read-only.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: &'static [Role] = &[Self::Owner, Self::Admin, Self::Member, Self::Viewer];

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Viewer => "viewer",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}`"))
    }
}

/// A workspace the signed-in user belongs to.
#[derive(Debug, Clone)]
pub struct WorkspaceChoice {
    /// The workspace.
    pub id: WorkspaceId,
    /// Its display name.
    pub name: String,
    /// The user's role there.
    pub role: Role,
}

/// What a signed-in person may try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See runs, events and outputs.
    ReadRuns,
    /// Cancel and delete runs.
    MutateRuns,
    /// Create and revoke API tokens.
    ManageTokens,
    /// Add, change and remove members.
    ManageMembers,
}

/// A signed-in person acting in their current workspace.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user.
    pub user_id: UserId,
    /// Their email, shown in the header only.
    pub email: String,
    /// The current workspace.
    pub workspace: WorkspaceChoice,
    /// Every active membership, for the switcher.
    pub workspaces: Vec<WorkspaceChoice>,
    /// Goes in every POST form as the hidden `csrf` field.
    pub csrf_token: String,
}

impl SignedIn {
    /// Whether the person's role in the current workspace allows `action`.
    pub fn may(&self, action: Action) -> bool {
        let role = self.workspace.role;
        match action {
            Action::ReadRuns => true,
            Action::MutateRuns | Action::ManageTokens => role != Role::Viewer,
            Action::ManageMembers => matches!(role, Role::Owner | Role::Admin),
        }
    }
}

fn mac(state: &AppState, purpose: &str, user: UserId, workspace: WorkspaceId) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(state.token_pepper.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(format!("{purpose}.{user}.{workspace}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The `Cookie` header value of a stand-in session of `user` in `workspace` (for tests).
pub fn stand_in_cookie(state: &AppState, user: UserId, workspace: WorkspaceId) -> String {
    format!(
        "{COOKIE}={user}.{workspace}.{}",
        mac(state, "session", user, workspace)
    )
}

/// The CSRF token of a stand-in session (for tests).
pub fn stand_in_csrf(state: &AppState, user: UserId, workspace: WorkspaceId) -> String {
    mac(state, "csrf", user, workspace)
}

fn cookie_value(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<SignedIn>, Response> {
    let Some((user, workspace, signature)) = cookie_value(parts).and_then(|value| {
        let mut fields = value.splitn(3, '.');
        Some((fields.next()?, fields.next()?, fields.next()?))
    }) else {
        return Ok(None);
    };
    let (Ok(user), Ok(workspace)) = (user.parse::<UserId>(), workspace.parse::<WorkspaceId>())
    else {
        return Ok(None);
    };
    if mac(state, "session", user, workspace) != signature {
        return Ok(None);
    }
    let internal = |err: sqlx::Error| crate::error::ApiError::from(err).into_response();
    let Some(email) = members::email_of(&state.pool, user)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let workspaces: Vec<WorkspaceChoice> = members::memberships_of(&state.pool, user)
        .await
        .map_err(internal)?
        .into_iter()
        .filter_map(|m| {
            Some(WorkspaceChoice {
                id: m.workspace_id,
                name: m.workspace_name,
                role: m.role.parse().ok()?,
            })
        })
        .collect();
    let Some(current) = workspaces.iter().find(|w| w.id == workspace).cloned() else {
        return Ok(None);
    };
    Ok(Some(SignedIn {
        user_id: user,
        email,
        workspace: current,
        workspaces,
        csrf_token: stand_in_csrf(state, user, workspace),
    }))
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match resolve(parts, state).await? {
            Some(signed_in) => Ok(signed_in),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(Redirect::to("/sign-in").into_response())
            }
            None => Err((StatusCode::FORBIDDEN, "Not signed in.").into_response()),
        }
    }
}

/// An urlencoded POST form from a signed-in person whose `csrf` field matches their session.
#[derive(Debug)]
pub struct CsrfForm<T>(pub SignedIn, pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

fn form_request(bytes: &Bytes) -> Request {
    Request::builder()
        .method(Method::POST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(bytes.clone()))
        .expect("a valid request")
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "Expected a form.").into_response());
        }
        let bytes = axum::body::to_bytes(body, state.max_body_bytes)
            .await
            .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "Form too large.").into_response())?;
        let Form(field) = Form::<CsrfField>::from_request(form_request(&bytes), state)
            .await
            .map_err(IntoResponse::into_response)?;
        if field.csrf.as_deref() != Some(signed_in.csrf_token.as_str()) {
            return Err((
                StatusCode::FORBIDDEN,
                "The form's CSRF token is missing or stale.",
            )
                .into_response());
        }
        let Form(value) = Form::<T>::from_request(form_request(&bytes), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Self(signed_in, value))
    }
}
