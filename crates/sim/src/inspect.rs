//! Inspection and control routes outside `/v1` (no auth, never faulted):
//!
//! - `GET /__sim/resources[?kind=…&state=…]` → `{"resources": [{id, kind, state, …}]}`, deleted
//!   resources included; credentials carry `token_sha256`, never the token.
//! - `GET /__sim/calls` → `{"calls": [{seq, method, path, query, status, request_id, api_key,
//!   api_key_fingerprint, fault, at}]}` with the key replaced by `[REDACTED]`: the latest
//!   [`MAX_CALLS`] requests by default (`Retention::max_calls`; older ones are evicted, oldest
//!   first, so a soak stays bounded).
//! - `GET /__sim/counts` → `{"total": n, "counts": {"GET /v1/sessions/{id}": n, …}}`: every
//!   `/v1` request since start (or the last `DELETE /__sim/counts`), by method and route, ids
//!   replaced by `{id}`. Never evicted; its size is bounded by the number of routes. Beside them,
//!   `"connections"`: TCP connections accepted since start (not reset), which shows whether a
//!   client reuses its connections.
//! - `GET /__sim/faults`, `POST /__sim/faults` (a [`FaultConfig`] as JSON) to read or replace
//!   the fault configuration at run time.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use crate::api::JsonBody;
use crate::config::FaultConfig;
use crate::error::{ApiError, ApiResult};
use crate::pagination::ListQuery;
use crate::state::SharedSim;
use crate::store::{Ext, Kind, Record};

/// One request as the simulator received it.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    /// 1-based arrival order.
    pub seq: u64,
    /// HTTP method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// Response status; `None` when the connection was dropped by a fault (`drop` or
    /// `lost_response`).
    pub status: Option<u16>,
    /// The `request-id` sent back.
    pub request_id: String,
    /// `[REDACTED]` when a key was sent, else `None`; the key itself is never stored.
    pub api_key: Option<String>,
    /// First 12 hex digits of the key's sha256, to tell keys apart.
    pub api_key_fingerprint: Option<String>,
    /// The injected fault, if any (`rate_limited`, `server_error`, `overloaded`, `drop`,
    /// `lost_response`, `rate_limit`). A `lost_response` call was handled in full.
    pub fault: Option<String>,
    /// Arrival time.
    pub at: String,
}

/// How many requests the call log keeps by default; older ones are evicted first.
pub const MAX_CALLS: usize = 20_000;

/// The received requests: the latest `capacity` in full, and counts by route.
#[derive(Debug)]
pub struct CallLog {
    records: VecDeque<CallRecord>,
    capacity: usize,
    total: u64,
    counts: BTreeMap<String, u64>,
}

impl CallLog {
    /// An empty log keeping the latest `capacity` requests.
    pub fn new(capacity: usize) -> Self {
        Self {
            records: VecDeque::new(),
            capacity,
            total: 0,
            counts: BTreeMap::new(),
        }
    }

    /// Logs one request, numbering it and evicting the oldest past the capacity.
    pub fn push(&mut self, mut record: CallRecord) {
        self.total += 1;
        record.seq = self.total;
        if record.path.starts_with("/v1/") {
            *self
                .counts
                .entry(format!("{} {}", record.method, route_of(&record.path)))
                .or_default() += 1;
        }
        self.records.push_back(record);
        while self.records.len() > self.capacity {
            self.records.pop_front();
        }
    }

    /// The retained records, oldest first.
    pub fn records(&self) -> &VecDeque<CallRecord> {
        &self.records
    }

    /// Resets the per-route counts (the records stay).
    pub fn reset_counts(&mut self) {
        self.counts.clear();
    }
}

