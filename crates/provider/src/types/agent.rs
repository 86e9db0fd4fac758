//! Agents: the model, system prompt, tools, MCP servers and skills a session runs with.
//!
//! Tools are kept as JSON (`serde_json::Value`): they come from the user's template and the
//! API adds tool kinds often; [`agent_toolset`] and [`mcp_toolset`] build the two a headless
//! control plane needs, with the `always_allow` policy so that no call waits for an approval
//! nobody will give.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Extra, HasMetadata, Metadata};

/// An MCP server of an agent: `{type:"url", name, url}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpServer {
    /// `url`
    #[serde(rename = "type", default = "url_type")]
    pub kind: String,
    /// Unique within the agent; toolsets refer to it.
    pub name: String,
    /// The server URL; vault credentials match on it.
    pub url: String,
}

fn url_type() -> String {
    "url".to_owned()
}

impl McpServer {
    /// A URL server.
    pub fn url(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            kind: url_type(),
            name: name.into(),
            url: url.into(),
        }
    }
}

/// A skill reference: `{type:"anthropic"|"custom", skill_id, version?}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillRef {
    /// `anthropic` or `custom`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `xlsx` or `skill_…`.
    pub skill_id: String,
    /// A version id; latest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The body of `POST /v1/agents`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateAgent {
    /// 1–256 characters.
    pub name: String,
    /// A model id string or a `{id, speed?, effort?}` object.
    pub model: Value,
    /// The system prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Toolsets and custom tools.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
    /// MCP servers; each must be referenced by an `mcp_toolset`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<McpServer>,
    /// Skills.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<SkillRef>,
    /// Tags.
    #[serde(skip_serializing_if = "Metadata::is_empty")]
    pub metadata: Metadata,
}

impl CreateAgent {
    /// An agent with a name and a model id and nothing else.
    pub fn new(name: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            model: Value::String(model.into()),
            system: None,
            description: None,
            tools: Vec::new(),
            mcp_servers: Vec::new(),
            skills: Vec::new(),
            metadata: Metadata::new(),
        }
    }
}

/// The built-in toolset (bash, edit, read, write, glob, grep, web tools), every call allowed.
pub fn agent_toolset() -> Value {
    json!({
        "type": "agent_toolset_20260401",
        "default_config": {"enabled": true, "permission_policy": {"type": "always_allow"}},
    })
}

/// The toolset of one MCP server, every call allowed (the provider's default is `always_ask`,
/// which would block a headless session forever).
pub fn mcp_toolset(mcp_server_name: &str) -> Value {
    json!({
        "type": "mcp_toolset",
        "mcp_server_name": mcp_server_name,
        "default_config": {"enabled": true, "permission_policy": {"type": "always_allow"}},
    })
}

/// An agent as the provider returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// `agent_…`
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// Always an object `{id, effort?, speed?, inference_geo?}` in responses.
    #[serde(default)]
    pub model: Value,
    /// The system prompt.
    #[serde(default)]
    pub system: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Resolved tools.
    #[serde(default)]
    pub tools: Vec<Value>,
    /// MCP servers.
    #[serde(default)]
    pub mcp_servers: Vec<McpServer>,
    /// Skills with resolved versions.
    #[serde(default)]
    pub skills: Vec<SkillRef>,
    /// Tags.
    #[serde(default)]
    pub metadata: Metadata,
    /// Starts at 1; grows with each changing update.
    #[serde(default)]
    pub version: i64,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// Last change.
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    /// Set once archived (agents cannot be deleted).
    #[serde(default)]
    pub archived_at: Option<DateTime<Utc>>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Agent {
    /// The model id, whether the provider sent a string or an object.
    pub fn model_id(&self) -> Option<&str> {
        self.model
            .as_str()
            .or_else(|| self.model.get("id").and_then(Value::as_str))
    }
}

impl HasMetadata for Agent {
    fn id(&self) -> &str {
        &self.id
    }
    fn metadata(&self) -> &Metadata {
        &self.metadata
    }
}
