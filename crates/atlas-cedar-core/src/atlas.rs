//! What Atlas would answer: the 400 envelope for rejected bodies.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::check::{with_stack, Engine, FileReport};
use crate::rules::ErrorType;

/// Atlas's 400 body for rejected resource-policy bodies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AtlasPolicyError {
    #[serde(rename = "errorType")]
    pub error_type: ErrorType,
    #[serde(rename = "invalidPolicies")]
    pub invalid_policies: Vec<InvalidPolicy>,
}

/// One rejected body and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidPolicy {
    pub body: String,
    pub errors: Vec<ErrorDetail>,
}

/// One reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub detail: String,
}

/// The response Atlas would give for the bodies of `report`, or `None` if it would
/// accept them. The response's `errorType` is the highest-precedence class among the
/// rejected bodies (see [`ErrorType::PRECEDENCE`]); each rejected body lists the
/// details of its own highest-precedence class.
pub fn response_for(report: &FileReport) -> Option<AtlasPolicyError> {
    let mut invalid = Vec::new();
    let mut top: Option<ErrorType> = None;
    let mut per_body: Vec<(Option<usize>, String)> = report
        .bodies
        .iter()
        .enumerate()
        .map(|(i, b)| (Some(i), b.text(&report.text).to_owned()))
        .collect();
    if report.bodies.is_empty() {
        per_body.push((None, String::new()));
    }
    for (idx, text) in per_body {
        let diags: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| d.body == idx && d.error_type().is_some())
            .collect();
        let Some(class) = diags
            .iter()
            .filter_map(|d| d.error_type())
            .min_by_key(|e| e.rank())
        else {
            continue;
        };
        top = Some(top.map_or(class, |t| if class.rank() < t.rank() { class } else { t }));
        invalid.push(InvalidPolicy {
            body: text,
            errors: diags
                .iter()
                .filter(|d| d.error_type() == Some(class))
                .map(|d| ErrorDetail {
                    detail: d.atlas_detail().to_owned(),
                })
                .collect(),
        });
    }
    top.map(|error_type| AtlasPolicyError {
        error_type,
        invalid_policies: invalid,
    })
}

fn shared_engine() -> Option<&'static Engine> {
    static ENGINE: OnceLock<Option<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::builtin().ok()).as_ref()
}

/// Checks the bodies of one create/update/`:validate` request against the built-in
/// schema, the way Atlas would: `None` when Atlas would accept them.
pub fn atlas_verdict(bodies: &[&str]) -> Option<AtlasPolicyError> {
    let engine = shared_engine()?;
    with_stack(|| {
        let mut report =
            FileReport::new("request", String::new(), crate::check::InputKind::Payload);
        for (i, body) in bodies.iter().enumerate() {
            let checked = engine.check_body(body);
            report
                .diagnostics
                .extend(checked.diagnostics.into_iter().map(|mut d| {
                    d.body = Some(i);
                    d
                }));
            report.bodies.push(crate::check::Body {
                decoded: Some((*body).to_owned()),
                span: 0..0,
                fingerprint: checked.fingerprint,
            });
        }
        response_for(&report)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_match_the_published_errors() {
        assert_eq!(
            atlas_verdict(&[
                "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource);"
            ]),
            None
        );
        let v = atlas_verdict(&[
            "forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\" resource);",
        ]);
        let v = v.unwrap_or_else(|| unreachable!());
        assert_eq!(v.error_type, ErrorType::ParsingError);
        assert_eq!(
            v.invalid_policies[0].errors[0].detail,
            "unexpected token `resource`"
        );
        let v = atlas_verdict(&[
            "forbid (principal, action == cloud::Action::\"cluster.createEdit\", resource) when { context.cluster.cloudProviders.contains(cloud::cloudProvider::\"aws222\") };",
        ])
        .unwrap_or_else(|| unreachable!());
        assert_eq!(v.error_type, ErrorType::UnexpectedEntities);
        assert_eq!(
            v.invalid_policies[0].errors[0].detail,
            "entity id aws222 does not exist in the context of this organization"
        );
        let json = serde_json::to_string(&v).unwrap_or_default();
        assert!(json.starts_with(
            "{\"errorType\":\"POLICY_HAS_UNEXPECTED_ENTITIES\",\"invalidPolicies\":[{\"body\":"
        ));
    }
}
