//! Regression: a spend limit the database cannot store, 10,000 custom tools and unbounded
//! prompts were accepted and failed later (a 500, or an 800 KB provider error). Every size and
//! number a template or submission may hold is bounded at validation time.

use antpath_template::{Template, ValidationErrors, validate_submission};
use serde_json::{Value, json};

use super::support::{assert_error, quickstart, set, submission};

/// The template's problems with `value` at `pointer`; panics (without printing the template,
/// which may be huge) if it is accepted.
fn refused(pointer: &str, value: Value) -> ValidationErrors {
    let mut template = quickstart();
    set(&mut template, pointer, value);
    match Template::from_value(&template) {
        Ok(_) => panic!("a template with this {pointer} was accepted"),
        Err(errors) => errors,
    }
}

fn accepted(pointer: &str, value: Value) {
    let mut template = quickstart();
    set(&mut template, pointer, value);
    if let Err(errors) = Template::from_value(&template) {
        panic!("a template with this {pointer} was refused: {errors}");
    }
}

fn submission_with(pointer: &str, value: Value) -> Result<(), ValidationErrors> {
    let mut body = submission();
    set(&mut body, pointer, value);
    validate_submission(&body).map(|_| ())
}

fn custom_tool(i: usize) -> Value {
    json!({"type": "custom", "name": format!("tool_{i}"), "description": "d", "inputSchema": {"type": "object"}})
}

#[test]
fn a_spend_limit_outside_the_storable_range_is_refused_with_the_range() {
    for bad in [
        json!(1e9),
        json!(1e10),
        json!(99_999_999.999_95),
        json!(1e-300),
        json!(0.001),
    ] {
        let errors = refused("/limits/maxSpendUsd", bad.clone());
        assert_error(&errors, "/limits/maxSpendUsd", "0.01 to 1000000");
        let errors = submission_with("/limits/maxSpendUsd", bad).expect_err("out of range");
        assert_error(&errors, "/limits/maxSpendUsd", "0.01 to 1000000");
    }
}

#[test]
fn a_spend_limit_at_either_end_of_the_range_is_accepted() {
    for good in [
        json!(0.01),
        json!(1_000_000),
        json!(1_000_000.0),
        json!(2.5),
    ] {
        accepted("/limits/maxSpendUsd", good.clone());
        submission_with("/limits/maxSpendUsd", good).expect("in range");
    }
}

#[test]
fn more_tools_than_the_provider_allows_are_refused_once_at_the_list() {
    let mut tools: Vec<Value> = quickstart()["agent"]["tools"]
        .as_array()
        .expect("tools")
        .clone();
    tools.extend((0..10_000).map(custom_tool));
    let errors = refused("/agent/tools", json!(tools));
    assert_error(&errors, "/agent/tools", "At most 128");
    assert_eq!(errors.details().len(), 1, "{errors}");
    let message = errors.to_string();
    assert!(message.len() < 1000, "a short error, not one per tool");
}

#[test]
fn exactly_the_provider_limit_of_tools_is_accepted() {
    let mut tools: Vec<Value> = quickstart()["agent"]["tools"]
        .as_array()
        .expect("tools")
        .clone();
    let existing = tools.len();
    tools.extend((existing..128).map(custom_tool));
    accepted("/agent/tools", json!(tools));
}

#[test]
fn too_many_configs_in_one_toolset_are_refused() {
    let configs: Vec<Value> = (0..129).map(|i| json!({"name": format!("t{i}")})).collect();
    let errors = refused("/agent/tools/1/configs", json!(configs));
    assert_error(&errors, "/agent/tools/1/configs", "At most 128");
}

#[test]
fn more_skills_or_mcp_servers_than_the_provider_allows_are_refused() {
    let skills: Vec<Value> = (0..21)
        .map(|i| json!({"type": "custom", "skillId": format!("skill_{i}")}))
        .collect();
    let errors = refused("/agent/skills", json!(skills));
    assert_error(&errors, "/agent/skills", "At most 20 skills");
    let servers: Vec<Value> = (0..21)
        .map(|i| json!({"name": format!("s{i}"), "url": "https://mcp.example.com"}))
        .collect();
    let errors = refused("/agent/mcpServers", json!(servers));
    assert_error(&errors, "/agent/mcpServers", "At most 20 MCP servers");
}

#[test]
fn description_system_prompt_and_prompt_have_length_limits() {
    let errors = refused("/description", json!("d".repeat(2049)));
    assert_error(&errors, "/description", "2048");
    accepted("/description", json!("d".repeat(2048)));
    let errors = refused("/agent/system", json!("s".repeat(100_001)));
    assert_error(&errors, "/agent/system", "100000");
    let errors = refused("/prompt", json!("p".repeat(100_001)));
    assert_error(&errors, "/prompt", "100000");
    accepted("/prompt", json!("p".repeat(100_000)));
}

#[test]
fn a_prompt_that_renders_past_the_limit_is_refused_before_it_is_built() {
    let mut body = submission();
    set(
        &mut body,
        "/template/prompt",
        json!("{{topic}}".repeat(10_000)),
    );
    set(
        &mut body,
        "/template/variables/topic",
        json!({"type": "string"}),
    );
    set(&mut body, "/variables/topic", json!("x".repeat(1_000)));
    let errors = validate_submission(&body).expect_err("ten million characters");
    assert_error(&errors, "/template/prompt", "1000000");
}
