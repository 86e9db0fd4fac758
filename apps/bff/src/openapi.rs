//! The OpenAPI 3.1 document of the API, built from one table of operations ([`OPERATIONS`])
//! and the schemas of the response types, and served at `/v1/openapi.json`.
//!
//! The committed copy is `docs/openapi.json`; a test fails when it is stale. Regenerate it with
//! `ANTPATH_BLESS=1 cargo test -p antpath-bff openapi`.

use serde_json::{Map, Value, json};

/// One operation of the API.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// HTTP method, lowercase.
    pub method: &'static str,
    /// Path template as routed (`/v1/runs/{id}`).
    pub path: &'static str,
    /// Stable operation id for generated clients.
    pub id: &'static str,
    /// One-line summary.
    pub summary: &'static str,
    /// Required scope; `None` for public or any-token routes.
    pub scope: Option<&'static str>,
    /// Whether a bearer token is required.
    pub authenticated: bool,
    /// Request body schema name.
    pub request: Option<&'static str>,
    /// Success statuses and their schema names.
    pub responses: &'static [(u16, &'static str)],
    /// Error statuses this operation can return (each with the error shape).
    pub errors: &'static [u16],
}

const AUTH_ERRORS: &[u16] = &[401, 403, 404, 429, 500, 503];

/// Every operation, in the order of `docs/api.md`.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "post",
        path: "/v1/runs",
        id: "createRun",
        summary: "Submit a run.",
        scope: Some("runs:write"),
        authenticated: true,
        request: Some("RunSubmission"),
        responses: &[(201, "Run"), (200, "Run")],
        errors: &[400, 401, 403, 408, 409, 413, 415, 422, 429, 500, 503],
    },
    Operation {
        method: "get",
        path: "/v1/runs",
        id: "listRuns",
        summary: "List runs, newest first.",
        scope: Some("runs:read"),
        authenticated: true,
        request: None,
        responses: &[(200, "RunPage")],
        errors: &[401, 403, 422, 500, 503],
    },
    Operation {
        method: "get",
        path: "/v1/runs/{id}",
        id: "getRun",
        summary: "Get a run.",
        scope: Some("runs:read"),
        authenticated: true,
        request: None,
        responses: &[(200, "Run")],
        errors: AUTH_ERRORS,
    },
    Operation {
        method: "delete",
        path: "/v1/runs/{id}",
        id: "deleteRun",
        summary: "Soft-delete a run (cancels it if active).",
        scope: Some("runs:write"),
        authenticated: true,
        request: None,
        responses: &[(202, "Run")],
        errors: AUTH_ERRORS,
    },
    Operation {
        method: "post",
        path: "/v1/runs/{id}/cancel",
        id: "cancelRun",
        summary: "Request cancellation (idempotent).",
        scope: Some("runs:write"),
        authenticated: true,
        request: None,
        responses: &[(202, "Run"), (200, "Run")],
        errors: AUTH_ERRORS,
    },
    Operation {
        method: "get",
        path: "/v1/runs/{id}/events",
        id: "listRunEvents",
        summary: "List a run's event metadata, oldest first.",
        scope: Some("runs:read"),
        authenticated: true,
        request: None,
        responses: &[(200, "EventPage")],
        errors: AUTH_ERRORS,
    },
    Operation {
        method: "get",
        path: "/v1/runs/{id}/stream",
        id: "streamRun",
        summary: "Follow a run live: its run object and events as Server-Sent Events.",
        scope: Some("runs:read"),
        authenticated: true,
        request: None,
        responses: &[(200, "RunStream")],
        errors: &[400, 401, 403, 404, 500, 503],
    },
    Operation {
        method: "get",
        path: "/v1/runs/{id}/outputs",
        id: "listRunOutputs",
        summary: "List a run's outputs and capture failures.",
        scope: Some("runs:read"),
        authenticated: true,
        request: None,
        responses: &[(200, "Outputs")],
        errors: AUTH_ERRORS,
    },
    Operation {
        method: "post",
        path: "/v1/runs/{id}/outputs/{output_id}/link",
        id: "createOutputLink",
        summary: "Create a signed, expiring download link.",
        scope: Some("runs:write"),
        authenticated: true,
        request: None,
        responses: &[(200, "Link")],
        errors: AUTH_ERRORS,
    },
    Operation {
        method: "get",
        path: "/v1/storage/{key}",
        id: "downloadSignedObject",
        summary: "Download through a local-store signed link (the signature is the permission).",
        scope: None,
        authenticated: false,
        request: None,
        responses: &[(200, "Binary")],
        errors: &[403, 404, 500],
    },
    Operation {
        method: "get",
        path: "/v1/whoami",
        id: "whoami",
        summary: "The token's workspace, token and user.",
        scope: None,
        authenticated: true,
        request: None,
        responses: &[(200, "WhoAmI")],
        errors: &[401, 500, 503],
    },
    Operation {
        method: "get",
        path: "/v1/workspace",
        id: "getWorkspace",
        summary: "The token's workspace: plan, storage, active runs and any deletion's progress.",
        scope: None,
        authenticated: true,
        request: None,
        responses: &[(200, "Workspace")],
        errors: &[401, 500],
    },
    Operation {
        method: "delete",
        path: "/v1/workspace",
        id: "deleteWorkspace",
        summary: "Delete the workspace (owners only): cancel its runs, then purge everything.",
        scope: Some("tokens:manage"),
        authenticated: true,
        request: None,
        responses: &[(202, "Workspace")],
        errors: &[401, 403, 429, 500],
    },
    Operation {
        method: "get",
        path: "/v1/tokens",
        id: "listTokens",
        summary: "List the workspace's tokens.",
        scope: Some("tokens:manage"),
        authenticated: true,
        request: None,
        responses: &[(200, "TokenPage")],
        errors: &[401, 403, 500, 503],
    },
    Operation {
        method: "post",
        path: "/v1/tokens",
        id: "createToken",
        summary: "Create a token (its value is shown once).",
        scope: Some("tokens:manage"),
        authenticated: true,
        request: Some("TokenCreate"),
        responses: &[(201, "CreatedToken")],
        errors: &[400, 401, 403, 408, 413, 415, 422, 429, 500, 503],
    },
    Operation {
        method: "delete",
        path: "/v1/tokens/{id}",
        id: "revokeToken",
        summary: "Revoke a token.",
        scope: Some("tokens:manage"),
        authenticated: true,
        request: None,
        responses: &[(200, "Token")],
        errors: AUTH_ERRORS,
    },
    Operation {
        method: "get",
        path: "/healthz",
        id: "healthz",
        summary: "The process is up.",
        scope: None,
        authenticated: false,
        request: None,
        responses: &[(200, "Status")],
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/readyz",
        id: "readyz",
        summary: "The database is reachable.",
        scope: None,
        authenticated: false,
        request: None,
        responses: &[(200, "Status")],
        errors: &[503],
    },
    Operation {
        method: "get",
        path: "/metrics",
        id: "metrics",
        summary: "Prometheus metrics.",
        scope: None,
        authenticated: false,
        request: None,
        responses: &[(200, "Text")],
        errors: &[],
    },
    Operation {
        method: "get",
        path: "/v1/openapi.json",
        id: "openapi",
        summary: "This document.",
        scope: None,
        authenticated: false,
        request: None,
        responses: &[(200, "Object")],
        errors: &[],
    },
];

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method] = operation(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "antpath API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The authenticated, tenant-scoped run API. See docs/api.md for meaning."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An API token, `ant_` + 43 base62 characters."}},
            "schemas": super::openapi_schemas::schemas()
        }
    })
}

