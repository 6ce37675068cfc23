//! The profile validator: walks a resource against the snapshots of its base type and of its
//! profiles (cardinality, types and choice types, primitive formats, fixed and pattern values,
//! slicing, extensions, required bindings, references inside Bundles and their targets'
//! `targetProfile`s, contained and bundled resources), with FHIRPath invariants delegated to
//! an [`InvariantEngine`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use regex::Regex;
use segur_finding::{Finding, Severity};
use serde_json::{Map, Value};

use crate::json::Document;
use crate::package::Packages;
use crate::profile::{DiscriminatorKind, Slicing, SlicingRules, StructureDefinition, TypeRef};
use crate::rules::{self, finding};
use crate::terminology::{Membership, Terminology};

/// Why an invariant could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvariantError {
    /// The expression uses something the engine does not implement.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What (a function, an operator).
        what: String,
    },
    /// The expression does not parse.
    #[error("does not parse at {offset}: {what}")]
    Syntax {
        /// Byte offset in the expression.
        offset: usize,
        /// What was expected.
        what: String,
    },
    /// The evaluation failed (several items where one was expected, a type error…).
    #[error("evaluation error: {what}")]
    Evaluation {
        /// What went wrong.
        what: String,
    },
}

/// What an invariant is evaluated on: the element (`$this`, `%context`) with its FHIR type and
/// path, and the resources around it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct InvariantFocus<'a> {
    /// The element the constraint is defined on (`$this`).
    pub value: &'a Value,
    /// Its FHIR type when known: a type code (`HumanName`, `date`, `Patient`) or, for a
    /// backbone element, its path in the base type (`Patient.contact`).
    pub fhir_type: Option<&'a str>,
    /// Its element path in the document (`Bundle.entry[0].resource.name[1]`).
    pub path: &'a str,
    /// The resource that holds it (`%resource`).
    pub resource: &'a Value,
    /// The container of `resource` when it is contained, else `resource` (`%rootResource`).
    pub root_resource: &'a Value,
    /// The whole document validated (a Bundle's entries resolve references against it).
    pub document: &'a Value,
}

/// Evaluates FHIRPath invariants (`ElementDefinition.constraint.expression`).
pub trait InvariantEngine: Send + Sync {
    /// Whether the invariant holds on `focus`.
    fn evaluate(
        &self,
        expression: &str,
        focus: &InvariantFocus<'_>,
    ) -> Result<bool, InvariantError>;
}

/// Validates FHIR JSON against the StructureDefinitions of a set of packages.
pub struct Validator<'p> {
    packages: &'p Packages,
    terminology: Terminology<'p>,
    invariants: Option<Box<dyn InvariantEngine + 'p>>,
    regexes: Mutex<HashMap<String, Option<Arc<Regex>>>>,
}

impl std::fmt::Debug for Validator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("packages", &self.packages.packages())
            .field("invariants", &self.invariants.is_some())
            .finish()
    }
}

/// Objects and resources nested deeper than this are not walked (a finding says so): the
/// recursion stays bounded even on a `Value` built by hand, beyond the reader's JSON depth.
const MAX_DEPTH: usize = 128;

/// `dom-6` ("a resource should have narrative"): not for contained resources, which "do not
/// have narrative" (R4 `DomainResource.text`, comment: "Resources that are not contained
/// SHOULD have a narrative").
const NARRATIVE_INVARIANT: &str = "dom-6";

/// One value of an element, with where it is and (for a choice) its type.
#[derive(Clone)]
struct Item<'d> {
    value: &'d Value,
    path: String,
    type_code: Option<String>,
}

/// A property of an object: its key, its value and (for a choice) its type code.
type Keyed<'d> = (&'d str, &'d Value, Option<String>);

/// An invariant met on a resource.
struct Met {
    severity: String,
    human: String,
    expression: String,
    why: Option<String>,
}

struct Frame<'d> {
    path: String,
    resource: &'d Value,
    root: &'d Value,
    met: BTreeMap<String, Met>,
}

/// The entries of a Bundle being validated: its path and, per entry, its `fullUrl` and
/// resource.
#[derive(Clone)]
struct BundleScope<'d> {
    path: String,
    entries: Vec<(&'d str, &'d Value)>,
}

/// Whether a resolved reference target conforms to a targetProfile, as decided in one
/// validation: keyed by the target's address and the profile's URL.
#[derive(Clone)]
enum Conformance {
    /// Being decided (a reference cycle back to it counts as conforming).
    Checking,
    /// Decided: `None` when it conforms, else its first errors.
    Done(Option<Vec<String>>),
}

struct Run<'v, 'p, 'd> {
    v: &'v Validator<'p>,
    root: &'d Value,
    findings: Vec<Finding>,
    bundles: Vec<BundleScope<'d>>,
    frames: Vec<Frame<'d>>,
    depth: usize,
    conformance: HashMap<(usize, String), Conformance>,
    /// Whether a target's conformance was left undecided (references nested too deep).
    undecided: bool,
    /// The contained resources of each container by id (keyed by the container's address),
    /// so that resolving `#id` does not scan `contained` once per reference.
    contained_ids: HashMap<usize, HashMap<&'d str, usize>>,
}

impl<'p> Validator<'p> {
    /// A validator over these packages, invariants reported as not evaluated.
    pub fn new(packages: &'p Packages) -> Self {
        Validator {
            packages,
            terminology: Terminology::new(packages),
            invariants: None,
            regexes: Mutex::new(HashMap::new()),
        }
    }

    /// Evaluate invariants with the FHIRPath engine ([`crate::FhirPathEngine`]) over these
    /// packages: what the CLI uses.
    pub fn with_fhirpath(self) -> Self {
        let engine = crate::invariants::FhirPathEngine::new(self.packages);
        self.with_invariants(Box::new(engine))
    }

    /// Evaluate invariants with this engine.
    pub fn with_invariants(mut self, engine: Box<dyn InvariantEngine + 'p>) -> Self {
        self.invariants = Some(engine);
        self
    }

