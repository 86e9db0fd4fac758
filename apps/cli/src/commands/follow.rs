//! Following a run to its end, then reporting and downloading its outputs.
//!
//! Ctrl-C while following: with `--detach`, or when stdin/stderr is not a terminal, the CLI
//! detaches (the run keeps going) and prints how to resume; on a terminal it asks whether to
//! cancel the run; "yes" cancels and keeps following until the run stops, anything else
//! detaches. A second Ctrl-C always detaches.
//!
//! The run is followed through [`antpath_sdk::Client::follow`]: live over the server's run
//! stream (`GET /v1/runs/{id}/stream`) when it has one, by polling otherwise.
//!
//! Following ends when the run is finished: its outcome is known and cleanup is no longer
//! pending or running, or `--cleanup-wait` seconds after the outcome. The exit code follows
//! the outcome only; a cleanup that is `retrying`, `abandoned` or still going gets a one-line
//! warning on stderr ([`crate::display::cleanup_warning`]).
//!
//! The final `--json` object is an interface other tools rely on: `id`, `status`, `cleanup`
//! (as in `runs get`), `error_class`, `error_message`, `template_hash`, `output_dir`, `outputs`
//! (each `id`, `filename`, `display_name`, `size_bytes`, `sha256`, `content_type`, plus `path`
//! once downloaded) and `capture_failures`. Every output is downloaded to its own file, named
//! by [`antpath_sdk::local_file_names`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use antpath_sdk::{Client, Progress, Run, RunId, RunOutputs, WaitOptions, local_file_names};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::cli::FollowOpts;
use crate::display::{Display, cleanup_warning, human_size};
use crate::failure::{self, Failure};

/// How often the spinner is redrawn.
const SPINNER_INTERVAL: std::time::Duration = std::time::Duration::from_millis(100);

/// Follows `id` to its end; returns the exit code for its outcome.
pub async fn follow(
    client: &Client,
    id: RunId,
    opts: &FollowOpts,
    json: bool,
) -> Result<u8, Failure> {
    let mut display = Display::new(id, json);
    let Some(run) = watch(client, id, opts, &mut display).await? else {
        display.clear();
        eprintln!(
            "Detached; {id} keeps running. Resume with: antpath runs follow {id}\nor cancel it with: antpath runs cancel {id}"
        );
        return Ok(failure::DETACHED);
    };
    display.clear();
    let outputs = client.outputs(id).await?;
    let directory = opts
        .output_dir
        .clone()
        .unwrap_or_else(|| default_output_dir(id));
    let downloads = if opts.no_download || outputs.outputs.is_empty() {
        Vec::new()
    } else {
        download(client, id, &outputs, &directory).await
    };
    let download_failed = downloads.iter().any(|d| d.is_err());
    if json {
        println!("{}", final_json(&run, &outputs, &directory, &downloads));
    } else {
        print_summary(&run, &outputs, &directory, &downloads);
    }
    if let Some(warning) = cleanup_warning(&run) {
        eprintln!("{warning}");
    }
    if download_failed && run.status == antpath_sdk::RunStatus::Succeeded {
        return Ok(failure::DOWNLOAD);
    }
    Ok(failure::exit_code_for(run.status))
}

/// `./antpath-outputs/<run id>`.
pub fn default_output_dir(id: RunId) -> PathBuf {
    Path::new("antpath-outputs").join(id.to_string())
}

/// Shows progress until the run ends (`Some`) or the user detaches (`None`).
async fn watch(
    client: &Client,
    id: RunId,
    opts: &FollowOpts,
    display: &mut Display,
) -> Result<Option<Run>, Failure> {
    let mut interrupts = interrupts();
    let options = WaitOptions {
        cleanup_grace: std::time::Duration::from_secs(opts.cleanup_wait),
        ..WaitOptions::default()
    };
    let mut progress = client.follow(id, options);
    let mut spinner = tokio::time::interval(SPINNER_INTERVAL);
    let mut last = None;
    let mut cancel_sent = false;
    loop {
        tokio::select! {
            step = progress.next() => match step {
                Some(Ok(Progress::Status { run, .. })) => {
                    display.status(&run);
                    last = Some(*run);
                }
                Some(Ok(Progress::Cleanup { run, .. })) => {
                    display.cleanup(&run);
                    last = Some(*run);
                }
                Some(Ok(Progress::Event(event))) => display.event(&event),
                Some(Err(error)) => {
                    display.clear();
                    return Err(error.into());
                }
                None => return Ok(last),
            },
            _ = spinner.tick(), if display.animates() => display.tick(),
            Some(()) = interrupts.recv() => {
                if cancel_sent || opts.detach || !interactive() {
                    return Ok(None);
                }
                if !confirm_cancel(display, id).await {
                    return Ok(None);
                }
                client.cancel(id).await?;
                cancel_sent = true;
                display.note(&format!("Cancel requested; waiting for {id} to stop (Ctrl-C again to detach)."));
            }
        }
    }
}

