//! The FHIRPath [`InvariantEngine`]: `constraint.expression`s evaluated with `segur-fhirpath`.
//!
//! Each distinct expression is compiled once (a thread-safe cache, parse errors included);
//! the R4 core type model ([`TypeModel`]) reads each type from its type-defining
//! StructureDefinition (`http://hl7.org/fhir/StructureDefinition/<type>`) of the packages
//! the validator loaded, the first time it is asked about it, so that declared types
//! (`date`, `canonical`, backbone elements) are known to `is`/`as`/`ofType` and to
//! comparisons. `%resource`, `%rootResource` and `%context` are set from the
//! [`InvariantFocus`]; `resolve()` also finds the entries of the Bundle being validated.
//! `memberOf()` is decided against the local expansions ([`Terminology`]); a code it cannot
//! decide offline (a ValueSet absent from the packages, a code system not enumerable) makes
//! the invariant not evaluated, with the reason. `conformsTo()` has no hook: an invariant
//! that calls it is reported as not evaluated (no invariant of the R4 core, FR Core, PDSm or
//! TDDUI packages calls either).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use segur_fhirpath::{Env, Expr, Hooks, Item, Location, Model, Node, StructureDefinitionModel};
use serde_json::Value;

use crate::package::{Kind, Packages};
use crate::terminology::{Membership, Terminology};
use crate::validate::{InvariantEngine, InvariantError, InvariantFocus};

const CORE_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/";

/// A compiled expression, or why it does not compile.
type Compiled = Result<Arc<Expr>, InvariantError>;

/// Evaluates invariants with `segur-fhirpath` over the types of a set of packages.
pub struct FhirPathEngine<'p> {
    packages: &'p Packages,
    compiled: RwLock<HashMap<String, Compiled>>,
    model: OnceLock<TypeModel<'p>>,
    terminology: Terminology<'p>,
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
            terminology: Terminology::new(packages),
        }
    }

    /// The type model: the type-defining StructureDefinitions of the packages, each read
    /// when first needed.
    pub fn model(&self) -> &TypeModel<'p> {
        self.model.get_or_init(|| TypeModel::new(self.packages))
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

/// The R4 type model, read type by type: a type's facts (its elements, backbone elements and
/// base) come from its type-defining StructureDefinition (`http://hl7.org/fhir/
/// StructureDefinition/<type>`, whose snapshot lists the inherited elements too) the first
/// time the engine asks about it, from the definition the packages parsed once for the
/// validator as well. So a validation pays for the types it meets, not for the 268 R4 core
/// definitions (41 MB of JSON, about 45 ms to read all).
pub struct TypeModel<'p> {
    packages: &'p Packages,
    types: HashMap<String, OnceLock<Option<StructureDefinitionModel>>>,
}

impl std::fmt::Debug for TypeModel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeModel")
            .field("types", &self.types.len())
            .field(
                "read",
                &self.types.values().filter(|t| t.get().is_some()).count(),
            )
            .finish()
    }
}

impl<'p> TypeModel<'p> {
    /// The types the packages define (none read yet).
    pub fn new(packages: &'p Packages) -> Self {
        let types = packages
            .entries(Kind::StructureDefinition)
            .filter_map(|e| {
                // A type's name has no '-' (extensions and most profiles do); the model
                // rejects the profiles that remain (their url does not end in their type).
                e.url
                    .strip_prefix(CORE_PREFIX)
                    .filter(|name| !name.is_empty() && !name.contains(['-', '/']))
            })
            .map(|name| (name.to_string(), OnceLock::new()))
            .collect();
        TypeModel { packages, types }
    }

    /// How many types the packages define.
    pub fn type_count(&self) -> usize {
        self.types.len()
    }

    /// How many of them have been read so far.
    pub fn types_read(&self) -> usize {
        self.types.values().filter(|t| t.get().is_some()).count()
    }

    /// The facts of the type that `ty` (a type or a backbone path, `Patient.contact`) belongs
    /// to, read on first use.
    fn of(&self, ty: &str) -> Option<&StructureDefinitionModel> {
        let root = ty.split('.').next()?;
        self.types
            .get(root)?
            .get_or_init(|| {
                let sd = self
                    .packages
                    .resource(Kind::StructureDefinition, &format!("{CORE_PREFIX}{root}"))?;
                let mut m = StructureDefinitionModel::new();
                m.add(&sd).then_some(m)
            })
            .as_ref()
    }
}

