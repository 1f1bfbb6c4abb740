//! Atlas request payloads in JSON (`{ "name", "policies": [ { "body": "…" } ] }`).
//!
//! Bodies inside JSON strings are checked like `.cedar` text; every position is mapped
//! back through the string's escapes to the byte in the JSON file, so `\n` and `\"`
//! in the payload do not shift the reported line and column.

use std::ops::Range;

/// One body found in a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadBody {
    /// The decoded body, as Atlas receives it.
    pub text: String,
    /// The string literal's contents (between the quotes) in the JSON file.
    pub raw_span: Range<usize>,
    /// `(decoded offset, raw offset)` points; between two points both advance together.
    points: Vec<(usize, usize)>,
}

impl PayloadBody {
    /// A body from `(decoded offset, raw offset)` points, raw offsets relative to
    /// `raw_span.start` and both increasing (built by [`crate::iac`]).
    pub fn from_points(text: String, raw_span: Range<usize>, points: Vec<(usize, usize)>) -> Self {
        PayloadBody {
            text,
            raw_span,
            points,
        }
    }

    /// Drops the final line breaks (`\n`, `\r`) of the text, as Terraform's
    /// `chomp` does; the kept text maps where it did.
    pub fn chomp(&mut self) {
        let kept = self.text.trim_end_matches(['\n', '\r']).len();
        let end = self.map_offset(kept) - self.raw_span.start;
        self.text.truncate(kept);
        self.points.retain(|(d, _)| *d < kept);
        self.points.push((kept, end));
    }

    /// Maps a byte offset in `text` to a byte offset in the JSON file.
    pub fn map_offset(&self, decoded: usize) -> usize {
        let idx = self.points.partition_point(|(d, _)| *d <= decoded);
        let (d, r) = idx
            .checked_sub(1)
            .and_then(|i| self.points.get(i))
            .copied()
            .unwrap_or((0, 0));
        let next_raw = self
            .points
            .get(idx)
            .map_or(self.raw_span.end - self.raw_span.start, |(_, r)| *r);
        self.raw_span.start + (r + (decoded - d)).min(next_raw.max(r))
    }
}

/// A payload that is not what Atlas takes, with where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError {
    pub message: String,
    pub span: Range<usize>,
}

const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    bodies: Vec<PayloadBody>,
}

#[derive(Debug)]
enum Found {
    /// A string: its decoded value and positions.
    Str(PayloadBody),
    Other,
}

/// Finds every `policies[].body` string of a payload (an object, or an array of them).
pub fn parse_payload(src: &str) -> Result<Vec<PayloadBody>, PayloadError> {
    // Strict JSON first: serde_json gives the best message for malformed input.
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(src) {
        let offset = offset_of(src, e.line(), e.column());
        return Err(PayloadError {
            message: format!("invalid JSON: {e}"),
            span: offset..offset,
        });
    }
    let mut p = Parser {
        src,
        pos: 0,
        bodies: Vec::new(),
    };
    p.ws();
    let top = p.pos;
    match p.peek() {
        Some(b'{') => p.request(0)?,
        Some(b'[') => {
            p.pos += 1;
            p.ws();
            if p.peek() == Some(b']') {
                p.pos += 1;
            } else {
                loop {
                    p.ws();
                    if p.peek() != Some(b'{') {
                        return Err(p.err("expected a resource-policy object"));
                    }
                    p.request(1)?;
                    p.ws();
                    match p.next() {
                        Some(b',') => continue,
                        Some(b']') => break,
                        _ => return Err(p.err("expected `,` or `]`")),
                    }
                }
            }
        }
        _ => {
            return Err(PayloadError {
                message: "expected a JSON object with a `policies` array".to_owned(),
                span: top..top,
            })
        }
    }
    Ok(p.bodies)
}

/// A JSON value with spans (strings keep their offset maps), for documents other
/// than payloads (CloudFormation templates).
#[derive(Debug)]
pub enum JsonNode {
    Str(PayloadBody),
    Object(Vec<(String, JsonNode)>, Range<usize>),
    Array(Vec<JsonNode>, Range<usize>),
    Other(Range<usize>),
}

/// Reads any JSON document into a [`JsonNode`] tree.
pub fn parse_tree(src: &str) -> Result<JsonNode, PayloadError> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(src) {
        let offset = offset_of(src, e.line(), e.column());
        return Err(PayloadError {
            message: format!("invalid JSON: {e}"),
            span: offset..offset,
        });
    }
    let mut p = Parser {
        src,
        pos: 0,
        bodies: Vec::new(),
    };
    p.tree(0)
}

