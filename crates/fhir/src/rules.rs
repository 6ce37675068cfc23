//! The rules of the FHIR validator: stable ids, severities, and the finding constructor.

use segur_finding::{Finding, Location, RuleSource, Severity};

/// One rule of the catalogue (`docs/rules.md`, FHIR section).
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable id.
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it checks, in a line.
    pub what: &'static str,
}

macro_rules! catalogue {
    ($($name:ident = $id:literal, $sev:ident, $what:literal;)*) => {
        $(#[doc = $what] pub const $name: &str = $id;)*
        /// Every rule of the FHIR validator.
        pub const CATALOGUE: &[Rule] = &[$(Rule { id: $id, severity: Severity::$sev, what: $what }),*];
    };
}

catalogue! {
    JSON_ARRAY = "FHIR-JSON-ARRAY", Error, "A repeating element not written as a JSON array, or a single one written as an array.";
    RESOURCE_TYPE = "FHIR-RESOURCE-TYPE", Error, "No resourceType, or one the packages do not define.";
    RESOURCE_ID = "FHIR-RESOURCE-ID", Error, "A resource id that is not a FHIR id ([A-Za-z0-9\\-\\.]{1,64}).";
    PROFILE_UNKNOWN = "FHIR-PROFILE-UNKNOWN", Warning, "A meta.profile not found in the packages, or whose StructureDefinition is broken: not checked (the CLI refuses such a --profile: exit 2).";
    PROFILE_TYPE = "FHIR-PROFILE-TYPE", Error, "A profile that constrains another type than the resource's.";
    ELEMENT_UNKNOWN = "FHIR-ELEMENT-UNKNOWN", Error, "A property that the definition does not have, or a `_x` companion of an element that is not a primitive (`_name`, `_contained`).";
    CARD_MIN = "FHIR-CARD-MIN", Error, "Fewer occurrences than the element's min.";
    CARD_MAX = "FHIR-CARD-MAX", Error, "More occurrences than the element's max.";
    TYPE = "FHIR-TYPE", Error, "A value of the wrong JSON type for its FHIR type, or a choice element with a type it does not allow.";
    PRIMITIVE_FORMAT = "FHIR-PRIMITIVE-FORMAT", Error, "A primitive value that does not match its type's regex (or range for integers).";
    FIXED = "FHIR-FIXED", Error, "A value that differs from the element's fixed[x].";
    PATTERN = "FHIR-PATTERN", Error, "A value that does not contain the element's pattern[x].";
    SLICE_MIN = "FHIR-SLICE-MIN", Error, "Fewer values matching a slice than its min.";
    SLICE_MAX = "FHIR-SLICE-MAX", Error, "More values matching a slice than its max.";
    SLICE_CLOSED = "FHIR-SLICE-CLOSED", Error, "A value that matches no slice of a closed slicing.";
    SLICE_OPEN_AT_END = "FHIR-SLICE-OPENATEND", Error, "A value matching no slice before a sliced value (openAtEnd).";
    SLICE_ORDER = "FHIR-SLICE-ORDER", Error, "Slices out of order in an ordered slicing.";
    EXTENSION_UNKNOWN = "FHIR-EXTENSION-UNKNOWN", Warning, "An extension whose url is no StructureDefinition of the packages: only its structure is checked.";
    EXTENSION_URL = "FHIR-EXTENSION-URL", Error, "An extension without a url.";
    DISPLAY = "FHIR-DISPLAY", Error, "A Coding whose display is neither the display nor a designation of its code in the local CodeSystem (compared without case and surrounding spaces; not checked when the CodeSystem is not local).";
    BINDING_REQUIRED = "FHIR-BINDING-REQUIRED", Error, "A code not in the ValueSet of a required binding.";
    BINDING_NOT_CHECKED = "FHIR-BINDING-NOT-CHECKED", Info, "A code under a required binding that cannot be checked offline (grammar such as UCUM, code system absent from the packages, unsupported filter).";
    VALUESET_UNKNOWN = "FHIR-VALUESET-UNKNOWN", Warning, "The ValueSet of a required binding is not in the packages.";
    REF_BUNDLE = "FHIR-REF-BUNDLE", Error, "A urn:uuid/urn:oid reference or a relative reference that a Bundle entry should resolve but none does.";
    REF_CONTAINED = "FHIR-REF-CONTAINED", Error, "A local reference (#id) to no contained resource.";
    REF_AGGREGATION = "FHIR-REF-AGGREGATION", Error, "A reference whose form the element's aggregation modes forbid (e.g. not contained).";
    REF_TARGET = "FHIR-REF-TARGET", Error, "A reference resolved in the Bundle or contained to a resource of a type the targetProfile does not allow, or, unresolved, whose URL (`Type/id`, `…/Type/id`) names such a type.";
    REF_PROFILE = "FHIR-REF-PROFILE", Error, "A reference resolved in the Bundle or contained to a resource that conforms to none of the targetProfiles of its type (validated against each).";
    REF_PROFILE_NOT_CHECKED = "FHIR-REF-PROFILE-NOT-CHECKED", Info, "A reference resolved in the Bundle or contained whose targetProfile is not in the packages, and no other targetProfile the target conforms to: not checked.";
    INVARIANT = "FHIR-INVARIANT", Error, "A FHIRPath invariant (constraint.expression) that evaluates false; the message names the constraint key. Severity is the constraint's.";
    INVARIANT_NOT_EVALUATED = "FHIR-INVARIANT-NOT-EVALUATED", Info, "An invariant that applies but was not evaluated (no FHIRPath engine plugged in, or the engine could not evaluate it): one per key per resource.";
    LIMIT = "FHIR-LIMIT", Error, "Validation stopped: nesting deeper than the validator's limit.";
}

/// The catalogue row of an id.
pub fn lookup(id: &str) -> Option<&'static Rule> {
    CATALOGUE.iter().find(|r| r.id == id)
}

/// The source of segur's own FHIR rules.
pub fn source() -> RuleSource {
    RuleSource {
        file: "segur".into(),
        line: None,
        version: concat!("segur-fhir ", env!("CARGO_PKG_VERSION")).into(),
    }
}

/// A finding of rule `id` at a FHIR element path.
pub fn finding(id: &str, path: &str, message: impl Into<String>) -> Finding {
    Finding {
        rule: id.to_string(),
        severity: lookup(id).map_or(Severity::Error, |r| r.severity),
        message: message.into(),
        source: source(),
        rule_set: Some("segur-fhir".into()),
        location: Location {
            xpath: (!path.is_empty()).then(|| path.to_string()),
            line: None,
            column: None,
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_documented() {
        let mut ids: Vec<&str> = super::CATALOGUE.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules.md"))
                .unwrap_or_default();
        for r in super::CATALOGUE {
            assert!(
                doc.contains(&format!("| {} |", r.id)),
                "{} not in docs/rules.md",
                r.id
            );
        }
    }
}
