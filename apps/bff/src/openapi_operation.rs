//! One operation of the OpenAPI document: its parameters with the rules the server checks, its
//! responses (success bodies, every error status with the error body and its headers) and the
//! links from its responses to the operations on what it created.

use antpath_template::json_schema::CONTROL;
use antpath_types::RunStatus;
use serde_json::{Map, Value, json};

use crate::openapi::Operation;
use crate::openapi_schemas::id_pattern;
use crate::routes::MAX_PAGE;
use crate::views::{EVENT_CURSOR_PATTERN, RUN_CURSOR_PATTERN};

/// The OpenAPI object of `op`.
pub fn operation(op: &Operation) -> Value {
    let mut responses = Map::new();
    for (status, schema) in op.responses {
        let mut response = content(schema, success(op, *status));
        if let Some(links) = links(op) {
            response["links"] = links;
        }
        responses.insert(status.to_string(), response);
    }
    for status in op.errors {
        let mut error = content("ErrorBody", reason(op, *status));
        if matches!(*status, 429 | 503) {
            error["headers"]["Retry-After"] = json!({"required": true,
                "schema": {"type": "integer", "minimum": 1},
                "description": "Whole seconds to wait before trying again."});
        }
        responses.insert(status.to_string(), error);
    }
    for response in responses.values_mut() {
        response["headers"]["X-Request-Id"] = json!({"required": true,
            "schema": {"type": "string"},
            "description": "The request's id (the caller's own `X-Request-Id` when it is sane), as in error bodies and logs."});
    }
    let mut value = json!({
        "operationId": op.id,
        "summary": op.summary,
        "parameters": parameters(op),
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

fn path_parameter(name: &str, pattern: Option<String>, description: &str) -> Value {
    let mut schema = json!({"type": "string"});
    if let Some(pattern) = pattern {
        schema["pattern"] = json!(pattern);
    }
    json!({"name": name, "in": "path", "required": true, "description": description, "schema": schema})
}

fn query_parameter(name: &str, required: bool, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": required, "description": description, "schema": schema})
}

fn limit(default: i64) -> Value {
    query_parameter(
        "limit",
        false,
        json!({"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": default}),
        "Items per page.",
    )
}

fn parameters(op: &Operation) -> Vec<Value> {
    let mut parameters = Vec::new();
    if op.path.contains("{id}") {
        let (prefix, what) = if op.path.starts_with("/v1/tokens") {
            ("tok", "The token's id.")
        } else {
            (
                "run",
                "The run's id; any other text is a 404, like an unknown run.",
            )
        };
        parameters.push(path_parameter("id", Some(id_pattern(prefix)), what));
    }
    if op.path.contains("{output_id}") {
        parameters.push(path_parameter(
            "output_id",
            Some(id_pattern("out")),
            "The output's id.",
        ));
    }
    match op.id {
        "listRuns" => {
            let statuses: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
            parameters.push(query_parameter(
                "status",
                false,
                json!({"type": "string", "enum": statuses}),
                "Only runs of this status.",
            ));
            parameters.push(limit(20));
            parameters.push(query_parameter(
                "cursor",
                false,
                json!({"type": "string", "pattern": RUN_CURSOR_PATTERN}),
                "The `next_cursor` of the previous page.",
            ));
        }
        "listRunEvents" => {
            parameters.push(limit(100));
            parameters.push(query_parameter(
                "cursor",
                false,
                json!({"type": "string", "pattern": EVENT_CURSOR_PATTERN}),
                "The `next_cursor` of the previous page (the last `seq` seen).",
            ));
        }
        "downloadSignedObject" => {
            parameters.push(path_parameter(
                "key",
                None,
                "The object's key, as the signed link spells it.",
            ));
            parameters.push(query_parameter(
                "expires",
                true,
                json!({"type": "integer", "minimum": 0, "maximum": u64::MAX}),
                "Unix time after which the link is refused.",
            ));
            for (name, what) in [
                ("filename", "The name to save the download as."),
                ("sig", "The link's signature."),
            ] {
                parameters.push(query_parameter(name, true, json!({"type": "string"}), what));
            }
        }
        "streamRun" => parameters.push(json!({"name": "Last-Event-ID", "in": "header", "required": false,
            "description": "The `id` of the last `event` message received: the stream resumes after it. Empty means from the start.",
            "schema": {"type": "string", "pattern": EVENT_CURSOR_PATTERN.replace("{1,", "{0,")}})),
        "createRun" => parameters.push(json!({"name": "Idempotency-Key", "in": "header", "required": false,
            "description": "Instead of (or equal to) the body's `idempotencyKey`: a resubmission with the same key and the same request answers 200 with the first run.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": format!("^[^{CONTROL}]*$")}})),
        _ => {}
    }
    parameters
}

/// Links from a success response to the operations on the resource it names, so that a client
/// (and the stateful fuzzer) can follow them.
fn links(op: &Operation) -> Option<Value> {
    let run_from = |expression: &str| {
        let mut links = Map::new();
        for (name, target) in [
            ("GetRun", "getRun"),
            ("CancelRun", "cancelRun"),
            ("DeleteRun", "deleteRun"),
            ("ListRunEvents", "listRunEvents"),
            ("StreamRun", "streamRun"),
            ("ListRunOutputs", "listRunOutputs"),
        ] {
            links.insert(
                name.to_owned(),
                json!({"operationId": target, "parameters": {"id": expression}}),
            );
        }
        Value::Object(links)
    };
    match op.id {
        "createRun" => Some(run_from("$response.body#/id")),
        "listRunOutputs" => Some(
            json!({"CreateOutputLink": {"operationId": "createOutputLink",
            "parameters": {"id": "$request.path.id", "output_id": "$response.body#/outputs/0/id"}}}),
        ),
        "createToken" => Some(json!({"RevokeToken": {"operationId": "revokeToken",
            "parameters": {"id": "$response.body#/id"}}})),
        _ => None,
    }
}

fn content(schema: &str, description: &str) -> Value {
    match schema {
        // A stored object is served with its own media type (what the provider reported).
        "Binary" => {
            json!({"description": description, "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}})
        }
        "Text" => {
            json!({"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}})
        }
        "RunStream" => {
            json!({"description": "Server-Sent Events: `event: run` (data: Run) first and on every change; `event: event` (id: its seq, data: Event) for each event after Last-Event-ID, in seq order; `event: end` (data: Run) once the run is finished, then the stream closes; `: keep-alive` comments while idle.",
                "content": {"text/event-stream": {"schema": stream_event()}}})
        }
        "Object" => {
            json!({"description": description, "content": {"application/json": {"schema": {"type": "object"}}}})
        }
        _ => {
            json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
        }
    }
}

/// One message of the run stream (the schema of a `text/event-stream` describes each event,
/// as OpenAPI 3.2 spells out): its `event` name and its `data`, one line of JSON.
fn stream_event() -> Value {
    let data = |schema: &str| {
        json!({"type": "string", "contentMediaType": "application/json",
            "contentSchema": {"$ref": format!("#/components/schemas/{schema}")}})
    };
    json!({"oneOf": [
        {"type": "object", "required": ["event", "data"], "properties": {
            "event": {"const": "run"}, "data": data("Run")}},
        {"type": "object", "required": ["event", "id", "data"], "properties": {
            "event": {"const": "event"}, "id": {"type": "string", "pattern": "^[0-9]+$"},
            "data": data("Event")}},
        {"type": "object", "required": ["event", "data"], "properties": {
            "event": {"const": "end"}, "data": data("Run")}}
    ]})
}

fn success(op: &Operation, status: u16) -> &'static str {
    match (op.id, status) {
        ("createRun", 201) => "The run was accepted.",
        ("createRun", 200) => {
            "The idempotency key was used before with the same request: the first run."
        }
        ("cancelRun", 202) => "A cancel was recorded on the active run.",
        ("cancelRun", 200) => "The run was already over (or already asked to stop): unchanged.",
        ("deleteRun", 202) => "The run is marked for deletion (and cancelled if it was active).",
        ("deleteWorkspace", 202) => "The deletion was recorded (or is already under way).",
        ("createToken", 201) => "The token; its value is in `token`, shown this once.",
        ("revokeToken", 200) => "The token, revoked (revoking twice is fine).",
        ("downloadSignedObject", 200) => {
            "The object's bytes, with its own media type, `Content-Disposition: attachment` and `Content-Security-Policy: sandbox`."
        }
        _ => "Success.",
    }
}

fn reason(op: &Operation, status: u16) -> &'static str {
    match (op.id, status) {
        ("downloadSignedObject", 403) => {
            "The link is invalid, altered or expired, or its query string is malformed (permission_denied)."
        }
        ("downloadSignedObject", 404) => {
            "The object is gone, or this deployment's store is not the local one (not_found)."
        }
        ("streamRun", 400) => {
            "The Last-Event-ID header is not an event id of this stream (invalid_request)."
        }
        ("createRun", 403) => {
            "The token lacks runs:write, the request carries a dashboard session instead of a token, or the workspace is suspended (permission_denied)."
        }
        ("createRun", 429) => {
            "The workspace submits too fast, or it or the token already has its most active runs (rate_limited)."
        }
        ("createToken", 403) => {
            "The token lacks tokens:manage, or asks for a scope it does not hold (permission_denied)."
        }
        ("whoami", 403) => {
            "The request carries a dashboard session, not a token (permission_denied)."
        }
        ("deleteWorkspace", 403) => {
            "The token lacks tokens:manage, or its user is not an owner of the workspace (permission_denied)."
        }
        ("listRuns" | "listRunEvents", 422) => {
            "A query parameter is malformed or out of range; details name it (invalid_request)."
        }
        ("createToken" | "revokeToken", 429) => {
            "The workspace changes tokens too fast (rate_limited)."
        }
        ("createOutputLink", 429) => "The workspace signs links too fast (rate_limited).",
        (_, 429) => "The workspace cancels or deletes too fast (rate_limited).",
        (_, 400) => {
            "Malformed body: not JSON, a repeated key or a NUL character; details name where (invalid_request)."
        }
        (_, 408) => {
            "The body did not arrive within the body read timeout; the connection is closed (invalid_request)."
        }
        (_, 401) => "Missing, unknown or revoked token (authentication_error).",
        (_, 403) => "The token lacks the operation's scope (permission_denied).",
        (_, 404) => "Not found in the token's workspace (not_found).",
        (_, 409) => {
            "Idempotency key reused with a different request (conflict), or the workspace is being deleted (workspace_deleting)."
        }
        (_, 413) => "Body over the limit (payload_too_large).",
        (_, 415) => "Body is not application/json (unsupported_media_type).",
        (_, 422) => "Validation failed; every problem is in details (invalid_request).",
        (_, 503) => {
            "The database is unavailable; retry after Retry-After seconds (service_unavailable)."
        }
        _ => "Internal error (internal_error).",
    }
}
