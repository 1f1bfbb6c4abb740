//! `atlas-cedar policies list|get|delete|validate|non-compliant`.

use std::path::PathBuf;
use std::process::ExitCode;

use atlas_cedar_client::{Client, Error, ResourcePolicyInput};
pub(crate) use atlas_cedar_deploy::policies::LintNotes;
use atlas_cedar_deploy::policies::{describe_invalid, find};
use clap::{Args, Subcommand};

use super::manifest::{self, LocalBody};
use super::{confirm, org_of, print_warnings, ConnectionArgs, Output};

#[derive(Debug, Subcommand)]
pub enum PoliciesCommand {
    /// List the organization's resource policies.
    #[command(after_help = "Examples:
  atlas-cedar policies list
  atlas-cedar policies list --output json")]
    List(ListArgs),
    /// Show one resource policy (by id or name) with its bodies.
    #[command(after_help = "Examples:
  atlas-cedar policies get deny-us-regions
  atlas-cedar policies get 65f0c0ffee0123456789abcd --output json")]
    Get(TargetArgs),
    /// Delete one resource policy (by id or name).
    #[command(after_help = "Examples:
  atlas-cedar policies delete deny-us-regions
  atlas-cedar policies delete deny-us-regions --yes   # no prompt (scripts, CI)")]
    Delete(DeleteArgs),
    /// Send the policies of .cedar files to Atlas's :validate (saves nothing)
    /// and show Atlas's errors at file and line.
    #[command(after_help = "Examples:
  atlas-cedar policies validate policies/regions.cedar
  atlas-cedar policies validate a.cedar b.cedar --name my-guardrails")]
    Validate(ValidateArgs),
    /// Show each non-compliant resource and the policy that makes it so.
    #[command(after_help = "Examples:
  atlas-cedar policies non-compliant
  atlas-cedar policies non-compliant --output json")]
    NonCompliant(ListArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    conn: ConnectionArgs,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Resource policy id (24 hex digits) or name.
    target: String,
    #[command(flatten)]
    conn: ConnectionArgs,
    #[arg(long, value_enum, default_value_t)]
    output: Output,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Resource policy id (24 hex digits) or name.
    target: String,
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    conn: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// .cedar files; all their policies are validated as one resource policy.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Name sent with the bodies.
    #[arg(long, default_value = "atlas-cedar-validate")]
    name: String,
    #[command(flatten)]
    conn: ConnectionArgs,
}

pub fn run(cmd: PoliciesCommand) -> ExitCode {
    super::block_on_command(run_async(cmd))
}

fn conn_of(cmd: &PoliciesCommand) -> &ConnectionArgs {
    match cmd {
        PoliciesCommand::List(a) | PoliciesCommand::NonCompliant(a) => &a.conn,
        PoliciesCommand::Get(a) => &a.conn,
        PoliciesCommand::Delete(a) => &a.conn,
        PoliciesCommand::Validate(a) => &a.conn,
    }
}

async fn run_async(cmd: PoliciesCommand) -> Result<ExitCode, String> {
    let conn = conn_of(&cmd);
    let (client, settings) = conn.connect()?;
    let org = org_of(&settings, None, conn.org_id.as_deref())?;
    let result = match cmd {
        PoliciesCommand::List(a) => list(&client, &org, a.output).await,
        PoliciesCommand::Get(a) => get(&client, &org, &a.target, a.output).await,
        PoliciesCommand::Delete(a) => delete(&client, &org, &a.target, a.yes).await,
        PoliciesCommand::Validate(a) => validate(&client, &org, &a.files, &a.name).await,
        PoliciesCommand::NonCompliant(a) => non_compliant(&client, &org, a.output).await,
    };
    print_warnings(&client);
    result
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string_pretty(v).map_err(|e| e.to_string())
}

async fn list(client: &Client, org: &str, output: Output) -> Result<ExitCode, String> {
    let list = client
        .list_policies_raw(org)
        .await
        .map_err(|e| e.to_string())?;
    match output {
        // As Atlas sent them.
        Output::Json => println!("{}", json(&list)?),
        Output::Text => {
            if list.is_empty() {
                println!("No resource policies in organization {org}.");
            }
            for p in list.iter().map(|p| &p.value) {
                println!(
                    "{}  {}  ({} {}, updated {})",
                    p.id,
                    p.name,
                    p.policies.len(),
                    if p.policies.len() == 1 {
                        "policy"
                    } else {
                        "policies"
                    },
                    p.last_updated_date.as_deref().unwrap_or("?")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn get(client: &Client, org: &str, target: &str, output: Output) -> Result<ExitCode, String> {
    let found = find(client, org, target).await?;
    let p = &found.value;
    match output {
        Output::Json => println!("{}", json(&found)?),
        Output::Text => {
            println!("id: {}", p.id);
            println!("name: {}", p.name);
            if let Some(d) = &p.description {
                println!("description: {d}");
            }
            println!("updated: {}", p.last_updated_date.as_deref().unwrap_or("?"));
            for (i, b) in p.policies.iter().enumerate() {
                println!("\n// policy {} ({})", i + 1, b.id.as_deref().unwrap_or("-"));
                println!("{}", b.body);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn delete(client: &Client, org: &str, target: &str, yes: bool) -> Result<ExitCode, String> {
    let p = find(client, org, target).await?.value;
    if !yes && !confirm(&format!("Delete resource policy {} ({})?", p.name, p.id)) {
        eprintln!("Not deleted (pass --yes to delete without a prompt).");
        return Ok(ExitCode::from(1));
    }
    client
        .delete_policy(org, &p.id)
        .await
        .map_err(|e| e.to_string())?;
    println!("Deleted resource policy {} ({}).", p.name, p.id);
    Ok(ExitCode::SUCCESS)
}

/// Prints Atlas's policy errors next to the file and line of each body;
/// `false` when `err` is another kind of error.
pub(crate) fn report_invalid(
    err: &Error,
    bodies: &[&LocalBody],
    notes: Option<&LintNotes>,
) -> bool {
    match describe_invalid(err, bodies, notes) {
        Some(lines) => {
            for l in lines {
                eprintln!("{l}");
            }
            true
        }
        None => false,
    }
}

async fn validate(
    client: &Client,
    org: &str,
    files: &[PathBuf],
    name: &str,
) -> Result<ExitCode, String> {
    let mut bodies = Vec::new();
    for f in files {
        bodies
            .extend(manifest::bodies_of_file(f, &super::read_text(f)?).map_err(|e| e.to_string())?);
    }
    if bodies.is_empty() {
        return Err("no Cedar policy in the given files".to_owned());
    }
    let texts: Vec<&str> = bodies.iter().map(|b| b.text.as_str()).collect();
    let input = ResourcePolicyInput::new(name, None, &texts);
    match client.validate_policy(org, &input).await {
        Ok(()) => {
            println!("Atlas accepts all {} policies.", bodies.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let refs: Vec<&LocalBody> = bodies.iter().collect();
            if report_invalid(&e, &refs, None) {
                Ok(ExitCode::from(1))
            } else {
                Err(e.to_string())
            }
        }
    }
}

async fn non_compliant(client: &Client, org: &str, output: Output) -> Result<ExitCode, String> {
    let list = client
        .non_compliant_resources_raw(org)
        .await
        .map_err(|e| e.to_string())?;
    match output {
        // As Atlas sent them.
        Output::Json => println!("{}", json(&list)?),
        Output::Text => {
            if list.is_empty() {
                println!("No non-compliant resources in organization {org}.");
            }
            for r in list.iter().map(|r| &r.value) {
                println!(
                    "{} {} ({})",
                    r.resource_type, r.resource_name, r.resource_id
                );
                for cause in &r.resource_policies_causing_non_compliance {
                    let ids: Vec<&str> = cause
                        .policies_causing_non_compliance
                        .iter()
                        .map(|p| p.policy_id.as_str())
                        .collect();
                    println!(
                        "  violates {} ({}), policies: {}",
                        cause.resource_policy_name,
                        cause.resource_policy_id,
                        ids.join(", ")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
