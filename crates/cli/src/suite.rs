//! The conformance suite as data: each case is a TOML file with an input (a file, or a
//! `segur build` recipe with textual edits), the profile, and the expected verdict and rule
//! ids. Adding a case needs no Rust.
//!
//! ```toml
//! description = "N1 body declared image/png: the official chain accepts it, segur does not"
//! profile = "default"            # or "official"
//! select = "mapping"             # auto (default) | pi | mapping
//! expect = "nonconformant"       # conformant | nonconformant | unreadable
//! rules = ["SEGUR-N1-MEDIATYPE"] # rule ids that must be reported
//! absent = []                    # rule ids that must not be reported
//!
//! [input]
//! build = "n1-cr-bio"            # or: file = "rules:ExemplesCDA/…" / a path beside the case
//! seed = 1
//! edits = [{ replace = 'mediaType="application/pdf"', with = 'mediaType="image/png"' }]
//! ```

use std::collections::HashMap;
use std::path::Path;

use segur_cda::{DocType, build};
use segur_ins::{Generator, SeedRng};
use segur_report::Verdict;
use segur_validate::engine::{Engine, Profile};
use serde::Deserialize;

use crate::args::{RulesOptions, Select};
use crate::validate::{Checked, document_report, engine};
use crate::{Failure, Outcome, out};

/// A textual edit of a built or read input.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Edit {
    replace: String,
    with: String,
}

/// Where a case's document comes from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseInput {
    file: Option<String>,
    build: Option<String>,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    edits: Vec<Edit>,
}

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    description: String,
    #[serde(default = "default_profile")]
    profile: String,
    #[serde(default = "default_select")]
    select: String,
    expect: String,
    #[serde(default)]
    rules: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    input: CaseInput,
}

fn default_profile() -> String {
    "default".into()
}

fn default_select() -> String {
    "auto".into()
}

fn load_input(case: &Case, file: &Path, rules_dir: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = match (&case.input.file, &case.input.build) {
        (Some(f), None) => {
            let path = match f.strip_prefix("rules:") {
                Some(rel) => rules_dir.join(rel),
                None => file.parent().unwrap_or(Path::new(".")).join(f),
            };
            std::fs::read(&path).map_err(|e| format!("input {}: {e}", path.display()))?
        }
        (None, Some(t)) => {
            let doc_type =
                DocType::from_name(t).ok_or_else(|| format!("unknown document type '{t}'"))?;
            let identity = Generator::new(case.input.seed).next_identity();
            build(doc_type, &identity, &mut SeedRng::new(case.input.seed)).to_bytes()
        }
        _ => return Err("input needs exactly one of `file` and `build`".into()),
    };
    for e in &case.input.edits {
        let text = String::from_utf8(bytes).map_err(|_| "edits need a UTF-8 input".to_string())?;
        if !text.contains(&e.replace) {
            return Err(format!("edit: '{}' not found in the input", e.replace));
        }
        bytes = text.replacen(&e.replace, &e.with, 1).into_bytes();
    }
    Ok(bytes)
}

/// Run one case; `Ok(())` when it behaves as expected, else why not.
fn run_case(
    case: &Case,
    file: &Path,
    engines: &mut HashMap<String, Engine>,
    rules: &RulesOptions,
) -> Result<(), String> {
    let engine = match engines.get(&case.select) {
        Some(e) => e,
        None => {
            let mut opts = rules.clone();
            opts.select = match case.select.as_str() {
                "auto" => Select::Auto,
                "pi" => Select::Pi,
                "mapping" => Select::Mapping,
                other => return Err(format!("select must be auto, pi or mapping, not '{other}'")),
            };
            let e = engine(&opts, Profile::Default).map_err(|f| f.message)?;
            engines.entry(case.select.clone()).or_insert(e)
        }
    };
    let official = match case.profile.as_str() {
        "official" => true,
        "default" => false,
        other => {
            return Err(format!(
                "profile must be official or default, not '{other}'"
            ));
        }
    };
    let bytes = load_input(case, file, &engine.options().rules_dir)?;
    let mut outcome = engine.validate(&bytes);
    if official {
        outcome
            .findings
            .retain(|f| f.rule_set.as_deref() != Some("segur"));
    }
    let checked = Checked {
        outcome,
        sha256: segur_validate::rules::sha256(&bytes),
    };
    let report = document_report(file.display().to_string(), Ok(checked));
    let verdict = match report.verdict {
        Verdict::Conformant => "conformant",
        Verdict::Nonconformant => "nonconformant",
        Verdict::Unreadable => "unreadable",
    };
    let found: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    let mut problems = Vec::new();
    if verdict != case.expect {
        problems.push(format!("verdict {verdict}, expected {}", case.expect));
    }
    for r in &case.rules {
        if !found.contains(&r.as_str()) {
            problems.push(format!("rule {r} not reported"));
        }
    }
    for r in &case.absent {
        if found.contains(&r.as_str()) {
            problems.push(format!("rule {r} reported"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let errors: Vec<String> = report
            .findings
            .iter()
            .take(5)
            .map(|f| format!("{} {}", f.rule, f.message))
            .collect();
        Err(format!(
            "{}; findings: [{}]",
            problems.join("; "),
            errors.join(" | ")
        ))
    }
}

fn junit(results: &[(String, String, Result<(), String>)]) -> String {
    let esc = |s: &str| {
        segur_report::xml_safe(s)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = results.iter().filter(|r| r.2.is_err()).count();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"segur conformance\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\">\n  <testsuite name=\"segur conformance\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">\n",
        n = results.len()
    );
    for (name, description, r) in results {
        x.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"segur.conformance\">",
            esc(name)
        ));
        match r {
            Ok(()) => x.push_str(&format!("<system-out>{}</system-out>", esc(description))),
            Err(e) => x.push_str(&format!(
                "<failure message=\"{}\" type=\"conformance\">{}</failure>",
                esc(e),
                esc(description)
            )),
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// `segur conformance run DIR [--junit FILE]`.
pub(crate) fn run(
    dir: &Path,
    junit_path: Option<&Path>,
    rules: &RulesOptions,
) -> Result<Outcome, Failure> {
    let mut files = Vec::new();
    crate::validate::walk(dir, "toml", &mut files, true)
        .map_err(|e| Failure::usage(format!("{}: {e}", dir.display())))?;
    if files.is_empty() {
        return Err(Failure::usage(format!(
            "{}: no case (*.toml)",
            dir.display()
        )));
    }
    let mut engines = HashMap::new();
    let mut results = Vec::new();
    for f in &files {
        let name = f.strip_prefix(dir).unwrap_or(f).display().to_string();
        let text = std::fs::read_to_string(f)
            .map_err(|e| Failure::usage(format!("{}: {e}", f.display())))?;
        let case: Case = toml::from_str(&text).map_err(|e| {
            Failure::usage(format!(
                "{}: {}",
                f.display(),
                segur_tls::toml_error_line(&text, &e)
            ))
        })?;
        let r = run_case(&case, f, &mut engines, rules);
        match &r {
            Ok(()) => out(format_args!("pass {name}"))?,
            Err(e) => out(format_args!("FAIL {name}: {e}"))?,
        }
        results.push((name, case.description, r));
    }
    let failed = results.iter().filter(|r| r.2.is_err()).count();
    if let Some(p) = junit_path {
        std::fs::write(p, junit(&results))
            .map_err(|e| Failure::infra(format!("{}: {e}", p.display())))?;
    }
    out(format_args!(
        "{} passed, {failed} failed",
        results.len() - failed
    ))?;
    Ok(if failed == 0 {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}
