//! The template in the provider's shapes, and the platform rules a template must meet.
//!
//! A headless run cannot answer an approval or run a client tool, so a template that could
//! block on one is refused before anything is created: no tool may be `always_ask`, no custom
//! tools, and every MCP toolset must be `always_allow` (the provider's own MCP default is
//! `always_ask`, so an unset MCP policy is filled in as `always_allow`).

use antpath_provider::types::Metadata;
use antpath_provider::types::agent::{CreateAgent, McpServer, SkillRef};
use antpath_provider::types::environment::CreateEnvironment;
use antpath_template::model::{
    Networking, PermissionPolicy, SkillKind, Template, Tool, ToolDefaults,
};
use serde_json::{Map, Value, json};

/// Every platform rule the template breaks, as sentences; empty when it may run.
pub fn rule_violations(template: &Template) -> Vec<String> {
    let mut problems = Vec::new();
    let ask = |policy: Option<PermissionPolicy>| policy == Some(PermissionPolicy::AlwaysAsk);
    for tool in &template.agent.tools {
        match tool {
            Tool::Custom(custom) => problems.push(format!(
                "custom tool `{}` needs a client to answer it, which antpath does not run",
                custom.name
            )),
            Tool::AgentToolset(set) => {
                let default = set
                    .default_config
                    .as_ref()
                    .and_then(|d| d.permission_policy);
                if ask(default) || set.configs.iter().any(|c| ask(c.permission_policy)) {
                    problems.push("a built-in tool is `always_ask`; nobody can approve it".into());
                }
            }
            Tool::McpToolset(set) => {
                let allowed = |p: Option<PermissionPolicy>| {
                    p.is_none() || p == Some(PermissionPolicy::AlwaysAllow)
                };
                let default = set
                    .default_config
                    .as_ref()
                    .and_then(|d| d.permission_policy);
                if !allowed(default) || !set.configs.iter().all(|c| allowed(c.permission_policy)) {
                    problems.push(format!(
                        "MCP toolset `{}` must be `always_allow`",
                        set.mcp_server_name
                    ));
                }
            }
        }
    }
    problems
}

fn policy(policy: PermissionPolicy) -> Value {
    let name = match policy {
        PermissionPolicy::AlwaysAllow => "always_allow",
        PermissionPolicy::AlwaysAsk => "always_ask",
        PermissionPolicy::Auto => "auto",
    };
    json!({ "type": name })
}

fn defaults(config: Option<&ToolDefaults>, fallback: Option<PermissionPolicy>) -> Value {
    let mut out = Map::new();
    if let Some(enabled) = config.and_then(|c| c.enabled) {
        out.insert("enabled".into(), enabled.into());
    }
    if let Some(p) = config.and_then(|c| c.permission_policy).or(fallback) {
        out.insert("permission_policy".into(), policy(p));
    }
    Value::Object(out)
}

fn tool_config(name: Value, enabled: Option<bool>, permission: Option<PermissionPolicy>) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), name);
    if let Some(enabled) = enabled {
        out.insert("enabled".into(), enabled.into());
    }
    if let Some(p) = permission {
        out.insert("permission_policy".into(), policy(p));
    }
    Value::Object(out)
}

/// One template tool entry in the provider's shape. `None` for custom tools (refused earlier).
pub fn provider_tool(tool: &Tool) -> Option<Value> {
    match tool {
        Tool::AgentToolset(set) => {
            let configs: Vec<Value> = set
                .configs
                .iter()
                .map(|c| tool_config(json!(c.name), c.enabled, c.permission_policy))
                .collect();
            let mut out = json!({
                "type": "agent_toolset_20260401",
                "default_config": defaults(set.default_config.as_ref(), None),
            });
            if !configs.is_empty() {
                out["configs"] = Value::Array(configs);
            }
            Some(out)
        }
        Tool::McpToolset(set) => {
            let configs: Vec<Value> = set
                .configs
                .iter()
                .map(|c| tool_config(json!(c.name), c.enabled, c.permission_policy))
                .collect();
            let mut out = json!({
                "type": "mcp_toolset",
                "mcp_server_name": set.mcp_server_name,
                "default_config": defaults(set.default_config.as_ref(), Some(PermissionPolicy::AlwaysAllow)),
            });
            if !configs.is_empty() {
                out["configs"] = Value::Array(configs);
            }
            Some(out)
        }
        Tool::Custom(_) => None,
    }
}

/// The agent create body.
pub fn agent(template: &Template, name: &str, metadata: Metadata) -> CreateAgent {
    let agent = &template.agent;
    let mut create = CreateAgent::new(name, agent.model.clone());
    create.system = agent.system.clone();
    create.tools = agent.tools.iter().filter_map(provider_tool).collect();
    create.mcp_servers = agent
        .mcp_servers
        .iter()
        .map(|s| McpServer::url(s.name.clone(), s.url.clone()))
        .collect();
    create.skills = agent
        .skills
        .iter()
        .map(|s| SkillRef {
            kind: match s.kind {
                SkillKind::Anthropic => "anthropic".into(),
                SkillKind::Custom => "custom".into(),
            },
            skill_id: s.skill_id.clone(),
            version: s.version.clone(),
        })
        .collect();
    create.metadata = metadata;
    create
}

/// The environment create body: a cloud container with the template's packages and network.
pub fn environment(template: &Template, name: &str, metadata: Metadata) -> CreateEnvironment {
    let env = &template.environment;
    let networking = match &env.networking {
        Networking::Unrestricted => json!({"type": "unrestricted"}),
        Networking::Limited(limited) => json!({
            "type": "limited",
            "allowed_hosts": limited.allowed_hosts,
            "allow_mcp_servers": limited.allow_mcp_servers,
            "allow_package_managers": limited.allow_package_managers,
        }),
    };
    let mut config = json!({"type": "cloud", "networking": networking});
    if !env.packages.is_empty() {
        let mut packages = Map::new();
        for (manager, list) in env.packages.by_manager() {
            if !list.is_empty() {
                packages.insert(manager.into(), json!(list));
            }
        }
        config["packages"] = Value::Object(packages);
    }
    CreateEnvironment {
        name: name.to_owned(),
        description: None,
        config: Some(config),
        metadata,
    }
}
