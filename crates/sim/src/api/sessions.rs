//! `/v1/sessions`: create, retrieve, update, list, archive, delete.
//!
//! A session snapshots its agent, must name a usable environment and vaults, and may mount
//! files (each mount gets a new, non-downloadable, session-scoped copy). Running sessions
//! cannot be archived or deleted; deleting a session deletes every file scoped to it.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::{JsonBody, seq_bodies};
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::pagination::{ListQuery, Order, PageSpec, paginate};
use crate::state::SharedSim;
use crate::store::{Ext, Kind, Life, SessionExt, Store};
use crate::{pricing, scenario, validate};

/// Paging of the sessions list: newest first, `order` accepted, `prev_page` returned.
const PAGE: PageSpec = PageSpec {
    default_limit: 20,
    max_limit: 100,
    default_order: Order::Desc,
    has_order: true,
    prev_page: true,
};
/// Most `initial_events` on create.
const MAX_INITIAL_EVENTS: usize = 50;

/// Whether a session status forbids archive and delete.
pub fn is_busy(status: &Value) -> bool {
    matches!(status.as_str(), Some("running" | "rescheduling"))
}

/// Resolves the `agent` field to (agent id, session snapshot).
fn resolve_agent(store: &Store, agent: Option<&Value>) -> ApiResult<(String, Value)> {
    let (id, version, overrides) = match agent {
        Some(Value::String(id)) => (id.clone(), None, None),
        Some(obj @ Value::Object(map)) => {
            let kind = map.get("type").and_then(Value::as_str).unwrap_or("agent");
            if kind != "agent" && kind != "agent_with_overrides" {
                return Err(ApiError::invalid(
                    "agent.type: must be agent or agent_with_overrides",
                ));
            }
            let id = map.get("id").and_then(Value::as_str);
            let id = id.ok_or_else(|| ApiError::invalid("agent.id: Field required"))?;
            let version = map.get("version").and_then(Value::as_u64);
            (
                id.to_owned(),
                version,
                (kind == "agent_with_overrides").then_some(obj),
            )
        }
        _ => return Err(ApiError::invalid("agent: Field required")),
    };
    let record = store.usable(Kind::Agent, &id)?;
    let body = match (version, &record.ext) {
        (Some(v), Ext::Agent { versions }) => versions
            .get((v as usize).wrapping_sub(1))
            .ok_or_else(|| ApiError::not_found(format!("agent {id} has no version {v}")))?,
        _ => &record.body,
    };
    let mut snapshot = super::agents::session_snapshot(body);
    if let Some(overrides) = overrides {
        if overrides.get("model").is_some_and(Value::is_null) {
            return Err(
                ApiError::invalid("agent.model: cannot be null").with_code("agent_model_required")
            );
        }
        for field in ["system", "tools", "mcp_servers", "skills"] {
            if let Some(v) = overrides.get(field) {
                snapshot[field] = v.clone();
            }
        }
        if let Some(model) = overrides.get("model") {
            snapshot["model"] = match model {
                Value::String(m) => json!({ "id": m, "effort": { "type": "high" } }),
                other => other.clone(),
            };
        }
    }
    Ok((id, snapshot))
}

/// Builds `resources`, copying mounted files into session-scoped, non-downloadable files.
fn mount_resources(
    store: &mut Store,
    session_id: &str,
    resources: Option<&Value>,
) -> ApiResult<Vec<Value>> {
    let mut out = Vec::new();
    let now = ids::now();
    for resource in resources.and_then(Value::as_array).into_iter().flatten() {
        match resource.get("type").and_then(Value::as_str) {
            Some("file") => {
                let file_id = resource.get("file_id").and_then(Value::as_str);
                let mount_path = resource.get("mount_path").and_then(Value::as_str);
                out.push(super::resources::mount_file(
                    store,
                    session_id,
                    file_id.unwrap_or_default(),
                    mount_path,
                )?);
            }
            Some("github_repository") => {
                let url = resource.get("url").and_then(Value::as_str);
                let url = url.ok_or_else(|| ApiError::invalid("resources.url: Field required"))?;
                let repo = url
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("repo")
                    .trim_end_matches(".git");
                let mut entry = json!({
                    "id": ids::new_id("sesrsc"), "type": "github_repository", "url": url,
                    "mount_path": resource.get("mount_path").and_then(Value::as_str)
                        .map_or_else(|| format!("/workspace/{repo}"), str::to_owned),
                    "created_at": now, "updated_at": now,
                });
                if let Some(checkout) = resource.get("checkout").filter(|c| !c.is_null()) {
                    entry["checkout"] = checkout.clone();
                }
                out.push(entry);
            }
            _ => {
                return Err(ApiError::invalid(
                    "resources.type: must be file or github_repository",
                ));
            }
        }
    }
    Ok(out)
}

