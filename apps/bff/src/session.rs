//! Dashboard sessions: the cookie, its server-side row, the [`SignedIn`] extractor of pages,
//! and CSRF protection of their forms ([`CsrfForm`]).
//!
//! - The cookie `antpath_session` carries 256 random bits; only their HMAC under the server
//!   pepper is stored (`web_sessions.session_hash`), so a database leak signs nobody in.
//! - A session is valid while it is unrevoked, younger than the absolute expiry, used within
//!   the idle window, its user enabled and its `token_version` current
//!   ([`antpath_db::web_sessions::find_valid`]); every request checks it, so disabling a user
//!   or bumping their version ends their sessions on the next request.
//! - The CSRF token of a session is the HMAC of its id under the pepper the session was signed
//!   in under (`web_sessions.pepper_id`; see [`crate::pepper`]): nothing to store, and
//!   unguessable without the pepper. Forms carry it as the field `csrf`; the JSON routes,
//!   when called with a session cookie instead of a token, want it in `X-CSRF-Token`.

use antpath_types::{Role, UserId, WorkspaceId};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "antpath_session";

/// Refresh `last_seen_at` at most this often, not on every request.
const TOUCH_EVERY_SECONDS: i64 = 60;

/// A workspace the signed-in user may look at, with their role in it.
#[derive(Debug, Clone)]
pub struct WorkspaceChoice {
    /// The workspace.
    pub id: WorkspaceId,
    /// Its name.
    pub name: String,
    /// The user's role there.
    pub role: Role,
}

/// Something a page lets a member do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See runs, events and outputs.
    ReadRuns,
    /// Cancel and delete runs.
    MutateRuns,
    /// Create and revoke API tokens.
    ManageTokens,
    /// Add members, change their roles, remove them.
    ManageMembers,
}

/// The signed-in person of a dashboard request, in their current workspace.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The user.
    pub user_id: UserId,
    /// The session's row id.
    pub session_id: Uuid,
    /// The user's email, shown in the page header only (never logged).
    pub email: String,
    /// The workspace the session is looking at.
    pub workspace: WorkspaceChoice,
    /// Every workspace the user is an active member of, for the switcher.
    pub workspaces: Vec<WorkspaceChoice>,
    /// The session's CSRF token, for the `csrf` field of every form.
    pub csrf_token: String,
}

impl SignedIn {
    /// Whether the user's role in the current workspace allows `action`.
    pub fn may(&self, action: Action) -> bool {
        let role = self.workspace.role;
        match action {
            Action::ReadRuns => role.grants(antpath_types::Permission::RunsRead),
            Action::MutateRuns => role.grants(antpath_types::Permission::RunsWrite),
            Action::ManageTokens => role.grants(antpath_types::Permission::TokensManage),
            Action::ManageMembers => role.manages_members(),
        }
    }
}

/// Why a page could not be shown to the caller as they are.
#[derive(Debug)]
pub enum PageRejection {
    /// Not signed in (or the session ended): go to the sign-in page, then back to `next`.
    SignIn {
        /// The path to return to.
        next: String,
    },
    /// Signed in, but a member of no workspace.
    NoWorkspace,
    /// A form without the session's CSRF token.
    Csrf,
    /// Anything else, as the API would answer it.
    Api(ApiError),
}

impl From<ApiError> for PageRejection {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

impl From<sqlx::Error> for PageRejection {
    fn from(err: sqlx::Error) -> Self {
        Self::Api(err.into())
    }
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { next } => {
                let target = format!("/sign-in?next={}", encode_query_value(&next));
                Redirect::to(&target).into_response()
            }
            Self::NoWorkspace => crate::pages::error_page(
                axum::http::StatusCode::FORBIDDEN,
                "No workspace",
                "Your account is not a member of any workspace yet. Ask a workspace owner to add you.",
            ),
            Self::Csrf => crate::pages::error_page(
                axum::http::StatusCode::FORBIDDEN,
                "Form expired",
                "This form was not sent from this session's pages. Go back, reload and try again.",
            ),
            Self::Api(err) => crate::pages::api_error_page(err),
        }
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The HMAC-SHA256 of `label` and `value` under the active pepper (new session cookies,
/// sign-in bucket names).
pub(crate) fn keyed_hash(state: &AppState, label: &str, value: &[u8]) -> [u8; 32] {
    crate::pepper::labelled_hash(state.peppers.active(), label, value)
}

/// The CSRF token of a session signed in under the active pepper. A session keeps the pepper
/// it was signed in under ([`SignedIn::csrf_token`] is derived with that one), so rotating the
/// pepper does not expire the forms of open pages.
pub fn csrf_token(state: &AppState, session_id: Uuid) -> String {
    csrf_token_under(state.peppers.active(), session_id)
}

fn csrf_token_under(pepper: &antpath_redact::Secret<String>, session_id: Uuid) -> String {
    hex::encode(crate::pepper::labelled_hash(
        pepper,
        "csrf",
        session_id.as_bytes(),
    ))
}

/// Whether `presented` is the signed-in session's CSRF token, in constant time.
pub fn csrf_matches(signed_in: &SignedIn, presented: &str) -> bool {
    let expected = &signed_in.csrf_token;
    expected.len() == presented.len()
        && subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), presented.as_bytes()).into()
}

