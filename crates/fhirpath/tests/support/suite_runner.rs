//! Runs HL7's FHIRPath test suite (`tests-fhir-r4.xml` and its input files) against the
//! engine. Shared by `tests/official_suite.rs` and `examples/fhirpath_suite.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use segur_fhirpath::{Env, Expr, Item, Model, Node, Temporal, TemporalKind};
use serde_json::Value;

/// The verdict on one test case.
pub struct Outcome {
    pub group: String,
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

fn find_input(xml: &Path, file: &str) -> Option<PathBuf> {
    let json = file
        .strip_suffix(".xml")
        .map(|s| format!("{s}.json"))
        .unwrap_or_else(|| file.to_owned());
    let dir = xml.parent()?;
    [
        dir.join(&json),
        dir.join("input").join(&json),
        dir.join("..").join(&json),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

fn item_text(item: &Item<'_>) -> Option<String> {
    Some(match item.to_system() {
        Item::Boolean(b) => b.to_string(),
        Item::Integer(i) => i.to_string(),
        Item::Decimal(d) => d.to_string(),
        Item::String(s) => s.to_string(),
        Item::Temporal(t) if t.kind == TemporalKind::Time => format!("T{t}"),
        Item::Temporal(t) => t.to_string(),
        Item::Quantity(q) => q.to_string(),
        _ => return None,
    })
}

fn output_matches(item: &Item<'_>, ty: Option<&str>, expected: &str) -> bool {
    let expected = expected.trim();
    let Some(actual) = item_text(item) else {
        return false;
    };
    let sys = item.to_system();
    match ty {
        Some("boolean") => matches!(sys, Item::Boolean(_)) && actual == expected,
        Some("integer") => matches!(sys, Item::Integer(_)) && actual == expected,
        Some("decimal") => {
            matches!(sys, Item::Decimal(_) | Item::Integer(_))
                && segur_fhirpath::Decimal::parse(&actual)
                    == segur_fhirpath::Decimal::parse(expected)
        }
        _ => {
            let exp = expected.strip_prefix('@').unwrap_or(expected);
            actual == exp
                || matches!(
                    (segur_fhirpath::Decimal::parse(&actual), segur_fhirpath::Decimal::parse(exp)),
                    (Some(a), Some(b)) if a == b && !exp.contains(['-', ':']) && ty.is_none()
                )
        }
    }
}

/// Runs every test of the XML file; `model` supplies element types when given.
pub fn run_suite(
    xml_path: &Path,
    model: Option<&dyn Model>,
    now_ms: i64,
) -> Result<Vec<Outcome>, String> {
    let text =
        std::fs::read_to_string(xml_path).map_err(|e| format!("{}: {e}", xml_path.display()))?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| e.to_string())?;
    let mut inputs: HashMap<String, Value> = HashMap::new();
    let mut out = Vec::new();
    for group in doc
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("group"))
    {
        let gname = group.attribute("name").unwrap_or("").to_owned();
        for test in group.children().filter(|n| n.has_tag_name("test")) {
            let name = test.attribute("name").unwrap_or("").to_owned();
            let outcome = |passed: bool, detail: String| Outcome {
                group: gname.clone(),
                name: name.clone(),
                passed,
                detail,
            };
            let Some(expr_node) = test.children().find(|n| n.has_tag_name("expression")) else {
                continue;
            };
            let src = expr_node.text().unwrap_or("");
            let invalid =
                expr_node.attribute("invalid").is_some() || test.attribute("invalid").is_some();
            let predicate = test.attribute("predicate") == Some("true");
            let outputs: Vec<(Option<&str>, &str)> = test
                .children()
                .filter(|n| n.has_tag_name("output"))
                .map(|n| (n.attribute("type"), n.text().unwrap_or("")))
                .collect();
            let empty = Value::Null;
            let input: &Value = match test.attribute("inputfile") {
                Some(f) => {
                    if !inputs.contains_key(f) {
                        let Some(p) = find_input(xml_path, f) else {
                            out.push(outcome(false, format!("input {f} not found")));
                            continue;
                        };
                        let v: Value = std::fs::read_to_string(&p)
                            .ok()
                            .and_then(|t| serde_json::from_str(&t).ok())
                            .ok_or_else(|| format!("cannot read {}", p.display()))?;
                        inputs.insert(f.to_owned(), v);
                    }
                    &inputs[f]
                }
                None => &empty,
            };
            let mut env = if input.is_null() {
                Env::new()
            } else {
                Env::for_resource(input)
            };
            env = env.with_now(Temporal::from_epoch_millis(now_ms));
            if let Some(m) = model {
                env = env.with_model(m);
            }
            if test.attribute("mode") == Some("strict") {
                env = env.strict(true);
            }
            let result = Expr::parse(src).map_err(|e| e.to_string()).and_then(|e| {
                let root = if input.is_null() {
                    Vec::new()
                } else {
                    vec![Item::Node(Node::root(input))]
                };
                // `context="Observation.effective"`: evaluate on what that expression selects.
                let focus = match test.attribute("context") {
                    Some(c) => Expr::parse(c)
                        .map_err(|e| e.to_string())?
                        .evaluate_items(&env, &root)
                        .map_err(|e| e.to_string())?,
                    None => root,
                };
                e.evaluate_items(&env, &focus).map_err(|e| e.to_string())
            });
            let verdict = match (invalid, result) {
                (true, Err(_)) => (true, String::new()),
                (true, Ok(r)) => (false, format!("expected an error, got {} items", r.len())),
                (false, Err(e)) => (false, format!("error: {e}")),
                (false, Ok(r)) => {
                    let r: Vec<Item<'_>> = if predicate {
                        let b = match r.len() {
                            0 => None,
                            1 => Some(match r[0].to_system() {
                                Item::Boolean(b) => b,
                                _ => true,
                            }),
                            _ => Some(true),
                        };
                        b.map(Item::Boolean).into_iter().collect()
                    } else {
                        r
                    };
                    let ok = r.len() == outputs.len()
                        && r.iter()
                            .zip(&outputs)
                            .all(|(item, (ty, exp))| output_matches(item, *ty, exp));
                    let got: Vec<String> = r
                        .iter()
                        .map(|i| item_text(i).unwrap_or_else(|| "<node>".into()))
                        .collect();
                    (
                        ok,
                        if ok {
                            String::new()
                        } else {
                            format!("got {got:?}, expected {outputs:?}")
                        },
                    )
                }
            };
            out.push(outcome(verdict.0, format!("{src} :: {}", verdict.1)));
        }
    }
    Ok(out)
}
