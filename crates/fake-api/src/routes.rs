//! The fake's routes and the one middleware that records, injects faults and authenticates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use antpath_template::validate_submission;
use antpath_types::{OutputId, RunId, RunStatus};
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State as Extract};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Value, json};

use crate::state::{Recorded, State};

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/v1/runs", post(submit).get(list))
        .route("/v1/runs/{id}", get(get_run).delete(delete_run))
        .route("/v1/runs/{id}/events", get(events))
        .route("/v1/runs/{id}/outputs", get(outputs))
        .route("/v1/runs/{id}/outputs/{output}/link", post(link))
        .route("/v1/runs/{id}/cancel", post(cancel))
        .route("/v1/storage/{id}/{output}", get(storage))
        .route("/v1/whoami", get(whoami))
        .route("/v1/tokens", get(tokens))
        .route("/v1/tokens/{id}", delete(revoke))
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

fn error(status: u16, kind: &str, message: &str, details: Option<Value>) -> Response {
    let mut body = json!({"error": {"type": kind, "message": message, "request_id": "req_fake"}});
    if let Some(details) = details {
        body["error"]["details"] = details;
    }
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(body)).into_response()
}

fn not_found() -> Response {
    error(
        404,
        "not_found",
        "No run of that id exists in this workspace.",
        None,
    )
}

/// Records the request, answers an injected fault if one matches, checks the token.
async fn gate(Extract(state): Extract<Shared>, request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let path = request.uri().path().to_owned();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let fault = {
        let mut state = lock(&state);
        state.request_counter += 1;
        state.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            query: request.uri().query().map(str::to_owned),
            authorization: authorization.clone(),
            body: None,
        });
        let expected = format!("Bearer {}", state.config.token);
        let fault = state
            .faults
            .iter_mut()
            .find(|f| f.times > 0 && f.method == method && path.starts_with(&f.path_prefix));
        let fault = fault.map(|f| {
            f.times -= 1;
            f.clone()
        });
        let authorised = path.starts_with("/v1/storage/") || authorization == Some(expected);
        (fault, authorised)
    };
    let mut response = match fault {
        (Some(fault), _) => {
            let kind = if fault.status == 429 {
                "rate_limited"
            } else {
                "service_unavailable"
            };
            let mut response = error(fault.status, kind, "Injected failure.", None);
            if let Some(seconds) = fault.retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(seconds));
            }
            response
        }
        (None, false) => error(
            401,
            "authentication_error",
            "The API token is not valid.",
            None,
        ),
        (None, true) => next.run(request).await,
    };
    response
        .headers_mut()
        .insert("x-request-id", HeaderValue::from_static("req_fake"));
    response
}

async fn submit(Extract(state): Extract<Shared>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(400, "invalid_request", "The body is not JSON.", None);
    };
    let mut state = lock(&state);
    if let Some(last) = state.requests.last_mut() {
        last.body = Some(body.clone());
    }
    let submission = match validate_submission(&body) {
        Ok(submission) => submission,
        Err(errors) => {
            let details = serde_json::to_value(errors.into_details()).unwrap_or_default();
            return error(
                422,
                "invalid_request",
                "The submission is invalid.",
                Some(details),
            );
        }
    };
    let request_hash = submission.request_hash().to_string();
    let key = submission.idempotency_key().map(str::to_owned);
    if let Some(key) = &key
        && let Some((hash, id)) = state.idempotency.get(key).cloned()
    {
        if hash != request_hash {
            return error(
                409,
                "conflict",
                "The idempotency key was used for another request.",
                None,
            );
        }
        let run = state.run_mut(id).expect("keyed run exists").to_json();
        return (StatusCode::OK, Json(run)).into_response();
    }
    let id = state.insert_run(
        submission.template().name.clone(),
        submission.template_hash().to_string(),
        request_hash.clone(),
        key.clone(),
    );
    if let Some(key) = key {
        state.idempotency.insert(key, (request_hash, id));
    }
    let run = state.run_mut(id).expect("just inserted").to_json();
    (StatusCode::CREATED, Json(run)).into_response()
}

