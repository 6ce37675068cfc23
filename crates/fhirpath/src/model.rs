//! Optional type information ([`Model`]) and what the engine infers without one: choice
//! elements from their JSON key suffix (`valueQuantity`), resources from `resourceType`, and
//! the R4 type hierarchy of primitives, quantities and resources.

/// Type information about FHIR elements, for `is`/`as`/`ofType` and primitive conversions
/// (a `date` element compares as a Date). Implemented by a StructureDefinition-driven
/// validator; without one the engine infers what the JSON shows.
pub trait Model: Send + Sync {
    /// The FHIR type of element `element` of type `parent` (`("Patient", "birthDate")` →
    /// `"date"`), or of a backbone element path (`("Patient.contact", "name")`), or None.
    fn element_type(&self, parent: &str, element: &str) -> Option<&str>;

    /// Whether type `parent` has an element `element` (a choice element by its name without
    /// `[x]`): None when the model does not know `parent`. Used by strict mode.
    fn has_element(&self, parent: &str, element: &str) -> Option<bool> {
        self.element_type(parent, element).map(|_| true)
    }

    /// Whether `ty` is `base` or derives from it (`Age` → `Quantity`). The default knows the
    /// R4 core hierarchy.
    fn is_subtype(&self, ty: &str, base: &str) -> bool {
        builtin_is_subtype(ty, base)
    }
}

/// The FHIR R4 primitive types (lower-case names).
pub const PRIMITIVE_TYPES: [&str; 20] = [
    "base64Binary",
    "boolean",
    "canonical",
    "code",
    "date",
    "dateTime",
    "decimal",
    "id",
    "instant",
    "integer",
    "markdown",
    "oid",
    "positiveInt",
    "string",
    "time",
    "unsignedInt",
    "uri",
    "url",
    "uuid",
    "xhtml",
];

/// FHIR R4 general-purpose and metadata data types that may appear as a choice suffix.
pub const COMPLEX_TYPES: [&str; 37] = [
    "Address",
    "Age",
    "Annotation",
    "Attachment",
    "CodeableConcept",
    "Coding",
    "ContactDetail",
    "ContactPoint",
    "Contributor",
    "Count",
    "DataRequirement",
    "Distance",
    "Dosage",
    "Duration",
    "Expression",
    "Extension",
    "HumanName",
    "Identifier",
    "Meta",
    "Money",
    "MoneyQuantity",
    "Narrative",
    "ParameterDefinition",
    "Period",
    "Quantity",
    "Range",
    "Ratio",
    "Reference",
    "RelatedArtifact",
    "SampledData",
    "Signature",
    "SimpleQuantity",
    "Timing",
    "TriggerDefinition",
    "UsageContext",
    "MarketingStatus",
    "Population",
];

/// The FHIR type named by a choice key's suffix (`Quantity` → `Quantity`, `DateTime` →
/// `dateTime`), if it names one.
pub fn type_from_suffix(suffix: &str) -> Option<&'static str> {
    let mut chars = suffix.chars();
    let first = chars.next()?;
    if !first.is_ascii_uppercase() {
        return None;
    }
    if let Some(p) = PRIMITIVE_TYPES.iter().find(|p| {
        p.len() == suffix.len()
            && p[..1].eq_ignore_ascii_case(&suffix[..1])
            && p[1..] == suffix[1..]
    }) {
        return Some(p);
    }
    COMPLEX_TYPES.iter().find(|c| **c == suffix).copied()
}

/// The built-in view of the R4 hierarchy used when no [`Model`] says otherwise.
pub fn builtin_is_subtype(ty: &str, base: &str) -> bool {
    if ty == base {
        return true;
    }
    let parent = match ty {
        "code" | "id" | "markdown" => "string",
        "url" | "canonical" | "oid" | "uuid" => "uri",
        "unsignedInt" | "positiveInt" => "integer",
        "Age" | "Distance" | "Duration" | "Count" | "SimpleQuantity" | "MoneyQuantity" => {
            "Quantity"
        }
        "Bundle" | "Binary" | "Parameters" | "DomainResource" => "Resource",
        "Resource" | "Element" => return false,
        t if t.starts_with(|c: char| c.is_ascii_uppercase())
            && !COMPLEX_TYPES.contains(&t)
            && base.ends_with("Resource") =>
        {
            "DomainResource"
        }
        _ => {
            // Every data type is an Element.
            return base == "Element" && ty != "Resource";
        }
    };
    builtin_is_subtype(parent, base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_and_hierarchy() {
        assert_eq!(type_from_suffix("DateTime"), Some("dateTime"));
        assert_eq!(type_from_suffix("Quantity"), Some("Quantity"));
        assert_eq!(type_from_suffix("Foo"), None);
        assert_eq!(type_from_suffix("string"), None);
        assert!(builtin_is_subtype("Age", "Quantity"));
        assert!(builtin_is_subtype("Patient", "DomainResource"));
        assert!(builtin_is_subtype("Patient", "Resource"));
        assert!(builtin_is_subtype("code", "string"));
        assert!(!builtin_is_subtype("string", "code"));
        assert!(!builtin_is_subtype("Bundle", "DomainResource"));
    }
}
