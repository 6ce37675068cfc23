//! `ClinicalDocument`: the header of CI-SIS "Structuration minimale" and a body, written as a
//! stream.

use std::io::Write;

use crate::CdaError;
use crate::body::Body;
use crate::model::{
    Code, Confidentiality, Encounter, InstanceId, Organization, Patient, Professional,
    ServiceEvent, oids,
};
use crate::time::Timestamp;
use crate::xml::Xml;

/// XD-LAB's namespace for `lab:statusCode`.
pub const LAB_NS: &str = "urn:oid:1.3.6.1.4.1.19376.1.3.2";

/// A CDA R2 document of the CI-SIS.
#[derive(Debug, Clone, PartialEq)]
pub struct ClinicalDocument {
    /// The document's own templateIds, after HL7 France's and the CI-SIS's (volet, XDS-SD…).
    pub templates: Vec<InstanceId>,
    /// `id`: the document's unique id.
    pub id: InstanceId,
    /// `code`: the document type (JDV_J07_XdsTypeCode_CISIS).
    pub code: Code,
    /// `title`.
    pub title: String,
    /// `effectiveTime`: creation date.
    pub effective: Timestamp,
    /// `confidentialityCode`.
    pub confidentiality: Confidentiality,
    /// `setId`: common to every version of the document.
    pub set_id: InstanceId,
    /// `versionNumber`.
    pub version: u32,
    /// `recordTarget`.
    pub patient: Patient,
    /// `author` and `author/time`.
    pub author: (Professional, Timestamp),
    /// `custodian`.
    pub custodian: Organization,
    /// `legalAuthenticator` and its `time`.
    pub legal_authenticator: (Professional, Timestamp),
    /// `documentationOf/serviceEvent`.
    pub service_event: ServiceEvent,
    /// `componentOf/encompassingEncounter`.
    pub encounter: Encounter,
    /// The body.
    pub body: Body,
}

impl ClinicalDocument {
    /// Write the document as XML to `out`, streaming; returns `out`.
    pub fn write_to<W: Write>(&self, out: W) -> Result<W, CdaError> {
        let mut x = Xml::new(out);
        x.decl()?;
        let lab = self.service_event.lab_status_completed;
        let mut root = vec![
            ("xmlns", "urn:hl7-org:v3"),
            ("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance"),
        ];
        if lab {
            root.push(("xmlns:lab", LAB_NS));
        }
        x.open("ClinicalDocument", &root)?;
        x.empty("realmCode", &[("code", "FR")])?;
        x.empty(
            "typeId",
            &[
                ("root", "2.16.840.1.113883.1.3"),
                ("extension", "POCD_HD000040"),
            ],
        )?;
        x.empty("templateId", &[("root", oids::TPL_HL7_FRANCE)])?;
        x.empty("templateId", &[("root", oids::TPL_CISIS)])?;
        for t in &self.templates {
            x.id("templateId", t)?;
        }
        x.id("id", &self.id)?;
        x.code("code", &self.code)?;
        x.leaf("title", &[], &self.title)?;
        x.empty("effectiveTime", &[("value", &self.effective.to_hl7())])?;
        let (conf, conf_name) = self.confidentiality.code();
        x.empty(
            "confidentialityCode",
            &[
                ("code", conf),
                ("displayName", conf_name),
                ("codeSystem", oids::CONFIDENTIALITY),
            ],
        )?;
        x.empty("languageCode", &[("code", "fr-FR")])?;
        x.id("setId", &self.set_id)?;
        x.empty("versionNumber", &[("value", &self.version.to_string())])?;
        record_target(&mut x, &self.patient)?;

        x.open("author", &[])?;
        x.empty("time", &[("value", &self.author.1.to_hl7())])?;
        professional(&mut x, "assignedAuthor", &self.author.0, false)?;
        x.close("author")?;

        x.open("custodian", &[])?;
        x.open("assignedCustodian", &[])?;
        x.open("representedCustodianOrganization", &[])?;
        x.id("id", &self.custodian.id)?;
        x.leaf("name", &[], &self.custodian.name)?;
        x.telecom(&self.custodian.telecom)?;
        x.address(&self.custodian.addr)?;
        x.close("representedCustodianOrganization")?;
        x.close("assignedCustodian")?;
        x.close("custodian")?;

        x.open("legalAuthenticator", &[])?;
        x.empty("time", &[("value", &self.legal_authenticator.1.to_hl7())])?;
        x.empty("signatureCode", &[("code", "S")])?;
        professional(&mut x, "assignedEntity", &self.legal_authenticator.0, true)?;
        x.close("legalAuthenticator")?;

        service_event(&mut x, &self.service_event)?;
        encounter(&mut x, &self.encounter)?;
        x.body(&self.body)?;
        x.close("ClinicalDocument")?;
        let mut out = x.into_inner();
        out.write_all(b"\n")?;
        Ok(out)
    }

    /// The document as XML bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(64 * 1024);
        // Writing to a Vec cannot fail.
        match self.write_to(&mut buf) {
            Ok(_) | Err(_) => buf,
        }
    }
}

