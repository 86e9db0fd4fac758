//! The scripted agent: what happens after events are sent to a session.
//!
//! [`accept_events`] validates and persists user events, queues work and starts a per-session
//! tokio task ([`runner`]) that plays the script chosen by the message's directive
//! ([`directive`]).

mod directive;
mod runner;
mod scripts;

use serde_json::{Value, json};

pub use directive::{Directive, file_content, file_name};

use crate::error::{ApiError, ApiResult};
use crate::state::SharedSim;
use crate::store::{Kind, Store, Work};

/// Event types a client may send.
pub const SENDABLE: [&str; 4] = [
    "user.message",
    "user.interrupt",
    "user.tool_confirmation",
    "user.custom_tool_result",
];

/// Validates one user event against the allowed types.
pub fn check_user_event(event: &Value, allowed: &[&str]) -> ApiResult<()> {
    let kind = event
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !allowed.contains(&kind) {
        return Err(ApiError::invalid(format!(
            "events: unsupported event type {kind:?}"
        )));
    }
    match kind {
        "user.message" => {
            let blocks = event.get("content").and_then(Value::as_array);
            let blocks = blocks.filter(|b| !b.is_empty());
            let blocks = blocks.ok_or_else(|| {
                ApiError::invalid("user.message: content must be a non-empty list")
            })?;
            if blocks
                .iter()
                .any(|b| b.get("type").and_then(Value::as_str).is_none())
            {
                return Err(ApiError::invalid(
                    "user.message: every content block needs a type",
                ));
            }
        }
        "user.tool_confirmation" => {
            if event.get("tool_use_id").and_then(Value::as_str).is_none() {
                return Err(ApiError::invalid(
                    "user.tool_confirmation: tool_use_id: Field required",
                ));
            }
            if !matches!(
                event.get("result").and_then(Value::as_str),
                Some("allow" | "deny")
            ) {
                return Err(ApiError::invalid(
                    "user.tool_confirmation: result must be allow or deny",
                ));
            }
        }
        "user.custom_tool_result"
            if event
                .get("custom_tool_use_id")
                .and_then(Value::as_str)
                .is_none() =>
        {
            return Err(ApiError::invalid(
                "user.custom_tool_result: custom_tool_use_id: Field required",
            ));
        }
        "user.define_outcome"
            if event.get("description").is_none() || event.get("rubric").is_none() =>
        {
            return Err(ApiError::invalid(
                "user.define_outcome: description and rubric are required",
            ));
        }
        _ => {}
    }
    Ok(())
}

fn message_text(event: &Value) -> String {
    let blocks = event
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    blocks
        .filter_map(|b| b.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Persists `events` on session `id` (validated all-or-nothing), queues the work they imply
/// and starts the scripted agent if it is not running. Returns the echoed events.
pub fn accept_events(
    sim: &SharedSim,
    store: &mut Store,
    id: &str,
    events: &[Value],
) -> ApiResult<Vec<Value>> {
    let record = store.get(Kind::Session, id)?;
    if !record.body["archived_at"].is_null() {
        return Err(ApiError::conflict(format!("session {id} is archived")));
    }
    if record.body["status"] == "terminated" {
        return Err(ApiError::conflict(format!("session {id} is terminated")));
    }
    for event in events {
        check_user_event(event, &SENDABLE)?;
    }
    let (body, ext) = store.session_mut(id)?;
    for event in events {
        let kind = event["type"].as_str().unwrap_or_default();
        let answered = event
            .get("tool_use_id")
            .or_else(|| event.get("custom_tool_use_id"));
        if let Some(answered) = answered.and_then(Value::as_str)
            && !ext.awaiting.iter().any(|a| a == answered)
        {
            return Err(ApiError::invalid(format!(
                "{kind}: no pending tool use {answered}"
            )));
        }
    }
    let mut echoed = Vec::new();
    for event in events {
        let mut echo = event.clone();
        let kind = event["type"].as_str().unwrap_or_default().to_owned();
        if let Some(map) = echo.as_object_mut() {
            map.remove("id");
        }
        match kind.as_str() {
            "user.message" => {
                let echo = ext.push(echo, false);
                let event_id = echo["id"].as_str().unwrap_or_default().to_owned();
                ext.pending.push_back(Work::Message {
                    event_id,
                    text: message_text(event),
                });
                echoed.push(echo);
            }
            "user.interrupt" => {
                echoed.push(ext.push(echo, true));
                if let Some(turn) = &ext.turn {
                    turn.interrupted
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    turn.interrupt.notify_one();
                }
            }
            _ => {
                let answered = event
                    .get("tool_use_id")
                    .or_else(|| event.get("custom_tool_use_id"));
                let answered = answered.and_then(Value::as_str).unwrap_or_default();
                ext.awaiting.retain(|a| a != answered);
                ext.denied |= event.get("result") == Some(&json!("deny"));
                echoed.push(ext.push(echo, true));
                if ext.awaiting.is_empty() {
                    let directive = ext.parked.take().unwrap_or_default();
                    ext.pending.push_back(Work::Resume {
                        allow: !ext.denied,
                        directive,
                    });
                    ext.denied = false;
                }
            }
        }
    }
    if !ext.pending.is_empty() {
        // Queued work means the session is running from now on, so a poller never mistakes
        // the moment between the send and the agent's first event for the end of the turn.
        if body["status"] == "idle" {
            body["status"] = json!("running");
            body["updated_at"] = json!(crate::ids::now());
        }
        if ext.turn.is_none() {
            runner::spawn(sim, ext, id);
        }
    }
    Ok(echoed)
}
