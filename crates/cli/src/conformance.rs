//! `segur conformance`: agreement with the official chain, document by document.

use std::collections::BTreeMap;

use segur_finding::Severity;
use segur_validate::engine::Profile;
use segur_validate::oracle::{OracleRow, Scope, compare, parse_jsonl};

use crate::args::ConformanceCommand;
use crate::validate::{Input, engine, inputs, jobs, run_all};
use crate::{Failure, Outcome, out};

fn role(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "info",
    }
}

pub(crate) fn run(cmd: ConformanceCommand) -> Result<Outcome, Failure> {
    match cmd {
        ConformanceCommand::Run { dir, junit, rules } => {
            crate::suite::run(&dir, junit.as_deref(), &rules)
        }
        ConformanceCommand::ComparePeer {
            dir,
            peer_results,
            xsd,
            verbose,
            rules,
        } => {
            if !dir.is_dir() {
                return Err(Failure::usage(format!(
                    "{}: not a directory of documents to compare",
                    dir.display()
                )));
            }
            let text = std::fs::read_to_string(&peer_results).map_err(|e| {
                Failure::usage(format!("{}: cannot read: {e}", peer_results.display()))
            })?;
            let peer = parse_jsonl(&text)
                .map_err(|e| Failure::usage(format!("{}: {e}", peer_results.display())))?;
            let mut opts = rules.clone();
            opts.no_xsd = !xsd;
            let engine = engine(&opts, Profile::Official)?;
            let inputs = inputs(std::slice::from_ref(&dir), false);
            let results = run_all(&engine, &inputs, jobs(None));
            let mut names = Vec::new();
            let mut ours = Vec::new();
            let mut problems = BTreeMap::new();
            for (input, r) in inputs.iter().zip(results) {
                let name = match input {
                    Input::File(p) => p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    other => other.name(),
                };
                match r {
                    Err(e) => {
                        problems.insert(name.clone(), e);
                    }
                    Ok(crate::validate::Checked { outcome: o, .. }) => {
                        if let Some(p) = &o.problem {
                            problems.insert(name.clone(), p.message.clone());
                        }
                        for f in o.findings {
                            let rule_set = f.rule_set.clone().unwrap_or_default();
                            let is_xsd = rule_set == "XSD";
                            ours.push(OracleRow {
                                document: name.clone(),
                                schematron: rule_set,
                                location: if is_xsd {
                                    format!("line {}", f.location.line.unwrap_or(0))
                                } else {
                                    f.location.xpath.clone().unwrap_or_default()
                                },
                                role: role(f.severity).into(),
                                text: f.message,
                                kind: if is_xsd {
                                    "xsd".into()
                                } else if f.rule == "RUN-ERROR" {
                                    "run-error".into()
                                } else {
                                    "failed-assert".into()
                                },
                            });
                        }
                    }
                }
                names.push(name);
            }
            if names.is_empty() {
                return Err(Failure::usage(format!(
                    "{}: no .xml document to compare",
                    dir.display()
                )));
            }
            let listed: std::collections::BTreeSet<&str> =
                names.iter().map(String::as_str).collect();
            let elsewhere: std::collections::BTreeSet<&str> = peer
                .iter()
                .map(|r| r.document.as_str())
                .filter(|d| !listed.contains(d))
                .collect();
            // failed.jsonl has rows only for failures: a document without rows is one the
            // peer found conformant. Results that name none of DIR's documents are those of
            // another directory, and every document would "agree" by having none.
            if !peer.is_empty() && peer.iter().all(|r| !listed.contains(r.document.as_str())) {
                return Err(Failure::usage(format!(
                    "{}: names none of the documents in {} (first: {}): the results of another directory?",
                    peer_results.display(),
                    dir.display(),
                    elsewhere.first().copied().unwrap_or_default()
                )));
            }
            if peer.is_empty() {
                out(format_args!(
                    "note: {} lists no failed assert: the peer found every document conformant (an empty file from a run that failed reads the same)",
                    peer_results.display()
                ))?;
            }
            if let Some(first) = elsewhere.first() {
                out(format_args!(
                    "note: the peer results name {} document(s) that are not in {}, not compared (first: {first})",
                    elsewhere.len(),
                    dir.display()
                ))?;
            }
            let diffs = compare(
                &names,
                &ours,
                &peer,
                Scope {
                    schematron: true,
                    xsd,
                },
            );
            let agree = diffs
                .iter()
                .filter(|d| d.agrees() && !problems.contains_key(&d.document))
                .count();
            for d in diffs
                .iter()
                .filter(|d| !d.agrees() || problems.contains_key(&d.document))
            {
                out(format_args!(
                    "differs: {} ({} missing, {} extra{})",
                    d.document,
                    d.missing.len(),
                    d.extra.len(),
                    problems
                        .get(&d.document)
                        .map(|p| format!("; input error: {p}"))
                        .unwrap_or_default()
                ))?;
                if verbose {
                    for m in &d.missing {
                        out(format_args!(
                            "  - {} {} {}",
                            m.schematron, m.location, m.text
                        ))?;
                    }
                    for x in &d.extra {
                        out(format_args!(
                            "  + {} {} {}",
                            x.schematron, x.location, x.text
                        ))?;
                    }
                }
            }
            out(format_args!("agree {agree}/{}", names.len()))?;
            Ok(if agree == names.len() {
                Outcome::Ok
            } else {
                Outcome::Invalid
            })
        }
    }
}
