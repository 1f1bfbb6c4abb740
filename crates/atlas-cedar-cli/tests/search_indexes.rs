//! End to end: `[[search_index]]` in plan/push and `search-indexes get`, the
//! real `atlas-cedar` binary against the emulator (in this process, so its
//! request log and store can be read directly). A create, a definition
//! update, a type or collection replace, a prune and a create a resource
//! policy forbids are cases of `tests/cases.rs` (`tests/cases/search-index-*`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::{Command, Output};

use atlas_cedar_emulator::{
    EmulatorHandle, LoggedRequest, DEFAULT_PRIVATE_KEY, DEFAULT_PUBLIC_KEY,
};
use common::*;
use serde_json::{json, Value};

const PROJECT: &str = "65f0a1b2c3d4e5f6a7b8c9d1";
const KEY: &str = "searchIndexes/65f0a1b2c3d4e5f6a7b8c9d1/Cluster0";

impl Env {
    fn push(&self, emu: &EmulatorHandle, extra: &[&str]) -> Output {
        let mut args = vec!["push", "--poll-interval", "0.02"];
        args.extend_from_slice(extra);
        self.run(emu, &args)
    }
}

fn writes(log: &[LoggedRequest]) -> Vec<&LoggedRequest> {
    log.iter()
        .filter(|r| r.is_write() && r.status != 401)
        .collect()
}

fn search_writes(log: &[LoggedRequest]) -> Vec<(String, String)> {
    writes(log)
        .into_iter()
        .filter(|r| r.path.contains("/search/indexes"))
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect()
}

fn stored(emu: &EmulatorHandle) -> Vec<Value> {
    emu.resources(KEY)
}

/// The output of a run, normalised for a snapshot (the ids the tests seed
/// are kept).
fn snap(o: &Output, emu: &EmulatorHandle, env: &Env) -> String {
    snapshot_text(
        o,
        emu,
        env,
        "66aa00000000000000000001 66aa00000000000000000002 66aa00000000000000000003",
    )
}

const HEADER: &str = "[project]\nid = \"65f0a1b2c3d4e5f6a7b8c9d1\"\n\n";

fn movies(definition: &str, collection: &str, extra: &str) -> String {
    format!(
        "[[search_index]]\ncluster = \"Cluster0\"\ndatabase = \"mflix\"\ncollection = \"{collection}\"\nname = \"default\"\ndefinition = {definition}\n{extra}\n"
    )
}

