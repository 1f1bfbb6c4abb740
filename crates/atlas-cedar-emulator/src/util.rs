//! Small helpers: ids, hashes, dates, header parsing.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};

/// `n` random lower-case hex digits.
pub(crate) fn random_hex(n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    (0..n)
        .map(|_| char::from(*HEX.get(fastrand::usize(..16)).unwrap_or(&b'0')))
        .collect()
}

/// A 24-hex ObjectId-like id.
pub(crate) fn object_id() -> String {
    random_hex(24)
}

pub(crate) fn is_object_id(s: &str) -> bool {
    s.len() == 24
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

pub(crate) fn md5_hex(s: &str) -> String {
    let digest = Md5::digest(s.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now as `2026-11-29T03:00:00Z`.
pub(crate) fn now_iso() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    iso_from_unix(secs)
}

pub(crate) fn iso_from_unix(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Howard Hinnant's algorithm: days since 1970-01-01 to (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// Parses the parameters of `Digest k=v, k="v", …` (the scheme already
/// stripped).
pub(crate) fn parse_auth_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some(eq) = rest.find('=') else { break };
        let key = rest
            .get(..eq)
            .unwrap_or("")
            .trim()
            .trim_start_matches(',')
            .trim();
        let after = rest.get(eq + 1..).unwrap_or("").trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut escaped = false;
            let mut end = quoted.len();
            for (i, c) in quoted.char_indices() {
                if escaped {
                    value.push(c);
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = i + 1;
                    break;
                } else {
                    value.push(c);
                }
            }
            (value, quoted.get(end..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (
                after.get(..end).unwrap_or("").trim().to_owned(),
                after.get(end..).unwrap_or(""),
            )
        };
        out.insert(key.to_ascii_lowercase(), value);
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` (enough for OAuth forms).
pub(crate) fn parse_form(s: &str) -> HashMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes one URL path segment: `%XX` escapes only (Azure endpoint ids,
/// names with spaces or slashes arrive encoded); an invalid escape is kept as
/// written.
pub(crate) fn decode_segment(s: &str) -> String {
    percent_decode_with(s, false)
}

fn percent_decode(s: &str) -> String {
    percent_decode_with(s, true)
}

/// `%XX` escapes decoded; `+` is a space only in form bodies.
fn percent_decode_with(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_from_unix(1_709_251_200), "2024-03-01T00:00:00Z");
    }

    #[test]
    fn auth_params() {
        let p = parse_auth_params(
            r#"username="pub", realm="MMS Public API", nonce="abc", uri="/x?a=1,2", qop=auth, nc=00000001, cnonce="c", response="r""#,
        );
        assert_eq!(p.get("username").map(String::as_str), Some("pub"));
        assert_eq!(p.get("uri").map(String::as_str), Some("/x?a=1,2"));
        assert_eq!(p.get("qop").map(String::as_str), Some("auth"));
        assert_eq!(p.get("nc").map(String::as_str), Some("00000001"));
        assert_eq!(p.get("response").map(String::as_str), Some("r"));
    }

    #[test]
    fn ids() {
        assert!(is_object_id(&object_id()));
        assert!(!is_object_id("<ORG_ID>"));
    }
}
