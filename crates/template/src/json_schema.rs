//! The JSON Schema (draft 2020-12, the dialect OpenAPI 3.1 embeds) of a template and of a run
//! submission, for API documents and generated clients.
//!
//! The structure comes from the shapes the validator walks ([`crate::schema`]), so a field added
//! there appears here. On top of it go the rules of single fields that a schema can state —
//! lengths, patterns, bounds, counts — written from the same constants the validator checks
//! ([`field_rule`]); each one is a *necessary* condition of the validator, so anything the
//! schema refuses the server refuses too. What it cannot state, the rules between fields, are
//! listed in [`CROSS_FIELD_RULES`] and in the schemas' descriptions: a body that satisfies the
//! schema can still be refused with 422 for one of those, and for nothing else.
//!
//! Strings and keys never hold a NUL character (the API refuses one with 400: no Postgres text
//! can store it), so every string and every free-form key carries a pattern that says so.

use std::cell::RefCell;

use serde_json::{Map, Value, json};

use crate::schema::{SUBMISSION_PARTS, TEMPLATE};
use crate::shape::{Field, Shape};
use crate::submission::MAX_IDEMPOTENCY_KEY_CHARS;
use crate::validate::{
    MAX_DESCRIPTION_CHARS, MAX_LABEL_KEY_CHARS, MAX_LABEL_VALUE_CHARS, MAX_LABELS, MAX_MCP_SERVERS,
    MAX_PROMPT_CHARS, MAX_SKILLS, MAX_SPEND_USD, MAX_SYSTEM_CHARS, MAX_TOOL_CONFIGS, MAX_TOOLS,
    MIN_SPEND_USD,
};

/// The characters `str::trim` removes (Rust's `char::is_whitespace`, the Unicode `White_Space`
/// property), as the body of a regex character class. Spelt out because a regex `\s` is a
/// slightly different set.
pub const WHITESPACE: &str =
    r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Rust's `char::is_control` (Unicode category Cc), as the body of a character class.
pub const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";

/// Any text without a NUL.
pub const NO_NUL: &str = r"^[^\u0000]*$";

/// The rules between fields that no JSON Schema states; a schema-valid submission may still be
/// refused (422) for these, each reported at its JSON pointer.
pub const CROSS_FIELD_RULES: &[&str] = &[
    "every `{{name}}` placeholder of the prompt names a declared variable, and the prompt's braces are well formed",
    "with its variable values filled in, the prompt is at most 1,000,000 characters",
    "every MCP server has a unique name and is used by exactly one `mcp_toolset`, and every `mcp_toolset` names a declared server",
    "at most one `agent_toolset_20260401`, and the `configs` of a toolset name each tool once",
    "an MCP server's `url` is `https://` (plain `http://` only to localhost, 127.0.0.1 or [::1]) with a valid host and port and no credentials in the URL or its query",
    "limited networking with packages listed sets `allowPackageManagers: true`",
    "a variable's default fits its own rules (length, range, whole number, one of `values`), `minLength` ≤ `maxLength`, `minimum` ≤ `maximum`, and a variable with a default is not `required: true`",
    "`variables` holds a value of the declared type within the declared rules for every required variable and no undeclared name",
    "`secrets.mcpServers` has a `bearerToken` for exactly the `static_bearer` servers",
    "no key outside `secrets` looks like it holds a credential (`apiKey`, `token`, `password`, `authorization`, … in any spelling)",
    "`limits.maxDurationSeconds` is at most the workspace's `plan.max_run_duration_seconds` (GET /v1/workspace)",
];

/// The named schemas: `Template`, `RunSubmission` and `JsonValue` (any JSON without a NUL),
/// each referring to the others as `{reference_prefix}{name}` (for an OpenAPI document,
/// `#/components/schemas/`).
pub fn schemas(reference_prefix: &str) -> Vec<(&'static str, Value)> {
    write(reference_prefix).0
}

/// Named schemas, in the order they are written.
type Named = Vec<(&'static str, Value)>;

/// Every place the writer passed: which document, and the path in it.
type Visited = Vec<(Context, String)>;

/// The schemas, and every place the writer passed (for the rule check).
fn write(reference_prefix: &str) -> (Named, Visited) {
    let writer = Writer {
        reference_prefix,
        visited: RefCell::new(Vec::new()),
    };
    let mut template = writer.shape(&TEMPLATE, "", Context::Template);
    template["description"] = json!(format!(
        "A run template (secret-free). Besides what this schema states: {}.",
        CROSS_FIELD_RULES.join("; ")
    ));
    let submission = writer.submission();
    let json_value = json!({
        "description": "Any JSON value whose strings and keys hold no NUL character.",
        "oneOf": [
            {"type": ["null", "boolean"]},
            number(),
            {"type": "string", "pattern": NO_NUL},
            {"type": "array", "items": writer.reference("JsonValue")},
            {"type": "object", "propertyNames": {"pattern": NO_NUL},
             "additionalProperties": writer.reference("JsonValue")}
        ]
    });
    let schemas = vec![
        ("Template", template),
        ("RunSubmission", submission),
        ("JsonValue", json_value),
    ];
    (schemas, writer.visited.into_inner())
}

/// Which document a path belongs to, so that [`field_rule`] can tell `/limits` of a template
/// from `/limits` of a submission where that matters (it does not today: both share a shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Template,
    Submission,
}

