//! The `antpath` command line: parse → run the command → report → exit with a documented code
//! (see [`failure`]). The API's base URL and token come from flags or the environment only.

mod cli;
mod commands;
mod display;
mod failure;
mod vars;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.global.json;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            let problem =
                failure::Failure::Internal(format!("could not start the async runtime: {error}"));
            problem.report(json);
            return ExitCode::from(problem.exit_code());
        }
    };
    let outcome = runtime.block_on(dispatch(&cli));
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(problem) => {
            problem.report(json);
            ExitCode::from(problem.exit_code())
        }
    }
}

async fn dispatch(cli: &Cli) -> Result<u8, failure::Failure> {
    let global = &cli.global;
    match &cli.command {
        Command::Run(args) => commands::run::execute(global, args).await,
        Command::Runs(command) => commands::runs::execute(global, command).await,
        Command::Whoami => commands::account::whoami(global).await,
        Command::Tokens(command) => commands::account::tokens(global, command).await,
        Command::Template(command) => commands::template::execute(command, global.json),
        Command::Dev(command) => commands::dev::execute(command).await,
    }
}
