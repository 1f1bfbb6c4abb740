//! `atlas-cedar import`: writes the organization's resource policies as
//! `.cedar` files plus `atlas-cedar.toml` entries (or `.tf` resources), so
//! that `plan` right after shows no change. The logic is
//! `atlas_cedar_deploy::import`; this file reads Atlas and writes files.

use std::path::PathBuf;
use std::process::ExitCode;

use atlas_cedar_core::safe_write::{self, Existing};
use atlas_cedar_deploy::import::{self, FileOut};
use clap::Args;

use super::manifest::MANIFEST_FILE;
use super::{org_of, print_warnings, ConnectionArgs};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Folder to write into (created if missing).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Write `mongodbatlas_resource_policy` Terraform resources (one `.tf`
    /// per policy) instead of `.cedar` files and atlas-cedar.toml.
    #[arg(long)]
    terraform: bool,
    /// Overwrite existing files (atlas-cedar.toml is always appended to, never
    /// rewritten).
    #[arg(long)]
    force: bool,
    /// List what would be written; write nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    conn: ConnectionArgs,
}

pub fn run(args: ImportArgs) -> ExitCode {
    super::block_on_command(import_async(args))
}

async fn import_async(args: ImportArgs) -> Result<ExitCode, String> {
    let (client, settings) = args.conn.connect()?;
    let org = org_of(&settings, None, args.conn.org_id.as_deref())?;
    let list = client.list_policies(&org).await.map_err(|e| e.to_string());
    print_warnings(&client);
    let list = list?;
    if list.is_empty() {
        println!("No resource policies in organization {org}: nothing to import.");
        return Ok(ExitCode::SUCCESS);
    }
    let manifest_path = args.dir.join(MANIFEST_FILE);
    // Never read nor written through a symbolic link (checked below too).
    let manifest_existed = std::fs::symlink_metadata(&manifest_path).is_ok_and(|m| m.is_file());
    let mut manifest_before: Option<String> = None;
    // (file, is the manifest)
    let mut writes: Vec<(FileOut, bool)> = Vec::new();
    if args.terraform {
        let files = import::terraform_files(&list, &org).map_err(|e| e.to_string())?;
        writes.extend(files.into_iter().map(|f| (f, false)));
    } else {
        if manifest_existed {
            manifest_before = Some(super::read_text(&manifest_path)?);
        }
        let (files, manifest) = import::cedar_files(&list, &org, manifest_before.as_deref())
            .map_err(|e| format!("{}: {e}", args.dir.display()))?;
        writes.extend(files.into_iter().map(|f| (f, false)));
        writes.push((manifest, true));
    }
    // Before anything is written: a symbolic link (even dangling) or
    // anything but a regular file at a destination is refused, --force or
    // not; an existing file needs --force (the manifest is appended to).
    let mut refused = Vec::new();
    let mut existing = Vec::new();
    for (f, is_manifest) in &writes {
        let path = args.dir.join(&f.name);
        match safe_write::check_destination(&path, true) {
            Err(why) => refused.push(format!("{} {why}", path.display())),
            Ok(true) if !is_manifest => existing.push(path.display().to_string()),
            Ok(_) => {}
        }
    }
    if !refused.is_empty() {
        return Err(format!("{}; nothing written", refused.join("; ")));
    }
    if !existing.is_empty() && !args.force {
        return Err(format!(
            "would overwrite {}; nothing written (pass --force to overwrite, or import into an empty folder)",
            existing.join(", ")
        ));
    }
    let verb = if args.dry_run { "would write" } else { "wrote" };
    if !args.dry_run {
        std::fs::create_dir_all(&args.dir).map_err(|e| format!("{}: {e}", args.dir.display()))?;
    }
    for (f, is_manifest) in &writes {
        let path = args.dir.join(&f.name);
        if !args.dry_run {
            let how = match (is_manifest, &manifest_before) {
                (true, Some(before)) => Existing::ReplaceIfUnchanged(before.as_bytes()),
                (false, _) if args.force => Existing::Replace,
                _ => Existing::Refuse,
            };
            safe_write::write_file(&path, f.text.as_bytes(), how)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        let what = if *is_manifest {
            if manifest_existed {
                "resource_policy entries appended"
            } else {
                "manifest"
            }
        } else {
            "policy"
        };
        println!("{verb} {} ({what})", path.display());
    }
    println!(
        "{} {} resource {} of organization {org}.",
        if args.dry_run {
            "Would import"
        } else {
            "Imported"
        },
        list.len(),
        if list.len() == 1 {
            "policy"
        } else {
            "policies"
        }
    );
    Ok(ExitCode::SUCCESS)
}
