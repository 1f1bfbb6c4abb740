//! A seeded property test of `atlas-cedar import`: whatever the organization
//! holds (names of any shape, bodies from the policy library, half of them
//! mutated), the files `import` writes read back as the same policies, byte
//! for byte, so a `plan` right after shows no change:
//!
//! - `.cedar` files (or JSON payloads) and the manifest, through
//!   `manifest::load`, which `plan`/`push` use;
//! - `.tf` files, through the core's Terraform reader, which `lint` uses.
//!
//! `ATLAS_CEDAR_FUZZ_CASES` (default 200) and `ATLAS_CEDAR_FUZZ_SEED` as for
//! the other harnesses; a failing case saves its policies as JSON under
//! `target/fuzz-failures/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../../tests/fuzzgen/mod.rs"]
mod fuzzgen;

use std::collections::BTreeMap;

use atlas_cedar_client::{PolicyBody, ResourcePolicy};
use atlas_cedar_deploy::import::{cedar_files, terraform_files, ImportError};
use atlas_cedar_deploy::manifest;

fn name(rng: &mut fastrand::Rng) -> String {
    let pool = [
        "guard rails",
        "Guard-Rails",
        "guard_rails",
        "../../etc/passwd",
        ".hidden",
        "..",
        "a/b\\c",
        "é漢😀",
        "CON",
        "x.cedar",
        "",
        "-",
        "policy",
        "atlas-cedar",
    ];
    let mut n = pool[rng.usize(..pool.len())].to_owned();
    if rng.bool() {
        n.push_str(&rng.u32(..1000).to_string());
    }
    n
}

fn policies(
    rng: &mut fastrand::Rng,
    bodies: &[String],
    seeds: &[fuzzgen::Seed],
) -> Vec<ResourcePolicy> {
    let mut names = std::collections::BTreeSet::new();
    (0..rng.usize(1..=5))
        .filter_map(|i| {
            let n = name(rng);
            // Atlas keeps names unique per organization.
            if !names.insert(n.clone()) {
                return None;
            }
            let policies = (0..rng.usize(1..=3))
                .map(|_| {
                    let mut b = bodies[rng.usize(..bodies.len())].clone();
                    if rng.usize(..3) == 0 {
                        b = fuzzgen::mutate(rng, &b, seeds);
                        let mut cut = 8_000.min(b.len());
                        while !b.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        b.truncate(cut);
                    }
                    PolicyBody { id: None, body: b }
                })
                .collect();
            Some(ResourcePolicy {
                id: format!("{:024x}", i + 1),
                name: n,
                description: rng.bool().then(|| "Two \"bodies\" ${x} é".to_owned()),
                policies,
                ..Default::default()
            })
        })
        .collect()
}

fn save(case: usize, ps: &[ResourcePolicy]) -> std::path::PathBuf {
    let v: Vec<serde_json::Value> = ps
        .iter()
        .map(|p| serde_json::json!({ "name": p.name, "description": p.description, "bodies": p.bodies() }))
        .collect();
    fuzzgen::save_failure(
        &format!("import-{case}.json"),
        &serde_json::to_string_pretty(&v).unwrap(),
    )
}

#[test]
fn fuzz_import_reads_back_byte_for_byte() {
    let run = fuzzgen::run(200);
    let seeds = fuzzgen::seeds();
    let bodies: Vec<String> = seeds
        .iter()
        .filter(|s| !s.is_json())
        .flat_map(|s| {
            manifest::split_bodies(&s.text)
                .into_iter()
                .filter_map(|r| s.text.get(r).map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(bodies.len() > 20);
    let mut rng = fastrand::Rng::with_seed(run.seed ^ 0x1b0);
    let tmp = tempfile::tempdir().unwrap();
    let (mut cedar, mut json, mut tf, mut refused) = (0usize, 0usize, 0usize, 0usize);
    for case in 0..run.cases {
        let ps = policies(&mut rng, &bodies, &seeds);
        let want: BTreeMap<&str, Vec<&str>> =
            ps.iter().map(|p| (p.name.as_str(), p.bodies())).collect();
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            // `.cedar` files and the manifest, read back as plan reads them.
            let dir = tmp.path().join(format!("c{case}"));
            std::fs::create_dir_all(&dir).unwrap();
            let (files, m) = cedar_files(&ps, "65f0a1b2c3d4e5f6a7b8c9d0", None).unwrap();
            for f in files.iter().chain(std::iter::once(&m)) {
                assert!(
                    !f.name.contains('/') && !f.name.contains('\\') && !f.name.starts_with('.'),
                    "{}",
                    f.name
                );
                if f.name.ends_with(".json") {
                    json += 1;
                } else if f.name.ends_with(".cedar") {
                    cedar += 1;
                }
                std::fs::write(dir.join(&f.name), &f.text).unwrap();
            }
            let desired = manifest::load(&dir, None).unwrap();
            let got: BTreeMap<&str, Vec<&str>> = desired
                .policies
                .iter()
                .map(|p| {
                    (
                        p.name.as_str(),
                        p.bodies.iter().map(|b| b.text.as_str()).collect(),
                    )
                })
                .collect();
            assert_eq!(got, want, "the .cedar import must read back");
            std::fs::remove_dir_all(&dir).unwrap();
            // Terraform, read back as lint reads it.
            match terraform_files(&ps, "65f0a1b2c3d4e5f6a7b8c9d0") {
                Ok(files) => {
                    for (f, p) in files.iter().zip(&ps) {
                        let back = atlas_cedar_core::iac::terraform(&f.text)
                            .unwrap_or_else(|e| panic!("{}: {}", f.name, e.message));
                        let texts: Vec<&str> =
                            back.bodies.iter().map(|b| b.body.text.as_str()).collect();
                        assert_eq!(texts, p.bodies(), "{} must read back", f.name);
                        assert!(
                            back.unchecked.is_empty(),
                            "{}: {:?}",
                            f.name,
                            back.unchecked
                        );
                        tf += 1;
                    }
                }
                // A body with a line `EOT` cannot be a heredoc: refused, never cut.
                Err(ImportError::HeredocDelimiter { .. }) => refused += 1,
                Err(e) => panic!("{e}"),
            }
        }));
        if ok.is_err() {
            panic!(
                "case {case} (seed {}): policies saved to {}",
                run.seed,
                save(case, &ps).display()
            );
        }
    }
    eprintln!(
        "fuzz_import: {} cases (seed {}): {cedar} .cedar and {json} JSON files, {tf} .tf files read back byte for byte, {refused} refused (heredoc delimiter)",
        run.cases, run.seed
    );
}
