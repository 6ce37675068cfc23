//! StructureDefinition snapshots compiled into an element tree: children and slices by
//! index, with what the validator checks on each element.

use serde_json::{Map, Value};

/// How a slice is recognized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscriminatorKind {
    /// The value at the path equals the slice's fixed value (or matches its pattern).
    Value,
    /// The value at the path contains the slice's pattern.
    Pattern,
    /// The type of the value at the path.
    Type,
    /// The value at the path conforms to the slice's type profile.
    Profile,
    /// The value at the path is present or absent.
    Exists,
}

/// One discriminator of a slicing.
#[derive(Debug, Clone)]
pub struct Discriminator {
    /// Its kind.
    pub kind: DiscriminatorKind,
    /// The FHIRPath (a simple path) from the sliced element.
    pub path: String,
}

/// `slicing.rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlicingRules {
    /// Other values may appear anywhere.
    Open,
    /// Only the slices may appear.
    Closed,
    /// Other values may appear after the slices only.
    OpenAtEnd,
}

/// `ElementDefinition.slicing`.
#[derive(Debug, Clone)]
pub struct Slicing {
    /// The discriminators (all must match).
    pub discriminators: Vec<Discriminator>,
    /// Open, closed or open at end.
    pub rules: SlicingRules,
    /// Whether the slices must appear in order.
    pub ordered: bool,
}

/// One `ElementDefinition.type`.
#[derive(Debug, Clone)]
pub struct TypeRef {
    /// The type code (`Identifier`, `string`, `http://hl7.org/fhirpath/System.String`).
    pub code: String,
    /// Profiles the value must conform to.
    pub profiles: Vec<String>,
    /// For references: the profiles of the target.
    pub target_profiles: Vec<String>,
    /// For references: the allowed aggregation modes (`contained`, `referenced`, `bundled`).
    pub aggregation: Vec<String>,
}

/// One invariant.
#[derive(Debug, Clone)]
pub struct Constraint {
    /// The key (`ele-1`, `dom-4`).
    pub key: String,
    /// `error` or `warning`.
    pub severity: String,
    /// The human description.
    pub human: String,
    /// The FHIRPath expression.
    pub expression: String,
}

/// One element of a snapshot.
#[derive(Debug, Clone)]
pub struct Element {
    /// `ElementDefinition.id` (`Patient.identifier:INS-NIR.system`).
    pub id: String,
    /// `ElementDefinition.path`.
    pub path: String,
    /// The last segment of the path (`system`, `value[x]`).
    pub name: String,
    /// The slice this element defines, if any.
    pub slice_name: Option<String>,
    /// Minimum cardinality.
    pub min: u32,
    /// Maximum cardinality (`None`: unbounded).
    pub max: Option<u32>,
    /// Whether the base element repeats (then JSON carries an array).
    pub repeats: bool,
    /// Allowed types.
    pub types: Vec<TypeRef>,
    /// `fixed[x]`.
    pub fixed: Option<Value>,
    /// `pattern[x]`.
    pub pattern: Option<Value>,
    /// `slicing`.
    pub slicing: Option<Slicing>,
    /// Binding strength and value set.
    pub binding: Option<(String, String)>,
    /// Invariants.
    pub constraints: Vec<Constraint>,
    /// `contentReference` (`#Questionnaire.item`).
    pub content_reference: Option<String>,
    /// The regex of a primitive type's `value` element.
    pub regex: Option<String>,
    /// Child elements (indexes).
    pub children: Vec<usize>,
    /// Slices of this element (indexes).
    pub slices: Vec<usize>,
}

impl Element {
    /// Whether the name is a choice (`value[x]`).
    pub fn is_choice(&self) -> bool {
        self.name.ends_with("[x]")
    }
}

/// A compiled StructureDefinition.
#[derive(Debug, Clone)]
pub struct StructureDefinition {
    /// Canonical URL.
    pub url: String,
    /// Business version.
    pub version: String,
    /// The type it constrains (`Patient`).
    pub type_name: String,
    /// `primitive-type`, `complex-type`, `resource`, `logical`.
    pub kind: String,
    /// Whether it is abstract (`Resource`, `DomainResource`).
    pub is_abstract: bool,
    /// The snapshot elements; the root is index 0.
    pub elements: Vec<Element>,
}

