//! The FHIRPath [`InvariantEngine`]: `constraint.expression`s evaluated with `segur-fhirpath`.
//!
//! Each distinct expression is compiled once (a thread-safe cache, parse errors included);
//! the R4 core type model ([`StructureDefinitionModel`]) is built once, on the first
//! evaluation, from the type-defining StructureDefinitions (`http://hl7.org/fhir/
//! StructureDefinition/<type>`) of the packages the validator loaded, so that declared
//! types (`date`, `canonical`, backbone elements) are known to `is`/`as`/`ofType` and to
//! comparisons. `%resource`, `%rootResource` and `%context` are set from the
//! [`InvariantFocus`]; `resolve()` also finds the entries of the Bundle being validated.
//! With [`Packages::open_cached`], the model is kept in the cache beside the package index.
//! `memberOf()` and `conformsTo()` have no hook: an invariant that calls them is reported
//! as not evaluated, with the reason (no invariant of the R4 core, FR Core, PDSm or TDDUI
//! packages calls them).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use segur_fhirpath::{Env, Expr, Hooks, Location, Node, StructureDefinitionModel};
use serde_json::Value;

use crate::package::{Kind, Packages};
use crate::validate::{InvariantEngine, InvariantError, InvariantFocus};

const CORE_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/";

/// A compiled expression, or why it does not compile.
type Compiled = Result<Arc<Expr>, InvariantError>;

/// Evaluates invariants with `segur-fhirpath` over the types of a set of packages.
pub struct FhirPathEngine<'p> {
    packages: &'p Packages,
    compiled: RwLock<HashMap<String, Compiled>>,
    model: OnceLock<StructureDefinitionModel>,
}

impl std::fmt::Debug for FhirPathEngine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FhirPathEngine")
            .field("model_built", &self.model.get().is_some())
            .finish()
    }
}

impl<'p> FhirPathEngine<'p> {
    /// An engine over these packages (the model is built on first use).
    pub fn new(packages: &'p Packages) -> Self {
        FhirPathEngine {
            packages,
            compiled: RwLock::new(HashMap::new()),
            model: OnceLock::new(),
        }
    }

    /// The type model: every type-defining StructureDefinition of the packages (read from
    /// [`Packages::model_cache`] when the packages were opened with a cache, else built).
    pub fn model(&self) -> &StructureDefinitionModel {
        self.model.get_or_init(|| cached_model(self.packages))
    }

    /// The compiled expression (compiled on first use, then shared).
    fn compile(&self, expression: &str) -> Compiled {
        if let Ok(cache) = self.compiled.read()
            && let Some(c) = cache.get(expression)
        {
            return c.clone();
        }
        let c = Expr::parse(expression)
            .map(Arc::new)
            .map_err(|e| InvariantError::Syntax {
                offset: e.offset,
                what: e.message,
            });
        if let Ok(mut cache) = self.compiled.write() {
            cache.insert(expression.to_string(), c.clone());
        }
        c
    }
}

/// What the type model reads of a StructureDefinition; the rest of the file (narrative,
/// differential, constraints) is skipped without being built.
#[derive(serde::Deserialize)]
struct TypeDefinition {
    url: Option<String>,
    #[serde(rename = "type")]
    type_name: Option<String>,
    kind: Option<String>,
    #[serde(rename = "baseDefinition")]
    base_definition: Option<String>,
    snapshot: Option<Snapshot>,
}

#[derive(serde::Deserialize)]
struct Snapshot {
    #[serde(default)]
    element: Vec<TypeElement>,
}

#[derive(serde::Deserialize)]
struct TypeElement {
    path: Option<String>,
    #[serde(rename = "contentReference")]
    content_reference: Option<String>,
    #[serde(rename = "type", default)]
    types: Vec<TypeCode>,
}

#[derive(serde::Deserialize)]
struct TypeCode {
    code: Option<String>,
}

