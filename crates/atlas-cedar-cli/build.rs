//! Build metadata for `atlas-cedar --version`: the commit (src/build_commit.rs)
//! and the target triple.

use std::path::Path;

#[path = "src/build_commit.rs"]
mod build_commit;

fn main() {
    println!("cargo:rerun-if-env-changed=ATLAS_CEDAR_COMMIT");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
    let from_env = std::env::var("ATLAS_CEDAR_COMMIT").ok();
    let commit = build_commit::resolve(Path::new(&manifest_dir), from_env.as_deref());
    for path in &commit.watch {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown-target".to_owned());
    println!("cargo:rustc-env=ATLAS_CEDAR_COMMIT={}", commit.id);
    println!("cargo:rustc-env=ATLAS_CEDAR_TARGET={target}");
}
