//! FHIR R4 JSON for the Ségur programme, offline.
//!
//! - [`json`]: a JSON reader that keeps the line and column of every value, with bounded
//!   depth and size.
//! - [`package`]: FHIR packages in the package-cache layout, indexed by canonical URL without
//!   parsing them whole (a resource is parsed when first used).
//! - [`validate`]: a profile validator driven by the StructureDefinition snapshots
//!   (cardinality, types, primitive formats, fixed/pattern, slicing, extensions, required
//!   bindings on local terminologies, references inside Bundles and to contained resources,
//!   their targets validated against the `targetProfile`s), with FHIRPath invariants
//!   evaluated through an [`InvariantEngine`] or reported as not evaluated.
//! - [`invariants`]: the FHIRPath engine (`segur-fhirpath`) behind
//!   [`Validator::with_fhirpath`], its R4 type model read type by type ([`TypeModel`]) and
//!   `memberOf()` on the local terminologies.
//! - [`build`]: builders of FR Core resources: the Patient with its INS (*Identité Nationale
//!   de Santé*, `fr-core-patient-ins`), an Organization with its FINESS number (*Fichier
//!   national des établissements sanitaires et sociaux*), a Practitioner with its RPPS number
//!   (*Répertoire partagé des professionnels de santé*).
//!
//! PDSm (*Partage de documents de santé en mobilité*) is the DMP feed over FHIR (IHE MHD
//! ITI-65); TDDUI the DUI data transfer guide. Their packages validate like any other.

#![warn(missing_docs)]

pub mod build;
pub mod invariants;
pub mod json;
pub mod package;
pub mod profile;
pub mod rules;
pub mod terminology;
pub mod validate;

pub use invariants::{FhirPathEngine, TypeModel};
pub use json::{Document, JsonError, Limits};
pub use package::{PackageError, Packages, StructureError};
pub use validate::{InvariantEngine, InvariantError, InvariantFocus, Validator};

/// Whether `bytes` are to be read as FHIR JSON: a JSON object (every JSON input of the
/// harness is FHIR; one without a `resourceType`, or with it after a long narrative, is
/// still a FHIR resource to judge, not a package of another kind).
pub fn looks_like_fhir(bytes: &[u8]) -> bool {
    let b = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    b.trim_ascii_start().starts_with(b"{")
}
