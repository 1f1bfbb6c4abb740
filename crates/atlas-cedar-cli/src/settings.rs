//! Loading `atlas-cedar.toml` and building the engine, shared by every command.

use std::path::PathBuf;
use std::process::ExitCode;

use atlas_cedar_core::config::{find_config, Config};
use atlas_cedar_core::fs::RealFs;
use atlas_cedar_core::Engine;
use clap::Args;

/// Options every checking command takes.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Use this config file instead of the nearest `atlas-cedar.toml` found upward
    /// from the working directory.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    /// Ignore any `atlas-cedar.toml`.
    #[arg(long, global = true, conflicts_with = "config")]
    pub no_config: bool,
    /// A Cedar schema file (`.cedarschema` or `.json`) that extends the built-in Atlas
    /// schema (or replaces it with `schema-mode = "replace"` in the config). Repeatable.
    #[arg(long, value_name = "FILE", global = true)]
    pub schema: Vec<PathBuf>,
    /// The maximum body size in bytes. Atlas does not publish its limit; the default,
    /// 10240, is an assumption.
    #[arg(long, value_name = "BYTES", global = true)]
    pub max_body_size: Option<usize>,
}

/// A loaded configuration and the engine it describes.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub engine: Engine,
}

/// Finds and loads the config, then builds the engine.
pub fn load(args: &ConfigArgs) -> Result<Loaded, String> {
    let fs = RealFs;
    let path = if args.no_config {
        None
    } else if let Some(p) = &args.config {
        Some(p.clone())
    } else {
        std::env::current_dir()
            .ok()
            .and_then(|cwd| find_config(&fs, &cwd))
    };
    let config = match &path {
        Some(p) => Config::load(&fs, p).map_err(|e| e.to_string())?,
        None => Config {
            root: std::env::current_dir().unwrap_or_default(),
            ..Config::default()
        },
    };
    with_config(config, args)
}

/// Builds the engine of a configuration already read (`plan`/`push` read
/// the manifest once, its `[lint]` included).
pub fn with_config(config: Config, args: &ConfigArgs) -> Result<Loaded, String> {
    let engine = config
        .engine(&RealFs, &args.schema, args.max_body_size)
        .map_err(|e| e.to_string())?;
    Ok(Loaded { config, engine })
}

/// Prints a setup error and returns exit status 2.
pub fn fail(msg: &str) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}
