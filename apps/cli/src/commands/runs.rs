//! `antpath runs list|get|events|outputs|download|follow|cancel|delete`.

use antpath_sdk::{Client, ListRuns, Run, RunId, local_file_names};
use futures_util::TryStreamExt;
use serde_json::json;

use crate::cli::{Global, RunsCommand};
use crate::commands::{client, follow, print_json};
use crate::display::human_size;
use crate::failure::{self, Failure};

/// Runs one `runs` command.
pub async fn execute(global: &Global, command: &RunsCommand) -> Result<u8, Failure> {
    let client = client(global)?;
    let json = global.json;
    match command {
        RunsCommand::List {
            status,
            limit,
            cursor,
            all,
        } => {
            let params = ListRuns {
                status: *status,
                limit: Some(*limit),
                cursor: cursor.clone(),
            };
            let (runs, next) = if *all {
                (client.runs(params).try_collect().await?, None)
            } else {
                let page = client.list_runs(&params).await?;
                (page.data, page.next_cursor)
            };
            if json {
                print_json(&json!({"data": runs, "next_cursor": next}));
            } else {
                for run in &runs {
                    println!(
                        "{}  {:<20} {:<24} {}",
                        run.id,
                        run.status,
                        run.template_name,
                        run.created_at.format("%Y-%m-%d %H:%M:%S")
                    );
                }
                if let Some(next) = next {
                    eprintln!("more: antpath runs list --cursor {next}");
                }
            }
        }
        RunsCommand::Get { id } => show_run(&client.get_run(*id).await?, json),
        RunsCommand::Events { id } => {
            let events: Vec<_> = client.events(*id).try_collect().await?;
            if json {
                print_json(&json!({"data": events}));
            } else {
                for event in &events {
                    let at = event
                        .received_at
                        .map(|t| t.format("%H:%M:%S").to_string())
                        .unwrap_or_default();
                    println!(
                        "#{:<4} {at}  {}  {}",
                        event.seq, event.event_type, event.summary
                    );
                }
            }
        }
        RunsCommand::Outputs { id } => {
            let outputs = client.outputs(*id).await?;
            if json {
                print_json(&outputs);
            } else {
                for output in &outputs.outputs {
                    let named = if output.display_name.is_empty()
                        || output.display_name == output.filename
                    {
                        String::new()
                    } else {
                        format!("  (named {})", output.display_name)
                    };
                    println!(
                        "{}  {}  {}  sha256:{}{named}",
                        output.id,
                        output.filename,
                        human_size(output.size_bytes),
                        output.sha256
                    );
                }
                for failure in &outputs.capture_failures {
                    println!("not captured: {}  {}", failure.filename, failure.reason);
                }
            }
        }
        RunsCommand::Download {
            id,
            output_dir,
            files,
        } => {
            let directory = output_dir
                .clone()
                .unwrap_or_else(|| follow::default_output_dir(*id));
            return download(&client, *id, &directory, files, json).await;
        }
        RunsCommand::Follow { id, opts } => return follow::follow(&client, *id, opts, json).await,
        RunsCommand::Cancel { id } => show_run(&client.cancel(*id).await?, json),
        RunsCommand::Delete { id } => show_run(&client.delete(*id).await?, json),
    }
    Ok(failure::OK)
}

fn show_run(run: &Run, json: bool) {
    if json {
        print_json(run);
        return;
    }
    println!("id              {}", run.id);
    println!("status          {}", run.status);
    println!(
        "template        {} ({})",
        run.template_name, run.template_hash
    );
    let cleanup = &run.cleanup;
    println!(
        "cleanup         {} (policy {}, {} rounds)",
        cleanup.state, run.cleanup_policy, cleanup.attempts
    );
    if let Some(error) = &cleanup.last_error {
        println!("cleanup error   {}: {}", error.class, error.message);
    }
    for resource in &cleanup.abandoned_resources {
        println!("abandoned       {} {}", resource.kind, resource.id);
    }
    println!("attempt         {} of {}", run.attempt, run.max_attempts);
    println!("created         {}", run.created_at);
    if let Some(ended) = run.ended_at {
        println!("ended           {ended}");
    }
    if let Some(at) = run.cancel_requested_at {
        println!("cancel asked    {at}");
    }
    if let Some(at) = run.pending_delete_at {
        println!("deleted         {at}");
    }
    if let Some(message) = &run.error_message {
        println!(
            "error           {}: {message}",
            run.error_class.as_deref().unwrap_or("error")
        );
    }
    let usage = run.usage;
    println!(
        "tokens          {} in, {} out",
        usage.input_tokens, usage.output_tokens
    );
    if let Some(cost) = usage.cost_usd {
        println!("cost            ${cost:.2} (list price)");
    }
    if let Some(active) = usage.active_seconds {
        println!("active          {active:.1} s");
    }
}

async fn download(
    client: &Client,
    id: RunId,
    directory: &std::path::Path,
    only: &[String],
    json: bool,
) -> Result<u8, Failure> {
    let outputs = client.outputs(id).await?;
    // Named over every output, so a file's local name does not depend on `--file`.
    let names = local_file_names(&outputs.outputs);
    let chosen: Vec<_> = outputs
        .outputs
        .iter()
        .zip(names)
        .filter(|(o, _)| only.is_empty() || only.contains(&o.filename))
        .collect();
    if let Some(missing) = only
        .iter()
        .find(|name| !chosen.iter().any(|(o, _)| &&o.filename == name))
    {
        return Err(Failure::usage(format!(
            "run {id} has no output named `{missing}`; see antpath runs outputs {id}"
        )));
    }
    let mut files = Vec::new();
    for (output, name) in chosen {
        let destination = directory.join(name);
        let file = client.download_to_file(id, output, &destination).await?;
        if !json {
            println!("{}  {}", file.path.display(), human_size(file.size_bytes));
        }
        files.push(json!({
            "filename": output.filename, "display_name": output.display_name, "path": file.path,
            "size_bytes": file.size_bytes, "sha256": file.sha256,
        }));
    }
    if json {
        print_json(&json!({"files": files}));
    }
    Ok(failure::OK)
}
