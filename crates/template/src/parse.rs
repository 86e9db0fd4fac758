//! Reading templates from JSON, YAML or TOML.
//!
//! Every format is first read into a `serde_json::Value`, then walked against the template's
//! shape (every type error, missing and unknown field, located), then deserialised, then
//! checked against the semantic rules. The result is normalised (see [`crate::hash`]).

use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::error::{Issues, TemplateError, ValidationErrors};
use crate::model::Template;
use crate::schema::TEMPLATE;
use crate::shape::walk;
use crate::submission::secret_keys::reject_secret_keys;
use crate::validate::check_template;

/// A template's text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JSON.
    Json,
    /// YAML 1.2 (one document).
    Yaml,
    /// TOML.
    Toml,
}

impl Format {
    /// The format named by a file extension (`json`, `yaml`, `yml`, `toml`; any case).
    pub fn from_extension(extension: &str) -> Option<Self> {
        match extension.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "yaml" | "yml" => Some(Self::Yaml),
            "toml" => Some(Self::Toml),
            _ => None,
        }
    }

    /// The format named by a path's extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Self::from_extension)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Json => "JSON",
            Self::Yaml => "YAML",
            Self::Toml => "TOML",
        })
    }
}

/// Reads `text` in `format` into a JSON value, without any template rules.
pub fn parse_value(text: &str, format: Format) -> Result<Value, TemplateError> {
    let result = match format {
        Format::Json => serde_json::from_str::<Value>(text).map_err(|e| e.to_string()),
        Format::Yaml => serde_yaml_ng::from_str::<Value>(text).map_err(|e| e.to_string()),
        Format::Toml => toml::from_str::<Value>(text).map_err(|e| e.to_string()),
    };
    result.map_err(|message| TemplateError::Syntax { format, message })
}

/// Reads and validates a template written in `format`.
pub fn parse_template(text: &str, format: Format) -> Result<Template, TemplateError> {
    let value = parse_value(text, format)?;
    Ok(Template::from_value(&value)?)
}

/// Reads and validates a template file, choosing the format by its extension.
pub fn load_template(path: &Path) -> Result<Template, TemplateError> {
    let format = Format::from_path(path).ok_or(TemplateError::UnknownFormat)?;
    let text = std::fs::read_to_string(path)?;
    parse_template(&text, format)
}

impl Template {
    /// Validates a template held as a JSON value and returns it normalised. Every problem is
    /// reported, each located by a JSON pointer from the template's root.
    pub fn from_value(value: &Value) -> Result<Self, ValidationErrors> {
        let mut issues = Issues::default();
        let template = template_from_value(value, "", &mut issues);
        match template {
            Some(template) if issues.is_empty() => Ok(template),
            _ => Err(issues.into_errors()),
        }
    }
}

/// The collecting form of [`Template::from_value`]: records problems under `prefix` and
/// returns the normalised template whenever its structure could be read, even if semantic
/// rules failed (the submission check still needs its variables and servers).
pub(crate) fn template_from_value(
    value: &Value,
    prefix: &str,
    issues: &mut Issues,
) -> Option<Template> {
    reject_secret_keys(value, prefix, issues);
    let mut pruned = value.clone();
    if !walk(&mut pruned, &TEMPLATE, prefix, issues) {
        return None;
    }
    let mut template = match serde_json::from_value::<Template>(pruned) {
        Ok(template) => template,
        Err(_) => {
            // The shape walk should have caught everything serde rejects; if the two drift
            // apart, say so rather than fail silently. serde's text is not passed on because
            // it may quote values, and a misplaced secret must not be echoed.
            issues.push(
                prefix,
                "The template could not be read; its structure is not supported.",
            );
            return None;
        }
    };
    check_template(&template, prefix, issues);
    template.normalise();
    Some(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_extension_in_any_case() {
        assert_eq!(Format::from_path(Path::new("a/b.YML")), Some(Format::Yaml));
        assert_eq!(Format::from_path(Path::new("t.toml")), Some(Format::Toml));
        assert_eq!(Format::from_path(Path::new("t.json")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("t.txt")), None);
        assert_eq!(Format::from_path(Path::new("json")), None);
    }

    #[test]
    fn syntax_errors_name_the_format() {
        let error = parse_value("{", Format::Json).expect_err("broken");
        assert!(error.to_string().contains("not valid JSON"), "{error}");
        let error = parse_value("a = [", Format::Toml).expect_err("broken");
        assert!(error.to_string().contains("not valid TOML"), "{error}");
    }
}
