//! The file-level pass: duplicate bodies across files, then suppression
//! bookkeeping.

use super::*;

/// The passes that need every file: duplicate bodies across files, then suppression
/// bookkeeping (unused or reason-less suppressions). Call once after checking.
pub fn mark_duplicates(engine: &Engine, reports: &mut [FileReport]) {
    duplicates(engine, reports);
    for r in reports.iter_mut() {
        crate::suppress::apply(&mut r.suppressions, &mut r.diagnostics);
        let mut extra = Vec::new();
        crate::suppress::report(&r.suppressions, &mut extra);
        engine.apply_settings(&mut extra);
        r.diagnostics.extend(extra);
        r.diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
    }
}

/// Adds a [`rules::DUPLICATE_BODY`] warning to every body whose tokens (whitespace and
/// comments aside) repeat an earlier body, in this file or an earlier one.
///
/// Linear in the number of bodies: one hash lookup per body, each file's line index
/// built at most once (only for files holding a first occurrence), and no sorting
/// here (the caller sorts each file's findings once).
pub(super) fn duplicates(engine: &Engine, reports: &mut [FileReport]) {
    let mut seen: HashMap<u64, (usize, usize)> = HashMap::new();
    let mut found = Vec::new();
    for (fi, r) in reports.iter().enumerate() {
        for (bi, b) in r.bodies.iter().enumerate() {
            let Some(fp) = b.fingerprint else { continue };
            match seen.get(&fp) {
                Some(&(ofi, obi)) => found.push((fi, bi, ofi, obi)),
                None => {
                    seen.insert(fp, (fi, bi));
                }
            }
        }
    }
    let mut lines: HashMap<usize, crate::text::LineIndex> = HashMap::new();
    let mut new: Vec<(usize, Diagnostic)> = Vec::with_capacity(found.len());
    for (fi, bi, ofi, obi) in found {
        let (Some(other), Some(this)) = (reports.get(ofi), reports.get(fi)) else {
            continue;
        };
        let Some(ob) = other.bodies.get(obi) else {
            continue;
        };
        let Some(b) = this.bodies.get(bi) else {
            continue;
        };
        let index = lines.entry(ofi).or_insert_with(|| {
            #[cfg(test)]
            super::tests::LINE_INDEXES.with(|n| n.set(n.get() + 1));
            crate::text::LineIndex::new(&other.text)
        });
        let line = index.line(ob.span.start) + 1;
        let first_line_end = b
            .text(&this.text)
            .find('\n')
            .map_or(b.span.end, |n| b.span.start + n);
        let mut d = Diagnostic::new(
            &rules::DUPLICATE_BODY,
            b.span.start..first_line_end.min(b.span.end),
            format!("this policy repeats the one at {}:{line}", other.name),
        )
        .with_help("delete one of them");
        d.body = Some(bi);
        new.push((fi, d));
    }
    let mut by_file: Vec<Vec<Diagnostic>> = vec![Vec::new(); reports.len()];
    for (fi, d) in new {
        if let Some(v) = by_file.get_mut(fi) {
            v.push(d);
        }
    }
    for (r, mut ds) in reports.iter_mut().zip(by_file) {
        engine.apply_settings(&mut ds);
        r.diagnostics.extend(ds);
    }
}
