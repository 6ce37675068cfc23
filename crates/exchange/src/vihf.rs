//! The VIHF (*Vecteur d'Identification et d'Habilitation Formelles*): the SAML 2.0 assertion
//! the DMP requires in the WS-Security header of every request, with the attributes listed in
//! `specs/dmp_xds_mhd.md` §1.3 (ANS HL7v2 IG mapping and DRIMbox code).
//!
//! The assertion is built unsigned here; [`crate::iti41::build_with`] signs it with an
//! enveloped XML-DSig ([`crate::dsig`]) when given the structure's ORG SIGN key.

use crate::metadata::uuid_from;
use crate::time::utc_dtm;
use crate::xmlw::XmlOut;

/// SAML 2.0 assertion namespace.
pub const SAML2: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// The XACML attribute carrying the patient id.
pub const RESOURCE_ID: &str = "urn:oasis:names:tc:xacml:2.0:resource:resource-id";

/// A coded value written as an HL7 v3 `CE` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ce {
    /// `@code`.
    pub code: String,
    /// `@codeSystem`.
    pub system: String,
    /// `@displayName`.
    pub display: String,
}

/// What the VIHF says about the user, the structure and the software: configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VihfConfig {
    /// Issuer: the subject DN of the signing (cachet) certificate.
    pub issuer: String,
    /// Subject/NameID: the user's national id (PS_IdNat), or the responsible person's.
    pub subject_id: String,
    /// `subject-id`: the user's name, or the software's for an automaton.
    pub subject_name: String,
    /// Roles (JDV_J65): the profession, then the specialty for doctors and pharmacists.
    pub roles: Vec<Ce>,
    /// `Identifiant_Structure`: Struct_IdNat of the structure.
    pub structure_id: String,
    /// `Secteur_Activite`: `code^1.2.250.1.71.4.2.4`.
    pub secteur_activite: String,
    /// `Authentification_Mode`: `INDIRECTE`.
    pub authentication_mode: String,
    /// `VIHF_Version` (`3.0` in the examples; the mapping table says `4.0`: UNVERIFIED).
    pub version: String,
    /// `LPS_Nom`.
    pub lps_name: String,
    /// `LPS_Version`.
    pub lps_version: String,
    /// `LPS_ID_HOMOLOGATION_DMP`.
    pub lps_homologation: String,
}

fn attribute(w: &mut XmlOut, name: &str, value: &str) {
    w.start("saml2:Attribute")
        .attr("Name", name)
        .leaf("saml2:AttributeValue", &[], value)
        .end();
}

fn ce_attribute(w: &mut XmlOut, name: &str, element: &str, values: &[Ce]) {
    w.start("saml2:Attribute").attr("Name", name);
    for v in values {
        w.start("saml2:AttributeValue")
            .start(element)
            .attr("xmlns", "urn:hl7-org:v3")
            .attr("xsi:type", "CE")
            .attr("code", &v.code)
            .attr("codeSystem", &v.system)
            .attr("displayName", &v.display)
            .end()
            .end();
    }
    w.end();
}

/// The assertion for a request about `patient_cx` (INS in CX form) issued at `now` (seconds
/// since the epoch, used for IssueInstant and AuthnInstant).
pub fn assertion(config: &VihfConfig, patient_cx: &str, now: i64) -> String {
    let dtm = utc_dtm(now);
    let instant = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &dtm[..4],
        &dtm[4..6],
        &dtm[6..8],
        &dtm[8..10],
        &dtm[10..12],
        &dtm[12..14]
    );
    let id = format!(
        "_{}",
        uuid_from(format!("vihf{patient_cx}{now}").as_bytes()).trim_start_matches("urn:uuid:")
    );
    let mut w = XmlOut::fragment();
    w.start("saml2:Assertion")
        .attr("xmlns:saml2", SAML2)
        .attr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
        .attr("ID", &id)
        .attr("IssueInstant", &instant)
        .attr("Version", "2.0")
        .leaf(
            "saml2:Issuer",
            &[(
                "Format",
                "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
            )],
            &config.issuer,
        )
        .start("saml2:Subject")
        .leaf(
            "saml2:NameID",
            &[(
                "Format",
                "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            )],
            &config.subject_id,
        )
        .end()
        .start("saml2:AuthnStatement")
        .attr("AuthnInstant", &instant)
        .start("saml2:AuthnContext")
        .leaf(
            "saml2:AuthnContextClassRef",
            &[],
            "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified",
        )
        .end()
        .end()
        .start("saml2:AttributeStatement");
    attribute(&mut w, "VIHF_Version", &config.version);
    attribute(&mut w, "Authentification_Mode", &config.authentication_mode);
    attribute(&mut w, "Identifiant_Structure", &config.structure_id);
    attribute(&mut w, "Secteur_Activite", &config.secteur_activite);
    attribute(
        &mut w,
        "urn:oasis:names:tc:xspa:1.0:subject:subject-id",
        &config.subject_name,
    );
    ce_attribute(
        &mut w,
        "urn:oasis:names:tc:xacml:2.0:subject:role",
        "Role",
        &config.roles,
    );
    attribute(&mut w, RESOURCE_ID, patient_cx);
    attribute(&mut w, "Ressource_URN", "urn:dmp");
    ce_attribute(
        &mut w,
        "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse",
        "PurposeOfUse",
        &[Ce {
            code: "normal".into(),
            system: "1.2.250.1.213.1.1.4.248".into(),
            display: "Accès normal".into(),
        }],
    );
    attribute(&mut w, "LPS_Nom", &config.lps_name);
    attribute(&mut w, "LPS_Version", &config.lps_version);
    attribute(&mut w, "LPS_ID_HOMOLOGATION_DMP", &config.lps_homologation);
    w.finish()
}
