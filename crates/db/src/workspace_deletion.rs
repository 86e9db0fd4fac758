//! Deleting a workspace, as its owner or an operator asks for it, and what the API shows of a
//! workspace and of a deletion under way.
//!
//! [`request`] records the request in one transaction: the workspace becomes `pending_delete`
//! (submissions are refused from then on), every active run is cancel-requested (the worker
//! turns that into a cancel and a cleanup), a `workspace_deletions` row starts in `requested`,
//! and the request is audited. The sweeper does the rest ([`crate::workspace_purge`]).

use std::fmt;
use std::str::FromStr;

use antpath_types::{TokenId, UserId, WorkspaceId};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use crate::audit::{self, AuditEntry};
use crate::workspaces::PlanCaps;

/// Where a workspace's deletion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum DeletionState {
    /// Asked for; the sweeper has not picked it up yet.
    Requested,
    /// Waiting for every run of the workspace to finish (`phase = 'done'`).
    Draining,
    /// Removing the stored objects and the runs' metadata.
    Purging,
    /// Done: the tokens are revoked and only the workspace tombstone and its audit rows remain.
    Deleted,
}

impl DeletionState {
    /// The stored and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Draining => "draining",
            Self::Purging => "purging",
            Self::Deleted => "deleted",
        }
    }
}

impl fmt::Display for DeletionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeletionState {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        [
            Self::Requested,
            Self::Draining,
            Self::Purging,
            Self::Deleted,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
        .ok_or_else(|| format!("unknown deletion state `{text}`"))
    }
}

/// Who asks for a deletion.
#[derive(Debug, Clone, Copy)]
pub enum Requester<'a> {
    /// The workspace's owner, through one of the workspace's tokens.
    Owner {
        /// The owner.
        user: UserId,
        /// The token used, if the owner used one (not the dashboard).
        token: Option<TokenId>,
        /// The request id, for the audit row.
        request_id: Option<&'a str>,
    },
    /// An operator, through `antpath-bff admin delete-workspace`.
    Operator,
}

/// What [`request`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requested {
    /// The deletion starts now; this many active runs were cancel-requested.
    Started {
        /// Runs cancel-requested.
        runs_cancelled: u64,
    },
    /// A deletion was already under way; nothing changed.
    AlreadyRequested,
    /// The workspace is already deleted.
    AlreadyDeleted,
    /// No such workspace.
    NotFound,
}

/// Records a deletion request in the caller's transaction; see the module docs. Repeating it
/// changes nothing and is not audited again.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn request(
    tx: &mut PgConnection,
    workspace_id: WorkspaceId,
    requester: Requester<'_>,
) -> Result<Requested, sqlx::Error> {
    // The row lock orders this against submissions, which hold it while they decide: a
    // submission either committed its run before (and the run is cancelled below) or sees
    // `pending_delete` after.
    let status = sqlx::query_scalar!(
        "select status from workspaces where id = $1 for update",
        workspace_id as WorkspaceId,
    )
    .fetch_optional(&mut *tx)
    .await?;
    match status.as_deref() {
        None => return Ok(Requested::NotFound),
        Some("deleted") => return Ok(Requested::AlreadyDeleted),
        Some("pending_delete") => return Ok(Requested::AlreadyRequested),
        Some(_) => {}
    }
    sqlx::query!(
        "update workspaces set status = 'pending_delete',
             pending_delete_at = coalesce(pending_delete_at, now()), updated_at = now()
         where id = $1",
        workspace_id as WorkspaceId,
    )
    .execute(&mut *tx)
    .await?;
    let (via, user, token, request_id) = match requester {
        Requester::Owner {
            user,
            token,
            request_id,
        } => ("api", Some(user), token, request_id),
        Requester::Operator => ("admin", None, None, None),
    };
    sqlx::query!(
        "insert into workspace_deletions
             (workspace_id, requested_via, requested_by_app_user_id, requested_by_token_id)
         values ($1, $2, $3, $4)
         on conflict (workspace_id) do nothing",
        workspace_id as WorkspaceId,
        via,
        user as Option<UserId>,
        token as Option<TokenId>,
    )
    .execute(&mut *tx)
    .await?;
    let runs_cancelled = cancel_active_runs(&mut *tx, workspace_id).await?;
    audit::record(
        &mut *tx,
        &AuditEntry {
            workspace_id,
            actor_user: user,
            actor_token: token,
            action: "workspace.delete_requested",
            target_type: "workspace",
            target_id: workspace_id.to_string(),
            request_id,
            metadata: serde_json::json!({"via": via, "runs_cancelled": runs_cancelled}),
        },
    )
    .await?;
    Ok(Requested::Started { runs_cancelled })
}

