//! The semantic rules of a template, checked after its structure is known to be sound.
//!
//! Each rule records its problem at a JSON pointer under the given prefix (empty for a template
//! on its own, `/template` inside a submission) and the walk continues, so one response lists
//! everything to fix.

use std::collections::{BTreeSet, HashMap};

use crate::error::{Issues, child, index};
use crate::model::{Agent, Environment, Networking, Template, Tool};
use crate::render::Prompt;
use crate::url_check::url_problem;
use crate::variables::is_valid_variable_name;

/// The provider's limit on MCP servers per agent.
pub(crate) const MAX_MCP_SERVERS: usize = 20;
/// The provider's limit on entries of an agent's `tools` (toolsets and custom tools together).
pub(crate) const MAX_TOOLS: usize = 128;
/// Per-tool overrides in one toolset, bounded like the tools themselves.
pub(crate) const MAX_TOOL_CONFIGS: usize = 128;
/// The provider's limit on skills per agent.
pub(crate) const MAX_SKILLS: usize = 20;
/// The provider's limit on an agent's description, in characters.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 2048;
/// The provider's limit on an agent's system prompt, in characters.
pub(crate) const MAX_SYSTEM_CHARS: usize = 100_000;
/// Longest prompt as written in the template (before variables are filled in), in characters;
/// the same bound as the system prompt.
pub(crate) const MAX_PROMPT_CHARS: usize = 100_000;
/// Smallest spend limit, in US dollars: one cent. Anything smaller rounds to nothing in the
/// database's four decimal places.
pub const MIN_SPEND_USD: f64 = 0.01;
/// Largest spend limit, in US dollars: far above any one run's cost and well inside what the
/// database column (`numeric(12, 4)`) can hold.
pub const MAX_SPEND_USD: f64 = 1_000_000.0;
/// The provider's limits on agent metadata, which labels are copied into.
pub(crate) const MAX_LABELS: usize = 16;
/// Longest label key, in characters.
pub(crate) const MAX_LABEL_KEY_CHARS: usize = 64;
/// Longest label value, in characters.
pub(crate) const MAX_LABEL_VALUE_CHARS: usize = 512;
/// Longest template or MCP server name, in characters.
const MAX_NAME_CHARS: usize = 64;

/// Runs every semantic rule on `template`.
pub(crate) fn check_template(template: &Template, prefix: &str, issues: &mut Issues) {
    if !is_valid_template_name(&template.name) {
        issues.push(
            child(prefix, "name"),
            "The name must be 1 to 64 characters of lowercase letters, digits, `.`, `_` or `-`, starting with a letter or digit.",
        );
    }
    check_length(
        template.description.as_deref(),
        MAX_DESCRIPTION_CHARS,
        &child(prefix, "description"),
        issues,
    );
    check_agent(&template.agent, &child(prefix, "agent"), issues);
    check_environment(&template.environment, &child(prefix, "environment"), issues);
    check_variables_and_prompt(template, prefix, issues);
    check_limits(&template.limits, &child(prefix, "limits"), issues);
    check_labels(template, &child(prefix, "labels"), issues);
}

/// True for `[a-z0-9][a-z0-9._-]{0,63}`.
pub fn is_valid_template_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= MAX_NAME_CHARS
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

