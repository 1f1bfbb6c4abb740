//! Every check, with its stable code, name, default severity, the Atlas `errorType` it
//! reproduces, and its documentation (shown by `atlas-cedar explain CODE`).
//!
//! Codes never change meaning once released; a retired rule keeps its number.

use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A note: never fails a run, `--deny-warnings` included (e.g. a body that
    /// cannot be checked statically).
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// The `errorType` values Atlas answers a rejected body with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorType {
    #[serde(rename = "POLICY_HAS_BODY_EXCEEDING_MAX_SIZE")]
    BodyExceedingMaxSize,
    #[serde(rename = "POLICY_PARSING_ERROR")]
    ParsingError,
    #[serde(rename = "POLICY_HAS_INVALID_PRINCIPAL")]
    InvalidPrincipal,
    #[serde(rename = "POLICY_HAS_FAILED_VALIDATIONS")]
    FailedValidations,
    #[serde(rename = "POLICY_HAS_UNEXPECTED_ENTITIES")]
    UnexpectedEntities,
}

impl ErrorType {
    /// Every value, in the documented precedence order: when a body fails several
    /// checks, Atlas is assumed to report the first of these that applies (the order
    /// its checks plausibly run in: size before parsing, parsing before anything that
    /// needs a policy, the principal rule, schema validation, and last the lookup of
    /// entity ids "in the context of this organization").
    pub const PRECEDENCE: [ErrorType; 5] = [
        ErrorType::BodyExceedingMaxSize,
        ErrorType::ParsingError,
        ErrorType::InvalidPrincipal,
        ErrorType::FailedValidations,
        ErrorType::UnexpectedEntities,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BodyExceedingMaxSize => "POLICY_HAS_BODY_EXCEEDING_MAX_SIZE",
            ErrorType::ParsingError => "POLICY_PARSING_ERROR",
            ErrorType::InvalidPrincipal => "POLICY_HAS_INVALID_PRINCIPAL",
            ErrorType::FailedValidations => "POLICY_HAS_FAILED_VALIDATIONS",
            ErrorType::UnexpectedEntities => "POLICY_HAS_UNEXPECTED_ENTITIES",
        }
    }

    /// Position in [`ErrorType::PRECEDENCE`]: lower wins.
    pub fn rank(self) -> usize {
        Self::PRECEDENCE
            .iter()
            .position(|e| *e == self)
            .unwrap_or(usize::MAX)
    }
}

/// A check's identity and documentation.
#[derive(Debug, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub error_type: Option<ErrorType>,
    /// One line: what the rule reports.
    pub summary: &'static str,
    /// Markdown: why it matters, an example, and the fix.
    pub docs: &'static str,
}

macro_rules! rules {
    ($($id:ident = $code:literal $name:literal $sev:ident $et:expr, $summary:literal, $docs:literal;)*) => {
        $(pub static $id: Rule = Rule {
            code: $code,
            name: $name,
            severity: Severity::$sev,
            error_type: $et,
            summary: $summary,
            docs: $docs,
        };)*
        /// Every rule, in code order.
        pub static ALL: &[&Rule] = &[$(&$id),*];
    };
}

use ErrorType as E;

