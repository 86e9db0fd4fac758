//! Checking a submission's variable values against the template's declarations.
//!
//! Every problem is reported, each at `/variables/<name>`: a missing required value, a value
//! for an undeclared variable, a wrong JSON type, a string of the wrong length, a number out of
//! range or not whole, an enum value not in the list. Messages name the limit, never the value.
//! A `null` value counts as a wrong type, not as absent: leaving the key out is the way to ask
//! for the default.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::spec::{VariableSpec, number_problem, string_length_problem};
use crate::error::{Issues, ValidationErrors, child};
use crate::model::Template;

/// Every declared variable that has a value after defaults are applied, by name. Optional
/// variables with neither a value nor a default are absent.
pub type ResolvedVariables = BTreeMap<String, Value>;

/// Checks `values` against the variables of `template`, applying defaults.
///
/// Errors are located under `/variables/<name>`, as in a run submission.
pub fn resolve_variables(
    template: &Template,
    values: &Map<String, Value>,
) -> Result<ResolvedVariables, ValidationErrors> {
    let mut issues = Issues::default();
    let resolved = check_values(&template.variables, values, "/variables", &mut issues);
    issues.into_result(resolved)
}

/// The collecting form of [`resolve_variables`], used by the submission check.
pub(crate) fn check_values(
    specs: &BTreeMap<String, VariableSpec>,
    values: &Map<String, Value>,
    prefix: &str,
    issues: &mut Issues,
) -> ResolvedVariables {
    let mut resolved = ResolvedVariables::new();
    for name in values.keys() {
        if !specs.contains_key(name) {
            issues.push(
                child(prefix, name),
                "The template declares no variable of this name.",
            );
        }
    }
    for (name, spec) in specs {
        let path = child(prefix, name);
        match values.get(name) {
            Some(value) => {
                if let Some(problem) = value_problem(spec, value) {
                    issues.push(path, format!("The value {problem}."));
                } else {
                    resolved.insert(name.clone(), value.clone());
                }
            }
            None => {
                if let Some(default) = spec.default_value() {
                    resolved.insert(name.clone(), default);
                } else if spec.is_required() {
                    issues.push(path, "This variable is required and has no default.");
                }
            }
        }
    }
    resolved
}

/// Describes how `value` breaks `spec`, if it does.
fn value_problem(spec: &VariableSpec, value: &Value) -> Option<String> {
    match (spec, value) {
        (VariableSpec::String(s), Value::String(text)) => string_length_problem(s, text),
        (VariableSpec::Number(n), Value::Number(number)) => {
            // Every JSON number read by serde_json converts to f64; very large integers lose
            // precision here, which only matters for range checks at their edges.
            let x = number.as_f64().unwrap_or(f64::NAN);
            number_problem(n, x)
        }
        (VariableSpec::Boolean(_), Value::Bool(_)) => None,
        (VariableSpec::Enum(e), Value::String(text)) => {
            if e.values.contains(text) {
                None
            } else {
                Some(format!(
                    "is not one of the allowed values ({})",
                    e.values.join(", ")
                ))
            }
        }
        (spec, other) => {
            let expected = match spec {
                VariableSpec::Enum(_) => "a string",
                VariableSpec::String(_) => "a string",
                VariableSpec::Number(_) => "a number",
                VariableSpec::Boolean(_) => "a boolean",
            };
            Some(format!("must be {expected}, not {}", json_type_name(other)))
        }
    }
}

/// The JSON type of a value, for messages.
pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn specs(value: Value) -> BTreeMap<String, VariableSpec> {
        serde_json::from_value(value).expect("specs parse")
    }

    fn run(specs: &BTreeMap<String, VariableSpec>, values: Value) -> (ResolvedVariables, Issues) {
        let mut issues = Issues::default();
        let map = values.as_object().cloned().unwrap_or_default();
        let resolved = check_values(specs, &map, "/variables", &mut issues);
        (resolved, issues)
    }

    #[test]
    fn defaults_fill_in_missing_values_and_optional_ones_stay_absent() {
        let specs = specs(json!({
            "depth": {"type": "number", "default": 2},
            "note": {"type": "string", "required": false},
        }));
        let (resolved, issues) = run(&specs, json!({}));
        assert!(issues.is_empty());
        assert_eq!(resolved.get("depth"), Some(&json!(2)));
        assert!(!resolved.contains_key("note"));
    }

    #[test]
    fn null_is_a_wrong_type_rather_than_a_request_for_the_default() {
        let specs = specs(json!({"flag": {"type": "boolean", "default": true}}));
        let (_, issues) = run(&specs, json!({"flag": null}));
        let errors = issues.into_errors();
        assert_eq!(errors.details()[0].path, "/variables/flag");
        assert!(errors.details()[0].message.contains("not null"));
    }
}
