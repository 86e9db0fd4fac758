//! The component schemas of the OpenAPI document: one per request and response type of
//! [`crate::views`] and the routes, kept next to each other so a changed field is changed in
//! both places in one review.

use antpath_template::{MAX_SPEND_USD, MIN_SPEND_USD};
use antpath_types::{ApiErrorType, CleanupState, Phase, RunStatus};
use serde_json::{Value, json};

fn nullable(kind: &str) -> Value {
    json!({"type": [kind, "null"]})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn nullable_time() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

fn page_of(item: &str) -> Value {
    json!({"type": "object", "required": ["data", "next_cursor"], "properties": {
        "data": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
        "next_cursor": nullable("string")}})
}

/// The workspace object of `GET /v1/workspace` (apart from the rest: one `json!` of every
/// schema would pass the macro's recursion limit).
fn workspace() -> Value {
    json!({"type": "object", "required": ["id", "object", "name", "status", "plan", "storage", "active_runs", "deletion"], "properties": {
            "id": {"type": "string", "pattern": "^ws_[0-9a-f]{32}$"},
            "object": {"const": "workspace"},
            "name": {"type": "string"},
            "status": {"type": "string", "enum": ["active", "suspended", "pending_delete", "deleted"]},
            "plan": {"type": "object", "properties": {
                "name": {"type": "string"}, "max_active_runs": {"type": "integer"},
                "max_active_runs_per_token": {"type": "integer"}, "max_run_duration_seconds": {"type": "integer"}}},
            "storage": {"type": "object", "properties": {
                "used_bytes": {"type": "integer"}, "cap_bytes": {"type": "integer"}}},
            "active_runs": {"type": "integer", "description": "Runs a worker is still working on, cleanup included."},
            "deletion": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["state", "requested_at", "progress"], "properties": {
                "state": {"type": "string", "enum": ["requested", "draining", "purging", "deleted"]},
                "requested_at": time(), "draining_at": nullable_time(), "purging_at": nullable_time(),
                "completed_at": nullable_time(),
                "progress": {"type": "object", "properties": {
                    "runs_remaining": {"type": "integer"}, "runs_cleaning_up": {"type": "integer"},
                    "objects_remaining": {"type": "integer"}, "bytes_remaining": {"type": "integer"}}}}}]}}})
}

