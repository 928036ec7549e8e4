//! `klg`: the KLG service and its tools.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use klg_api::settings::{DatabaseSettings, Settings};
use klg_api::startup::{prepare_database, Application};

/// KLG — airworthiness control (КЛГ): an event-sourced record of an operator's fleet and the
/// documents that arrive about it. Every change is an event in PostgreSQL; every read is
/// derived from those events.
#[derive(Parser)]
#[command(name = "klg", version, propagate_version = true)]
struct Cli {
    /// Log as JSON lines instead of text.
    #[arg(long, env = "KLG_LOG_FORMAT_JSON", global = true)]
    log_json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API. Creates the database if missing and applies migrations first.
    /// With no settings: PostgreSQL at 127.0.0.1:5432, listening on 127.0.0.1:8080.
    Serve(Settings),
    /// Create the database if missing and apply pending migrations, then exit.
    Migrate(DatabaseSettings),
    /// Print the OpenAPI document (JSON) to standard output.
    Openapi,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    klg_api::telemetry::init(cli.log_json);
    let result = match cli.command {
        Command::Serve(settings) => serve(settings).await,
        Command::Migrate(database) => {
            prepare_database(&database).await.map(|_| ()).map_err(|e| e.to_string())
        }
        Command::Openapi => {
            println!("{:#}", klg_api::routes::openapi::openapi());
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("klg: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let app = Application::build(settings.clone()).await.map_err(|e| e.to_string())?;
    tracing::info!(bind = %settings.bind, port = app.port(), "klg serving");
    app.run_until_stopped().await.map_err(|e| format!("server failed: {e}"))
}
