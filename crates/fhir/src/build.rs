//! Builders (serde_json) of FR Core resources: the INS Patient (`fr-core-patient-ins`), an
//! Organization with its FINESS number, a Practitioner with its RPPS number.

use segur_ins::{Identity, InsOid};
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
