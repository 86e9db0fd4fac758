//! The quickstart in Rust: the template of `examples/quickstart.json`, built in code,
//! submitted, followed to its end, and its outputs downloaded.
//!
//! ```sh
//! ANTPATH_API_TOKEN=ant_… ANTHROPIC_API_KEY=sk-ant-… \
//!   cargo run -p antpath-sdk --example quickstart -- "tide pools"
//! ```
//! `ANTPATH_BASE_URL` points it at a self-hosted or local stack.

use std::error::Error;

use antpath_sdk::{
    Client, PermissionPolicy, Progress, RunRequest, TemplateBuilder, Var, WaitOptions,
};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let token = std::env::var("ANTPATH_API_TOKEN").map_err(|_| "set ANTPATH_API_TOKEN")?;
    let api_key = std::env::var("ANTHROPIC_API_KEY").map_err(|_| "set ANTHROPIC_API_KEY")?;
    let topic = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tide pools".to_owned());
    let mut builder = Client::builder(token);
    if let Ok(base_url) = std::env::var("ANTPATH_BASE_URL") {
        builder = builder.base_url(base_url);
    }
    let client = builder.build()?;

    let template = TemplateBuilder::new("quickstart", "claude-sonnet-4-5")
        .system("You are a careful technical writer.")
        .agent_toolset(Some(PermissionPolicy::AlwaysAllow))
        .variable("topic", Var::string().description("What the files are about.").min_length(1).max_length(200))
        // The `antpath-sim:` line only steers the local simulator; the real provider ignores it.
        .prompt("Write two short Markdown files about {{topic}} into /mnt/session/outputs/: overview.md (what it is, in five sentences) and questions.md (five open questions about it).\n\nantpath-sim: scenario=happy files=2 size=2048")
        .max_duration_seconds(600)
        .build()?;
    println!("template hash {}", template.hash());

    let request = RunRequest::new(&template)
        .variable("topic", topic)
        .anthropic_api_key(api_key);
    let run = client.submit(&request).await?;
    println!("submitted {}", run.id);

    let mut progress = client.follow(run.id, WaitOptions::default());
    let mut last = run;
    while let Some(step) = progress.next().await {
        match step? {
            Progress::Status { run, .. } => {
                println!("status {}", run.status);
                last = *run;
            }
            Progress::Cleanup { run, .. } => {
                println!("cleanup {}", run.cleanup.state);
                last = *run;
            }
            Progress::Event(event) => println!("event #{} {}", event.seq, event.event_type),
        }
    }
    let directory = std::path::Path::new("antpath-outputs").join(last.id.to_string());
    for file in client.download_all(last.id, &directory).await? {
        println!(
            "{} ({} bytes, sha256 {})",
            file.path.display(),
            file.size_bytes,
            file.sha256
        );
    }
    println!(
        "run {} ended {} (cleanup {})",
        last.id, last.status, last.cleanup.state
    );
    Ok(())
}
