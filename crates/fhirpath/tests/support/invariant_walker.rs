//! Runs the FHIRPath invariants of the base (core R4) StructureDefinitions over a resource, as
//! a profile validator would: every constraint of the resource's snapshot on every node its
//! element path selects, and the root invariants of each data type on every node of that type.
//! Shared by tests/invariants_on_examples.rs and benches/invariants.rs.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;

use segur_fhirpath::{Env, Expr, Item, Node, StructureDefinitionModel};
use serde_json::Value;

/// One compiled constraint.
pub struct Invariant {
    pub key: String,
    pub severity: String,
    pub expr: Expr,
}

/// Element path (FHIRPath, `[x]` removed) → its invariants, for one StructureDefinition.
pub struct TypeInvariants {
    pub by_path: Vec<(Expr, Vec<Invariant>)>,
    pub root: Vec<Invariant>,
}

/// The invariants of the core R4 package, compiled once.
pub struct CoreInvariants {
    pub model: StructureDefinitionModel,
    pub types: HashMap<String, TypeInvariants>,
    pub parse_failures: Vec<(String, String)>,
    /// Evaluate in strict mode (an element the model does not know is an error).
    pub strict: bool,
}

/// The verdict of one invariant on one node.
pub struct Evaluation {
    pub key: String,
    pub severity: String,
    pub location: String,
    pub outcome: Result<bool, String>,
}

fn constraints(e: &Value, failures: &mut Vec<(String, String)>) -> Vec<Invariant> {
    let mut out = Vec::new();
    for c in e
        .get("constraint")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(key), Some(src)) = (
            c.get("key").and_then(Value::as_str),
            c.get("expression").and_then(Value::as_str),
        ) else {
            continue;
        };
        match Expr::parse(src) {
            Ok(expr) => out.push(Invariant {
                key: key.to_owned(),
                severity: c
                    .get("severity")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_owned(),
                expr,
            }),
            Err(err) => failures.push((key.to_owned(), err.to_string())),
        }
    }
    out
}

impl CoreInvariants {
    /// Reads the R4 core package folder.
    pub fn load(dir: &Path) -> Self {
        let model = StructureDefinitionModel::from_package_dir(dir).expect("core package");
        let mut types = HashMap::new();
        let mut parse_failures = Vec::new();
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .expect("core package")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        paths.sort();
        for p in paths {
            if !p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("StructureDefinition-"))
            {
                continue;
            }
            let Ok(sd) = serde_json::from_slice::<Value>(&std::fs::read(&p).expect("read")) else {
                continue;
            };
            let (Some(ty), Some(url)) = (
                sd.get("type").and_then(Value::as_str),
                sd.get("url").and_then(Value::as_str),
            ) else {
                continue;
            };
            if url != format!("http://hl7.org/fhir/StructureDefinition/{ty}") {
                continue;
            }
            let mut ti = TypeInvariants {
                by_path: Vec::new(),
                root: Vec::new(),
            };
            for e in sd
                .pointer("/snapshot/element")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(path) = e.get("path").and_then(Value::as_str) else {
                    continue;
                };
                let invs = constraints(e, &mut parse_failures);
                if invs.is_empty() {
                    continue;
                }
                if !path.contains('.') {
                    ti.root = invs;
                } else if let Ok(expr) = Expr::parse(&path.replace("[x]", "")) {
                    ti.by_path.push((expr, invs));
                }
            }
            types.insert(ty.to_owned(), ti);
        }
        CoreInvariants {
            model,
            types,
            parse_failures,
            strict: false,
        }
    }

    fn run<'a>(
        &self,
        invs: &[Invariant],
        env: &Env<'a>,
        node: &Item<'a>,
        out: &mut Vec<Evaluation>,
    ) {
        let Item::Node(n) = node else { return };
        let location = n
            .location
            .as_ref()
            .map(|l| l.to_string())
            .unwrap_or_default();
        for inv in invs {
            let outcome = inv
                .expr
                .is_true_node(env, n.clone())
                .map_err(|e| e.to_string());
            out.push(Evaluation {
                key: inv.key.clone(),
                severity: inv.severity.clone(),
                location: location.clone(),
                outcome,
            });
        }
    }

    /// Every invariant on `resource` (and on each resource a Bundle or `contained` holds).
    pub fn check<'a>(&'a self, resource: &'a Value, root: &'a Value, out: &mut Vec<Evaluation>) {
        let Some(rt) = resource.get("resourceType").and_then(Value::as_str) else {
            return;
        };
        let env = Env::for_resource(resource)
            .with_root_resource(Node::root(root))
            .with_model(&self.model)
            .strict(self.strict);
        let focus = Item::Node(Node::root(resource));
        if let Some(ti) = self.types.get(rt) {
            self.run(&ti.root, &env, &focus, out);
            for (path, invs) in &ti.by_path {
                let Ok(nodes) = path.evaluate(&env, resource) else {
                    continue;
                };
                for n in &nodes {
                    self.run(invs, &env, n, out);
                }
            }
        }
        // Data-type invariants on every element of a known type, down to (not into) nested
        // resources, which are checked with their own %resource below.
        let children = Expr::parse("children()").expect("children");
        let mut stack = vec![focus.clone()];
        while let Some(item) = stack.pop() {
            let Ok(kids) = children.evaluate_items(&env, std::slice::from_ref(&item)) else {
                continue;
            };
            for n in kids {
                let Item::Node(node) = &n else { continue };
                if node.value.and_then(|v| v.get("resourceType")).is_some() {
                    continue;
                }
                if let Some(ti) = node.fhir_type.and_then(|t| self.types.get(t)) {
                    self.run(&ti.root, &env, &n, out);
                }
                stack.push(n);
            }
        }
        for nested in resource
            .get("contained")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.check(nested, root, out);
        }
        for entry in resource
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // A Bundle is not a container: an entry's resource is its own %rootResource.
            if let Some(r) = entry.get("resource") {
                self.check(r, r, out);
            }
        }
    }
}