/// `path` with every resource id replaced by `{id}`: a segment with an underscore that is not
/// a known literal (ids look like `sesn_011C…`).
pub fn route_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.contains('_') && !matches!(segment, "tool_confirmation") {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The `/__sim` routes.
pub fn router() -> Router<SharedSim> {
    Router::new()
        .route("/__sim/resources", get(resources))
        .route("/__sim/calls", get(calls))
        .route("/__sim/counts", get(counts).delete(reset_counts))
        .route("/__sim/faults", get(get_faults).post(set_faults))
}

fn describe(record: &Record, now: Instant) -> Value {
    let body = &record.body;
    let mut out = json!({
        "id": record.id, "kind": record.kind, "state": record.life,
        "metadata": body.get("metadata").cloned().unwrap_or(Value::Null),
        "created_at": body.get("created_at").cloned().unwrap_or(Value::Null),
    });
    match record.kind {
        Kind::Environment | Kind::Agent => out["name"] = body["name"].clone(),
        Kind::Vault => out["name"] = body["display_name"].clone(),
        Kind::Session => {
            out["name"] = body["title"].clone();
            out["status"] = body["status"].clone();
            out["environment_id"] = body["environment_id"].clone();
            out["agent_id"] = body["agent"]["id"].clone();
            out["agent_version"] = body["agent"]["version"].clone();
            out["vault_ids"] = body["vault_ids"].clone();
        }
        Kind::Credential | Kind::File => {}
    }
    match &record.ext {
        Ext::Credential {
            vault_id,
            token_sha256,
        } => {
            out["name"] = body["display_name"].clone();
            out["vault_id"] = json!(vault_id);
            out["token_sha256"] = json!(token_sha256);
            out["mcp_server_url"] = body["auth"]
                .get("mcp_server_url")
                .cloned()
                .unwrap_or(Value::Null);
        }
        Ext::File(file) => {
            out["name"] = body["filename"].clone();
            out["session_id"] = json!(file.session_id);
            out["filename"] = body["filename"].clone();
            out["size_bytes"] = body["size_bytes"].clone();
            out["sha256"] = json!(file.sha256);
            out["downloadable"] = body["downloadable"].clone();
            out["visible"] = json!(file.visible_at.is_none_or(|at| at <= now));
        }
        Ext::Agent { versions } => out["version"] = json!(versions.len()),
        Ext::None | Ext::Session(_) => {}
    }
    out
}

async fn resources(State(sim): State<SharedSim>, query: ListQuery) -> Json<Value> {
    let now = Instant::now();
    let kind = query.get("kind").map(str::to_owned);
    let state = query.get("state").map(str::to_owned);
    let store = sim.store();
    let list: Vec<Value> = store
        .all()
        .into_iter()
        .map(|r| describe(r, now))
        .filter(|r| kind.as_ref().is_none_or(|k| r["kind"] == k.as_str()))
        .filter(|r| state.as_ref().is_none_or(|s| r["state"] == s.as_str()))
        .collect();
    Json(json!({ "resources": list, "retained": store.len() }))
}

async fn calls(State(sim): State<SharedSim>) -> Json<Value> {
    Json(json!({ "calls": sim.calls().records() }))
}

async fn counts(State(sim): State<SharedSim>) -> Json<Value> {
    let log = sim.calls();
    let total: u64 = log.counts.values().sum();
    Json(json!({
        "total": total,
        "counts": log.counts,
        "connections": sim.connections_accepted(),
    }))
}

async fn reset_counts(State(sim): State<SharedSim>) -> Json<Value> {
    sim.calls().reset_counts();
    Json(json!({ "total": 0, "counts": {}, "connections": sim.connections_accepted() }))
}

async fn get_faults(State(sim): State<SharedSim>) -> Json<Value> {
    Json(json!(sim.faults().config()))
}

async fn set_faults(
    State(sim): State<SharedSim>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let config: FaultConfig = serde_json::from_value(body)
        .map_err(|e| ApiError::invalid(format!("invalid fault config: {e}")))?;
    let mut faults = sim.faults();
    faults.replace(config);
    Ok(Json(json!(faults.config())))
}
