//! Resolution of an agent's model, tools, MCP servers, skills and execution identity into
//! the response form the SDK expects (defaults filled in, `configs[].type` set).

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

/// Most tools across all toolsets (SDK 2.10.0).
const MAX_TOOLS: usize = 256;

/// The built-in tools of `agent_toolset_20260401`.
const AGENT_TOOLS: [&str; 8] = [
    "bash",
    "edit",
    "read",
    "write",
    "glob",
    "grep",
    "web_fetch",
    "web_search",
];
/// Web-tool fields echoed back when given.
const WEB_FIELDS: [&str; 5] = [
    "allowed_domains",
    "blocked_domains",
    "max_content_tokens",
    "user_location",
    "url_sources",
];

pub(super) fn resolve_model(model: Option<&Value>) -> ApiResult<Value> {
    let effort = |e: Option<&Value>| -> ApiResult<Value> {
        match e {
            None | Some(Value::Null) => Ok(json!({ "type": "high" })),
            Some(Value::String(s)) => Ok(json!({ "type": s })),
            Some(o @ Value::Object(_)) => Ok(o.clone()),
            Some(_) => Err(ApiError::invalid("model.effort: invalid value")),
        }
    };
    match model {
        Some(Value::String(id)) if !id.is_empty() => {
            Ok(json!({ "id": id, "effort": effort(None)? }))
        }
        Some(Value::Object(m)) => {
            let id = m
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let id = id.ok_or_else(|| ApiError::invalid("model.id: Field required"))?;
            let mut out = json!({ "id": id, "effort": effort(m.get("effort"))? });
            for field in ["speed", "inference_geo"] {
                if let Some(v) = m.get(field).filter(|v| !v.is_null()) {
                    out[field] = v.clone();
                }
            }
            Ok(out)
        }
        _ => Err(ApiError::invalid("model: Field required")),
    }
}

fn policy(config: Option<&Value>, default: &str) -> Value {
    config
        .and_then(|c| c.get("permission_policy"))
        .filter(|p| !p.is_null())
        .cloned()
        .unwrap_or_else(|| json!({ "type": default }))
}

fn resolve_default_config(tool: &Value, default_policy: &str) -> Value {
    let given = tool.get("default_config").filter(|d| !d.is_null());
    json!({
        "enabled": given.and_then(|d| d.get("enabled")).and_then(Value::as_bool).unwrap_or(true),
        "permission_policy": policy(given, default_policy),
    })
}

fn resolve_tool(tool: &Value) -> ApiResult<Value> {
    match tool.get("type").and_then(Value::as_str) {
        Some("agent_toolset_20260401") => {
            let default = resolve_default_config(tool, "always_allow");
            let mut configs = Vec::new();
            for config in tool
                .get("configs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = config
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !AGENT_TOOLS.contains(&name) {
                    return Err(ApiError::invalid(format!(
                        "tools: unknown agent tool {name:?}"
                    )));
                }
                let mut out = json!({
                    "name": name, "type": name,
                    "enabled": config.get("enabled").and_then(Value::as_bool).unwrap_or(default["enabled"] == true),
                    "permission_policy": config.get("permission_policy").filter(|p| !p.is_null()).cloned()
                        .unwrap_or_else(|| default["permission_policy"].clone()),
                });
                for field in WEB_FIELDS {
                    if let Some(v) = config.get(field).filter(|v| !v.is_null()) {
                        out[field] = v.clone();
                    }
                }
                configs.push(out);
            }
            Ok(
                json!({ "type": "agent_toolset_20260401", "default_config": default, "configs": configs }),
            )
        }
        Some("mcp_toolset") => {
            let server = tool
                .get("mcp_server_name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let server = server
                .ok_or_else(|| ApiError::invalid("tools: mcp_server_name: Field required"))?;
            let default = resolve_default_config(tool, "always_ask");
            let configs: Vec<Value> = tool
                .get("configs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| {
                    json!({
                        "name": c.get("name").cloned().unwrap_or(json!("")),
                        "enabled": c.get("enabled").and_then(Value::as_bool).unwrap_or(default["enabled"] == true),
                        "permission_policy": c.get("permission_policy").filter(|p| !p.is_null()).cloned()
                            .unwrap_or_else(|| default["permission_policy"].clone()),
                    })
                })
                .collect();
            Ok(
                json!({ "type": "mcp_toolset", "mcp_server_name": server, "default_config": default, "configs": configs }),
            )
        }
        Some("custom") => {
            for field in ["name", "description", "input_schema"] {
                if tool.get(field).is_none_or(Value::is_null) {
                    return Err(ApiError::invalid(format!(
                        "tools: custom tool {field}: Field required"
                    )));
                }
            }
            Ok(json!({
                "type": "custom", "name": tool["name"], "description": tool["description"],
                "input_schema": tool["input_schema"],
            }))
        }
        _ => Err(ApiError::invalid("tools: unknown tool type")),
    }
}

