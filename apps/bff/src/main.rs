//! The `antpath-bff` binary: telemetry → config → pool → state → serve, plus the `migrate` and
//! `admin` commands. `migrate` is the single place migrations run from.

use std::io::Read as _;
use std::process::ExitCode;

use antpath_bff::admin::{self, NewApiToken, NewUser};
use antpath_config::{ConfigError, Role as ServiceRole, Settings};
use antpath_db::PgPool;
use antpath_redact::Secret;
use antpath_types::{Role, UserId, WorkspaceId};
use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// mimalloc instead of glibc's malloc: under load, glibc's malloc and free took about a third
/// of the process's CPU (docs/benchmarks.md, "Submissions").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(name = "antpath-bff", about = "The antpath run API.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Bootstrap commands.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a workspace with the default plan caps; prints its id.
    CreateWorkspace {
        #[arg(long)]
        name: String,
    },
    /// Create a user, optionally adding it to a workspace; prints its id.
    CreateUser {
        #[arg(long)]
        email: String,
        /// A workspace to join (`ws_…`).
        #[arg(long)]
        workspace: Option<WorkspaceId>,
        /// The role in `--workspace`: owner, admin, member or viewer.
        #[arg(long, default_value = "owner")]
        role: Role,
        /// Read a password from standard input and store its argon2id hash.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Add an existing user to a workspace, or change their role there; prints the user's id.
    AddMember {
        #[arg(long)]
        workspace: WorkspaceId,
        #[arg(long)]
        email: String,
        /// owner, admin, member or viewer.
        #[arg(long)]
        role: Role,
    },
    /// Disable a user: their dashboard sessions end and their API tokens stop working.
    DisableUser {
        #[arg(long)]
        email: String,
    },
    /// Create an API token; prints it once.
    CreateToken {
        #[arg(long)]
        workspace: WorkspaceId,
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        name: String,
        /// Comma-separated: runs:read,runs:write[,tokens:manage].
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// Delete a workspace: refuse its submissions, cancel its runs, and let the sweeper purge
    /// it. Prints the workspace with its deletion's progress (run it again to follow it).
    DeleteWorkspace {
        /// The workspace (`ws_…`).
        workspace: WorkspaceId,
    },
    /// Say how many live tokens and sessions each old token pepper still hashes, and which old
    /// peppers can be removed. Tokens move to the active pepper when they are next used;
    /// sessions end at their absolute expiry.
    RotatePepper,
    /// Re-seal every live run's secrets bundle under the active encryption key, in batches,
    /// and say which old key ids are still referenced and which can be removed.
    RotateVaultKey {
        /// Bundles re-sealed per transaction.
        #[arg(long, default_value_t = 100)]
        batch: i64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let telemetry = match antpath_telemetry::init(&antpath_telemetry::TelemetrySettings::from_env(
        "antpath-bff",
    )) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("antpath-bff: {err}");
            return ExitCode::FAILURE;
        }
    };
    let code = match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(config) = err.downcast_ref::<ConfigError>() {
                eprintln!("antpath-bff: {config}");
            } else {
                tracing::error!(error.message = %err, error.chain = ?err.chain().skip(1).map(ToString::to_string).collect::<Vec<_>>(), "antpath-bff failed");
                eprintln!("antpath-bff: {err:#}");
            }
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let command = cli.command.unwrap_or(Command::Serve);
    let role = match command {
        Command::Serve => ServiceRole::Bff,
        Command::Migrate | Command::Admin(_) => ServiceRole::Admin,
    };
    let mut problems = settings
        .validate(role)
        .err()
        .map(|e| e.problems)
        .unwrap_or_default();
    let pepper = match &command {
        Command::Admin(AdminCommand::CreateToken { .. } | AdminCommand::RotatePepper) => {
            match admin::require_peppers(&settings) {
                Ok(pepper) => Some(pepper),
                Err(err) => {
                    problems.extend(err.problems);
                    None
                }
            }
        }
        Command::Admin(AdminCommand::RotateVaultKey { .. }) => {
            problems.extend(settings.encryption_problems());
            None
        }
        _ => None,
    };
    if !problems.is_empty() {
        return Err(ConfigError { problems }.into());
    }
    let pool = connect(&settings)?;
    match command {
        Command::Serve => serve(&settings, pool).await,
        Command::Migrate => {
            antpath_db::migrate(&pool)
                .await
                .context("while migrating")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Admin(command) => run_admin(&settings, &pool, command, pepper).await,
    }
}

/// The vault key ring of the settings, for `rotate-vault-key`.
fn keyring(settings: &Settings) -> anyhow::Result<antpath_vault::KeyRing> {
    let active = settings
        .encryption
        .active_key_id
        .as_deref()
        .context("ANTPATH_ENCRYPTION__ACTIVE_KEY_ID is required to rotate the vault key")?;
    antpath_vault::KeyRing::new(active, &settings.encryption.keys)
        .context("while loading the encryption keys")
}

fn connect(settings: &Settings) -> anyhow::Result<PgPool> {
    antpath_runtime::connect_pool(settings, None).context("while configuring the database pool")
}

async fn serve(settings: &Settings, pool: PgPool) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&settings.bff.listen)
        .await
        .with_context(|| format!("while binding {}", settings.bff.listen))?;
    let server = antpath_bff::start(settings, pool, listener).await?;
    antpath_runtime::shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await
}

async fn run_admin(
    settings: &Settings,
    pool: &PgPool,
    command: AdminCommand,
    pepper: Option<antpath_bff::pepper::Peppers>,
) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateWorkspace { name } => {
            let id = admin::create_workspace(pool, &settings.limits, &name).await?;
            println!("{id}");
        }
        AdminCommand::CreateUser {
            email,
            workspace,
            role,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("while reading the password from stdin")?;
                Some(Secret::new(text.trim_end_matches(['\r', '\n']).to_owned()))
            } else {
                None
            };
            let user = NewUser {
                email: &email,
                membership: workspace.map(|workspace| (workspace, role)),
                password,
            };
            println!("{}", admin::create_user(pool, user).await?);
        }
        AdminCommand::AddMember {
            workspace,
            email,
            role,
        } => println!(
            "{}",
            admin::add_member(pool, workspace, &email, role).await?
        ),
        AdminCommand::DisableUser { email } => {
            println!("{}", admin::disable_user(pool, &email).await?);
        }
        AdminCommand::CreateToken {
            workspace,
            user,
            name,
            scopes,
        } => {
            let pepper = pepper.context("the token pepper is required")?;
            let token = NewApiToken {
                workspace,
                user,
                name: &name,
                scopes,
            };
            let (id, value) = admin::create_token(pool, &pepper, token).await?;
            eprintln!("created {id}; the token below is shown only once");
            println!("{}", value.expose_secret());
        }
        AdminCommand::DeleteWorkspace { workspace } => {
            let view = admin::delete_workspace(pool, workspace).await?;
            println!("{}", serde_json::to_string_pretty(&view)?);
        }
        AdminCommand::RotatePepper => {
            let peppers = pepper.context("the token peppers are required")?;
            let report = antpath_bff::rotation::pepper_report(pool, &peppers).await?;
            println!("{}", report.report());
        }
        AdminCommand::RotateVaultKey { batch } => {
            let ring = keyring(settings)?;
            let rotation = antpath_bff::rotation::rotate_vault_key(pool, &ring, batch).await?;
            println!("{}", rotation.report());
        }
    }
    Ok(())
}
