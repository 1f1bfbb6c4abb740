//! The fixed entity-id sets Atlas checks (providers, regions, TLS versions, …) and the
//! legacy-to-current name map, loaded from the data files in `data/`.

use std::collections::{BTreeMap, BTreeSet};

const ENTITIES_TSV: &str = include_str!("../data/entities.tsv");
const REGIONS_TSV: &str = include_str!("../data/regions.tsv");
const LEGACY_TSV: &str = include_str!("../data/legacy.tsv");

/// One Atlas region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub provider: String,
    /// Atlas's own name, e.g. `US_EAST_1`.
    pub atlas_name: String,
    /// The cloud's code, e.g. `us-east-1`.
    pub native_code: String,
    pub location: String,
}

impl Region {
    /// The Cedar entity id, e.g. `aws:us-east-1`.
    pub fn id(&self) -> String {
        format!("{}:{}", self.provider, self.native_code)
    }
}

/// The types whose ids are fixed, keyed by their current (`ResourcePolicy`) name.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// type → id → description
    ids: BTreeMap<String, BTreeMap<String, String>>,
    regions: Vec<Region>,
    legacy_types: BTreeMap<String, String>,
    legacy_actions: BTreeMap<String, String>,
}

/// The types whose ids are 24-hex ObjectIds.
pub const OBJECT_ID_TYPES: [&str; 2] = ["Project", "Cluster"];

/// The current namespace.
pub const CURRENT_NAMESPACE: &str = "ResourcePolicy";
/// The legacy private-preview namespace.
pub const LEGACY_NAMESPACE: &str = "cloud";

impl Default for Catalog {
    fn default() -> Self {
        Self::builtin()
    }
}

fn tsv_rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').collect::<Vec<_>>())
}

impl Catalog {
    /// The catalog shipped with this release.
    pub fn builtin() -> Self {
        let mut ids: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for row in tsv_rows(ENTITIES_TSV).skip(1) {
            if let [ty, id, desc] = row.as_slice() {
                ids.entry((*ty).to_owned())
                    .or_default()
                    .insert((*id).to_owned(), (*desc).to_owned());
            }
        }
        let mut regions = Vec::new();
        for row in tsv_rows(REGIONS_TSV).skip(1) {
            if let [provider, atlas, native, location] = row.as_slice() {
                let region = Region {
                    provider: (*provider).to_owned(),
                    atlas_name: (*atlas).to_owned(),
                    native_code: (*native).to_owned(),
                    location: (*location).to_owned(),
                };
                ids.entry("Region".to_owned())
                    .or_default()
                    .insert(region.id(), region.location.clone());
                regions.push(region);
            }
        }
        let mut legacy_types = BTreeMap::new();
        let mut legacy_actions = BTreeMap::new();
        for row in tsv_rows(LEGACY_TSV) {
            match row.as_slice() {
                ["type", old, new] => {
                    legacy_types.insert((*old).to_owned(), (*new).to_owned());
                }
                ["action", old, new] => {
                    legacy_actions.insert((*old).to_owned(), (*new).to_owned());
                }
                _ => {}
            }
        }
        Catalog {
            ids,
            regions,
            legacy_types,
            legacy_actions,
        }
    }

    /// Adds ids (from the config file) to a type's fixed set.
    pub fn add_ids(&mut self, ty: &str, new: impl IntoIterator<Item = String>) {
        let set = self.ids.entry(ty.to_owned()).or_default();
        for id in new {
            set.entry(id)
                .or_insert_with(|| "added in atlas-cedar.toml".to_owned());
        }
    }

    /// Maps a type name of either namespace to its current name (`region` → `Region`).
    pub fn current_type_name<'a>(&'a self, namespace: &str, ty: &'a str) -> &'a str {
        if namespace == LEGACY_NAMESPACE {
            self.legacy_types.get(ty).map_or(ty, String::as_str)
        } else {
            ty
        }
    }

    /// The current name of a legacy action id (`cluster.createEdit` → `cluster.modify`).
    pub fn current_action_name(&self, legacy: &str) -> Option<&str> {
        self.legacy_actions.get(legacy).map(String::as_str)
    }

    /// The legacy name of a current type (`Region` → `region`), if it has one.
    pub fn legacy_type_name(&self, current: &str) -> Option<&str> {
        self.legacy_types
            .iter()
            .find(|(_, c)| c.as_str() == current)
            .map(|(l, _)| l.as_str())
    }

    /// The fixed ids of a type (current name), or `None` when its ids are not fixed.
    pub fn ids(&self, ty: &str) -> Option<&BTreeMap<String, String>> {
        self.ids.get(ty)
    }

    /// The types with fixed ids.
    pub fn fixed_types(&self) -> impl Iterator<Item = &str> {
        self.ids.keys().map(String::as_str)
    }

    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    pub fn region(&self, id: &str) -> Option<&Region> {
        self.regions.iter().find(|r| r.id() == id)
    }

