//! The command line grammar (clap derive). Behaviour lives in [`crate::commands`].

use std::path::PathBuf;

use antpath_sdk::{RunId, RunStatus, TokenId};
use clap::{Args, Parser, Subcommand};

/// Run Claude Managed Agents sessions through antpath.
#[derive(Debug, Parser)]
#[command(name = "antpath", version, about, long_about = None)]
#[command(after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Options every command shares.
    #[command(flatten)]
    pub global: Global,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The exit codes, shown under `--help` (see [`crate::failure`]).
const EXIT_CODES_HELP: &str = "Exit codes: 0 success (run succeeded), 1 internal error, 2 usage \
error or invalid template/variables (nothing was sent), 3 run failed, 4 run timed out, 5 run \
cancelled, 6 API, authentication or connection error, 7 run ended in pending_delete or \
deleted, 8 an output could not be downloaded or verified, 130 interrupted: detached from a run \
that keeps running. The code follows the run's outcome only: a cleanup that is retrying, \
abandoned or still running is a warning on stderr.";

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct Global {
    /// The API token (`ant_…`); the workspace is the token's.
    #[arg(long, global = true, env = "ANTPATH_API_TOKEN", hide_env_values = true)]
    pub api_token: Option<String>,
    /// The antpath API's base URL.
    #[arg(
        long,
        global = true,
        env = "ANTPATH_BASE_URL",
        default_value = antpath_sdk::DEFAULT_BASE_URL
    )]
    pub base_url: String,
    /// Print one JSON document on stdout instead of text, for scripts.
    #[arg(long, global = true)]
    pub json: bool,
    /// The W3C trace context this command's requests join (`TRACEPARENT`, the environment
    /// carrier OpenTelemetry tools use). Without it each command roots a trace of its own.
    #[arg(long, global = true, env = "TRACEPARENT")]
    pub traceparent: Option<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Submit a run of a template file, optionally following it to its end.
    Run(RunArgs),
    /// Inspect and manage runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Show the workspace and token in use.
    Whoami,
    /// Manage API tokens (needs the tokens:manage scope).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Work with template files, offline.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Run the whole stack locally (simulator, bff, worker, sweeper).
    #[command(subcommand)]
    Dev(DevCommand),
}

/// `antpath dev`.
#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Start the local stack (or find it running) and print `export` lines for a shell.
    Up,
    /// Stop the local stack.
    Down,
    /// Say which services of the local stack are running.
    Status,
}

/// Variable values for a template.
#[derive(Debug, Args, Clone, Default)]
pub struct VarArgs {
    /// A variable value, typed by the template (`--var n=3` is a number for a number variable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// A JSON, YAML or TOML file of variable values; `--var` wins over it.
    #[arg(long, value_name = "FILE")]
    pub vars_file: Option<PathBuf>,
}

/// `antpath run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The template file (.json, .yaml, .yml or .toml).
    pub template: PathBuf,
    /// Variable values.
    #[command(flatten)]
    pub vars: VarArgs,
    /// The Anthropic API key the run uses.
    #[arg(long, env = "ANTHROPIC_API_KEY", hide_env_values = true)]
    pub anthropic_api_key: Option<String>,
    /// The bearer token of a `static_bearer` MCP server of the template.
    #[arg(long = "mcp-bearer", value_name = "NAME=TOKEN")]
    pub mcp_bearers: Vec<String>,
    /// Keep the provider session after the run, for inspection.
    #[arg(long)]
    pub retain: bool,
    /// Makes the submission safe to repeat: the same key and request return the same run.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Overrides the template's time limit, in seconds.
    #[arg(long, value_name = "SECONDS")]
    pub max_duration: Option<u64>,
    /// Follow the run to its end, then download its outputs.
    #[arg(long)]
    pub follow: bool,
    /// How following behaves.
    #[command(flatten)]
    pub follow_opts: FollowOpts,
}

/// Options of following a run.
#[derive(Debug, Args, Clone)]
pub struct FollowOpts {
    /// Where outputs are downloaded (default `./antpath-outputs/<run id>`).
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Do not download the outputs, only list them.
    #[arg(long)]
    pub no_download: bool,
    /// On Ctrl-C, leave the run running without asking whether to cancel it.
    #[arg(long)]
    pub detach: bool,
    /// After the run ended, how long to wait for its cleanup to settle.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub cleanup_wait: u64,
}

/// `antpath runs …`.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first.
    List {
        /// Only runs in this status (such as `queued`, `succeeded`).
        #[arg(long, value_parser = parse_status)]
        status: Option<RunStatus>,
        /// Page size, 1–100.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Continue from a previous page's `next_cursor`.
        #[arg(long)]
        cursor: Option<String>,
        /// Read every page.
        #[arg(long)]
        all: bool,
    },
    /// Show one run.
    Get {
        /// The run id (`run_…`).
        id: RunId,
    },
    /// Show a run's events (metadata only), oldest first.
    Events {
        /// The run id.
        id: RunId,
    },
    /// List a run's outputs and capture failures.
    Outputs {
        /// The run id.
        id: RunId,
    },
    /// Download a run's outputs, verified against their SHA-256.
    Download {
        /// The run id.
        id: RunId,
        /// The folder to write into (default `./antpath-outputs/<run id>`).
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
        /// Only this output file name (repeatable).
        #[arg(long = "file", value_name = "NAME")]
        files: Vec<String>,
    },
    /// Follow a run to its end, then download its outputs.
    Follow {
        /// The run id.
        id: RunId,
        /// How following behaves.
        #[command(flatten)]
        opts: FollowOpts,
    },
    /// Ask for a run to be cancelled.
    Cancel {
        /// The run id.
        id: RunId,
    },
    /// Delete a run and, after cleanup, its outputs.
    Delete {
        /// The run id.
        id: RunId,
    },
}

/// `antpath tokens …`.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List the workspace's tokens.
    List,
    /// Create a token; its value is printed once.
    Create {
        /// A name to recognise it by.
        #[arg(long)]
        name: String,
        /// A scope (`runs:read`, `runs:write`, `tokens:manage`); repeatable.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Revoke a token.
    Revoke {
        /// The token id (`tok_…`).
        id: TokenId,
    },
}

/// `antpath template …`.
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// Check a template file and list every problem with its location.
    Validate {
        /// The template file.
        file: PathBuf,
    },
    /// Print the template's stable hash (`sha256:…`), as runs record it.
    Hash {
        /// The template file.
        file: PathBuf,
    },
    /// Print the prompt with the variables filled in.
    Render {
        /// The template file.
        file: PathBuf,
        /// Variable values.
        #[command(flatten)]
        vars: VarArgs,
    },
}

fn parse_status(text: &str) -> Result<RunStatus, String> {
    text.parse().map_err(|_| {
        let all: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown status; expected one of: {}", all.join(", "))
    })
}
