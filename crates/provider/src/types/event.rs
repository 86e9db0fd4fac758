//! Session events: what the client sends (`user.message`, `user.interrupt`, confirmations) and
//! the persisted history it reads back.
//!
//! [`SessionEvent`] keeps the fields every event has and a typed [`EventKind`] for the types a
//! control plane acts on; any other type is kept whole in [`EventKind::Other`].

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Extra, NoFields, open_union};

/// Text in a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextBlock {
    /// The text.
    pub text: String,
}

open_union! {
    /// One block of message content.
    pub enum ContentBlock {
        /// `{type:"text", text}`
        "text" => Text(TextBlock),
    }
}

/// `content` of a user or agent message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageContent {
    /// The blocks.
    #[serde(default)]
    pub content: Vec<ContentBlock>,
}

impl MessageContent {
    /// The text blocks joined by newlines.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text(t) => Some(t.text.as_str()),
                ContentBlock::Other(_) => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `agent.tool_use` and `agent.mcp_tool_use`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolUse {
    /// The tool name.
    pub name: String,
    /// The MCP server, for MCP tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_server_name: Option<String>,
    /// The tool input.
    #[serde(default)]
    pub input: Value,
    /// `allow`, `ask` (an approval is pending) or `deny`.
    #[serde(default)]
    pub evaluated_permission: Option<String>,
}

/// `agent.custom_tool_use`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomToolUse {
    /// The tool name.
    pub name: String,
    /// The tool input.
    #[serde(default)]
    pub input: Value,
}

/// `agent.tool_result` and `agent.mcp_tool_result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    /// The `agent.tool_use` event id (built-in tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// The `agent.mcp_tool_use` event id (MCP tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_tool_use_id: Option<String>,
    /// Whether the tool failed.
    #[serde(default)]
    pub is_error: Option<bool>,
}

/// `{event_ids}` of a `requires_action` stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiresAction {
    /// The tool-use events waiting for an answer.
    #[serde(default)]
    pub event_ids: Vec<String>,
}

open_union! {
    /// Why a session went idle.
    pub enum StopReason {
        /// The turn finished (also after an interrupt).
        "end_turn" => EndTurn(NoFields),
        /// Blocked on a tool confirmation or a custom tool result.
        "requires_action" => RequiresAction(RequiresAction),
        /// The turn failed after the provider's own retries.
        "retries_exhausted" => RetriesExhausted(NoFields),
        /// Paused at the session budget.
        "budget_reached" => BudgetReached(NoFields),
        /// The model's answer was refused.
        "refusal" => Refusal(NoFields),
    }
}

/// `session.status_idle`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusIdle {
    /// Why.
    pub stop_reason: StopReason,
    /// Refusal details, as JSON.
    #[serde(default)]
    pub stop_details: Option<Value>,
}

open_union! {
    /// What the provider does after a session error.
    pub enum RetryStatus {
        /// It retries by itself.
        "retrying" => Retrying(NoFields),
        /// The turn is dead; the session goes idle with `retries_exhausted`.
        "exhausted" => Exhausted(NoFields),
        /// The session will terminate.
        "terminal" => Terminal(NoFields),
    }
}

/// The `error` of a `session.error` event. Its `type` is an open set (model overloaded, MCP
/// authentication failed, billing, …), so it is a string here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionErrorObject {
    /// `model_overloaded_error`, `mcp_authentication_failed_error`, …
    #[serde(rename = "type", default)]
    pub error_type: String,
    /// A message for people (may name a URL; scrub before storing).
    #[serde(default)]
    pub message: String,
    /// What happens next.
    pub retry_status: RetryStatus,
    /// Variant fields (`mcp_server_name`, `credential_id`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `session.error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionErrorEvent {
    /// The error.
    pub error: SessionErrorObject,
}

/// `session.usage`: a periodic snapshot of the session's cumulative usage and list cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageEvent {
    /// The cumulative usage at the snapshot time.
    #[serde(default)]
    pub usage: super::usage::SessionUsage,
    /// The budget at the snapshot time; `None` when uncapped.
    #[serde(default)]
    pub budget: Option<super::usage::BudgetLimit>,
}

/// Token usage of one model request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// Input tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Output tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Input tokens read from cache.
    #[serde(default)]
    pub cache_read_input_tokens: u64,
    /// Input tokens written to cache.
    #[serde(default)]
    pub cache_creation_input_tokens: u64,
}

/// `span.model_request_end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRequestEnd {
    /// The matching start event.
    #[serde(default)]
    pub model_request_start_id: String,
    /// Whether the request failed.
    #[serde(default)]
    pub is_error: Option<bool>,
    /// Tokens of this request.
    #[serde(default)]
    pub model_usage: ModelUsage,
}

/// An echoed `user.tool_confirmation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolConfirmation {
    /// The tool-use event answered.
    pub tool_use_id: String,
    /// `allow` or `deny`.
    pub result: String,
}