/// True for `[A-Za-z0-9][A-Za-z0-9_-]{0,63}`: safe as a key in `secrets.mcpServers` and in
/// provider requests.
pub fn is_valid_mcp_server_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() <= MAX_NAME_CHARS
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_agent(agent: &Agent, path: &str, issues: &mut Issues) {
    if agent.model.trim().is_empty() {
        issues.push(child(path, "model"), "The model must not be empty.");
    }
    check_length(
        agent.system.as_deref(),
        MAX_SYSTEM_CHARS,
        &child(path, "system"),
        issues,
    );
    let servers_path = child(path, "mcpServers");
    if agent.mcp_servers.len() > MAX_MCP_SERVERS {
        issues.push(
            servers_path.clone(),
            format!("At most {MAX_MCP_SERVERS} MCP servers are allowed."),
        );
    }
    let tools_path = child(path, "tools");
    if agent.tools.len() > MAX_TOOLS {
        issues.push(
            tools_path.clone(),
            format!(
                "At most {MAX_TOOLS} tools are allowed (toolsets and custom tools together); this template has {}.",
                agent.tools.len()
            ),
        );
    }
    let skills_path = child(path, "skills");
    if agent.skills.len() > MAX_SKILLS {
        issues.push(
            skills_path.clone(),
            format!("At most {MAX_SKILLS} skills are allowed."),
        );
    }
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    for (i, server) in agent.mcp_servers.iter().enumerate() {
        let server_path = index(&servers_path, i);
        if !is_valid_mcp_server_name(&server.name) {
            issues.push(
                child(&server_path, "name"),
                "The name must be 1 to 64 letters, digits, `_` or `-`, starting with a letter or digit.",
            );
        }
        if let Some(first) = first_index.get(server.name.as_str()) {
            issues.push(
                child(&server_path, "name"),
                format!("The MCP server at index {first} already has this name."),
            );
        } else {
            first_index.insert(&server.name, i);
        }
        if let Some(problem) = url_problem(&server.url) {
            issues.push(child(&server_path, "url"), problem);
        }
    }
    let mut used_servers = BTreeSet::new();
    let mut agent_toolsets = 0;
    for (i, tool) in agent.tools.iter().enumerate() {
        let tool_path = index(&tools_path, i);
        match tool {
            Tool::AgentToolset(set) => {
                agent_toolsets += 1;
                if agent_toolsets > 1 {
                    issues.push(
                        tool_path.clone(),
                        "Only one `agent_toolset_20260401` is allowed.",
                    );
                }
                check_config_count(set.configs.len(), &child(&tool_path, "configs"), issues);
                let names = set.configs.iter().map(|c| c.name);
                flag_repeats(names, &child(&tool_path, "configs"), issues);
            }
            Tool::McpToolset(set) => {
                let name_path = child(&tool_path, "mcpServerName");
                if !first_index.contains_key(set.mcp_server_name.as_str()) {
                    issues.push(name_path, "No entry of `agent.mcpServers` has this name.");
                } else if !used_servers.insert(set.mcp_server_name.as_str()) {
                    issues.push(name_path, "Another `mcp_toolset` already uses this server.");
                }
                check_config_count(set.configs.len(), &child(&tool_path, "configs"), issues);
                let names = set.configs.iter().map(|c| c.name.as_str());
                flag_repeats(names, &child(&tool_path, "configs"), issues);
                for (j, config) in set.configs.iter().enumerate() {
                    if config.name.trim().is_empty() {
                        let config_path = index(&child(&tool_path, "configs"), j);
                        issues.push(
                            child(&config_path, "name"),
                            "The tool name must not be empty.",
                        );
                    }
                }
            }
            Tool::Custom(_) => {}
        }
    }
    for (i, server) in agent.mcp_servers.iter().enumerate() {
        if !used_servers.contains(server.name.as_str())
            && first_index.get(server.name.as_str()) == Some(&i)
        {
            issues.push(
                child(&index(&servers_path, i), "name"),
                "No `mcp_toolset` in `agent.tools` uses this server; the provider rejects unused servers.",
            );
        }
    }
    for (i, skill) in agent.skills.iter().enumerate() {
        let skill_path = index(&skills_path, i);
        if skill.skill_id.trim().is_empty() {
            issues.push(
                child(&skill_path, "skillId"),
                "The skill id must not be empty.",
            );
        }
        if skill
            .version
            .as_deref()
            .is_some_and(|v| v.trim().is_empty())
        {
            issues.push(
                child(&skill_path, "version"),
                "The version must not be empty; omit it for the latest.",
            );
        }
    }
}

/// Reports a toolset with more per-tool overrides than [`MAX_TOOL_CONFIGS`].
fn check_config_count(count: usize, path: &str, issues: &mut Issues) {
    if count > MAX_TOOL_CONFIGS {
        issues.push(
            path,
            format!("At most {MAX_TOOL_CONFIGS} configs are allowed in one toolset."),
        );
    }
}

/// Reports a text longer than `max` characters; an absent one is fine.
fn check_length(text: Option<&str>, max: usize, path: &str, issues: &mut Issues) {
    if text.is_some_and(|t| t.chars().count() > max) {
        issues.push(path, format!("At most {max} characters are allowed."));
    }
}

