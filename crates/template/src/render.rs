//! Rendering the prompt: `{{name}}` placeholders filled from resolved variables.
//!
//! # Syntax
//!
//! - `{{name}}` or `{{ name }}` (spaces and tabs allowed inside the braces) inserts the value
//!   of variable `name`, which must match `[A-Za-z_][A-Za-z0-9_]*`.
//! - In a run of three or more `{`, the placeholder opens at the last two: `{{{name}}}`
//!   renders as `{`, the value, `}`.
//! - **Escape rule**: a backslash directly before `{{` makes that `{{` literal, so `\{{name}}`
//!   renders as `{{name}}`. Backslashes are special only there: a run of backslashes directly
//!   before `{{` is halved (`\\` → `\`), and if the run was odd, the `{{` is literal. So
//!   `\\{{name}}` renders a backslash followed by the value. Backslashes anywhere else (paths,
//!   regular expressions) are copied unchanged and need no doubling.
//! - A `}}` without an opening `{{` is ordinary text.
//! - A `{{` with no `}}` after it, or whose content is not a variable name, is an error.
//!
//! Values are inserted once and never scanned again, so a value containing `{{x}}` appears
//! verbatim. Strings are inserted as they are, numbers in canonical form (`1.0` → `1`, see
//! [`crate::canonical`]), booleans as `true`/`false`.

use serde_json::Value;

use crate::canonical::{canonical_json, format_number};
use crate::variables::ResolvedVariables;

/// A problem with the prompt text or with the values given to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    /// `{{` with no `}}` after it.
    #[error(
        "The `{{{{` at byte {offset} is never closed by `}}}}`; write `\\{{{{` for a literal `{{{{`."
    )]
    Unclosed {
        /// Byte offset of the `{{` in the prompt.
        offset: usize,
    },
    /// Something other than a variable name between the braces.
    #[error(
        "The placeholder at byte {offset} does not contain a valid variable name; write `\\{{{{` for a literal `{{{{`."
    )]
    InvalidPlaceholder {
        /// Byte offset of the `{{` in the prompt.
        offset: usize,
    },
    /// A placeholder names a variable the template does not declare.
    #[error("The placeholder `{name}` refers to a variable the template does not declare.")]
    Undeclared {
        /// The variable name.
        name: String,
    },
    /// A placeholder has no value to render (an optional variable with no value or default).
    #[error("The placeholder `{name}` has no value.")]
    MissingValue {
        /// The variable name.
        name: String,
    },
}

/// One piece of a parsed prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text copied as is (escapes already applied).
    Text(String),
    /// A placeholder.
    Variable(String),
}

/// A prompt split into text and placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    segments: Vec<Segment>,
}

impl Prompt {
    /// Parses `text`, reporting every malformed placeholder.
    pub fn parse(text: &str) -> Result<Self, Vec<PromptError>> {
        let mut segments = Vec::new();
        let mut errors = Vec::new();
        let mut literal = String::new();
        let bytes = text.as_bytes();
        let mut i = 0;
        while let Some(found) = text[i..].find("{{") {
            let mut open = i + found;
            let slashes = bytes[i..open]
                .iter()
                .rev()
                .take_while(|&&b| b == b'\\')
                .count();
            literal.push_str(&text[i..open - slashes]);
            literal.push_str(&"\\".repeat(slashes / 2));
            if slashes % 2 == 1 {
                literal.push_str("{{");
                i = open + 2;
                continue;
            }
            // Extra braces before the last two of a run are text.
            while bytes.get(open + 2) == Some(&b'{') {
                literal.push('{');
                open += 1;
            }
            let Some(close) = text[open + 2..].find("}}").map(|c| open + 2 + c) else {
                errors.push(PromptError::Unclosed { offset: open });
                i = text.len();
                break;
            };
            let name = text[open + 2..close].trim_matches([' ', '\t']);
            if crate::variables::is_valid_variable_name(name) {
                if !literal.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Variable(name.to_owned()));
            } else {
                errors.push(PromptError::InvalidPlaceholder { offset: open });
            }
            i = close + 2;
        }
        literal.push_str(&text[i..]);
        if !literal.is_empty() {
            segments.push(Segment::Text(literal));
        }
        if errors.is_empty() {
            Ok(Self { segments })
        } else {
            Err(errors)
        }
    }

    /// The pieces, in order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The variable names referenced, in order of appearance, repeats included.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Variable(name) => Some(name.as_str()),
            Segment::Text(_) => None,
        })
    }

    /// How many characters [`Prompt::render`] would produce, counted without building the
    /// text, so an oversized result is refused before it takes the memory. A placeholder
    /// without a value counts as nothing.
    pub fn rendered_chars(&self, values: &ResolvedVariables) -> usize {
        self.segments
            .iter()
            .map(|segment| match segment {
                Segment::Text(text) => text.chars().count(),
                Segment::Variable(name) => values
                    .get(name)
                    .map_or(0, |value| display_value(value).chars().count()),
            })
            .fold(0, usize::saturating_add)
    }

    /// Fills every placeholder from `values`, reporting each one without a value.
    pub fn render(&self, values: &ResolvedVariables) -> Result<String, Vec<PromptError>> {
        let mut out = String::new();
        let mut errors = Vec::new();
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Variable(name) => match values.get(name) {
                    Some(value) => out.push_str(&display_value(value)),
                    None => errors.push(PromptError::MissingValue { name: name.clone() }),
                },
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// Parses and renders in one step.
pub fn render_prompt(text: &str, values: &ResolvedVariables) -> Result<String, Vec<PromptError>> {
    Prompt::parse(text)?.render(values)
}

/// How a variable value appears in the prompt.
fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => format_number(n),
        Value::Bool(b) => b.to_string(),
        // Resolved variables are never composite; canonical JSON keeps this total anyway.
        other => canonical_json(other),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn values(pairs: Value) -> ResolvedVariables {
        serde_json::from_value(pairs).expect("map")
    }

    #[test]
    fn text_without_placeholders_is_one_segment() {
        let prompt = Prompt::parse("plain } text }} here").expect("parses");
        assert_eq!(
            prompt.segments(),
            &[Segment::Text("plain } text }} here".into())]
        );
    }

    #[test]
    fn an_unclosed_placeholder_reports_its_offset() {
        assert_eq!(
            Prompt::parse("ab {{x"),
            Err(vec![PromptError::Unclosed { offset: 3 }])
        );
    }

    #[test]
    fn every_invalid_placeholder_is_reported() {
        let errors = Prompt::parse("{{1x}} and {{a b}} and {{}}").expect_err("invalid");
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn the_rendered_length_is_counted_in_characters_without_rendering() {
        let prompt = Prompt::parse("é {{a}}{{a}} {{b}}").expect("parses");
        let values = values(json!({"a": "ünï", "b": 12.0}));
        let rendered = prompt.render(&values).expect("renders");
        assert_eq!(prompt.rendered_chars(&values), rendered.chars().count());
        assert_eq!(rendered, "é ünïünï 12");
    }

    #[test]
    fn a_missing_value_is_an_error() {
        let errors = render_prompt("{{a}}{{b}}", &values(json!({"a": 1}))).expect_err("missing");
        assert_eq!(errors, vec![PromptError::MissingValue { name: "b".into() }]);
    }
}