/// Sets `cancel_requested_at` on every run of the workspace that a cancel still affects: those
/// in a phase before the end of their work is decided (provision, session, dispatch, observe).
/// Runs already winding down (interrupt, capture, cleanup) or done are left as they are.
/// Returns how many were newly cancel-requested.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn cancel_active_runs(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "update runs set cancel_requested_at = now(), updated_at = now()
         where workspace_id = $1 and cancel_requested_at is null
           and phase in ('provision', 'session', 'dispatch', 'observe')",
        workspace_id as WorkspaceId,
    )
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// A workspace as `GET /v1/workspace` shows it.
#[derive(Debug, Clone)]
pub struct Overview {
    /// Its id.
    pub id: WorkspaceId,
    /// Display name.
    pub name: String,
    /// The plan's name.
    pub plan: String,
    /// `active`, `suspended`, `pending_delete` or `deleted`.
    pub status: String,
    /// Plan caps.
    pub caps: PlanCaps,
    /// Bytes of outputs stored now.
    pub storage_used_bytes: i64,
    /// Runs a worker is still working on (including their cleanup).
    pub active_runs: i64,
    /// The deletion, if one was asked for.
    pub deletion: Option<Deletion>,
}

/// A workspace's deletion record.
#[derive(Debug, Clone)]
pub struct Deletion {
    /// Where it is.
    pub state: DeletionState,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When the sweeper started waiting for the runs.
    pub draining_at: Option<DateTime<Utc>>,
    /// When the purge began.
    pub purging_at: Option<DateTime<Utc>>,
    /// When it finished.
    pub completed_at: Option<DateTime<Utc>>,
}

/// The workspace and its deletion record.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn overview(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<Option<Overview>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select w.id as "id: WorkspaceId", w.name, w.plan, w.status, w.max_active_runs,
                  w.max_active_runs_per_token, w.max_run_duration_seconds, w.storage_cap_bytes,
                  w.storage_used_bytes,
                  -- Counted as the submission quota counts them: a run whose outcome is
                  -- decided no longer holds a slot, even while its cleanup goes on.
                  (select count(*) from runs r
                   where r.workspace_id = w.id
                     and r.status not in ('succeeded', 'failed', 'timed_out', 'cancelled',
                                          'pending_delete', 'deleted')) as "active_runs!",
                  d.state as "state?: DeletionState", d.requested_at as "requested_at?",
                  d.draining_at, d.purging_at, d.completed_at
           from workspaces w left join workspace_deletions d on d.workspace_id = w.id
           where w.id = $1"#,
        workspace_id as WorkspaceId,
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Overview {
        id: r.id,
        name: r.name,
        plan: r.plan,
        status: r.status,
        caps: PlanCaps {
            max_active_runs: r.max_active_runs,
            max_active_runs_per_token: r.max_active_runs_per_token,
            max_run_duration_seconds: r.max_run_duration_seconds,
            storage_cap_bytes: r.storage_cap_bytes,
        },
        storage_used_bytes: r.storage_used_bytes,
        active_runs: r.active_runs,
        deletion: r
            .state
            .zip(r.requested_at)
            .map(|(state, requested_at)| Deletion {
                state,
                requested_at,
                draining_at: r.draining_at,
                purging_at: r.purging_at,
                completed_at: r.completed_at,
            }),
    }))
}

/// How much of a deleting workspace is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Runs whose rows are not purged yet.
    pub runs_remaining: i64,
    /// Of those, runs a worker is still cancelling or cleaning up (`phase <> 'done'`).
    pub runs_cleaning_up: i64,
    /// Stored outputs not yet removed.
    pub objects_remaining: i64,
    /// Their bytes.
    pub bytes_remaining: i64,
}

/// The progress figures of a deletion.
#[tracing::instrument(skip_all, fields(workspace.id = %workspace_id))]
pub async fn progress(
    db: impl PgExecutor<'_>,
    workspace_id: WorkspaceId,
) -> Result<Progress, sqlx::Error> {
    sqlx::query_as!(
        Progress,
        r#"select
             (select count(*) from runs where workspace_id = $1) as "runs_remaining!",
             (select count(*) from runs where workspace_id = $1 and phase <> 'done')
                 as "runs_cleaning_up!",
             (select count(*) from output_objects where workspace_id = $1) as "objects_remaining!",
             (select coalesce(sum(size_bytes), 0)::bigint from output_objects
              where workspace_id = $1) as "bytes_remaining!""#,
        workspace_id as WorkspaceId,
    )
    .fetch_one(db)
    .await
}