/// The pepper a found row says made its hash, if that pepper is configured and its hash of
/// the presented value is the stored one (`hashes` are in [`crate::pepper::Peppers::iter`]
/// order).
pub(crate) fn matching_pepper<'s>(
    state: &'s AppState,
    hashes: &[Vec<u8>],
    pepper_id: &str,
    stored: &[u8],
) -> Option<&'s antpath_redact::Secret<String>> {
    state
        .peppers
        .iter()
        .zip(hashes)
        .find(|((id, _), hash)| *id == pepper_id && hash.as_slice() == stored)
        .map(|((_, pepper), _)| pepper)
}

/// The value of the cookie `name`, if the request carries it.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// Looks up the session the request's cookie names. `Ok(None)`: no cookie, or no valid session.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SignedIn>, PageRejection> {
    let Some(value) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    if value.len() > 128 {
        return Ok(None);
    }
    // The cookie's hash under every configured pepper, the active one first: a session signed
    // in before a pepper rotation keeps working until it expires.
    let hashes: Vec<Vec<u8>> = state
        .peppers
        .iter()
        .map(|(_, pepper)| {
            crate::pepper::labelled_hash(pepper, "session", value.as_bytes()).to_vec()
        })
        .collect();
    let idle = i64::try_from(state.sessions.idle.as_secs()).unwrap_or(i64::MAX);
    let Some(found) = antpath_db::web_sessions::find_valid(&state.pool, &hashes, idle).await?
    else {
        return Ok(None);
    };
    let Some(pepper) = matching_pepper(state, &hashes, &found.pepper_id, &found.session_hash)
    else {
        return Ok(None);
    };
    if (chrono::Utc::now() - found.last_seen_at).num_seconds() >= TOUCH_EVERY_SECONDS {
        antpath_db::web_sessions::touch(&state.pool, found.id).await?;
    }
    let workspaces: Vec<WorkspaceChoice> =
        antpath_db::users::memberships(&state.pool, found.user_id)
            .await?
            .into_iter()
            .map(|m| WorkspaceChoice {
                id: m.workspace_id,
                name: m.name,
                role: m.role,
            })
            .collect();
    let current = found
        .workspace_id
        .and_then(|id| workspaces.iter().find(|w| w.id == id))
        .or_else(|| workspaces.first())
        .cloned()
        .ok_or(PageRejection::NoWorkspace)?;
    tracing::Span::current().record("workspace.id", tracing::field::display(current.id));
    Ok(Some(SignedIn {
        user_id: found.user_id,
        session_id: found.id,
        email: found.email,
        workspace: current,
        workspaces,
        csrf_token: csrf_token_under(pepper, found.id),
    }))
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match authenticate(state, &parts.headers).await? {
            Some(signed_in) => Ok(signed_in),
            None => {
                // After signing in, come back to the page asked for (a form's target is not a
                // page: go back to the runs instead).
                let next = if parts.method == Method::GET {
                    parts
                        .uri
                        .path_and_query()
                        .map_or("/runs", |p| p.as_str())
                        .to_owned()
                } else {
                    "/runs".to_owned()
                };
                Err(PageRejection::SignIn { next })
            }
        }
    }
}

/// The `csrf` field every form carries.
#[derive(Debug, Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

/// A urlencoded form POSTed by a signed-in user from one of their pages: the session (`.0`)
/// and the fields (`.1`). Refused when the `csrf` field is not the session's token.
#[derive(Debug)]
pub struct CsrfForm<T>(pub SignedIn, pub T);

/// Largest form body accepted.
const MAX_FORM_BYTES: usize = 64 * 1024;

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageRejection;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|_| ApiError::PayloadTooLarge(MAX_FORM_BYTES))?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| ApiError::BadRequest("The form could not be read.".into()))?;
        let presented = field.csrf.unwrap_or_default();
        if !csrf_matches(&signed_in, &presented) {
            tracing::warn!(user.id = %signed_in.user_id, "a form without this session's CSRF token was refused");
            return Err(PageRejection::Csrf);
        }
        let fields = serde_urlencoded::from_bytes(&bytes)
            .map_err(|err| ApiError::BadRequest(format!("The form is not valid: {err}.")))?;
        Ok(Self(signed_in, fields))
    }
}