    /// The packages.
    pub fn packages(&self) -> &'p Packages {
        self.packages
    }

    /// Validate a parsed document against its base type, its `meta.profile`s and `profiles`;
    /// findings carry the element path and the line:column in the JSON.
    pub fn validate(&self, doc: &Document, profiles: &[String]) -> Vec<Finding> {
        let mut findings = self.validate_value(&doc.value, profiles);
        for f in &mut findings {
            // A finding about the whole value (no resourceType) is at its start.
            let at = match f.location.xpath.as_deref() {
                Some(p) => doc.position_of_element(p),
                None => doc.position(""),
            };
            if let Some((l, c)) = at {
                f.location.line = Some(l);
                f.location.column = Some(c);
            }
        }
        findings
    }

    /// Validate a resource (without positions).
    pub fn validate_value(&self, value: &Value, profiles: &[String]) -> Vec<Finding> {
        let mut run = Run {
            v: self,
            root: value,
            findings: Vec::new(),
            bundles: Vec::new(),
            frames: Vec::new(),
            depth: 0,
            conformance: HashMap::new(),
            undecided: false,
            contained_ids: HashMap::new(),
        };
        let name = value["resourceType"].as_str().unwrap_or("").to_string();
        run.resource(value, &name, profiles, None);
        // One finding per defect: an element checked against two definitions (a slice of
        // Patient.extension and the extension's own profile) says the same thing twice, but
        // for the definition it names first.
        let mut seen = HashSet::new();
        run.findings.retain(|f| {
            seen.insert((
                f.rule.clone(),
                f.location.xpath.clone(),
                without_definition(&f.message).to_string(),
            ))
        });
        run.findings
    }

    fn regex(&self, type_code: &str) -> Option<Arc<Regex>> {
        if let Ok(cache) = self.regexes.lock()
            && let Some(r) = cache.get(type_code)
        {
            return r.clone();
        }
        let compiled = self.packages.base(type_code).and_then(|sd| {
            let re = sd
                .elements
                .iter()
                .find(|e| e.name == "value")?
                .regex
                .clone()?;
            Regex::new(&format!("^(?:{re})$")).ok().map(Arc::new)
        });
        if let Ok(mut cache) = self.regexes.lock() {
            cache.insert(type_code.to_string(), compiled.clone());
        }
        compiled
    }
}

/// A message without its leading element definition (`Patient.extension.value[x]` or
/// `Extension.value[x]:`), when it starts with one.
fn without_definition(message: &str) -> &str {
    match message.split_once(' ') {
        Some((first, rest))
            if first.starts_with(|c: char| c.is_ascii_uppercase())
                && first.contains('.')
                && first
                    .trim_end_matches(':')
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._[]:-".contains(c)) =>
        {
            rest
        }
        _ => message,
    }
}

fn is_primitive_code(code: &str) -> bool {
    code.starts_with("http://hl7.org/fhirpath/System.")
        || code.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Whether `id` is a FHIR id: `[A-Za-z0-9\-\.]{1,64}` (R4 datatypes, `id`).
fn is_fhir_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The resource type a literal reference names: `Practitioner/1`, `…/fhir/Practitioner/1`,
/// `…/Practitioner/1/_history/2`; `None` for local, `urn:` and conditional references.
fn url_type(r: &str) -> Option<&str> {
    if r.starts_with('#') || r.starts_with("urn:") || r.contains('?') {
        return None;
    }
    let r = r.split("/_history/").next().unwrap_or(r);
    let mut parts = r.rsplit('/');
    let id = parts.next()?;
    let ty = parts.next()?;
    (is_fhir_id(id)
        && ty.starts_with(|c: char| c.is_ascii_uppercase())
        && ty.bytes().all(|b| b.is_ascii_alphabetic()))
    .then_some(ty)
}

fn capitalized(code: &str) -> String {
    let mut c = code.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Whether `v` contains `pattern` (FHIR pattern[x] semantics).
fn contains(v: &Value, pattern: &Value) -> bool {
    match (v, pattern) {
        (Value::Object(vo), Value::Object(po)) => po
            .iter()
            .all(|(k, pv)| vo.get(k).is_some_and(|x| contains(x, pv))),
        (Value::Array(va), Value::Array(pa)) => {
            pa.iter().all(|p| va.iter().any(|x| contains(x, p)))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => v == pattern,
    }
}

fn equals(v: &Value, fixed: &Value) -> bool {
    match (v, fixed) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => v == fixed,
    }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 120 {
        let cut = (0..=120)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        format!("{}…", &s[..cut])
    } else {
        s
    }
}

/// The values at a simple FHIRPath (`type`, `coding.code`, `extension('u').value`,
/// `$this`, `ofType(X)`) from `v`; `None` when the path cannot be followed here (`resolve()`).
fn values_at<'d>(v: &'d Value, path: &str) -> Option<Vec<&'d Value>> {
    let mut cur = vec![v];
    for seg in split_path(path) {
        if seg == "$this" || seg.starts_with("ofType(") {
            continue;
        }
        if seg.starts_with("resolve(") {
            return None;
        }
        let mut next = Vec::new();
        for c in cur {
            if let Some(url) = seg
                .strip_prefix("extension('")
                .and_then(|s| s.strip_suffix("')"))
            {
                for x in c["extension"].as_array().into_iter().flatten() {
                    if x["url"] == url {
                        next.push(x);
                    }
                }
                continue;
            }
            let Some(o) = c.as_object() else { continue };
            let found = o.get(seg).or_else(|| {
                // A choice: `value` reaches `valueQuantity`.
                o.iter()
                    .find(|(k, _)| {
                        k.strip_prefix(seg)
                            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_uppercase()))
                    })
                    .map(|(_, v)| v)
            });
            match found {
                Some(Value::Array(a)) => next.extend(a.iter()),
                Some(x) => next.push(x),
                None => {}
            }
        }
        cur = next;
    }
    Some(cur)
}

