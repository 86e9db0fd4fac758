//! `/v1/vaults` and `/v1/vaults/{id}/credentials`.
//!
//! Credential secrets are write-only: responses echo the auth without `token`,
//! `access_token`, `refresh_token`, `client_secret` or `secret_value`; only a sha256 of the
//! secret is kept, for `/__sim/resources`. Deleting or archiving a vault cascades to its
//! credentials.

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

/// Longest vault or credential display name.
const MAX_DISPLAY_NAME: usize = 255;
/// Most active credentials per vault.
const MAX_CREDENTIALS: usize = 20;
/// Paging of the vaults and credentials lists: default 20, at most 100.
const PAGE: PageSpec = PageSpec::simple(20, 100);

/// `POST /v1/vaults`
pub async fn create(
    State(sim): State<SharedSim>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    let display_name = validate::required_str(&body, "display_name", MAX_DISPLAY_NAME)?;
    let metadata = validate::metadata(&body)?;
    let id = ids::new_id("vlt");
    let now = ids::now();
    let vault = json!({
        "id": id, "type": "vault", "display_name": display_name, "metadata": metadata,
        "created_at": now, "updated_at": now, "archived_at": null,
    });
    Ok(Json(sim.store().insert(Kind::Vault, id, vault, Ext::None)))
}

/// `GET /v1/vaults/{id}`
pub async fn retrieve(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(sim.store().get(Kind::Vault, &id)?.body.clone()))
}

/// `POST /v1/vaults/{id}`: `display_name`, `metadata` patch.
pub async fn update(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    let mut store = sim.store();
    let record = store.get_mut(Kind::Vault, &id)?;
    if record.life == Life::Archived {
        return Err(ApiError::invalid(format!("vault {id} is archived")));
    }
    let mut next = record.body.clone();
    if body.get("display_name").is_some_and(|n| !n.is_null()) {
        next["display_name"] = json!(validate::required_str(
            &body,
            "display_name",
            MAX_DISPLAY_NAME
        )?);
    }
    validate::patch_metadata(&mut next["metadata"], &body, false)?;
    if next != record.body {
        next["updated_at"] = json!(ids::now());
        record.body = next;
    }
    Ok(Json(record.body.clone()))
}

/// `GET /v1/vaults`: `include_archived`, `limit`, `page`; newest first, as documented.
pub async fn list(State(sim): State<SharedSim>, query: ListQuery) -> ApiResult<Json<Value>> {
    let include_archived = query.flag("include_archived", false)?;
    let store = sim.store();
    let items = seq_bodies(store.list(Kind::Vault, |r| include_archived || r.life == Life::Live));
    Ok(Json(paginate(items, &query, newest_first())?))
}

fn newest_first() -> PageSpec {
    PageSpec {
        default_order: crate::pagination::Order::Desc,
        ..PAGE
    }
}

fn credential_ids(store: &crate::store::Store, vault_id: &str) -> Vec<String> {
    store
        .list(
            Kind::Credential,
            |r| matches!(&r.ext, Ext::Credential { vault_id: v, .. } if v == vault_id),
        )
        .iter()
        .map(|r| r.id.clone())
        .collect()
}

/// `POST /v1/vaults/{id}/archive`: cascades to the credentials.
pub async fn archive(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    let vault = store.archive(Kind::Vault, &id)?;
    for credential in credential_ids(&store, &id) {
        store.archive(Kind::Credential, &credential)?;
    }
    Ok(Json(vault))
}

/// `DELETE /v1/vaults/{id}`: cascades to the credentials.
pub async fn delete(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    store.get(Kind::Vault, &id)?;
    for credential in credential_ids(&store, &id) {
        store.delete(Kind::Credential, &credential)?;
    }
    store.delete(Kind::Vault, &id)?;
    Ok(Json(json!({ "id": id, "type": "vault_deleted" })))
}

fn required<'a>(auth: &'a Value, field: &str) -> ApiResult<&'a str> {
    auth.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::invalid(format!("auth.{field}: Field required")))
}

/// Validates `auth` and returns (response form, uniqueness key, secret).
fn resolve_auth(auth: &Value) -> ApiResult<(Value, String, String)> {
    match auth.get("type").and_then(Value::as_str) {
        Some("static_bearer") => {
            let url = required(auth, "mcp_server_url")?;
            let token = required(auth, "token")?;
            Ok((
                json!({ "type": "static_bearer", "mcp_server_url": url }),
                url.to_owned(),
                token.to_owned(),
            ))
        }
        Some("mcp_oauth") => {
            let url = required(auth, "mcp_server_url")?;
            let token = required(auth, "access_token")?;
            let mut out = json!({ "type": "mcp_oauth", "mcp_server_url": url });
            if let Some(expires_at) = auth.get("expires_at").filter(|v| !v.is_null()) {
                out["expires_at"] = expires_at.clone();
            }
            if let Some(refresh) = auth.get("refresh").filter(|v| !v.is_null()) {
                for field in ["refresh_token", "client_id", "token_endpoint"] {
                    required(refresh, field).map_err(|_| {
                        ApiError::invalid(format!("auth.refresh.{field}: Field required"))
                    })?;
                }
                let endpoint_auth = refresh
                    .get("token_endpoint_auth")
                    .and_then(|a| a.get("type"))
                    .cloned();
                let endpoint_auth = endpoint_auth.ok_or_else(|| {
                    ApiError::invalid("auth.refresh.token_endpoint_auth: Field required")
                })?;
                let mut echo = json!({
                    "client_id": refresh["client_id"], "token_endpoint": refresh["token_endpoint"],
                    "token_endpoint_auth": { "type": endpoint_auth },
                });
                for field in ["scope", "resource"] {
                    if let Some(v) = refresh.get(field).filter(|v| !v.is_null()) {
                        echo[field] = v.clone();
                    }
                }
                out["refresh"] = echo;
            }
            Ok((out, url.to_owned(), token.to_owned()))
        }
        Some("environment_variable") => {
            let name = required(auth, "secret_name")?;
            let value = required(auth, "secret_value")?;
            let networking = auth.get("networking").filter(|v| !v.is_null());
            let networking =
                networking.ok_or_else(|| ApiError::invalid("auth.networking: Field required"))?;
            let injection = auth.get("injection_location").filter(|v| !v.is_null());
            let out = json!({
                "type": "environment_variable", "secret_name": name, "networking": networking,
                "injection_location": {
                    "header": injection.and_then(|i| i.get("header")).and_then(Value::as_bool).unwrap_or(true),
                    "body": injection.and_then(|i| i.get("body")).and_then(Value::as_bool).unwrap_or(false),
                },
            });
            Ok((out, name.to_owned(), value.to_owned()))
        }
        _ => Err(ApiError::invalid(
            "auth.type: must be static_bearer, mcp_oauth or environment_variable",
        )),
    }
}