/// `POST /v1/sessions`
pub async fn create(
    State(sim): State<SharedSim>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    let environment_id = validate::optional_str(&body, "environment_id")?
        .ok_or_else(|| ApiError::invalid("environment_id: Field required"))?;
    let metadata = validate::metadata(&body)?;
    let title = validate::optional_str(&body, "title")?;
    let vault_ids: Vec<String> = match body.get("vault_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(ids)) => ids
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(_) => return Err(ApiError::invalid("vault_ids: must be a list of strings")),
    };
    let initial: Vec<Value> = body
        .get("initial_events")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if initial.len() > MAX_INITIAL_EVENTS {
        return Err(ApiError::invalid(format!(
            "initial_events: at most {MAX_INITIAL_EVENTS} events"
        )));
    }
    for event in &initial {
        scenario::check_user_event(event, &["user.message", "user.define_outcome"])?;
    }
    let budget = match body.get("budget") {
        None | Some(Value::Null) => Value::Null,
        Some(budget) => pricing::parse_budget(budget)?.0,
    };
    let mut store = sim.store();
    let (_, agent) = resolve_agent(&store, body.get("agent"))?;
    let model = pricing::model_of(&json!({ "agent": agent })).to_owned();
    if !budget.is_null() && pricing::price_of(&model).is_none() {
        return Err(pricing::not_budgetable(&model));
    }
    store.usable(Kind::Environment, &environment_id)?;
    for vault in &vault_ids {
        store.usable(Kind::Vault, vault)?;
    }
    let id = ids::new_id("sesn");
    let resources = mount_resources(&mut store, &id, body.get("resources"))?;
    let now = ids::now();
    let mut session = json!({
        "id": id, "type": "session", "status": "idle", "agent": agent,
        "environment_id": environment_id, "title": title, "metadata": metadata,
        "vault_ids": vault_ids, "resources": resources,
        "stats": { "active_seconds": 0.0, "duration_seconds": 0.0 },
        "usage": {
            "input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0,
            "cache_creation": { "ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0 },
            "active_seconds": 0.0,
            "server_tool_use": { "web_fetch_requests": 0, "web_search_requests": 0 },
        },
        "budget": budget,
        "outcome_evaluations": [], "deployment_id": null,
        "created_at": now, "updated_at": now, "archived_at": null,
    });
    pricing::refresh_list_cost(&mut session);
    store.insert(
        Kind::Session,
        id.clone(),
        session,
        Ext::Session(Box::new(SessionExt::new())),
    );
    if !initial.is_empty() {
        scenario::accept_events(&sim, &mut store, &id, &initial)?;
    }
    Ok(Json(store.get(Kind::Session, &id)?.body.clone()))
}

/// `GET /v1/sessions/{id}`
pub async fn retrieve(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(sim.store().get(Kind::Session, &id)?.body.clone()))
}

/// Applies a `budget` update as the API does: replace or remove (`null`) the budget of a
/// session created with one; never add one (`budget_create_only`, also for a removed
/// budget), never lower it to at or below the consumed list cost (`budget_not_raised`),
/// never on a terminated session. Returns whether it changed.
fn update_budget(session: &mut Value, update: &Value) -> ApiResult<bool> {
    if session["status"] == "terminated" {
        return Err(ApiError::invalid(
            "budget: cannot be changed on a terminated session",
        ));
    }
    if update.is_null() {
        let had = !session["budget"].is_null();
        session["budget"] = Value::Null;
        return Ok(had);
    }
    let (budget, ceiling) = pricing::parse_budget(update)?;
    if session["budget"].is_null() {
        return Err(ApiError::invalid(
            "budget: a budget can only be set when the session is created",
        )
        .with_code("budget_create_only"));
    }
    let model = pricing::model_of(session).to_owned();
    let Some(spent) = pricing::exact_cost(session) else {
        return Err(pricing::not_budgetable(&model));
    };
    if ceiling <= spent {
        return Err(ApiError::invalid(
            "budget.max_list_cost: must be above the session's consumed list cost",
        )
        .with_code("budget_not_raised"));
    }
    let changed = session["budget"] != budget;
    session["budget"] = budget;
    Ok(changed)
}