fn operation(op: &Operation) -> Value {
    let mut responses = Map::new();
    for (status, schema) in op.responses {
        responses.insert(status.to_string(), content(schema, "Success."));
    }
    for status in op.errors {
        let mut error = content("ErrorBody", reason(*status));
        if matches!(*status, 429 | 503) {
            error["headers"] = json!({"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}});
        }
        responses.insert(status.to_string(), error);
    }
    let mut parameters = Vec::new();
    for name in ["id", "output_id", "key"] {
        if op.path.contains(&format!("{{{name}}}")) {
            parameters.push(
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}),
            );
        }
    }
    let query: &[(&str, &str)] = match op.id {
        "listRuns" => &[
            ("status", "string"),
            ("limit", "integer"),
            ("cursor", "string"),
        ],
        "listRunEvents" => &[("limit", "integer"), ("cursor", "string")],
        "downloadSignedObject" => &[
            ("expires", "integer"),
            ("filename", "string"),
            ("sig", "string"),
        ],
        _ => &[],
    };
    for (name, kind) in query {
        parameters.push(json!({"name": name, "in": "query", "required": op.id == "downloadSignedObject", "schema": {"type": kind}}));
    }
    if op.id == "streamRun" {
        parameters.push(json!({"name": "Last-Event-ID", "in": "header", "required": false, "description": "The `id` of the last `event` message received: the stream resumes after it.", "schema": {"type": "string", "pattern": "^[0-9]*$"}}));
    }
    if op.id == "createRun" {
        parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 255}}));
    }
    let mut value = json!({
        "operationId": op.id,
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    });
    if op.authenticated {
        value["security"] = json!([{"bearer": []}]);
    }
    if let Some(scope) = op.scope {
        value["x-antpath-scope"] = json!(scope);
    }
    if let Some(request) = op.request {
        value["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{request}")}}}});
    }
    value
}

fn content(schema: &str, description: &str) -> Value {
    match schema {
        "Binary" => {
            json!({"description": description, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}})
        }
        "Text" => {
            json!({"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}})
        }
        "RunStream" => {
            json!({"description": "text/event-stream. `event: run` (data: Run) first and on every change; `event: event` (id: its seq, data: Event) for each event after Last-Event-ID, in seq order; `event: end` (data: Run) once the run is finished, then the stream closes; `: keep-alive` comments while idle.", "content": {"text/event-stream": {"schema": {"type": "string"}}}})
        }
        "Object" => {
            json!({"description": description, "content": {"application/json": {"schema": {"type": "object"}}}})
        }
        _ => {
            json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => {
            "Malformed body: not JSON, a repeated key or a NUL character; details name where; or a malformed Last-Event-ID header (invalid_request)."
        }
        408 => {
            "The body did not arrive within the body read timeout; the connection is closed (invalid_request)."
        }
        401 => "Missing, unknown or revoked token (authentication_error).",
        403 => "Missing scope (permission_denied).",
        404 => "Not found in the token's workspace (not_found).",
        409 => {
            "Idempotency key reused with a different request (conflict), or the workspace is being deleted (workspace_deleting)."
        }
        413 => "Body over the limit (payload_too_large).",
        415 => "Body is not application/json (unsupported_media_type).",
        422 => "Validation failed; every problem is in details (invalid_request).",
        429 => "Rate limit or active-run quota (rate_limited).",
        503 => {
            "The database is unavailable; retry after Retry-After seconds (service_unavailable)."
        }
        _ => "Internal error (internal_error).",
    }
}
