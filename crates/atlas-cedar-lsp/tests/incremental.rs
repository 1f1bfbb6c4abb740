//! The per-body cache gives the same findings as `lint` and re-checks only the
//! policies that changed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};

use atlas_cedar_core::check::{mark_duplicates, with_stack};
use atlas_cedar_core::{Engine, InputKind};
use atlas_cedar_lsp::analysis::{analyze, DocumentCache};

fn full(
    engine: &Engine,
    name: &str,
    text: &str,
    kind: InputKind,
) -> Vec<atlas_cedar_core::Diagnostic> {
    let mut reports = [engine.check_text(name, text, kind)];
    mark_duplicates(engine, &mut reports);
    let [r] = reports;
    r.diagnostics
}

#[test]
fn same_findings_as_lint_on_the_fixture_corpus() {
    with_stack(|| {
        let engine = Arc::new(Engine::builtin().unwrap());
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lint");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.display().to_string();
            let kind = InputKind::from_path(&name);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let cache = Mutex::new(DocumentCache::default());
            let expected = full(&engine, &name, &text, kind);
            let first = analyze(&engine, &name, text.clone(), kind, &cache);
            assert_eq!(first.diagnostics, expected, "{name}");
            // Again, from the cache.
            let second = analyze(&engine, &name, text.clone(), kind, &cache);
            assert_eq!(second.diagnostics, expected, "{name} (cached)");
            if kind == InputKind::Cedar {
                assert_eq!(cache.lock().unwrap().last_checked, 0, "{name}");
            }
            n += 1;
        }
        assert!(n > 10);
    });
}

#[test]
fn an_edit_rechecks_only_the_policy_it_touches() {
    with_stack(|| {
        let engine = Arc::new(Engine::builtin().unwrap());
        let policy = |i: usize| {
            format!("forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource) when {{ context.cluster.maxShardCount > {i} }};\n")
        };
        let mut text: String = (0..200).map(policy).collect();
        text.push_str(&policy(7)); // a duplicate of policy 7
        let cache = Mutex::new(DocumentCache::default());
        let r = analyze(&engine, "a.cedar", text.clone(), InputKind::Cedar, &cache);
        // The duplicate is in another batch: checked once more if the two batches
        // run at the same time.
        assert!((200..=201).contains(&cache.lock().unwrap().last_checked));
        assert_eq!(cache.lock().unwrap().len(), 200);
        assert_eq!(
            r.diagnostics,
            full(&engine, "a.cedar", &text, InputKind::Cedar)
        );
        // Break policy 100 and shift everything after it.
        let edited = text.replacen("> 100 }", "> 100 }} ", 1);
        let r = analyze(&engine, "a.cedar", edited.clone(), InputKind::Cedar, &cache);
        assert_eq!(cache.lock().unwrap().last_checked, 1);
        assert_eq!(
            r.diagnostics,
            full(&engine, "a.cedar", &edited, InputKind::Cedar)
        );
        assert!(r.diagnostics.iter().any(|d| d.rule.code == "AC101"));
        assert!(r.diagnostics.iter().any(|d| d.rule.code == "AC504"));
    });
}

/// A long editing session: every edit makes a new body, and the cache still holds
/// only the bodies of the latest text.
#[test]
fn the_cache_does_not_grow_over_an_editing_session() {
    with_stack(|| {
        let engine = Arc::new(Engine::builtin().unwrap());
        let policy = |i: usize| {
            format!("forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource) when {{ context.cluster.maxShardCount > {i} }};\n")
        };
        let text: String = (0..100).map(policy).collect();
        let cache = Mutex::new(DocumentCache::default());
        analyze(&engine, "a.cedar", text.clone(), InputKind::Cedar, &cache);
        assert_eq!(cache.lock().unwrap().len(), 100);
        for n in 0..300 {
            // Type a digit into policy 50's bound.
            let edited = text.replacen("> 50 }", &format!("> 50{n} }}"), 1);
            let r = analyze(&engine, "a.cedar", edited.clone(), InputKind::Cedar, &cache);
            let c = cache.lock().unwrap();
            assert_eq!(c.last_checked, 1, "edit {n}");
            assert_eq!(c.len(), 100, "edit {n}");
            drop(c);
            if n % 100 == 0 {
                assert_eq!(
                    r.diagnostics,
                    full(&engine, "a.cedar", &edited, InputKind::Cedar)
                );
            }
        }
        // Another engine (a config change): the old results are dropped.
        let other = Arc::new(Engine::builtin().unwrap());
        analyze(&other, "a.cedar", text, InputKind::Cedar, &cache);
        let c = cache.lock().unwrap();
        assert_eq!(c.last_checked, 100);
        assert_eq!(c.len(), 100);
    });
}
