//! The run template of antpath: the secret-free description of a run, and the run-submission
//! contract that pairs a template with variable values and credentials.
//!
//! - [`model`]: the template types; [`parse`] reads them from JSON, YAML or TOML and
//!   validates them, listing every problem with a JSON pointer.
//! - [`variables`]: typed variables and the checking of a submission's values.
//! - [`render`]: filling the prompt's `{{name}}` placeholders (escape rule documented there).
//! - [`canonical`] and [`hash`]: canonical JSON and stable `sha256:` hashes.
//! - [`submission`]: the `POST /v1/runs` body, where `secrets` is the only place a credential
//!   may be.
//! - [`json_schema`]: the JSON Schema of a template and of a submission, for API documents.

pub mod canonical;
mod error;
pub mod hash;
pub mod json_schema;
pub mod model;
pub mod parse;
pub mod render;
mod schema;
mod shape;
pub mod submission;
mod url_check;
mod validate;
pub mod variables;

pub use canonical::canonical_json;
pub use error::{TemplateError, ValidationErrors};
pub use hash::ContentHash;
pub use model::Template;
pub use parse::{Format, load_template, parse_template, parse_value};
pub use render::{Prompt, PromptError, render_prompt};
pub use submission::{RunInputs, SecretBundle, ValidatedSubmission, validate_submission};
pub use validate::{
    MAX_SPEND_USD, MIN_SPEND_USD, is_valid_mcp_server_name, is_valid_template_name,
};
pub use variables::{ResolvedVariables, resolve_variables};
