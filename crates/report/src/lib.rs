//! One report, many views: the same list of documents and findings written as text for people,
//! JSON (schema: `docs/schemas/report.schema.json`), JUnit XML for CI servers and SARIF 2.1.0
//! for code-scanning tools.

#![warn(missing_docs)]

mod junit;
mod sarif;

use serde::{Deserialize, Serialize};

use segur_finding::{Finding, Severity, printable};

pub use junit::{to_junit, xml_safe};

pub use sarif::to_sarif;

/// The URI identifying the JSON report format (its `$schema`).
pub const REPORT_SCHEMA_ID: &str = "https://segur.invalid/schemas/report-1.schema.json";

/// A document's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No error finding.
    Conformant,
    /// At least one error finding.
    Nonconformant,
    /// The input could not be read or is not XML: no rule ran.
    Unreadable,
}

/// Why a document could not be checked at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    /// One-line message.
    pub message: String,
    /// 1-based line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// A rule file of the run, for reproducibility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFile {
    /// Path relative to the rules directory.
    pub path: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

/// One document's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentReport {
    /// The input as given (`-` for standard input).
    pub path: String,
    /// SHA-256 of the input bytes, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Verdict.
    pub verdict: Verdict,
    /// Why it could not be checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<InputError>,
    /// The rule sets that ran (schematron paths, `XSD:…`, `segur`).
    pub rule_sets: Vec<String>,
    /// Notes on the run (a missing volet schematron, a substitute…).
    pub notes: Vec<String>,
    /// Findings, in rule-set order.
    pub findings: Vec<Finding>,
}

impl DocumentReport {
    /// Number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Totals of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Documents checked.
    pub documents: usize,
    /// Conformant documents.
    pub conformant: usize,
    /// Non-conformant documents.
    pub nonconformant: usize,
    /// Unreadable inputs.
    pub unreadable: usize,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The JSON format's identifier.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// `segur` and its version.
    pub tool: Tool,
    /// `official` or `default` (official rules plus segur's).
    pub profile: String,
    /// The rules directory and the files used, with their hashes.
    pub rules: Rules,
    /// Totals.
    pub summary: Summary,
    /// Per document.
    pub documents: Vec<DocumentReport>,
}

/// The tool that made the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `segur`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The rules of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// The rules directory.
    pub dir: String,
    /// The files loaded.
    pub files: Vec<RuleFile>,
}

impl Report {
    /// A report over `documents`, with totals computed.
    pub fn new(
        version: &str,
        profile: &str,
        rules: Rules,
        documents: Vec<DocumentReport>,
    ) -> Report {
        let mut summary = Summary {
            documents: documents.len(),
            ..Summary::default()
        };
        for d in &documents {
            match d.verdict {
                Verdict::Conformant => summary.conformant += 1,
                Verdict::Nonconformant => summary.nonconformant += 1,
                Verdict::Unreadable => summary.unreadable += 1,
            }
            summary.errors += d.count(Severity::Error);
            summary.warnings += d.count(Severity::Warning);
        }
        Report {
            schema: REPORT_SCHEMA_ID.into(),
            tool: Tool {
                name: "segur".into(),
                version: version.into(),
            },
            profile: profile.into(),
            rules,
            summary,
            documents,
        }
    }

    /// The JSON view.
    pub fn to_json(&self) -> String {
        // Serializing plain data to a String cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The text view: one line per finding, `path:line:column: severity rule message`, then a
    /// summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for d in &self.documents {
            // One line per finding, whatever a file name or a message holds.
            let path = printable(&d.path);
            if let Some(e) = &d.error {
                out.push_str(&format!(
                    "{}: error INPUT {}\n",
                    at(&path, e.line, e.column),
                    printable(&e.message)
                ));
            }
            for f in &d.findings {
                out.push_str(&finding_line(&d.path, f));
                out.push('\n');
            }
        }
        let s = &self.summary;
        out.push_str(&format!(
            "{} documents: {} conformant, {} non-conformant, {} unreadable; {} errors, {} warnings\n",
            s.documents, s.conformant, s.nonconformant, s.unreadable, s.errors, s.warnings
        ));
        out
    }
}

/// One finding as a line of the text report (no line end): `path:line:column: severity rule
/// message [source at xpath]`, text from outside escaped.
pub fn finding_line(path: &str, f: &Finding) -> String {
    format!(
        "{}: {} {} {} [{}{}]",
        at(&printable(path), f.location.line, f.location.column),
        f.severity.as_str(),
        f.rule,
        printable(&f.message),
        printable(&f.source.file),
        f.location
            .xpath
            .as_deref()
            .map(|x| format!(" at {}", printable(x)))
            .unwrap_or_default()
    )
}

/// `path:line:column`, or `path:line`, or `path` alone when the input has no text position
/// (a packaging finding about a zip entry or a missing header): never a made-up `0:0`.
pub fn at(path: &str, line: Option<u32>, column: Option<u32>) -> String {
    match (line.filter(|l| *l > 0), column.filter(|c| *c > 0)) {
        (Some(l), Some(c)) => format!("{path}:{l}:{c}"),
        (Some(l), None) => format!("{path}:{l}"),
        _ => path.to_string(),
    }
}
