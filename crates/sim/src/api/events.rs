//! `/v1/sessions/{id}/events`: send, list (page cursor) and the live SSE stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, Stream};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{ListQuery, Order, PageSpec, paginate};
use crate::scenario;
use crate::state::SharedSim;
use crate::store::{Ext, Kind};

/// Paging of the events list: oldest first, `order` accepted; the SDK's session runner pages
/// with `limit=1000`, which is also the default here.
const PAGE: PageSpec = PageSpec {
    default_limit: 1000,
    max_limit: 1000,
    default_order: Order::Asc,
    has_order: true,
    prev_page: false,
};
/// Interval of `event: ping` keep-alives on the stream.
const PING_EVERY: Duration = Duration::from_secs(15);

/// `POST /v1/sessions/{id}/events` with `{"events": [...]}`; answers `{"data": [...]}`.
pub async fn send(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let events = body
        .get("events")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty());
    let events = events.ok_or_else(|| ApiError::invalid("events: must be a non-empty list"))?;
    let mut store = sim.store();
    let echoed = scenario::accept_events(&sim, &mut store, &id, events)?;
    Ok(Json(json!({ "data": echoed })))
}

/// `GET /v1/sessions/{id}/events`: `limit`, `page`, `order` (default asc), `types[]` and the
/// `created_at[gt|gte|lt|lte]` bounds, compared with each event's `processed_at` as SDK 2.10.0's
/// `EventListParams` documents (an event still queued, `processed_at: null`, matches no bound).
pub async fn list(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let types = query.all("types");
    let window = TimeWindow::from_query(&query)?;
    let store = sim.store();
    let record = store.get(Kind::Session, &id)?;
    let Ext::Session(ext) = &record.ext else {
        return Err(ApiError::no_such("session", &id));
    };
    let items = ext
        .numbered_events()
        .filter(|(_, e)| types.is_empty() || types.iter().any(|t| e["type"] == t.as_str()))
        .filter(|(_, e)| window.admits(e))
        .map(|(seq, e)| (seq, e.clone()))
        .collect();
    Ok(Json(paginate(items, &query, PAGE)?))
}

/// The `created_at[…]` bounds of an events list.
#[derive(Debug, Default)]
struct TimeWindow {
    gt: Option<DateTime<Utc>>,
    gte: Option<DateTime<Utc>>,
    lt: Option<DateTime<Utc>>,
    lte: Option<DateTime<Utc>>,
}

impl TimeWindow {
    fn from_query(query: &ListQuery) -> ApiResult<Self> {
        let bound = |op: &str| -> ApiResult<Option<DateTime<Utc>>> {
            let name = format!("created_at[{op}]");
            let Some(raw) = query
                .get(&name)
                .or_else(|| query.get(&format!("created_at_{op}")))
            else {
                return Ok(None);
            };
            parse_time(raw)
                .map(Some)
                .ok_or_else(|| ApiError::invalid(format!("{name}: invalid datetime {raw:?}")))
        };
        Ok(Self {
            gt: bound("gt")?,
            gte: bound("gte")?,
            lt: bound("lt")?,
            lte: bound("lte")?,
        })
    }

    fn is_open(&self) -> bool {
        self.gt.is_none() && self.gte.is_none() && self.lt.is_none() && self.lte.is_none()
    }

    fn admits(&self, event: &Value) -> bool {
        if self.is_open() {
            return true;
        }
        let Some(at) = event["processed_at"].as_str().and_then(parse_time) else {
            return false;
        };
        self.gt.is_none_or(|b| at > b)
            && self.gte.is_none_or(|b| at >= b)
            && self.lt.is_none_or(|b| at < b)
            && self.lte.is_none_or(|b| at <= b)
    }
}

/// An RFC 3339 time; a naive ISO time (what Python's `datetime.isoformat()` gives without a
/// zone) is read as UTC.
fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(raw) {
        return Some(at.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

/// `GET /v1/sessions/{id}/events/stream`: live events only (no replay), each frame with an
/// `event:` line and `type` inside `data`; ends after `session.deleted`.
pub async fn stream(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let receiver = {
        let store = sim.store();
        let record = store.get(Kind::Session, &id)?;
        let Ext::Session(ext) = &record.ext else {
            return Err(ApiError::no_such("session", &id));
        };
        ext.live.subscribe()
    };
    let frames = stream::unfold((receiver, false), |(mut receiver, done)| async move {
        if done {
            return None;
        }
        loop {
            match receiver.recv().await {
                Ok(event) => {
                    let kind = event["type"].as_str().unwrap_or("message").to_owned();
                    let last = kind == "session.deleted";
                    let frame = Event::default().event(kind).data(event.to_string());
                    return Some((Ok(frame), (receiver, last)));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let ping = Event::default().event("ping").data(r#"{"type":"ping"}"#);
    Ok(Sse::new(frames).keep_alive(KeepAlive::new().interval(PING_EVERY).event(ping)))
}
