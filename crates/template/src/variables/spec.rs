//! Variable declarations and their internal consistency.
//!
//! A variable is required unless it has a default; declaring both `required: true` and a
//! default is rejected because the default could never be used. Normalisation writes the
//! effective `required` (and `integer` for numbers) explicitly, so that a template that spells
//! out the defaults hashes the same as one that leaves them out.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Issues, child};

/// The declaration of one variable, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VariableSpec {
    /// Text.
    String(StringVariable),
    /// A number, optionally whole.
    Number(NumberVariable),
    /// `true` or `false`.
    Boolean(BooleanVariable),
    /// One of a fixed list of strings.
    Enum(EnumVariable),
}

/// A text variable. Lengths count Unicode scalar values, not bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StringVariable {
    /// Free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a submission must give a value; defaults to "no default given".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The value used when a submission gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Shortest accepted length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Longest accepted length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
}

/// A numeric variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NumberVariable {
    /// Free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a submission must give a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The value used when a submission gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<f64>,
    /// Smallest accepted value, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// Largest accepted value, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// Whether only whole numbers are accepted; absent means false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integer: Option<bool>,
}

/// A boolean variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BooleanVariable {
    /// Free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a submission must give a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The value used when a submission gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

/// A variable restricted to a list of strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnumVariable {
    /// Free text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether a submission must give a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    /// The value used when a submission gives none; one of `values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The accepted values; at least one.
    pub values: Vec<String>,
}

impl VariableSpec {
    /// The `type` spelling, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::String(_) => "string",
            Self::Number(_) => "number",
            Self::Boolean(_) => "boolean",
            Self::Enum(_) => "enum",
        }
    }

    /// The default as a JSON value, if one is declared.
    pub fn default_value(&self) -> Option<Value> {
        match self {
            Self::String(s) => s.default.clone().map(Value::String),
            Self::Number(n) => n.default.map(number_value),
            Self::Boolean(b) => b.default.map(Value::Bool),
            Self::Enum(e) => e.default.clone().map(Value::String),
        }
    }

    /// Whether a submission must give a value: as declared, else true unless a default exists.
    pub fn is_required(&self) -> bool {
        self.declared_required()
            .unwrap_or(self.default_value().is_none())
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        match self {
            Self::String(s) => s.description.as_deref(),
            Self::Number(n) => n.description.as_deref(),
            Self::Boolean(b) => b.description.as_deref(),
            Self::Enum(e) => e.description.as_deref(),
        }
    }

    fn declared_required(&self) -> Option<bool> {
        match self {
            Self::String(s) => s.required,
            Self::Number(n) => n.required,
            Self::Boolean(b) => b.required,
            Self::Enum(e) => e.required,
        }
    }

    /// Writes the effective defaults explicitly (see the module doc).
    pub(crate) fn normalise(&mut self) {
        let required = Some(self.is_required());
        match self {
            Self::String(s) => s.required = required,
            Self::Number(n) => {
                n.required = required;
                n.integer = Some(n.integer.unwrap_or(false));
            }
            Self::Boolean(b) => b.required = required,
            Self::Enum(e) => e.required = required,
        }
    }

    /// Checks the declaration at `path` (a pointer to this variable) for contradictions.
    pub(crate) fn check(&self, path: &str, issues: &mut Issues) {
        if self.declared_required() == Some(true) && self.default_value().is_some() {
            issues.push(
                child(path, "required"),
                "A variable with a default cannot be required; remove one of the two.",
            );
        }
        match self {
            Self::String(s) => check_string(s, path, issues),
            Self::Number(n) => check_number(n, path, issues),
            Self::Boolean(_) => {}
            Self::Enum(e) => check_enum(e, path, issues),
        }
    }
}

/// A JSON number from an `f64`, written as an integer when it is whole so that `3.0` and `3`
/// resolve to the same value.
pub(crate) fn number_value(x: f64) -> Value {
    /// Whole numbers at or below 2^53 convert to integers without losing precision.
    const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0;
    if x.fract() == 0.0 && x.abs() <= EXACT_INTEGER_LIMIT {
        // The cast is exact within the limit checked above.
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

fn check_string(s: &StringVariable, path: &str, issues: &mut Issues) {
    if let (Some(min), Some(max)) = (s.min_length, s.max_length)
        && min > max
    {
        issues.push(
            child(path, "minLength"),
            "`minLength` must not be greater than `maxLength`.",
        );
    }
    if let Some(default) = &s.default
        && let Some(problem) = string_length_problem(s, default)
    {
        issues.push(child(path, "default"), format!("The default {problem}."));
    }
}

/// Describes how `value` breaks the length limits of `spec`, if it does.
pub(crate) fn string_length_problem(spec: &StringVariable, value: &str) -> Option<String> {
    let len = value.chars().count() as u64;
    if let Some(min) = spec.min_length
        && len < min
    {
        return Some(format!(
            "is shorter than the minimum length of {min} characters"
        ));
    }
    if let Some(max) = spec.max_length
        && len > max
    {
        return Some(format!(
            "is longer than the maximum length of {max} characters"
        ));
    }
    None
}

fn check_number(n: &NumberVariable, path: &str, issues: &mut Issues) {
    if let (Some(min), Some(max)) = (n.minimum, n.maximum)
        && min > max
    {
        issues.push(
            child(path, "minimum"),
            "`minimum` must not be greater than `maximum`.",
        );
    }
    if let Some(default) = n.default
        && let Some(problem) = number_problem(n, default)
    {
        issues.push(child(path, "default"), format!("The default {problem}."));
    }
}

/// Describes how `value` breaks the rules of `spec`, if it does.
pub(crate) fn number_problem(spec: &NumberVariable, value: f64) -> Option<String> {
    if spec.integer == Some(true) && value.fract() != 0.0 {
        return Some("must be a whole number".to_owned());
    }
    if let Some(min) = spec.minimum
        && value < min
    {
        return Some(format!(
            "is below the minimum of {}",
            crate::canonical::format_f64(min)
        ));
    }
    if let Some(max) = spec.maximum
        && value > max
    {
        return Some(format!(
            "is above the maximum of {}",
            crate::canonical::format_f64(max)
        ));
    }
    None
}

fn check_enum(e: &EnumVariable, path: &str, issues: &mut Issues) {
    let values_path = child(path, "values");
    if e.values.is_empty() {
        issues.push(
            values_path.clone(),
            "An enum variable needs at least one value.",
        );
    }
    for (i, value) in e.values.iter().enumerate() {
        if e.values[..i].contains(value) {
            issues.push(
                crate::error::index(&values_path, i),
                "This value is listed twice.",
            );
        }
    }
    if let Some(default) = &e.default
        && !e.values.contains(default)
    {
        issues.push(
            child(path, "default"),
            "The default is not one of `values`.",
        );
    }
}
