//! `/v1/sessions/{id}/events`: send events, list the history a page at a time, and list only
//! what came after a cursor.

use reqwest::Method;
use tracing::instrument;

use crate::error::ProviderError;
use crate::pagination::{Page, collect_all};
use crate::transport::{Call, ProviderClient};
use crate::types::event::{EventCursor, EventListParams, SendEvent, SentEvents, SessionEvent};

/// The page size of the "after a cursor" helper; the SDK's own session runner uses 1000.
const EVENTS_PAGE_LIMIT: u32 = 1000;

/// The event types that say how a turn ended: its start, its errors and its end.
pub const TURN_SIGNALS: [&str; 5] = [
    "session.status_running",
    "session.error",
    "session.status_idle",
    "session.status_terminated",
    "session.deleted",
];

/// How many of the latest turn signals [`ProviderClient::latest_turn_signals`] reads: enough
/// for a turn's start, its retried and final errors and its end, in one page whatever the
/// length of the history.
pub const TURN_TAIL: u32 = 50;

#[derive(serde::Serialize)]
struct SendBody<'a> {
    events: &'a [SendEvent],
}

impl ProviderClient {
    /// `POST /v1/sessions/{id}/events`. Not retried: the event may have been queued.
    #[instrument(skip_all, fields(session.id = %session_id, events.count = events.len()))]
    pub async fn send_events(
        &self,
        session_id: &str,
        events: &[SendEvent],
    ) -> Result<SentEvents, ProviderError> {
        let call = Call::new(
            Method::POST,
            "/v1/sessions/{id}/events",
            &["v1", "sessions", session_id, "events"],
        )
        .json(&SendBody { events })?;
        // A 204 decodes as null: no echoed events.
        Ok(self
            .json::<Option<SentEvents>>(call)
            .await?
            .unwrap_or_default())
    }

    /// Sends one `user.message` with a text block.
    pub async fn send_user_message(
        &self,
        session_id: &str,
        text: &str,
    ) -> Result<SentEvents, ProviderError> {
        self.send_events(session_id, &[SendEvent::user_text(text)])
            .await
    }

    /// Sends a `user.interrupt`.
    pub async fn interrupt_session(&self, session_id: &str) -> Result<SentEvents, ProviderError> {
        self.send_events(session_id, &[SendEvent::interrupt()])
            .await
    }

    /// `GET /v1/sessions/{id}/events`, one page.
    #[instrument(skip_all, fields(session.id = %session_id))]
    pub async fn list_events(
        &self,
        session_id: &str,
        params: &EventListParams,
    ) -> Result<Page<SessionEvent>, ProviderError> {
        let call = Call::new(
            Method::GET,
            "/v1/sessions/{id}/events",
            &["v1", "sessions", session_id, "events"],
        )
        .query(params.to_query());
        self.json(call).await
    }

    /// The latest [`TURN_SIGNALS`] of the session, oldest first: one page of at most
    /// [`TURN_TAIL`] events read newest first, so its cost does not grow with the history.
    #[instrument(skip_all, fields(session.id = %session_id))]
    pub async fn latest_turn_signals(
        &self,
        session_id: &str,
    ) -> Result<Vec<SessionEvent>, ProviderError> {
        let params = EventListParams {
            limit: Some(TURN_TAIL),
            order: Some("desc".to_owned()),
            types: TURN_SIGNALS.iter().map(|t| (*t).to_owned()).collect(),
            ..EventListParams::default()
        };
        let mut events = self.list_events(session_id, &params).await?.data;
        events.reverse();
        Ok(events)
    }

    /// The processed events after `cursor`, oldest first, and the cursor to pass next time.
    ///
    /// The list is narrowed with `created_at[gte]` at the cursor's time, then everything up to
    /// and including the cursor's event is dropped, so an event is returned once. Events still
    /// queued (`processed_at: null`) are left for a later call, because their position in the
    /// history is not final until processed.
    #[instrument(skip_all, fields(session.id = %session_id))]
    pub async fn list_events_after(
        &self,
        session_id: &str,
        cursor: &EventCursor,
    ) -> Result<(Vec<SessionEvent>, EventCursor), ProviderError> {
        let base = EventListParams {
            limit: Some(EVENTS_PAGE_LIMIT),
            order: Some("asc".to_owned()),
            created_at_gte: cursor.last_processed_at,
            ..EventListParams::default()
        };
        let events = collect_all(None, |page| {
            let params = EventListParams {
                page,
                ..base.clone()
            };
            async move { self.list_events(session_id, &params).await }
        })
        .await?;
        let fresh = events_after(events, cursor);
        let next = match fresh.last() {
            Some(last) => EventCursor {
                last_event_id: Some(last.id.clone()),
                last_processed_at: last.processed_at,
            },
            None => cursor.clone(),
        };
        Ok((fresh, next))
    }
}

/// The processed events of `events` that come after `cursor`.
pub(crate) fn events_after(events: Vec<SessionEvent>, cursor: &EventCursor) -> Vec<SessionEvent> {
    let processed = events.into_iter().filter(|e| e.processed_at.is_some());
    let position = cursor
        .last_event_id
        .as_ref()
        .and_then(|id| processed.clone().position(|e| &e.id == id));
    match (position, cursor.last_processed_at) {
        (Some(index), _) => processed.skip(index + 1).collect(),
        (None, Some(at)) => processed.filter(|e| e.processed_at > Some(at)).collect(),
        (None, None) => processed.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, second: u32) -> SessionEvent {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "type": "agent.thinking",
            "processed_at": format!("2026-11-01T00:00:{second:02}Z"),
        }))
        .expect("event")
    }

    #[test]
    fn events_after_a_cursor_exclude_the_cursor_and_everything_before() {
        let events = vec![event("a", 1), event("b", 2), event("c", 2), event("d", 3)];
        let cursor = EventCursor {
            last_event_id: Some("b".into()),
            last_processed_at: events[1].processed_at,
        };
        let ids: Vec<_> = events_after(events.clone(), &cursor)
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["c", "d"]);
        let ids: Vec<_> = events_after(events, &EventCursor::default())
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["a", "b", "c", "d"]);
    }

    #[test]
    fn queued_events_are_left_for_later() {
        let mut queued = event("q", 0);
        queued.processed_at = None;
        let ids: Vec<_> = events_after(vec![event("a", 1), queued], &EventCursor::default())
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["a"]);
    }
}
