//! Create and revoke API tokens. A new token's value is returned once, to be shown once, and
//! never logged; only its keyed hash is stored.

use antpath_db::token_admin::{self, TokenRecord};
use antpath_db::tokens::{self, NewToken};
use antpath_redact::Secret;
use antpath_types::TokenId;
use serde_json::json;

use super::Actor;
use crate::auth::{Scope, generate_token, scope_list};
use crate::error::ApiError;
use crate::routes::{Bucket, rate_limit};
use crate::state::AppState;

/// Longest token name, as the schema allows.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;

/// What a new token is asked to be.
#[derive(Debug)]
pub struct TokenRequest<'a> {
    /// Its label (trimmed here).
    pub name: &'a str,
    /// The scopes asked for, in their wire spelling.
    pub scopes: &'a [String],
}

/// A created token.
#[derive(Debug)]
pub struct Created {
    /// `ant_…`; shown to its owner this once.
    pub value: Secret<String>,
    /// The stored token.
    pub record: TokenRecord,
}

/// Checks the name and scopes of `request`; `may_grant` says whether the actor may put a given
/// scope in a token (no more than the caller holds). Returns the trimmed name and the scopes'
/// spellings without duplicates.
fn validate<'a>(
    request: &TokenRequest<'a>,
    may_grant: impl Fn(Scope) -> bool,
) -> Result<(&'a str, Vec<String>), ApiError> {
    // The rules apply to the name as sent (as the API document states them); it is stored
    // trimmed.
    let name = request.name.trim();
    if name.is_empty()
        || request.name.chars().count() > MAX_TOKEN_NAME_CHARS
        || request.name.chars().any(char::is_control)
    {
        return Err(ApiError::invalid_at(
            "/name",
            "The name must be 1 to 100 characters without control characters.",
        ));
    }
    let mut scopes = Vec::new();
    for (i, spelled) in request.scopes.iter().enumerate() {
        let Ok(scope) = spelled.parse::<Scope>() else {
            return Err(ApiError::invalid_at(
                &format!("/scopes/{i}"),
                format!("Unknown scope; expected one of {}.", scope_list()),
            ));
        };
        if !may_grant(scope) {
            return Err(ApiError::Forbidden(format!(
                "A token cannot be given the `{scope}` scope its creator does not hold."
            )));
        }
        if !scopes.contains(spelled) {
            scopes.push(spelled.clone());
        }
    }
    if scopes.is_empty() {
        return Err(ApiError::invalid_at(
            "/scopes",
            "At least one scope is required.",
        ));
    }
    Ok((name, scopes))
}

/// Creates a token in the actor's workspace, attributed to the actor's user.
pub async fn create(
    state: &AppState,
    actor: Actor,
    request: &TokenRequest<'_>,
    may_grant: impl Fn(Scope) -> bool,
) -> Result<Created, ApiError> {
    let (name, scopes) = validate(request, may_grant)?;
    rate_limit(state, Bucket::TokenChanges, actor.workspace_id).await?;
    let value = generate_token(state.peppers.active());
    let id = TokenId::new();
    let mut tx = state.pool.begin().await?;
    tokens::insert(
        &mut *tx,
        &NewToken {
            id,
            workspace_id: actor.workspace_id,
            creator: actor.user_id,
            name,
            token_hash: &value.hash,
            token_prefix: &value.prefix,
            pepper_id: state.peppers.active_id(),
            scopes: &scopes,
        },
    )
    .await?;
    actor
        .audit(
            &mut *tx,
            "token.create",
            "token",
            id.to_string(),
            json!({ "scopes": scopes }),
        )
        .await?;
    let record = token_admin::get(&mut *tx, actor.workspace_id, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the new token is not readable"))?;
    tx.commit().await?;
    Ok(Created {
        value: value.value,
        record,
    })
}

/// Revokes a token of the actor's workspace (idempotently) and returns it. 404 for a missing
/// or foreign token.
pub async fn revoke(state: &AppState, actor: Actor, id: TokenId) -> Result<TokenRecord, ApiError> {
    rate_limit(state, Bucket::TokenChanges, actor.workspace_id).await?;
    let mut tx = state.pool.begin().await?;
    let record = token_admin::revoke(&mut *tx, actor.workspace_id, id)
        .await?
        .ok_or(ApiError::NotFound("token"))?;
    actor
        .audit(&mut *tx, "token.revoke", "token", id.to_string(), json!({}))
        .await?;
    tx.commit().await?;
    Ok(record)
}
