//! `antpath run`: check everything locally, submit, and optionally follow.
//!
//! Nothing is sent until the template, the variables and the secrets pass the same checks the
//! API applies; every problem is reported at once with its location.

use antpath_sdk::{RunRequest, Template};
use antpath_template::model::McpAuth;

use crate::cli::{Global, RunArgs};
use crate::commands::{client, follow, print_json};
use crate::failure::{self, Failure};
use crate::vars;

/// Runs `antpath run`.
pub async fn execute(global: &Global, args: &RunArgs) -> Result<u8, Failure> {
    let client = client(global)?;
    let template = vars::load(&args.template)?;
    let values = vars::collect(&template, &args.vars)?;
    let request = build_request(&template, values, args)?;
    let run = client.submit(&request).await?;
    if args.follow {
        if !global.json {
            eprintln!("Submitted {} ({}).", run.id, run.template_name);
        }
        return follow::follow(&client, run.id, &args.follow_opts, global.json).await;
    }
    if global.json {
        print_json(&run);
    } else {
        println!("{}", run.id);
        eprintln!(
            "Submitted {} ({}). Follow it with: antpath runs follow {}",
            run.id, run.status, run.id
        );
    }
    Ok(failure::OK)
}

/// The submission, checked locally with the API's own rules.
fn build_request(
    template: &Template,
    values: serde_json::Map<String, serde_json::Value>,
    args: &RunArgs,
) -> Result<RunRequest, Failure> {
    let key = args
        .anthropic_api_key
        .as_deref()
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| {
            Failure::usage(
                "no Anthropic API key: set ANTHROPIC_API_KEY or pass --anthropic-api-key",
            )
        })?;
    let mut request = RunRequest::new(template)
        .variables(values)
        .anthropic_api_key(key);
    for pair in &args.mcp_bearers {
        let Some((name, token)) = pair.split_once('=') else {
            return Err(Failure::usage(
                "`--mcp-bearer` needs the form NAME=TOKEN (NAME is an MCP server of the template)",
            ));
        };
        request = request.mcp_bearer(name, token);
    }
    for server in &template.agent.mcp_servers {
        let given = args
            .mcp_bearers
            .iter()
            .any(|p| p.split_once('=').is_some_and(|(n, _)| n == server.name));
        if server.auth == McpAuth::StaticBearer && !given {
            return Err(Failure::usage(format!(
                "the MCP server `{0}` needs a bearer token: pass --mcp-bearer {0}=TOKEN",
                server.name
            )));
        }
    }
    if args.retain {
        request = request.retain();
    }
    if let Some(seconds) = args.max_duration {
        request = request.max_duration(std::time::Duration::from_secs(seconds));
    }
    if let Some(key) = &args.idempotency_key {
        request = request.idempotency_key(key);
    }
    request.validate().map_err(|errors| Failure::Usage {
        message: "the run request is invalid; nothing was sent:".into(),
        details: errors.into_details(),
    })?;
    Ok(request)
}