/// Every component schema.
pub fn schemas() -> Value {
    let statuses: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
    let cleanup: Vec<&str> = CleanupState::ALL.iter().map(|s| s.as_str()).collect();
    let phases: Vec<&str> = Phase::ALL.iter().map(|s| s.as_str()).collect();
    let error_types: Vec<&str> = [
        ApiErrorType::InvalidRequest,
        ApiErrorType::AuthenticationError,
        ApiErrorType::PermissionDenied,
        ApiErrorType::NotFound,
        ApiErrorType::Conflict,
        ApiErrorType::WorkspaceDeleting,
        ApiErrorType::PayloadTooLarge,
        ApiErrorType::UnsupportedMediaType,
        ApiErrorType::RateLimited,
        ApiErrorType::InternalError,
        ApiErrorType::ServiceUnavailable,
    ]
    .iter()
    .map(|t| t.as_str())
    .collect();
    let mut all = json!({
        "ErrorBody": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["type", "message", "request_id"], "properties": {
                "type": {"type": "string", "enum": error_types},
                "message": {"type": "string"},
                "details": {"type": "array", "items": {"type": "object", "required": ["path", "message"],
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}}}},
                "request_id": {"type": "string"}}}}},
        "RunSubmission": {"type": "object", "required": ["template", "secrets"], "additionalProperties": false,
            "description": "camelCase; `secrets` is the only place a credential may appear.",
            "properties": {
                "template": {"type": "object", "description": "A template document (see crates/template)."},
                "variables": {"type": "object"},
                "secrets": {"type": "object", "required": ["anthropic"], "additionalProperties": false, "properties": {
                    "anthropic": {"type": "object", "required": ["apiKey"], "properties": {"apiKey": {"type": "string"}}},
                    "mcpServers": {"type": "object", "additionalProperties": {"type": "object", "required": ["bearerToken"],
                        "properties": {"bearerToken": {"type": "string"}}}}}},
                "cleanup": {"type": "object", "properties": {"claudeSession": {"type": "string", "enum": ["delete", "retain"]}}},
                "limits": {"type": "object", "properties": {
                    "maxDurationSeconds": {"type": "integer", "minimum": 1},
                    "maxSpendUsd": {"type": "number", "minimum": MIN_SPEND_USD, "maximum": MAX_SPEND_USD}}},
                "idempotencyKey": {"type": "string", "minLength": 1, "maxLength": 255}}},
        "Run": {"type": "object", "properties": {
            "id": {"type": "string", "pattern": "^run_[0-9a-f]{32}$"},
            "object": {"const": "run"},
            "status": {"type": "string", "enum": statuses},
            "phase": {"type": "string", "enum": phases},
            "cleanup": {"type": "object", "required": ["state", "attempts", "last_error", "abandoned_resources"], "properties": {
                "state": {"type": "string", "enum": cleanup},
                "attempts": {"type": "integer", "minimum": 0},
                "last_error": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {
                    "class": {"type": "string"}, "message": nullable("string")}}]},
                "abandoned_resources": {"type": "array", "items": {"type": "object", "properties": {
                    "kind": {"type": "string"}, "id": {"type": "string"}}}}}},
            "attempt": {"type": "integer", "minimum": 0},
            "max_attempts": {"type": "integer", "minimum": 1},
            "cleanup_policy": {"type": "string", "enum": ["delete", "retain"]},
            "template_name": {"type": "string"},
            "template_hash": {"type": "string"},
            "request_hash": {"type": "string"},
            "idempotency_key": nullable("string"),
            "error_class": nullable("string"),
            "error_message": nullable("string"),
            "usage": {"type": "object", "properties": {
                "input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"},
                "cache_read_tokens": {"type": "integer"}, "cache_creation_tokens": {"type": "integer"},
                "cost_usd": nullable("number"), "active_seconds": nullable("number")}},
            "limits": {"type": "object", "properties": {
                "max_duration_seconds": {"type": "integer"}, "max_spend_usd": nullable("number")}},
            "created_at": time(), "updated_at": time(), "dispatched_at": nullable_time(),
            "ended_at": nullable_time(), "cancel_requested_at": nullable_time(),
            "pending_delete_at": nullable_time()}},
        "RunPage": page_of("Run"),
        "Event": {"type": "object", "properties": {
            "id": {"type": "string"}, "seq": {"type": "integer"}, "type": {"type": "string"},
            "attempt": {"type": "integer"}, "provider_event_id": {"type": "string"},
            "processed_at": nullable_time(), "received_at": time(), "summary": {"type": "object"}}},
        "EventPage": page_of("Event"),
        "Outputs": {"type": "object", "properties": {
            "outputs": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "filename": {"type": "string"}, "display_name": {"type": "string"}, "size_bytes": {"type": "integer"},
                "sha256": {"type": "string"}, "content_type": nullable("string"), "created_at": time()}}},
            "capture_failures": {"type": "array", "items": {"type": "object", "properties": {
                "provider_file_id": {"type": "string"}, "filename": {"type": "string"}, "display_name": {"type": "string"},
                "size_bytes": nullable("integer"), "reason": {"type": "string"},
                "message": nullable("string"), "created_at": time()}}}}},
        "Link": {"type": "object", "required": ["url", "expires_at"], "properties": {
            "url": {"type": "string"}, "expires_at": time()}},
        "WhoAmI": {"type": "object", "properties": {
            "workspace": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}},
            "token": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                "scopes": {"type": "array", "items": {"type": "string"}}}},
            "user": {"type": "object", "properties": {"id": {"type": "string"}}}}},
        "Token": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "prefix": {"type": "string"},
            "scopes": {"type": "array", "items": {"type": "string", "enum": ["runs:read", "runs:write", "tokens:manage"]}},
            "created_at": time(), "last_used_at": nullable_time(), "revoked_at": nullable_time()}},
        "TokenPage": page_of("Token"),
        "TokenCreate": {"type": "object", "required": ["name", "scopes"], "additionalProperties": false, "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "scopes": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": ["runs:read", "runs:write", "tokens:manage"]}}}},
        "CreatedToken": {"allOf": [{"$ref": "#/components/schemas/Token"},
            {"type": "object", "required": ["token"], "properties": {"token": {"type": "string", "description": "Shown once."}}}]},
        "Status": {"type": "object", "properties": {"status": {"type": "string"}}}
    });
    all["Workspace"] = workspace();
    all
}
