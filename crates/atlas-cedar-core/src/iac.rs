//! Policy bodies embedded in infrastructure-as-code files: Terraform
//! (`mongodbatlas_resource_policy`, `policies[*].body`) and CloudFormation
//! (`MongoDB::Atlas::ResourcePolicy`, `Properties.Policies[*].Body`, JSON or YAML).
//!
//! The files are read with span-keeping parsers (`hcl-edit`, `saphyr-parser`, the
//! JSON reader of [`crate::payload`]); each literal body comes with a map from its
//! decoded offsets (the text Atlas receives) to offsets in the file, through string
//! escapes, heredoc indentation and YAML block-scalar indentation. Bodies the file
//! does not spell out literally (interpolation, variables, function calls) are
//! returned as [`Unchecked`], never guessed at.

use std::ops::Range;

use hcl_edit::Span as _;

use crate::payload::PayloadBody;

/// The CloudFormation resource type of Atlas resource policies.
pub const CFN_TYPE: &str = "MongoDB::Atlas::ResourcePolicy";
/// The Terraform resource type of Atlas resource policies.
pub const TF_TYPE: &str = "mongodbatlas_resource_policy";

/// One literal body found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddedBody {
    /// The resource it belongs to (`mongodbatlas_resource_policy.name`, or the
    /// CloudFormation logical id).
    pub resource: String,
    /// The decoded body and its map to file offsets.
    pub body: PayloadBody,
}

/// A body that cannot be checked statically, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unchecked {
    pub resource: String,
    pub span: Range<usize>,
    pub reason: String,
}

/// `body = file("…")`: the body is that file's whole text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    pub resource: String,
    /// The `file(…)` call.
    pub span: Range<usize>,
    /// The path as written, with `${path.module}`/`${path.root}`/`${path.cwd}` (and a
    /// leading `./`) removed: relative to the file's directory.
    pub path: String,
}

/// Everything found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extracted {
    pub bodies: Vec<EmbeddedBody>,
    pub unchecked: Vec<Unchecked>,
    pub files: Vec<FileRef>,
}

/// A file that cannot be read as what it claims to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IacError {
    pub message: String,
    pub span: Range<usize>,
}

// ---------------------------------------------------------------------------------
// Offset maps

/// How a literal's raw text encodes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escapes {
    /// Backslash escapes (quoted HCL strings, double-quoted YAML).
    Backslash,
    /// No backslash escapes (heredocs, YAML block and plain scalars).
    None,
}

/// Aligns a decoded value with the raw text it came from, appending
/// `(decoded offset, raw offset)` points (both relative to their own starts, the raw
/// one shifted by `raw_base`) for every decoded character. The parser decides the
/// value; this only finds where each character came from: equal characters advance
/// together, an escape yields one character, and raw characters a value never shows
/// (quotes, stripped indentation, block indicators) are skipped.
fn align(
    decoded: &str,
    raw: &str,
    escapes: Escapes,
    decoded_base: usize,
    raw_base: usize,
    points: &mut Vec<(usize, usize)>,
) {
    let d: Vec<(usize, char)> = decoded.char_indices().collect();
    let r: Vec<(usize, char)> = raw.char_indices().collect();
    let (mut i, mut j) = (0usize, 0usize);
    let raw_at = |j: usize| r.get(j).map_or(raw.len(), |(o, _)| *o);
    while let Some(&(doff, dc)) = d.get(i) {
        let Some(&(_, rc)) = r.get(j) else {
            points.push((decoded_base + doff, raw_base + raw.len()));
            i += 1;
            continue;
        };
        if rc == dc && !(escapes == Escapes::Backslash && rc == '\\') {
            points.push((decoded_base + doff, raw_base + raw_at(j)));
            i += 1;
            j += 1;
        } else if escapes == Escapes::Backslash && rc == '\\' {
            let len = match r.get(j + 1).map(|(_, c)| *c) {
                Some('u') => 6,
                Some('U') => 10,
                Some('x') => 4,
                _ => 2,
            };
            points.push((decoded_base + doff, raw_base + raw_at(j)));
            i += 1;
            j = (j + len).min(r.len());
        } else if rc.is_whitespace() && dc.is_whitespace() {
            // YAML folding: a line break read as a space.
            points.push((decoded_base + doff, raw_base + raw_at(j)));
            i += 1;
            j += 1;
        } else if rc.is_whitespace()
            || matches!(rc, '"' | '\'' | '|' | '>' | '-' | '+' | '$' | '%')
            || rc.is_ascii_digit()
        {
            j += 1;
        } else {
            // Not explained by the raw text: keep the position, move on.
            points.push((decoded_base + doff, raw_base + raw_at(j)));
            i += 1;
        }
    }
    // The end of the value maps to the end of what was read, not to the last
    // character's start plus its decoded length (which lands inside a
    // multi-byte raw character when the two differ).
    points.push((decoded_base + decoded.len(), raw_base + raw_at(j)));
}

