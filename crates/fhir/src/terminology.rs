//! Required bindings checked offline: ValueSet expansions computed from `compose`
//! (include/exclude with concept lists, whole code systems, `is-a`/`descendent-of`/`=`
//! filters on local CodeSystems), cached per ValueSet.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::package::{Kind, Packages};

/// Code systems that are grammars, not lists: their codes cannot be enumerated.
const GRAMMARS: &[&str] = &[
    "http://unitsofmeasure.org",
    "urn:ietf:bcp:13",
    "urn:ietf:bcp:47",
    "urn:iso:std:iso:4217",
    "http://hl7.org/fhir/sid/icd-10",
    "http://snomed.info/sct",
    "http://loinc.org",
    "urn:ietf:rfc:3986",
];

/// A value set as the validator uses it.
#[derive(Debug, Default)]
pub struct Expansion {
    codes: HashSet<(String, String)>,
    /// Systems included whole (or with a filter) that are not enumerable here: a code from
    /// them is not checked.
    open: HashSet<String>,
    /// Why some part could not be expanded (a missing ValueSet, an unsupported filter).
    pub notes: Vec<String>,
}

/// The answer to "is this code in the value set?".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// It is.
    In,
    /// It is not.
    NotIn,
    /// It cannot be decided here (why).
    NotChecked(String),
    /// The value set is not in the packages.
    UnknownValueSet,
}

/// Expansions of the ValueSets of a set of packages, computed on demand and cached.
#[derive(Debug)]
pub struct Terminology<'p> {
    packages: &'p Packages,
    cache: Mutex<HashMap<String, Arc<Expansion>>>,
    displays: Mutex<HashMap<String, Option<Arc<Displays>>>>,
}

/// The displays (and designations) of every concept of a CodeSystem, by code.
type Displays = HashMap<String, Vec<String>>;

/// ValueSets nested deeper than this (a cycle) are not followed.
const MAX_NESTING: usize = 16;

impl<'p> Terminology<'p> {
    /// Over these packages.
    pub fn new(packages: &'p Packages) -> Self {
        Terminology {
            packages,
            cache: Mutex::new(HashMap::new()),
            displays: Mutex::new(HashMap::new()),
        }
    }

    /// The expansion of a ValueSet (`url` or `url|version`), `None` if it is not local.
    pub fn expansion(&self, url: &str) -> Option<Arc<Expansion>> {
        self.expand(url, 0)
    }

    fn expand(&self, url: &str, depth: usize) -> Option<Arc<Expansion>> {
        if let Some(e) = self.cache.lock().ok()?.get(url) {
            return Some(e.clone());
        }
        let vs = self.packages.resource(Kind::ValueSet, url)?;
        let mut exp = Expansion::default();
        if depth > MAX_NESTING {
            exp.notes.push(format!("{url}: nested too deep"));
        } else if let Some(contains) = vs["expansion"]["contains"].as_array() {
            collect_contains(contains, &mut exp.codes);
        } else {
            for inc in vs["compose"]["include"].as_array().into_iter().flatten() {
                self.include(inc, &mut exp, depth, true);
            }
            for exc in vs["compose"]["exclude"].as_array().into_iter().flatten() {
                let mut removed = Expansion::default();
                self.include(exc, &mut removed, depth, false);
                exp.codes.retain(|c| !removed.codes.contains(c));
            }
        }
        let exp = Arc::new(exp);
        if let Ok(mut c) = self.cache.lock() {
            c.insert(url.to_string(), exp.clone());
        }
        Some(exp)
    }

    fn include(&self, inc: &Value, exp: &mut Expansion, depth: usize, add_open: bool) {
        let system = inc["system"].as_str().unwrap_or("");
        let mut part = Expansion::default();
        if !system.is_empty() {
            if let Some(concepts) = inc["concept"].as_array() {
                for c in concepts {
                    if let Some(code) = c["code"].as_str() {
                        part.codes.insert((system.to_string(), code.to_string()));
                    }
                }
            } else {
                let cs = self.packages.resource(Kind::CodeSystem, system);
                let enumerable = cs.as_ref().is_some_and(|cs| {
                    matches!(cs["content"].as_str(), Some("complete") | None)
                        && !GRAMMARS.contains(&system)
                });
                match (cs, inc["filter"].as_array()) {
                    (Some(cs), filters) if enumerable => {
                        let mut all = Vec::new();
                        flatten(cs["concept"].as_array(), None, &mut all);
                        for c in all {
                            if filters
                                .into_iter()
                                .flatten()
                                .all(|f| matches_filter(&c, f, &mut part.notes))
                            {
                                part.codes.insert((system.to_string(), c.code));
                            }
                        }
                    }
                    _ => {
                        part.open.insert(system.to_string());
                    }
                }
            }
        }
        let nested: Vec<Arc<Expansion>> = inc["valueSet"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|u| {
                let e = self.expand(u, depth + 1);
                if e.is_none() {
                    exp.notes.push(format!("ValueSet {u} not found"));
                }
                e
            })
            .collect();
        for n in &nested {
            if system.is_empty() {
                part.codes.extend(n.codes.iter().cloned());
                part.open.extend(n.open.iter().cloned());
            } else {
                // system and valueSet: the intersection.
                part.codes.retain(|c| n.codes.contains(c));
            }
        }
        exp.codes.extend(part.codes);
        if add_open {
            exp.open.extend(part.open);
        }
        exp.notes.extend(part.notes);
    }

