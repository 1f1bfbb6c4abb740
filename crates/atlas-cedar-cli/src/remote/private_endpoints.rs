//! The direct commands of the kind (see `atlas_cedar_deploy::private_endpoints`).

use super::table::{self, Format};
use crate::remote::{print_warnings, ConnectionArgs};
use atlas_cedar_client::private_endpoints::{
    EndpointService, NewEndpointService, PrivateEndpoint, Provider,
};
use atlas_cedar_client::rest::Raw;
use atlas_cedar_client::Client;
use atlas_cedar_core::catalog::Catalog;
use atlas_cedar_deploy::private_endpoints::*;
use atlas_cedar_deploy::{Ctx, WaitOptions};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// A cloud provider on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProviderArg {
    #[value(name = "AWS", alias = "aws")]
    Aws,
    #[value(name = "AZURE", alias = "azure")]
    Azure,
    #[value(name = "GCP", alias = "gcp")]
    Gcp,
}

impl From<ProviderArg> for Provider {
    fn from(p: ProviderArg) -> Self {
        match p {
            ProviderArg::Aws => Provider::Aws,
            ProviderArg::Azure => Provider::Azure,
            ProviderArg::Gcp => Provider::Gcp,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PrivateEndpointsCommand {
    /// Private endpoint services: create, list, get.
    #[command(
        subcommand,
        after_help = "Examples:
  atlas-cedar private-endpoints service create --provider AWS --region us-east-1 --wait
  atlas-cedar private-endpoints service list -o json"
    )]
    Service(ServiceCommand),
    /// Show one private endpoint of a service, with its connection status.
    /// Azure ids (with `/`) are given as they are; they are encoded in the path.
    #[command(after_help = "Examples:
  atlas-cedar private-endpoints get --provider AWS --service-id 65f0c0ffee0123456789abcd vpce-0123456789abcdef0
  atlas-cedar private-endpoints get --provider AZURE --service-id 65f0c0ffee0123456789abcd \\
      /subscriptions/…/resourceGroups/rg/providers/Microsoft.Network/privateEndpoints/pe1 -o json")]
    Get(GetEndpointArgs),
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Create a private endpoint service for a provider and region.
    #[command(after_help = "Examples:
  atlas-cedar private-endpoints service create --project-id 65f0c0ffee0123456789abcd --provider AWS --region us-east-1
  atlas-cedar private-endpoints service create --provider AZURE --region eastus2 --wait -o json")]
    Create(CreateServiceArgs),
    /// List the project's private endpoint services (every provider unless --provider).
    #[command(after_help = "Examples:
  atlas-cedar private-endpoints service list
  atlas-cedar private-endpoints service list --provider GCP -o json")]
    List(ListServicesArgs),
    /// Show one private endpoint service.
    #[command(after_help = "Examples:
  atlas-cedar private-endpoints service get --provider AWS 65f0c0ffee0123456789abcd")]
    Get(GetServiceArgs),
}

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// Project id (env MONGODB_ATLAS_PROJECT_ID).
    #[arg(long, env = "MONGODB_ATLAS_PROJECT_ID", hide_env_values = true)]
    project_id: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    output: Format,
    #[command(flatten)]
    conn: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct CreateServiceArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// Cloud provider.
    #[arg(long, value_enum)]
    provider: ProviderArg,
    /// Region: the cloud's code (`us-east-1`, `eastus2`, `us-central1`) or
    /// Atlas's name (`US_EAST_1`).
    #[arg(long)]
    region: String,
    /// Wait until the service is AVAILABLE (FAILED is an error).
    #[arg(long)]
    wait: bool,
    /// Longest wait, in seconds.
    #[arg(long, default_value_t = 1800)]
    wait_timeout: u64,
    /// Seconds between two reads while waiting.
    #[arg(long, default_value_t = 10.0)]
    poll_interval: f64,
}

#[derive(Debug, Args)]
pub struct ListServicesArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// Only this provider.
    #[arg(long, value_enum)]
    provider: Option<ProviderArg>,
}

#[derive(Debug, Args)]
pub struct GetServiceArgs {
    #[command(flatten)]
    project: ProjectArgs,
    #[arg(long, value_enum)]
    provider: ProviderArg,
    /// The service id (24 hex digits).
    service_id: String,
}

#[derive(Debug, Args)]
pub struct GetEndpointArgs {
    #[command(flatten)]
    project: ProjectArgs,
    #[arg(long, value_enum)]
    provider: ProviderArg,
    /// The endpoint service id (24 hex digits).
    #[arg(long)]
    service_id: String,
    /// The AWS `vpce-…` id, the Azure resource id, or the GCP endpoint group name.
    endpoint_id: String,
}

const SERVICE_COLUMNS: &[table::Column] = &[
    ("ID", "/id"),
    ("PROVIDER", "/provider"),
    ("REGION", "/region"),
    ("STATUS", "/status"),
    ("SERVICE NAME", "/name"),
    ("ENDPOINTS", "/endpoints"),
    ("ERROR", "/error"),
];

const ENDPOINT_COLUMNS: &[table::Column] = &[
    ("ID", "/id"),
    ("PROVIDER", "/provider"),
    ("STATUS", "/status"),
    ("IP ADDRESS", "/ip"),
    ("DELETE REQUESTED", "/deleteRequested"),
    ("ERROR", "/error"),
];

