//! Writing a template in Rust: [`TemplateBuilder`] and the typed variable builders of [`Var`].
//!
//! The builder produces the same JSON document a template file would hold, then runs it
//! through the template crate's own parser, so a built template is validated and normalised
//! exactly like a loaded one and has the same hash as the equivalent file.

use std::collections::BTreeMap;

use antpath_template::model::{
    BooleanVariable, EnumVariable, NumberVariable, PermissionPolicy, StringVariable, VariableSpec,
};
use antpath_template::{Template, ValidationErrors};
use antpath_types::ClaudeSessionCleanup;
use serde_json::{Map, Value, json};

/// Builds a [`Template`].
#[derive(Debug, Clone)]
pub struct TemplateBuilder {
    name: String,
    description: Option<String>,
    model: String,
    system: Option<String>,
    prompt: String,
    variables: BTreeMap<String, VariableSpec>,
    tools: Vec<Value>,
    mcp_servers: Vec<Value>,
    max_duration_seconds: Option<u64>,
    max_spend_usd: Option<f64>,
    cleanup: Option<ClaudeSessionCleanup>,
    labels: BTreeMap<String, String>,
}

impl TemplateBuilder {
    /// A template `name` whose agent runs `model` (such as `claude-sonnet-4-5`).
    pub fn new(name: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            model: model.into(),
            system: None,
            prompt: String::new(),
            variables: BTreeMap::new(),
            tools: Vec::new(),
            mcp_servers: Vec::new(),
            max_duration_seconds: None,
            max_spend_usd: None,
            cleanup: None,
            labels: BTreeMap::new(),
        }
    }

    /// Free text for people.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }

    /// The agent's system prompt.
    pub fn system(mut self, text: impl Into<String>) -> Self {
        self.system = Some(text.into());
        self
    }

    /// The first user message, with `{{name}}` placeholders.
    pub fn prompt(mut self, text: impl Into<String>) -> Self {
        self.prompt = text.into();
        self
    }

    /// Declares a variable (see [`Var`]).
    pub fn variable(mut self, name: impl Into<String>, spec: impl Into<VariableSpec>) -> Self {
        self.variables.insert(name.into(), spec.into());
        self
    }

    /// Gives the agent the provider's built-in tools, with `policy` for every call
    /// (`None` leaves the provider's default).
    pub fn agent_toolset(mut self, policy: Option<PermissionPolicy>) -> Self {
        let mut tool = json!({ "type": "agent_toolset_20260401" });
        if let Some(policy) = policy {
            tool["defaultConfig"] = json!({ "permissionPolicy": policy });
        }
        self.tools.push(tool);
        self
    }

    /// Declares an MCP server needing no credentials.
    pub fn mcp_server(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.mcp_servers
            .push(json!({ "name": name.into(), "url": url.into() }));
        self
    }

    /// Declares an MCP server that needs a static bearer token. The token is not part of the
    /// template: each run supplies it with [`crate::RunRequest::mcp_bearer`].
    pub fn mcp_server_static_bearer(
        mut self,
        name: impl Into<String>,
        url: impl Into<String>,
    ) -> Self {
        self.mcp_servers
            .push(json!({ "name": name.into(), "url": url.into(), "auth": "static_bearer" }));
        self
    }

    /// Gives the agent the tools of the declared MCP server `server`, with `policy` for every
    /// call (`None` leaves the provider's default).
    pub fn mcp_toolset(
        mut self,
        server: impl Into<String>,
        policy: Option<PermissionPolicy>,
    ) -> Self {
        let mut tool = json!({ "type": "mcp_toolset", "mcpServerName": server.into() });
        if let Some(policy) = policy {
            tool["defaultConfig"] = json!({ "permissionPolicy": policy });
        }
        self.tools.push(tool);
        self
    }

    /// The wall-clock limit in seconds.
    pub fn max_duration_seconds(mut self, seconds: u64) -> Self {
        self.max_duration_seconds = Some(seconds);
        self
    }

    /// The spend budget in US dollars.
    pub fn max_spend_usd(mut self, budget: f64) -> Self {
        self.max_spend_usd = Some(budget);
        self
    }

    /// What happens to the provider session once the run ends.
    pub fn cleanup(mut self, cleanup: ClaudeSessionCleanup) -> Self {
        self.cleanup = Some(cleanup);
        self
    }

    /// Adds a label copied onto each run.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// The template as the JSON document a file would hold (before normalisation).
    pub fn to_document(&self) -> Value {
        let mut agent = Map::new();
        agent.insert("model".into(), json!(self.model));
        if let Some(system) = &self.system {
            agent.insert("system".into(), json!(system));
        }
        if !self.tools.is_empty() {
            agent.insert("tools".into(), Value::Array(self.tools.clone()));
        }
        if !self.mcp_servers.is_empty() {
            agent.insert("mcpServers".into(), Value::Array(self.mcp_servers.clone()));
        }
        let mut doc = Map::new();
        doc.insert("name".into(), json!(self.name));
        if let Some(description) = &self.description {
            doc.insert("description".into(), json!(description));
        }
        doc.insert("agent".into(), Value::Object(agent));
        if !self.variables.is_empty() {
            doc.insert("variables".into(), json!(self.variables));
        }
        doc.insert("prompt".into(), json!(self.prompt));
        let mut limits = Map::new();
        if let Some(seconds) = self.max_duration_seconds {
            limits.insert("maxDurationSeconds".into(), json!(seconds));
        }
        if let Some(budget) = self.max_spend_usd {
            limits.insert("maxSpendUsd".into(), json!(budget));
        }
        if !limits.is_empty() {
            doc.insert("limits".into(), Value::Object(limits));
        }
        if let Some(cleanup) = self.cleanup {
            doc.insert("cleanup".into(), json!({ "claudeSession": cleanup }));
        }
        if !self.labels.is_empty() {
            doc.insert("labels".into(), json!(self.labels));
        }
        Value::Object(doc)
    }

    /// Validates and normalises the template, listing every problem with its JSON pointer.
    pub fn build(&self) -> Result<Template, ValidationErrors> {
        Template::from_value(&self.to_document())
    }
}

