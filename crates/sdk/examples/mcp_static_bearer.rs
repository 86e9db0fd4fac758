//! A run whose agent uses an MCP server that needs a static bearer token: the template of
//! `examples/mcp-static-bearer.json` built in code. The token travels only in the run's
//! secrets, never in the template.
//!
//! ```sh
//! ANTPATH_API_TOKEN=ant_… ANTHROPIC_API_KEY=sk-ant-… DOCS_MCP_TOKEN=… \
//!   cargo run -p antpath-sdk --example mcp_static_bearer -- "How do retries work?"
//! ```

use std::error::Error;

use antpath_sdk::{Client, PermissionPolicy, RunRequest, TemplateBuilder, Var};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let token = std::env::var("ANTPATH_API_TOKEN").map_err(|_| "set ANTPATH_API_TOKEN")?;
    let api_key = std::env::var("ANTHROPIC_API_KEY").map_err(|_| "set ANTHROPIC_API_KEY")?;
    let bearer = std::env::var("DOCS_MCP_TOKEN").map_err(|_| "set DOCS_MCP_TOKEN")?;
    let question = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "How do retries work?".to_owned());
    let mut builder = Client::builder(token);
    if let Ok(base_url) = std::env::var("ANTPATH_BASE_URL") {
        builder = builder.base_url(base_url);
    }
    let client = builder.build()?;

    let template = TemplateBuilder::new("mcp-static-bearer", "claude-sonnet-4-5")
        .mcp_server_static_bearer("docs", "https://mcp.example.com/mcp")
        .mcp_toolset("docs", Some(PermissionPolicy::AlwaysAllow))
        .variable("question", Var::string().description("What to look up.").max_length(500))
        .variable("depth", Var::number().integer().minimum(1.0).maximum(5.0).default(2.0))
        .variable("tone", Var::one_of(["plain", "formal"]).default("plain"))
        .variable("cite", Var::boolean().default(true))
        .prompt("Use the docs tools to answer: {{question}}. Consult {{depth}} sources, write in a {{tone}} tone (citations: {{cite}}), and save the answer as /mnt/session/outputs/answer.md.\n\nantpath-sim: scenario=happy files=1 size=1024")
        .max_duration_seconds(900)
        .build()?;

    // The idempotency key makes the submission safe to retry: a repeat returns the same run.
    let request = RunRequest::new(&template)
        .variable("question", question)
        .variable("depth", 3)
        .anthropic_api_key(api_key)
        .mcp_bearer("docs", bearer)
        .idempotency_key(format!("mcp-example-{}", template.hash()));
    // `{request:?}` is safe to print: the key and the bearer show as [redacted].
    println!("submitting {request:?}");
    let run = client.submit(&request).await?;
    let run = client.wait(run.id).await?;
    println!("run {} ended {}", run.id, run.status);
    for output in client.outputs(run.id).await?.outputs {
        println!("{} ({} bytes)", output.filename, output.size_bytes);
    }
    Ok(())
}
