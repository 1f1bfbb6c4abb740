//! The planning skeleton every kind shares, written once: list each scope
//! the entries name (one list per project, cluster or stream instance), match
//! each entry to the object it names by natural key, let the kind make the
//! entry's steps, then (`--prune`) the steps for the objects no entry
//! accounts for.
//!
//! A kind supplies only what differs ([`Kind`]): its entries, where it lists,
//! its natural key, the steps of one entry and the deletion of an object the
//! manifest does not name.

use std::collections::BTreeMap;

use crate::{Ctx, Manifest, PlanError, Step};

/// What a kind supplies to [`plan`].
pub(crate) trait Kind {
    /// One checked manifest entry.
    type Desired;
    /// One object as Atlas lists it.
    type Remote;
    /// Where objects are listed: a project, a cluster, a stream instance, the
    /// organization.
    type Scope: Ord + Clone;

    /// Whether `--prune` plans before the entries' steps (a kind whose
    /// verdicts follow the set of objects as the steps change it).
    const PRUNE_FIRST: bool = false;

    /// The scope an entry's object lives in.
    fn scope(&self, d: &Self::Desired) -> Self::Scope;

    /// Scopes listed even when no entry names them.
    fn fixed_scopes(&self) -> Vec<Self::Scope> {
        Vec::new()
    }

    /// Every object of `scope` (every page).
    async fn list(
        &mut self,
        ctx: &Ctx,
        scope: &Self::Scope,
        prune: bool,
    ) -> Result<Vec<Self::Remote>, PlanError>;

    /// Whether `r` is the object `d` names, by natural key.
    fn is(&self, d: &Self::Desired, r: &Self::Remote) -> bool;

    /// Among several objects with `d`'s natural key, whether `r` is the one
    /// to take first (the others are left to `--prune`).
    fn prefer(&self, _d: &Self::Desired, _r: &Self::Remote) -> bool {
        true
    }

    /// The steps of one entry. `natural` is its object by natural key
    /// (already claimed for it); a kind whose entries may also take over
    /// another object (`replaces`, `renamed_from`) claims it in `listed`.
    async fn steps(
        &mut self,
        ctx: &Ctx,
        scope: &Self::Scope,
        d: &Self::Desired,
        natural: Option<&Self::Remote>,
        listed: &mut Listed<'_, Self::Remote>,
    ) -> Result<Vec<Step>, PlanError>;

    /// The deletion of `r`, an object no entry accounts for; `planned` are
    /// the steps so far (to keep keys unique). `None`: the kind never
    /// deletes what the manifest does not name.
    fn delete(
        &mut self,
        ctx: &Ctx,
        scope: &Self::Scope,
        r: &Self::Remote,
        planned: &[Step],
    ) -> Option<Step>;

    /// With `--prune`, the steps for `r`: by default its deletion when no
    /// entry (`owner`) accounts for it. A kind whose objects hold others
    /// (an endpoint service and its endpoints) also prunes inside an owned
    /// one.
    async fn prune(
        &mut self,
        ctx: &Ctx,
        scope: &Self::Scope,
        r: &Self::Remote,
        owner: Option<&Self::Desired>,
        planned: &[Step],
    ) -> Result<Vec<Step>, PlanError> {
        Ok(match owner {
            Some(_) => Vec::new(),
            None => self.delete(ctx, scope, r, planned).into_iter().collect(),
        })
    }
}

/// Whose an object of a list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner {
    Nobody,
    /// The entry whose steps are being made.
    Me,
    /// Another entry.
    Other,
}

/// One scope's objects and which entry accounts for each, as seen by the
/// entry whose steps are being made.
pub(crate) struct Listed<'a, R> {
    items: &'a [R],
    owners: &'a mut [Option<usize>],
    me: usize,
}

impl<R> Listed<'_, R> {
    /// Every object of the scope.
    pub(crate) fn items(&self) -> &[R] {
        self.items
    }

    /// The first object `f` accepts, with its position.
    pub(crate) fn find(&self, f: impl Fn(&R) -> bool) -> Option<(usize, &R)> {
        self.items.iter().enumerate().find(|(_, r)| f(r))
    }

    pub(crate) fn owner(&self, i: usize) -> Owner {
        match self.owners.get(i).copied().flatten() {
            None => Owner::Nobody,
            Some(o) if o == self.me => Owner::Me,
            Some(_) => Owner::Other,
        }
    }

    /// The object at `i` is accounted for by this entry (`--prune` leaves it).
    pub(crate) fn claim(&mut self, i: usize) {
        if let Some(slot) = self.owners.get_mut(i) {
            *slot = Some(self.me);
        }
    }
}

/// What [`plan`] found.
pub(crate) struct Planned {
    pub steps: Vec<Step>,
    /// Listed objects no entry accounts for (what `--prune` deletes).
    pub unclaimed: usize,
}

