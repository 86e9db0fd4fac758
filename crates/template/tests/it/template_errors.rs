//! Every kind of template problem is reported, located, and alongside the others.

use antpath_template::{Format, Template, TemplateError, ValidationErrors, parse_template};
use serde_json::{Value, json};

use super::support::{assert_error, paths, quickstart, remove, set};

fn errors_of(template: &Value) -> ValidationErrors {
    Template::from_value(template).expect_err("template should be invalid")
}

fn with(pointer: &str, value: Value) -> ValidationErrors {
    let mut template = quickstart();
    set(&mut template, pointer, value);
    errors_of(&template)
}

#[test]
fn the_quickstart_template_is_valid() {
    Template::from_value(&quickstart()).expect("valid");
}

#[test]
fn missing_required_fields_are_each_reported() {
    let errors = errors_of(&json!({"agent": {}}));
    assert_error(&errors, "/name", "required");
    assert_error(&errors, "/agent/model", "required");
    assert_error(&errors, "/prompt", "required");
}

#[test]
fn a_body_that_is_not_an_object_is_reported_at_the_root() {
    assert_error(&errors_of(&json!([1])), "", "Expected an object");
}

#[test]
fn template_names_must_follow_the_name_syntax() {
    for bad in ["Docs", "-docs", "", "a b", "é", &"a".repeat(65)] {
        assert_error(&with("/name", json!(bad)), "/name", "lowercase");
    }
}

#[test]
fn unknown_fields_are_reported_at_the_path_of_the_unknown_key() {
    let mut template = quickstart();
    set(&mut template, "/promptt", json!("typo"));
    set(&mut template, "/agent/mcpServers/0/timeout", json!(5));
    set(&mut template, "/agent/tools/0/configs/0/mode", json!("x"));
    let errors = errors_of(&template);
    assert_error(&errors, "/promptt", "Unknown field `promptt`");
    assert_error(&errors, "/agent/mcpServers/0/timeout", "Unknown field");
    assert_error(&errors, "/agent/tools/0/configs/0/mode", "Unknown field");
    assert_eq!(errors.details().len(), 3, "{errors:#?}");
}

#[test]
fn unknown_fields_do_not_hide_semantic_problems_elsewhere() {
    let mut template = quickstart();
    set(&mut template, "/extra", json!(1));
    set(
        &mut template,
        "/agent/mcpServers/0/url",
        json!("http://mcp.example.com"),
    );
    let errors = errors_of(&template);
    assert_eq!(paths(&errors), ["/extra", "/agent/mcpServers/0/url"]);
}

#[test]
fn wrong_types_and_unknown_enum_spellings_are_located() {
    let mut template = quickstart();
    set(&mut template, "/agent/model", json!(5));
    set(
        &mut template,
        "/agent/tools/0/defaultConfig/permissionPolicy",
        json!("sometimes"),
    );
    set(
        &mut template,
        "/agent/tools/1/type",
        json!("browser_toolset"),
    );
    set(&mut template, "/agent/skills/0/type", json!("third_party"));
    set(&mut template, "/environment/networking/type", json!("open"));
    set(&mut template, "/cleanup/claudeSession", json!("archive"));
    set(&mut template, "/labels/team", json!(["a"]));
    let errors = errors_of(&template);
    assert_error(&errors, "/agent/model", "Expected a string, found a number");
    assert_error(
        &errors,
        "/agent/tools/0/defaultConfig/permissionPolicy",
        "`always_ask`",
    );
    assert_error(&errors, "/agent/tools/1/type", "`mcp_toolset`");
    assert_error(&errors, "/agent/skills/0/type", "`anthropic`");
    assert_error(&errors, "/environment/networking/type", "`limited`");
    assert_error(&errors, "/cleanup/claudeSession", "`retain`");
    assert_error(&errors, "/labels/team", "Expected a string, found an array");
}

#[test]
fn the_provider_permission_policy_spellings_are_accepted() {
    for policy in ["always_allow", "always_ask", "auto"] {
        let mut template = quickstart();
        set(
            &mut template,
            "/agent/tools/0/defaultConfig/permissionPolicy",
            json!(policy),
        );
        Template::from_value(&template).expect("valid policy");
    }
}

#[test]
fn duplicate_mcp_server_names_are_reported_at_the_second_one() {
    let mut template = quickstart();
    let servers = template["agent"]["mcpServers"]
        .as_array_mut()
        .expect("servers");
    servers.push(json!({"name": "docs", "url": "https://other.example.com"}));
    assert_error(
        &errors_of(&template),
        "/agent/mcpServers/1/name",
        "index 0 already",
    );
}

