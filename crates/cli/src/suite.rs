//! The conformance suite as data: each case is a TOML file with an input (a file, or a
//! `segur build` recipe with textual edits), the profile, and the expected verdict and rule
//! ids. Adding a case needs no Rust. A case that cannot be judged (no input, an edit that finds
//! nothing, a rule id that no rule set run on the input can report) is an error of the suite,
//! not a failure of the input: exit 2.
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
                Some(rel) if !segur_validate::select::within_rules(rel) => {
                    return Err(format!(
                        "input `{f}` leaves the rules directory (absolute, or through `..`)"
                    ));
                }
                Some(rel) => rules_dir.join(rel),
                None => file.parent().unwrap_or(Path::new(".")).join(f),
            };
            // A suite is files: a FIFO or a device would block the run or never end it.
            match std::fs::metadata(&path) {
                Ok(m) if !m.is_file() => {
                    return Err(format!(
                        "input {}: not a regular file (a FIFO, socket or device)",
                        path.display()
                    ));
                }
                _ => crate::read_bounded(&path, crate::MAX_INPUT)
                    .map_err(|e| format!("input {}: {e}", path.display()))?,
            }
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
        if e.replace.is_empty() {
            // It would match at the very start and put the text before the root element.
            return Err(
                "edit: an empty `replace` matches anywhere: give the text to change".into(),
            );
        }
        if !text.contains(&e.replace) {
            return Err(format!("edit: '{}' not found in the input", e.replace));
        }
        bytes = text.replacen(&e.replace, &e.with, 1).into_bytes();
    }
    Ok(bytes)
}

/// Why a case did not pass.
#[derive(Debug)]
enum Problem {
    /// The input was checked and did not behave as the case expects.
    Fail(String),
    /// The case cannot be judged: its input cannot be made, a setting is wrong, or it names a
    /// rule that no rule set run on its input can report (an `absent` check that cannot fail).
    Broken(String),
}

/// The rule ids each rule set can report, gathered once per rule set.
#[derive(Default)]
struct KnownRules(HashMap<String, Result<std::collections::HashSet<String>, String>>);

impl KnownRules {
    /// The first of `ids` that none of `rule_sets` can report, as a reason.
    fn unknown(&mut self, engine: &Engine, rule_sets: &[&str], ids: &[&String]) -> Option<String> {
        for rs in rule_sets {
            let known = self
                .0
                .entry(rs.to_string())
                .or_insert_with(|| engine.rule_ids(rs).map(|ids| ids.into_iter().collect()));
            if let Err(e) = known {
                return Some(format!("rule set {rs} cannot be read: {e}"));
            }
        }
        let id = ids.iter().find(|id| {
            !rule_sets
                .iter()
                .any(|rs| matches!(self.0.get(*rs), Some(Ok(k)) if k.contains(id.as_str())))
        })?;
        Some(format!(
            "rule {id} is not a rule of the rule sets run on this input ({}): check the id",
            rule_sets.join(", ")
        ))
    }
}