rules! {
    EMPTY_BODY = "AC100" "empty-body" Error Some(E::ParsingError),
    "a policy body with no policy in it",
    "Atlas requires every `policies[].body` to be non-empty (`minLength: 1`) and to hold one Cedar policy. An empty string, or a body of only comments and whitespace, is rejected.

Example:

```json
{ \"name\": \"x\", \"policies\": [ { \"body\": \"\" } ] }
```

Fix: write the policy, or remove the empty entry from `policies`.";

    SYNTAX_ERROR = "AC101" "syntax-error" Error Some(E::ParsingError),
    "the body is not valid Cedar syntax",
    "Atlas parses each body with Cedar's Rust parser and rejects it with `POLICY_PARSING_ERROR`; the `detail` is Cedar's own message, which this rule reproduces byte for byte (for example ``unexpected token `resource` ``).

Example (missing comma before `resource`):

```cedar
forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\" resource);
```

Fix: follow the help, here add `,` after the action constraint. Every syntax error of a file is reported, and the other policies of the file are still fully checked.";

    TOO_DEEPLY_NESTED = "AC102" "too-deeply-nested" Error Some(E::ParsingError),
    "the body nests parentheses, brackets or operators too deeply to parse safely",
    "Cedar's parser is recursive: a few hundred nested parentheses, or tens of thousands of chained operators, overflow its stack. This check refuses such a body before it is parsed, so one pathological file cannot crash the linter, the language server or (presumably) Atlas's own validation. The depth counts brackets, `if … then … else` expressions (each `if` until its bracket closes, so `else if` chains count too) and runs of `!`/`-`; the limit is 64 levels and 4,000 operators. `fmt`, `analyze` and `diff` refuse the same bodies.

Example: `forbid (principal, action, resource) when { ((((((((…1…)))))))) > 0 };` with 100,000 parentheses.

Fix: flatten the expression. No real guardrail needs more than a dozen levels.";

    BODY_TOO_LARGE = "AC103" "body-too-large" Error Some(E::BodyExceedingMaxSize),
    "the body is larger than the maximum Atlas accepts",
    "Atlas has an error type `POLICY_HAS_BODY_EXCEEDING_MAX_SIZE` but does not publish the limit. The default used here, 10,240 bytes of UTF-8, is an **assumption**: change it with `max-body-size` in `[lint]` of `atlas-cedar.toml` or `--max-body-size` once you know your org's real limit (send a large body to `:validate`).

Fix: split the body into several policies (each `forbid` is its own body), or shorten long literal lists.";

    CONSTRAINED_PRINCIPAL = "AC200" "constrained-principal" Error Some(E::InvalidPrincipal),
    "the policy constrains `principal`",
    "Atlas resource policies apply to every user: MongoDB's docs say to leave the principal as plain `principal` (\"do not change or omit\"). Any constraint (`principal == …`, `principal in …`, `principal is …`) is rejected with `POLICY_HAS_INVALID_PRINCIPAL`.

Example:

```cedar
forbid (principal == ResourcePolicy::User::\"alice\", action, resource);
```

Fix: write `principal` alone; express who is affected some other way (Atlas has no per-user policies).";

    PERMIT_NOT_ALLOWED = "AC201" "permit-not-allowed" Error Some(E::FailedValidations),
    "the policy is a `permit`; Atlas only accepts `forbid`",
    "Atlas allows everything unless a resource policy forbids it, and only `forbid` policies are accepted.

Example: `permit (principal, action, resource);`

Fix: invert the condition and use `forbid`. The quick fix changes the keyword; check the condition still says what you mean (a `permit … when { C }` usually becomes `forbid … unless { C }`).";

    TEMPLATE_NOT_ALLOWED = "AC202" "template-not-allowed" Error Some(E::FailedValidations),
    "the policy is a template (`?principal` or `?resource`)",
    "Atlas stores static policies only; template slots are rejected.

Example: `forbid (principal, action, resource in ?resource);`

Fix: replace the slot with a concrete entity, e.g. `resource in ResourcePolicy::Project::\"6217f7fff7957854e2d09179\"`.";

    MULTIPLE_POLICIES = "AC203" "multiple-policies-in-body" Error Some(E::FailedValidations),
    "one body holds more than one policy",
    "Each `policies[].body` must hold exactly one Cedar policy. In a `.cedar` file this cannot happen (each policy becomes its own body); it is reported for JSON request payloads.

Fix: give each policy its own `{ \"body\": … }` entry.";

    UNKNOWN_ENTITY_ID = "AC300" "unknown-entity-id" Error Some(E::UnexpectedEntities),
    "an entity id outside the fixed set Atlas knows (region, provider, TLS version, …)",
    "Atlas checks the ids of its fixed entity types (CloudProvider, Region, TLSVersion, CipherConfigMode, CipherSuite, ClusterType, ConfigServerManagementMode, Geography) and rejects others with `entity id X does not exist in the context of this organization`. Plain Cedar validation does not catch this. Regions use the cloud's own code in lower case prefixed by the provider (`aws:us-east-1`, `gcp:us-east1`, `azure:westeurope`), not Atlas names such as `US_EAST_1`.

Example: `ResourcePolicy::Region::\"aws:us-east1\"`

Fix: use the suggested id. When Atlas has added a region this tool does not know yet, add it under `[lint.entities]` in `atlas-cedar.toml`.";

    INVALID_OBJECT_ID = "AC301" "invalid-object-id" Error Some(E::UnexpectedEntities),
    "a Project or Cluster id that is not a 24-character hex ObjectId",
    "Project and Cluster ids are 24 lower-case hex digits. Placeholders copied from the docs (`<PROJECT_ID>`) or truncated ids cannot name a real project or cluster.

Example: `resource in ResourcePolicy::Project::\"<PROJECT_ID>\"`

Fix: paste the id from the Atlas UI (Project Settings) or `atlas projects list`. Whether the id exists can only be checked online.";

    UNKNOWN_ACTION = "AC400" "unknown-action" Error Some(E::FailedValidations),
    "the action is not one Atlas defines",
    "Cedar's strict validator, run against the Atlas schema of the namespace the body uses, does not know the action.

Example: `action == ResourcePolicy::Action::\"privateEndpoint.modify\"`

Fix: use the suggested name (`project.privateEndpoint.modify`). If Atlas added the action after this release, declare it in a schema file given to `--schema` or `schema` in `atlas-cedar.toml`.";

    UNKNOWN_ATTRIBUTE = "AC401" "unknown-attribute" Error Some(E::FailedValidations),
    "the attribute does not exist in the context of the policy's actions",
    "The validator found an attribute access that the schema does not define for every action the policy applies to.

Example: `context.cluster.maxGeneralClassInstanceSize` (the attribute is `maxGeneralClassInstanceSizeValue`).

Fix: use the suggested name, or narrow the policy's `action` to the actions that have the attribute.";

    MISSING_HAS_GUARD = "AC402" "missing-has-guard" Error Some(E::FailedValidations),
    "an optional attribute is read without a `has` check",
    "Some context attributes are optional (`minGeneralClassInstanceSizeValue`, `maxGeneralClassInstanceSizeValue`, `diskSizeGB`, `configServerManagementMode`). Reading one that is absent is an evaluation error, so the strict validator requires a `has` guard.

Example: `when { context.cluster.diskSizeGB > 100 }`

Fix: `when { context.cluster has diskSizeGB && context.cluster.diskSizeGB > 100 }`.";

    TYPE_MISMATCH = "AC403" "type-mismatch" Error Some(E::FailedValidations),
    "an operator or function is applied to values of the wrong type",
    "The strict validator type-checks every expression against the schema: comparing a `Long` with a `String`, `contains` on a non-set, `==` between incompatible entity types and so on.

Example: `context.project.clustersInProject > \"2\"`

Fix: use a value of the type the schema gives (`> 2`).";

    UNKNOWN_ENTITY_TYPE = "AC404" "unknown-entity-type" Error Some(E::FailedValidations),
    "the entity type is not in the Atlas schema",
    "The body names an entity type the schema of its namespace does not declare, for example a typo or a mix of the current `ResourcePolicy::` and legacy `cloud::` names in one body.

Fix: use one of the schema's types (`ResourcePolicy::Project`, `ResourcePolicy::Cluster`, `ResourcePolicy::Region`, …).";

    ACTION_NOT_APPLICABLE = "AC405" "action-not-applicable" Error Some(E::FailedValidations),
    "the scope can never match: the action does not apply to that resource type",
    "Each Atlas action applies to one resource type (`cluster.modify` to clusters, `project.*` to projects). A scope such as `resource is ResourcePolicy::Project` with `cluster.modify` can never match.

Fix: use `resource in ResourcePolicy::Project::\"…\"` to scope cluster actions to a project, or pick the action for the resource type.";

    INVALID_CALL = "AC406" "invalid-call" Error Some(E::FailedValidations),
    "an unknown function, a wrong number of arguments, or an invalid literal for `ip()`/`decimal()`",
    "Extension functions are checked by the validator: `ip(\"0.0.0.0/33\")` is not an address, `ip()` takes one literal string.

Fix: correct the call as the message says.";

    SCHEMA_VALIDATION = "AC407" "schema-validation" Error Some(E::FailedValidations),
    "another failure of Cedar's strict validation against the Atlas schema",
    "Any other error the strict validator reports (empty set literals, hierarchy violations, …).

Fix: as the message says.";

    LEGACY_DIALECT = "AC500" "legacy-dialect" Warning None,
    "the body uses the legacy `cloud::` names of the private preview",
    "Bodies written in the 2024 private preview use `cloud::Action::\"cluster.createEdit\"`, `cloud::cloudProvider`, `cloud::region`. Atlas still accepts them, but the documented names are `ResourcePolicy::Action::\"cluster.modify\"`, `ResourcePolicy::CloudProvider`, `ResourcePolicy::Region`, and new actions and attributes exist only there.

Fix: the quick fix rewrites every legacy name in the body.";

    SHARD_COUNT_OPERATOR = "AC501" "shard-count-operator" Warning None,
    "`minShardCount` compared with other than `<`, or `maxShardCount` with other than `>`",
    "MongoDB's docs: `context.cluster.minShardCount` is meant to be used only with `<` and `maxShardCount` only with `>`; \"using opposite comparison operators causes policy evaluation errors\". Atlas accepts the body, then fails at evaluation time.

Example: `when { context.cluster.minShardCount > 3 }`

Fix: `forbid … when { context.cluster.minShardCount < 3 }` (forbid fewer than 3 shards) or use `maxShardCount > N` for an upper bound.";

    UNCONDITIONAL_FORBID = "AC502" "unconditional-forbid" Warning None,
    "the body forbids its actions for every request anywhere (lockout)",
    "A `forbid` with no `when`/`unless` (or `when { true }`) blocks every request its scope matches. With an unconstrained resource and an action that creates or changes whole resources, nobody in the organization can create or change anything of that kind, including to undo the mistake through the same action.

Where the line is: the warning is given when the policy has no condition (or only `when { true }` / `unless { false }`), no resource constraint, and its action is unconstrained or includes an action that governs whole resources (`cluster.modify`, `search.index.modify`, `search.deployment.modify`, the legacy `cluster.createEdit` and `project.edit`). A bare forbid of a project setting action (`project.ipAccessList.modify`, `project.maintenanceWindow.modify`, `project.vpcPeering.modify`, `project.privateEndpoint.modify`, … every `project.<setting>.modify`) is not warned about: it freezes one kind of change to a project's settings while clusters and everything else stay manageable, which is a deliberate guardrail (MongoDB's own Terraform organization module ships such freezes), not a lockout. A policy scoped with `resource in …` or `resource == …` is deliberate too.

