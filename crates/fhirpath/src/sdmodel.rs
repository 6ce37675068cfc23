//! A [`Model`] read from the base StructureDefinitions of a FHIR package (the core types and
//! resources), so that element types (`Patient.birthDate` is a `date`), backbone elements and
//! the type hierarchy are known.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

use crate::model::{Model, builtin_is_subtype};

const CORE_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/";

/// A package folder that could not be read.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ModelLoadError {
    /// The folder or a file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{path} is not JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

/// Element types and base types from the type-defining StructureDefinitions (those whose
/// `url` is `http://hl7.org/fhir/StructureDefinition/` + `type`); profiles are ignored.
#[derive(Debug, Default, Clone)]
pub struct StructureDefinitionModel {
    /// parent type or backbone path → element name → type or backbone path.
    elements: HashMap<String, HashMap<String, String>>,
    /// type or backbone path → its base type.
    bases: HashMap<String, String>,
    /// type or backbone path → its choice elements (`value` for `value[x]`).
    choices: HashMap<String, Vec<String>>,
}

fn system_type(code: &str) -> &str {
    match code.strip_prefix("http://hl7.org/fhirpath/System.") {
        Some("String") => "string",
        Some("Boolean") => "boolean",
        Some("Integer") => "integer",
        Some("Decimal") => "decimal",
        Some("Date") => "date",
        Some("DateTime") => "dateTime",
        Some("Time") => "time",
        Some(_) => "string",
        None => code,
    }
}

impl StructureDefinitionModel {
    /// An empty model.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one StructureDefinition; returns whether it defined a type.
    pub fn add(&mut self, sd: &Value) -> bool {
        let (Some(ty), Some(url)) = (
            sd.get("type").and_then(Value::as_str),
            sd.get("url").and_then(Value::as_str),
        ) else {
            return false;
        };
        if url.strip_prefix(CORE_PREFIX) != Some(ty)
            || sd.get("kind").and_then(Value::as_str) == Some("logical")
        {
            return false;
        }
        if let Some(base) = sd
            .get("baseDefinition")
            .and_then(Value::as_str)
            .and_then(|b| b.rsplit('/').next())
        {
            self.bases.insert(ty.to_owned(), base.to_owned());
        }
        let elements = sd
            .pointer("/snapshot/element")
            .or_else(|| sd.pointer("/differential/element"))
            .and_then(Value::as_array);
        for e in elements.into_iter().flatten() {
            let Some(path) = e.get("path").and_then(Value::as_str) else {
                continue;
            };
            // Constraint types (Age, SimpleQuantity) may write their paths with the base name.
            let path = match path.split_once('.') {
                Some((_, rest)) => format!("{ty}.{rest}"),
                None => continue,
            };
            let Some((parent, name)) = path.rsplit_once('.') else {
                continue;
            };
            if let Some(choice) = name.strip_suffix("[x]") {
                self.choices
                    .entry(parent.to_owned())
                    .or_default()
                    .push(choice.to_owned());
                continue;
            }
            let element_type = if let Some(r) = e.get("contentReference").and_then(Value::as_str) {
                r.trim_start_matches('#').to_owned()
            } else {
                let codes: Vec<&str> = e
                    .get("type")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.get("code").and_then(Value::as_str))
                    .collect();
                match codes.as_slice() {
                    [code] if *code == "BackboneElement" || *code == "Element" => {
                        self.bases.insert(path.clone(), (*code).to_owned());
                        path.clone()
                    }
                    [code] => system_type(code).to_owned(),
                    _ => continue,
                }
            };
            self.elements
                .entry(parent.to_owned())
                .or_default()
                .insert(name.to_owned(), element_type);
        }
        true
    }

    /// Reads every StructureDefinition of a package folder (`…/package/*.json`).
    pub fn from_package_dir(dir: &Path) -> Result<Self, ModelLoadError> {
        let mut model = Self::new();
        let entries = std::fs::read_dir(dir).map_err(|source| ModelLoadError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            let is_sd = path.extension().is_some_and(|x| x == "json")
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("StructureDefinition"));
            if !is_sd {
                continue;
            }
            let text = std::fs::read(&path).map_err(|source| ModelLoadError::Io {
                path: path.clone(),
                source,
            })?;
            let v: Value =
                serde_json::from_slice(&text).map_err(|source| ModelLoadError::Json {
                    path: path.clone(),
                    source,
                })?;
            model.add(&v);
        }
        Ok(model)
    }

    /// Number of types and backbone elements known.
    pub fn type_count(&self) -> usize {
        self.elements.len()
    }

    /// The base type of a type or backbone path (`Age` → `Quantity`), when this model knows it.
    pub fn base_of(&self, ty: &str) -> Option<&str> {
        self.bases.get(ty).map(String::as_str)
    }
}

impl Model for StructureDefinitionModel {
    fn element_type(&self, parent: &str, element: &str) -> Option<&str> {
        let mut ty = parent;
        // Inherited elements (Resource.id on a Patient backbone) are looked up on the bases.
        for _ in 0..16 {
            if let Some(t) = self.elements.get(ty).and_then(|m| m.get(element)) {
                return Some(t);
            }
            ty = self.bases.get(ty)?;
        }
        None
    }

    fn has_element(&self, parent: &str, element: &str) -> Option<bool> {
        let mut ty = parent;
        let mut known = false;
        for _ in 0..16 {
            if let Some(m) = self.elements.get(ty) {
                known = true;
                if m.contains_key(element) {
                    return Some(true);
                }
            }
            if self
                .choices
                .get(ty)
                .is_some_and(|c| c.iter().any(|c| c == element))
            {
                return Some(true);
            }
            match self.bases.get(ty) {
                Some(b) => ty = b,
                None => break,
            }
        }
        known.then_some(false)
    }

    fn is_subtype(&self, ty: &str, base: &str) -> bool {
        let mut cur = ty;
        for _ in 0..16 {
            if cur == base {
                return true;
            }
            match self.bases.get(cur) {
                Some(b) => cur = b,
                None => return builtin_is_subtype(cur, base),
            }
        }
        false
    }
}