/// Resolves `tools`, `mcp_servers` and `skills` of a create or update body into `agent`.
pub(super) fn resolve_toolbox(body: &Value, agent: &mut Value) -> ApiResult<()> {
    if let Some(tools) = body.get("tools") {
        let tools = tools.as_array().cloned().unwrap_or_default();
        if tools.len() > MAX_TOOLS {
            return Err(ApiError::invalid(format!(
                "tools: at most {MAX_TOOLS} tools"
            )));
        }
        agent["tools"] = Value::Array(tools.iter().map(resolve_tool).collect::<ApiResult<_>>()?);
    }
    if let Some(servers) = body.get("mcp_servers") {
        let mut out = Vec::new();
        for server in servers.as_array().into_iter().flatten() {
            let name = server
                .get("name")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let url = server
                .get("url")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let (Some(name), Some(url)) = (name, url) else {
                return Err(ApiError::invalid("mcp_servers: name and url are required"));
            };
            out.push(json!({ "type": "url", "name": name, "url": url }));
        }
        agent["mcp_servers"] = Value::Array(out);
    }
    if let Some(skills) = body.get("skills") {
        let mut out = Vec::new();
        for skill in skills.as_array().into_iter().flatten() {
            let kind = skill
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("anthropic");
            let id = skill.get("skill_id").and_then(Value::as_str);
            let id = id.ok_or_else(|| ApiError::invalid("skills: skill_id: Field required"))?;
            // Only the built-in Anthropic skills exist here (no custom skill is ever uploaded
            // to the simulator), so any other id is unknown, as the API answers.
            let known = kind == "anthropic" && super::skills::is_builtin(id);
            if !matches!(kind, "anthropic" | "custom") {
                return Err(ApiError::invalid(format!(
                    "skills: type: invalid value {kind:?}; expected anthropic or custom"
                )));
            }
            if !known {
                return Err(ApiError::invalid(format!("skills: unknown skill {id:?}")));
            }
            let version = skill
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("latest");
            out.push(json!({ "type": kind, "skill_id": id, "version": version }));
        }
        agent["skills"] = Value::Array(out);
    }
    let referenced: Vec<&str> = agent["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("mcp_server_name").and_then(Value::as_str))
        .collect();
    for server in agent["mcp_servers"].as_array().into_iter().flatten() {
        let name = server["name"].as_str().unwrap_or_default();
        if !referenced.contains(&name) {
            return Err(ApiError::invalid(format!(
                "mcp_servers: {name:?} is not referenced by any mcp_toolset"
            )));
        }
    }
    Ok(())
}

pub(super) fn execution_identity(value: Option<&Value>) -> ApiResult<Value> {
    match value {
        None | Some(Value::Null) => Ok(json!({ "type": "service_account" })),
        Some(v) if v.get("type").and_then(Value::as_str) == Some("service_account") => {
            Ok(v.clone())
        }
        Some(v)
            if v.get("type").and_then(Value::as_str) == Some("aws_role")
                && v.get("role_arn").is_some() =>
        {
            Ok(json!({ "type": "aws_role", "role_arn": v["role_arn"] }))
        }
        Some(_) => Err(ApiError::invalid("execution_identity: invalid value")),
    }
}