/// One scope's list and, per object, the entry (index) that accounts for it.
struct Scoped<R> {
    items: Vec<R>,
    owners: Vec<Option<usize>>,
}

/// The skeleton: list each scope once, match each of `desired` by natural
/// key (every entry's own object before any `replaces`/`renamed_from`, so
/// those never take an object another entry names), the entries' steps in
/// manifest order, then with `prune` the steps of what no entry accounts
/// for, scope by scope. Nothing is listed when there is no entry and no
/// fixed scope.
pub(crate) async fn plan<K: Kind>(
    kind: &mut K,
    ctx: &Ctx,
    desired: &[K::Desired],
    prune: bool,
) -> Result<Planned, PlanError> {
    let mut scopes: BTreeMap<K::Scope, Scoped<K::Remote>> = BTreeMap::new();
    for s in kind
        .fixed_scopes()
        .into_iter()
        .chain(desired.iter().map(|d| kind.scope(d)))
    {
        scopes.entry(s).or_insert_with(|| Scoped {
            items: Vec::new(),
            owners: Vec::new(),
        });
    }
    for (scope, listed) in &mut scopes {
        listed.items = kind.list(ctx, scope, prune).await?;
        listed.owners = vec![None; listed.items.len()];
    }

    // Each entry's own object first.
    let mut naturals: Vec<Option<usize>> = Vec::with_capacity(desired.len());
    for (di, d) in desired.iter().enumerate() {
        let Some(listed) = scopes.get_mut(&kind.scope(d)) else {
            naturals.push(None);
            continue;
        };
        let free = |i: &usize| listed.owners.get(*i) == Some(&None);
        let keyed = |i: &usize| listed.items.get(*i).is_some_and(|r| kind.is(d, r));
        let preferred = |i: &usize| listed.items.get(*i).is_some_and(|r| kind.prefer(d, r));
        let n = listed.items.len();
        let pick = (0..n)
            .filter(|i| free(i) && keyed(i))
            .find(preferred)
            .or_else(|| (0..n).find(|i| free(i) && keyed(i)));
        if let Some(slot) = pick.and_then(|i| listed.owners.get_mut(i)) {
            *slot = Some(di);
        }
        naturals.push(pick);
    }

    let mut steps = Vec::new();
    if prune && K::PRUNE_FIRST {
        prune_all(kind, ctx, desired, &scopes, &mut steps).await?;
    }
    for ((di, d), natural) in desired.iter().enumerate().zip(naturals) {
        let scope = kind.scope(d);
        let Some(scoped) = scopes.get_mut(&scope) else {
            continue;
        };
        let Scoped { items, owners } = scoped;
        let natural = natural.and_then(|i| items.get(i));
        let mut listed = Listed {
            items,
            owners,
            me: di,
        };
        steps.extend(kind.steps(ctx, &scope, d, natural, &mut listed).await?);
    }
    if prune && !K::PRUNE_FIRST {
        prune_all(kind, ctx, desired, &scopes, &mut steps).await?;
    }
    let unclaimed = scopes
        .values()
        .map(|s| s.owners.iter().filter(|o| o.is_none()).count())
        .sum();
    Ok(Planned { steps, unclaimed })
}

async fn prune_all<K: Kind>(
    kind: &mut K,
    ctx: &Ctx,
    desired: &[K::Desired],
    scopes: &BTreeMap<K::Scope, Scoped<K::Remote>>,
    steps: &mut Vec<Step>,
) -> Result<(), PlanError> {
    for (scope, listed) in scopes {
        for (r, owner) in listed.items.iter().zip(&listed.owners) {
            let owner = owner.and_then(|di| desired.get(di));
            let more = kind.prune(ctx, scope, r, owner, steps).await?;
            steps.extend(more);
        }
    }
    Ok(())
}