/// `limit` and an offset `cursor`, shared by the lists.
fn page(items: Vec<Value>, query: &HashMap<String, String>) -> Value {
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(20);
    let start: usize = query
        .get("cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let end = (start + limit).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    json!({"data": items.get(start..end).unwrap_or_default(), "next_cursor": next})
}

async fn list(
    Extract(state): Extract<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let state = lock(&state);
    let wanted: Option<RunStatus> = query.get("status").and_then(|s| s.parse().ok());
    let runs = state
        .runs
        .iter()
        .rev()
        .filter(|r| wanted.is_none_or(|s| r.status() == s))
        .map(|r| r.to_json())
        .collect();
    Json(page(runs, &query)).into_response()
}

fn with_run(state: &Shared, id: &str, f: impl FnOnce(&mut State, RunId) -> Response) -> Response {
    let mut state = lock(state);
    match id.parse::<RunId>() {
        Ok(id) if state.run_mut(id).is_some() => f(&mut state, id),
        _ => not_found(),
    }
}

async fn get_run(Extract(state): Extract<Shared>, Path(id): Path<String>) -> Response {
    with_run(&state, &id, |state, id| {
        let run = state.run_mut(id).expect("checked");
        run.advance();
        Json(run.to_json()).into_response()
    })
}

async fn events(
    Extract(state): Extract<Shared>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    with_run(&state, &id, |state, id| {
        let events = state.run_mut(id).expect("checked").events.clone();
        Json(page(events, &query)).into_response()
    })
}

async fn outputs(Extract(state): Extract<Shared>, Path(id): Path<String>) -> Response {
    with_run(&state, &id, |state, id| {
        let run = state.runs.iter().find(|r| r.id == id).expect("checked");
        Json(state.outputs_json(run)).into_response()
    })
}

async fn link(
    Extract(state): Extract<Shared>,
    Path((id, output)): Path<(String, String)>,
) -> Response {
    with_run(&state, &id, |state, id| {
        let url = format!("{}/v1/storage/{id}/{output}?sig=fake", state.base_url);
        Json(json!({"url": url, "expires_at": Utc::now()})).into_response()
    })
}

async fn storage(
    Extract(state): Extract<Shared>,
    Path((id, output)): Path<(String, String)>,
) -> Response {
    with_run(&state, &id, |state, id| {
        let run = state.run_mut(id).expect("checked");
        let wanted = output.parse::<OutputId>().ok();
        match run.outputs.iter().find(|o| Some(o.id) == wanted) {
            Some(o) => o.bytes.clone().into_response(),
            None => not_found(),
        }
    })
}

async fn cancel(Extract(state): Extract<Shared>, Path(id): Path<String>) -> Response {
    with_run(&state, &id, |state, id| {
        let run = state.run_mut(id).expect("checked");
        if run.status().is_terminal() {
            return Json(run.to_json()).into_response();
        }
        run.cancel_requested_at.get_or_insert_with(Utc::now);
        (StatusCode::ACCEPTED, Json(run.to_json())).into_response()
    })
}

async fn delete_run(Extract(state): Extract<Shared>, Path(id): Path<String>) -> Response {
    with_run(&state, &id, |state, id| {
        let run = state.run_mut(id).expect("checked");
        run.pending_delete_at.get_or_insert_with(Utc::now);
        run.script.truncate(run.step + 1);
        run.script.push(RunStatus::PendingDelete);
        run.step += 1;
        (StatusCode::ACCEPTED, Json(run.to_json())).into_response()
    })
}

async fn whoami() -> Json<Value> {
    Json(json!({
        "workspace": {"id": format!("ws_{:032x}", 1), "name": "Test workspace"},
        "token": {"id": format!("tok_{:032x}", 2), "name": "ci", "scopes": ["runs:read", "runs:write"]},
        "user": {"id": format!("usr_{:032x}", 3)}
    }))
}

fn token_json(revoked: bool) -> Value {
    json!({"id": format!("tok_{:032x}", 2), "name": "ci", "prefix": "ant_test", "scopes": ["runs:read"],
           "created_at": Utc::now(), "last_used_at": null,
           "revoked_at": if revoked { Some(Utc::now()) } else { None }})
}

async fn tokens() -> Json<Value> {
    Json(json!({"data": [token_json(false)]}))
}

async fn revoke() -> Json<Value> {
    Json(token_json(true))
}
