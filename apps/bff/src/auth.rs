//! Authentication of the JSON routes: API tokens, or a dashboard session cookie.
//!
//! A token is `ant_` followed by 43 base62 characters encoding 32 random bytes (256 bits). Only
//! its HMAC-SHA256 under the server pepper is stored, so a database leak yields nothing usable,
//! and lookup is one indexed equality ([`antpath_db::tokens::find_active_by_hashes`]; one hash per configured pepper, see
//! [`crate::pepper`]).
//!
//! Every failure (no header, malformed, unknown, revoked, expired) is the same 401. For any
//! presented credential of sane length the HMAC and the lookup are always done, so a malformed
//! token costs what an unknown one does and timing does not tell them apart.
//!
//! A token acts only while its creator is an enabled, active member of its workspace, and only
//! with the scopes their current role still grants. Without an `Authorization` header the
//! dashboard's session cookie is accepted too ([`crate::session`]), with the CSRF header on
//! anything that is not a read.

use antpath_redact::Secret;
use antpath_types::{Role, TokenId, UserId, WorkspaceId};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sha2::Sha256;

use crate::error::ApiError;
use crate::session::PageRejection;
use crate::state::AppState;

/// The token prefix.
pub const TOKEN_PREFIX: &str = "ant_";

/// Base62 characters after the prefix: the fewest that hold 256 bits (62^43 > 2^256).
pub const TOKEN_BODY_LEN: usize = 43;

/// Characters of a token kept in clear (`ant_` plus four), so people can tell tokens apart.
const DISPLAY_PREFIX_LEN: usize = 8;