fn auth_key(auth: &Value) -> Option<&str> {
    auth.get("mcp_server_url")
        .or_else(|| auth.get("secret_name"))
        .and_then(Value::as_str)
}

/// `POST /v1/vaults/{id}/credentials`
pub async fn create_credential(
    State(sim): State<SharedSim>,
    Path(vault_id): Path<String>,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    validate::object(&body)?;
    let (auth, key, secret) = resolve_auth(body.get("auth").unwrap_or(&Value::Null))?;
    let metadata = validate::metadata(&body)?;
    let display_name = validate::optional_str(&body, "display_name")?;
    if display_name
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_DISPLAY_NAME)
    {
        return Err(ApiError::invalid(format!(
            "display_name: at most {MAX_DISPLAY_NAME} characters"
        )));
    }
    let mut store = sim.store();
    store.usable(Kind::Vault, &vault_id)?;
    let active = store.list(Kind::Credential, |r| {
        r.life == Life::Live
            && matches!(&r.ext, Ext::Credential { vault_id: v, .. } if *v == vault_id)
    });
    if active
        .iter()
        .any(|r| auth_key(&r.body["auth"]) == Some(key.as_str()))
    {
        return Err(ApiError::conflict(format!(
            "vault {vault_id} already has an active credential for {key}"
        )));
    }
    if active.len() >= MAX_CREDENTIALS {
        return Err(ApiError::invalid(format!(
            "a vault holds at most {MAX_CREDENTIALS} credentials"
        )));
    }
    let id = ids::new_id("vcrd");
    let now = ids::now();
    let credential = json!({
        "id": id, "type": "vault_credential", "vault_id": vault_id, "display_name": display_name,
        "auth": auth, "metadata": metadata, "created_at": now, "updated_at": now, "archived_at": null,
    });
    let ext = Ext::Credential {
        vault_id,
        token_sha256: Some(ids::sha256_hex(secret.as_bytes())),
    };
    Ok(Json(store.insert(Kind::Credential, id, credential, ext)))
}

fn owned_credential<'a>(
    store: &'a crate::store::Store,
    vault_id: &str,
    id: &str,
) -> ApiResult<&'a crate::store::Record> {
    store.get(Kind::Vault, vault_id)?;
    let record = store.get(Kind::Credential, id)?;
    match &record.ext {
        Ext::Credential { vault_id: v, .. } if v == vault_id => Ok(record),
        _ => Err(ApiError::no_such("credential", id)),
    }
}

/// `GET /v1/vaults/{id}/credentials/{cid}`
pub async fn retrieve_credential(
    State(sim): State<SharedSim>,
    Path((vault_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    Ok(Json(
        owned_credential(&sim.store(), &vault_id, &id)?.body.clone(),
    ))
}

/// `GET /v1/vaults/{id}/credentials`: `include_archived`, `limit`, `page`; newest first.
pub async fn list_credentials(
    State(sim): State<SharedSim>,
    Path(vault_id): Path<String>,
    query: ListQuery,
) -> ApiResult<Json<Value>> {
    let include_archived = query.flag("include_archived", false)?;
    let store = sim.store();
    store.get(Kind::Vault, &vault_id)?;
    let items = seq_bodies(store.list(Kind::Credential, |r| {
        (include_archived || r.life == Life::Live)
            && matches!(&r.ext, Ext::Credential { vault_id: v, .. } if *v == vault_id)
    }));
    Ok(Json(paginate(items, &query, newest_first())?))
}

/// `DELETE /v1/vaults/{id}/credentials/{cid}`
pub async fn delete_credential(
    State(sim): State<SharedSim>,
    Path((vault_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    owned_credential(&store, &vault_id, &id)?;
    store.delete(Kind::Credential, &id)?;
    Ok(Json(
        json!({ "id": id, "type": "vault_credential_deleted" }),
    ))
}

/// `POST /v1/vaults/{id}/credentials/{cid}/archive`
pub async fn archive_credential(
    State(sim): State<SharedSim>,
    Path((vault_id, id)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    owned_credential(&store, &vault_id, &id)?;
    Ok(Json(store.archive(Kind::Credential, &id)?))
}
