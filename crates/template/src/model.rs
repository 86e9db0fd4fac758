//! The template data model: the secret-free description of a run.
//!
//! Field names are camelCase on the wire; enum spellings mirror the provider's Managed Agents
//! API (`agent_toolset_20260401`, `always_allow`, …) so that the worker's translation stays a
//! rename. Every struct denies unknown fields, so a typo is an error rather than a silently
//! ignored setting. Collections are omitted from the serialised form when empty, which keeps
//! the normalised form (and so the hash) equal whether a list was written empty or left out.

use std::collections::BTreeMap;

use antpath_types::{CleanupPolicy, RunLimits};
use serde::{Deserialize, Serialize};

pub use crate::variables::spec::{
    BooleanVariable, EnumVariable, NumberVariable, StringVariable, VariableSpec,
};

/// A run template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    /// A short identifier: lowercase letters, digits, `.`, `_` and `-`, starting with a letter
    /// or digit, at most 64 characters.
    pub name: String,
    /// Free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The agent the run creates.
    pub agent: Agent,
    /// The container the agent works in.
    #[serde(default)]
    pub environment: Environment,
    /// The values a submission fills in, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, VariableSpec>,
    /// The first user message, with `{{name}}` placeholders (see [`crate::render`]).
    pub prompt: String,
    /// Run limits; a submission may override each field.
    #[serde(default)]
    pub limits: RunLimits,
    /// What happens to provider resources once the run ends.
    #[serde(default)]
    pub cleanup: CleanupPolicy,
    /// Whether a new provider attempt may follow a session that already used a tool. Off by
    /// default: the agent's side effects (files written, calls made) may happen again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retry_after_tool_use: bool,
    /// Free key/value labels, copied onto the run for filtering.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The agent definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Agent {
    /// The provider's model string, such as `claude-sonnet-4-5`.
    pub model: String,
    /// The system prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// The toolsets the agent may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// The MCP servers the agent connects to; each must be used by an `mcp_toolset`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_servers: Vec<McpServer>,
    /// Skills loaded into the agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<Skill>,
}

/// One entry of `agent.tools`, tagged by `type` as the provider tags it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Tool {
    /// The provider's built-in tools (bash, file editing, web access).
    #[serde(rename = "agent_toolset_20260401")]
    AgentToolset(AgentToolset),
    /// The tools of one declared MCP server.
    #[serde(rename = "mcp_toolset")]
    McpToolset(McpToolset),
    /// A tool executed by the API client. Modelled so templates can be read and reported on,
    /// but antpath does not answer custom tool calls, so the platform rejects such runs.
    #[serde(rename = "custom")]
    Custom(CustomTool),
}

/// The built-in toolset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentToolset {
    /// Settings applied to every tool of the set unless overridden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_config: Option<ToolDefaults>,
    /// Per-tool overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<AgentToolConfig>,
}

/// The built-in tools a config may name, spelt as the provider spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentToolName {
    /// Shell commands.
    Bash,
    /// In-place file edits.
    Edit,
    /// File reads.
    Read,
    /// File writes.
    Write,
    /// File name search.
    Glob,
    /// Content search.
    Grep,
    /// Fetching a URL.
    WebFetch,
    /// Web search.
    WebSearch,
}

/// One override inside the built-in toolset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentToolConfig {
    /// Which tool.
    pub name: AgentToolName,
    /// Whether the tool is available; absent inherits the default config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Whether calls need approval; absent inherits the default config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_policy: Option<PermissionPolicy>,
}

/// Defaults for every tool of a toolset. Absent fields are left to the provider (which enables
/// tools by default); they are not filled in here because the provider owns those defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ToolDefaults {
    /// Whether the tools are available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Whether calls need approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_policy: Option<PermissionPolicy>,
}

/// How tool calls are approved. The provider wraps this as `{"type": "always_allow"}`; the
/// template keeps the bare spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PermissionPolicy {
    /// Every call runs without confirmation.
    AlwaysAllow,
    /// Every call waits for confirmation.
    AlwaysAsk,
    /// The provider judges each call.
    Auto,
}

/// The tools of one MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpToolset {
    /// The `name` of an entry of `agent.mcpServers`.
    pub mcp_server_name: String,
    /// Settings applied to every tool of the server unless overridden.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_config: Option<ToolDefaults>,
    /// Per-tool overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<McpToolConfig>,
}

/// One override inside an MCP toolset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpToolConfig {
    /// The MCP tool's name.
    pub name: String,
    /// Whether the tool is available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Whether calls need approval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_policy: Option<PermissionPolicy>,
}

/// A client-executed tool (see [`Tool::Custom`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomTool {
    /// The tool's name.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// A JSON Schema object for the tool's input.
    pub input_schema: serde_json::Value,
}

/// An MCP server reached over HTTPS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpServer {
    /// Unique within the template; toolsets and `secrets.mcpServers` refer to it.
    pub name: String,
    /// The endpoint; `https`, or `http` for localhost only.
    pub url: String,
    /// How antpath authenticates to it.
    #[serde(default)]
    pub auth: McpAuth,
}

/// How an MCP server is authenticated. The credential itself is never in the template: a
/// `static_bearer` server gets its token from the submission's `secrets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum McpAuth {
    /// No credentials.
    #[default]
    None,
    /// A bearer token supplied per run in `secrets.mcpServers.<name>.bearerToken`.
    StaticBearer,
}

/// A skill loaded into the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Skill {
    /// Who publishes the skill.
    #[serde(rename = "type")]
    pub kind: SkillKind,
    /// The provider's skill id (`xlsx`, `skill_01…`).
    pub skill_id: String,
    /// A pinned version such as `latest`; absent means the provider's latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// Who publishes a skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkillKind {
    /// Published by Anthropic.
    Anthropic,
    /// Uploaded by the workspace.
    Custom,
}

/// The container configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Environment {
    /// Packages installed before the agent starts.
    #[serde(default)]
    pub packages: Packages,
    /// Outbound network policy.
    #[serde(default)]
    pub networking: Networking,
}

/// Packages per package manager, in each manager's own version syntax (`pkg==1.0`, `pkg@1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Packages {
    /// Debian packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apt: Vec<String>,
    /// Rust crates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cargo: Vec<String>,
    /// Ruby gems.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gem: Vec<String>,
    /// Go modules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub go: Vec<String>,
    /// npm packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub npm: Vec<String>,
    /// Python packages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pip: Vec<String>,
}

impl Packages {
    /// Every list with its manager's name, in a fixed order.
    pub fn by_manager(&self) -> [(&'static str, &[String]); 6] {
        [
            ("apt", &self.apt),
            ("cargo", &self.cargo),
            ("gem", &self.gem),
            ("go", &self.go),
            ("npm", &self.npm),
            ("pip", &self.pip),
        ]
    }

    /// True when no package is listed.
    pub fn is_empty(&self) -> bool {
        self.by_manager().iter().all(|(_, list)| list.is_empty())
    }
}

/// Outbound network policy, tagged by `type` like the provider's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Networking {
    /// Any host (the default, as with the provider).
    #[default]
    Unrestricted,
    /// Only the listed hosts, plus optionally MCP servers and package registries.
    Limited(LimitedNetworking),
}

/// The allowances of `limited` networking. The booleans default to false, as the provider's do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitedNetworking {
    /// Domains the container may reach.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// Whether the agent's MCP servers are reachable.
    #[serde(default)]
    pub allow_mcp_servers: bool,
    /// Whether public package registries are reachable; required when packages are listed.
    #[serde(default)]
    pub allow_package_managers: bool,
}