/// A kind planned from its own manifest section (`[[search_index]]`, …).
pub(crate) trait Section: Kind {
    /// The section's entries, checked; an error names the entry's line.
    fn desired(&mut self, manifest: &Manifest) -> Result<Vec<Self::Desired>, PlanError>;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Action, Phase};
    use std::sync::Arc;

    /// Objects named by a string in scopes numbered 1, 2, …; an entry may
    /// take over another object (`alias`), like `replaces`.
    struct Toy {
        remote: BTreeMap<u8, Vec<&'static str>>,
        listed: Vec<u8>,
    }

    struct Entry {
        scope: u8,
        name: &'static str,
        alias: Option<&'static str>,
    }

    fn entry(scope: u8, name: &'static str, alias: Option<&'static str>) -> Entry {
        Entry { scope, name, alias }
    }

    fn step(key: String, action: Action) -> Step {
        Step::new("toy", key, action, Phase::Other)
    }

    impl Kind for Toy {
        type Desired = Entry;
        type Remote = &'static str;
        type Scope = u8;

        fn scope(&self, d: &Entry) -> u8 {
            d.scope
        }

        async fn list(&mut self, _: &Ctx, s: &u8, _: bool) -> Result<Vec<&'static str>, PlanError> {
            self.listed.push(*s);
            Ok(self.remote.get(s).cloned().unwrap_or_default())
        }

        fn is(&self, d: &Entry, r: &&'static str) -> bool {
            d.name == *r
        }

        async fn steps(
            &mut self,
            _: &Ctx,
            s: &u8,
            d: &Entry,
            natural: Option<&&'static str>,
            listed: &mut Listed<'_, &'static str>,
        ) -> Result<Vec<Step>, PlanError> {
            let mut reason = String::new();
            if let Some((i, _)) = d.alias.and_then(|a| listed.find(|r| *r == a)) {
                reason = format!("{:?}", listed.owner(i));
                if listed.owner(i) == Owner::Nobody {
                    listed.claim(i);
                }
            }
            let action = if natural.is_some() {
                Action::Unchanged
            } else {
                Action::Create
            };
            let mut st = step(format!("{s}/{}", d.name), action);
            st.reason = reason;
            Ok(vec![st])
        }

        fn delete(&mut self, _: &Ctx, s: &u8, r: &&'static str, _: &[Step]) -> Option<Step> {
            Some(step(format!("{s}/{r}"), Action::Delete))
        }
    }

    fn ctx() -> Ctx {
        let client = atlas_cedar_client::Client::new(atlas_cedar_client::ClientConfig::new(
            "http://127.0.0.1:9",
            atlas_cedar_client::Credentials::AccessToken(atlas_cedar_client::Secret::new(
                "t".to_owned(),
            )),
        ))
        .unwrap();
        Ctx::new(Arc::new(client), "o".to_owned(), &[], None)
    }

    fn run(
        toy: &mut Toy,
        desired: &[Entry],
        prune: bool,
    ) -> (Vec<(String, Action, String)>, usize) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let planned = rt.block_on(plan(toy, &ctx(), desired, prune)).unwrap();
        let steps = planned
            .steps
            .into_iter()
            .map(|s| (s.key, s.action, s.reason))
            .collect();
        (steps, planned.unclaimed)
    }

    fn toy() -> Toy {
        Toy {
            remote: BTreeMap::from([(1, vec!["a", "b", "old"]), (2, vec!["c"])]),
            listed: Vec::new(),
        }
    }

    #[test]
    fn each_scope_is_listed_once_and_entries_keep_manifest_order() {
        let mut t = toy();
        let desired = [
            entry(2, "c", None),
            entry(1, "a", None),
            entry(2, "new", None),
        ];
        let (steps, unclaimed) = run(&mut t, &desired, false);
        assert_eq!(t.listed, vec![1, 2]);
        let keys: Vec<(&str, Action)> = steps.iter().map(|s| (s.0.as_str(), s.1)).collect();
        assert_eq!(
            keys,
            [
                ("2/c", Action::Unchanged),
                ("1/a", Action::Unchanged),
                ("2/new", Action::Create)
            ]
        );
        // "b" and "old" in scope 1: what --prune would delete.
        assert_eq!(unclaimed, 2);
        let mut none = toy();
        assert_eq!(run(&mut none, &[], true), (Vec::new(), 0));
        assert!(none.listed.is_empty(), "no entry: nothing is listed");
    }

    #[test]
    fn an_alias_never_takes_an_object_another_entry_names_and_prune_deletes_the_rest() {
        let mut t = toy();
        // Entry 1 would take over "b", which entry 2 names itself: it is
        // told so; entry 3 takes over "old".
        let desired = [
            entry(1, "x", Some("b")),
            entry(1, "b", None),
            entry(1, "y", Some("old")),
            entry(1, "a", Some("a")),
        ];
        let (steps, unclaimed) = run(&mut t, &desired, true);
        assert_eq!(
            steps,
            [
                ("1/x".to_owned(), Action::Create, "Other".to_owned()),
                ("1/b".to_owned(), Action::Unchanged, String::new()),
                ("1/y".to_owned(), Action::Create, "Nobody".to_owned()),
                ("1/a".to_owned(), Action::Unchanged, "Me".to_owned()),
                // Scope 2 is not listed: no entry names it.
            ]
        );
        assert_eq!(unclaimed, 0);
        assert_eq!(t.listed, vec![1]);
        let (steps, _) = run(&mut toy(), &[entry(1, "a", None)], true);
        let deletes: Vec<&str> = steps
            .iter()
            .filter(|s| s.1 == Action::Delete)
            .map(|s| s.0.as_str())
            .collect();
        assert_eq!(deletes, ["1/b", "1/old"]);
    }
}
