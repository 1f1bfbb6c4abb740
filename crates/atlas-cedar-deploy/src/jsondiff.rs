//! Semantic differences between two JSON documents, for plans: object keys
//! compare without regard to order, arrays element by element (the order of
//! pipeline stages and of index fields matters), numbers by value (`1` and
//! `1.0` are the same).

use serde_json::Value;

/// How the remote document is compared with the desired one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every key on either side counts.
    Exact,
    /// Keys the desired document leaves out are ignored on the remote side
    /// (Atlas fills in defaults, such as an index's analyzer).
    DesiredKeysOnly,
}

/// One line per difference, with its path: `~ mappings.dynamic: false → true`,
/// `+ mappings.fields.title: {"type":"string"}`, `- storedSource`.
pub fn diff(remote: &Value, desired: &Value, mode: Mode) -> Vec<String> {
    let mut out = Vec::new();
    walk("", remote, desired, mode, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    match (path.is_empty(), simple) {
        (true, true) => key.to_owned(),
        (true, false) => format!("{key:?}"),
        (false, true) => format!("{path}.{key}"),
        (false, false) => format!("{path}[{key:?}]"),
    }
}

fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(117).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn label(path: &str) -> &str {
    if path.is_empty() {
        "(whole document)"
    } else {
        path
    }
}

fn numbers_equal(a: &Value, b: &Value) -> Option<bool> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        }),
        _ => None,
    }
}

fn walk(path: &str, remote: &Value, desired: &Value, mode: Mode, out: &mut Vec<String>) {
    if let Some(eq) = numbers_equal(remote, desired) {
        if !eq {
            out.push(format!(
                "~ {}: {} → {}",
                label(path),
                show(remote),
                show(desired)
            ));
        }
        return;
    }
    match (remote, desired) {
        (Value::Object(r), Value::Object(d)) => {
            for (k, dv) in d {
                let p = join(path, k);
                match r.get(k) {
                    Some(rv) => walk(&p, rv, dv, mode, out),
                    None => out.push(format!("+ {p}: {}", show(dv))),
                }
            }
            if mode == Mode::Exact {
                for (k, rv) in r {
                    if !d.contains_key(k) {
                        out.push(format!("- {}: {}", join(path, k), show(rv)));
                    }
                }
            }
        }
        (Value::Array(r), Value::Array(d)) => {
            for (i, dv) in d.iter().enumerate() {
                let p = format!("{path}[{i}]");
                match r.get(i) {
                    Some(rv) => walk(&p, rv, dv, mode, out),
                    None => out.push(format!("+ {p}: {}", show(dv))),
                }
            }
            for (i, rv) in r.iter().enumerate().skip(d.len()) {
                out.push(format!("- {path}[{i}]: {}", show(rv)));
            }
        }
        (r, d) if r == d => {}
        (r, d) => out.push(format!("~ {}: {} → {}", label(path), show(r), show(d))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_is_ignored_array_order_is_not() {
        let a =
            json!({"mappings": {"dynamic": false, "fields": {"a": {"type": "string"}}}, "n": 1});
        let b =
            json!({"n": 1.0, "mappings": {"fields": {"a": {"type": "string"}}, "dynamic": false}});
        assert!(diff(&a, &b, Mode::Exact).is_empty());
        let p1 = json!([{"$source": {}}, {"$match": {"x": 1}}]);
        let p2 = json!([{"$match": {"x": 1}}, {"$source": {}}]);
        // Swapped stages: each position differs (one key added, one removed).
        let d = diff(&p1, &p2, Mode::Exact);
        assert_eq!(
            d,
            vec![
                "+ [0].$match: {\"x\":1}".to_owned(),
                "- [0].$source: {}".to_owned(),
                "+ [1].$source: {}".to_owned(),
                "- [1].$match: {\"x\":1}".to_owned(),
            ]
        );
    }

    #[test]
    fn paths_and_modes() {
        let remote = json!({"analyzer": "lucene.standard", "mappings": {"dynamic": false}});
        let desired = json!({"mappings": {"dynamic": true}, "storedSource": true});
        assert_eq!(
            diff(&remote, &desired, Mode::DesiredKeysOnly),
            vec![
                "~ mappings.dynamic: false → true".to_owned(),
                "+ storedSource: true".to_owned()
            ]
        );
        let exact = diff(&remote, &desired, Mode::Exact);
        assert!(
            exact.contains(&"- analyzer: \"lucene.standard\"".to_owned()),
            "{exact:?}"
        );
        assert_eq!(
            diff(&json!({"a b": [1, 2]}), &json!({"a b": [1]}), Mode::Exact),
            vec!["- \"a b\"[1]: 2".to_owned()]
        );
    }
}
