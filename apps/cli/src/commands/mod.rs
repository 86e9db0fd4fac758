//! One module per command group; each returns the exit code or a [`crate::failure::Failure`].

pub mod account;
pub mod dev;
pub mod follow;
pub mod run;
pub mod runs;
pub mod template;

use antpath_sdk::Client;
use serde::Serialize;

use crate::cli::Global;
use crate::failure::Failure;

/// The API client from the global options; the token is required. All the command's requests
/// carry one `traceparent`: the caller's, or one rooted for this command.
pub fn client(global: &Global) -> Result<Client, Failure> {
    let token = global
        .api_token
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| Failure::usage("no API token: set ANTPATH_API_TOKEN or pass --api-token"))?;
    Client::builder(token)
        .base_url(&global.base_url)
        .user_agent_suffix(concat!("antpath-cli/", env!("CARGO_PKG_VERSION")))
        .traceparent(
            global
                .traceparent
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(antpath_sdk::new_traceparent),
        )
        .build()
        .map_err(|e| match e {
            antpath_sdk::Error::Config(message) => Failure::usage(format!(
                "{message}; check ANTPATH_BASE_URL or --base-url, and TRACEPARENT"
            )),
            other => Failure::Sdk(other),
        })
}

/// Prints `value` as one line of JSON on stdout.
pub fn print_json(value: &impl Serialize) {
    match serde_json::to_string(value) {
        Ok(text) => println!("{text}"),
        Err(error) => eprintln!("error: could not write JSON: {error}"),
    }
}