impl TypeDefinition {
    /// The slim StructureDefinition (JSON) that [`StructureDefinitionModel::add`] reads.
    fn to_json(&self) -> Value {
        let elements: Vec<Value> = self
            .snapshot
            .iter()
            .flat_map(|s| &s.element)
            .map(|e| {
                serde_json::json!({
                    "path": e.path,
                    "contentReference": e.content_reference,
                    "type": e.types.iter().map(|t| serde_json::json!({"code": t.code})).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::json!({
            "url": self.url,
            "type": self.type_name,
            "kind": self.kind,
            "baseDefinition": self.base_definition,
            "snapshot": {"element": elements},
        })
    }
}

/// Reads the slim definitions of these files (unreadable ones are skipped).
fn read_definitions(paths: &[&std::path::Path]) -> Vec<Value> {
    paths
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            let d: TypeDefinition = serde_json::from_slice(&bytes).ok()?;
            Some(d.to_json())
        })
        .collect()
}

/// The model kept in the packages' model cache, or built (and kept there when there is one).
/// A cache that cannot be read or written is ignored.
fn cached_model(packages: &Packages) -> StructureDefinitionModel {
    let Some(path) = packages.model_cache() else {
        return build_model(packages);
    };
    if let Some(model) = std::fs::read_to_string(path)
        .ok()
        .and_then(|text| StructureDefinitionModel::from_text(&text))
    {
        return model;
    }
    let model = build_model(packages);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::write(&tmp, model.to_text()).and_then(|()| std::fs::rename(&tmp, path));
    model
}

/// Builds the type model from the core type definitions the packages index (about 270 files
/// of R4 core, read on up to 4 threads).
fn build_model(packages: &Packages) -> StructureDefinitionModel {
    let mut entries: Vec<_> = packages
        .entries(Kind::StructureDefinition)
        .filter(|e| {
            // A type's name has no '-' (extensions and most profiles do); the model
            // itself rejects the profiles that remain (their url does not end in their type).
            e.url
                .strip_prefix(CORE_PREFIX)
                .is_some_and(|name| !name.is_empty() && !name.contains(['-', '/']))
        })
        .collect();
    entries.sort_by(|a, b| a.url.cmp(&b.url));
    let paths: Vec<&std::path::Path> = entries.iter().map(|e| e.path.as_path()).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4);
    let chunk = paths.len().div_ceil(threads).max(1);
    let definitions: Vec<Vec<Value>> = std::thread::scope(|s| {
        let handles: Vec<_> = paths
            .chunks(chunk)
            .map(|c| s.spawn(move || read_definitions(c)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut model = StructureDefinitionModel::new();
    for d in definitions.iter().flatten() {
        model.add(d);
    }
    model
}

/// `resolve()` beyond `%rootResource`: the entries of the Bundle being validated.
struct DocumentHooks<'a> {
    document: &'a Value,
}

impl<'a> Hooks<'a> for DocumentHooks<'a> {
    fn resolve(&self, reference: &str) -> Option<&'a Value> {
        if self.document["resourceType"] != "Bundle" {
            return None;
        }
        let entries = self.document["entry"].as_array()?;
        entries.iter().find_map(|e| {
            let r = e.get("resource")?;
            let by_url = e["fullUrl"].as_str() == Some(reference);
            let by_id = reference.rsplit_once('/').is_some_and(|(head, id)| {
                r["id"].as_str() == Some(id)
                    && head.rsplit('/').next() == r["resourceType"].as_str()
            });
            (by_url || by_id).then_some(r)
        })
    }
}

impl InvariantEngine for FhirPathEngine<'_> {
    fn evaluate(
        &self,
        expression: &str,
        focus: &InvariantFocus<'_>,
    ) -> Result<bool, InvariantError> {
        let expr = self.compile(expression)?;
        let model = self.model();
        let hooks = DocumentHooks {
            document: focus.document,
        };
        let node = Node {
            value: Some(focus.value),
            companion: None,
            fhir_type: focus.fhir_type,
            location: Some(Location::root(focus.path)),
        };
        let env = Env::new()
            .with_resource(Node::root(focus.resource))
            .with_root_resource(Node::root(focus.root_resource))
            .with_context(node.clone())
            .with_model(model)
            .with_hooks(&hooks);
        expr.is_true_node(&env, node)
            .map_err(|e| InvariantError::Evaluation {
                what: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn focus<'a>(value: &'a Value, resource: &'a Value, root: &'a Value) -> InvariantFocus<'a> {
        InvariantFocus {
            value,
            fhir_type: value["resourceType"].as_str(),
            path: "Patient",
            resource,
            root_resource: root,
            document: root,
        }
    }

    #[test]
    fn compiles_once_and_reports_syntax_errors() {
        let packages = Packages::default();
        let engine = FhirPathEngine::new(&packages);
        let p = json!({"resourceType": "Patient", "active": true});
        let f = focus(&p, &p, &p);
        assert_eq!(engine.evaluate("active = true", &f), Ok(true));
        assert_eq!(engine.evaluate("active = false", &f), Ok(false));
        let bad = engine.evaluate("active = = true", &f);
        assert!(matches!(bad, Err(InvariantError::Syntax { .. })), "{bad:?}");
        assert_eq!(engine.evaluate("active = = true", &f), bad);
        assert_eq!(engine.compiled.read().map(|c| c.len()).ok(), Some(3));
    }

    #[test]
    fn evaluation_errors_are_errors_not_passes() {
        let packages = Packages::default();
        let engine = FhirPathEngine::new(&packages);
        let p = json!({"resourceType": "Patient", "name": [{"given": ["A", "B"]}],
            "gender": "female"});
        let f = focus(&p, &p, &p);
        // Two items where an invariant needs one.
        let several = engine.evaluate("name.given", &f);
        assert!(
            matches!(&several, Err(InvariantError::Evaluation { what }) if what.contains("single")),
            "{several:?}"
        );
        // No terminology hook: memberOf cannot be decided.
        let member = engine.evaluate("gender.memberOf('http://hl7.org/fhir/ValueSet/x')", &f);
        assert!(
            matches!(member, Err(InvariantError::Evaluation { .. })),
            "{member:?}"
        );
    }

    #[test]
    fn environment_variables_and_bundle_references() {
        let packages = Packages::default();
        let engine = FhirPathEngine::new(&packages);
        let inner = json!({"resourceType": "Practitioner", "id": "pr"});
        let outer = json!({"resourceType": "Patient", "contained": [inner.clone()],
            "generalPractitioner": [{"reference": "#pr"}]});
        let contained = &outer["contained"][0];
        let f = InvariantFocus {
            value: contained,
            fhir_type: Some("Practitioner"),
            path: "Patient.contained[0]",
            resource: contained,
            root_resource: &outer,
            document: &outer,
        };
        assert_eq!(engine.evaluate("%resource.id = 'pr'", &f), Ok(true));
        assert_eq!(
            engine.evaluate("%rootResource.resourceType = 'Patient'", &f),
            Ok(true)
        );
        assert_eq!(engine.evaluate("%context.id = 'pr'", &f), Ok(true));
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "p1"}},
            {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Observation",
                "subject": {"reference": "urn:uuid:1"}, "performer": [{"reference": "Patient/p1"}]}}]});
        let obs = &bundle["entry"][1]["resource"];
        let f = InvariantFocus {
            value: obs,
            fhir_type: Some("Observation"),
            path: "Bundle.entry[1].resource",
            resource: obs,
            root_resource: obs,
            document: &bundle,
        };
        assert_eq!(engine.evaluate("subject.resolve().id = 'p1'", &f), Ok(true));
        assert_eq!(
            engine.evaluate("performer.resolve().is(Patient)", &f),
            Ok(true)
        );
    }
}
