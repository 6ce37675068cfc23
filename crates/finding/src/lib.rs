//! The one `Finding` type shared by every validator of the harness (CDA XSD and schematrons,
//! segur's own rules, packaging checks, FHIR profiles): every report format (text, JSON,
//! JUnit, SARIF, HTML) is a view of a list of findings.

#![warn(missing_docs)]

mod text;

use serde::{Deserialize, Serialize};
pub use text::printable;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational (schematron `role="info"`).
    Info,
    /// A warning: does not change the verdict.
    Warning,
    /// An error: the document does not conform.
    Error,
}

impl Severity {
    /// The severity of a schematron assert or report from its `@role`, as the official chain
    /// counts it: `warning`/`warn` → warning, `info`/`information`/`hint` → info, anything
    /// else (none, `error`, `fatal`) → error.
    pub fn from_role(role: Option<&str>) -> Severity {
        // Compared without allocating: called once per check of every schematron loaded.
        let is = |names: &[&str]| {
            role.map(str::trim)
                .is_some_and(|r| names.iter().any(|n| r.eq_ignore_ascii_case(n)))
        };
        if is(&["warning", "warn"]) {
            Severity::Warning
        } else if is(&["info", "information", "hint"]) {
            Severity::Info
        } else {
            Severity::Error
        }
    }

    /// `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Where a rule comes from: the official file (path relative to the rules directory, and a
/// version or content hash) or segur's own catalogue (`docs/rules.md`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RuleSource {
    /// The file that defines the rule (e.g. `schematrons/profils/IHE.sch`), or `segur` for
    /// the harness's own catalogue.
    pub file: String,
    /// Line of the rule in that file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Version of the rule set: a release name or the SHA-256 of the file.
    pub version: String,
}

/// Where in the input a finding points.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Location {
    /// An XPath to the node (the SVRL location notation of the official chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xpath: Option<String>,
    /// 1-based line in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column (characters) in the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// One result of a validator.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// Stable rule id: the official assert id or a derived one, or a `SEGUR-…` id.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// The message, verbatim from the official file where there is one.
    pub message: String,
    /// The rule's source.
    pub source: RuleSource,
    /// The rule set that ran it, when it differs from the defining file: the schematron
    /// selected for the document (its includes define the rules), `XSD`, or `segur`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_set: Option<String>,
    /// Where in the input.
    pub location: Location,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_map_to_severities_whatever_their_case_and_spaces() {
        for (role, severity) in [
            (None, Severity::Error),
            (Some("error"), Severity::Error),
            (Some("fatal"), Severity::Error),
            (Some(""), Severity::Error),
            (Some("warnings"), Severity::Error),
            (Some(" Warning "), Severity::Warning),
            (Some("WARN"), Severity::Warning),
            (Some("info"), Severity::Info),
            (Some("\tInformation"), Severity::Info),
            (Some("hint"), Severity::Info),
        ] {
            assert_eq!(Severity::from_role(role), severity, "{role:?}");
        }
    }
}
