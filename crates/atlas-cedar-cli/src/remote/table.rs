//! `-o json|table` for the direct commands.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// The JSON Atlas returned.
    Json,
}

/// A column: its header and the JSON pointer of its value in each row
/// (`/name`, `/statusDetail/0/status`).
pub type Column = (&'static str, &'static str);

fn cell(row: &Value, pointer: &str) -> String {
    match row.pointer(pointer) {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// The rows as an aligned table (headers first).
pub fn render_table(rows: &[Value], columns: &[Column]) -> String {
    let mut cells: Vec<Vec<String>> = vec![columns.iter().map(|(h, _)| (*h).to_owned()).collect()];
    for row in rows {
        cells.push(columns.iter().map(|(_, p)| cell(row, p)).collect());
    }
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| {
            cells
                .iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &cells {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// Prints `value` (one object or an array of them) as JSON or as a table.
pub fn print(value: &Value, columns: &[Column], format: Format) {
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        ),
        Format::Table => {
            let rows = match value {
                Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            print!("{}", render_table(&rows, columns));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn aligned_columns_with_missing_values() {
        let rows = vec![
            json!({"name": "default", "status": "READY"}),
            json!({"name": "a-much-longer-name"}),
        ];
        let t = render_table(&rows, &[("NAME", "/name"), ("STATUS", "/status")]);
        assert_eq!(
            t,
            "NAME                 STATUS\ndefault              READY\na-much-longer-name   -\n"
        );
    }
}