/// Ctrl-C presses, from a listener installed once: a signal that arrives while the loop is busy
/// is queued rather than lost. Once following is over (the receiver is gone), Ctrl-C exits
/// as it normally would, since installing the listener replaced the default behaviour.
fn interrupts() -> tokio::sync::mpsc::UnboundedReceiver<()> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while tokio::signal::ctrl_c().await.is_ok() {
            if sender.send(()).is_err() {
                std::process::exit(i32::from(failure::DETACHED));
            }
        }
    });
    receiver
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks on the terminal; anything but yes keeps the run.
async fn confirm_cancel(display: &mut Display, id: RunId) -> bool {
    display.clear();
    eprint!("\nCancel run {id}? [y/N] ");
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).map(|_| line)
    })
    .await;
    matches!(answer, Ok(Ok(line)) if matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// One download's outcome: the local path, or why it failed.
type Downloaded = Result<PathBuf, String>;

/// Downloads every output to its own file, carrying on past failures so that one bad file
/// does not cost the others; returns one outcome per output, in order.
async fn download(
    client: &Client,
    id: RunId,
    outputs: &RunOutputs,
    directory: &Path,
) -> Vec<Downloaded> {
    let names = local_file_names(&outputs.outputs);
    let mut results = Vec::with_capacity(outputs.outputs.len());
    for (output, name) in outputs.outputs.iter().zip(names) {
        let result = client
            .download_to_file(id, output, &directory.join(name))
            .await
            .map(|file| file.path)
            .map_err(|e| e.to_string());
        results.push(result);
    }
    results
}

fn final_json(
    run: &Run,
    outputs: &RunOutputs,
    directory: &Path,
    downloads: &[Downloaded],
) -> Value {
    let files: Vec<Value> = outputs
        .outputs
        .iter()
        .enumerate()
        .map(|(i, output)| {
            let mut entry = json!({
                "id": output.id, "filename": output.filename,
                "display_name": output.display_name, "size_bytes": output.size_bytes,
                "sha256": output.sha256, "content_type": output.content_type,
            });
            match downloads.get(i) {
                Some(Ok(path)) => entry["path"] = json!(path),
                Some(Err(error)) => entry["download_error"] = json!(error),
                None => {}
            }
            entry
        })
        .collect();
    json!({
        "id": run.id, "status": run.status, "cleanup": run.cleanup,
        "error_class": run.error_class,
        "error_message": run.error_message, "template_hash": run.template_hash,
        "output_dir": (!downloads.is_empty()).then(|| directory.to_path_buf()),
        "outputs": files, "capture_failures": outputs.capture_failures,
    })
}

fn print_summary(run: &Run, outputs: &RunOutputs, directory: &Path, downloads: &[Downloaded]) {
    println!("{} {}", run.id, run.status);
    if let Some(message) = &run.error_message {
        let class = run.error_class.as_deref().unwrap_or("error");
        println!("  {class}: {message}");
    }
    if outputs.outputs.is_empty() {
        println!("no outputs");
    } else if downloads.is_empty() {
        println!("outputs ({}):", outputs.outputs.len());
    } else {
        println!(
            "outputs ({}) in {}:",
            outputs.outputs.len(),
            directory.display()
        );
    }
    for (i, output) in outputs.outputs.iter().enumerate() {
        let note = match downloads.get(i) {
            Some(Err(error)) => format!("  NOT DOWNLOADED: {error}"),
            Some(Ok(path)) => saved_as(path, &output.filename),
            None => String::new(),
        };
        println!(
            "  {}  {}{note}",
            output.filename,
            human_size(output.size_bytes)
        );
    }
    if !outputs.capture_failures.is_empty() {
        println!("not captured ({}):", outputs.capture_failures.len());
        for failure in &outputs.capture_failures {
            let size = failure.size_bytes.map(human_size).unwrap_or_default();
            let message = failure.message.as_deref().unwrap_or("");
            println!(
                "  {}  {size}  {}: {message}",
                failure.filename, failure.reason
            );
        }
    }
}

/// `  saved as report (2).md` when the local file name is not the output's own.
fn saved_as(path: &Path, filename: &str) -> String {
    match path.file_name().and_then(|name| name.to_str()) {
        Some(name) if name != filename => format!("  saved as {name}"),
        _ => String::new(),
    }
}