    /// Likely intended ids for an unknown `id` of type `ty`, best first.
    pub fn suggest(&self, ty: &str, id: &str) -> Vec<String> {
        let Some(known) = self.ids.get(ty) else {
            return Vec::new();
        };
        // Case only.
        for k in known.keys() {
            if k.eq_ignore_ascii_case(id) {
                return vec![k.clone()];
            }
        }
        if ty == "Region" {
            // Atlas names (`US_EAST_1`, `aws:US_EAST_1`) and bare native codes (`us-east-1`).
            let (provider, rest) = match id.split_once(':') {
                Some((p, r)) => (Some(p.to_ascii_lowercase()), r),
                None => (None, id),
            };
            let matches: Vec<&Region> = self
                .regions
                .iter()
                .filter(|r| {
                    r.atlas_name.eq_ignore_ascii_case(rest)
                        || r.native_code.eq_ignore_ascii_case(rest)
                })
                .collect();
            let same_provider: Vec<String> = matches
                .iter()
                .filter(|r| provider.as_deref().is_none_or(|p| p == r.provider))
                .map(|r| r.id())
                .collect();
            if !same_provider.is_empty() {
                return same_provider;
            }
            if let Some(p) = &provider {
                // A typo in the code of a known provider: stay with that provider.
                let prefix = format!("{p}:");
                let close = closest(known.keys().filter(|k| k.starts_with(&prefix)), id);
                if !close.is_empty() {
                    return close;
                }
            }
            if !matches.is_empty() {
                return matches.iter().map(|r| r.id()).collect();
            }
        }
        closest(known.keys(), id)
    }
}

/// The candidates at the smallest edit distance from `id`, within a third of its length.
/// A known id with junk appended (`aws222`) or cut short counts as distance 1.
fn closest<'a>(candidates: impl Iterator<Item = &'a String>, id: &str) -> Vec<String> {
    let lower = id.to_ascii_lowercase();
    let limit = (id.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &String)> = candidates
        .map(|k| {
            let k_lower = k.to_ascii_lowercase();
            let prefix = k_lower.len() >= 3
                && lower.len() >= 3
                && (lower.starts_with(&k_lower) || k_lower.starts_with(&lower));
            let d = levenshtein(&k_lower, &lower);
            (if prefix { d.min(1) } else { d }, k)
        })
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    let best = scored.first().map(|(d, _)| *d);
    let out: BTreeSet<String> = scored
        .iter()
        .filter(|(d, _)| Some(*d) == best)
        .map(|(_, k)| (*k).clone())
        .collect();
    out.into_iter().take(3).collect()
}

/// Edit distance between two strings, in characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        if let Some(first) = cur.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            if let Some(slot) = cur.get_mut(j + 1) {
                *slot = sub.min(del).min(ins);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

/// The closest candidate to `word`: a candidate that ends with `.word` or starts with
/// `word` wins, otherwise the smallest edit distance within a third of the length.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    let lower = word.to_ascii_lowercase();
    if let Some(c) = candidates.iter().find(|c| c.to_ascii_lowercase() == lower) {
        return Some(c);
    }
    let suffix = format!(".{lower}");
    if let Some(c) = candidates
        .iter()
        .find(|c| c.to_ascii_lowercase().ends_with(&suffix))
    {
        return Some(c);
    }
    if word.len() >= 4 {
        if let Some(c) = candidates
            .iter()
            .filter(|c| c.to_ascii_lowercase().starts_with(&lower))
            .min_by_key(|c| c.len())
        {
            return Some(c);
        }
    }
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (levenshtein(&c.to_ascii_lowercase(), &lower), *c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_suggestions() {
        let c = Catalog::builtin();
        assert_eq!(c.suggest("Region", "aws:us-east1"), vec!["aws:us-east-1"]);
        assert_eq!(c.suggest("Region", "US_EAST_1"), vec!["aws:us-east-1"]);
        assert_eq!(c.suggest("Region", "aws:US_EAST_1"), vec!["aws:us-east-1"]);
        assert_eq!(c.suggest("CloudProvider", "AWS"), vec!["aws"]);
        assert!(c
            .suggest("CloudProvider", "aws222")
            .contains(&"aws".to_owned()));
        assert!(c
            .ids("Region")
            .is_some_and(|r| r.contains_key("gcp:us-east1")));
        assert!(c
            .ids("Region")
            .is_some_and(|r| r.contains_key("azure:westeurope")));
    }

    #[test]
    fn did_you_mean_prefers_suffix_and_prefix() {
        let actions = ["cluster.modify", "project.privateEndpoint.modify"];
        assert_eq!(
            did_you_mean("privateEndpoint.modify", actions),
            Some("project.privateEndpoint.modify")
        );
        let attrs = ["maxGeneralClassInstanceSizeValue", "minShardCount"];
        assert_eq!(
            did_you_mean("maxGeneralClassInstanceSize", attrs),
            Some("maxGeneralClassInstanceSizeValue")
        );
        assert_eq!(did_you_mean("minShardCont", attrs), Some("minShardCount"));
        assert_eq!(did_you_mean("zzz", attrs), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
    }
}
