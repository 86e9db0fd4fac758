//! `/v1/files`: list (by `scope_id`, page cursor), metadata, content, delete.
//!
//! No beta header is required (SDK 2.10.0 sends none on files). Files of a `late-files` turn
//! are invisible, to every route, until their time comes.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::pagination::{ListQuery, PageSpec, paginate};
use crate::state::SharedSim;
use crate::store::{Ext, Kind, Record, Store};

/// Paging of the files list (SDK 2.10.0): `limit` 1–1000, default 20.
const PAGE: PageSpec = PageSpec::simple(20, 1000);
/// Most ids in one `ids[]` lookup.
const MAX_IDS: usize = 100;

fn visible(record: &Record, now: Instant) -> bool {
    match &record.ext {
        Ext::File(file) => file.visible_at.is_none_or(|at| at <= now),
        _ => false,
    }
}

fn visible_file<'a>(store: &'a Store, id: &str) -> ApiResult<&'a Record> {
    let record = store.get(Kind::File, id)?;
    if !visible(record, Instant::now()) {
        return Err(ApiError::no_such("file", id));
    }
    Ok(record)
}

/// `GET /v1/files`: `scope_id`, `limit`, `page`, or `ids[]` (≤100, one page, alone).
pub async fn list(State(sim): State<SharedSim>, query: ListQuery) -> ApiResult<Json<Value>> {
    let scope = query.get("scope_id").map(str::to_owned);
    if let Some(scope) = &scope
        && !scope.starts_with("sesn_")
    {
        return Err(ApiError::invalid(format!(
            "scope_id: invalid session id {scope:?}"
        )));
    }
    let ids = query.all("ids");
    let now = Instant::now();
    let store = sim.store();
    let in_scope = |r: &Record| {
        visible(r, now)
            && scope
                .as_ref()
                .is_none_or(|s| r.body["scope"]["id"] == s.as_str())
    };
    if !ids.is_empty() {
        if query.get("page").is_some() || query.get("limit").is_some() {
            return Err(ApiError::invalid(
                "ids: cannot be combined with page or limit",
            ));
        }
        if ids.len() > MAX_IDS {
            return Err(ApiError::invalid(format!("ids: at most {MAX_IDS} ids")));
        }
        let data: Vec<Value> = store
            .list(Kind::File, |r| in_scope(r) && ids.contains(&r.id))
            .iter()
            .map(|r| r.body.clone())
            .collect();
        return Ok(Json(json!({ "data": data, "next_page": null })));
    }
    let items = store
        .list(Kind::File, in_scope)
        .iter()
        .map(|r| (r.seq, r.body.clone()))
        .collect();
    Ok(Json(paginate(items, &query, PAGE)?))
}

/// `GET /v1/files/{id}`
pub async fn retrieve(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(visible_file(&sim.store(), &id)?.body.clone()))
}

/// `GET /v1/files/{id}/content`: the bytes with the file's mime type; 400
/// `file_not_downloadable` for mounted copies and uploads.
pub async fn content(State(sim): State<SharedSim>, Path(id): Path<String>) -> ApiResult<Response> {
    let store = sim.store();
    let record = visible_file(&store, &id)?;
    if record.body["downloadable"] != true {
        return Err(ApiError::invalid(format!("file {id} is not downloadable"))
            .with_code("file_not_downloadable"));
    }
    let Ext::File(file) = &record.ext else {
        return Err(ApiError::no_such("file", &id));
    };
    let mime = record.body["mime_type"]
        .as_str()
        .unwrap_or("application/octet-stream");
    let mime =
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok(([(header::CONTENT_TYPE, mime)], file.content.clone()).into_response())
}

/// `DELETE /v1/files/{id}`
pub async fn delete(
    State(sim): State<SharedSim>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let mut store = sim.store();
    visible_file(&store, &id)?;
    store.delete(Kind::File, &id)?;
    Ok(Json(json!({ "id": id, "type": "file_deleted" })))
}
