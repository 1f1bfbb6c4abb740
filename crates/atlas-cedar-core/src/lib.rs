//! The atlas-cedar core: checks MongoDB Atlas resource policies (Cedar) the way Atlas
//! does, and reports every finding with a span, a stable rule code, the Atlas
//! `errorType` and a fix.
//!
//! Architecture invariant: this crate does no network or terminal I/O and knows
//! nothing of clap, LSP or HTTP. It reads files only through [`fs::FileSystem`].

pub mod atlas;
pub mod catalog;
pub mod check;
pub mod config;
pub mod diagnostic;
pub mod format;
pub mod fs;
pub mod iac;
pub mod inputs;
pub mod lexer;
pub mod payload;
pub mod rules;
pub mod safe_write;
pub mod schema;
pub mod split;
pub mod suppress;
pub mod text;

pub use atlas::{atlas_verdict, AtlasPolicyError};
pub use check::{Engine, FileReport, InputKind};
pub use diagnostic::{Diagnostic, Edit, Fix};
pub use rules::{ErrorType, Rule, Severity};
