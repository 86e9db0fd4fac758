//! Signing in and out of the dashboard, and switching workspace.
//!
//! - `GET /sign-in` shows the form with a sign-in CSRF token, double-submitted: the same random
//!   value goes in a short-lived cookie and a hidden field, and `POST /sign-in` wants both equal
//!   (there is no session yet whose token could be used).
//! - `POST /sign-in` spends from two durable buckets (the email's, keyed by its hash, and the
//!   client address's) before it verifies anything, verifies the password off the async
//!   threads (a dummy verification for an unknown email, so timing reveals nothing), then
//!   creates the session row and sets the cookie. Every outcome is audited by user id only.
//! - `POST /sign-out` revokes the session; `POST /workspace/switch` points it at another of the
//!   user's workspaces.

use std::net::SocketAddr;

use antpath_db::audit::{self, AccountEvent};
use antpath_db::rate_limits::{self, BucketSpec, Take};
use antpath_db::web_sessions::{self, NewWebSession};
use antpath_redact::Secret;
use antpath_types::WorkspaceId;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use rand::RngCore as _;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;
use crate::pages::{bare, with_page_headers};
use crate::session::{CsrfForm, SESSION_COOKIE, cookie, keyed_hash};
use crate::state::AppState;
use crate::{password, request_id};

/// The cookie carrying the sign-in form's CSRF value.
const SIGN_IN_CSRF_COOKIE: &str = "antpath_sign_in";

/// How long a sign-in form stays usable, in seconds.
const SIGN_IN_FORM_SECONDS: u32 = 3600;

/// Longest email or password looked at; longer ones are refused before any work.
const MAX_FIELD_BYTES: usize = 1024;

/// The connection's peer address, when the server recorded one (tests calling the router
/// directly have none).
#[derive(Debug, Clone, Copy)]
pub struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| *addr),
        ))
    }
}

/// `?next=` of the sign-in page.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

/// `GET /sign-in`.
pub async fn page(State(state): State<AppState>, Query(query): Query<NextQuery>) -> Response {
    let next = safe_next(query.next.as_deref());
    form_page(&state, StatusCode::OK, next, None)
}

fn form_page(state: &AppState, status: StatusCode, next: &str, problem: Option<&str>) -> Response {
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let csrf = hex::encode(random);
    let body = html! {
        h1 { "Sign in to antpath" }
        @if let Some(problem) = problem {
            p.alert.alert-error role="alert" { (problem) }
        }
        form method="post" action="/sign-in" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="next" value=(next);
            label for="email" { "Email" }
            input #email type="email" name="email" autocomplete="username" required autofocus;
            label for="password" { "Password" }
            input #password type="password" name="password" autocomplete="current-password" required;
            button.primary type="submit" { "Sign in" }
        }
    };
    let mut response = with_page_headers((status, bare("Sign in", body)).into_response());
    let cookie = format!(
        "{SIGN_IN_CSRF_COOKIE}={csrf}; Path=/sign-in; Max-Age={SIGN_IN_FORM_SECONDS}; HttpOnly; SameSite=Lax{}",
        secure_attribute(state)
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `POST /sign-in`.
pub async fn submit(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref()).to_owned();
    let double_submitted = cookie(&headers, SIGN_IN_CSRF_COOKIE).is_some_and(|value| {
        value.len() == form.csrf.len()
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                value.as_bytes(),
                form.csrf.as_bytes(),
            ))
    });
    if !double_submitted {
        return Ok(form_page(
            &state,
            StatusCode::FORBIDDEN,
            &next,
            Some("The sign-in form expired. Please try again."),
        ));
    }
    if form.email.len() > MAX_FIELD_BYTES || form.password.len() > MAX_FIELD_BYTES {
        return Ok(form_page(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            &next,
            Some("Email or password is wrong."),
        ));
    }
    let address = client_address(&state, &headers, peer);
    if let Some(retry_after) = throttled(&state, &form.email, &address).await? {
        audit_account(&state, None, "session.sign_in_throttled", json!({})).await?;
        let mut response = form_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            Some("Too many sign-in attempts. Wait a minute and try again."),
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(retry_after.as_secs().max(1)),
        );
        return Ok(response);
    }

    let found = antpath_db::users::find_for_sign_in(&state.pool, &form.email).await?;
    let stored = found.as_ref().and_then(|user| user.password_hash.clone());
    let verified = password::verify(stored, Secret::new(form.password)).await?;
    let user = match found {
        Some(user) if verified && !user.disabled => user,
        other => {
            let reason = match &other {
                None => "unknown_email",
                Some(user) if user.disabled => "disabled",
                Some(_) => "wrong_password",
            };
            audit_account(
                &state,
                other.map(|user| user.id),
                "session.sign_in_failed",
                json!({ "reason": reason }),
            )
            .await?;
            return Ok(form_page(
                &state,
                StatusCode::UNAUTHORIZED,
                &next,
                Some("Email or password is wrong."),
            ));
        }
    };

    let mut value = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut value);
    let value = hex::encode(value);
    let session_hash = keyed_hash(&state, "session", value.as_bytes());
    let absolute = state.sessions.absolute;
    let expires_at = chrono::Utc::now()
        + chrono::TimeDelta::from_std(absolute).map_err(|e| ApiError::Internal(e.into()))?;
    web_sessions::insert(
        &state.pool,
        &NewWebSession {
            id: Uuid::now_v7(),
            user_id: user.id,
            session_hash: &session_hash,
            pepper_id: state.peppers.active_id(),
            token_version: user.token_version,
            expires_at,
        },
    )
    .await?;
    audit_account(&state, Some(user.id), "session.sign_in", json!({})).await?;
    tracing::info!(user.id = %user.id, "signed in");

    let mut response = Redirect::to(&next).into_response();
    let session_cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        absolute.as_secs(),
        secure_attribute(&state)
    );
    let cleared_form = format!("{SIGN_IN_CSRF_COOKIE}=; Path=/sign-in; Max-Age=0");
    for text in [session_cookie, cleared_form] {
        let value = HeaderValue::from_str(&text).map_err(|e| ApiError::Internal(e.into()))?;
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(with_page_headers(response))
}

