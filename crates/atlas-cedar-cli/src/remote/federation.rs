//! The direct commands of the kind (see `atlas_cedar_deploy::federation`).

use super::table::{self, Column, Format};
use crate::remote::{print_warnings, ConnectionArgs};
use atlas_cedar_client::rest::{check_id, raw_json};
use clap::{Args, Subcommand};
use std::process::ExitCode;

/// `atlas-cedar federation-endpoints …`
#[derive(Debug, Subcommand)]
pub enum FederationEndpointsCommand {
    /// List the project's data-federation / online-archive private endpoints
    /// (every page, or one page with --page / --items-per-page).
    #[command(after_help = "Examples:
  atlas-cedar federation-endpoints list --project-id 5f0…
  atlas-cedar federation-endpoints list --page 2 --items-per-page 50 -o json")]
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Project id (env MONGODB_ATLAS_PROJECT_ID).
    #[arg(long, env = "MONGODB_ATLAS_PROJECT_ID", hide_env_values = true)]
    project_id: String,
    /// Only this page (from 1); without it and --items-per-page, every page.
    /// With -o json, one page is printed as Atlas sent it (`results`,
    /// `totalCount`, `links`); every page, as one array of the endpoints.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    page: Option<u32>,
    /// Endpoints per page, 1–500 (default 100 with --page).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=500))]
    items_per_page: Option<u32>,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    output: Format,
    #[command(flatten)]
    conn: ConnectionArgs,
}

const COLUMNS: &[Column] = &[
    ("ENDPOINT ID", "/endpointId"),
    ("PROVIDER", "/provider"),
    ("TYPE", "/type"),
    ("STATUS", "/status"),
    ("REGION", "/region"),
    ("COMMENT", "/comment"),
];

/// Runs a `federation-endpoints` command.
pub fn run(cmd: FederationEndpointsCommand) -> ExitCode {
    super::block_on_command(async {
        match cmd {
            FederationEndpointsCommand::List(a) => list(&a).await.map(|()| ExitCode::SUCCESS),
        }
    })
}

async fn list(a: &ListArgs) -> Result<(), String> {
    check_id("project id", &a.project_id).map_err(|e| e.to_string())?;
    let (client, _) = a.conn.connect()?;
    if a.page.is_none() && a.items_per_page.is_none() {
        let listed = client.list_federation_endpoints_raw(&a.project_id).await;
        print_warnings(&client);
        let endpoints = listed.map_err(|e| e.to_string())?;
        table::print(&raw_json(&endpoints), COLUMNS, a.output);
        return Ok(());
    }
    let page = a.page.unwrap_or(1);
    let per_page = a.items_per_page.unwrap_or(100);
    let listed = client
        .list_federation_endpoints_page_raw(&a.project_id, page, per_page)
        .await;
    print_warnings(&client);
    let p = listed.map_err(|e| e.to_string())?;
    if let Some(total) = p.value.total_count {
        eprintln!(
            "atlas-cedar: page {page} ({} of {total} endpoints, {per_page} per page)",
            p.value.results.len()
        );
    }
    match a.output {
        // The page as Atlas sent it: `results`, `totalCount`, `links`.
        Format::Json => table::print(&p.json, COLUMNS, Format::Json),
        Format::Table => {
            let rows = p
                .json
                .get("results")
                .cloned()
                .unwrap_or_else(|| serde_json::Value::Array(Vec::new()));
            table::print(&rows, COLUMNS, Format::Table);
        }
    }
    Ok(())
}
