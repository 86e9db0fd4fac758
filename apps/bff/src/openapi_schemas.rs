//! The component schemas of the OpenAPI document: one per request and response type of
//! [`crate::views`] and the routes, kept next to each other so a changed field is changed in
//! both places in one review.
//!
//! Request schemas state every rule the server checks on one field (the submission's come from
//! [`antpath_template::json_schema`]); response schemas list every field as required, since
//! every field is always present (`null` where it has no value).

use antpath_template::json_schema::{self, CONTROL, WHITESPACE};
use antpath_types::{ApiErrorType, CleanupState, ErrorClass, Permission, Phase, RunStatus};
use serde_json::{Map, Value, json};

use crate::actions::tokens::MAX_TOKEN_NAME_CHARS;

fn nullable(kind: &str) -> Value {
    json!({"type": [kind, "null"]})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn nullable_time() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

/// An id on the wire: its prefix and 32 hex digits.
pub fn id_pattern(prefix: &str) -> String {
    format!("^{prefix}_[0-9a-fA-F]{{32}}$")
}

fn id(prefix: &str) -> Value {
    json!({"type": "string", "pattern": id_pattern(prefix)})
}

fn hash() -> Value {
    json!({"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"})
}

/// An object whose every property is required.
fn object(properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    json!({"type": "object", "required": required, "properties": properties})
}

fn page_of(item: &str) -> Value {
    object(json!({
        "data": {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
        "next_cursor": nullable("string")}))
}

fn scopes() -> Vec<&'static str> {
    Permission::ALL.iter().map(|s| s.as_str()).collect()
}

/// The workspace object of `GET /v1/workspace` (apart from the rest: one `json!` of every
/// schema would pass the macro's recursion limit).
fn workspace() -> Value {
    let deletion = object(json!({
        "state": {"type": "string", "enum": ["requested", "draining", "purging", "deleted"]},
        "requested_at": time(), "draining_at": nullable_time(), "purging_at": nullable_time(),
        "completed_at": nullable_time(),
        "progress": object(json!({
            "runs_remaining": {"type": "integer"}, "runs_cleaning_up": {"type": "integer"},
            "objects_remaining": {"type": "integer"}, "bytes_remaining": {"type": "integer"}}))}));
    object(json!({
        "id": id("ws"),
        "object": {"const": "workspace"},
        "name": {"type": "string"},
        "status": {"type": "string", "enum": ["active", "suspended", "pending_delete", "deleted"]},
        "plan": object(json!({
            "name": {"type": "string"}, "max_active_runs": {"type": "integer"},
            "max_active_runs_per_token": {"type": "integer"},
            "max_run_duration_seconds": {"type": "integer"}})),
        "storage": object(json!({"used_bytes": {"type": "integer"}, "cap_bytes": {"type": "integer"}})),
        "active_runs": {"type": "integer", "description": "Runs a worker is still working on, cleanup included."},
        "deletion": {"oneOf": [{"type": "null"}, deletion]}}))
}

/// The run object.
fn run() -> Value {
    let statuses: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
    let cleanup: Vec<&str> = CleanupState::ALL.iter().map(|s| s.as_str()).collect();
    let phases: Vec<&str> = Phase::ALL.iter().map(|s| s.as_str()).collect();
    let classes: Vec<&str> = [
        ErrorClass::TransientProvider,
        ErrorClass::ProviderPermanent,
        ErrorClass::TenantPermanent,
        ErrorClass::AntpathBug,
        ErrorClass::CancelledByUser,
    ]
    .iter()
    .map(|c| c.as_str())
    .collect();
    object(json!({
        "id": id("run"),
        "object": {"const": "run"},
        "status": {"type": "string", "enum": statuses},
        "phase": {"type": "string", "enum": phases},
        "cleanup": object(json!({
            "state": {"type": "string", "enum": cleanup},
            "attempts": {"type": "integer", "minimum": 0},
            "last_error": {"oneOf": [{"type": "null"}, object(json!({
                "class": {"type": "string", "enum": classes}, "message": nullable("string")}))]},
            "abandoned_resources": {"type": "array", "items": object(json!({
                "kind": {"type": "string"}, "id": {"type": "string"}}))}})),
        "cleanup_policy": {"type": "string", "enum": ["delete", "retain"]},
        "attempt": {"type": "integer", "minimum": 0},
        "max_attempts": {"type": "integer", "minimum": 1},
        "template_name": {"type": "string"},
        "template_hash": hash(),
        "request_hash": hash(),
        "idempotency_key": nullable("string"),
        "error_class": {"type": ["string", "null"], "enum": classes.iter().map(|c| json!(c)).chain([Value::Null]).collect::<Vec<_>>()},
        "error_message": nullable("string"),
        "usage": object(json!({
            "input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"},
            "cache_read_tokens": {"type": "integer"}, "cache_creation_tokens": {"type": "integer"},
            "cost_usd": nullable("number"), "active_seconds": nullable("number")})),
        "limits": object(json!({
            "max_duration_seconds": {"type": "integer"}, "max_spend_usd": nullable("number")})),
        "created_at": time(), "updated_at": time(), "dispatched_at": nullable_time(),
        "ended_at": nullable_time(), "cancel_requested_at": nullable_time(),
        "pending_delete_at": nullable_time()}))
}

