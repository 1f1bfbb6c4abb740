//! Tests and semantic analysis of Atlas resource policies.
//!
//! Atlas evaluates resource policies with *allow unless forbidden* semantics: every
//! body is a `forbid`, and a request is refused iff some body's condition holds. Cedar
//! denies by default, so everything here evaluates a policy set together with one
//! `permit (principal, action, resource);` ([`policies::PERMIT_ALL_ID`]): the request
//! is then denied exactly when a forbid is satisfied, and Cedar's diagnostics name it.
//!
//! - [`policies`]: `.cedar` files → bodies with stable ids, and Atlas evaluation.
//! - [`request`]: requests written with plain strings (test files, counterexamples)
//!   → Cedar requests, checked against the action's context schema.
//! - [`testing`]: the `*.test.toml` format and the test runner.
//! - [`space`]: finite request spaces that cover what a body can tell apart.
//! - [`semantics`]: `analyze` (vacuous, lockout, redundant, erroring bodies) and
//!   `diff` (cosmetic or behavioural change), answered by evaluation.
//!
//! Like the core, this crate does no terminal I/O; it reads files only through
//! [`atlas_cedar_core::fs::FileSystem`].

pub mod govern;
pub mod policies;
pub mod prove;
pub mod request;
pub mod semantics;
pub mod space;
pub mod testing;