/// Run one case; `Ok(())` when it behaves as expected, else why not.
fn run_case(
    case: &Case,
    file: &Path,
    engines: &mut HashMap<String, Engine>,
    known: &mut KnownRules,
    rules: &RulesOptions,
) -> Result<(), Problem> {
    let engine = match engines.get(&case.select) {
        Some(e) => e,
        None => {
            let mut opts = rules.clone();
            opts.select = match case.select.as_str() {
                "auto" => Select::Auto,
                "pi" => Select::Pi,
                "mapping" => Select::Mapping,
                other => {
                    return Err(Problem::Broken(format!(
                        "select must be auto, pi or mapping, not '{other}'"
                    )));
                }
            };
            let e = engine(&opts, Profile::Default).map_err(|f| Problem::Broken(f.message))?;
            engines.entry(case.select.clone()).or_insert(e)
        }
    };
    let official = match case.profile.as_str() {
        "official" => true,
        "default" => false,
        other => {
            return Err(Problem::Broken(format!(
                "profile must be official or default, not '{other}'"
            )));
        }
    };
    let expect = case.expect.as_str();
    if !matches!(expect, "conformant" | "nonconformant" | "unreadable") {
        return Err(Problem::Broken(format!(
            "expect must be conformant, nonconformant or unreadable, not '{expect}'"
        )));
    }
    let bytes = load_input(case, file, &engine.options().rules_dir).map_err(Problem::Broken)?;
    let mut outcome = engine.validate(&bytes);
    if official {
        outcome
            .findings
            .retain(|f| f.rule_set.as_deref() != Some("segur"));
        outcome.rule_sets.retain(|rs| rs != "segur");
    }
    let named: Vec<&String> = case.rules.iter().chain(&case.absent).collect();
    if outcome.problem.is_none() {
        let rule_sets: Vec<&str> = outcome.rule_sets.iter().map(String::as_str).collect();
        if let Some(reason) = known.unknown(engine, &rule_sets, &named) {
            return Err(Problem::Broken(reason));
        }
    } else if expect == "unreadable" && !named.is_empty() {
        return Err(Problem::Broken(
            "an unreadable input runs no rule: `rules` and `absent` cannot be checked".into(),
        ));
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
    if verdict != expect {
        let mut p = format!("verdict {verdict}, expected {expect}");
        if let Some(e) = &report.error {
            p.push_str(&format!(" ({}", e.message));
            if let (Some(l), Some(c)) = (e.line, e.column) {
                p.push_str(&format!(" at line {l}, column {c}"));
            }
            p.push(')');
        }
        problems.push(p);
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
        Err(Problem::Fail(format!(
            "{}; findings: [{}]",
            problems.join("; "),
            errors.join(" | ")
        )))
    }
}

/// One case's name, description and result.
type CaseResult = (String, String, Result<(), Problem>);

fn junit(results: &[CaseResult]) -> String {
    let esc = |s: &str| {
        segur_report::xml_safe(s)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failures = results
        .iter()
        .filter(|r| matches!(r.2, Err(Problem::Fail(_))))
        .count();
    let errors = results
        .iter()
        .filter(|r| matches!(r.2, Err(Problem::Broken(_))))
        .count();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"segur conformance\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\">\n  <testsuite name=\"segur conformance\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">\n",
        n = results.len()
    );
    for (name, description, r) in results {
        x.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"segur.conformance\">",
            esc(name)
        ));
        match r {
            Ok(()) => x.push_str(&format!("<system-out>{}</system-out>", esc(description))),
            Err(Problem::Fail(e)) => x.push_str(&format!(
                "<failure message=\"{}\" type=\"conformance\">{}</failure>",
                esc(e),
                esc(description)
            )),
            Err(Problem::Broken(e)) => x.push_str(&format!(
                "<error message=\"{}\" type=\"broken-case\">{}</error>",
                esc(e),
                esc(description)
            )),
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// `segur conformance run DIR [--junit FILE]`: exit 1 when a case fails, 2 when a case cannot
/// be judged (after every case has run and the JUnit report is written).
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
    let mut known = KnownRules::default();
    let mut results: Vec<CaseResult> = Vec::new();
    for f in &files {
        let name = f.strip_prefix(dir).unwrap_or(f).display().to_string();
        // A case file that cannot be read is a case that cannot be run: the others still are.
        let case = std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                toml::from_str::<Case>(&text).map_err(|e| segur_tls::toml_error_line(&text, &e))
            });
        let (description, r) = match case {
            Ok(case) => {
                let r = run_case(&case, f, &mut engines, &mut known, rules);
                (case.description, r)
            }
            Err(e) => (String::new(), Err(Problem::Broken(e))),
        };
        match &r {
            Ok(()) => out(format_args!("pass {name}"))?,
            Err(Problem::Fail(e)) => out(format_args!("FAIL {name}: {e}"))?,
            Err(Problem::Broken(e)) => out(format_args!("ERROR {name}: {e}"))?,
        }
        results.push((name, description, r));
    }
    let failed = results
        .iter()
        .filter(|r| matches!(r.2, Err(Problem::Fail(_))))
        .count();
    let broken: Vec<&str> = results
        .iter()
        .filter(|r| matches!(r.2, Err(Problem::Broken(_))))
        .map(|r| r.0.as_str())
        .collect();
    if let Some(p) = junit_path {
        std::fs::write(p, junit(&results)).map_err(|e| {
            Failure::infra(format!(
                "{}: cannot write the JUnit report: {e}",
                p.display()
            ))
        })?;
    }
    let passed = results.len() - failed - broken.len();
    if broken.is_empty() {
        out(format_args!("{passed} passed, {failed} failed"))?;
    } else {
        out(format_args!(
            "{passed} passed, {failed} failed, {} could not be run",
            broken.len()
        ))?;
        return Err(Failure::usage(format!(
            "{}: {} case(s) could not be run: {}",
            dir.display(),
            broken.len(),
            broken.join(", ")
        )));
    }
    Ok(if failed == 0 {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}
