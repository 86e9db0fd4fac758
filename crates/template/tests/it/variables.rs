//! Checking a submission's variable values against the template.

use antpath_template::{Template, ValidationErrors, resolve_variables};
use serde_json::{Map, Value, json};

use super::support::{assert_error, quickstart};

fn template() -> Template {
    let mut value = quickstart();
    value["variables"]["note"] = json!({"type": "string", "required": false});
    Template::from_value(&value).expect("valid")
}

fn check(values: Value) -> Result<antpath_template::ResolvedVariables, ValidationErrors> {
    let map: Map<String, Value> = serde_json::from_value(values).expect("map");
    resolve_variables(&template(), &map)
}

#[test]
fn defaults_are_applied_and_given_values_kept() {
    let resolved = check(json!({"topic": "caching", "depth": 4})).expect("valid");
    assert_eq!(resolved["topic"], json!("caching"));
    assert_eq!(resolved["depth"], json!(4));
    assert_eq!(resolved["audience"], json!("engineers"));
    assert_eq!(resolved["citations"], json!(true));
    assert!(
        !resolved.contains_key("note"),
        "optional without default stays absent"
    );
}

#[test]
fn a_missing_required_variable_is_reported() {
    assert_error(
        &check(json!({})).expect_err("missing"),
        "/variables/topic",
        "required",
    );
}

#[test]
fn a_value_for_an_undeclared_variable_is_reported() {
    let errors = check(json!({"topic": "abc", "colour": "red"})).expect_err("unknown");
    assert_error(&errors, "/variables/colour", "declares no variable");
}

#[test]
fn wrong_types_are_reported_for_every_variable_type() {
    let errors = check(
        json!({"topic": 5, "depth": "3", "audience": true, "citations": "yes", "note": null}),
    )
    .expect_err("types");
    assert_error(
        &errors,
        "/variables/topic",
        "must be a string, not a number",
    );
    assert_error(
        &errors,
        "/variables/depth",
        "must be a number, not a string",
    );
    assert_error(
        &errors,
        "/variables/audience",
        "must be a string, not a boolean",
    );
    assert_error(
        &errors,
        "/variables/citations",
        "must be a boolean, not a string",
    );
    assert_error(&errors, "/variables/note", "not null");
    assert_eq!(errors.details().len(), 5);
}

#[test]
fn string_lengths_count_characters_not_bytes() {
    assert_error(
        &check(json!({"topic": "ab"})).expect_err("short"),
        "/variables/topic",
        "shorter",
    );
    assert_error(
        &check(json!({"topic": "x".repeat(201)})).expect_err("long"),
        "/variables/topic",
        "longer",
    );
    check(json!({"topic": "日本語"})).expect("three characters, nine bytes");
}

#[test]
fn numbers_are_checked_against_range_and_wholeness() {
    assert_error(
        &check(json!({"topic": "abc", "depth": 0})).expect_err("low"),
        "/variables/depth",
        "below the minimum of 1",
    );
    assert_error(
        &check(json!({"topic": "abc", "depth": 6})).expect_err("high"),
        "/variables/depth",
        "above the maximum of 5",
    );
    assert_error(
        &check(json!({"topic": "abc", "depth": 2.5})).expect_err("fraction"),
        "/variables/depth",
        "whole number",
    );
    check(json!({"topic": "abc", "depth": 3.0})).expect("3.0 is whole");
}

#[test]
fn enum_values_must_be_listed() {
    let errors = check(json!({"topic": "abc", "audience": "interns"})).expect_err("enum");
    assert_error(&errors, "/variables/audience", "engineers, executives");
}

#[test]
fn error_messages_do_not_quote_the_rejected_value() {
    let errors =
        check(json!({"topic": "zz-private-zz"[..2].to_owned(), "audience": "zz-private-zz"}))
            .expect_err("invalid");
    for detail in errors.details() {
        assert!(
            !detail.message.contains("zz-private-zz"),
            "{}",
            detail.message
        );
    }
}