open_union! {
    /// The type-specific part of a session event.
    pub enum EventKind {
        /// The prompt (echoed).
        "user.message" => UserMessage(MessageContent),
        /// An interrupt (echoed).
        "user.interrupt" => UserInterrupt(NoFields),
        /// A tool confirmation (echoed).
        "user.tool_confirmation" => UserToolConfirmation(ToolConfirmation),
        /// Assistant text.
        "agent.message" => AgentMessage(MessageContent),
        /// A progress signal.
        "agent.thinking" => AgentThinking(NoFields),
        /// A built-in tool call.
        "agent.tool_use" => AgentToolUse(ToolUse),
        /// A built-in tool result.
        "agent.tool_result" => AgentToolResult(ToolResult),
        /// An MCP tool call.
        "agent.mcp_tool_use" => AgentMcpToolUse(ToolUse),
        /// An MCP tool result.
        "agent.mcp_tool_result" => AgentMcpToolResult(ToolResult),
        /// A custom tool call the client must answer.
        "agent.custom_tool_use" => AgentCustomToolUse(CustomToolUse),
        /// The turn started.
        "session.status_running" => StatusRunning(NoFields),
        /// The turn ended or is blocked.
        "session.status_idle" => StatusIdle(StatusIdle),
        /// The provider is retrying after its own error.
        "session.status_rescheduled" => StatusRescheduled(NoFields),
        /// The session ended for good.
        "session.status_terminated" => StatusTerminated(NoFields),
        /// An error inside the session.
        "session.error" => SessionError(SessionErrorEvent),
        /// Cumulative usage, sent just before idle.
        "session.usage" => SessionUsage(UsageEvent),
        /// The session was deleted.
        "session.deleted" => SessionDeleted(NoFields),
        /// A model request started.
        "span.model_request_start" => ModelRequestStart(NoFields),
        /// A model request ended.
        "span.model_request_end" => ModelRequestEnd(ModelRequestEnd),
    }
}

/// A persisted session event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionEvent {
    /// `sevt_…` (may be empty on some echoed interrupts).
    #[serde(default)]
    pub id: String,
    /// When the provider processed it; `null` while a user event is queued.
    #[serde(default)]
    pub processed_at: Option<DateTime<Utc>>,
    /// Set when cross-posted from a subagent thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_thread_id: Option<String>,
    /// The type and its fields.
    #[serde(flatten)]
    pub kind: EventKind,
}

impl SessionEvent {
    /// The wire `type`.
    pub fn event_type(&self) -> &str {
        self.kind.type_name()
    }
}

/// An event to send.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum SendEvent {
    /// The prompt.
    #[serde(rename = "user.message")]
    UserMessage {
        /// The blocks.
        content: Vec<ContentBlock>,
    },
    /// Stop the current turn.
    #[serde(rename = "user.interrupt")]
    UserInterrupt {
        /// A subagent thread to interrupt instead of the primary one.
        #[serde(skip_serializing_if = "Option::is_none")]
        session_thread_id: Option<String>,
    },
    /// Answer an approval pause.
    #[serde(rename = "user.tool_confirmation")]
    UserToolConfirmation {
        /// The `sevt_` id of the tool-use event.
        tool_use_id: String,
        /// `allow` or `deny`.
        result: String,
        /// Shown to the model on deny.
        #[serde(skip_serializing_if = "Option::is_none")]
        deny_message: Option<String>,
    },
}

impl SendEvent {
    /// A `user.message` with one text block.
    pub fn user_text(text: impl Into<String>) -> Self {
        Self::UserMessage {
            content: vec![ContentBlock::Text(TextBlock { text: text.into() })],
        }
    }

    /// A `user.interrupt` of the primary thread.
    pub fn interrupt() -> Self {
        Self::UserInterrupt {
            session_thread_id: None,
        }
    }
}

/// The query of `GET /v1/sessions/{id}/events`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventListParams {
    /// Items per page.
    pub limit: Option<u32>,
    /// The cursor from `next_page`.
    pub page: Option<String>,
    /// `asc` (provider default) or `desc`, by `processed_at`.
    pub order: Option<String>,
    /// Only these event types.
    pub types: Vec<String>,
    /// Only events processed at or after this instant.
    pub created_at_gte: Option<DateTime<Utc>>,
}

impl EventListParams {
    pub(crate) fn to_query(&self) -> Vec<(String, String)> {
        let mut query = Vec::new();
        if let Some(limit) = self.limit {
            query.push(("limit".to_owned(), limit.to_string()));
        }
        if let Some(page) = &self.page {
            query.push(("page".to_owned(), page.clone()));
        }
        if let Some(order) = &self.order {
            query.push(("order".to_owned(), order.clone()));
        }
        for kind in &self.types {
            query.push(("types[]".to_owned(), kind.clone()));
        }
        if let Some(at) = self.created_at_gte {
            query.push((
                "created_at[gte]".to_owned(),
                at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ));
        }
        query
    }
}

/// Where a reader of the event history got to: the last event seen and its time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventCursor {
    /// The id of the last event returned.
    pub last_event_id: Option<String>,
    /// The latest `processed_at` seen, used to narrow the next list.
    pub last_processed_at: Option<DateTime<Utc>>,
}

/// The answer of `POST /v1/sessions/{id}/events`: the persisted events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SentEvents {
    /// The events with their server ids (missing means none).
    #[serde(default)]
    pub data: Vec<SessionEvent>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}