#[test]
fn a_toolset_naming_an_undeclared_server_is_reported() {
    let errors = with("/agent/tools/1/mcpServerName", json!("wiki"));
    assert_error(
        &errors,
        "/agent/tools/1/mcpServerName",
        "No entry of `agent.mcpServers`",
    );
    assert_error(&errors, "/agent/mcpServers/0/name", "No `mcp_toolset`");
}

#[test]
fn mcp_server_urls_must_be_https_except_on_localhost() {
    for bad in [
        "http://mcp.example.com",
        "ftp://x",
        "https://user:pw@x.example.com",
        "docs",
    ] {
        assert_error(
            &with("/agent/mcpServers/0/url", json!(bad)),
            "/agent/mcpServers/0/url",
            "URL",
        );
    }
    for good in [
        "http://localhost:8080/mcp",
        "http://127.0.0.1/mcp",
        "https://x.example.com",
    ] {
        let mut template = quickstart();
        set(&mut template, "/agent/mcpServers/0/url", json!(good));
        Template::from_value(&template).expect("allowed URL");
    }
}

#[test]
fn mcp_server_names_must_follow_their_syntax() {
    let mut template = quickstart();
    set(&mut template, "/agent/mcpServers/0/name", json!("my docs"));
    set(
        &mut template,
        "/agent/tools/1/mcpServerName",
        json!("my docs"),
    );
    assert_error(
        &errors_of(&template),
        "/agent/mcpServers/0/name",
        "letters, digits",
    );
}

#[test]
fn variable_names_must_be_identifiers() {
    let mut template = quickstart();
    set(
        &mut template,
        "/variables/1st~1topic",
        json!({"type": "string", "default": "x"}),
    );
    assert_error(&errors_of(&template), "/variables/1st~1topic", "[A-Za-z_]");
}

#[test]
fn inconsistent_variable_declarations_are_each_reported() {
    let mut template = quickstart();
    set(
        &mut template,
        "/variables/a",
        json!({"type": "string", "minLength": 5, "maxLength": 2}),
    );
    set(
        &mut template,
        "/variables/b",
        json!({"type": "string", "maxLength": 2, "default": "long"}),
    );
    set(
        &mut template,
        "/variables/c",
        json!({"type": "number", "minimum": 3, "maximum": 1}),
    );
    set(
        &mut template,
        "/variables/d",
        json!({"type": "number", "maximum": 1, "default": 2}),
    );
    set(
        &mut template,
        "/variables/e",
        json!({"type": "number", "integer": true, "default": 1.5}),
    );
    set(
        &mut template,
        "/variables/f",
        json!({"type": "enum", "values": []}),
    );
    set(
        &mut template,
        "/variables/g",
        json!({"type": "enum", "values": ["x"], "default": "y"}),
    );
    set(
        &mut template,
        "/variables/h",
        json!({"type": "boolean", "required": true, "default": true}),
    );
    set(
        &mut template,
        "/variables/i",
        json!({"type": "enum", "values": ["x", "x"]}),
    );
    set(
        &mut template,
        "/variables/j",
        json!({"type": "boolean", "default": "yes"}),
    );
    set(&mut template, "/variables/k", json!({"type": "date"}));
    let errors = errors_of(&template);
    assert_error(
        &errors,
        "/variables/j/default",
        "Expected a boolean, found a string",
    );
    assert_error(&errors, "/variables/k/type", "`string`");
    // The structural errors stop the semantic pass; check those separately.
    remove(&mut template, "/variables/j");
    remove(&mut template, "/variables/k");
    let errors = errors_of(&template);
    assert_error(&errors, "/variables/a/minLength", "greater than");
    assert_error(
        &errors,
        "/variables/b/default",
        "longer than the maximum length of 2",
    );
    assert_error(&errors, "/variables/c/minimum", "greater than");
    assert_error(&errors, "/variables/d/default", "above the maximum of 1");
    assert_error(&errors, "/variables/e/default", "whole number");
    assert_error(&errors, "/variables/f/values", "at least one");
    assert_error(&errors, "/variables/g/default", "not one of");
    assert_error(&errors, "/variables/h/required", "cannot be required");
    assert_error(&errors, "/variables/i/values/1", "listed twice");
    assert_eq!(errors.details().len(), 9, "{errors:#?}");
}