fn first_type_value(e: &Map<String, Value>, prefix: &str) -> Option<Value> {
    e.iter()
        .find(|(k, _)| {
            k.strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        })
        .map(|(_, v)| v.clone())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl StructureDefinition {
    /// Compile a StructureDefinition resource; `None` without a snapshot.
    pub fn compile(sd: &Value) -> Option<StructureDefinition> {
        let snapshot = sd["snapshot"]["element"].as_array()?;
        let mut elements = Vec::with_capacity(snapshot.len());
        for e in snapshot {
            let Some(o) = e.as_object() else { continue };
            let path = o.get("path")?.as_str()?.to_string();
            let id = o
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| path.clone(), str::to_string);
            let name = path.rsplit('.').next().unwrap_or("").to_string();
            let max = match o.get("max").and_then(Value::as_str) {
                Some("*") | None => None,
                Some(m) => m.parse().ok(),
            };
            let base_max = o
                .get("base")
                .and_then(|b| b.get("max"))
                .and_then(Value::as_str)
                .or_else(|| o.get("max").and_then(Value::as_str))
                .unwrap_or("1");
            let types = o
                .get("type")
                .and_then(Value::as_array)
                .map(|ts| {
                    ts.iter()
                        .map(|t| TypeRef {
                            code: t["code"].as_str().unwrap_or("").to_string(),
                            profiles: strings(&t["profile"]),
                            target_profiles: strings(&t["targetProfile"]),
                            aggregation: strings(&t["aggregation"]),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let regex = o
                .get("type")
                .and_then(|t| t.get(0))
                .and_then(|t| t.get("extension"))
                .and_then(Value::as_array)
                .and_then(|xs| {
                    xs.iter()
                        .find(|x| x["url"] == "http://hl7.org/fhir/StructureDefinition/regex")
                })
                .and_then(|x| x["valueString"].as_str())
                .map(str::to_string);
            let slicing = o.get("slicing").map(|s| Slicing {
                discriminators: s["discriminator"]
                    .as_array()
                    .map(|ds| {
                        ds.iter()
                            .filter_map(|d| {
                                let kind = match d["type"].as_str()? {
                                    "value" => DiscriminatorKind::Value,
                                    "pattern" => DiscriminatorKind::Pattern,
                                    "type" => DiscriminatorKind::Type,
                                    "profile" => DiscriminatorKind::Profile,
                                    "exists" => DiscriminatorKind::Exists,
                                    _ => return None,
                                };
                                Some(Discriminator {
                                    kind,
                                    path: d["path"].as_str().unwrap_or("$this").to_string(),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                rules: match s["rules"].as_str() {
                    Some("closed") => SlicingRules::Closed,
                    Some("openAtEnd") => SlicingRules::OpenAtEnd,
                    _ => SlicingRules::Open,
                },
                ordered: s["ordered"].as_bool().unwrap_or(false),
            });
            let binding = o.get("binding").and_then(|b| {
                Some((
                    b["strength"].as_str()?.to_string(),
                    b["valueSet"].as_str()?.to_string(),
                ))
            });
            let constraints = o
                .get("constraint")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| {
                            Some(Constraint {
                                key: c["key"].as_str()?.to_string(),
                                severity: c["severity"].as_str().unwrap_or("error").to_string(),
                                human: c["human"].as_str().unwrap_or("").to_string(),
                                expression: c["expression"].as_str()?.to_string(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            elements.push(Element {
                id,
                path,
                name,
                slice_name: o
                    .get("sliceName")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                min: o.get("min").and_then(Value::as_u64).unwrap_or(0) as u32,
                max,
                repeats: base_max != "1" && base_max != "0",
                types,
                fixed: first_type_value(o, "fixed"),
                pattern: first_type_value(o, "pattern"),
                slicing,
                binding,
                constraints,
                content_reference: o
                    .get("contentReference")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                regex,
                children: Vec::new(),
                slices: Vec::new(),
            });
        }
        if elements.is_empty() {
            return None;
        }
        link(&mut elements);
        Some(StructureDefinition {
            url: sd["url"].as_str().unwrap_or("").to_string(),
            version: sd["version"].as_str().unwrap_or("").to_string(),
            type_name: sd["type"].as_str().unwrap_or("").to_string(),
            kind: sd["kind"].as_str().unwrap_or("").to_string(),
            is_abstract: sd["abstract"].as_bool().unwrap_or(false),
            elements,
        })
    }

    /// The element with this id.
    pub fn by_id(&self, id: &str) -> Option<usize> {
        self.elements.iter().position(|e| e.id == id)
    }

    /// The element a `contentReference` (`#Questionnaire.item` or a URL ending so) names.
    pub fn content(&self, reference: &str) -> Option<usize> {
        let id = reference.rsplit('#').next()?;
        self.elements
            .iter()
            .position(|e| e.id == id || (e.path == id && e.slice_name.is_none()))
    }
}

/// Fill `children` and `slices` from the ids: `A.b:s` is a slice of `A.b`, `A.b:s.c` a child
/// of `A.b:s`.
fn link(elements: &mut [Element]) {
    let index: std::collections::HashMap<String, usize> = elements
        .iter()
        .enumerate()
        .map(|(i, e)| (e.id.clone(), i))
        .collect();
    for i in 1..elements.len() {
        let id = elements[i].id.clone();
        let last_dot = id.rfind('.');
        let last_seg = &id[last_dot.map_or(0, |d| d + 1)..];
        if let Some(colon) = last_seg.rfind(':') {
            // A slice (or a reslice `b:s/r`, a slice of `b:s`).
            let base = &id[..last_dot.map_or(0, |d| d + 1) + colon];
            let base = match last_seg[colon + 1..].rsplit_once('/') {
                Some((outer, _)) => format!("{base}:{outer}"),
                None => base.to_string(),
            };
            if let Some(&b) = index.get(&base) {
                elements[b].slices.push(i);
                continue;
            }
        }
        if let Some(d) = last_dot
            && let Some(&p) = index.get(&id[..d])
        {
            elements[p].children.push(i);
        }
    }
}