fn body_from_points(
    text: String,
    raw_span: Range<usize>,
    points: Vec<(usize, usize)>,
) -> PayloadBody {
    PayloadBody::from_points(text, raw_span, points)
}

// ---------------------------------------------------------------------------------
// Terraform

/// Finds the bodies of every `mongodbatlas_resource_policy` resource of a `.tf` file.
pub fn terraform(src: &str) -> Result<Extracted, IacError> {
    let body = hcl_edit::parser::parse_body(src).map_err(|e| {
        let loc = e.location();
        let offset = loc.offset().min(src.len());
        IacError {
            message: format!(
                "invalid Terraform (HCL) syntax at {}:{}: {}",
                loc.line(),
                loc.column(),
                e.message()
            ),
            span: offset..offset,
        }
    })?;
    let mut out = Extracted::default();
    for block in body.blocks() {
        if block.ident.as_str() != "resource" {
            continue;
        }
        let (Some(kind), Some(name)) = (block.labels.first(), block.labels.get(1)) else {
            continue;
        };
        if kind.as_str() != TF_TYPE {
            continue;
        }
        let resource = format!("{TF_TYPE}.{}", name.as_str());
        // `policies = [ { body = … }, … ]` (the provider's schema) …
        if let Some(attr) = block.body.get_attribute("policies") {
            tf_policies(src, &resource, &attr.value, &mut out);
        }
        // … and `policies { body = … }` blocks, as older examples write them.
        for b in block.body.get_blocks("policies") {
            if let Some(attr) = b.body.get_attribute("body") {
                tf_body(src, &resource, &attr.value, &mut out);
            }
        }
    }
    Ok(out)
}

/// `s` as the text of an HCL template (a heredoc's lines): `${` and `%{`
/// escaped (`$${`, `%%{`), so Terraform reads back `s` itself.
pub fn hcl_template_text(s: &str) -> String {
    s.replace("${", "$${").replace("%{", "%%{")
}

/// `s` as a quoted HCL string that Terraform (and [`terraform`]) reads back
/// as `s`: quotes, backslashes and control characters escaped, and the
/// template sequences as in [`hcl_template_text`].
pub fn hcl_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    hcl_template_text(&out) + "\""
}

fn span_of(e: &impl hcl_edit::Span) -> Range<usize> {
    e.span().unwrap_or(0..0)
}

fn tf_policies(src: &str, resource: &str, value: &hcl_edit::expr::Expression, out: &mut Extracted) {
    use hcl_edit::expr::Expression;
    let Expression::Array(items) = value else {
        out.unchecked.push(Unchecked {
            resource: resource.to_owned(),
            span: span_of(value),
            reason: format!(
                "cannot check: `policies` of `{resource}` is computed by Terraform (`{}`); only literal bodies are checked",
                snippet(src, span_of(value))
            ),
        });
        return;
    };
    for item in items.iter() {
        let Expression::Object(obj) = item else {
            out.unchecked.push(Unchecked {
                resource: resource.to_owned(),
                span: span_of(item),
                reason: format!(
                    "cannot check: a `policies` entry of `{resource}` is computed by Terraform (`{}`)",
                    snippet(src, span_of(item))
                ),
            });
            continue;
        };
        for (key, v) in obj.iter() {
            let is_body = match key {
                hcl_edit::expr::ObjectKey::Ident(id) => id.as_str() == "body",
                hcl_edit::expr::ObjectKey::Expression(Expression::String(s)) => {
                    s.as_str() == "body"
                }
                hcl_edit::expr::ObjectKey::Expression(_) => false,
            };
            if is_body {
                tf_body(src, resource, v.expr(), out);
            }
        }
    }
}