Example: `forbid (principal, action == ResourcePolicy::Action::\"cluster.modify\", resource);`

Fix: add the condition you meant. If a freeze of clusters is intended, scope it (`resource in ResourcePolicy::Project::\"…\"`).";

    ESCAPED_QUOTE = "AC503" "escaped-quote" Warning None,
    "literal `\\\"` in the body, usually pasted from a JSON payload",
    "MongoDB's own docs show bodies inside JSON strings, where quotes are written `\\\"`. Pasted into a `.cedar` file the backslashes stay, and Cedar reports `invalid token`.

Example: `action == ResourcePolicy::Action::\\\"cluster.modify\\\"`

Fix: the quick fix removes the backslashes before quotes.";

    DUPLICATE_BODY = "AC504" "duplicate-body" Warning None,
    "the same policy body appears twice",
    "Two bodies with the same tokens (whitespace and comments aside) do the same thing; Atlas stores both and every change has to be made twice.

Fix: delete one of them.";

    VALIDATOR_WARNING = "AC505" "validator-warning" Warning None,
    "a warning from Cedar's validator (e.g. a policy that can never apply)",
    "Cedar's validator also warns about policies that are impossible to satisfy and about confusable Unicode. A forbid that can never apply forbids nothing.

Fix: as the message says.";

    HAS_UNKNOWN_ATTRIBUTE = "AC506" "has-unknown-attribute" Warning None,
    "`has` tests an attribute that no action's context defines, so it is always false",
    "The validator accepts `context.cluster has maxGeneralClassInstanceSize` (it is simply false), so Atlas accepts the body, but the condition guarded by it can never hold and the policy forbids nothing. MongoDB's docs contain exactly this typo.

