//! What a caller may do to a workspace's runs and tokens, shared by the JSON routes (acting
//! through an API token) and the dashboard pages (a signed-in person): cancel and delete a run,
//! sign an output's download link, create and revoke a token. Each one is rate-limited per
//! workspace and audited, attributed to an [`Actor`]; the callers decide beforehand whether the
//! actor may (token scopes, or the person's role).

pub mod runs;
pub mod tokens;

use antpath_db::audit::{self, AuditEntry};
use antpath_types::{TokenId, UserId, WorkspaceId};
use sqlx::PgExecutor;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::request_id;

/// Who acts, in which workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The workspace acted in; every query is scoped to it.
    pub workspace_id: WorkspaceId,
    /// The person the action is attributed to.
    pub user_id: UserId,
    /// The API token used, or `None` for the dashboard.
    pub token_id: Option<TokenId>,
}

impl From<&Auth> for Actor {
    fn from(auth: &Auth) -> Self {
        Self {
            workspace_id: auth.workspace_id,
            user_id: auth.user_id,
            token_id: auth.token_id(),
        }
    }
}

impl Actor {
    /// Appends the audit row of `action` on the `target_type` object `target_id`, with the
    /// current request id.
    pub(crate) async fn audit(
        &self,
        db: impl PgExecutor<'_>,
        action: &str,
        target_type: &str,
        target_id: String,
        metadata: serde_json::Value,
    ) -> Result<(), ApiError> {
        let request_id = request_id::current();
        audit::record(
            db,
            &AuditEntry {
                workspace_id: self.workspace_id,
                actor_user: Some(self.user_id),
                actor_token: self.token_id,
                action,
                target_type,
                target_id,
                request_id: Some(&request_id),
                metadata,
            },
        )
        .await?;
        Ok(())
    }
}