struct Writer<'a> {
    reference_prefix: &'a str,
    visited: RefCell<Visited>,
}

impl Writer<'_> {
    fn reference(&self, name: &str) -> Value {
        json!({"$ref": format!("{}{name}", self.reference_prefix)})
    }

    fn submission(&self) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for field in SUBMISSION_PARTS {
            let path = format!("/{}", field.name);
            let schema = if field.name == "template" {
                self.reference("Template")
            } else {
                self.shape(field.shape, &path, Context::Submission)
            };
            properties.insert(field.name.to_owned(), schema);
            if field.required {
                required.push(field.name);
            }
        }
        properties["secrets"]["description"] =
            json!("The only place a credential may appear; sealed at once and never shown again.");
        properties["variables"]["description"] =
            json!("A value for every required variable of the template, by name.");
        properties["idempotencyKey"]["description"] =
            json!("Or the `Idempotency-Key` header (the two must agree).");
        json!({
            "type": "object",
            "description": format!(
                "The body of POST /v1/runs (camelCase). Besides what this schema states: {}.",
                CROSS_FIELD_RULES.join("; ")
            ),
            "required": required,
            "additionalProperties": false,
            "properties": properties,
        })
    }

    fn shape(&self, shape: &Shape, path: &str, context: Context) -> Value {
        self.visited.borrow_mut().push((context, path.to_owned()));
        let mut schema = match shape {
            Shape::Any => self.reference("JsonValue"),
            Shape::AnyObject => json!({"type": "object", "propertyNames": {"pattern": NO_NUL},
                "additionalProperties": self.reference("JsonValue")}),
            Shape::String => json!({"type": "string", "pattern": NO_NUL}),
            Shape::Bool => json!({"type": "boolean"}),
            Shape::Unsigned => json!({"type": "integer", "minimum": 0, "maximum": u64::MAX}),
            Shape::Number => number(),
            Shape::OneOf(choices) => json!({"type": "string", "enum": choices}),
            Shape::Array(item) => json!({"type": "array",
                "items": self.shape(item, &format!("{path}/*"), context)}),
            Shape::Map(item) => json!({"type": "object", "propertyNames": {"pattern": NO_NUL},
                "additionalProperties": self.shape(item, &format!("{path}/*"), context)}),
            Shape::Object(fields) => self.object(fields, None, path, context),
            Shape::Tagged { tag, variants } => {
                let choices: Vec<Value> = variants
                    .iter()
                    .map(|variant| {
                        let variant_path = format!("{path}:{}", variant.name);
                        let mut object =
                            self.object(variant.fields, Some(tag), &variant_path, context);
                        object["properties"][*tag] = json!({"const": variant.name});
                        object
                    })
                    .collect();
                json!({"type": "object", "required": [tag], "oneOf": choices})
            }
        };
        if let Some(Value::Object(extra)) = field_rule(path, context) {
            for (key, value) in extra {
                schema[key] = value;
            }
        }
        schema
    }

    fn object(&self, fields: &[Field], tag: Option<&str>, path: &str, context: Context) -> Value {
        let mut properties = Map::new();
        let mut required: Vec<&str> = tag.into_iter().collect();
        for field in fields {
            let child = format!("{path}/{}", field.name);
            properties.insert(
                field.name.to_owned(),
                self.shape(field.shape, &child, context),
            );
            if field.required {
                required.push(field.name);
            }
        }
        json!({"type": "object", "required": required, "additionalProperties": false,
            "properties": properties})
    }
}

/// A JSON number the server can read: a finite `f64` (a literal beyond ±1.8e308 is refused as
/// malformed JSON, 400).
fn number() -> Value {
    json!({"type": "number", "minimum": -f64::MAX, "maximum": f64::MAX})
}

/// Text with at least one character that `trim` keeps, and no NUL.
fn not_blank() -> Value {
    json!({"pattern": format!(r"^[^\u0000]*[^\u0000{WHITESPACE}][^\u0000]*$")})
}

/// A rule of one field: where (`*` for any item or value, `:variant` after a tagged object) and
/// the schema keywords that replace or join the structural ones there.
struct Rule {
    context: Context,
    path: &'static str,
    keywords: fn() -> Value,
}

const fn template(path: &'static str, keywords: fn() -> Value) -> Rule {
    Rule {
        context: Context::Template,
        path,
        keywords,
    }
}

