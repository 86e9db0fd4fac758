//! `/v1/files`: upload (multipart), list (by `scope_id`, page cursor), metadata, content,
//! delete.
//!
//! An upload is listed with no scope and `downloadable: false` (the API serves back only what
//! sessions produce); mounting it into a session lists a session-scoped copy (see
//! [`super::resources`]).
//! No beta header is required (SDK 2.10.0 sends none on files). Files of a `late-files` turn
//! are invisible, to every route, until their time comes.

use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::content::Content;
use crate::error::{ApiError, ApiResult};
use crate::pagination::{ListQuery, PageSpec, paginate};
use crate::state::SharedSim;
use crate::store::{Ext, FileExt, Kind, Record, Store};

use super::multipart;

/// Paging of the files list (SDK 2.10.0): `limit` 1–1000, default 20.
const PAGE: PageSpec = PageSpec::simple(20, 1000);
/// Most ids in one `ids[]` lookup.
const MAX_IDS: usize = 100;
/// Bounds of `expires_in_seconds` on upload (SDK 2.10.0 `file_upload_params.py`).
const EXPIRES_IN: std::ops::RangeInclusive<i64> = 3600..=7_776_000;
/// Largest upload the simulator accepts (64 MiB); it holds uploads in memory.
pub const MAX_UPLOAD_BYTES: usize = 64 << 20;

/// The extension `unnamed` gets for a known mime type.
fn extension_for(mime: &str) -> &'static str {
    match mime.split(';').next().unwrap_or_default().trim() {
        "text/plain" => ".txt",
        "text/csv" => ".csv",
        "text/markdown" => ".md",
        "application/json" => ".json",
        "application/pdf" => ".pdf",
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        _ => "",
    }
}

/// The name an upload is stored under: the part's final path component, or `unnamed` with
/// the extension of its mime type.
fn upload_name(filename: Option<&str>, mime: &str) -> String {
    let last = filename
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    if last.is_empty() {
        format!("unnamed{}", extension_for(mime))
    } else {
        last.to_owned()
    }
}

/// `POST /v1/files`: a `multipart/form-data` body with a `file` part and an optional
/// `expires_in_seconds` field.
pub async fn upload(
    State(sim): State<SharedSim>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary = multipart::boundary(content_type).ok_or_else(|| {
        ApiError::invalid("Content-Type: must be multipart/form-data with a boundary")
    })?;
    let parts = multipart::parse(&body, &boundary)
        .ok_or_else(|| ApiError::invalid("could not parse the multipart/form-data body"))?;
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .ok_or_else(|| ApiError::invalid("file: Field required"))?;
    let expires_in = match parts.iter().find(|p| p.name == "expires_in_seconds") {
        None => None,
        Some(part) => {
            let text = std::str::from_utf8(&part.data).unwrap_or_default().trim();
            let seconds = text.parse::<i64>().ok().filter(|s| EXPIRES_IN.contains(s));
            Some(seconds.ok_or_else(|| {
                ApiError::invalid("expires_in_seconds: must be an integer between 3600 and 7776000")
            })?)
        }
    };
    let mime = file
        .content_type
        .clone()
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let filename = upload_name(file.filename.as_deref(), &mime);
    let created = chrono::Utc::now();
    let expires_at = expires_in.map(|s| {
        (created + chrono::Duration::seconds(s))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    });
    let content = Content::Held(file.data.clone());
    let id = crate::ids::new_id("file");
    let record = json!({
        "id": id, "type": "file", "filename": filename, "mime_type": mime,
        "size_bytes": content.size(), "downloadable": false,
        "created_at": created.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "scope": null, "expires_at": expires_at,
    });
    let ext = FileExt {
        session_id: None,
        sha256: content.sha256_hex(),
        content,
        visible_at: None,
    };
    let body = sim.store().insert(Kind::File, id, record, Ext::File(ext));
    Ok(Json(body))
}

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
    let length = HeaderValue::from(file.content.size());
    let headers = [
        (header::CONTENT_TYPE, mime),
        (header::CONTENT_LENGTH, length),
    ];
    Ok((headers, file.content.body()).into_response())
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