/// Reports the `name` of each config that repeats an earlier one.
fn flag_repeats<T: PartialEq>(names: impl Iterator<Item = T>, path: &str, issues: &mut Issues) {
    let mut seen = Vec::new();
    for (i, name) in names.enumerate() {
        if seen.contains(&name) {
            issues.push(
                child(&index(path, i), "name"),
                "An earlier config already names this tool.",
            );
        } else {
            seen.push(name);
        }
    }
}

fn check_environment(environment: &Environment, path: &str, issues: &mut Issues) {
    let packages_path = child(path, "packages");
    for (manager, list) in environment.packages.by_manager() {
        for (i, package) in list.iter().enumerate() {
            if package.trim().is_empty() {
                issues.push(
                    index(&child(&packages_path, manager), i),
                    "A package must not be empty.",
                );
            }
        }
    }
    if let Networking::Limited(limited) = &environment.networking {
        let networking_path = child(path, "networking");
        if !environment.packages.is_empty() && !limited.allow_package_managers {
            issues.push(
                child(&networking_path, "allowPackageManagers"),
                "Packages are listed, so limited networking must set `allowPackageManagers: true`.",
            );
        }
        for (i, host) in limited.allowed_hosts.iter().enumerate() {
            let bad = host.is_empty() || host.contains(['/', ':', '@', ' ', '?', '#']);
            if bad {
                issues.push(
                    index(&child(&networking_path, "allowedHosts"), i),
                    "Each allowed host must be a bare domain name, without scheme, port or path.",
                );
            }
        }
    }
}

fn check_variables_and_prompt(template: &Template, prefix: &str, issues: &mut Issues) {
    let variables_path = child(prefix, "variables");
    for (name, spec) in &template.variables {
        let path = child(&variables_path, name);
        if !is_valid_variable_name(name) {
            issues.push(
                path.clone(),
                "A variable name must match `[A-Za-z_][A-Za-z0-9_]*`.",
            );
        }
        spec.check(&path, issues);
    }
    let prompt_path = child(prefix, "prompt");
    if template.prompt.trim().is_empty() {
        issues.push(prompt_path.clone(), "The prompt must not be empty.");
    }
    check_length(
        Some(&template.prompt),
        MAX_PROMPT_CHARS,
        &prompt_path,
        issues,
    );
    match Prompt::parse(&template.prompt) {
        Ok(prompt) => {
            let mut reported = BTreeSet::new();
            for name in prompt.placeholders() {
                if !template.variables.contains_key(name) && reported.insert(name) {
                    let error = crate::render::PromptError::Undeclared {
                        name: name.to_owned(),
                    };
                    issues.push(prompt_path.clone(), error.to_string());
                }
            }
        }
        Err(errors) => {
            for error in errors {
                issues.push(prompt_path.clone(), error.to_string());
            }
        }
    }
}

/// Checks that limits, where given, are in range: the one place a spend limit is bounded, for
/// templates and submissions alike.
pub(crate) fn check_limits(limits: &antpath_types::RunLimits, path: &str, issues: &mut Issues) {
    if limits.max_duration_seconds == Some(0) {
        issues.push(
            child(path, "maxDurationSeconds"),
            "The duration limit must be at least 1 second.",
        );
    }
    // NaN fails the range test too; JSON cannot spell it, but a template built in code can.
    if let Some(spend) = limits.max_spend_usd
        && !(MIN_SPEND_USD..=MAX_SPEND_USD).contains(&spend)
    {
        issues.push(
            child(path, "maxSpendUsd"),
            format!("The spend limit must be from {MIN_SPEND_USD} to {MAX_SPEND_USD} US dollars."),
        );
    }
}

fn check_labels(template: &Template, path: &str, issues: &mut Issues) {
    if template.labels.len() > MAX_LABELS {
        issues.push(path, "At most 16 labels are allowed.");
    }
    for (key, value) in &template.labels {
        let label_path = child(path, key);
        let key_len = key.chars().count();
        if key_len == 0 || key_len > MAX_LABEL_KEY_CHARS {
            issues.push(
                label_path.clone(),
                "A label key must be 1 to 64 characters.",
            );
        }
        if value.chars().count() > MAX_LABEL_VALUE_CHARS {
            issues.push(label_path, "A label value must be at most 512 characters.");
        }
    }
}
