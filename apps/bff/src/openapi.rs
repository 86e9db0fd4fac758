//! The OpenAPI 3.1 document of the API, built from one table of operations ([`OPERATIONS`])
//! and the schemas of the request and response types, and served at `/v1/openapi.json`.
//!
//! The document says what the server enforces, exactly enough to generate a client from and to
//! fuzz the server against (`scripts/check-openapi`): every status an operation can answer, the
//! error body of each, the rules of every parameter and body field, and links from the
//! responses that create a resource to the operations on it. Each operation's parameters,
//! responses and links are written in [`crate::openapi_operation`].
//!
//! The committed copy is `docs/openapi.json`; a test fails when it is stale. Regenerate it with
//! `ANTPATH_BLESS=1 cargo test -p antpath-bff openapi`.

use serde_json::{Map, Value, json};

use crate::openapi_operation;

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

/// A read of one resource of the caller's workspace: no token, no scope, no such resource, or
/// the database.
const READ_ONE: &[u16] = &[401, 403, 404, 500, 503];

/// A change to one resource of the caller's workspace: as [`READ_ONE`], and the workspace's
/// rate limit for that kind of change.
const CHANGE_ONE: &[u16] = &[401, 403, 404, 429, 500, 503];

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
        errors: READ_ONE,
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
        errors: CHANGE_ONE,
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
        errors: CHANGE_ONE,
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
        errors: &[401, 403, 404, 422, 500, 503],
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
        errors: READ_ONE,
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
        errors: CHANGE_ONE,
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
        errors: &[401, 403, 500, 503],
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
        errors: &[401, 500, 503],
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
        errors: &[401, 403, 429, 500, 503],
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
        errors: CHANGE_ONE,
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
        entry[op.method] = openapi_operation::operation(op);
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
