//! Body validation: the one place the emulator decides whether Atlas would
//! accept a list of resource-policy bodies. It asks the core, which checks
//! bodies the way Atlas does (built-in schema, Atlas-specific rules).

use serde_json::Value;

/// `None` when every body is accepted, else Atlas's 400 envelope
/// `{errorType, invalidPolicies: [{body, errors: [{detail}]}]}`.
pub(crate) fn verdict(bodies: &[&str]) -> Option<Value> {
    let error = atlas_cedar_core::atlas_verdict(bodies)?;
    Some(serde_json::to_value(error).unwrap_or_else(|e| {
        serde_json::json!({
            "errorType": "POLICY_HAS_FAILED_VALIDATIONS",
            "invalidPolicies": [],
            "emulatorError": e.to_string(),
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_forbid_rejects_permit() {
        let good = "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource)\nwhen { context.project.clustersInProject > 2 };";
        assert!(verdict(&[good]).is_none());
        let v = verdict(&[good, "permit (principal, action, resource);"]);
        let v = v.map(|v| v.to_string()).unwrap_or_default();
        assert!(v.contains("\"errorType\":\"POLICY_"), "{v}");
        assert!(
            v.contains("\"invalidPolicies\":[{\"body\":\"permit (principal"),
            "{v}"
        );
        assert!(
            !v.contains("clustersInProject"),
            "only the bad body is listed: {v}"
        );
    }

    #[test]
    fn parse_error_detail_is_cedars() {
        let v = verdict(&["forbid (principal, action resource);"]).map(|v| v.to_string());
        let v = v.unwrap_or_default();
        assert!(v.contains("POLICY_PARSING_ERROR"), "{v}");
        assert!(v.contains("unexpected token `resource`"), "{v}");
    }
}