#[test]
fn placeholders_must_reference_declared_variables() {
    let errors = with(
        "/prompt",
        json!("About {{ topic }} and {{ nope }} and {{nope}}."),
    );
    assert_error(&errors, "/prompt", "`nope`");
    assert_eq!(
        errors.details().len(),
        1,
        "each undeclared name is reported once"
    );
}

#[test]
fn malformed_placeholders_and_empty_prompts_are_reported() {
    assert_error(
        &with("/prompt", json!("{{topic")),
        "/prompt",
        "never closed",
    );
    assert_error(
        &with("/prompt", json!("{{ to pic }}")),
        "/prompt",
        "valid variable name",
    );
    assert_error(
        &with("/prompt", json!("  ")),
        "/prompt",
        "must not be empty",
    );
}

#[test]
fn limits_must_be_positive_and_whole_where_required() {
    let errors = with(
        "/limits",
        json!({"maxDurationSeconds": 0, "maxSpendUsd": -1}),
    );
    assert_error(&errors, "/limits/maxDurationSeconds", "at least 1 second");
    assert_error(&errors, "/limits/maxSpendUsd", "from 0.01 to 1000000");
    let errors = with("/limits/maxDurationSeconds", json!(1.5));
    assert_error(&errors, "/limits/maxDurationSeconds", "whole number");
    let errors = with("/limits/maxDurationSeconds", json!(-5));
    assert_error(&errors, "/limits/maxDurationSeconds", "whole number");
}

#[test]
fn packages_under_limited_networking_need_package_managers_allowed() {
    let errors = with("/environment/networking/allowPackageManagers", json!(false));
    assert_error(
        &errors,
        "/environment/networking/allowPackageManagers",
        "Packages are listed",
    );
}

#[test]
fn allowed_hosts_must_be_bare_domains() {
    let errors = with(
        "/environment/networking/allowedHosts",
        json!(["https://x.com", "ok.com"]),
    );
    assert_eq!(paths(&errors), ["/environment/networking/allowedHosts/0"]);
}

#[test]
fn repeated_tool_configs_and_toolsets_are_reported() {
    let mut template = quickstart();
    set(
        &mut template,
        "/agent/tools/0/configs/1",
        json!({"name": "web_search"}),
    );
    let tools = template["agent"]["tools"].as_array_mut().expect("tools");
    tools.push(json!({"type": "agent_toolset_20260401"}));
    tools.push(json!({"type": "mcp_toolset", "mcpServerName": "docs"}));
    let errors = errors_of(&template);
    assert_error(&errors, "/agent/tools/0/configs/1/name", "already names");
    assert_error(&errors, "/agent/tools/2", "Only one");
    assert_error(&errors, "/agent/tools/3/mcpServerName", "already uses");
}

#[test]
fn many_problems_in_different_places_come_back_together() {
    let mut template = quickstart();
    set(&mut template, "/name", json!("Bad Name"));
    set(
        &mut template,
        "/agent/mcpServers/0/url",
        json!("http://example.com"),
    );
    set(&mut template, "/prompt", json!("{{ missing }}"));
    set(&mut template, "/limits/maxSpendUsd", json!(0));
    set(&mut template, "/labels/k", json!("x".repeat(600)));
    let errors = errors_of(&template);
    assert_eq!(
        paths(&errors),
        [
            "/name",
            "/agent/mcpServers/0/url",
            "/prompt",
            "/limits/maxSpendUsd",
            "/labels/k"
        ]
    );
}

#[test]
fn a_yaml_template_reports_the_same_located_problems() {
    let text = "name: ok\nagent:\n  model: m\n  mcpServers:\n    - name: a\n      url: http://a.example.com\nprompt: hi\nextra: 1\n";
    let error = parse_template(text, Format::Yaml).expect_err("invalid");
    let TemplateError::Invalid(errors) = error else {
        panic!("expected validation errors")
    };
    assert_error(&errors, "/extra", "Unknown field");
    assert_error(&errors, "/agent/mcpServers/0/url", "https://");
    assert_error(&errors, "/agent/mcpServers/0/name", "No `mcp_toolset`");
}

#[test]
fn custom_tools_are_readable_so_the_platform_can_refuse_them_later() {
    let mut template = quickstart();
    let tools = template["agent"]["tools"].as_array_mut().expect("tools");
    tools.push(json!({"type": "custom", "name": "lookup", "description": "d", "inputSchema": {"type": "object"}}));
    Template::from_value(&template).expect("custom tools parse");
}