/// Split a simple path on the dots that are not inside parentheses.
fn split_path(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in path.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            '.' if depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

impl<'v, 'p, 'd> Run<'v, 'p, 'd> {
    fn push(&mut self, id: &str, path: &str, msg: impl Into<String>) {
        self.findings.push(finding(id, path, msg));
    }

    /// Validate a resource at `path` against its type, its meta.profile and `extra` profiles.
    fn resource(
        &mut self,
        value: &'d Value,
        path: &str,
        extra: &[String],
        container: Option<&'d Value>,
    ) {
        let Some(rt) = value["resourceType"].as_str() else {
            self.push(
                rules::RESOURCE_TYPE,
                path,
                "no resourceType: not a FHIR resource",
            );
            return;
        };
        let Some(base) = self.v.packages.base(rt).filter(|b| b.kind == "resource") else {
            self.push(
                rules::RESOURCE_TYPE,
                path,
                format!("unknown resourceType '{rt}' (not in the packages)"),
            );
            return;
        };
        if self.depth > MAX_DEPTH {
            self.push(
                rules::LIMIT,
                path,
                "resources nested too deep: not validated",
            );
            return;
        }
        let path = if path.is_empty() { rt } else { path };
        // R4 core types `Resource.id` as a System.String: the id regex is checked here.
        if let Some(id) = value.get("id").and_then(Value::as_str)
            && !is_fhir_id(id)
        {
            self.push(
                rules::RESOURCE_ID,
                &format!("{path}.id"),
                format!(
                    "resource id {} does not match [A-Za-z0-9\\-\\.]{{1,64}}",
                    short(&Value::String(id.to_string()))
                ),
            );
        }
        let mut urls: Vec<String> = value["meta"]["profile"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect();
        urls.extend(extra.iter().cloned());
        let mut seen = HashSet::new();
        urls.retain(|u| seen.insert(u.clone()));
        self.resource_against(value, rt, base, path, &urls, container);
    }

    /// Validate a resource of type `rt` (`base` its definition) at `path` against the profiles
    /// `urls` (its base type when none is known).
    fn resource_against(
        &mut self,
        value: &'d Value,
        rt: &str,
        base: Arc<StructureDefinition>,
        path: &str,
        urls: &[String],
        container: Option<&'d Value>,
    ) {
        let mut sds: Vec<Arc<StructureDefinition>> = Vec::new();
        for u in urls {
            match self.v.packages.structure_checked(u) {
                Ok(sd) if sd.type_name != rt => self.push(
                    rules::PROFILE_TYPE,
                    path,
                    format!("profile {u} constrains {}, not {rt}", sd.type_name),
                ),
                Ok(sd) => sds.push(sd),
                Err(e) => self.push(
                    rules::PROFILE_UNKNOWN,
                    path,
                    format!("profile {e}: not checked"),
                ),
            }
        }
        if sds.is_empty() {
            sds.push(base);
        }
        let is_bundle = rt == "Bundle";
        if is_bundle {
            let entries: Vec<(&'d str, &'d Value)> = value["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| Some((e["fullUrl"].as_str().unwrap_or(""), e.get("resource")?)))
                .collect();
            self.bundles.push(BundleScope {
                path: path.to_string(),
                entries,
            });
        }
        let container = container.unwrap_or(value);
        self.frames.push(Frame {
            path: path.to_string(),
            resource: value,
            root: container,
            met: BTreeMap::new(),
        });
        self.depth += 1;
        for sd in sds {
            if let Some(o) = value.as_object() {
                self.constraints(&sd, 0, value, path, Some(rt));
                self.complex(&sd, 0, o, path, container);
            }
        }
        self.depth -= 1;
        if is_bundle {
            self.bundles.pop();
        }
        if let Some(frame) = self.frames.pop() {
            for (key, m) in frame.met {
                let why = m.why.map_or_else(
                    || "no FHIRPath engine plugged in".to_string(),
                    |w| format!("the engine could not evaluate it: {w}"),
                );
                self.push(
                    rules::INVARIANT_NOT_EVALUATED,
                    &frame.path,
                    format!(
                        "invariant {key} ({}) not evaluated ({why}): {} [{}]",
                        m.severity, m.human, m.expression
                    ),
                );
            }
        }
    }

    /// Evaluates the constraints of element `el` of `sd` on `focus` (at `path`, of FHIR type
    /// `fhir_type`): a failure is a finding at `path`, an evaluation that cannot be made is
    /// remembered for the resource's not-evaluated info.
    fn constraints(
        &mut self,
        sd: &StructureDefinition,
        el: usize,
        focus: &'d Value,
        path: &str,
        fhir_type: Option<&str>,
    ) {
        let e = &sd.elements[el];
        if e.constraints.is_empty() {
            return;
        }
        let Some(frame) = self.frames.last() else {
            return;
        };
        let (resource, root_resource) = (frame.resource, frame.root);
        let contained = !std::ptr::eq(resource, root_resource);
        for c in &e.constraints {
            if contained && c.key == NARRATIVE_INVARIANT {
                continue;
            }
            let why = match &self.v.invariants {
                None => None,
                Some(engine) => {
                    let at = InvariantFocus {
                        value: focus,
                        fhir_type,
                        path,
                        resource,
                        root_resource,
                        document: self.root,
                    };
                    match engine.evaluate(&c.expression, &at) {
                        Ok(true) => continue,
                        Ok(false) => {
                            let mut f = finding(
                                rules::INVARIANT,
                                path,
                                format!("{}: {} [{}]", c.key, c.human, c.expression),
                            );
                            f.severity = if c.severity == "warning" {
                                Severity::Warning
                            } else {
                                Severity::Error
                            };
                            self.findings.push(f);
                            continue;
                        }
                        Err(e) => Some(e.to_string()),
                    }
                }
            };
            if let Some(frame) = self.frames.last_mut() {
                frame.met.entry(c.key.clone()).or_insert(Met {
                    severity: c.severity.clone(),
                    human: c.human.clone(),
                    expression: c.expression.clone(),
                    why,
                });
            }
        }
    }

    /// Walk the properties of `obj` against the children of element `el` of `sd`.
    fn complex(
        &mut self,
        sd: &Arc<StructureDefinition>,
        el: usize,
        obj: &'d Map<String, Value>,
        path: &str,
        container: &'d Value,
    ) {
        if self.depth > MAX_DEPTH {
            self.push(rules::LIMIT, path, "nested too deep: not validated further");
            return;
        }
        self.depth += 1;
        self.walk(sd, el, obj, path, container);
        self.depth -= 1;
    }

    fn walk(
        &mut self,
        sd: &Arc<StructureDefinition>,
        el: usize,
        obj: &'d Map<String, Value>,
        path: &str,
        container: &'d Value,
    ) {
        if let Some(r) = &sd.elements[el].content_reference {
            // The referenced element of the base type: a profile's constraints on it (its
            // slices) do not apply to the nested copies.
            if let Some(base) = self.v.packages.base(&sd.type_name)
                && let Some(target) = base.content(r)
                && !Arc::ptr_eq(&base, sd) | (target != el)
            {
                return self.complex(&base, target, obj, path, container);
            }
        }
        let defining = el;
        let children = sd.elements[defining].children.clone();
        let is_resource_root = el == 0 && sd.kind == "resource";
        let mut groups: HashMap<usize, Vec<Keyed<'d>>> = HashMap::new();
        for (key, value) in obj {
            if is_resource_root && key == "resourceType" || key == "fhir_comments" {
                continue;
            }
            if let Some(base) = key.strip_prefix('_') {
                // The element `_x` accompanies, and whether it is a primitive (only a
                // primitive has a companion: `_name` next to a HumanName is no property).
                let target = children.iter().find_map(|&c| {
                    let ce = &sd.elements[c];
                    if ce.name == base {
                        return Some((ce, ce.types.iter().any(|t| is_primitive_code(&t.code))));
                    }
                    let rest = base.strip_prefix(ce.name.strip_suffix("[x]")?)?;
                    (!rest.is_empty()).then(|| {
                        let primitive = ce
                            .types
                            .iter()
                            .any(|t| is_primitive_code(&t.code) && capitalized(&t.code) == rest);
                        (ce, primitive)
                    })
                });
                match target {
                    None => self.push(
                        rules::ELEMENT_UNKNOWN,
                        &format!("{path}.{key}"),
                        format!("unknown element '{key}' in {}", sd.elements[defining].path),
                    ),
                    Some((ce, false)) => self.push(
                        rules::ELEMENT_UNKNOWN,
                        &format!("{path}.{key}"),
                        format!(
                            "unknown element '{key}' in {}: {} is not a primitive, so it \
                             has no '_' companion",
                            sd.elements[defining].path, ce.path
                        ),
                    ),
                    Some((_, true)) => self.companion(value, &format!("{path}.{key}"), container),
                }
                continue;
            }
            let mut matched = None;
            for &c in &children {
                let ce = &sd.elements[c];
                if ce.name == *key {
                    matched = Some((c, None));
                    break;
                }
                if let Some(prefix) = ce.name.strip_suffix("[x]")
                    && let Some(rest) = key.strip_prefix(prefix)
                    && rest.starts_with(|c: char| c.is_ascii_uppercase())
                {
                    match ce.types.iter().find(|t| capitalized(&t.code) == rest) {
                        Some(t) => matched = Some((c, Some(t.code.clone()))),
                        None => {
                            let allowed: Vec<&str> =
                                ce.types.iter().map(|t| t.code.as_str()).collect();
                            self.push(
                                rules::TYPE,
                                &format!("{path}.{key}"),
                                format!(
                                    "{} does not allow the type {rest} (allowed: {})",
                                    ce.path,
                                    allowed.join(", ")
                                ),
                            );
                            matched = Some((usize::MAX, None));
                        }
                    }
                    break;
                }
            }
            match matched {
                Some((usize::MAX, _)) => {}
                Some((c, t)) => groups.entry(c).or_default().push((key, value, t)),
                None => self.push(
                    rules::ELEMENT_UNKNOWN,
                    &format!("{path}.{key}"),
                    format!("unknown element '{key}' in {}", sd.elements[defining].path),
                ),
            }
        }
        for &c in &children {
            let ce = &sd.elements[c];
            let mut items: Vec<Item<'d>> = Vec::new();
            for (key, value, t) in groups.remove(&c).unwrap_or_default() {
                let kpath = format!("{path}.{key}");
                match value {
                    Value::Array(a) => {
                        if !ce.repeats {
                            self.push(
                                rules::JSON_ARRAY,
                                &kpath,
                                format!("{} is single: it must not be a JSON array", ce.path),
                            );
                        }
                        if a.is_empty() {
                            self.push(
                                rules::JSON_ARRAY,
                                &kpath,
                                "empty array (FHIR JSON forbids them)",
                            );
                        }
                        for (i, x) in a.iter().enumerate() {
                            if !x.is_null() {
                                items.push(Item {
                                    value: x,
                                    path: format!("{kpath}[{i}]"),
                                    type_code: t.clone(),
                                });
                            }
                        }
                    }
                    _ => {
                        if ce.repeats {
                            self.push(
                                rules::JSON_ARRAY,
                                &kpath,
                                format!("{} repeats: it must be a JSON array", ce.path),
                            );
                        }
                        if !value.is_null() {
                            items.push(Item {
                                value,
                                path: kpath,
                                type_code: t,
                            });
                        }
                    }
                }
            }
            let where_ = format!("{path}.{}", ce.name.trim_end_matches("[x]"));
            let n = items.len() as u32;
            if n < ce.min {
                self.push(
                    rules::CARD_MIN,
                    &where_,
                    format!(
                        "{}: minimum required = {}, but only found {n}",
                        ce.path, ce.min
                    ),
                );
            }
            if let Some(max) = ce.max
                && n > max
            {
                let at = items
                    .get(max as usize)
                    .map_or(where_.clone(), |i| i.path.clone());
                self.push(
                    rules::CARD_MAX,
                    &at,
                    format!("{}: maximum allowed = {max}, but found {n}", ce.path),
                );
            }
            if items.is_empty() {
                continue;
            }
            match &ce.slicing {
                Some(slicing) if !ce.slices.is_empty() => {
                    let slicing = slicing.clone();
                    self.sliced(sd, c, &slicing, items, &where_, container)
                }
                _ => {
                    for it in items {
                        self.item(sd, c, &it, container);
                    }
                }
            }
        }
    }

    /// A primitive's companion (`_birthDate`): an Element (id, extensions).
    fn companion(&mut self, value: &'d Value, path: &str, container: &'d Value) {
        let Some(element) = self.v.packages.base("Element") else {
            return;
        };
        let items: Vec<(String, &'d Value)> = match value {
            Value::Array(a) => a
                .iter()
                .enumerate()
                .map(|(i, x)| (format!("{path}[{i}]"), x))
                .collect(),
            v => vec![(path.to_string(), v)],
        };
        for (p, x) in items {
            match x {
                Value::Object(o) => self.complex(&element, 0, o, &p, container),
                Value::Null => {}
                _ => self.push(rules::TYPE, &p, "a primitive's companion must be an object"),
            }
        }
    }

    fn sliced(
        &mut self,
        sd: &Arc<StructureDefinition>,
        c: usize,
        slicing: &Slicing,
        items: Vec<Item<'d>>,
        where_: &str,
        container: &'d Value,
    ) {
        let slices = sd.elements[c].slices.clone();
        let assigned: Vec<Option<usize>> = items
            .iter()
            .map(|it| {
                slices
                    .iter()
                    .position(|&s| self.slice_matches(sd, s, it, slicing))
            })
            .collect();
        for (k, &s) in slices.iter().enumerate() {
            let se = &sd.elements[s];
            let matching: Vec<&Item> = items
                .iter()
                .zip(&assigned)
                .filter(|(_, a)| **a == Some(k))
                .map(|(i, _)| i)
                .collect();
            let n = matching.len() as u32;
            let name = se.slice_name.as_deref().unwrap_or("?");
            if n < se.min {
                self.push(
                    rules::SLICE_MIN,
                    where_,
                    format!(
                        "{}: slice '{name}' requires at least {}, found {n}",
                        se.path, se.min
                    ),
                );
            }
            if let Some(max) = se.max
                && n > max
            {
                self.push(
                    rules::SLICE_MAX,
                    &matching[max as usize].path,
                    format!(
                        "{}: slice '{name}' allows at most {max}, found {n}",
                        se.path
                    ),
                );
            }
        }
        let mut last = 0;
        let mut unmatched_seen = false;
        for (it, a) in items.iter().zip(&assigned) {
            match a {
                None => {
                    if slicing.rules == SlicingRules::Closed {
                        self.push(
                            rules::SLICE_CLOSED,
                            &it.path,
                            format!(
                                "{} is closed: this value matches none of its slices ({})",
                                sd.elements[c].path,
                                slices
                                    .iter()
                                    .filter_map(|&s| sd.elements[s].slice_name.as_deref())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        );
                    }
                    unmatched_seen = true;
                }
                Some(k) => {
                    if slicing.rules == SlicingRules::OpenAtEnd && unmatched_seen {
                        self.push(
                            rules::SLICE_OPEN_AT_END,
                            &it.path,
                            format!(
                                "{}: slices are open at end, but a value matching no slice comes before this one",
                                sd.elements[c].path
                            ),
                        );
                    }
                    if slicing.ordered && *k < last {
                        self.push(
                            rules::SLICE_ORDER,
                            &it.path,
                            format!("{}: slices out of order", sd.elements[c].path),
                        );
                    }
                    last = last.max(*k);
                }
            }
        }
        for (it, a) in items.iter().zip(assigned) {
            let target = a.map_or(c, |k| slices[k]);
            self.item(sd, target, it, container);
        }
    }

    fn slice_matches(
        &self,
        sd: &Arc<StructureDefinition>,
        s: usize,
        it: &Item<'d>,
        slicing: &Slicing,
    ) -> bool {
        let se = &sd.elements[s];
        if slicing.discriminators.is_empty() {
            return false;
        }
        slicing.discriminators.iter().all(|d| {
            if d.kind == DiscriminatorKind::Type && d.path == "$this" {
                return match (&it.type_code, it.value["resourceType"].as_str()) {
                    (Some(t), _) => se.types.iter().any(|x| &x.code == t),
                    (None, Some(rt)) => se.types.iter().any(|x| x.code == rt),
                    _ => true,
                };
            }
            // Extensions: the url is the slice's extension profile.
            if d.path == "url"
                && let Some(p) = se.types.first().and_then(|t| t.profiles.first())
                && sd.elements[s].children.is_empty()
            {
                let p = p.split('|').next().unwrap_or(p);
                return it.value["url"] == p;
            }
            let Some(vals) = values_at(it.value, &d.path) else {
                return true;
            };
            let def = self.find_def(sd, s, &d.path);
            match d.kind {
                DiscriminatorKind::Exists => match def {
                    Some((dsd, is)) if dsd.elements[is[0]].min >= 1 => !vals.is_empty(),
                    Some((dsd, is)) if dsd.elements[is[0]].max == Some(0) => vals.is_empty(),
                    _ => true,
                },
                DiscriminatorKind::Type => {
                    let Some((dsd, is)) = def else { return true };
                    vals.iter().any(|v| match v["resourceType"].as_str() {
                        Some(rt) => dsd.elements[is[0]].types.iter().any(|t| t.code == rt),
                        None => true,
                    })
                }
                DiscriminatorKind::Profile => {
                    let Some((dsd, is)) = def else { return true };
                    let types = &dsd.elements[is[0]].types;
                    vals.iter().any(|v| {
                        types.iter().any(|t| {
                            let type_ok = match v["resourceType"].as_str() {
                                Some(rt) => t.code == rt || t.code == "Resource",
                                None => true,
                            };
                            type_ok
                                && (t.profiles.is_empty()
                                    || t.profiles.iter().any(|p| self.conforms_light(p, v)))
                        })
                    })
                }
                DiscriminatorKind::Value | DiscriminatorKind::Pattern => {
                    // The constrained definitions at the path: the element and, when it is
                    // sliced further, its slices (`code.coding.code` fixed in `coding:X`).
                    let Some((dsd, candidates)) = def else {
                        return true;
                    };
                    let mut constrained = false;
                    let hit = candidates.iter().any(|&c| {
                        let de = &dsd.elements[c];
                        if let Some(f) = &de.fixed {
                            constrained = true;
                            vals.iter().any(|v| equals(v, f))
                        } else if let Some(p) = &de.pattern {
                            constrained = true;
                            vals.iter().any(|v| contains(v, p))
                        } else if let Some((strength, vs)) = &de.binding
                            && strength == "required"
                        {
                            constrained = true;
                            vals.iter().any(|v| self.in_value_set(vs, v))
                        } else {
                            false
                        }
                    });
                    hit || !constrained
                }
            }
        })
    }

    /// Whether a code, Coding or CodeableConcept is in a ValueSet (false when unknown).
    fn in_value_set(&self, vs: &str, v: &Value) -> bool {
        let codings: Vec<&Value> = match v.get("coding").and_then(Value::as_array) {
            Some(a) => a.iter().collect(),
            None => vec![v],
        };
        codings.into_iter().any(|c| {
            let (system, code) = match c {
                Value::String(s) => (None, s.as_str()),
                o => (o["system"].as_str(), o["code"].as_str().unwrap_or("")),
            };
            self.v.terminology.check(vs, system, code) == Membership::In
        })
    }

    /// The element definition at `path` under slice `s` (in `sd`, or in the slice's type
    /// profile when `sd` does not expand it).
    fn find_def(
        &self,
        sd: &Arc<StructureDefinition>,
        s: usize,
        path: &str,
    ) -> Option<(Arc<StructureDefinition>, Vec<usize>)> {
        let segs: Vec<&str> = split_path(path)
            .into_iter()
            .filter(|x| *x != "$this" && !x.starts_with("ofType("))
            .collect();
        // Every definition the path can reach: through the element and its slices.
        let walk = |sd: &Arc<StructureDefinition>, start: usize| -> Option<Vec<usize>> {
            let mut cur = vec![start];
            for seg in &segs {
                if seg.starts_with("resolve(") || seg.starts_with("extension(") {
                    return None;
                }
                let mut next = Vec::new();
                for c in cur {
                    for &k in &sd.elements[c].children {
                        let n = &sd.elements[k].name;
                        if n == seg || n.strip_suffix("[x]") == Some(seg) {
                            next.push(k);
                            next.extend(sd.elements[k].slices.iter().copied());
                        }
                    }
                }
                if next.is_empty() {
                    return None;
                }
                cur = next;
            }
            if segs.is_empty() {
                cur.extend(sd.elements[start].slices.iter().copied());
            }
            Some(cur)
        };
        if let Some(i) = walk(sd, s) {
            return Some((sd.clone(), i));
        }
        let se = &sd.elements[s];
        for t in &se.types {
            for p in &t.profiles {
                if let Some(psd) = self.v.packages.structure(p)
                    && let Some(i) = walk(&psd, 0)
                {
                    return Some((psd, i));
                }
            }
        }
        None
    }

    /// A quick conformance check for `profile` slicing: the resource type and the fixed and
    /// pattern values of the profile's unsliced elements.
    fn conforms_light(&self, profile: &str, v: &Value) -> bool {
        let Some(psd) = self.v.packages.structure(profile) else {
            return false;
        };
        if v["resourceType"].as_str() != Some(psd.type_name.as_str()) {
            return false;
        }
        psd.elements.iter().skip(1).all(|e| {
            if e.id.contains(':') || (e.fixed.is_none() && e.pattern.is_none()) {
                return true;
            }
            let rel = e.path.split_once('.').map_or("", |(_, r)| r);
            let rel = rel.replace("[x]", "");
            let Some(vals) = values_at(v, &rel) else {
                return true;
            };
            if vals.is_empty() {
                return e.min == 0;
            }
            vals.iter().any(|x| match (&e.fixed, &e.pattern) {
                (Some(f), _) => equals(x, f),
                (None, Some(p)) => contains(x, p),
                _ => true,
            })
        })
    }

    /// Validate one value of element `el`.
    fn item(
        &mut self,
        sd: &Arc<StructureDefinition>,
        el: usize,
        it: &Item<'d>,
        container: &'d Value,
    ) {
        let e = &sd.elements[el];
        let path = it.path.as_str();
        let v = it.value;
        let tref: Option<&TypeRef> = match &it.type_code {
            Some(t) => e.types.iter().find(|x| &x.code == t),
            None => e.types.first(),
        };
        let code = tref.map(|t| t.code.clone());
        if let Some(f) = &e.fixed
            && !equals(v, f)
        {
            self.push(
                rules::FIXED,
                path,
                format!(
                    "{}: value {} differs from the fixed value {}",
                    e.path,
                    short(v),
                    short(f)
                ),
            );
        }
        if let Some(p) = &e.pattern
            && !contains(v, p)
        {
            self.push(
                rules::PATTERN,
                path,
                format!(
                    "{}: value {} does not match the pattern {}",
                    e.path,
                    short(v),
                    short(p)
                ),
            );
        }
        if let Some((strength, vs)) = &e.binding
            && strength == "required"
        {
            self.binding(vs, code.as_deref().unwrap_or(""), v, path, &e.path);
        }
        // A resource reports its own invariants (the snapshot copies them onto the element).
        if !code.as_deref().is_some_and(|c| {
            c == "Resource"
                || self
                    .v
                    .packages
                    .base(c)
                    .is_some_and(|t| t.kind == "resource")
        }) {
            let fhir_type = match (&e.content_reference, code.as_deref()) {
                (Some(r), _) => Some(r.rsplit('#').next().unwrap_or(r)),
                (None, Some("BackboneElement" | "Element")) if !e.children.is_empty() => {
                    Some(e.path.as_str())
                }
                (None, c) => c,
            };
            self.constraints(sd, el, v, path, fhir_type);
        }
        let Some(code) = code else {
            // A BackboneElement-like element defined inline (or a contentReference).
            match v {
                Value::Object(o) => self.complex(sd, el, o, path, container),
                _ => self.push(
                    rules::TYPE,
                    path,
                    format!("{}: an object is expected", e.path),
                ),
            }
            return;
        };
        if is_primitive_code(&code) {
            self.primitive(&code, v, path, &e.path);
            return;
        }
        let Value::Object(obj) = v else {
            self.push(
                rules::TYPE,
                path,
                format!(
                    "{}: a {code} must be a JSON object, found {}",
                    e.path,
                    short(v)
                ),
            );
            return;
        };
        let tsd = self.v.packages.base(&code);
        if code == "Resource"
            || code == "DomainResource"
            || tsd.as_ref().is_some_and(|t| t.kind == "resource")
        {
            let profiles: Vec<String> = tref
                .map(|t| t.profiles.clone())
                .unwrap_or_default()
                .into_iter()
                .filter(|p| {
                    // The base definition adds nothing to what the resource gets anyway.
                    !p.starts_with("http://hl7.org/fhir/StructureDefinition/")
                })
                .collect();
            if let (Some(rt), false) = (
                v["resourceType"].as_str(),
                code == "Resource" || code == "DomainResource",
            ) && rt != code
            {
                self.push(
                    rules::TYPE,
                    path,
                    format!("{}: a {code} is expected, found a {rt}", e.path),
                );
            }
            let inner = if e.name == "contained" {
                Some(container)
            } else {
                None
            };
            self.resource(v, path, &profiles, inner);
            return;
        }
        let has_children = !e.children.is_empty() || e.content_reference.is_some();
        if has_children {
            self.complex(sd, el, obj, path, container);
        }
        let profiles = tref.map(|t| t.profiles.clone()).unwrap_or_default();
        let mut walked = has_children;
        for p in &profiles {
            match self.v.packages.structure(p) {
                Some(psd) => {
                    self.depth += 1;
                    self.constraints(&psd, 0, v, path, Some(&psd.type_name));
                    self.complex(&psd, 0, obj, path, container);
                    self.depth -= 1;
                    walked = true;
                }
                None => self.push(
                    rules::PROFILE_UNKNOWN,
                    path,
                    format!(
                        "{}: type profile {p} is not in the packages: not checked",
                        e.path
                    ),
                ),
            }
        }
        if code == "Extension" && profiles.is_empty() {
            match obj.get("url").and_then(Value::as_str) {
                None => self.push(rules::EXTENSION_URL, path, "an extension must have a url"),
                Some(url) => match self.v.packages.structure(url) {
                    Some(xsd) if xsd.type_name == "Extension" => {
                        self.depth += 1;
                        self.constraints(&xsd, 0, v, path, Some(&xsd.type_name));
                        self.complex(&xsd, 0, obj, path, container);
                        self.depth -= 1;
                        walked = true;
                    }
                    _ => {
                        if !has_children {
                            self.push(
                                rules::EXTENSION_UNKNOWN,
                                path,
                                format!("extension {url} is not in the packages: only its structure is checked"),
                            );
                        }
                    }
                },
            }
        }
        if !walked && let Some(tsd) = tsd {
            self.depth += 1;
            self.constraints(&tsd, 0, v, path, Some(&code));
            self.complex(&tsd, 0, obj, path, container);
            self.depth -= 1;
        }
        if code == "Reference"
            && let Some(t) = tref
        {
            self.reference(obj, path, &e.path, t, container);
        }
        if code == "Coding" {
            self.display(obj, path);
        }
    }

    fn display(&mut self, coding: &Map<String, Value>, path: &str) {
        let (Some(system), Some(code), Some(display)) = (
            coding.get("system").and_then(Value::as_str),
            coding.get("code").and_then(Value::as_str),
            coding.get("display").and_then(Value::as_str),
        ) else {
            return;
        };
        let Some(valid) = self.v.terminology.displays(system, code) else {
            return;
        };
        let norm = |s: &str| s.trim().to_lowercase();
        if valid.is_empty() || valid.iter().any(|v| norm(v) == norm(display)) {
            return;
        }
        self.push(
            rules::DISPLAY,
            &format!("{path}.display"),
            format!(
                "wrong display '{display}' for {system}#{code}: expected {}",
                valid
                    .iter()
                    .map(|v| format!("'{v}'"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        );
    }

    fn primitive(&mut self, code: &str, v: &Value, path: &str, epath: &str) {
        let code = code
            .strip_prefix("http://hl7.org/fhirpath/System.")
            .map_or(code, |c| match c {
                "String" => "string",
                "Boolean" => "boolean",
                "Integer" => "integer",
                "Decimal" => "decimal",
                "Date" => "date",
                "DateTime" => "dateTime",
                "Time" => "time",
                _ => "string",
            });
        let (ok, text) = match code {
            "boolean" => (v.is_boolean(), None),
            "integer" | "positiveInt" | "unsignedInt" | "integer64" => {
                if let Some(n) = v.as_number() {
                    // FHIR R4 §2.24: 32-bit integers (integer64 is R5's).
                    let (min, max) = match code {
                        "positiveInt" => (1, i64::from(i32::MAX)),
                        "unsignedInt" => (0, i64::from(i32::MAX)),
                        "integer" => (i64::from(i32::MIN), i64::from(i32::MAX)),
                        _ => (i64::MIN, i64::MAX),
                    };
                    // The number as written (serde_json keeps its text).
                    let text = n.to_string();
                    let why = if text.contains(['.', 'e', 'E']) {
                        Some("not an integer".to_string())
                    } else if n.as_i64().is_none_or(|i| i < min || i > max) {
                        Some(format!("out of range {min}..{max}"))
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        self.push(
                            rules::PRIMITIVE_FORMAT,
                            path,
                            format!("{epath}: {} is not a valid {code} ({why})", short(v)),
                        );
                        return;
                    }
                }
                (v.is_number(), None)
            }
            "decimal" => (v.is_number(), v.as_number().map(|n| n.to_string())),
            _ => (v.is_string(), v.as_str().map(str::to_string)),
        };
        if !ok {
            self.push(
                rules::TYPE,
                path,
                format!(
                    "{epath}: {} is not a JSON value of FHIR type {code}",
                    short(v)
                ),
            );
            return;
        }
        if let Some(text) = text
            && let Some(re) = self.v.regex(code)
            && !re.is_match(&text)
        {
            self.push(
                rules::PRIMITIVE_FORMAT,
                path,
                format!(
                    "{epath}: '{}' is not a valid {code}",
                    short(&Value::String(text.clone())).trim_matches('"')
                ),
            );
        }
    }

    fn binding(&mut self, vs: &str, code_type: &str, v: &Value, path: &str, epath: &str) {
        let codings: Vec<(Option<&str>, &str)> = match code_type {
            "CodeableConcept" => v["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| Some((c["system"].as_str(), c["code"].as_str()?)))
                .collect(),
            "Coding" | "Quantity" => match v["code"].as_str() {
                Some(code) => vec![(v["system"].as_str(), code)],
                None => vec![],
            },
            _ => match v.as_str() {
                Some(s) => vec![(None, s)],
                None => vec![],
            },
        };
        if codings.is_empty() {
            return;
        }
        let results: Vec<Membership> = codings
            .iter()
            .map(|(s, c)| self.v.terminology.check(vs, *s, c))
            .collect();
        if results.contains(&Membership::In) {
            return;
        }
        let shown: Vec<String> = codings
            .iter()
            .map(|(s, c)| s.map_or_else(|| c.to_string(), |s| format!("{s}#{c}")))
            .collect();
        if results.contains(&Membership::UnknownValueSet) {
            self.push(
                rules::VALUESET_UNKNOWN,
                path,
                format!("{epath}: ValueSet {vs} (required binding) is not in the packages: {} not checked", shown.join(", ")),
            );
        } else if let Some(Membership::NotChecked(why)) = results
            .iter()
            .find(|m| matches!(m, Membership::NotChecked(_)))
        {
            self.push(
                rules::BINDING_NOT_CHECKED,
                path,
                format!(
                    "{epath}: {} not checked against ValueSet {vs}: {why}",
                    shown.join(", ")
                ),
            );
        } else {
            self.push(
                rules::BINDING_REQUIRED,
                path,
                format!(
                    "{epath}: {} is not in the ValueSet {vs}, and the binding is required",
                    shown.join(", ")
                ),
            );
        }
    }

    fn reference(
        &mut self,
        obj: &'d Map<String, Value>,
        path: &str,
        epath: &str,
        t: &TypeRef,
        container: &'d Value,
    ) {
        let Some(r) = obj.get("reference").and_then(Value::as_str) else {
            return;
        };
        // The target, the container its own local references resolve against, and its path.
        let resolved: Option<Target<'d>> = if let Some(id) = r.strip_prefix('#') {
            let container_path = self
                .frames
                .iter()
                .rev()
                .find(|f| std::ptr::eq(f.resource, container))
                .map_or_else(|| path.to_string(), |f| f.path.clone());
            if id.is_empty() {
                Some(Target {
                    value: container,
                    container: None,
                    path: container_path,
                })
            } else {
                let contained = container["contained"].as_array();
                let ids = self
                    .contained_ids
                    .entry(container as *const Value as usize)
                    .or_insert_with(|| {
                        let mut ids = HashMap::new();
                        for (i, c) in contained.into_iter().flatten().enumerate() {
                            if let Some(id) = c["id"].as_str() {
                                // The first of a duplicated id, as the scan found it.
                                ids.entry(id).or_insert(i);
                            }
                        }
                        ids
                    });
                let found = ids.get(id).and_then(|&i| {
                    let value = contained?.get(i)?;
                    Some((i, value))
                });
                // Said of the value, not of the definition it is walked against (a profile's
                // extension slice, then the extension's own): one finding per place.
                if found.is_none() {
                    self.push(
                        rules::REF_CONTAINED,
                        path,
                        format!("reference '{r}' names no contained resource"),
                    );
                }
                found.map(|(i, value)| Target {
                    value,
                    container: Some(container),
                    path: format!("{container_path}.contained[{i}]"),
                })
            }
        } else {
            let only =
                |mode: &str| !t.aggregation.is_empty() && t.aggregation.iter().all(|a| a == mode);
            if only("contained") {
                self.push(
                    rules::REF_AGGREGATION,
                    path,
                    format!("{epath}: reference '{r}' must be to a contained resource (aggregation: contained)"),
                );
            }
            let found = self.bundles.last().and_then(|scope| {
                scope
                    .entries
                    .iter()
                    .enumerate()
                    .find(|(_, (full, res))| {
                        *full == r
                            || (!r.contains(':')
                                && (full.ends_with(&format!("/{r}"))
                                    || r.split_once('/').is_some_and(|(ty, id)| {
                                        res["resourceType"] == ty && res["id"] == id
                                    })))
                    })
                    .map(|(i, (_, res))| Target {
                        value: res,
                        container: None,
                        path: format!("{}.entry[{i}].resource", scope.path),
                    })
            });
            let in_bundle = !self.bundles.is_empty();
            if found.is_none()
                && in_bundle
                && (r.starts_with("urn:uuid:") || r.starts_with("urn:oid:"))
            {
                self.push(
                    rules::REF_BUNDLE,
                    path,
                    format!("reference '{r}' resolves to no entry of the Bundle"),
                );
            }
            if found.is_none() && only("bundled") {
                self.push(
                    rules::REF_AGGREGATION,
                    path,
                    format!("{epath}: reference '{r}' must be to a resource of the Bundle (aggregation: bundled)"),
                );
            }
            found
        };
        let Some(target) = resolved else {
            // Not resolved here: the type its URL names (`Practitioner/1`, an absolute
            // `…/fhir/Practitioner/1`) must still be one the element allows.
            if let Some(ty) = url_type(r)
                && self
                    .v
                    .packages
                    .base(ty)
                    .is_some_and(|b| b.kind == "resource")
                && let Some(allowed) = self.disallowed_target(t, ty)
            {
                self.push(
                    rules::REF_TARGET,
                    path,
                    format!(
                        "{epath}: reference '{r}' names a {ty}; allowed: {}",
                        allowed.join(", ")
                    ),
                );
            }
            return;
        };
        let Some(rt) = target.value["resourceType"].as_str() else {
            return;
        };
        if t.target_profiles.is_empty() {
            return;
        }
        // Each targetProfile with the type it constrains (`None` when it is not in the
        // packages and its URL does not name a core type).
        let profiles: Vec<(&str, Option<String>, bool)> = t
            .target_profiles
            .iter()
            .map(|p| match self.v.packages.structure(p) {
                Some(s) => (p.as_str(), Some(s.type_name.clone()), true),
                None => (p.as_str(), core_type(p).map(str::to_string), false),
            })
            .collect();
        let type_ok =
            |ty: &Option<String>| ty.as_deref().is_none_or(|ty| ty == rt || ty == "Resource");
        if !profiles.iter().any(|(_, ty, _)| type_ok(ty)) {
            let allowed: Vec<&str> = profiles
                .iter()
                .filter_map(|(_, ty, _)| ty.as_deref())
                .collect();
            self.push(
                rules::REF_TARGET,
                path,
                format!(
                    "{epath}: reference '{r}' is to a {rt}; allowed: {}",
                    allowed.join(", ")
                ),
            );
            return;
        }
        self.target_profiles(&target, rt, r, path, &profiles);
    }

    /// The types the targetProfiles of `t` allow, when `rt` is not one of them (`None` when
    /// it is, or when a targetProfile says nothing of its type).
    fn disallowed_target(&self, t: &TypeRef, rt: &str) -> Option<Vec<String>> {
        if t.target_profiles.is_empty() {
            return None;
        }
        let types: Vec<Option<String>> = t
            .target_profiles
            .iter()
            .map(|p| match self.v.packages.structure(p) {
                Some(s) => Some(s.type_name.clone()),
                None => core_type(p).map(str::to_string),
            })
            .collect();
        let ok = |ty: &Option<String>| ty.as_deref().is_none_or(|ty| ty == rt || ty == "Resource");
        (!types.iter().any(ok)).then(|| types.into_iter().flatten().collect())
    }

    /// A resolved target must conform to one of the targetProfiles of its type (HL7: "Unable
    /// to find a profile match … among choices"). A core definition of the target's own type
    /// asks for nothing more than the type (the target's own validation reports the rest).
    fn target_profiles(
        &mut self,
        target: &Target<'d>,
        rt: &str,
        r: &str,
        path: &str,
        profiles: &[(&str, Option<String>, bool)],
    ) {
        let candidates: Vec<&(&str, Option<String>, bool)> = profiles
            .iter()
            .filter(|(_, ty, _)| ty.as_deref().is_none_or(|ty| ty == rt || ty == "Resource"))
            .collect();
        let mut failures: Vec<(&str, Vec<String>)> = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        let mut too_deep: Vec<&str> = Vec::new();
        for (url, _, known) in candidates {
            let bare = url.split('|').next().unwrap_or(url);
            if core_type(bare).is_some() {
                return;
            }
            if !known {
                unknown.push(url);
                continue;
            }
            match self.conforms(target, url) {
                Verdict::Conforms => return,
                Verdict::Fails(errors) => failures.push((url, errors)),
                Verdict::TooDeep => too_deep.push(url),
            }
        }
        if !unknown.is_empty() || !too_deep.is_empty() {
            let mut why = Vec::new();
            if !unknown.is_empty() {
                why.push(format!("{} not in the packages", unknown.join(", ")));
            }
            if !too_deep.is_empty() {
                self.undecided = true;
                why.push(format!(
                    "{} not decided (references nested too deep)",
                    too_deep.join(", ")
                ));
            }
            self.push(
                rules::REF_PROFILE_NOT_CHECKED,
                path,
                format!(
                    "reference '{r}' (a {rt} at {}): whether the target conforms is not checked: targetProfile {}",
                    target.path,
                    why.join("; ")
                ),
            );
            return;
        }
        let why: Vec<String> = failures
            .iter()
            .map(|(url, errors)| format!("{url}: {}", errors.join("; ")))
            .collect();
        let choices: Vec<&str> = profiles.iter().map(|(url, _, _)| *url).collect();
        // No element path in the message: an element walked under two definitions (a
        // profile's slice and the extension's own definition) gives one finding.
        self.push(
            rules::REF_PROFILE,
            path,
            format!(
                "reference '{r}' (a {rt} at {}) conforms to none of its targetProfiles (choices: {}): {}",
                target.path,
                choices.join(", "),
                why.join(" | ")
            ),
        );
    }

    /// Whether `target` conforms to `profile`, decided once per (target, profile) in a
    /// validation; a reference cycle back to a target being decided counts as conforming.
    fn conforms(&mut self, target: &Target<'d>, profile: &str) -> Verdict {
        let key = (
            std::ptr::from_ref(target.value) as usize,
            profile.to_string(),
        );
        match self.conformance.get(&key) {
            Some(Conformance::Checking) => return Verdict::Conforms,
            Some(Conformance::Done(None)) => return Verdict::Conforms,
            Some(Conformance::Done(Some(errors))) => return Verdict::Fails(errors.clone()),
            None => {}
        }
        let rt = target.value["resourceType"].as_str().unwrap_or("");
        let Some(base) = self.v.packages.base(rt) else {
            return Verdict::Conforms;
        };
        self.conformance.insert(key.clone(), Conformance::Checking);
        let mut sub = Run {
            v: self.v,
            root: self.root,
            findings: Vec::new(),
            bundles: self.bundles.clone(),
            frames: Vec::new(),
            depth: self.depth + 1,
            conformance: std::mem::take(&mut self.conformance),
            undecided: false,
            contained_ids: HashMap::new(),
        };
        sub.resource_against(
            target.value,
            rt,
            base,
            &target.path,
            &[profile.to_string()],
            target.container,
        );
        self.conformance = std::mem::take(&mut sub.conformance);
        // A chain of references deeper than the limit leaves the target undecided, and its
        // referrers up the chain with it; not remembered (a shallower check may decide it).
        if sub.undecided || sub.findings.iter().any(|f| f.rule == rules::LIMIT) {
            self.conformance.remove(&key);
            return Verdict::TooDeep;
        }
        const SHOWN: usize = 3;
        let mut seen = HashSet::new();
        let errors: Vec<&Finding> = sub
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .filter(|f| seen.insert((f.rule.as_str(), f.location.xpath.as_deref())))
            .collect();
        let decided = (!errors.is_empty()).then(|| {
            let mut shown: Vec<String> = errors
                .iter()
                .take(SHOWN)
                .map(|f| {
                    format!(
                        "{} {} {}",
                        f.rule,
                        f.location.xpath.as_deref().unwrap_or(""),
                        f.message
                    )
                })
                .collect();
            if errors.len() > SHOWN {
                shown.push(format!("and {} more", errors.len() - SHOWN));
            }
            shown
        });
        self.conformance
            .insert(key, Conformance::Done(decided.clone()));
        match decided {
            None => Verdict::Conforms,
            Some(errors) => Verdict::Fails(errors),
        }
    }
}

/// Whether a reference target conforms to one targetProfile.
enum Verdict {
    Conforms,
    /// Its first errors against the profile.
    Fails(Vec<String>),
    /// Not decided: the references nest deeper than the validator's limit.
    TooDeep,
}

/// A resolved reference target.
struct Target<'d> {
    value: &'d Value,
    /// The resource whose `contained` holds it (its own `#id` references resolve there).
    container: Option<&'d Value>,
    /// Its element path.
    path: String,
}

/// The core type a `http://hl7.org/fhir/StructureDefinition/<Type>` URL defines.
fn core_type(url: &str) -> Option<&str> {
    let url = url.split('|').next().unwrap_or(url);
    url.strip_prefix("http://hl7.org/fhir/StructureDefinition/")
        .filter(|t| t.starts_with(|c: char| c.is_ascii_uppercase()) && !t.contains(['-', '/']))
}
