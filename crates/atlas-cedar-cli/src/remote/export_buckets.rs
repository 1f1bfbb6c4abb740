//! The direct commands of the kind (see `atlas_cedar_deploy::export_buckets`).

use super::table::{self, Column, Format};
use crate::remote::{print_warnings, ConnectionArgs};
use atlas_cedar_client::rest::{check_id, raw_json};
use atlas_cedar_deploy::export_buckets::*;
use clap::{Args, Subcommand, ValueEnum};
use std::process::ExitCode;

/// `atlas-cedar export-buckets …`
#[derive(Debug, Subcommand)]
pub enum ExportBucketsCommand {
    /// Create a snapshot export bucket (AWS S3, Azure Blob Storage container,
    /// Google Cloud Storage bucket).
    #[command(after_help = "Examples:
  atlas-cedar export-buckets create --project-id 5f0… --provider AWS --bucket-name my-exports --iam-role-id 668c5f0ed436263134491592
  atlas-cedar export-buckets create --provider AZURE --bucket-name examplecontainer \\
      --role-id 668c5f0ed436263134491592 --service-url https://examplestorageaccount.blob.core.windows.net/examplecontainer
  atlas-cedar export-buckets create --provider GCP --bucket-name my-exports --role-id 668c5f0ed436263134491592 -o json")]
    Create(CreateArgs),
    /// List the project's export buckets (every page).
    #[command(after_help = "Examples:
  atlas-cedar export-buckets list --project-id 5f0…
  atlas-cedar export-buckets list -o json")]
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Project id (env MONGODB_ATLAS_PROJECT_ID).
    #[arg(long, env = "MONGODB_ATLAS_PROJECT_ID", hide_env_values = true)]
    project_id: String,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    output: Format,
    #[command(flatten)]
    conn: ConnectionArgs,
}

/// A cloud provider of export buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Provider {
    #[value(name = "AWS", alias = "aws")]
    Aws,
    #[value(name = "AZURE", alias = "azure")]
    Azure,
    #[value(name = "GCP", alias = "gcp")]
    Gcp,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Aws => "AWS",
            Provider::Azure => "AZURE",
            Provider::Gcp => "GCP",
        }
    }
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Project id (env MONGODB_ATLAS_PROJECT_ID).
    #[arg(long, env = "MONGODB_ATLAS_PROJECT_ID", hide_env_values = true)]
    project_id: String,
    #[arg(long, value_enum)]
    provider: Provider,
    /// S3 bucket, Azure container or GCS bucket name (3–63 characters).
    #[arg(long)]
    bucket_name: String,
    /// AWS: the unified AWS access role id.
    #[arg(long)]
    iam_role_id: Option<String>,
    /// Azure and GCP: the cloud provider access role id.
    #[arg(long)]
    role_id: Option<String>,
    /// Azure: the container URL.
    #[arg(long)]
    service_url: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    output: Format,
    #[command(flatten)]
    conn: ConnectionArgs,
}

const COLUMNS: &[Column] = &[
    ("ID", "/_id"),
    ("PROVIDER", "/cloudProvider"),
    ("BUCKET", "/bucketName"),
    ("IAM ROLE", "/iamRoleId"),
    ("ROLE", "/roleId"),
    ("SERVICE URL", "/serviceUrl"),
    ("PRIVATE NETWORKING", "/requirePrivateNetworking"),
];

/// Runs an `export-buckets` command.
pub fn run(cmd: ExportBucketsCommand) -> ExitCode {
    super::block_on_command(async {
        match cmd {
            ExportBucketsCommand::Create(a) => create(&a).await,
            ExportBucketsCommand::List(a) => list(&a).await,
        }
        .map(|()| ExitCode::SUCCESS)
    })
}

async fn list(a: &ListArgs) -> Result<(), String> {
    check_id("project id", &a.project_id).map_err(|e| e.to_string())?;
    let (client, _) = a.conn.connect()?;
    let listed = client.list_export_buckets_raw(&a.project_id).await;
    print_warnings(&client);
    let listed = listed.map_err(|e| e.to_string())?;
    table::print(&raw_json(&listed), COLUMNS, a.output);
    Ok(())
}

async fn create(a: &CreateArgs) -> Result<(), String> {
    check_id("project id", &a.project_id).map_err(|e| e.to_string())?;
    let input = input_of(
        a.provider.name(),
        &a.bucket_name,
        a.iam_role_id.as_deref(),
        a.role_id.as_deref(),
        a.service_url.as_deref(),
    )?;
    let (client, _) = a.conn.connect()?;
    let made = client
        .create_export_bucket_or_adopt_raw(&a.project_id, &input)
        .await;
    print_warnings(&client);
    let (b, adopted) = made.map_err(|e| e.to_string())?;
    if adopted {
        eprintln!(
            "atlas-cedar: the answer to the create was lost; export bucket {} was found and adopted",
            b.value.id
        );
    }
    table::print(&b.json, COLUMNS, a.output);
    Ok(())
}