fn snippet(src: &str, span: Range<usize>) -> String {
    let s = src.get(span).unwrap_or("").trim();
    let first = s.lines().next().unwrap_or("");
    let cut: String = first.chars().take(60).collect();
    if cut.len() < s.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

fn tf_body(src: &str, resource: &str, value: &hcl_edit::expr::Expression, out: &mut Extracted) {
    use hcl_edit::expr::Expression;
    use hcl_edit::template::Element;
    let interpolated = |span: Range<usize>| {
        Unchecked {
        resource: resource.to_owned(),
        span,
        reason: format!(
            "cannot check: this body of `{resource}` uses Terraform interpolation or directives (`${{…}}`, `%{{…}}`), so its text is only known at `terraform apply`; only literal bodies are checked"
        ),
    }
    };
    match value {
        Expression::String(s) => {
            let span = span_of(s);
            let raw = src.get(span.clone()).unwrap_or("");
            let mut points = Vec::new();
            align(s.as_str(), raw, Escapes::Backslash, 0, 0, &mut points);
            out.bodies.push(EmbeddedBody {
                resource: resource.to_owned(),
                body: body_from_points(s.as_str().to_owned(), span, points),
            });
        }
        Expression::StringTemplate(_) | Expression::HeredocTemplate(_) => {
            let (elements, escapes, span): (Vec<&Element>, Escapes, Range<usize>) = match value {
                Expression::StringTemplate(t) => {
                    (t.iter().collect(), Escapes::Backslash, span_of(t))
                }
                Expression::HeredocTemplate(h) => (
                    h.template.iter().collect(),
                    Escapes::None,
                    span_of(&h.template),
                ),
                _ => (Vec::new(), Escapes::None, 0..0),
            };
            if let Some(e) = elements.iter().find(|e| !e.is_literal()) {
                let s = match e {
                    Element::Interpolation(i) => span_of(i),
                    Element::Directive(d) => span_of(d),
                    Element::Literal(l) => span_of(l),
                };
                out.unchecked.push(interpolated(s));
                return;
            }
            let mut text = String::new();
            let mut points = Vec::new();
            let start = elements
                .iter()
                .filter_map(|e| e.as_literal())
                .filter_map(|l| l.span())
                .map(|s| s.start)
                .next()
                .unwrap_or(span.start);
            let mut end = start;
            for lit in elements.iter().filter_map(|e| e.as_literal()) {
                let lspan = lit.span().unwrap_or(end..end);
                let raw = src.get(lspan.clone()).unwrap_or("");
                align(
                    lit.as_str(),
                    raw,
                    escapes,
                    text.len(),
                    lspan.start.saturating_sub(start),
                    &mut points,
                );
                text.push_str(lit.as_str());
                end = end.max(lspan.end);
            }
            out.bodies.push(EmbeddedBody {
                resource: resource.to_owned(),
                body: body_from_points(text, start..end, points),
            });
        }
        // `chomp(<<EOT … EOT)`: a heredoc without its final newline(s), as
        // `atlas-cedar import --terraform` writes a body that has none.
        Expression::FuncCall(call)
            if call.name.namespace.is_empty()
                && call.name.name.as_str() == "chomp"
                && call.args.len() == 1
                && matches!(
                    call.args.get(0),
                    Some(
                        Expression::String(_)
                            | Expression::StringTemplate(_)
                            | Expression::HeredocTemplate(_)
                    )
                ) =>
        {
            let before = out.bodies.len();
            if let Some(arg) = call.args.get(0) {
                tf_body(src, resource, arg, out);
            }
            if out.bodies.len() > before {
                if let Some(b) = out.bodies.last_mut() {
                    b.body.chomp();
                }
            }
        }
        Expression::FuncCall(call)
            if call.name.namespace.is_empty() && call.name.name.as_str() == "file" =>
        {
            let path = match call.args.get(0) {
                Some(Expression::String(s)) if call.args.len() == 1 => Some(s.as_str().to_owned()),
                Some(Expression::StringTemplate(t)) if call.args.len() == 1 => module_path(t),
                _ => None,
            };
            match path {
                Some(path) => out.files.push(FileRef {
                    resource: resource.to_owned(),
                    span: span_of(call.as_ref()),
                    path,
                }),
                None => out.unchecked.push(Unchecked {
                    resource: resource.to_owned(),
                    span: span_of(call.as_ref()),
                    reason: format!(
                        "cannot check: the file this body of `{resource}` reads is only known at `terraform apply`"
                    ),
                }),
            }
        }
        other => {
            let span = span_of(other);
            out.unchecked.push(Unchecked {
                resource: resource.to_owned(),
                span: span.clone(),
                reason: format!(
                    "cannot check: this body of `{resource}` is computed by Terraform (`{}`); only literal bodies and `file(\"…\")` are checked",
                    snippet(src, span)
                ),
            });
        }
    }
}

/// `"${path.module}/x.cedar"`: the path relative to the module's directory.
fn module_path(t: &hcl_edit::template::StringTemplate) -> Option<String> {
    use hcl_edit::expr::Expression;
    use hcl_edit::template::Element;
    let mut out = String::new();
    for (i, e) in t.iter().enumerate() {
        match e {
            Element::Literal(l) => out.push_str(l.as_str()),
            Element::Interpolation(interp) if i == 0 => {
                let Expression::Traversal(tr) = &interp.expr else {
                    return None;
                };
                let Expression::Variable(v) = &tr.expr else {
                    return None;
                };
                let attr = tr.operators.first().and_then(|op| match op.value() {
                    hcl_edit::expr::TraversalOperator::GetAttr(a) => Some(a.as_str().to_owned()),
                    _ => None,
                });
                let ok = v.as_str() == "path"
                    && tr.operators.len() == 1
                    && matches!(attr.as_deref(), Some("module" | "root" | "cwd"));
                if !ok {
                    return None;
                }
            }
            _ => return None,
        }
    }
    let p = out.trim_start_matches('/').to_owned();
    Some(p.strip_prefix("./").map(str::to_owned).unwrap_or(p))
}

// ---------------------------------------------------------------------------------
// CloudFormation

/// A value of a JSON or YAML document, with spans.
#[derive(Debug)]
enum Node {
    Str(PayloadBody),
    Map(Vec<(String, Node)>, Range<usize>),
    Seq(Vec<Node>, Range<usize>),
    Other(Range<usize>),
}

impl Node {
    fn span(&self) -> Range<usize> {
        match self {
            Node::Str(b) => b.raw_span.clone(),
            Node::Map(_, s) | Node::Seq(_, s) | Node::Other(s) => s.clone(),
        }
    }

    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(m, _) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Whether a file's text is a CloudFormation template with Atlas resource policies.
pub fn looks_like_cloudformation(src: &str) -> bool {
    src.contains(CFN_TYPE)
}

/// Finds `Properties.Policies[*].Body` of every `MongoDB::Atlas::ResourcePolicy`
/// resource of a CloudFormation template (JSON when it starts with `{`, else YAML).
pub fn cloudformation(src: &str) -> Result<Extracted, IacError> {
    let root = if src.trim_start().starts_with('{') {
        crate::payload::parse_tree(src)
            .map_err(|e| IacError {
                message: e.message,
                span: e.span,
            })
            .map(from_json)?
    } else {
        yaml_tree(src)?
    };
    let mut out = Extracted::default();
    let Some(Node::Map(resources, _)) = root.get("Resources") else {
        return Err(IacError {
            message: "not a CloudFormation template: no `Resources` mapping".to_owned(),
            span: 0..0,
        });
    };
    for (id, res) in resources {
        let is_policy = matches!(res.get("Type"), Some(Node::Str(t)) if t.text == CFN_TYPE);
        if !is_policy {
            continue;
        }
        let resource = id.clone();
        let Some(policies) = res.get("Properties").and_then(|p| p.get("Policies")) else {
            continue;
        };
        let Node::Seq(items, _) = policies else {
            out.unchecked.push(Unchecked {
                resource: resource.clone(),
                span: policies.span(),
                reason: format!(
                    "cannot check: `Policies` of `{resource}` is not a literal list (an intrinsic function?); only literal bodies are checked"
                ),
            });
            continue;
        };
        for item in items {
            match item.get("Body") {
                Some(Node::Str(b)) => out.bodies.push(EmbeddedBody {
                    resource: resource.clone(),
                    body: b.clone(),
                }),
                Some(other) => out.unchecked.push(Unchecked {
                    resource: resource.clone(),
                    span: other.span(),
                    reason: format!(
                        "cannot check: this `Body` of `{resource}` is computed by CloudFormation (`Fn::Sub`, `Ref`, …); only literal bodies are checked"
                    ),
                }),
                None => {}
            }
        }
    }
    Ok(out)
}

fn from_json(v: crate::payload::JsonNode) -> Node {
    use crate::payload::JsonNode;
    match v {
        JsonNode::Str(b) => Node::Str(b),
        JsonNode::Object(members, span) => Node::Map(
            members
                .into_iter()
                .map(|(k, v)| (k, from_json(v)))
                .collect(),
            span,
        ),
        JsonNode::Array(items, span) => Node::Seq(items.into_iter().map(from_json).collect(), span),
        JsonNode::Other(span) => Node::Other(span),
    }
}

const MAX_YAML_DEPTH: usize = 128;

fn yaml_tree(src: &str) -> Result<Node, IacError> {
    use saphyr_parser::{Event, Parser};
    // saphyr counts characters; the rest of the engine counts bytes.
    let byte_of: Vec<usize> = src
        .char_indices()
        .map(|(o, _)| o)
        .chain(std::iter::once(src.len()))
        .collect();
    let to_byte = |chars: usize| byte_of.get(chars).copied().unwrap_or(src.len());
    let mut events = Vec::new();
    for ev in Parser::new_from_str(src) {
        match ev {
            Ok((ev, span)) => {
                events.push((ev, to_byte(span.start.index())..to_byte(span.end.index())));
            }
            Err(e) => {
                let m = e.marker();
                let offset = to_byte(m.index());
                return Err(IacError {
                    message: format!("invalid YAML at {}:{}: {}", m.line(), m.col() + 1, e.info()),
                    span: offset..offset,
                });
            }
        }
    }
    let mut it = events.into_iter().peekable();
    // Skip to the first document's root node.
    while let Some((ev, _)) = it.peek() {
        match ev {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => {
                it.next();
            }
            _ => break,
        }
    }
    yaml_node(src, &mut it, 0)
}

type YamlEvents<'a> =
    std::iter::Peekable<std::vec::IntoIter<(saphyr_parser::Event<'a>, Range<usize>)>>;

fn yaml_node(src: &str, it: &mut YamlEvents<'_>, depth: usize) -> Result<Node, IacError> {
    use saphyr_parser::{Event, ScalarStyle};
    if depth > MAX_YAML_DEPTH {
        return Err(IacError {
            message: "YAML nested too deeply".to_owned(),
            span: it.peek().map_or(0..0, |(_, s)| s.clone()),
        });
    }
    let Some((ev, span)) = it.next() else {
        return Ok(Node::Other(src.len()..src.len()));
    };
    Ok(match ev {
        Event::Scalar(value, style, _, tag) => {
            // A tagged scalar (`!Sub "…"`) is an intrinsic function, not a literal.
            if tag.is_some_and(|t| !t.is_yaml_core_schema()) {
                return Ok(Node::Other(span));
            }
            let raw = src.get(span.clone()).unwrap_or("");
            let escapes = if style == ScalarStyle::DoubleQuoted {
                Escapes::Backslash
            } else {
                Escapes::None
            };
            let mut points = Vec::new();
            align(&value, raw, escapes, 0, 0, &mut points);
            Node::Str(body_from_points(value.into_owned(), span, points))
        }
        Event::SequenceStart(_, tag) => {
            let mut items = Vec::new();
            loop {
                match it.peek() {
                    Some((Event::SequenceEnd, end)) => {
                        let end = end.end;
                        it.next();
                        let node = Node::Seq(items, span.start..end);
                        break if tag.is_some() {
                            Node::Other(node.span())
                        } else {
                            node
                        };
                    }
                    None => break Node::Seq(items, span),
                    _ => items.push(yaml_node(src, it, depth + 1)?),
                }
            }
        }
        Event::MappingStart(_, tag) => {
            let mut members = Vec::new();
            loop {
                match it.peek() {
                    Some((Event::MappingEnd, end)) => {
                        let end = end.end;
                        it.next();
                        let node = Node::Map(members, span.start..end);
                        break if tag.is_some() {
                            Node::Other(node.span())
                        } else {
                            node
                        };
                    }
                    None => break Node::Map(members, span),
                    _ => {
                        let key = match yaml_node(src, it, depth + 1)? {
                            Node::Str(k) => k.text,
                            _ => String::new(),
                        };
                        let value = yaml_node(src, it, depth + 1)?;
                        members.push((key, value));
                    }
                }
            }
        }
        _ => Node::Other(span),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    /// Every non-space character of the body maps to the same character in the file.
    fn assert_maps(src: &str, b: &PayloadBody) {
        for (i, ch) in b.text.char_indices() {
            if ch.is_whitespace() || ch == '"' || ch == '\\' {
                continue;
            }
            let raw = b.map_offset(i);
            assert!(
                src[raw..].starts_with(ch),
                "body offset {i} ({ch:?}) maps to {raw}: {:?}",
                &src[raw..(raw + 10).min(src.len())]
            );
        }
    }

    #[test]
    fn terraform_heredocs_and_quoted_strings() {
        let src = r#"
resource "mongodbatlas_resource_policy" "a" {
  org_id = "x"
  policies = [
    {
      body = <<-EOF
        forbid (principal, action, resource)
        when { context.cluster.regions.contains(ResourcePolicy::Region::"aws:us-east-1") };
      EOF
    },
    { body = "forbid (principal, action, resource)\n when { \"a\" == \"b\" };" },
    { body = <<EOF
forbid (principal, action, resource);
EOF
    },
    { body = file("${path.module}/p/x.cedar") },
    { body = "forbid (principal, action, resource) when { ${var.x} };" },
    { body = var.y },
  ]
}
resource "other" "b" { body = "x" }
"#;
        let out = terraform(src).unwrap();
        assert_eq!(out.bodies.len(), 3, "{out:#?}");
        let b0 = &out.bodies[0].body;
        assert!(b0.text.starts_with("forbid (principal"), "{:?}", b0.text);
        assert!(
            b0.text.contains("\nwhen {"),
            "indent stripped: {:?}",
            b0.text
        );
        assert_maps(src, b0);
        let b1 = &out.bodies[1].body;
        assert_eq!(
            b1.text,
            "forbid (principal, action, resource)\n when { \"a\" == \"b\" };"
        );
        assert_maps(src, b1);
        assert_eq!(
            out.bodies[2].body.text,
            "forbid (principal, action, resource);\n"
        );
        assert_maps(src, &out.bodies[2].body);
        assert_eq!(out.files.len(), 1);
        assert_eq!(out.files[0].path, "p/x.cedar");
        assert_eq!(out.unchecked.len(), 2, "{:#?}", out.unchecked);
        assert!(src[out.unchecked[0].span.clone()].starts_with("${var.x}"));
        assert_eq!(out.bodies[0].resource, "mongodbatlas_resource_policy.a");
    }

    #[test]
    fn terraform_chomp_of_a_heredoc_drops_its_final_newlines_only() {
        let src = "resource \"mongodbatlas_resource_policy\" \"a\" {\n  policies = [\n    {\n      body = chomp(<<EOT\nforbid (principal, action, resource)\nwhen { true };\n\nEOT\n      )\n    },\n    { body = chomp(var.x) },\n  ]\n}\n";
        let out = terraform(src).unwrap();
        assert_eq!(out.bodies.len(), 1, "{out:#?}");
        let b = &out.bodies[0].body;
        assert_eq!(
            b.text,
            "forbid (principal, action, resource)\nwhen { true };"
        );
        assert_maps(src, b);
        assert_eq!(out.unchecked.len(), 1, "chomp of a variable is computed");
    }

    #[test]
    fn terraform_syntax_errors_have_positions() {
        let e = terraform("resource \"x\" {\n  a = \n").unwrap_err();
        assert!(e.message.starts_with("invalid Terraform"), "{}", e.message);
    }

    #[test]
    fn cloudformation_yaml_and_json() {
        let yaml = r#"AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Guard:
    Type: MongoDB::Atlas::ResourcePolicy
    Properties:
      OrgId: x
      Policies:
        - Body: |
            forbid (principal, action, resource)
            when { context.cluster.regions.contains(ResourcePolicy::Region::"aws:us-east-1") };
        - Body: "forbid (principal, action, resource)\n when { \"a\" == \"b\" };"
        - Body: !Sub "forbid (${X})"
  Other:
    Type: AWS::S3::Bucket
"#;
        let out = cloudformation(yaml).unwrap();
        assert_eq!(out.bodies.len(), 2, "{out:#?}");
        assert!(out.bodies[0].body.text.starts_with("forbid (principal"));
        assert_maps(yaml, &out.bodies[0].body);
        assert_maps(yaml, &out.bodies[1].body);
        assert_eq!(out.unchecked.len(), 1);
        assert_eq!(out.bodies[0].resource, "Guard");

        let json = r#"{"Resources": {"G": {"Type": "MongoDB::Atlas::ResourcePolicy",
  "Properties": {"Policies": [{"Body": "forbid (principal, action, resource)\n when { \"a\" == \"b\" };"},
  {"Body": {"Fn::Sub": "x"}}]}}}}"#;
        let out = cloudformation(json).unwrap();
        assert_eq!(out.bodies.len(), 1);
        assert_maps(json, &out.bodies[0].body);
        assert_eq!(out.unchecked.len(), 1);
        assert!(cloudformation("a: [").is_err());
        assert!(cloudformation("{\"x\": 1}").is_err());
    }
}
