//! The scripts: what each scenario emits after `session.status_running`, and how an
//! approval turn resumes once its confirmations arrive.

use serde_json::{Value, json};

use super::directive::{Directive, Scenario};
use super::runner::{Ctx, Outcome, Step};
use crate::ids;
use crate::store::Work;

/// Plays one unit of work.
pub(super) async fn turn(ctx: &Ctx, work: Work) -> Step<Outcome> {
    let directive = match work {
        Work::Message { event_id, text } => {
            ctx.with(|_, ext| {
                if let Some(event) = ext.events.iter_mut().find(|e| e["id"] == event_id.as_str()) {
                    event["processed_at"] = json!(ids::now());
                }
            })?;
            Directive::parse(&text)
        }
        Work::Resume { allow, directive } => return resume(ctx, allow, directive).await,
    };
    ctx.emit_status("running", json!({ "type": "session.status_running" }))?;
    ctx.pause().await?;
    match directive.scenario {
        Scenario::Happy => ctx.finish_happy(&directive, None).await,
        Scenario::LateFiles => ctx.finish_happy(&directive, Some(directive.seconds)).await,
        Scenario::Slow => {
            ctx.message("This will take a while.")?;
            ctx.wait(directive.seconds).await?;
            ctx.finish_happy(&directive, None).await
        }
        Scenario::Spend => {
            for _ in 0..directive.requests {
                ctx.model_request(async |ctx: &Ctx| ctx.message("Thinking.").map(drop))
                    .await?;
            }
            ctx.idle(json!({ "type": "end_turn" }))?;
            Ok(Outcome::Idle)
        }
        Scenario::Transient => {
            ctx.emit(json!({ "type": "span.model_request_start" }))?;
            ctx.error("model_overloaded_error", "Overloaded", "retrying")?;
            ctx.emit_status(
                "rescheduling",
                json!({ "type": "session.status_rescheduled" }),
            )?;
            ctx.pause().await?;
            ctx.pause().await?;
            ctx.emit_status("running", json!({ "type": "session.status_running" }))?;
            ctx.finish_happy(&directive, None).await
        }
        Scenario::Exhausted => {
            ctx.emit(json!({ "type": "span.model_request_start" }))?;
            ctx.error("model_overloaded_error", "Overloaded", "retrying")?;
            ctx.emit_status(
                "rescheduling",
                json!({ "type": "session.status_rescheduled" }),
            )?;
            ctx.pause().await?;
            ctx.emit_status("running", json!({ "type": "session.status_running" }))?;
            ctx.error(
                "model_overloaded_error",
                "Overloaded; retries exhausted",
                "exhausted",
            )?;
            ctx.idle(json!({ "type": "retries_exhausted" }))?;
            Ok(Outcome::Idle)
        }
        Scenario::Terminated => {
            for _ in 0..directive.tools {
                ctx.write_file(directive.size, false, directive.name.as_deref())
                    .await?;
            }
            ctx.emit(json!({ "type": "span.model_request_start" }))?;
            ctx.error(
                "unknown_error",
                "The session failed and cannot continue",
                "terminal",
            )?;
            ctx.pause().await?;
            ctx.emit_status("terminated", json!({ "type": "session.status_terminated" }))?;
            Ok(Outcome::Terminated)
        }
        Scenario::IdleEarly => {
            ctx.finish_happy_showing(&directive, None, false).await?;
            // Not interruptible: the status catches up whatever the client does.
            tokio::time::sleep(directive.seconds).await;
            ctx.show_idle()?;
            Ok(Outcome::Idle)
        }
        Scenario::Rescheduling => {
            ctx.emit_status(
                "rescheduling",
                json!({ "type": "session.status_rescheduled" }),
            )?;
            ctx.wait(directive.seconds).await?;
            ctx.emit_status("running", json!({ "type": "session.status_running" }))?;
            ctx.finish_happy(&directive, None).await
        }
        Scenario::Refusal => {
            ctx.model_request(async |_: &Ctx| Ok(())).await?;
            ctx.idle_with(
                json!({ "type": "refusal" }),
                json!({
                    "type": "refusal", "category": "cyber",
                    "explanation": "The request was declined by a safety classifier.",
                }),
                true,
            )?;
            Ok(Outcome::Idle)
        }
        Scenario::ModelError => {
            let start = ctx.emit(json!({ "type": "span.model_request_start" }))?;
            ctx.pause().await?;
            ctx.emit(json!({
                "type": "span.model_request_end", "model_request_start_id": start["id"],
                "is_error": true,
                "model_usage": {
                    "input_tokens": 0, "output_tokens": 0,
                    "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0,
                },
            }))?;
            ctx.error(
                "model_request_failed_error",
                "The model request failed",
                "retrying",
            )?;
            ctx.pause().await?;
            ctx.finish_happy(&directive, None).await
        }
        Scenario::McpError => {
            for retry in ["retrying", "exhausted"] {
                ctx.error_with(
                    "mcp_authentication_failed_error",
                    "Authentication to the MCP server failed",
                    retry,
                    json!({ "mcp_server_name": "crm" }),
                )?;
                ctx.pause().await?;
            }
            ctx.idle(json!({ "type": "retries_exhausted" }))?;
            Ok(Outcome::Idle)
        }
        Scenario::CredentialError => {
            ctx.error_with(
                "credential_host_unreachable_error",
                "A credential's allowed host is not permitted by the environment",
                "terminal",
                json!({ "credential_id": "vcrd_011Csim", "vault_id": "vlt_011Csim" }),
            )?;
            ctx.pause().await?;
            ctx.emit_status("terminated", json!({ "type": "session.status_terminated" }))?;
            Ok(Outcome::Terminated)
        }
        Scenario::Forever => {
            ctx.emit(json!({ "type": "span.model_request_start" }))?;
            ctx.message("Working until interrupted.")?;
            ctx.until_interrupted().await?;
            Ok(Outcome::Idle)
        }
        Scenario::Approval => {
            let mut asked = Value::Null;
            ctx.model_request(async |ctx: &Ctx| {
                ctx.message("I need to run a command.")?;
                asked = ctx.emit(json!({
                    "type": "agent.tool_use", "name": "bash", "input": { "command": "echo antpath-sim" },
                    "evaluated_permission": "ask",
                }))?;
                Ok(())
            })
            .await?;
            let asked_id = asked["id"].as_str().unwrap_or_default().to_owned();
            ctx.with(|_, ext| {
                ext.awaiting = vec![asked_id.clone()];
                ext.denied = false;
                ext.parked = Some(directive.clone());
            })?;
            ctx.idle(json!({ "type": "requires_action", "event_ids": [asked_id] }))?;
            Ok(Outcome::Idle)
        }
    }
}

/// Continues an approval turn once every confirmation arrived.
pub(super) async fn resume(ctx: &Ctx, allow: bool, directive: Directive) -> Step<Outcome> {
    ctx.emit_status("running", json!({ "type": "session.status_running" }))?;
    let asked = ctx.with(|_, ext| {
        ext.events
            .iter()
            .rev()
            .find(|e| e["type"] == "agent.tool_use" && e["evaluated_permission"] == "ask")
            .map(|e| e["id"].clone())
    })?;
    let (text, is_error) = if allow {
        ("antpath-sim", false)
    } else {
        ("The user denied this tool call.", true)
    };
    ctx.emit(json!({
        "type": "agent.tool_result", "tool_use_id": asked.unwrap_or(Value::Null),
        "is_error": is_error, "content": [{ "type": "text", "text": text }],
    }))?;
    ctx.pause().await?;
    if allow {
        ctx.finish_happy(&directive, None).await
    } else {
        ctx.message("The command was denied; stopping.")?;
        ctx.idle(json!({ "type": "end_turn" }))?;
        Ok(Outcome::Idle)
    }
}
