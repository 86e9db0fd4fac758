//! Prompt rendering edge cases.

use antpath_template::{Prompt, PromptError, ResolvedVariables, render_prompt};
use serde_json::{Value, json};

fn values(map: Value) -> ResolvedVariables {
    serde_json::from_value(map).expect("values")
}

fn render(prompt: &str, map: Value) -> String {
    render_prompt(prompt, &values(map)).expect("renders")
}

#[test]
fn placeholders_accept_optional_inner_spaces_and_tabs() {
    assert_eq!(
        render("{{a}}|{{ a }}|{{\ta  }}", json!({"a": "x"})),
        "x|x|x"
    );
}

#[test]
fn adjacent_placeholders_render_back_to_back() {
    assert_eq!(
        render("{{a}}{{b}}{{a}}", json!({"a": "1", "b": "2"})),
        "121"
    );
}

#[test]
fn a_backslash_before_braces_renders_them_literally() {
    assert_eq!(render(r"\{{a}} is {{a}}", json!({"a": "x"})), "{{a}} is x");
    assert_eq!(render(r"\{{", json!({})), "{{");
}

#[test]
fn a_doubled_backslash_before_braces_renders_one_backslash_and_the_value() {
    assert_eq!(render(r"\\{{a}}", json!({"a": "x"})), r"\x");
    assert_eq!(render(r"\\\{{a}}", json!({"a": "x"})), r"\{{a}}");
}

#[test]
fn backslashes_elsewhere_are_left_alone() {
    let text = r"C:\temp\new and \d+ and trailing \";
    assert_eq!(render(text, json!({})), text);
}

#[test]
fn a_lone_closing_pair_is_ordinary_text() {
    assert_eq!(render("}} {a} } {{a}}}", json!({"a": "x"})), "}} {a} } x}");
}

#[test]
fn extra_opening_braces_before_a_placeholder_are_text() {
    assert_eq!(render("{{{a}}}", json!({"a": "x"})), "{x}");
    assert_eq!(render("{{{{a}}", json!({"a": "x"})), "{{x");
}

#[test]
fn values_containing_braces_are_not_expanded_again() {
    let out = render("{{a}} {{b}}", json!({"a": "{{b}}", "b": r"\{{a}}"}));
    assert_eq!(out, r"{{b}} \{{a}}");
}

#[test]
fn unicode_text_and_values_survive_intact() {
    let out = render("héllo {{a}} 😀{{b}}ß", json!({"a": "日本語", "b": "🦀"}));
    assert_eq!(out, "héllo 日本語 😀🦀ß");
}

#[test]
fn numbers_render_canonically_and_booleans_as_words() {
    let parsed: Value =
        serde_json::from_str(r#"{"a": 1.0, "b": 2.5, "c": 1e2, "d": -0.0, "e": true, "f": false}"#)
            .expect("json");
    assert_eq!(
        render("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}}", parsed),
        "1 2.5 100 0 true false"
    );
}

#[test]
fn an_unclosed_placeholder_is_an_error_even_after_valid_ones() {
    let errors =
        render_prompt("{{a}} then {{ a", &values(json!({"a": "x"}))).expect_err("unclosed");
    assert_eq!(errors, vec![PromptError::Unclosed { offset: 11 }]);
}

#[test]
fn empty_and_non_identifier_placeholders_are_errors() {
    for bad in ["{{}}", "{{ }}", "{{a-b}}", "{{1a}}", "{{é}}", "{{a}b}}"] {
        let error = Prompt::parse(bad).expect_err(bad);
        assert!(
            matches!(error[0], PromptError::InvalidPlaceholder { offset: 0 }),
            "{bad}: {error:?}"
        );
    }
}

#[test]
fn a_missing_value_names_the_variable() {
    let errors = render_prompt("{{a}}", &values(json!({}))).expect_err("missing");
    assert_eq!(errors, vec![PromptError::MissingValue { name: "a".into() }]);
}

#[test]
fn placeholders_are_listed_in_order_with_repeats() {
    let prompt = Prompt::parse(r"{{b}} {{a}} \{{c}} {{b}}").expect("parses");
    assert_eq!(prompt.placeholders().collect::<Vec<_>>(), ["b", "a", "b"]);
}
