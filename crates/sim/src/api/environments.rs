//! `/v1/environments`: create, retrieve, update, list, archive, delete.
//!
//! Names are unique among live environments (409). Delete is refused while any non-deleted
//! session references the environment; archived environments reject new sessions and updates.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::{JsonBody, seq_bodies};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::pagination::{ListQuery, PageSpec, paginate};
use crate::state::SharedSim;
use crate::store::{Ext, Kind, Life};
use crate::validate;

/// Longest environment name.
const MAX_NAME: usize = 256;
/// Paging of the environments list (limits not documented; the agents list's are used).
const PAGE: PageSpec = PageSpec::simple(20, 100);

const PACKAGE_MANAGERS: [&str; 6] = ["apt", "cargo", "gem", "go", "npm", "pip"];

/// The response form of a `config`, defaults filled in.
fn resolve_config(config: Option<&Value>) -> ApiResult<Value> {
    let config = match config {
        None | Some(Value::Null) => return Ok(default_cloud()),
        Some(c @ Value::Object(_)) => c,
        Some(_) => return Err(ApiError::invalid("config: must be an object")),
    };
    match config.get("type").and_then(Value::as_str) {
        Some("self_hosted") => Ok(json!({ "type": "self_hosted" })),
        Some("cloud") => {
            let networking = match config.get("networking") {
                None | Some(Value::Null) => json!({ "type": "unrestricted" }),
                Some(n) => match n.get("type").and_then(Value::as_str) {
                    Some("unrestricted") => json!({ "type": "unrestricted" }),
                    Some("limited") => json!({
                        "type": "limited",
                        "allowed_hosts": n.get("allowed_hosts").cloned().unwrap_or(json!([])),
                        "allow_mcp_servers": n.get("allow_mcp_servers").and_then(Value::as_bool).unwrap_or(false),
                        "allow_package_managers": n.get("allow_package_managers").and_then(Value::as_bool).unwrap_or(false),
                    }),
                    _ => {
                        return Err(ApiError::invalid(
                            "config.networking.type: must be unrestricted or limited",
                        ));
                    }
                },
            };
            let mut packages = json!({ "type": "packages" });
            let given = config.get("packages").filter(|p| !p.is_null());
            let mut any = false;
            for manager in PACKAGE_MANAGERS {
                let list = given
                    .and_then(|p| p.get(manager))
                    .cloned()
                    .unwrap_or(json!([]));
                if !list.is_array() {
                    return Err(ApiError::invalid(format!(
                        "config.packages.{manager}: must be a list"
                    )));
                }
                any |= list.as_array().is_some_and(|l| !l.is_empty());
                packages[manager] = list;
            }
            if any
                && networking["type"] == "limited"
                && networking["allow_package_managers"] != true
            {
                return Err(ApiError::invalid(
                    "config.packages: limited networking needs allow_package_managers: true",
                ));
            }
            Ok(json!({ "type": "cloud", "networking": networking, "packages": packages }))
        }
        _ => Err(ApiError::invalid(
            "config.type: must be cloud or self_hosted",
        )),
    }
}

fn default_cloud() -> Value {
    resolve_config(Some(&json!({ "type": "cloud" }))).unwrap_or_else(|_| json!({ "type": "cloud" }))
}

fn check_scope(body: &Value) -> ApiResult<Value> {
    match body.get("scope") {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::String(s)) if s == "organization" => Ok(json!("organization")),
        Some(_) => Err(ApiError::invalid(
            "scope: this organization supports only \"organization\"",
        )),
    }
}

/// `POST /v1/environments`
pub async fn create(
    State(sim): State<SharedSim>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    let name = validate::required_str(&body, "name", MAX_NAME)?;
    let config = resolve_config(body.get("config"))?;
    let metadata = validate::metadata(&body)?;
    let description = validate::optional_str(&body, "description")?;
    let scope = check_scope(&body)?;
    let mut store = sim.store();
    if !store
        .list(Kind::Environment, |r| {
            r.life == Life::Live && r.body["name"] == name.as_str()
        })
        .is_empty()
    {
        return Err(ApiError::conflict(format!(
            "an environment named {name:?} already exists"
        )));
    }
    let id = ids::new_id("env");
    let now = ids::now();
    let env = json!({
        "id": id, "type": "environment", "name": name, "description": description,
        "config": config, "metadata": metadata, "scope": scope,
        "created_at": now, "updated_at": now, "archived_at": null,
    });
    Ok(Json(store.insert(Kind::Environment, id, env, Ext::None)))
}

/// `GET /v1/environments/{id}`
pub async fn retrieve(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(sim.store().get(Kind::Environment, &id)?.body.clone()))
}

/// `POST /v1/environments/{id}`: name, description, config, metadata.
pub async fn update(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    let mut store = sim.store();
    let record = store.get_mut(Kind::Environment, &id)?;
    if record.life == Life::Archived {
        return Err(ApiError::invalid(format!("environment {id} is archived"))
            .with_code("environment_archived"));
    }
    let mut next = record.body.clone();
    if body.get("name").is_some_and(|n| !n.is_null()) {
        next["name"] = json!(validate::required_str(&body, "name", MAX_NAME)?);
    }
    if let Some(description) = body.get("description") {
        next["description"] = match description {
            Value::Null | Value::String(_) => description.clone(),
            _ => return Err(ApiError::invalid("description: must be a string or null")),
        };
    }
    if let Some(config) = body.get("config").filter(|c| !c.is_null()) {
        if config.get("type") != next["config"].get("type") {
            return Err(
                ApiError::invalid("config.type: cannot change the config type")
                    .with_code("invalid_config_type_change"),
            );
        }
        let mut merged = next["config"].clone();
        for field in ["networking", "packages"] {
            if let Some(v) = config.get(field).filter(|v| !v.is_null()) {
                merged[field] = v.clone();
            }
        }
        next["config"] = resolve_config(Some(&merged))?;
    }
    if body.get("scope").is_some() {
        next["scope"] = check_scope(&body)?;
    }
    validate::patch_metadata(&mut next["metadata"], &body, true)?;
    if next != record.body {
        next["updated_at"] = json!(ids::now());
        record.body = next;
    }
    Ok(Json(record.body.clone()))
}

/// `GET /v1/environments`: `include_archived`, `limit`, `page`.
pub async fn list(State(sim): State<SharedSim>, query: ListQuery) -> ApiResult<Json<Value>> {
    let include_archived = query.flag("include_archived", false)?;
    let store = sim.store();
    let items = seq_bodies(store.list(Kind::Environment, |r| {
        include_archived || r.life == Life::Live
    }));
    Ok(Json(paginate(items, &query, PAGE)?))
}

/// `POST /v1/environments/{id}/archive`
pub async fn archive(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(sim.store().archive(Kind::Environment, &id)?))
}

/// `DELETE /v1/environments/{id}`: refused (409) while sessions reference it.
pub async fn delete(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    store.get(Kind::Environment, &id)?;
    let users = store
        .list(Kind::Session, |r| r.body["environment_id"] == id.as_str())
        .len();
    if users > 0 {
        return Err(ApiError::conflict(format!(
            "environment {id} is referenced by {users} session(s); delete them first"
        )));
    }
    store.delete(Kind::Environment, &id)?;
    Ok(Json(json!({ "id": id, "type": "environment_deleted" })))
}
