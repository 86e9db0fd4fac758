//! The shapes of the template and of the run submission, mirroring the serde model in
//! [`crate::model`], [`crate::variables::spec`] and [`crate::submission`].
//!
//! Keep these in step with the model: a field added there must be added here, or the walker
//! reports it as unknown before serde ever sees it (the round-trip tests catch that).

use crate::shape::{Field, Shape, Variant, opt, req};

static STRING: Shape = Shape::String;
static BOOL: Shape = Shape::Bool;
static NUMBER: Shape = Shape::Number;
static UNSIGNED: Shape = Shape::Unsigned;
static ANY: Shape = Shape::Any;
static ANY_OBJECT: Shape = Shape::AnyObject;
static STRINGS: Shape = Shape::Array(&STRING);
static STRING_MAP: Shape = Shape::Map(&STRING);

static PERMISSION_POLICY: Shape = Shape::OneOf(&["always_allow", "always_ask", "auto"]);
static AGENT_TOOL_NAME: Shape = Shape::OneOf(&[
    "bash",
    "edit",
    "read",
    "write",
    "glob",
    "grep",
    "web_fetch",
    "web_search",
]);

static TOOL_DEFAULTS: Shape = Shape::Object(&[
    opt("enabled", &BOOL),
    opt("permissionPolicy", &PERMISSION_POLICY),
]);

static AGENT_TOOL_CONFIG: Shape = Shape::Object(&[
    req("name", &AGENT_TOOL_NAME),
    opt("enabled", &BOOL),
    opt("permissionPolicy", &PERMISSION_POLICY),
]);
static AGENT_TOOL_CONFIGS: Shape = Shape::Array(&AGENT_TOOL_CONFIG);

static MCP_TOOL_CONFIG: Shape = Shape::Object(&[
    req("name", &STRING),
    opt("enabled", &BOOL),
    opt("permissionPolicy", &PERMISSION_POLICY),
]);
static MCP_TOOL_CONFIGS: Shape = Shape::Array(&MCP_TOOL_CONFIG);

static TOOL: Shape = Shape::Tagged {
    tag: "type",
    variants: &[
        Variant {
            name: "agent_toolset_20260401",
            fields: &[
                opt("defaultConfig", &TOOL_DEFAULTS),
                opt("configs", &AGENT_TOOL_CONFIGS),
            ],
        },
        Variant {
            name: "mcp_toolset",
            fields: &[
                req("mcpServerName", &STRING),
                opt("defaultConfig", &TOOL_DEFAULTS),
                opt("configs", &MCP_TOOL_CONFIGS),
            ],
        },
        Variant {
            name: "custom",
            fields: &[
                req("name", &STRING),
                req("description", &STRING),
                req("inputSchema", &ANY_OBJECT),
            ],
        },
    ],
};
static TOOLS: Shape = Shape::Array(&TOOL);

static MCP_SERVER: Shape = Shape::Object(&[
    req("name", &STRING),
    req("url", &STRING),
    opt("auth", &Shape::OneOf(&["none", "static_bearer"])),
]);
static MCP_SERVERS: Shape = Shape::Array(&MCP_SERVER);

static SKILL: Shape = Shape::Object(&[
    req("type", &Shape::OneOf(&["anthropic", "custom"])),
    req("skillId", &STRING),
    opt("version", &STRING),
]);
static SKILLS: Shape = Shape::Array(&SKILL);

static AGENT: Shape = Shape::Object(&[
    req("model", &STRING),
    opt("system", &STRING),
    opt("tools", &TOOLS),
    opt("mcpServers", &MCP_SERVERS),
    opt("skills", &SKILLS),
]);

static PACKAGES: Shape = Shape::Object(&[
    opt("apt", &STRINGS),
    opt("cargo", &STRINGS),
    opt("gem", &STRINGS),
    opt("go", &STRINGS),
    opt("npm", &STRINGS),
    opt("pip", &STRINGS),
]);

static NETWORKING: Shape = Shape::Tagged {
    tag: "type",
    variants: &[
        Variant {
            name: "unrestricted",
            fields: &[],
        },
        Variant {
            name: "limited",
            fields: &[
                opt("allowedHosts", &STRINGS),
                opt("allowMcpServers", &BOOL),
                opt("allowPackageManagers", &BOOL),
            ],
        },
    ],
};

static ENVIRONMENT: Shape =
    Shape::Object(&[opt("packages", &PACKAGES), opt("networking", &NETWORKING)]);

/// Fields every variable type has.
macro_rules! variable_fields {
    ($default:expr $(, $extra:expr)* $(,)?) => {
        &[opt("description", &STRING), opt("required", &BOOL), opt("default", $default) $(, $extra)*]
    };
}

static VARIABLE: Shape = Shape::Tagged {
    tag: "type",
    variants: &[
        Variant {
            name: "string",
            fields: variable_fields!(
                &STRING,
                opt("minLength", &UNSIGNED),
                opt("maxLength", &UNSIGNED)
            ),
        },
        Variant {
            name: "number",
            fields: variable_fields!(
                &NUMBER,
                opt("minimum", &NUMBER),
                opt("maximum", &NUMBER),
                opt("integer", &BOOL),
            ),
        },
        Variant {
            name: "boolean",
            fields: variable_fields!(&BOOL),
        },
        Variant {
            name: "enum",
            fields: variable_fields!(&STRING, req("values", &STRINGS)),
        },
    ],
};
static VARIABLES: Shape = Shape::Map(&VARIABLE);

/// `limits`, shared by the template and the submission.
pub(crate) static LIMITS: Shape = Shape::Object(&[
    opt("maxDurationSeconds", &UNSIGNED),
    opt("maxSpendUsd", &NUMBER),
]);

/// `cleanup`, shared by the template and the submission.
pub(crate) static CLEANUP: Shape =
    Shape::Object(&[req("claudeSession", &Shape::OneOf(&["delete", "retain"]))]);

/// A whole template.
pub(crate) static TEMPLATE: Shape = Shape::Object(&[
    req("name", &STRING),
    opt("description", &STRING),
    req("agent", &AGENT),
    opt("environment", &ENVIRONMENT),
    opt("variables", &VARIABLES),
    req("prompt", &STRING),
    opt("limits", &LIMITS),
    opt("cleanup", &CLEANUP),
    opt("retryAfterToolUse", &BOOL),
    opt("labels", &STRING_MAP),
]);

/// The variable values of a submission; their types are checked against the template.
pub(crate) static VARIABLE_VALUES: Shape = Shape::Map(&ANY);

static MCP_SERVER_SECRET: Shape = Shape::Object(&[req("bearerToken", &STRING)]);

/// The `secrets` of a submission. Messages about it never include values.
pub(crate) static SECRETS: Shape = Shape::Object(&[
    req("anthropic", &Shape::Object(&[req("apiKey", &STRING)])),
    opt("mcpServers", &Shape::Map(&MCP_SERVER_SECRET)),
]);

/// The top-level parts of a submission. `submission::validate_submission` reads each one on
/// its own (so that every problem is reported); this list is its unknown-field check and the
/// outline of the published JSON Schema.
pub(crate) static SUBMISSION_PARTS: &[Field] = &[
    req("template", &TEMPLATE),
    opt("variables", &VARIABLE_VALUES),
    req("secrets", &SECRETS),
    opt("cleanup", &CLEANUP),
    opt("limits", &LIMITS),
    opt("idempotencyKey", &STRING),
];
