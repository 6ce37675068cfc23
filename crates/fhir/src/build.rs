//! Builders (serde_json) of FR Core resources: the INS Patient (`fr-core-patient-ins`), an
//! Organization with its FINESS number, a Practitioner with its RPPS number; and the TDDUI
//! 1.1.0-ballot Bundle (`tddui-bundle`) that carries CDA documents of one patient.

use base64::Engine as _;
use segur_ins::{Identity, InsOid, SeedRng};
use serde_json::{Value, json};

const FR_CORE: &str = "https://hl7.fr/ig/fhir/core";
/// `fr-core-cs-v2-0203`: the FR Core identifier types (INS-NIR, INS-NIA, FINEG, RPPS…).
const ID_TYPES: &str = "https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0203";
/// COG codes of French communes (NOS TRE_R13-CommuneOM, the system of FR Core's
/// `fr-core-vs-insee-code`).
const COMMUNES: &str = "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM";

/// The FR Core identifier-type code of an INS authority.
fn ins_type(oid: InsOid) -> &'static str {
    match oid {
        InsOid::Nir => "INS-NIR",
        InsOid::Nia => "INS-NIA",
        InsOid::TestNir => "INS-NIR-TEST",
        InsOid::DemoNir => "INS-NIR-DEMO",
    }
}

/// The FR Core 2.1.0 label of an identity status code (`fr-core-cs-v2-0445`).
fn status_label(code: &str) -> &'static str {
    match code {
        "VALI" => "Identité validée",
        "QUAL" => "Identité qualifiée",
        "RECUP" => "Identité récupérée",
        _ => "Identité provisoire",
    }
}

/// A Patient conforming to FR Core `fr-core-patient-ins` (2.1.0) for an INS identity: the
/// INS identifier in its slice (type and authority by OID), the identity-reliability
/// extension, the birth place (COG code) and the birth traits (birth name, first given name,
/// the list of birth given names).
///
/// FR Core 2.1.0's status CodeSystem has no `QUAL` (2.2.0 adds it): a qualified identity is
/// written `VALI`, the nearest 2.1.0 code (an identity checked against a document).
pub fn patient_ins(identity: &Identity, id: &str) -> Value {
    let t = &identity.traits;
    let status = match identity.status.code() {
        "QUAL" => "VALI",
        other => other,
    };
    json!({
        "resourceType": "Patient",
        "id": id,
        "meta": {"profile": [format!("{FR_CORE}/StructureDefinition/fr-core-patient-ins")]},
        "extension": [
            {
                "url": format!("{FR_CORE}/StructureDefinition/fr-core-identity-reliability"),
                "extension": [{
                    "url": "identityStatus",
                    "valueCoding": {
                        "system": format!("{FR_CORE}/CodeSystem/fr-core-cs-v2-0445"),
                        "code": status,
                        "display": status_label(status),
                    },
                }],
            },
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                "valueAddress": {
                    "extension": [{
                        "url": format!("{FR_CORE}/StructureDefinition/fr-core-address-insee-code"),
                        "valueCoding": {"system": COMMUNES, "code": t.birth_place_cog},
                    }],
                    "city": t.birth_place_name,
                },
            },
        ],
        "identifier": [{
            "use": "official",
            "type": {"coding": [{"system": ID_TYPES, "code": ins_type(identity.oid)}]},
            "system": identity.oid.fhir_system(),
            "value": identity.matricule.as_str(),
        }],
        "name": [{
            "extension": [{
                "url": format!("{FR_CORE}/StructureDefinition/fr-core-patient-birth-list-given-name"),
                "valueString": t.given_names_list(),
            }],
            "use": "official",
            "family": t.birth_name,
            "given": [t.first_given_name()],
        }],
        "gender": match t.sex.code() { "M" => "male", "F" => "female", _ => "unknown" },
        "birthDate": t.birth_date.to_iso(),
    })
}

/// An Organization (`fr-core-organization`) identified by its FINESS number, in FR Core's two
/// slices: `idNatSt` (the national structure identifier, `1` + FINESS, type IDNST, OID
/// `1.2.250.1.71.4.2.2`) and `finess` (system `https://finess.esante.gouv.fr`).
pub fn organization_finess(finess: &str, name: &str, id: &str) -> Value {
    json!({
        "resourceType": "Organization",
        "id": id,
        "meta": {"profile": [format!("{FR_CORE}/StructureDefinition/fr-core-organization")]},
        "identifier": [
            {
                "use": "official",
                "type": {"coding": [{"system": ID_TYPES, "code": "IDNST"}]},
                "system": "urn:oid:1.2.250.1.71.4.2.2",
                "value": format!("1{finess}"),
            },
            {
                "system": "https://finess.esante.gouv.fr",
                "value": finess,
            },
        ],
        "name": name,
    })
}

/// A Practitioner (`fr-core-practitioner`) identified by its RPPS number: the national
/// identifier (IDNPS, `8` + RPPS, OID `1.2.250.1.71.4.2.1`) and the RPPS itself.
pub fn practitioner_rpps(rpps: &str, family: &str, given: &str, id: &str) -> Value {
    json!({
        "resourceType": "Practitioner",
        "id": id,
        "meta": {"profile": [format!("{FR_CORE}/StructureDefinition/fr-core-practitioner")]},
        "identifier": [
            {
                "use": "official",
                "type": {"coding": [{"system": ID_TYPES, "code": "IDNPS"}]},
                "system": "urn:oid:1.2.250.1.71.4.2.1",
                "value": format!("8{rpps}"),
            },
            {
                "use": "official",
                "type": {"coding": [{"system": ID_TYPES, "code": "RPPS"}]},
                "system": "https://rpps.esante.gouv.fr",
                "value": rpps,
            },
        ],
        "name": [{"family": family, "given": [given]}],
    })
}