const fn submission(path: &'static str, keywords: fn() -> Value) -> Rule {
    Rule {
        context: Context::Submission,
        path,
        keywords,
    }
}

/// Every rule of one field that a schema can state, each a necessary condition of the
/// validator (crates/template/src/validate.rs and the submission checks).
static RULES: &[Rule] = &[
    template(
        "/name",
        || json!({"pattern": "^[a-z0-9][a-z0-9._-]{0,63}$"}),
    ),
    template(
        "/description",
        || json!({"maxLength": MAX_DESCRIPTION_CHARS}),
    ),
    template("/agent/model", not_blank),
    template("/agent/system", || json!({"maxLength": MAX_SYSTEM_CHARS})),
    template("/agent/mcpServers", || json!({"maxItems": MAX_MCP_SERVERS})),
    template(
        "/agent/mcpServers/*/name",
        || json!({"pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"}),
    ),
    // The scheme, and a host that starts right after it, without spaces or control characters:
    // what every accepted URL has (the rest is in CROSS_FIELD_RULES).
    template("/agent/mcpServers/*/url", || {
        json!({"pattern": format!(
            "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@:{CONTROL}{WHITESPACE}][^{CONTROL}{WHITESPACE}]*$"
        )})
    }),
    template("/agent/tools", || json!({"maxItems": MAX_TOOLS})),
    template(
        "/agent/tools/*:agent_toolset_20260401/configs",
        || json!({"maxItems": MAX_TOOL_CONFIGS}),
    ),
    template(
        "/agent/tools/*:mcp_toolset/configs",
        || json!({"maxItems": MAX_TOOL_CONFIGS}),
    ),
    template("/agent/tools/*:mcp_toolset/configs/*/name", not_blank),
    template("/agent/skills", || json!({"maxItems": MAX_SKILLS})),
    template("/agent/skills/*/skillId", not_blank),
    template("/agent/skills/*/version", not_blank),
    template("/environment/packages/apt/*", not_blank),
    template("/environment/packages/cargo/*", not_blank),
    template("/environment/packages/gem/*", not_blank),
    template("/environment/packages/go/*", not_blank),
    template("/environment/packages/npm/*", not_blank),
    template("/environment/packages/pip/*", not_blank),
    template(
        "/environment/networking:limited/allowedHosts/*",
        || json!({"pattern": r"^[^/:@ ?#\u0000]+$"}),
    ),
    template(
        "/variables",
        || json!({"propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}}),
    ),
    template(
        "/variables/*:enum/values",
        || json!({"minItems": 1, "uniqueItems": true}),
    ),
    template("/prompt", || {
        let mut rule = not_blank();
        rule["maxLength"] = json!(MAX_PROMPT_CHARS);
        rule
    }),
    template("/labels", || {
        json!({"maxProperties": MAX_LABELS, "propertyNames": {
            "minLength": 1, "maxLength": MAX_LABEL_KEY_CHARS, "pattern": NO_NUL}})
    }),
    template("/labels/*", || json!({"maxLength": MAX_LABEL_VALUE_CHARS})),
    template("/limits/maxDurationSeconds", || json!({"minimum": 1})),
    template("/limits/maxSpendUsd", spend),
    submission("/limits/maxDurationSeconds", || json!({"minimum": 1})),
    submission("/limits/maxSpendUsd", spend),
    submission("/secrets/anthropic/apiKey", not_blank),
    submission("/secrets/mcpServers/*/bearerToken", not_blank),
    submission("/idempotencyKey", || {
        json!({"minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY_CHARS,
            "pattern": format!("^[^{CONTROL}]*$")})
    }),
];

fn spend() -> Value {
    json!({"minimum": MIN_SPEND_USD, "maximum": MAX_SPEND_USD})
}

/// The keywords of the rule at `path`, if there is one.
fn field_rule(path: &str, context: Context) -> Option<Value> {
    RULES
        .iter()
        .find(|rule| rule.context == context && rule.path == path)
        .map(|rule| (rule.keywords)())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_lands_on_a_field_of_the_schema() {
        let (_, visited) = write("#/");
        for rule in RULES {
            assert!(
                visited.contains(&(rule.context, rule.path.to_owned())),
                "the rule at {} ({:?}) lands on no field",
                rule.path,
                rule.context
            );
        }
    }

    #[test]
    fn strings_refuse_a_nul_and_objects_refuse_unknown_fields() {
        let schema = schemas("#/").remove(0).1;
        assert_eq!(schema["properties"]["agent"]["additionalProperties"], false);
        assert_eq!(
            schema["properties"]["agent"]["properties"]["system"]["pattern"],
            NO_NUL
        );
        assert_eq!(
            schema["properties"]["labels"]["propertyNames"]["pattern"],
            NO_NUL
        );
        let required = &schema["required"];
        assert_eq!(required, &json!(["name", "agent", "prompt"]));
    }
}