/// Constructors of typed variable declarations, for [`TemplateBuilder::variable`].
#[derive(Debug, Clone, Copy)]
pub struct Var;

impl Var {
    /// A text variable.
    pub fn string() -> StringVar {
        StringVar(StringVariable::default())
    }

    /// A numeric variable.
    pub fn number() -> NumberVar {
        NumberVar(NumberVariable::default())
    }

    /// A boolean variable.
    pub fn boolean() -> BooleanVar {
        BooleanVar(BooleanVariable::default())
    }

    /// A variable restricted to `values`.
    pub fn one_of<S: Into<String>>(values: impl IntoIterator<Item = S>) -> EnumVar {
        EnumVar(EnumVariable {
            values: values.into_iter().map(Into::into).collect(),
            ..EnumVariable::default()
        })
    }
}

macro_rules! common_setters {
    ($builder:ident, $default:ty) => {
        impl $builder {
            /// Free text for people.
            pub fn description(mut self, text: impl Into<String>) -> Self {
                self.0.description = Some(text.into());
                self
            }

            /// Whether a submission must give a value (by default: unless there is a default).
            pub fn required(mut self, required: bool) -> Self {
                self.0.required = Some(required);
                self
            }

            /// The value used when a submission gives none.
            pub fn default(mut self, value: impl Into<$default>) -> Self {
                self.0.default = Some(value.into());
                self
            }
        }
    };
}

/// A string variable being declared.
#[derive(Debug, Clone, PartialEq)]
pub struct StringVar(StringVariable);
common_setters!(StringVar, String);

impl StringVar {
    /// The shortest accepted length, in characters.
    pub fn min_length(mut self, min: u64) -> Self {
        self.0.min_length = Some(min);
        self
    }

    /// The longest accepted length, in characters.
    pub fn max_length(mut self, max: u64) -> Self {
        self.0.max_length = Some(max);
        self
    }
}

/// A number variable being declared.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberVar(NumberVariable);
common_setters!(NumberVar, f64);

impl NumberVar {
    /// The smallest accepted value, inclusive.
    pub fn minimum(mut self, min: f64) -> Self {
        self.0.minimum = Some(min);
        self
    }

    /// The largest accepted value, inclusive.
    pub fn maximum(mut self, max: f64) -> Self {
        self.0.maximum = Some(max);
        self
    }

    /// Accepts whole numbers only.
    pub fn integer(mut self) -> Self {
        self.0.integer = Some(true);
        self
    }
}

/// A boolean variable being declared.
#[derive(Debug, Clone, PartialEq)]
pub struct BooleanVar(BooleanVariable);
common_setters!(BooleanVar, bool);

/// An enum variable being declared.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumVar(EnumVariable);
common_setters!(EnumVar, String);

impl From<StringVar> for VariableSpec {
    fn from(var: StringVar) -> Self {
        Self::String(var.0)
    }
}

impl From<NumberVar> for VariableSpec {
    fn from(var: NumberVar) -> Self {
        Self::Number(var.0)
    }
}

impl From<BooleanVar> for VariableSpec {
    fn from(var: BooleanVar) -> Self {
        Self::Boolean(var.0)
    }
}

impl From<EnumVar> for VariableSpec {
    fn from(var: EnumVar) -> Self {
        Self::Enum(var.0)
    }
}