/// Longest credential we bother hashing; anything longer is refused without a lookup.
const MAX_PRESENTED_LEN: usize = 512;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A scope a token may hold: the permission it carries (`runs:read`, `runs:write`,
/// `tokens:manage`).
pub use antpath_types::Permission as Scope;

/// Every scope's spelling, comma-separated, for messages.
pub fn scope_list() -> String {
    Scope::ALL
        .iter()
        .map(|scope| scope.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A freshly generated token: the value (shown once), its hash and display prefix.
#[derive(Debug)]
pub struct NewTokenValue {
    /// The token; shown to its owner exactly once.
    pub value: Secret<String>,
    /// HMAC-SHA256 under the pepper.
    pub hash: [u8; 32],
    /// The displayable start.
    pub prefix: String,
}

/// Generates a token from 32 bytes of OS randomness.
pub fn generate_token(pepper: &Secret<String>) -> NewTokenValue {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let value = format!("{TOKEN_PREFIX}{}", base62_43(bytes));
    let hash = hash_token(pepper, &value);
    let prefix = value[..DISPLAY_PREFIX_LEN].to_owned();
    NewTokenValue {
        value: Secret::new(value),
        hash,
        prefix,
    }
}

/// HMAC-SHA256 of a presented token under the pepper.
pub fn hash_token(pepper: &Secret<String>, token: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(pepper.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(token.as_bytes());
    mac.finalize().into_bytes().into()
}

/// Whether `token` has the shape of one of ours.
pub fn is_well_formed(token: &str) -> bool {
    token.strip_prefix(TOKEN_PREFIX).is_some_and(|body| {
        body.len() == TOKEN_BODY_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// 32 bytes as exactly 43 base62 digits (big-endian, zero-padded).
fn base62_43(bytes: [u8; 32]) -> String {
    let mut number = bytes;
    let mut digits = [b'0'; TOKEN_BODY_LEN];
    for digit in digits.iter_mut().rev() {
        let mut remainder = 0u32;
        for byte in &mut number {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = (value / 62) as u8;
            remainder = value % 62;
        }
        *digit = BASE62[remainder as usize];
    }
    String::from_utf8(digits.to_vec()).expect("base62 digits are ASCII")
}

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// An API token (`Authorization: Bearer ant_…`).
    Token(TokenId),
    /// A dashboard session cookie (its row id).
    Session(uuid::Uuid),
}

/// The authenticated caller, acting in one workspace: a token in its own, or a signed-in
/// person in the one their session is looking at.
#[derive(Debug, Clone)]
pub struct Auth {
    /// The credential presented.
    pub credential: Credential,
    /// The workspace acted in; every query is scoped to it.
    pub workspace_id: WorkspaceId,
    /// The token's creator or the signed-in user, to whom actions are attributed.
    pub user_id: UserId,
    /// The user's current role in the workspace.
    pub role: Role,
    /// What the caller may do: a token's scopes cut down to what its creator's role grants,
    /// or a session's role's permissions.
    pub scopes: Vec<Scope>,
}

impl Auth {
    /// Fails with 403 unless the caller holds `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.has(scope) {
            Ok(())
        } else {
            let by = match self.credential {
                Credential::Token(_) => "This token",
                Credential::Session(_) => "Your role in this workspace",
            };
            Err(ApiError::Forbidden(format!(
                "{by} lacks the `{}` permission.",
                scope.as_str()
            )))
        }
    }

    /// Whether the caller holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// The API token, when the caller presented one.
    pub fn token_id(&self) -> Option<TokenId> {
        match self.credential {
            Credential::Token(id) => Some(id),
            Credential::Session(_) => None,
        }
    }
}

/// The header a page's script sends its session's CSRF token in, for JSON routes that change
/// something.
pub const CSRF_HEADER: &str = "x-csrf-token";

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.headers.contains_key(AUTHORIZATION) {
            return from_token(parts, state).await;
        }
        from_session(parts, state).await
    }
}

async fn from_token(parts: &Parts, state: &AppState) -> Result<Auth, ApiError> {
    let presented = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::Unauthenticated)?;
    if presented.len() > MAX_PRESENTED_LEN {
        return Err(ApiError::Unauthenticated);
    }
    // Hash and look up even a malformed value, so its timing matches an unknown token's.
    // Its hash under every configured pepper, the active one first (as many hashes as
    // peppers, whatever is presented), looked up in one query.
    let hashes: Vec<Vec<u8>> = state
        .peppers
        .iter()
        .map(|(_, pepper)| hash_token(pepper, presented).to_vec())
        .collect();
    let found = antpath_db::tokens::find_active_by_hashes(&state.pool, &hashes).await?;
    let identity = match found {
        Some(identity)
            if is_well_formed(presented)
                && crate::session::matching_pepper(
                    state,
                    &hashes,
                    &identity.pepper_id,
                    &identity.token_hash,
                )
                .is_some() =>
        {
            identity
        }
        _ => return Err(ApiError::Unauthenticated),
    };
    if identity.pepper_id != state.peppers.active_id() {
        // Hashed under an old pepper: move it to the active one, so the old pepper can retire.
        antpath_db::tokens::rehash(
            &state.pool,
            identity.id,
            &identity.pepper_id,
            &hashes[0],
            state.peppers.active_id(),
        )
        .await?;
        tracing::info!(token.id = %identity.id, "re-hashed a token under the active pepper");
    }
    let stale = identity
        .last_used_at
        .is_none_or(|at| chrono::Utc::now() - at > chrono::TimeDelta::minutes(1));
    if stale {
        antpath_db::token_admin::touch_last_used(&state.pool, identity.id).await?;
    }
    tracing::Span::current().record(
        "workspace.id",
        tracing::field::display(identity.workspace_id),
    );
    let role = identity.role;
    let scopes = identity
        .scopes
        .iter()
        .filter_map(|s| s.parse::<Scope>().ok())
        .filter(|scope| role.grants(*scope))
        .collect();
    Ok(Auth {
        credential: Credential::Token(identity.id),
        workspace_id: identity.workspace_id,
        user_id: identity.creator,
        role,
        scopes,
    })
}

/// A signed-in person calling a JSON route from a page: read routes need only the cookie;
/// routes that change something also want the session's CSRF token in [`CSRF_HEADER`].
async fn from_session(parts: &Parts, state: &AppState) -> Result<Auth, ApiError> {
    let signed_in = match crate::session::authenticate(state, &parts.headers).await {
        Ok(Some(signed_in)) => signed_in,
        Ok(None)
        | Err(PageRejection::SignIn { .. } | PageRejection::NoWorkspace | PageRejection::Csrf) => {
            return Err(ApiError::Unauthenticated);
        }
        Err(PageRejection::Api(err)) => return Err(err),
    };
    if !parts.method.is_safe() {
        let presented = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !crate::session::csrf_matches(&signed_in, presented) {
            return Err(ApiError::Forbidden(
                "A request made with a session cookie needs the session's CSRF token in the X-CSRF-Token header.".into(),
            ));
        }
    }
    let role = signed_in.workspace.role;
    Ok(Auth {
        credential: Credential::Session(signed_in.session_id),
        workspace_id: signed_in.workspace.id,
        user_id: signed_in.user_id,
        role,
        scopes: role.permissions(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_has_the_documented_shape_and_hashes_stably() {
        let pepper = Secret::new("p".repeat(32));
        let token = generate_token(&pepper);
        let value = token.value.expose_secret();
        assert!(is_well_formed(value), "{value}");
        assert_eq!(value.len(), 4 + 43);
        assert_eq!(token.prefix, value[..8]);
        assert_eq!(hash_token(&pepper, value), token.hash);
        assert_ne!(hash_token(&Secret::new("q".repeat(32)), value), token.hash);
    }

    #[test]
    fn base62_encodes_the_extremes_in_43_digits() {
        assert_eq!(base62_43([0; 32]), "0".repeat(43));
        let max = base62_43([0xff; 32]);
        assert_eq!(max.len(), 43);
        assert!(max.bytes().all(|b| b.is_ascii_alphanumeric()), "{max}");
        assert_ne!(max, base62_43([0xfe; 32]));
    }
}