#[test]
fn a_collection_change_is_planned_as_a_replace() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    let def = "{ mappings = { dynamic = true } }";
    write(
        &w,
        "atlas-cedar.toml",
        &format!("{HEADER}{}", movies(def, "movies", "")),
    );
    assert!(env.push(&emu, &[]).status.success());
    let old = stored(&emu)[0]["indexID"].as_str().unwrap().to_owned();

    let moved = movies(def, "films", "replaces = \"mflix.movies/default\"");
    write(&w, "atlas-cedar.toml", &format!("{HEADER}{moved}"));
    let o = env.run(&emu, &["plan"]);
    insta::assert_snapshot!("collection_replace_plan", snap(&o, &emu, &env));

    // The replace deletes the old index: without a terminal, push wants --yes.
    emu.clear_requests();
    let o = env.push(&emu, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("replaced: deleted and created again"),
        "{}",
        text(&o)
    );
    assert!(search_writes(&emu.requests()).is_empty());
    let o = env.push(&emu, &["--yes"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    let w_log = search_writes(&emu.requests());
    assert_eq!(w_log.len(), 2, "{w_log:?}");
    assert_eq!(w_log[0].0, "POST");
    assert_eq!(w_log[1].0, "DELETE");
    assert!(w_log[1].1.ends_with(&old));
    let items = stored(&emu);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["collectionName"], "films");
    assert_eq!(items[0]["status"], "READY");

    // `replaces` may stay: the old index is gone, nothing more to do.
    emu.clear_requests();
    assert!(env.push(&emu, &[]).status.success());
    assert!(writes(&emu.requests()).is_empty());

    // A type change cannot be PATCHed: the index is deleted first, then created.
    let vector = "[[search_index]]\ncluster = \"Cluster0\"\ndatabase = \"mflix\"\ncollection = \"films\"\nname = \"default\"\ntype = \"vectorSearch\"\ndefinition = { fields = [ { type = \"vector\", path = \"v\", numDimensions = 3, similarity = \"cosine\" } ] }\n";
    write(&w, "atlas-cedar.toml", &format!("{HEADER}{vector}"));
    let o = env.run(&emu, &["plan"]);
    insta::assert_snapshot!("type_replace_plan", snap(&o, &emu, &env));
    emu.clear_requests();
    let o = env.push(&emu, &["--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let methods: Vec<String> = search_writes(&emu.requests())
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(methods, vec!["DELETE", "POST"]);
    assert_eq!(stored(&emu)[0]["type"], "vectorSearch");
}

#[test]
fn prune_deletes_only_on_the_clusters_the_manifest_mentions() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    let def = "{ mappings = { dynamic = true } }";
    write(
        &w,
        "atlas-cedar.toml",
        &format!("{HEADER}{}", movies(def, "movies", "")),
    );
    assert!(env.push(&emu, &[]).status.success());
    let seed = |coll: &str, id: &str| {
        json!({"collectionName": coll, "database": "mflix", "indexID": id, "name": "stray",
               "latestDefinition": {"mappings": {"dynamic": true}}, "status": "READY",
               "queryable": true, "type": "search", "statusDetail": []})
    };
    let mut on_c0 = stored(&emu);
    on_c0.push(seed("comments", "66aa00000000000000000001"));
    emu.set_resources(KEY, on_c0);
    let other = format!("searchIndexes/{PROJECT}/Cluster1");
    emu.set_resources(&other, vec![seed("users", "66aa00000000000000000002")]);

    // Without --prune the stray index is left alone.
    emu.clear_requests();
    let o = env.push(&emu, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(writes(&emu.requests()).is_empty());

    let o = env.run(&emu, &["plan", "--prune"]);
    // Only the stray index on Cluster0 (the users index on Cluster1 is not listed).
    insta::assert_snapshot!("prune_plan", snap(&o, &emu, &env));
    // Deleting needs --yes without a terminal.
    let o = env.push(&emu, &["--prune"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(stored(&emu).len(), 2);

    emu.clear_requests();
    let o = env.push(&emu, &["--prune", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        search_writes(&emu.requests()),
        vec![(
            "DELETE".to_owned(),
            format!(
                "/api/atlas/v2/groups/{PROJECT}/clusters/Cluster0/search/indexes/66aa00000000000000000001"
            )
        )]
    );
    assert_eq!(stored(&emu).len(), 1);
    assert_eq!(emu.resources(&other).len(), 1);
}

#[test]
fn a_failed_build_is_reported_with_atlas_message_and_waits_time_out() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    let def = "{ analyzer = \"emulator.fail\", mappings = { dynamic = true } }";
    write(
        &w,
        "atlas-cedar.toml",
        &format!("{HEADER}{}", movies(def, "movies", "")),
    );
    let o = env.push(&emu, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    insta::assert_snapshot!("failed_build_push", snap(&o, &emu, &env));

    // A wait that runs out says so and how to wait longer.
    let ok = "{ mappings = { dynamic = true } }";
    write(
        &w,
        "atlas-cedar.toml",
        &format!("{HEADER}{}", movies(ok, "films", "")),
    );
    let o = env.push(&emu, &["--wait-timeout", "0"]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("gave up waiting for search index"), "{t}");
    assert!(t.contains("--wait-timeout"), "{t}");
}

const NO_SEARCH: &str = "forbid (principal, action == ResourcePolicy::Action::\"search.index.modify\", resource)\nwhen { context.cluster.cloudProviders.containsAny([ResourcePolicy::CloudProvider::\"aws\", ResourcePolicy::CloudProvider::\"azure\", ResourcePolicy::CloudProvider::\"gcp\"]) };\n";
const NO_GCP_SEARCH: &str = "forbid (principal, action == ResourcePolicy::Action::\"search.index.modify\", resource)\nwhen { context.cluster.cloudProviders.contains(ResourcePolicy::CloudProvider::\"gcp\") };\n";

#[test]
fn unknown_cluster_facts_give_cannot_tell_unless_the_entry_states_them() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    write(&w, "policies/no-gcp.cedar", NO_GCP_SEARCH);
    let def = "{ mappings = { dynamic = true } }";
    let policy =
        "[[resource_policy]]\nname = \"no-gcp-search\"\nfiles = [\"policies/no-gcp.cedar\"]\n\n";
    write(
        &w,
        "atlas-cedar.toml",
        &format!("{HEADER}{policy}{}", movies(def, "movies", "")),
    );
    // Not stated: cannot tell; stated: no warning (aws, no dedicated search
    // nodes) or a certain refusal (gcp).
    let mut plans = snap(&env.run(&emu, &["plan"]), &emu, &env);
    for facts in [
        "cloud_providers = [\"aws\"]\ndedicated_search_nodes = false",
        "cloud_providers = [\"gcp\"]",
    ] {
        write(
            &w,
            "atlas-cedar.toml",
            &format!("{HEADER}{policy}{}", movies(def, "movies", facts)),
        );
        let o = env.run(&emu, &["plan"]);
        plans.push_str(&format!("\n=== {facts}\n{}", snap(&o, &emu, &env)));
    }
    insta::assert_snapshot!("cluster_facts_plans", plans);
}

#[test]
fn search_indexes_get_as_json_and_table() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    write(
        &w,
        "atlas-cedar.toml",
        &format!(
            "{HEADER}{}",
            movies("{ mappings = { dynamic = true } }", "movies", "")
        ),
    );
    assert!(env.push(&emu, &[]).status.success());
    let id = stored(&emu)[0]["indexID"].as_str().unwrap().to_owned();

    let o = env.run(
        &emu,
        &[
            "search-indexes",
            "get",
            "--project-id",
            PROJECT,
            "--cluster",
            "Cluster0",
            &id,
            "-o",
            "json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["indexID"], id.as_str());
    assert_eq!(v["latestDefinition"]["mappings"]["dynamic"], true);
    assert_eq!(v["statusDetail"][0]["mainIndex"]["status"], "READY");
    assert!(v["latestDefinitionVersion"]["createdAt"].is_string());

    let o = env.run(
        &emu,
        &["search-indexes", "get", "--cluster", "Cluster0", &id],
    );
    // The project comes from MONGODB_ATLAS_PROJECT_ID or --project-id.
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = Command::new(BIN)
        .env_clear()
        .env("HOME", env.home.path())
        .env("MONGODB_ATLAS_OPS_MANAGER_URL", emu.base_url())
        .env("MONGODB_ATLAS_PUBLIC_API_KEY", DEFAULT_PUBLIC_KEY)
        .env("MONGODB_ATLAS_PRIVATE_API_KEY", DEFAULT_PRIVATE_KEY)
        .env("MONGODB_ATLAS_PROJECT_ID", PROJECT)
        .args([
            "search-indexes",
            "get",
            "--cluster",
            "Cluster0",
            &id,
            "-o",
            "table",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(
        header,
        [
            "ID",
            "NAME",
            "DATABASE",
            "COLLECTION",
            "TYPE",
            "STATUS",
            "QUERYABLE"
        ]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        row,
        [
            id.as_str(),
            "default",
            "mflix",
            "movies",
            "search",
            "READY",
            "true"
        ]
    );

    let o = env.run(
        &emu,
        &[
            "search-indexes",
            "list",
            "--project-id",
            PROJECT,
            "--cluster",
            "Cluster0",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains(&id), "{out}");

    // A bad id is refused before any request.
    let o = env.run(
        &emu,
        &[
            "search-indexes",
            "get",
            "--project-id",
            PROJECT,
            "--cluster",
            "Cluster0",
            "nope",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("not a 24-hex-digit id"), "{}", text(&o));
}

#[test]
fn manifest_errors_name_the_line() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    let both = "[[search_index]]\ncluster = \"Cluster0\"\ndatabase = \"mflix\"\ncollection = \"movies\"\nname = \"default\"\ndefinition = { mappings = { dynamic = true } }\ndefinition_file = \"x.json\"\n";
    write(&w, "atlas-cedar.toml", &format!("{HEADER}{both}"));
    let mut errors = snap(&env.run(&emu, &["plan"]), &emu, &env);
    write(
        &w,
        "search/bad.json",
        "{\n  \"mappings\": {\n    \"dynamic\": true,\n  }\n}\n",
    );
    let file = "[[search_index]]\ncluster = \"Cluster0\"\ndatabase = \"mflix\"\ncollection = \"movies\"\nname = \"default\"\ndefinition_file = \"search/bad.json\"\n";
    write(&w, "atlas-cedar.toml", &format!("{HEADER}{file}"));
    errors.push_str(&snap(&env.run(&emu, &["plan"]), &emu, &env));
    let typo = "[[search_index]]\ncluster = \"Cluster0\"\ndatabase = \"mflix\"\ncollection = \"movies\"\nname = \"default\"\ndefinition = { mappings = { dynamic = true } }\ntype = \"vector\"\n";
    write(&w, "atlas-cedar.toml", &format!("{HEADER}{typo}"));
    errors.push_str(&snap(&env.run(&emu, &["plan"]), &emu, &env));
    // Each error names the file, line (and column) of what is wrong.
    insta::assert_snapshot!("manifest_errors", errors);
    assert!(emu
        .requests()
        .iter()
        .all(|r| !r.path.contains("/search/indexes")));
}

#[test]
fn a_lost_create_answer_is_found_by_name_and_a_half_done_replace_is_finished() {
    use atlas_cedar_emulator::{FaultKind, FaultRule};
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    let def = "{ mappings = { dynamic = true } }";
    write(
        &w,
        "atlas-cedar.toml",
        &format!("{HEADER}{}", movies(def, "movies", "")),
    );
    emu.add_fault(FaultRule {
        method: Some("POST".to_owned()),
        path_contains: Some("/search/indexes".to_owned()),
        skip: 0,
        times: 1,
        kind: FaultKind::DropAfterApply,
    });
    let o = env.push(&emu, &[]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("its answer was lost; found by name"), "{t}");
    assert_eq!(stored(&emu).len(), 1);
    let posts = emu
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains("/search/indexes"))
        .count();
    assert_eq!(posts, 1);

    // A replace that created the new index but never deleted the old one:
    // the next plan finishes it.
    let old = stored(&emu)[0].clone();
    let mut new = old.clone();
    new["collectionName"] = json!("films");
    new["indexID"] = json!("66aa00000000000000000003");
    emu.set_resources(KEY, vec![old.clone(), new]);
    let moved = movies(def, "films", "replaces = \"mflix.movies/default\"");
    write(&w, "atlas-cedar.toml", &format!("{HEADER}{moved}"));
    let o = env.run(&emu, &["plan"]);
    // The old index (<id-1>) is deleted, replaced by the new one, unchanged.
    insta::assert_snapshot!("half_done_replace_plan", snap(&o, &emu, &env));
    let o = env.push(&emu, &["--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let left = stored(&emu);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["collectionName"], "films");
}

#[test]
fn a_type_change_that_policies_refuse_deletes_nothing() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    let def = "{ mappings = { dynamic = true } }";
    write(
        &w,
        "atlas-cedar.toml",
        &format!("{HEADER}{}", movies(def, "movies", "")),
    );
    assert!(env.push(&emu, &[]).status.success());
    let id = stored(&emu)[0]["indexID"].as_str().unwrap().to_owned();

    write(&w, "policies/no-search.cedar", NO_SEARCH);
    let vector = "[[search_index]]\ncluster = \"Cluster0\"\ndatabase = \"mflix\"\ncollection = \"movies\"\nname = \"default\"\ntype = \"vectorSearch\"\ndefinition = { fields = [ { type = \"vector\", path = \"v\", numDimensions = 3, similarity = \"cosine\" } ] }\n";
    write(
        &w,
        "atlas-cedar.toml",
        &format!("{HEADER}[[resource_policy]]\nname = \"no-search\"\nfiles = [\"policies/no-search.cedar\"]\n\n{vector}"),
    );
    emu.clear_requests();
    let o = env.push(&emu, &["--yes"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("the old one (id {id})")),
        "{}",
        text(&o)
    );
    insta::assert_snapshot!("refused_type_change_push", snap(&o, &emu, &env));
    assert!(search_writes(&emu.requests()).is_empty());
    assert_eq!(stored(&emu).len(), 1);
}

#[test]
fn a_stale_replaces_naming_an_index_another_entry_declares_is_ignored_with_a_warning() {
    let emu = emulator();
    let env = Env::new();
    let w = env.work();
    let def = "{ mappings = { dynamic = true } }";
    // films/default once replaced movies/default; now movies/default is
    // declared again by its own entry.
    let manifest = format!(
        "{HEADER}{}{}",
        movies(def, "films", "replaces = \"mflix.movies/default\""),
        movies(def, "movies", "")
    );
    write(&w, "atlas-cedar.toml", &manifest);
    let o = env.push(&emu, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(stored(&emu).len(), 2);
    let o = env.run(&emu, &["plan", "--detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Warnings of unchanged steps are in the text plan and in JSON.
    let o = env.run(&emu, &["plan", "--output", "json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let films = v["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"].as_str().unwrap().ends_with("mflix.films/default"))
        .unwrap();
    assert_eq!(films["action"], "unchanged");
    assert!(
        films["warnings"][0].as_str().unwrap().starts_with(
            "`replaces` is ignored: 65f0a1b2c3d4e5f6a7b8c9d1/Cluster0/mflix.movies/default"
        ),
        "{films:#}"
    );
}

/// Index builds overlap: with `--concurrency 2` the second index is created
/// while the first one is still building; with `--concurrency 1` only after the
/// first one is READY. Both runs end with every index READY.
#[test]
fn indexes_build_at_the_same_time_up_to_the_concurrency() {
    for (width, overlap) in [("2", true), ("1", false)] {
        let emu = emulator();
        let env = Env::new();
        let w = env.work();
        let def = "{ mappings = { dynamic = true } }";
        let manifest = format!(
            "{HEADER}{}{}",
            movies(def, "movies", ""),
            movies(def, "films", "")
        );
        write(&w, "atlas-cedar.toml", &manifest);
        let o = env.push(&emu, &["--concurrency", width]);
        assert!(o.status.success(), "{}", text(&o));
        let log = emu.requests();
        let posts: Vec<usize> = log
            .iter()
            .enumerate()
            .filter(|(_, r)| r.method == "POST" && r.status != 401)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(posts.len(), 2, "{log:#?}");
        let first_id = stored(&emu)
            .iter()
            .find(|i| i["collectionName"] == "movies")
            .map(|i| i["indexID"].as_str().unwrap().to_owned())
            .unwrap();
        let last_read_of_first = log
            .iter()
            .rposition(|r| r.method == "GET" && r.path.ends_with(&first_id))
            .unwrap();
        assert_eq!(
            posts[1] < last_read_of_first,
            overlap,
            "--concurrency {width}: second POST at {}, last read of the first index at {last_read_of_first}",
            posts[1]
        );
        assert!(stored(&emu).iter().all(|i| i["status"] == "READY"));
    }
}
