//! Loading a template file and turning `--var NAME=VALUE` and `--vars-file` into typed values.
//!
//! A `--var` value is read according to the template's declaration: a number variable gets a
//! JSON number, a boolean one `true`/`false`, strings and enums stay text. A vars file is JSON,
//! YAML or TOML and already typed. The result is checked with the template crate's
//! `resolve_variables`, so every problem is reported at once, located as the API would.

use std::path::Path;

use antpath_sdk::Template;
use antpath_template::model::VariableSpec;
use antpath_template::{Format, TemplateError, parse_value, resolve_variables};
use serde_json::{Map, Value};

use crate::cli::VarArgs;
use crate::failure::Failure;

/// Reads and validates a template file, with every problem located.
pub fn load(path: &Path) -> Result<Template, Failure> {
    let shown = path.display();
    antpath_template::load_template(path).map_err(|error| match error {
        TemplateError::UnknownFormat => Failure::usage(format!(
            "cannot tell the format of {shown}: name it .json, .yaml, .yml or .toml"
        )),
        TemplateError::Io(io) => Failure::usage(format!("cannot read the template {shown}: {io}")),
        TemplateError::Syntax { format, message } => {
            Failure::usage(format!("{shown} is not valid {format}: {message}"))
        }
        TemplateError::Invalid(errors) => Failure::Usage {
            message: format!("{shown} is not a valid template; fix these problems:"),
            details: errors.into_details(),
        },
    })
}

/// The variable values given on the command line, typed by `template` and checked against it.
pub fn collect(template: &Template, args: &VarArgs) -> Result<Map<String, Value>, Failure> {
    let mut values = match &args.vars_file {
        Some(path) => read_vars_file(path)?,
        None => Map::new(),
    };
    for pair in &args.vars {
        let Some((name, text)) = pair.split_once('=') else {
            return Err(Failure::usage(format!(
                "`--var {pair}` needs the form NAME=VALUE"
            )));
        };
        let value = typed_value(template.variables.get(name), name, text)?;
        values.insert(name.to_owned(), value);
    }
    if let Err(errors) = resolve_variables(template, &values) {
        let declared: Vec<&str> = template.variables.keys().map(String::as_str).collect();
        let message = if declared.is_empty() {
            "the variables do not fit the template, which declares none:".to_owned()
        } else {
            format!(
                "the variables do not fit the template (it declares: {}); pass them with --var NAME=VALUE:",
                declared.join(", ")
            )
        };
        return Err(Failure::Usage {
            message,
            details: errors.into_details(),
        });
    }
    Ok(values)
}

fn read_vars_file(path: &Path) -> Result<Map<String, Value>, Failure> {
    let shown = path.display();
    let format = Format::from_path(path).ok_or_else(|| {
        Failure::usage(format!(
            "cannot tell the format of {shown}: name it .json, .yaml, .yml or .toml"
        ))
    })?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read the vars file {shown}: {e}")))?;
    match parse_value(&text, format) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::usage(format!(
            "the vars file {shown} must hold an object of NAME: VALUE pairs"
        ))),
        Err(error) => Err(Failure::usage(format!("{shown}: {error}"))),
    }
}

/// `text` as the JSON type `spec` declares. Undeclared names stay text; the check that
/// follows reports them.
fn typed_value(spec: Option<&VariableSpec>, name: &str, text: &str) -> Result<Value, Failure> {
    match spec {
        Some(VariableSpec::Number(_)) => parse_number(text).ok_or_else(|| {
            Failure::usage(format!(
                "`--var {name}={text}`: `{name}` is a number variable, and `{text}` is not a number"
            ))
        }),
        Some(VariableSpec::Boolean(_)) => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Ok(Value::Bool(true)),
            "false" | "no" | "0" => Ok(Value::Bool(false)),
            _ => Err(Failure::usage(format!(
                "`--var {name}={text}`: `{name}` is a boolean variable; use true or false"
            ))),
        },
        _ => Ok(Value::String(text.to_owned())),
    }
}

/// Integers stay exact; anything else finite is a float.
fn parse_number(text: &str) -> Option<Value> {
    let text = text.trim();
    if let Ok(whole) = text.parse::<i64>() {
        return Some(Value::from(whole));
    }
    let float: f64 = text.parse().ok()?;
    serde_json::Number::from_f64(float).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use antpath_template::parse_template;
    use serde_json::json;

    use super::*;

    fn template() -> Template {
        parse_template(
            r#"{"name": "t", "agent": {"model": "m"}, "prompt": "{{topic}} {{n}} {{deep}}",
                "variables": {"topic": {"type": "string"}, "n": {"type": "number"},
                              "deep": {"type": "boolean", "default": false}}}"#,
            Format::Json,
        )
        .expect("template")
    }

    fn args(vars: &[&str]) -> VarArgs {
        VarArgs {
            vars: vars.iter().map(|v| v.to_string()).collect(),
            vars_file: None,
        }
    }

    #[test]
    fn values_are_typed_by_their_declaration() {
        let values = collect(&template(), &args(&["topic=3", "n=3", "deep=yes"])).expect("ok");
        assert_eq!(
            Value::Object(values),
            json!({"topic": "3", "n": 3, "deep": true})
        );
        let values = collect(&template(), &args(&["topic=a=b", "n=2.5"])).expect("ok");
        assert_eq!(values["topic"], "a=b");
        assert_eq!(values["n"], 2.5);
    }

    #[test]
    fn a_number_that_is_not_one_is_a_usage_error_naming_the_variable() {
        let failure = collect(&template(), &args(&["topic=x", "n=three"])).expect_err("bad");
        assert!(
            failure.human().contains("`n` is a number variable"),
            "{}",
            failure.human()
        );
    }

    #[test]
    fn missing_and_undeclared_variables_are_all_reported() {
        let failure = collect(&template(), &args(&["colour=red"])).expect_err("bad");
        let Failure::Usage { details, .. } = failure else {
            panic!("usage")
        };
        let paths: Vec<_> = details.iter().map(|d| d.path.as_str()).collect();
        assert!(paths.contains(&"/variables/colour"), "{paths:?}");
        assert!(
            paths.contains(&"/variables/topic") && paths.contains(&"/variables/n"),
            "{paths:?}"
        );
    }
}
