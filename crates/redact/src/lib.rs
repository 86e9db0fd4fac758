//! Keeping secrets out of everything antpath prints, stores or returns.
//!
//! Two tools live here:
//! - [`Secret`], a wrapper whose `Debug`, `Display` and `Serialize` all print [`REDACTED`]; the
//!   value is reached only through [`Secret::expose_secret`], a call that is easy to grep for.
//! - [`scrub`], which removes credential-shaped substrings (Anthropic keys, `ant_` tokens,
//!   bearer headers, `x-api-key` values) from free text such as provider error messages before
//!   that text is logged or stored.

mod scrub;
mod secret;

pub use scrub::scrub;
pub use secret::{REDACTED, Secret};
