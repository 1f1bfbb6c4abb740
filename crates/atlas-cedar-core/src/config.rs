//! `atlas-cedar.toml`: found upward from the working directory.
//!
//! ```toml
//! [lint]
//! max-body-size = 10240          # bytes; Atlas does not publish its limit
//! schema = ["atlas-extra.cedarschema"]
//! schema-mode = "extend"         # or "replace"
//! exclude = ["drafts/**"]
//! deny-warnings = false
//! terraform = false              # also search directories for .tf files
//! cloudformation = false         # and for CloudFormation templates
//!
//! [lint.rules]
//! unconditional-forbid = "off"   # by name or code: "off", "warning", "error"
//!
//! [lint.entities]
//! Region = ["aws:us-east-99"]    # ids Atlas added after this release
//! ```
//!
//! Other top-level tables (`[org]`, `[[resource_policy]]`, …) belong to `plan`/`push`
//! and are kept as they are for those commands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::catalog::Catalog;
use crate::check::{Engine, Settings};
use crate::fs::FileSystem;
use crate::rules::{self, Severity};
use crate::schema::{SchemaMode, SchemaSet, SchemaSource};

/// The file name looked for.
pub const CONFIG_FILE: &str = "atlas-cedar.toml";

/// A rule's configured level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    Off,
    #[serde(alias = "warn")]
    Warning,
    Error,
}

/// `[lint]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LintConfig {
    pub max_body_size: Option<usize>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub schema: Vec<PathBuf>,
    #[serde(default)]
    pub schema_mode: SchemaMode,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub deny_warnings: bool,
    /// Directories are also searched for `.tf` files (Terraform).
    #[serde(default)]
    pub terraform: bool,
    /// Directories are also searched for CloudFormation templates (`.yaml`, `.yml`,
    /// `.json`, `.template` files that declare `MongoDB::Atlas::ResourcePolicy`).
    #[serde(default)]
    pub cloudformation: bool,
    #[serde(default)]
    pub rules: BTreeMap<String, RuleLevel>,
    #[serde(default)]
    pub entities: BTreeMap<String, Vec<String>>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(PathBuf),
        Many(Vec<PathBuf>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(v) => v,
    })
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub lint: LintConfig,
    /// Sections for other commands.
    #[serde(flatten)]
    pub other: toml::Table,
    /// The directory the file is in (relative paths are relative to it).
    #[serde(skip)]
    pub root: PathBuf,
    /// The file's path, when there is one.
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

/// A config problem, with file, line and column when known.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ConfigError {
    pub location: String,
    pub message: String,
}

/// The nearest `atlas-cedar.toml` in `start` or its ancestors.
pub fn find_config(fs: &dyn FileSystem, start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(CONFIG_FILE))
        .find(|p| fs.is_file(p))
}

impl Config {
    /// Parses a config file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| {
            let location = match e.span() {
                Some(span) => {
                    let idx = crate::text::LineIndex::new(text);
                    let lc = idx.line_col(text, span.start, crate::text::ColumnUnit::Char);
                    format!("{}:{}:{}", path.display(), lc.line + 1, lc.col + 1)
                }
                None => path.display().to_string(),
            };
            ConfigError {
                location,
                message: e.message().to_owned(),
            }
        })?;
        cfg.root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        cfg.path = Some(path.to_path_buf());
        for key in cfg.lint.rules.keys() {
            if rules::find(key).is_none() {
                return Err(ConfigError {
                    location: path.display().to_string(),
                    message: format!(
                        "unknown rule `{key}` in [lint.rules]; `atlas-cedar explain --list` shows them"
                    ),
                });
            }
        }
        Ok(cfg)
    }

    /// Loads a config file.
    pub fn load(fs: &dyn FileSystem, path: &Path) -> Result<Config, ConfigError> {
        let bytes = fs.read(path).map_err(|e| ConfigError {
            location: path.display().to_string(),
            message: format!("cannot read: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|_| ConfigError {
            location: path.display().to_string(),
            message: "not UTF-8".to_owned(),
        })?;
        Config::parse(&text, path)
    }

    /// Builds the engine this configuration describes. `extra_schemas` (from
    /// `--schema`) come after the config's own schema files.
    pub fn engine(
        &self,
        fs: &dyn FileSystem,
        extra_schemas: &[PathBuf],
        max_body_size: Option<usize>,
    ) -> Result<Engine, ConfigError> {
        let mut sources = Vec::new();
        let paths = self
            .lint
            .schema
            .iter()
            .map(|p| self.root.join(p))
            .chain(extra_schemas.iter().cloned());
        for p in paths {
            let err = |message: String| ConfigError {
                location: p.display().to_string(),
                message,
            };
            let bytes = fs
                .read(&p)
                .map_err(|e| err(format!("cannot read schema: {e}")))?;
            let text = String::from_utf8(bytes).map_err(|_| err("schema is not UTF-8".into()))?;
            sources.push(SchemaSource {
                name: p.display().to_string(),
                text,
            });
        }
        let schemas =
            SchemaSet::load(&sources, self.lint.schema_mode).map_err(|e| ConfigError {
                location: e.file,
                message: e.message,
            })?;
        let mut catalog = Catalog::builtin();
        for (ty, ids) in &self.lint.entities {
            catalog.add_ids(ty, ids.iter().cloned());
        }
        let severities = self
            .lint
            .rules
            .iter()
            .filter_map(|(k, level)| {
                let rule = rules::find(k)?;
                Some((
                    rule,
                    match level {
                        RuleLevel::Off => None,
                        RuleLevel::Warning => Some(Severity::Warning),
                        RuleLevel::Error => Some(Severity::Error),
                    },
                ))
            })
            .collect();
        Ok(Engine {
            schemas,
            catalog,
            settings: Settings {
                max_body_size: max_body_size
                    .or(self.lint.max_body_size)
                    .unwrap_or(crate::check::DEFAULT_MAX_BODY_SIZE),
                severities,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lint_section_and_keeps_others() {
        let cfg = Config::parse(
            "[org]\nid = \"x\"\n[lint]\nmax-body-size = 20\nschema = \"a.cedarschema\"\n[lint.rules]\nAC502 = \"off\"\nlegacy-dialect = \"error\"\n",
            Path::new("/p/atlas-cedar.toml"),
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(cfg.lint.max_body_size, Some(20));
        assert_eq!(cfg.lint.schema, vec![PathBuf::from("a.cedarschema")]);
        assert!(cfg.other.contains_key("org"));
        assert_eq!(cfg.root, PathBuf::from("/p"));
    }

    #[test]
    fn reports_typos_with_position() {
        let e = Config::parse("[lint]\nmax-body-sise = 3\n", Path::new("c.toml"))
            .err()
            .unwrap_or_else(|| unreachable!());
        assert_eq!(e.location, "c.toml:2:1");
        assert!(e.message.contains("max-body-sise"));
        let e = Config::parse("[lint.rules]\nnope = \"off\"\n", Path::new("c.toml"))
            .err()
            .unwrap_or_else(|| unreachable!());
        assert!(e.message.contains("unknown rule `nope`"));
    }
}