/// `POST /v1/sessions/{id}`: `title`, `metadata` patch, `budget` (see [`update_budget`]);
/// `vault_ids` is rejected.
pub async fn update(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    check_update_fields(&body)?;
    if body.get("vault_ids").is_some() {
        return Err(ApiError::invalid(
            "vault_ids: updating vault_ids is not supported",
        ));
    }
    let mut store = sim.store();
    let (session, ext) = store.session_mut(&id)?;
    // Checked first, on a copy, so a rejected budget leaves the session untouched.
    let next_budget = match body.get("budget") {
        Some(update) => {
            let mut probe = json!({
                "status": session["status"], "agent": session["agent"],
                "usage": session["usage"], "budget": session["budget"],
            });
            update_budget(&mut probe, update)?.then(|| probe["budget"].take())
        }
        None => None,
    };
    let mut changed = json!({ "type": "session.updated" });
    if let Some(title) = body.get("title")
        && *title != session["title"]
    {
        session["title"] = title.clone();
        changed["title"] = title.clone();
    }
    if validate::patch_metadata(&mut session["metadata"], &body, false)? {
        changed["metadata"] = session["metadata"].clone();
    }
    if let Some(budget) = next_budget {
        session["budget"] = budget.clone();
        changed["budget"] = budget;
    }
    if changed.as_object().is_some_and(|m| m.len() > 1) {
        session["updated_at"] = json!(ids::now());
        ext.push(changed, true);
    }
    Ok(Json(session.clone()))
}

/// The fields SDK 2.10.0's `SessionUpdateParams` declares; a create-only field such as
/// `environment_id` is refused, as is any `agent` field but `tools` and `mcp_servers` (the
/// only ones updatable mid-session).
const UPDATABLE: [&str; 5] = ["agent", "budget", "metadata", "title", "vault_ids"];

fn check_update_fields(body: &Value) -> ApiResult<()> {
    let fields = body.as_object().into_iter().flat_map(|m| m.keys());
    if let Some(field) = fields
        .into_iter()
        .find(|f| !UPDATABLE.contains(&f.as_str()))
    {
        return Err(ApiError::invalid(format!(
            "{field}: cannot be changed after the session is created"
        )));
    }
    let agent = body.get("agent").and_then(Value::as_object);
    if let Some(field) = agent
        .into_iter()
        .flat_map(|m| m.keys())
        .find(|f| !matches!(f.as_str(), "tools" | "mcp_servers"))
    {
        return Err(ApiError::invalid(format!(
            "agent.{field}: only tools and mcp_servers are updatable mid-session"
        )));
    }
    Ok(())
}

/// `GET /v1/sessions`: `agent_id`, `agent_version`, `statuses[]`, `include_archived`,
/// `order` (default desc), `limit`, `page`; answers `{data, next_page, prev_page}`.
pub async fn list(State(sim): State<SharedSim>, query: ListQuery) -> ApiResult<Json<Value>> {
    let include_archived = query.flag("include_archived", false)?;
    let statuses = query.all("statuses");
    let agent_id = query.get("agent_id").map(str::to_owned);
    let agent_version = query
        .get("agent_version")
        .and_then(|v| v.parse::<i64>().ok());
    let store = sim.store();
    let items = seq_bodies(store.list(Kind::Session, |r| {
        (include_archived || r.life == Life::Live)
            && (statuses.is_empty() || statuses.iter().any(|s| r.body["status"] == s.as_str()))
            && agent_id
                .as_ref()
                .is_none_or(|a| r.body["agent"]["id"] == a.as_str())
            && agent_version.is_none_or(|v| r.body["agent"]["version"] == v)
    }));
    Ok(Json(paginate(items, &query, PAGE)?))
}

/// `POST /v1/sessions/{id}/archive`: refused while running; the session ends `terminated`.
pub async fn archive(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    let (session, ext) = store.session_mut(&id)?;
    if is_busy(&session["status"]) {
        return Err(ApiError::busy(
            sim.config.busy_status,
            format!("session {id} is running; interrupt it first"),
        ));
    }
    if session["archived_at"].is_null() && session["status"] != "terminated" {
        session["status"] = json!("terminated");
        ext.push(json!({ "type": "session.status_terminated" }), true);
    }
    Ok(Json(store.archive(Kind::Session, &id)?))
}

/// `DELETE /v1/sessions/{id}`: refused while running; deletes the session's files.
pub async fn delete(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    let (session, ext) = store.session_mut(&id)?;
    if is_busy(&session["status"]) {
        return Err(ApiError::busy(
            sim.config.busy_status,
            format!("session {id} is running; interrupt it first"),
        ));
    }
    ext.push(json!({ "type": "session.deleted" }), true);
    let files: Vec<String> = store
        .list(
            Kind::File,
            |r| matches!(&r.ext, Ext::File(f) if f.session_id.as_deref() == Some(id.as_str())),
        )
        .iter()
        .map(|r| r.id.clone())
        .collect();
    for file in files {
        store.delete(Kind::File, &file)?;
    }
    store.delete(Kind::Session, &id)?;
    Ok(Json(json!({ "id": id, "type": "session_deleted" })))
}