fn service_row(provider: Provider, s: &EndpointService) -> Value {
    let name = match provider {
        Provider::Aws => s.extra.get("endpointServiceName").cloned(),
        Provider::Azure => s.extra.get("privateLinkServiceName").cloned(),
        Provider::Gcp => s
            .extra
            .get("serviceAttachmentNames")
            .and_then(Value::as_array)
            .map(|a| {
                json!(a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","))
            }),
    };
    let ids = s.endpoint_ids(provider);
    json!({
        "id": s.id,
        "provider": provider.as_str(),
        "region": s.region_name,
        "status": s.status,
        "name": name.filter(|v| !v.is_null() && v.as_str() != Some("")),
        "endpoints": if ids.is_empty() { Value::Null } else { json!(ids.join(",")) },
        "error": s.error_message,
    })
}

fn endpoint_row(provider: Provider, e: &PrivateEndpoint) -> Value {
    let id = match provider {
        Provider::Aws => e.interface_endpoint_id.clone(),
        Provider::Azure => e.private_endpoint_resource_id.clone(),
        Provider::Gcp => e.endpoint_group_name.clone(),
    };
    let ip = match provider {
        Provider::Gcp => e.endpoints.as_ref().map(|list| {
            list.iter()
                .map(|g| format!("{}={}", g.endpoint_name, g.ip_address))
                .collect::<Vec<_>>()
                .join(",")
        }),
        _ => e.private_endpoint_ip_address.clone(),
    };
    json!({
        "id": id,
        "provider": provider.as_str(),
        "status": e.state(),
        "ip": ip,
        "deleteRequested": e.delete_requested,
        "error": e.error_message,
    })
}

fn print_services(rows: &[(Provider, Raw<EndpointService>)], single: bool, format: Format) {
    match format {
        Format::Json => {
            // As Atlas sent them.
            let values: Vec<Value> = rows.iter().map(|(_, s)| s.json.clone()).collect();
            let out = match (single, values.first()) {
                (true, Some(v)) => v.clone(),
                _ => Value::Array(values),
            };
            table::print(&out, SERVICE_COLUMNS, format);
        }
        Format::Table => {
            let values: Vec<Value> = rows
                .iter()
                .map(|(p, s)| service_row(*p, &s.value))
                .collect();
            table::print(&Value::Array(values), SERVICE_COLUMNS, format);
        }
    }
}

/// Runs `atlas-cedar private-endpoints …`.
pub fn run(cmd: PrivateEndpointsCommand) -> ExitCode {
    super::block_on_command(async { run_async(cmd).await.map(|()| ExitCode::SUCCESS) })
}

fn connect(p: &ProjectArgs) -> Result<Client, String> {
    atlas_cedar_client::rest::check_id("project id", &p.project_id).map_err(|e| e.to_string())?;
    let (client, _) = p.conn.connect()?;
    Ok(client)
}

async fn run_async(cmd: PrivateEndpointsCommand) -> Result<(), String> {
    match cmd {
        PrivateEndpointsCommand::Service(ServiceCommand::Create(a)) => {
            let client = connect(&a.project)?;
            let provider = Provider::from(a.provider);
            let region = region_of(&Catalog::builtin(), provider, &a.region);
            let body = NewEndpointService {
                provider_name: provider,
                region: region.send,
            };
            let project = a.project.project_id.as_str();
            let r = client
                .create_endpoint_service_or_adopt_raw(project, &body, &region.name)
                .await
                .map(|(s, _)| s);
            print_warnings(&client);
            let mut s = r.map_err(|e| e.to_string())?;
            if a.wait && !is_ready(s.value.status()) {
                // The engine's wait, then the service as Atlas sends it.
                let client = Arc::new(client);
                let mut ctx = Ctx::new(Arc::clone(&client), String::new(), &[], None);
                ctx.wait = WaitOptions {
                    timeout: Duration::from_secs(a.wait_timeout),
                    interval: Duration::from_secs_f64(a.poll_interval.clamp(0.0, 3600.0)),
                };
                ctx.events = Arc::new(super::steps::StderrEvents::new(true));
                wait_available(&ctx, project, provider, &s.value.id)
                    .await
                    .map_err(|e| e.to_string())?;
                s = client
                    .get_endpoint_service_raw(project, provider, &s.value.id)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            print_services(&[(provider, s)], true, a.project.output);
            Ok(())
        }
        PrivateEndpointsCommand::Service(ServiceCommand::List(a)) => {
            let client = connect(&a.project)?;
            let providers: Vec<Provider> = match a.provider {
                Some(p) => vec![p.into()],
                None => Provider::ALL.to_vec(),
            };
            let mut rows = Vec::new();
            for p in providers {
                let list = client
                    .list_endpoint_services_raw(&a.project.project_id, p)
                    .await
                    .map_err(|e| e.to_string())?;
                rows.extend(list.into_iter().map(|s| (p, s)));
            }
            print_warnings(&client);
            print_services(&rows, false, a.project.output);
            Ok(())
        }
        PrivateEndpointsCommand::Service(ServiceCommand::Get(a)) => {
            let client = connect(&a.project)?;
            let provider = Provider::from(a.provider);
            let r = client
                .get_endpoint_service_raw(&a.project.project_id, provider, &a.service_id)
                .await;
            print_warnings(&client);
            let s = r.map_err(|e| e.to_string())?;
            print_services(&[(provider, s)], true, a.project.output);
            Ok(())
        }
        PrivateEndpointsCommand::Get(a) => {
            let client = connect(&a.project)?;
            let provider = Provider::from(a.provider);
            let r = client
                .get_private_endpoint_raw(
                    &a.project.project_id,
                    provider,
                    &a.service_id,
                    &a.endpoint_id,
                )
                .await;
            print_warnings(&client);
            let e = r.map_err(|e| e.to_string())?;
            match a.project.output {
                Format::Json => table::print(&e.json, ENDPOINT_COLUMNS, Format::Json),
                Format::Table => table::print(
                    &endpoint_row(provider, &e.value),
                    ENDPOINT_COLUMNS,
                    Format::Table,
                ),
            }
            Ok(())
        }
    }
}