/// The TDDUI 1.1.0-ballot StructureDefinitions (CDA-in-FHIR variant).
const TDDUI: &str = "https://interop.esante.gouv.fr/ig/fhir/tddui/StructureDefinition";

/// A CDA document to carry in a TDDUI Bundle: its bytes and the header fields the
/// DocumentReference repeats.
#[derive(Debug, Clone, Copy)]
pub struct CdaAttachment<'a> {
    /// The CDA XML document, as sent (base64-encoded into `attachment.data`).
    pub bytes: &'a [u8],
    /// `ClinicalDocument/id/@root` (an OID).
    pub id_root: &'a str,
    /// `ClinicalDocument/id/@extension`, if any.
    pub id_extension: Option<&'a str>,
    /// `ClinicalDocument/code/@code` (LOINC).
    pub type_code: &'a str,
    /// `ClinicalDocument/code/@displayName`.
    pub type_display: &'a str,
    /// `ClinicalDocument/title`.
    pub title: &'a str,
}

impl<'a> CdaAttachment<'a> {
    /// The attachment of `doc` serialized as `bytes`, its header fields read from `doc`.
    pub fn of(doc: &'a segur_cda::ClinicalDocument, bytes: &'a [u8]) -> Self {
        CdaAttachment {
            bytes,
            id_root: &doc.id.root,
            id_extension: doc.id.extension.as_deref(),
            type_code: &doc.code.code,
            type_display: &doc.code.display,
            title: &doc.title,
        }
    }
}

/// A version-4 UUID (`urn:uuid:…`) drawn from `rng`: the same seed gives the same Bundle.
fn urn_uuid(rng: &mut SeedRng) -> String {
    let hi = rng.next_u64();
    let lo = rng.next_u64();
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "urn:uuid:{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// The `masterIdentifier` of a CDA document id, by the FHIR mapping of an HL7 v3 `II`: with
/// an extension, system `urn:oid:root` and value the extension; without one, system
/// `urn:ietf:rfc:3986` and value `urn:oid:root`.
fn master_identifier(doc: &CdaAttachment<'_>) -> Value {
    match doc.id_extension {
        Some(ext) => json!({"system": format!("urn:oid:{}", doc.id_root), "value": ext}),
        None => json!({"system": "urn:ietf:rfc:3986", "value": format!("urn:oid:{}", doc.id_root)}),
    }
}

/// A transaction Bundle conforming to TDDUI 1.1.0-ballot `tddui-bundle`: one
/// `tddui-documentreference` entry (POST) per CDA document, carrying the document as a
/// base64 attachment (`text/xml`, `fr-FR`, its title and size), with `status` `current`, the
/// CDA id as `masterIdentifier`, the CDA LOINC code as `type`, and as `subject` the patient's
/// entry: an FR Core INS Patient ([`patient_ins`], POST) built from `identity`. Entries are
/// linked by `urn:uuid:` full URLs drawn from `rng`.
///
/// TDDUI 1.1.0-ballot's DocumentReference asks for an FR Core Patient (`fr-core-patient`) as
/// subject; `fr-core-patient-ins` derives from it. The later TDDUI Patient profile
/// (`tddui-patient-ins`) is not in this package and is not targeted. The DocumentReference
/// has no `identifier` (the profile forbids it, max 0) and no `url` (max 0).
pub fn tddui_bundle(identity: &Identity, docs: &[CdaAttachment<'_>], rng: &mut SeedRng) -> Value {
    let patient_url = urn_uuid(rng);
    let patient = patient_ins(identity, &patient_url["urn:uuid:".len()..]);
    let mut entries = vec![json!({
        "fullUrl": patient_url,
        "resource": patient,
        "request": {"method": "POST", "url": "Patient"},
    })];
    for doc in docs {
        let url = urn_uuid(rng);
        let data = base64::engine::general_purpose::STANDARD.encode(doc.bytes);
        entries.push(json!({
            "fullUrl": url,
            "resource": {
                "resourceType": "DocumentReference",
                "id": &url["urn:uuid:".len()..],
                "meta": {"profile": [format!("{TDDUI}/tddui-documentreference")]},
                "masterIdentifier": master_identifier(doc),
                "status": "current",
                "type": {"coding": [{
                    "system": "http://loinc.org",
                    "code": doc.type_code,
                    "display": doc.type_display,
                }]},
                "subject": {"reference": patient_url},
                "content": [{"attachment": {
                    "contentType": "text/xml",
                    "language": "fr-FR",
                    "data": data,
                    "size": doc.bytes.len(),
                    "title": doc.title,
                }}],
            },
            "request": {"method": "POST", "url": "DocumentReference"},
        }));
    }
    json!({
        "resourceType": "Bundle",
        "meta": {"profile": [format!("{TDDUI}/tddui-bundle")]},
        "type": "transaction",
        "entry": entries,
    })
}
