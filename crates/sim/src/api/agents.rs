//! `/v1/agents`: create, retrieve (optionally a `version`), update, list, archive, versions.
//!
//! Agents cannot be deleted (SDK 2.10.0 has no such method): archive is their end state, and
//! archived agents reject updates and new sessions. Tools are echoed in their resolved form.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};

use super::agent_tools::{execution_identity, resolve_model, resolve_toolbox};
use super::{JsonBody, seq_bodies};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::pagination::{ListQuery, PageSpec, paginate};
use crate::state::SharedSim;
use crate::store::{Ext, Kind, Life};
use crate::validate;

/// Longest agent name.
const MAX_NAME: usize = 256;
/// Paging of the agents list and its versions: default 20, at most 100.
const PAGE: PageSpec = PageSpec::simple(20, 100);

/// `POST /v1/agents`
pub async fn create(
    State(sim): State<SharedSim>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    let name = validate::required_str(&body, "name", MAX_NAME)?;
    let model = resolve_model(body.get("model"))?;
    let metadata = validate::metadata(&body)?;
    let id = ids::new_id("agent");
    let now = ids::now();
    let mut agent = json!({
        "id": id, "type": "agent", "name": name,
        "description": validate::optional_str(&body, "description")?,
        "system": validate::optional_str(&body, "system")?,
        "model": model, "tools": [], "mcp_servers": [], "skills": [],
        "multiagent": null,
        "execution_identity": execution_identity(body.get("execution_identity"))?,
        "metadata": metadata, "version": 1,
        "created_at": now, "updated_at": now, "archived_at": null,
    });
    resolve_toolbox(&body, &mut agent)?;
    let versions = vec![agent.clone()];
    Ok(Json(sim.store().insert(
        Kind::Agent,
        id,
        agent,
        Ext::Agent { versions },
    )))
}

/// `GET /v1/agents/{id}`, optionally `?version=N`.
pub async fn retrieve(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    let record = store.get(Kind::Agent, &id)?;
    let Some(raw) = query.get("version") else {
        return Ok(Json(record.body.clone()));
    };
    let version: usize = raw
        .parse()
        .map_err(|_| ApiError::invalid("version: must be an integer"))?;
    match &record.ext {
        Ext::Agent { versions } if version >= 1 && version <= versions.len() => {
            Ok(Json(versions[version - 1].clone()))
        }
        _ => Err(ApiError::not_found(format!(
            "agent {id} has no version {version}"
        ))),
    }
}

/// `POST /v1/agents/{id}`: optimistic `version`, patch semantics, new version on change.
pub async fn update(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let fields = validate::object(&body)?;
    let mut store = sim.store();
    let record = store.get_mut(Kind::Agent, &id)?;
    if record.life == Life::Archived {
        return Err(ApiError::invalid(format!("agent {id} is archived")));
    }
    let current = record.body["version"].as_i64().unwrap_or(1);
    if let Some(expected) = body.get("version").filter(|v| !v.is_null())
        && expected.as_i64() != Some(current)
    {
        return Err(ApiError::conflict(format!(
            "agent {id} is at version {current}, not {expected}"
        )));
    }
    let mut next = record.body.clone();
    if fields.get("name").is_some_and(|n| !n.is_null()) {
        next["name"] = json!(validate::required_str(&body, "name", MAX_NAME)?);
    }
    for field in ["description", "system"] {
        if let Some(v) = fields.get(field) {
            next[field] = v.clone();
        }
    }
    if let Some(model) = fields.get("model").filter(|m| !m.is_null()) {
        let mut resolved = resolve_model(Some(model))?;
        if model.get("effort").is_none() {
            resolved["effort"] = next["model"]["effort"].clone();
        }
        next["model"] = resolved;
    }
    if fields.contains_key("execution_identity") {
        next["execution_identity"] = execution_identity(fields.get("execution_identity"))?;
    }
    let mut toolbox = Map::new();
    for field in ["tools", "mcp_servers", "skills"] {
        if let Some(v) = fields.get(field) {
            toolbox.insert(
                field.to_owned(),
                if v.is_null() { json!([]) } else { v.clone() },
            );
        }
    }
    resolve_toolbox(&Value::Object(toolbox), &mut next)?;
    validate::patch_metadata(&mut next["metadata"], &body, false)?;
    if next != record.body {
        next["version"] = json!(current + 1);
        next["updated_at"] = json!(ids::now());
        record.body = next.clone();
        if let Ext::Agent { versions } = &mut record.ext {
            versions.push(next);
        }
    }
    Ok(Json(record.body.clone()))
}

/// `GET /v1/agents`: `include_archived`, `limit` (≤100, default 20), `page`.
pub async fn list(State(sim): State<SharedSim>, query: ListQuery) -> ApiResult<Json<Value>> {
    let include_archived = query.flag("include_archived", false)?;
    let store = sim.store();
    let items = seq_bodies(store.list(Kind::Agent, |r| include_archived || r.life == Life::Live));
    Ok(Json(paginate(items, &query, PAGE)?))
}

/// `GET /v1/agents/{id}/versions`: every saved version, `limit`, `page`.
pub async fn versions(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let store = sim.store();
    let record = store.get(Kind::Agent, &id)?;
    let items = match &record.ext {
        Ext::Agent { versions } => versions
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u64 + 1, v.clone()))
            .collect(),
        _ => Vec::new(),
    };
    Ok(Json(paginate(items, &query, PAGE)?))
}

/// `POST /v1/agents/{id}/archive`
pub async fn archive(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(sim.store().archive(Kind::Agent, &id)?))
}

/// The snapshot of an agent stored on a session (`session.agent`).
pub fn session_snapshot(agent: &Value) -> Value {
    let mut snapshot = json!({ "type": "agent" });
    for field in [
        "id",
        "version",
        "name",
        "description",
        "model",
        "system",
        "tools",
        "mcp_servers",
        "skills",
        "multiagent",
        "execution_identity",
    ] {
        snapshot[field] = agent[field].clone();
    }
    snapshot
}