Example: `when { context.cluster has maxGeneralClassInstanceSize && context.cluster.maxGeneralClassInstanceSize > 60 }`

Fix: use the suggested attribute name (`maxGeneralClassInstanceSizeValue`).";

    BODY_NOT_CHECKED = "AC507" "body-not-checked" Info None,
    "a body in a Terraform or CloudFormation file that is only known when it is deployed",
    "`lint` checks the bodies a `.tf` file or a CloudFormation template spells out: heredocs, quoted strings and (Terraform) `file(\"…\")`. A body built with interpolation (`${var.x}`, `%{ if … }`), a variable, `templatefile(…)`, `join(…)` or a CloudFormation intrinsic function (`!Sub`, `Fn::Join`, `Ref`) has no text until `terraform apply` or the stack update. Rather than guess (a placeholder could hide an error or invent one), the body is reported with this note, which never fails a run, not even with `--deny-warnings`.

Fix: nothing to fix. To have such a body checked, keep it in a `.cedar` file read with `file(\"${path.module}/x.cedar\")`, or check the rendered plan (`terraform show -json`) bodies as payloads.";

    BODY_FROM_FILE = "AC508" "body-from-file" Info None,
    "a Terraform body read with `file(\"…\")`: that file is checked as the body",
    "`body = file(\"${path.module}/policies/x.cedar\")` sends the whole file as one body. `lint` checks that file as one body (so two policies in it are reported, as Atlas would) and says which resource uses it; this note marks the `file(…)` call.

