//! Body validation: the one place the emulator decides whether Atlas would
//! accept a list of resource-policy bodies.
//!
//! TODO(lead): switch to `atlas_cedar_core::atlas_verdict` once it exists;
//! until then a trivial placeholder check stands in (non-empty, `forbid`
//! only, balanced parentheses, ends with `;`).

use serde_json::{json, Value};

/// `None` when every body is accepted, else Atlas's 400 envelope
/// `{errorType, invalidPolicies: [{body, errors: [{detail}]}]}`.
pub(crate) fn verdict(bodies: &[&str]) -> Option<Value> {
    let mut error_type: Option<&str> = None;
    let mut invalid = Vec::new();
    for body in bodies {
        if let Some((kind, detail)) = placeholder_check(body) {
            error_type.get_or_insert(kind);
            invalid.push(json!({ "body": body, "errors": [ { "detail": detail } ] }));
        }
    }
    error_type.map(|t| json!({ "errorType": t, "invalidPolicies": invalid }))
}

fn placeholder_check(body: &str) -> Option<(&'static str, String)> {
    let text = body.trim();
    if text.is_empty() {
        return Some(("POLICY_PARSING_ERROR", "unexpected end of input".to_owned()));
    }
    let opens = text.matches('(').count();
    let closes = text.matches(')').count();
    if opens != closes || !text.ends_with(';') {
        return Some(("POLICY_PARSING_ERROR", "unexpected end of input".to_owned()));
    }
    if text.starts_with("permit") {
        return Some((
            "POLICY_HAS_FAILED_VALIDATIONS",
            "only forbid policies are allowed".to_owned(),
        ));
    }
    if !text.starts_with("forbid") && !text.starts_with('@') && !text.starts_with("//") {
        let token = text.split_whitespace().next().unwrap_or("");
        return Some((
            "POLICY_PARSING_ERROR",
            format!("unexpected token `{token}`"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_forbid_rejects_permit() {
        assert!(verdict(&["forbid (principal, action, resource);"]).is_none());
        let v = verdict(&[
            "forbid (principal, action, resource);",
            "permit (principal, action, resource);",
        ]);
        let v = v.map(|v| v.to_string()).unwrap_or_default();
        assert!(v.contains("POLICY_HAS_FAILED_VALIDATIONS"), "{v}");
        assert!(v.contains("permit (principal"), "{v}");
    }
}