fn outputs() -> Value {
    object(json!({
        "outputs": {"type": "array", "items": object(json!({
            "id": id("out"), "filename": {"type": "string"}, "display_name": {"type": "string"},
            "size_bytes": {"type": "integer", "minimum": 0}, "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "content_type": nullable("string"), "created_at": time()}))},
        "capture_failures": {"type": "array", "items": object(json!({
            "provider_file_id": {"type": "string"}, "filename": {"type": "string"},
            "display_name": {"type": "string"}, "size_bytes": nullable("integer"),
            "reason": {"type": "string"}, "message": nullable("string"), "created_at": time()}))}}))
}

fn error_body() -> Value {
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
    object(json!({"error": {
        "type": "object", "required": ["type", "message", "request_id"], "properties": {
            "type": {"type": "string", "enum": error_types},
            "message": {"type": "string"},
            "details": {"type": "array",
                "description": "Present on 422 (every problem) and on a 400 about one place of the body.",
                "items": object(json!({"path": {"type": "string", "description": "A JSON pointer into the body, `?name` for a query parameter, or a header name."},
                    "message": {"type": "string"}}))},
            "request_id": {"type": "string"}}}}))
}

fn token_create() -> Value {
    // Trimmed before it is stored; the length counts what was sent.
    json!({"type": "object", "required": ["name", "scopes"], "additionalProperties": false, "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_NAME_CHARS,
            "description": "A label: no control characters, not only whitespace (which is trimmed).",
            "pattern": format!("^[^{CONTROL}]*[^{CONTROL}{WHITESPACE}][^{CONTROL}]*$")},
        "scopes": {"type": "array", "minItems": 1,
            "description": "No wider than the caller's own; a repeated scope counts once.",
            "items": {"type": "string", "enum": scopes()}}}})
}

/// Every component schema.
pub fn schemas() -> Value {
    let mut all = Map::new();
    for (name, schema) in json_schema::schemas("#/components/schemas/") {
        all.insert(name.to_owned(), schema);
    }
    let token = object(json!({
        "id": id("tok"), "name": {"type": "string"},
        "prefix": {"type": "string", "pattern": "^ant_[0-9A-Za-z]{4}$"},
        "scopes": {"type": "array", "items": {"type": "string", "enum": scopes()}},
        "created_at": time(), "last_used_at": nullable_time(), "revoked_at": nullable_time()}));
    let fixed = json!({
        "ErrorBody": error_body(),
        "Run": run(),
        "RunPage": page_of("Run"),
        "Event": object(json!({
            "id": id("evt"), "seq": {"type": "integer", "minimum": 1}, "type": {"type": "string"},
            "attempt": {"type": "integer"}, "provider_event_id": {"type": "string"},
            "processed_at": nullable_time(), "received_at": time(), "summary": {"type": "object"}})),
        "EventPage": page_of("Event"),
        "Outputs": outputs(),
        "Link": object(json!({"url": {"type": "string", "format": "uri"}, "expires_at": time()})),
        "WhoAmI": object(json!({
            "workspace": object(json!({"id": id("ws"), "name": {"type": "string"}})),
            "token": object(json!({"id": id("tok"), "name": {"type": "string"},
                "scopes": {"type": "array", "items": {"type": "string", "enum": scopes()}}})),
            "user": object(json!({"id": id("usr")}))})),
        "Token": token,
        "TokenPage": page_of("Token"),
        "TokenCreate": token_create(),
        "CreatedToken": {"allOf": [{"$ref": "#/components/schemas/Token"},
            object(json!({"token": {"type": "string", "pattern": "^ant_[0-9A-Za-z]{43}$", "description": "Shown once."}}))]},
        "Status": object(json!({"status": {"type": "string"}})),
        "Workspace": workspace(),
    });
    if let Value::Object(fixed) = fixed {
        all.extend(fixed);
    }
    Value::Object(all)
}