    /// The valid displays of `code` in the local CodeSystem `system` (its display and its
    /// designations); `None` when the CodeSystem is not local, or the code not in it.
    pub fn displays(&self, system: &str, code: &str) -> Option<Vec<String>> {
        let cached = self.displays.lock().ok()?.get(system).cloned();
        let table = match cached {
            Some(t) => t,
            None => {
                let t = self.packages.resource(Kind::CodeSystem, system).map(|cs| {
                    let mut table = Displays::new();
                    collect_displays(cs["concept"].as_array(), &mut table);
                    Arc::new(table)
                });
                if let Ok(mut c) = self.displays.lock() {
                    c.insert(system.to_string(), t.clone());
                }
                t
            }
        }?;
        table.get(code).cloned()
    }

    /// Whether `code` (of `system`, when given) is in the ValueSet `url`.
    pub fn check(&self, url: &str, system: Option<&str>, code: &str) -> Membership {
        let Some(exp) = self.expansion(url) else {
            return Membership::UnknownValueSet;
        };
        let found = match system {
            Some(s) => exp.codes.contains(&(s.to_string(), code.to_string())),
            None => exp.codes.iter().any(|(_, c)| c == code),
        };
        if found {
            return Membership::In;
        }
        let open: Vec<&String> = match system {
            Some(s) => exp.open.iter().filter(|o| *o == s).collect(),
            None => exp.open.iter().collect(),
        };
        if let Some(o) = open.first() {
            let why = if GRAMMARS.contains(&o.as_str()) {
                "a grammar or a code system too large to enumerate offline"
            } else {
                "a code system not enumerable from the local packages"
            };
            return Membership::NotChecked(format!("{o} is {why}"));
        }
        if !exp.notes.is_empty() {
            return Membership::NotChecked(exp.notes.join("; "));
        }
        Membership::NotIn
    }
}

fn collect_contains(contains: &[Value], out: &mut HashSet<(String, String)>) {
    for c in contains {
        if let (Some(s), Some(code)) = (c["system"].as_str(), c["code"].as_str()) {
            out.insert((s.to_string(), code.to_string()));
        }
        if let Some(more) = c["contains"].as_array() {
            collect_contains(more, out);
        }
    }
}

fn collect_displays(concepts: Option<&Vec<Value>>, out: &mut Displays) {
    for c in concepts.into_iter().flatten() {
        let Some(code) = c["code"].as_str() else {
            continue;
        };
        let mut names: Vec<String> = c["display"]
            .as_str()
            .map(str::to_string)
            .into_iter()
            .collect();
        names.extend(
            c["designation"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["value"].as_str().map(str::to_string)),
        );
        out.insert(code.to_string(), names);
        collect_displays(c["concept"].as_array(), out);
    }
}

/// A concept with its ancestors and properties, flattened from the hierarchy.
struct Concept {
    code: String,
    ancestors: Vec<String>,
    properties: Vec<(String, String)>,
}

fn flatten(concepts: Option<&Vec<Value>>, parent: Option<&Concept>, out: &mut Vec<Concept>) {
    for c in concepts.into_iter().flatten() {
        let Some(code) = c["code"].as_str() else {
            continue;
        };
        let mut ancestors = parent.map(|p| p.ancestors.clone()).unwrap_or_default();
        if let Some(p) = parent {
            ancestors.push(p.code.clone());
        }
        let properties: Vec<(String, String)> = c["property"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let v = p
                    .as_object()?
                    .iter()
                    .find(|(k, _)| k.starts_with("value"))
                    .map(|(_, v)| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })?;
                Some((p["code"].as_str()?.to_string(), v))
            })
            .collect();
        for (k, v) in &properties {
            if k == "subsumedBy" || k == "parent" {
                ancestors.push(v.clone());
            }
        }
        let me = Concept {
            code: code.to_string(),
            ancestors,
            properties,
        };
        flatten(c["concept"].as_array(), Some(&me), out);
        out.push(me);
    }
}

fn matches_filter(c: &Concept, f: &Value, notes: &mut Vec<String>) -> bool {
    let prop = f["property"].as_str().unwrap_or("");
    let value = f["value"].as_str().unwrap_or("");
    match f["op"].as_str().unwrap_or("") {
        "is-a" if prop == "concept" || prop == "code" => {
            c.code == value || c.ancestors.iter().any(|a| a == value)
        }
        "descendent-of" if prop == "concept" || prop == "code" => {
            c.ancestors.iter().any(|a| a == value)
        }
        "is-not-a" if prop == "concept" || prop == "code" => {
            c.code != value && !c.ancestors.iter().any(|a| a == value)
        }
        "=" => c.properties.iter().any(|(k, v)| k == prop && v == value),
        "in" => {
            let set: Vec<&str> = value.split(',').map(str::trim).collect();
            c.properties
                .iter()
                .any(|(k, v)| k == prop && set.contains(&v.as_str()))
        }
        op => {
            let note = format!("filter {prop} {op} {value} not supported");
            if !notes.contains(&note) {
                notes.push(note);
            }
            false
        }
    }
}
