//! The direct commands of the kind (see `atlas_cedar_deploy::search`).

use super::table::{self, Column, Format};
use atlas_cedar_client::rest::raw_json;
use clap::{Args, Subcommand};

/// `atlas-cedar search-indexes …`
#[derive(Debug, Subcommand)]
pub enum SearchIndexesCommand {
    /// Show one Atlas Search / Vector Search index by id.
    #[command(after_help = "Examples:
  atlas-cedar search-indexes get --project-id 5f1b2c3d4e5f6a7b8c9d0e1f --cluster Cluster0 6650a1b2c3d4e5f6a7b8c9d0
  atlas-cedar search-indexes get --cluster Cluster0 6650a1b2c3d4e5f6a7b8c9d0 -o json")]
    Get(GetArgs),
    /// List the search indexes of a cluster.
    #[command(after_help = "Examples:
  atlas-cedar search-indexes list --project-id 5f1b2c3d4e5f6a7b8c9d0e1f --cluster Cluster0
  atlas-cedar search-indexes list --cluster Cluster0 -o json")]
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The project (env MONGODB_ATLAS_PROJECT_ID).
    #[arg(long, env = "MONGODB_ATLAS_PROJECT_ID", hide_env_values = true)]
    project_id: String,
    /// The cluster that holds the index.
    #[arg(long)]
    cluster: String,
    /// The index id (24 hex digits).
    index_id: String,
    #[arg(short, long, value_enum, default_value_t)]
    output: Format,
    #[command(flatten)]
    conn: super::ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The project (env MONGODB_ATLAS_PROJECT_ID).
    #[arg(long, env = "MONGODB_ATLAS_PROJECT_ID", hide_env_values = true)]
    project_id: String,
    /// The cluster whose indexes to list.
    #[arg(long)]
    cluster: String,
    #[arg(short, long, value_enum, default_value_t)]
    output: Format,
    #[command(flatten)]
    conn: super::ConnectionArgs,
}

const COLUMNS: &[Column] = &[
    ("ID", "/indexID"),
    ("NAME", "/name"),
    ("DATABASE", "/database"),
    ("COLLECTION", "/collectionName"),
    ("TYPE", "/type"),
    ("STATUS", "/status"),
    ("QUERYABLE", "/queryable"),
];

/// Runs a direct command.
pub fn run(cmd: SearchIndexesCommand) -> std::process::ExitCode {
    super::block_on_command(async {
        match cmd {
            SearchIndexesCommand::Get(a) => {
                let (client, _) = a.conn.connect()?;
                let i = client
                    .get_search_index_raw(&a.project_id, &a.cluster, &a.index_id)
                    .await;
                super::print_warnings(&client);
                let i = i.map_err(|e| e.to_string())?;
                table::print(&i.json, COLUMNS, a.output);
                Ok(std::process::ExitCode::SUCCESS)
            }
            SearchIndexesCommand::List(a) => {
                let (client, _) = a.conn.connect()?;
                let list = client
                    .list_search_indexes_raw(&a.project_id, &a.cluster)
                    .await;
                super::print_warnings(&client);
                let list = list.map_err(|e| e.to_string())?;
                table::print(&raw_json(&list), COLUMNS, a.output);
                Ok(std::process::ExitCode::SUCCESS)
            }
        }
    })
}
