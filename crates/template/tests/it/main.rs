//! Integration tests of antpath-template, one binary with a module per area.

mod bounds;
mod rendering;
mod secret_keys;
mod submission;
mod support;
mod template_errors;
mod variables;
mod vectors;
