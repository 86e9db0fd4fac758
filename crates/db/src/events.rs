//! Provider attempts and the metadata of the events observed on them.

use antpath_types::{AttemptId, EventId, RunId, WorkspaceId};
use sqlx::PgExecutor;

/// Opens a new provider attempt of a run.
#[tracing::instrument(skip_all, fields(run.id = %run_id, attempt = attempt_number))]
pub async fn insert_attempt(
    db: impl PgExecutor<'_>,
    id: AttemptId,
    run_id: RunId,
    attempt_number: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into run_attempts (id, run_id, attempt_number) values ($1, $2, $3)",
        id as AttemptId,
        run_id as RunId,
        attempt_number,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The metadata of one provider event.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The run it belongs to.
    pub run_id: RunId,
    /// The attempt it was observed on.
    pub attempt_id: AttemptId,
    /// The run's workspace.
    pub workspace_id: WorkspaceId,
    /// The provider's event id, the dedupe authority.
    pub provider_event_id: &'a str,
    /// The provider's event type (`session.status_idle`, …).
    pub event_type: &'a str,
    /// When the provider processed it.
    pub processed_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Allowlisted metadata (stop reason, error type, token counts).
    pub summary: serde_json::Value,
}

/// Stores an event once: a second sighting of the same provider event id on the same attempt is
/// ignored. Returns the new row's id, or `None` for a duplicate.
#[tracing::instrument(skip_all, fields(run.id = %event.run_id, event.type = event.event_type))]
pub async fn insert_event_once(
    db: impl PgExecutor<'_>,
    event: &NewEvent<'_>,
) -> Result<Option<EventId>, sqlx::Error> {
    let provider_event_id = crate::storable::text(event.provider_event_id);
    let event_type = crate::storable::text(event.event_type);
    sqlx::query_scalar!(
        r#"insert into run_events
            (id, run_id, attempt_id, workspace_id, provider_event_id, event_type, processed_at, summary)
           values ($1, $2, $3, $4, $5, $6, $7, $8)
           on conflict (attempt_id, provider_event_id) do nothing
           returning id as "id: EventId""#,
        EventId::new() as EventId,
        event.run_id as RunId,
        event.attempt_id as AttemptId,
        event.workspace_id as WorkspaceId,
        provider_event_id.as_ref(),
        event_type.as_ref(),
        event.processed_at,
        crate::storable::json(event.summary.clone()),
    )
    .fetch_optional(db)
    .await
}