/// `POST /sign-out`.
pub async fn sign_out(
    State(state): State<AppState>,
    CsrfForm(signed_in, _fields): CsrfForm<serde_json::Value>,
) -> Result<Response, ApiError> {
    web_sessions::revoke(&state.pool, signed_in.session_id).await?;
    audit_account(
        &state,
        Some(signed_in.user_id),
        "session.sign_out",
        json!({}),
    )
    .await?;
    let mut response = Redirect::to("/sign-in").into_response();
    let cleared = format!(
        "{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        secure_attribute(&state)
    );
    let value = HeaderValue::from_str(&cleared).map_err(|e| ApiError::Internal(e.into()))?;
    response.headers_mut().append(header::SET_COOKIE, value);
    Ok(with_page_headers(response))
}

/// The workspace switcher's form.
#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    workspace: String,
}

/// `POST /workspace/switch`: only to a workspace the user is a member of.
pub async fn switch_workspace(
    State(state): State<AppState>,
    CsrfForm(signed_in, form): CsrfForm<SwitchForm>,
) -> Result<Response, ApiError> {
    let wanted: WorkspaceId = form
        .workspace
        .parse()
        .map_err(|_| ApiError::NotFound("workspace"))?;
    if !signed_in.workspaces.iter().any(|w| w.id == wanted) {
        return Err(ApiError::NotFound("workspace"));
    }
    web_sessions::set_workspace(&state.pool, signed_in.session_id, wanted).await?;
    Ok(with_page_headers(Redirect::to("/runs").into_response()))
}

/// A `next` that stays on this site: a path, not `//host` or a scheme.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.starts_with("/sign-")
                && !path.chars().any(char::is_control) =>
        {
            path
        }
        _ => "/runs",
    }
}

/// `; Secure` when the public address is https.
fn secure_attribute(state: &AppState) -> &'static str {
    if state.secure_cookies { "; Secure" } else { "" }
}

/// The client's address: the trusted proxy header's first entry when configured, else the peer.
fn client_address(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    if let Some(name) = &state.client_ip_header
        && let Some(first) = headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return first.to_owned();
    }
    peer.map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
}

/// Spends one attempt from the email's and the address's buckets; `Some(retry_after)` when
/// either is empty. Bucket names carry a keyed hash of the email, never the email.
async fn throttled(
    state: &AppState,
    email: &str,
    address: &str,
) -> Result<Option<std::time::Duration>, ApiError> {
    let email_key = hex::encode(keyed_hash(
        state,
        "sign-in-email",
        email.to_lowercase().as_bytes(),
    ));
    let buckets = [
        (
            format!("sign_in:email:{email_key}"),
            state.limits.sign_in_per_minute,
        ),
        (
            format!("sign_in:address:{address}"),
            state.limits.sign_in_per_minute_per_address,
        ),
    ];
    for (key, per_minute) in buckets {
        if let Take::Limited { retry_after } =
            rate_limits::take(&state.pool, &key, BucketSpec::per_minute(per_minute), 1.0).await?
        {
            return Ok(Some(retry_after));
        }
    }
    Ok(None)
}

async fn audit_account(
    state: &AppState,
    user: Option<antpath_types::UserId>,
    action: &str,
    metadata: serde_json::Value,
) -> Result<(), ApiError> {
    let request_id = request_id::current();
    audit::record_account_event(
        &state.pool,
        &AccountEvent {
            user,
            action,
            request_id: Some(&request_id),
            metadata,
        },
    )
    .await?;
    Ok(())
}
