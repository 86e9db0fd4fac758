//! `/v1/sessions/{id}/resources`: list, add (a file), retrieve, update, delete.
//!
//! Mounting a file (here or through `resources` at session create) lists a new,
//! session-scoped, non-downloadable copy of it among the session's files; the resource names
//! the copy. Only `github_repository` resources take an `authorization_token` update (SDK
//! 2.10.0 `sessions/resources.py`).

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::JsonBody;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::pagination::{ListQuery, PageSpec, paginate};
use crate::state::SharedSim;
use crate::store::{Ext, FileExt, Kind, Store};
use crate::validate;

/// Paging of the resources list: `limit` up to 1000; the SDK says an absent limit returns
/// every resource.
const PAGE: PageSpec = PageSpec::simple(1000, 1000);
/// Prefix every file mount path lives under.
const UPLOADS: &str = "/mnt/session/uploads/";

/// Mounts file `file_id` into session `session_id`: stores its session-scoped,
/// non-downloadable copy and returns the `file` resource.
pub(super) fn mount_file(
    store: &mut Store,
    session_id: &str,
    file_id: &str,
    mount_path: Option<&str>,
) -> ApiResult<Value> {
    if file_id.is_empty() {
        return Err(ApiError::invalid("file_id: Field required"));
    }
    let source = store.get(Kind::File, file_id)?;
    let Ext::File(file) = &source.ext else {
        return Err(ApiError::no_such("file", file_id));
    };
    let (mut copy, content, sha256) = (
        source.body.clone(),
        file.content.clone(),
        file.sha256.clone(),
    );
    let now = ids::now();
    let copy_id = ids::new_id("file");
    copy["id"] = json!(copy_id);
    copy["downloadable"] = json!(false);
    copy["scope"] = json!({ "id": session_id, "type": "session" });
    copy["created_at"] = json!(now);
    let ext = FileExt {
        session_id: Some(session_id.to_owned()),
        content,
        sha256,
        visible_at: None,
    };
    store.insert(Kind::File, copy_id.clone(), copy, Ext::File(ext));
    let mount = match mount_path {
        Some(p) if p.starts_with(UPLOADS) => p.to_owned(),
        Some(p) => format!("{UPLOADS}{}", p.trim_start_matches('/')),
        None => format!("{UPLOADS}{file_id}"),
    };
    Ok(json!({
        "id": ids::new_id("sesrsc"), "type": "file", "file_id": copy_id, "mount_path": mount,
        "created_at": now, "updated_at": now,
    }))
}

fn resources_of<'a>(store: &'a mut Store, session_id: &str) -> ApiResult<&'a mut Vec<Value>> {
    let (body, _) = store.session_mut(session_id)?;
    if !body["resources"].is_array() {
        body["resources"] = json!([]);
    }
    body["resources"]
        .as_array_mut()
        .ok_or_else(ApiError::internal)
}

/// `GET /v1/sessions/{id}/resources`
pub async fn list(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    let items = resources_of(&mut store, &id)?
        .iter()
        .zip(1u64..)
        .map(|(r, seq)| (seq, r.clone()))
        .collect();
    Ok(Json(paginate(items, &query, PAGE)?))
}

/// `POST /v1/sessions/{id}/resources`: `{type: "file", file_id, mount_path?}`.
pub async fn add(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    if body.get("type").and_then(Value::as_str) != Some("file") {
        return Err(ApiError::invalid("type: must be file"));
    }
    let file_id = validate::optional_str(&body, "file_id")?
        .ok_or_else(|| ApiError::invalid("file_id: Field required"))?;
    let mount_path = validate::optional_str(&body, "mount_path")?;
    let mut store = sim.store();
    let (session, _) = store.session_mut(&id)?;
    if !session["archived_at"].is_null() || session["status"] == "terminated" {
        return Err(ApiError::conflict(format!("session {id} is not active")));
    }
    let resource = mount_file(&mut store, &id, &file_id, mount_path.as_deref())?;
    resources_of(&mut store, &id)?.push(resource.clone());
    let (session, _) = store.session_mut(&id)?;
    session["updated_at"] = json!(ids::now());
    Ok(Json(resource))
}

fn find(store: &mut Store, id: &str, rid: &str) -> ApiResult<usize> {
    resources_of(store, id)?
        .iter()
        .position(|r| r["id"] == rid)
        .ok_or_else(|| ApiError::no_such("session resource", rid))
}

/// `GET /v1/sessions/{id}/resources/{rid}`
pub async fn retrieve(
    State(sim): State<SharedSim>,
    Path((id, rid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    let at = find(&mut store, &id, &rid)?;
    Ok(Json(resources_of(&mut store, &id)?[at].clone()))
}

/// `POST /v1/sessions/{id}/resources/{rid}`: `authorization_token`, for repositories only.
pub async fn update(
    State(sim): State<SharedSim>,
    Path((id, rid)): Path<(String, String)>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    if validate::optional_str(&body, "authorization_token")?.is_none() {
        return Err(ApiError::invalid("authorization_token: Field required"));
    }
    let mut store = sim.store();
    let at = find(&mut store, &id, &rid)?;
    let resource = &mut resources_of(&mut store, &id)?[at];
    if resource["type"] != "github_repository" {
        return Err(ApiError::invalid(
            "authorization_token: only github_repository resources support token rotation",
        ));
    }
    resource["updated_at"] = json!(ids::now());
    Ok(Json(resource.clone()))
}

/// `DELETE /v1/sessions/{id}/resources/{rid}`: unmounts; a file's session copy is deleted.
pub async fn delete(
    State(sim): State<SharedSim>,
    Path((id, rid)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    let at = find(&mut store, &id, &rid)?;
    let removed = resources_of(&mut store, &id)?.remove(at);
    if removed["type"] == "file"
        && let Some(copy) = removed["file_id"].as_str()
    {
        let _ = store.delete(Kind::File, copy);
    }
    Ok(Json(
        json!({ "id": rid, "type": "session_resource_deleted" }),
    ))
}