/// serde_json's (line, column) as a byte offset; its column counts bytes, so an
/// error inside a multi-byte character is moved back to the character's start.
fn offset_of(src: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in src.split_inclusive('\n').enumerate() {
        if i + 1 == line {
            return floor_boundary(src, offset + column.saturating_sub(1));
        }
        offset += l.len();
    }
    src.len()
}

/// The nearest char boundary at or before `at` (clamped to the text).
fn floor_boundary(src: &str, at: usize) -> usize {
    let mut at = at.min(src.len());
    while !src.is_char_boundary(at) {
        at -= 1;
    }
    at
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek();
        self.pos += 1;
        b
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn err(&self, message: &str) -> PayloadError {
        let at = floor_boundary(self.src, self.pos);
        PayloadError {
            message: message.to_owned(),
            span: at..at,
        }
    }

    /// A resource-policy object: finds `policies`, then each element's `body`.
    fn request(&mut self, depth: usize) -> Result<(), PayloadError> {
        let start = self.pos;
        let mut saw_policies = false;
        self.object(depth, &mut |p, key, depth| {
            if key == "policies" {
                saw_policies = true;
                p.policies(depth)
            } else {
                p.value(depth).map(|_| ())
            }
        })?;
        if !saw_policies {
            return Err(PayloadError {
                message: "the object has no `policies` array".to_owned(),
                span: start..start + 1,
            });
        }
        Ok(())
    }

    fn policies(&mut self, depth: usize) -> Result<(), PayloadError> {
        self.ws();
        if self.peek() != Some(b'[') {
            return Err(self.err("`policies` must be an array of `{ \"body\": … }` objects"));
        }
        self.array(depth, &mut |p, depth| {
            p.ws();
            if p.peek() != Some(b'{') {
                return Err(p.err("each entry of `policies` must be an object with a `body`"));
            }
            let start = p.pos;
            let mut saw_body = false;
            p.object(depth, &mut |p, key, depth| {
                if key == "body" {
                    saw_body = true;
                    match p.value(depth)? {
                        Found::Str(body) => {
                            p.bodies.push(body);
                            Ok(())
                        }
                        Found::Other => Err(p.err("`body` must be a string of Cedar text")),
                    }
                } else {
                    p.value(depth).map(|_| ())
                }
            })?;
            if !saw_body {
                return Err(PayloadError {
                    message: "a `policies` entry has no `body`".to_owned(),
                    span: start..start + 1,
                });
            }
            Ok(())
        })
    }

    fn object(
        &mut self,
        depth: usize,
        member: &mut dyn FnMut(&mut Self, &str, usize) -> Result<(), PayloadError>,
    ) -> Result<(), PayloadError> {
        if depth > MAX_DEPTH {
            return Err(self.err("JSON nested too deeply"));
        }
        self.ws();
        self.pos += 1; // `{`
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let key = match self.string()? {
                Found::Str(s) => s.text,
                Found::Other => return Err(self.err("expected a key")),
            };
            self.ws();
            if self.next() != Some(b':') {
                return Err(self.err("expected `:`"));
            }
            self.ws();
            member(self, &key, depth + 1)?;
            self.ws();
            match self.next() {
                Some(b',') => continue,
                Some(b'}') => return Ok(()),
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    fn array(
        &mut self,
        depth: usize,
        element: &mut dyn FnMut(&mut Self, usize) -> Result<(), PayloadError>,
    ) -> Result<(), PayloadError> {
        if depth > MAX_DEPTH {
            return Err(self.err("JSON nested too deeply"));
        }
        self.pos += 1; // `[`
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            element(self, depth + 1)?;
            self.ws();
            match self.next() {
                Some(b',') => continue,
                Some(b']') => return Ok(()),
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }

    fn value(&mut self, depth: usize) -> Result<Found, PayloadError> {
        self.ws();
        match self.peek() {
            Some(b'"') => self.string(),
            Some(b'{') => self
                .object(depth, &mut |p, _, d| p.value(d).map(|_| ()))
                .map(|()| Found::Other),
            Some(b'[') => self
                .array(depth, &mut |p, d| p.value(d).map(|_| ()))
                .map(|()| Found::Other),
            Some(_) => {
                while self
                    .peek()
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.pos += 1;
                }
                Ok(Found::Other)
            }
            None => Err(self.err("unexpected end of input")),
        }
    }

    fn tree(&mut self, depth: usize) -> Result<JsonNode, PayloadError> {
        self.ws();
        let start = self.pos;
        match self.peek() {
            Some(b'"') => match self.string()? {
                Found::Str(b) => Ok(JsonNode::Str(b)),
                Found::Other => Err(self.err("expected a string")),
            },
            Some(b'{') => {
                let mut members = Vec::new();
                self.object(depth, &mut |p, key, d| {
                    let v = p.tree(d)?;
                    members.push((key.to_owned(), v));
                    Ok(())
                })?;
                Ok(JsonNode::Object(members, start..self.pos))
            }
            Some(b'[') => {
                let mut items = Vec::new();
                self.array(depth, &mut |p, d| {
                    items.push(p.tree(d)?);
                    Ok(())
                })?;
                Ok(JsonNode::Array(items, start..self.pos))
            }
            _ => {
                self.value(depth)?;
                Ok(JsonNode::Other(start..self.pos))
            }
        }
    }

    fn string(&mut self) -> Result<Found, PayloadError> {
        if self.next() != Some(b'"') {
            return Err(self.err("expected a string"));
        }
        let start = self.pos;
        let mut text = String::new();
        let mut points = vec![(0, 0)];
        loop {
            let rest = self.src.get(self.pos..).unwrap_or("");
            let Some(ch) = rest.chars().next() else {
                return Err(self.err("unterminated string"));
            };
            match ch {
                '"' => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok(Found::Str(PayloadBody {
                        text,
                        raw_span: start..end,
                        points,
                    }));
                }
                '\\' => {
                    let esc_start = self.pos - start;
                    points.push((text.len(), esc_start));
                    let (decoded, len) =
                        decode_escape(rest).ok_or_else(|| self.err("bad escape"))?;
                    text.push(decoded);
                    self.pos += len;
                    points.push((text.len(), self.pos - start));
                }
                c => {
                    text.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }
}

/// Decodes one escape at the start of `s` (which begins with `\`): the character and
/// how many bytes the escape takes.
fn decode_escape(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    let c = match b.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = u32::from_str_radix(s.get(2..6)?, 16).ok()?;
            if (0xD800..0xDC00).contains(&hi) {
                let lo_text = s.get(6..12)?;
                let lo = u32::from_str_radix(lo_text.strip_prefix("\\u")?, 16).ok()?;
                let code = 0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?);
                return Some((char::from_u32(code)?, 12));
            }
            return Some((char::from_u32(hi).unwrap_or('\u{FFFD}'), 6));
        }
        _ => return None,
    };
    Some((c, 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (fuzz seed 11, cases 2347 and 4578 of `.ci/run`): serde_json counts
    /// columns in bytes, so an error at a multi-byte character gave a span inside it,
    /// which a renderer slicing the text would panic on.
    #[test]
    fn error_spans_fall_on_char_boundaries() {
        for src in [
            "{\"policies\": [é]}",
            "{\"policies\": [{\"body\": \"x\"}] é}",
            "[{\"policies\": []}é",
            "{\"policies\": \"\u{1F600}\u{1F600}\u{1F600}",
            "\u{1F600}",
            "[{\"policies\": []}\u{1F600}]",
        ] {
            for text in [src.to_owned(), format!("\n\n  {src}")] {
                let errors = [parse_payload(&text).err(), parse_tree(&text).err()];
                for e in errors.into_iter().flatten() {
                    assert!(
                        text.is_char_boundary(e.span.start) && text.is_char_boundary(e.span.end),
                        "{text:?}: {e:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn finds_bodies_and_maps_offsets_through_escapes() {
        let src = "{\"name\":\"n\",\"policies\":[{\"body\":\"forbid (principal,\\n action, resource)\\n when { \\\"x\\\" == \\\"y\\\" };\"}]}";
        let bodies = parse_payload(src).unwrap_or_default();
        assert_eq!(bodies.len(), 1);
        let b = &bodies[0];
        assert!(b.text.contains("\n action"));
        // Every decoded character maps to the raw character it came from.
        for (i, ch) in b.text.char_indices() {
            let raw = b.map_offset(i);
            let raw_text = &src[raw..];
            match ch {
                '\n' => assert!(raw_text.starts_with("\\n")),
                '"' => assert!(raw_text.starts_with("\\\"")),
                c => assert!(
                    raw_text.starts_with(c),
                    "at {i}: {c:?} vs {:?}",
                    &raw_text[..3]
                ),
            }
        }
    }

    #[test]
    fn rejects_payloads_without_policies() {
        assert!(parse_payload("{\"name\": 1}").is_err());
        assert!(parse_payload("{\"policies\": [ {\"bod\": \"x\"} ]}").is_err());
        assert!(parse_payload("{\"policies\": [ {\"body\": 3} ]}").is_err());
        let e = parse_payload("{\n  \"policies\": [,]\n}").err();
        assert!(e.is_some_and(|e| e.message.starts_with("invalid JSON")));
        let deep = format!(
            "{{\"policies\":[{{\"body\":\"\",\"x\":{}{}}}]}}",
            "[".repeat(1000),
            "]".repeat(1000)
        );
        assert!(parse_payload(&deep).is_err());
    }
}
