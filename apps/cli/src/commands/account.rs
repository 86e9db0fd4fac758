//! `antpath whoami` and `antpath tokens list|create|revoke`.

use serde_json::json;

use crate::cli::{Global, TokensCommand};
use crate::commands::{client, print_json};
use crate::failure::{self, Failure};

/// Runs `antpath whoami`.
pub async fn whoami(global: &Global) -> Result<u8, Failure> {
    let me = client(global)?.whoami().await?;
    if global.json {
        print_json(&me);
    } else {
        println!("workspace  {} ({})", me.workspace.name, me.workspace.id);
        println!("token      {} ({})", me.token.name, me.token.id);
        println!("scopes     {}", me.token.scopes.join(", "));
        if let Some(user) = me.user {
            println!("user       {}", user.id);
        }
    }
    Ok(failure::OK)
}

/// Runs one `tokens` command.
pub async fn tokens(global: &Global, command: &TokensCommand) -> Result<u8, Failure> {
    let client = client(global)?;
    match command {
        TokensCommand::List => {
            let tokens = client.list_tokens().await?;
            if global.json {
                print_json(&json!({"data": tokens}));
            } else {
                for token in &tokens {
                    let state = if token.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{}  {:<20} {}…  {:<8} {}",
                        token.id,
                        token.name,
                        token.prefix,
                        state,
                        token.scopes.join(",")
                    );
                }
            }
        }
        TokensCommand::Create { name, scopes } => {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let created = client.create_token(name, &scopes).await?;
            // The one place a token value is printed: the user asked for it, once.
            let value = created.token.expose_secret();
            if global.json {
                print_json(
                    &json!({"token": value, "id": created.info.id, "name": created.info.name, "scopes": created.info.scopes}),
                );
            } else {
                println!("{value}");
                eprintln!(
                    "Created {} ({}). This is the only time the token is shown; store it now.",
                    created.info.name, created.info.id
                );
            }
        }
        TokensCommand::Revoke { id } => {
            let token = client.revoke_token(*id).await?;
            if global.json {
                print_json(&token);
            } else {
                println!("revoked {} ({})", token.name, token.id);
            }
        }
    }
    Ok(failure::OK)
}