Fix: nothing to fix.";

    UNUSED_SUPPRESSION = "AC910" "unused-suppression" Warning None,
    "a suppression comment that suppresses nothing",
    "`// atlas-cedar: allow(RULE) reason` silences RULE for the policy on the next line (or, before the first policy and followed by a blank line, for the whole file). One that no longer matches a finding hides nothing and misleads readers.

Fix: remove it.";

    SUPPRESSION_WITHOUT_REASON = "AC911" "suppression-without-reason" Warning None,
    "a suppression comment that does not say why",
    "Every suppression must explain itself so a reviewer can judge it later.

Example: `// atlas-cedar: allow(unconditional-forbid)`

Fix: `// atlas-cedar: allow(unconditional-forbid) freeze of the billing project until 2027`.";

    INVALID_SUPPRESSION = "AC912" "invalid-suppression" Error None,
    "a malformed suppression comment, an unknown rule, or an Atlas rule (which cannot be suppressed)",
    "Suppressions are `// atlas-cedar: allow(RULE[, RULE…]) reason` with rule codes or names. Rules that reproduce an Atlas rejection cannot be suppressed: Atlas would reject the body at push time anyway. A suppression must sit on the line before a policy, or before the first policy followed by a blank line (file-wide).

Fix: as the message says.";

    IO_ERROR = "AC900" "io-error" Error None,
    "a file could not be read",
    "The file does not exist, is not readable, or a directory walk met a symlink loop. Other files are still checked, and the run exits with status 2.

Fix: check the path and its permissions.";

    INVALID_UTF8 = "AC901" "invalid-utf8" Error None,
    "the file is not valid UTF-8",
    "Cedar source and Atlas bodies are UTF-8 text. The position of the first invalid byte is reported.

Fix: re-save the file as UTF-8.";

    INVALID_JSON = "AC902" "invalid-payload" Error None,
    "a `.json` input is not an Atlas resource-policy request payload",
    "JSON inputs must be the request body Atlas takes: `{ \"name\": …, \"policies\": [ { \"body\": \"…\" } ] }` (or an array of them).

Fix: as the message says.";

    SCHEMA_ERROR = "AC903" "schema-error" Error None,
    "a schema file given with `--schema` or in `atlas-cedar.toml` is invalid",
    "User schema files are Cedar schemas (`.cedarschema` text or `.json`). They extend the built-in Atlas schema namespace by namespace, or replace it with `schema-mode = \"replace\"`.

Fix: as the message says.";

    INVALID_IAC = "AC904" "invalid-iac-file" Error None,
    "a Terraform file or CloudFormation template that cannot be read",
    "`.tf` files are parsed as HCL (Terraform's syntax), `.yaml`/`.yml`/`.template` files and `.json` files that mention `MongoDB::Atlas::ResourcePolicy` as CloudFormation templates. A file that is not valid HCL, YAML or JSON, or a template with no `Resources`, is reported here with the position of the problem.

Fix: as the message says.";

    INVALID_MANIFEST = "AC905" "invalid-manifest" Error None,
    "a section of `atlas-cedar.toml` that `plan` and `push` would refuse",
    "When the config file is also a `plan`/`push` manifest (it has `[[resource_policy]]`, `[[search_index]]`, `[[private_endpoint_service]]`, … tables), `lint` checks those sections the way `plan` reads them before any request: unknown sections and keys, missing or malformed fields, duplicate entries, and the JSON definition and pipeline files they name. A pre-commit hook then catches a manifest mistake without Atlas credentials. The position is the entry's line (or the JSON file's).

Fix: as the message says; `docs/push.md` describes every section.";
}

/// Looks a rule up by code (`AC101`) or name (`syntax-error`), case-insensitively.
pub fn find(key: &str) -> Option<&'static Rule> {
    ALL.iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(key) || r.name.eq_ignore_ascii_case(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique_and_documented() {
        let mut codes: Vec<_> = ALL.iter().map(|r| r.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ALL.len());
        let mut names: Vec<_> = ALL.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        for r in ALL {
            assert!(r.docs.contains("Fix"), "{} has no fix section", r.code);
            assert_eq!(find(r.name), Some(*r));
        }
    }
}