fn record_target<W: Write>(x: &mut Xml<W>, p: &Patient) -> Result<(), CdaError> {
    let ins = &p.identity;
    let t = &ins.traits;
    x.open("recordTarget", &[])?;
    x.open("patientRole", &[])?;
    x.comment(&format!(" {} ", ins.oid.label()))?;
    x.empty(
        "id",
        &[
            ("root", ins.oid.oid()),
            ("extension", ins.matricule.as_str()),
        ],
    )?;
    if let Some(ipp) = &p.ipp {
        x.id("id", ipp)?;
    }
    if let Some(a) = &p.addr {
        x.address(a)?;
    }
    for tel in &p.telecoms {
        x.telecom(tel)?;
    }
    x.open("patient", &[("classCode", "PSN")])?;
    x.open("name", &[])?;
    x.leaf("family", &[("qualifier", "BR")], &t.birth_name)?;
    x.leaf("given", &[], &t.given_names_list())?;
    x.leaf("given", &[("qualifier", "BR")], t.first_given_name())?;
    x.close("name")?;
    x.empty(
        "administrativeGenderCode",
        &[
            ("code", t.sex.code()),
            ("displayName", t.sex.display()),
            ("codeSystem", oids::ADMIN_GENDER),
        ],
    )?;
    x.empty("birthTime", &[("value", &t.birth_date.to_hl7())])?;
    x.open("birthplace", &[])?;
    x.open("place", &[])?;
    x.open("addr", &[])?;
    x.leaf("county", &[], &t.birth_place_cog)?;
    x.leaf("city", &[], &t.birth_place_name)?;
    x.close("addr")?;
    x.close("place")?;
    x.close("birthplace")?;
    x.close("patient")?;
    x.close("patientRole")?;
    x.close("recordTarget")
}

fn person<W: Write>(
    x: &mut Xml<W>,
    name: &crate::model::PersonName,
    wrapper: &str,
) -> Result<(), CdaError> {
    x.open(wrapper, &[])?;
    x.open("name", &[])?;
    if let Some(p) = &name.prefix {
        x.leaf("prefix", &[], p)?;
    }
    x.leaf("given", &[], &name.given)?;
    x.leaf("family", &[], &name.family)?;
    if let Some(s) = &name.suffix {
        x.leaf("suffix", &[], s)?;
    }
    x.close("name")?;
    x.close(wrapper)
}

fn organization<W: Write>(
    x: &mut Xml<W>,
    o: &Organization,
    with_setting: bool,
) -> Result<(), CdaError> {
    x.open("representedOrganization", &[])?;
    x.id("id", &o.id)?;
    x.leaf("name", &[], &o.name)?;
    x.telecom(&o.telecom)?;
    x.address(&o.addr)?;
    if with_setting {
        x.code("standardIndustryClassCode", &o.practice_setting)?;
    }
    x.close("representedOrganization")
}

/// `assignedAuthor` / `assignedEntity` with id, code, addr, telecom, person, organization.
fn professional<W: Write>(
    x: &mut Xml<W>,
    wrapper: &str,
    p: &Professional,
    with_setting: bool,
) -> Result<(), CdaError> {
    x.open(wrapper, &[])?;
    x.id("id", &p.id)?;
    x.code("code", &p.specialty)?;
    x.address(&p.addr)?;
    x.telecom(&p.telecom)?;
    person(x, &p.name, "assignedPerson")?;
    organization(x, &p.organization, with_setting)?;
    x.close(wrapper)
}

fn service_event<W: Write>(x: &mut Xml<W>, s: &ServiceEvent) -> Result<(), CdaError> {
    x.open("documentationOf", &[])?;
    x.open("serviceEvent", &[])?;
    x.code("code", &s.code)?;
    if s.lab_status_completed {
        x.empty("lab:statusCode", &[("code", "completed")])?;
    }
    x.open("effectiveTime", &[])?;
    x.empty("low", &[("value", &s.start.to_hl7())])?;
    if let Some(end) = s.end {
        x.empty("high", &[("value", &end.to_hl7())])?;
    }
    x.close("effectiveTime")?;
    x.open("performer", &[("typeCode", "PRF")])?;
    if let Some(t) = s.performer_template {
        x.empty("templateId", &[("root", t)])?;
    }
    if let Some(t) = s.performer_time {
        x.open("time", &[])?;
        x.empty("high", &[("value", &t.to_hl7())])?;
        x.close("time")?;
    }
    professional(x, "assignedEntity", &s.performer, true)?;
    x.close("performer")?;
    x.close("serviceEvent")?;
    x.close("documentationOf")
}

fn encounter<W: Write>(x: &mut Xml<W>, e: &Encounter) -> Result<(), CdaError> {
    x.open("componentOf", &[])?;
    x.open("encompassingEncounter", &[])?;
    if let Some(c) = &e.code {
        x.code("code", c)?;
    }
    x.open("effectiveTime", &[])?;
    x.empty("low", &[("value", &e.start.to_hl7())])?;
    if let Some(end) = e.end {
        x.empty("high", &[("value", &end.to_hl7())])?;
    }
    x.close("effectiveTime")?;
    if let Some(r) = &e.responsible {
        x.open("responsibleParty", &[])?;
        professional(x, "assignedEntity", r, true)?;
        x.close("responsibleParty")?;
    }
    x.open("location", &[])?;
    x.open("healthCareFacility", &[])?;
    x.code("code", &e.facility_type)?;
    x.close("healthCareFacility")?;
    x.close("location")?;
    x.close("encompassingEncounter")?;
    x.close("componentOf")
}