impl Model for TypeModel<'_> {
    fn element_type(&self, parent: &str, element: &str) -> Option<&str> {
        self.of(parent)?.element_type(parent, element)
    }

    fn has_element(&self, parent: &str, element: &str) -> Option<bool> {
        self.of(parent)?.has_element(parent, element)
    }

    fn is_subtype(&self, ty: &str, base: &str) -> bool {
        let mut cur = ty;
        for _ in 0..16 {
            if cur == base {
                return true;
            }
            match self.of(cur).and_then(|m| m.base_of(cur)) {
                Some(b) => cur = b,
                None => return segur_fhirpath::builtin_is_subtype(cur, base),
            }
        }
        false
    }
}

/// `resolve()` beyond `%rootResource` (the entries of the Bundle being validated) and
/// `memberOf()` (the local expansions).
struct DocumentHooks<'a, 't> {
    document: &'a Value,
    terminology: &'t Terminology<'t>,
}

impl<'a> Hooks<'a> for DocumentHooks<'a, '_> {
    /// A code, Coding or CodeableConcept (any of its codings) in the ValueSet: decided when the
    /// local expansion says so; a ValueSet or code system that cannot be enumerated offline is
    /// an error (the invariant is then reported as not evaluated, with the reason).
    fn member_of(&self, item: &Item<'a>, value_set: &str) -> Result<Option<bool>, String> {
        let codings: Vec<(Option<&str>, &str)> = match item {
            Item::String(s) => vec![(None, &**s)],
            Item::Node(n) => match n.value {
                Some(Value::String(s)) => vec![(None, s.as_str())],
                Some(v) => match v.get("coding").and_then(Value::as_array) {
                    Some(codings) => codings
                        .iter()
                        .filter_map(|c| Some((c["system"].as_str(), c["code"].as_str()?)))
                        .collect(),
                    None => v["code"]
                        .as_str()
                        .map(|c| vec![(v["system"].as_str(), c)])
                        .unwrap_or_default(),
                },
                None => vec![],
            },
            _ => vec![],
        };
        if codings.is_empty() {
            return Ok(None);
        }
        let answers: Vec<Membership> = codings
            .iter()
            .map(|(system, code)| self.terminology.check(value_set, *system, code))
            .collect();
        if answers.contains(&Membership::In) {
            return Ok(Some(true));
        }
        for a in answers {
            match a {
                Membership::UnknownValueSet => {
                    return Err(format!("ValueSet {value_set} is not in the packages"));
                }
                Membership::NotChecked(why) => {
                    return Err(format!(
                        "membership in {value_set} not decidable offline: {why}"
                    ));
                }
                Membership::In | Membership::NotIn => {}
            }
        }
        Ok(Some(false))
    }

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
            terminology: &self.terminology,
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
        // A ValueSet that is not in the packages: memberOf cannot be decided.
        let member = engine.evaluate("gender.memberOf('http://hl7.org/fhir/ValueSet/x')", &f);
        assert!(
            matches!(&member, Err(InvariantError::Evaluation { what }) if what.contains("not in the packages")),
            "{member:?}"
        );
    }

    #[test]
    fn member_of_uses_the_local_expansions() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let packages = Packages::open(&fixture).unwrap();
        let engine = FhirPathEngine::new(&packages);
        let vs = "http://segur.test/ValueSet/tree-root";
        let p = json!({"resourceType": "Patient",
            "maritalStatus": {"coding": [{"system": "urn:other", "code": "x"},
                {"system": "http://segur.test/CodeSystem/tree", "code": "grandchild"}]},
            "language": "other",
            "communication": [{"language": {"coding": [{"system": "http://segur.test/CodeSystem/tree", "code": "other"}]}}]});
        let f = focus(&p, &p, &p);
        let member = |e: &str| engine.evaluate(&e.replace("VS", vs), &f);
        // A CodeableConcept: any of its codings; is-a root takes the grandchild.
        assert_eq!(member("maritalStatus.memberOf('VS')"), Ok(true));
        assert_eq!(member("communication.language.memberOf('VS')"), Ok(false));
        assert_eq!(member("language.memberOf('VS')"), Ok(false));
        assert_eq!(member("'child'.memberOf('VS')"), Ok(true));
        let absent = member("language.memberOf('http://segur.test/ValueSet/absent')");
        assert!(
            matches!(&absent, Err(InvariantError::Evaluation { what }) if what.contains("not in the packages")),
            "{absent:?}"
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
