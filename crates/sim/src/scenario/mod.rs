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

/// Event types a client may send: the members of SDK 2.10.0's `BetaManagedAgentsEventParams`
/// union (`types/beta/sessions/beta_managed_agents_event_params.py`).
pub const SENDABLE: [&str; 7] = [
    "user.message",
    "user.interrupt",
    "user.tool_confirmation",
    "user.custom_tool_result",
    "user.define_outcome",
    "user.tool_result",
    "system.message",
];

/// Events a `system.message` may follow (its docstring: it must be the request's final event
/// and immediately follow one of these).
const SYSTEM_MESSAGE_FOLLOWS: [&str; 3] = [
    "user.message",
    "user.tool_result",
    "user.custom_tool_result",
];

/// Most `max_iterations` of a `user.define_outcome` (default 3).
const MAX_OUTCOME_ITERATIONS: i64 = 20;

/// Checks the order rules of a request's events: at most one `system.message`, last, right
/// after a user message or tool result.
pub fn check_event_order(events: &[Value]) -> ApiResult<()> {
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e.get("type").and_then(Value::as_str).unwrap_or_default())
        .collect();
    for (i, kind) in kinds.iter().enumerate() {
        if *kind != "system.message" {
            continue;
        }
        let last = i + 1 == kinds.len();
        let follows = i > 0 && SYSTEM_MESSAGE_FOLLOWS.contains(&kinds[i - 1]);
        if !last || !follows {
            return Err(ApiError::invalid(format!(
                "events.{i}: system.message must be the final event and immediately follow a \
                 user.message, user.tool_result or user.custom_tool_result"
            )));
        }
    }
    Ok(())
}

fn check_text_blocks(kind: &str, event: &Value, text_only: bool) -> ApiResult<()> {
    let blocks = event.get("content").and_then(Value::as_array);
    let blocks = blocks.filter(|b| !b.is_empty());
    let blocks = blocks
        .ok_or_else(|| ApiError::invalid(format!("{kind}: content must be a non-empty list")))?;
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            None => {
                return Err(ApiError::invalid(format!(
                    "{kind}: every content block needs a type"
                )));
            }
            Some("text") if block.get("text").and_then(Value::as_str).is_none() => {
                return Err(ApiError::invalid(format!(
                    "{kind}: content.text: Field required"
                )));
            }
            Some(other) if text_only && other != "text" => {
                return Err(ApiError::invalid(format!(
                    "{kind}: content blocks must be text, not {other:?}"
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

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
        "user.message" => check_text_blocks(kind, event, false)?,
        "system.message" => check_text_blocks(kind, event, true)?,
        "user.tool_result" if event.get("tool_use_id").and_then(Value::as_str).is_none() => {
            return Err(ApiError::invalid(
                "user.tool_result: tool_use_id: Field required",
            ));
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
        "user.define_outcome" => check_outcome(event)?,
        _ => {}
    }
    Ok(())
}

fn check_outcome(event: &Value) -> ApiResult<()> {
    if event.get("description").and_then(Value::as_str).is_none() {
        return Err(ApiError::invalid(
            "user.define_outcome: description: Field required",
        ));
    }
    let rubric = event.get("rubric");
    let valid = match rubric.and_then(|r| r.get("type")).and_then(Value::as_str) {
        Some("text") => rubric.and_then(|r| r["content"].as_str()).is_some(),
        Some("file") => rubric.and_then(|r| r["file_id"].as_str()).is_some(),
        _ => false,
    };
    if !valid {
        return Err(ApiError::invalid(
            "user.define_outcome: rubric must be {type: text, content} or {type: file, file_id}",
        ));
    }
    match event.get("max_iterations") {
        None | Some(Value::Null) => Ok(()),
        Some(n)
            if n.as_i64()
                .is_some_and(|n| (1..=MAX_OUTCOME_ITERATIONS).contains(&n)) =>
        {
            Ok(())
        }
        Some(_) => Err(ApiError::invalid(format!(
            "user.define_outcome: max_iterations must be an integer between 1 and {MAX_OUTCOME_ITERATIONS}"
        ))),
    }
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
    check_event_order(events)?;
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
            "user.message" | "user.define_outcome" => {
                // An outcome carries its server-made `outcome_id` and, unlike a queued
                // message, is processed on receipt (its `processed_at` is required).
                let outcome = kind == "user.define_outcome";
                if outcome {
                    echo["outcome_id"] = json!(crate::ids::new_id("outc"));
                }
                let echo = ext.push(echo, outcome);
                let event_id = echo["id"].as_str().unwrap_or_default().to_owned();
                let text = match event.get("description").and_then(Value::as_str) {
                    Some(description) => description.to_owned(),
                    None => message_text(event),
                };
                ext.pending.push_back(Work::Message { event_id, text });
                echoed.push(echo);
            }
            // Context for the turn it accompanies: persisted, no work of its own.
            "system.message" => echoed.push(ext.push(echo, true)),
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
