//! The direct commands of the kind (see `atlas_cedar_deploy::api_keys`).

use super::table::{self, Column, Format};
use crate::remote::{confirm, org_of, print_warnings, ConnectionArgs};
use atlas_cedar_client::rest::check_id;
use clap::{Args, Subcommand};
use std::io::IsTerminal as _;
use std::process::ExitCode;

/// `atlas-cedar api-keys …`
#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// Delete one organization API key (Atlas also removes it from every
    /// project). Asks for confirmation on a terminal; elsewhere needs --yes.
    #[command(after_help = "Examples:
  atlas-cedar api-keys delete 5f0c0ffee0123456789abcde
  atlas-cedar api-keys delete --org-id 5f00000000000000000000aa 5f0c0ffee0123456789abcde --yes")]
    Delete(DeleteArgs),
    /// List the organization's API keys (every page): id, description,
    /// public key and roles, never a private key.
    #[command(after_help = "Examples:
  atlas-cedar api-keys list
  atlas-cedar api-keys list -o json")]
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(short = 'o', long, value_enum, default_value_t)]
    output: Format,
    #[command(flatten)]
    conn: ConnectionArgs,
}

const COLUMNS: &[Column] = &[
    ("ID", "/id"),
    ("DESCRIPTION", "/desc"),
    ("PUBLIC KEY", "/publicKey"),
    ("ROLES", "/rolesText"),
];

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The key's id (24 hex digits; `id` in `atlas-cedar` plans and Atlas).
    key_id: String,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    conn: ConnectionArgs,
}

/// Runs an `api-keys` command.
pub fn run(cmd: ApiKeysCommand) -> ExitCode {
    super::block_on_command(async {
        match cmd {
            ApiKeysCommand::Delete(a) => delete(&a).await,
            ApiKeysCommand::List(a) => list(&a).await.map(|()| ExitCode::SUCCESS),
        }
    })
}

async fn list(a: &ListArgs) -> Result<(), String> {
    let (client, settings) = a.conn.connect()?;
    let org = org_of(&settings, None, a.conn.org_id.as_deref())?;
    // As Atlas sent them (the client removes any `privateKey`).
    let listed = client.list_api_keys_raw(&org).await;
    print_warnings(&client);
    let keys = listed.map_err(|e| e.to_string())?;
    let rows: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| {
            let mut v = k.json.clone();
            if a.output == Format::Table {
                if let Some(o) = v.as_object_mut() {
                    o.insert("rolesText".to_owned(), k.value.roles_text().into());
                }
            }
            v
        })
        .collect();
    table::print(&serde_json::Value::Array(rows), COLUMNS, a.output);
    Ok(())
}

async fn delete(a: &DeleteArgs) -> Result<ExitCode, String> {
    check_id("API key id", &a.key_id).map_err(|e| e.to_string())?;
    if !a.yes && !std::io::stdin().is_terminal() {
        return Err(format!(
            "refusing to delete API key {} without confirmation: stdin is not a terminal; \
             pass --yes to delete it",
            a.key_id
        ));
    }
    let (client, settings) = a.conn.connect()?;
    let org = org_of(&settings, None, a.conn.org_id.as_deref())?;
    let found = client.get_api_key(&org, &a.key_id).await;
    let key = match found {
        Ok(k) => k,
        Err(e) => {
            print_warnings(&client);
            return Err(e.to_string());
        }
    };
    let question = format!(
        "Delete API key {} ({:?}, public key {}, roles {}) from organization {org} and every project?",
        key.id,
        key.desc,
        key.public_key,
        key.roles_text()
    );
    if !a.yes && !confirm(&question) {
        eprintln!("Not deleted (pass --yes to delete without a prompt).");
        return Ok(ExitCode::from(1));
    }
    // The DELETE goes to the id typed (the read above refused an answer
    // about another key).
    let deleted = client.delete_api_key(&org, &a.key_id).await;
    print_warnings(&client);
    deleted.map_err(|e| e.to_string())?;
    println!("Deleted API key {} ({:?}).", a.key_id, key.desc);
    Ok(ExitCode::SUCCESS)
}
