//! What packaging needs from a CDA header, read with `segur_xml` (DOCTYPE refused, bounded).

use segur_ins::InsOid;
use segur_xml::{Document, Limits, NodeId};

use crate::dom::{attr, descendants, kid, kids, path, text};

/// The HL7 v3 namespace of CDA R2.
pub const HL7: &str = "urn:hl7-org:v3";

/// Why a document's header could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// Not well-formed XML (or over the parser's limits).
    #[error("not well-formed XML at {0}")]
    Xml(#[from] segur_xml::ParseError),
    /// The root element is not `{urn:hl7-org:v3}ClinicalDocument`.
    #[error("the root element is not a CDA ClinicalDocument")]
    NotCda,
}

/// A coded value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Coded {
    /// `@code`.
    pub code: String,
    /// `@codeSystem`.
    pub system: String,
    /// `@displayName`.
    pub display: String,
}

/// An instance identifier.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Id {
    /// `@root`.
    pub root: String,
    /// `@extension`, when present.
    pub extension: Option<String>,
}

impl Id {
    /// `root^extension` or `root`: the XDS uniqueId form.
    pub fn to_xds(&self) -> String {
        match &self.extension {
            Some(e) => format!("{}^{e}", self.root),
            None => self.root.clone(),
        }
    }
}

/// The patient's INS as the document carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ins {
    /// The 15-character matricule (`@extension`).
    pub matricule: String,
    /// The authority OID (`@root`, one of .8/.9/.10/.11).
    pub oid: String,
}

impl Ins {
    /// The XDS CX form `matricule^^^&OID&ISO^NH`.
    pub fn to_cx(&self) -> String {
        format!("{}^^^&{}&ISO^NH", self.matricule, self.oid)
    }
}

/// The INS traits and names of `recordTarget/patientRole/patient`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientTraits {
    /// Birth name (`family[@qualifier='BR']`, else the first family).
    pub birth_name: String,
    /// First birth given name (`given[@qualifier='BR']`, else the first word of the first given).
    pub first_given: String,
    /// The list of birth given names (`given` without qualifier).
    pub given_list: String,
    /// `administrativeGenderCode/@code`.
    pub gender: String,
    /// `birthTime/@value`.
    pub birth_time: String,
    /// `birthplace/place/addr/county` (COG code).
    pub birthplace_cog: String,
    /// `birthplace/place/addr/city`.
    pub birthplace_city: String,
}

/// A person acting on the document (author, legal authenticator).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    /// National id (`1.2.250.1.71.4.2.1`, `8`+RPPS…).
    pub id: Id,
    /// Family name.
    pub family: String,
    /// Given name.
    pub given: String,
    /// `code` (profession / specialty).
    pub specialty: Coded,
    /// The structure (`representedOrganization`): id and name.
    pub organization: Option<(Id, String)>,
}

/// The header values the packaging needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CdaHeader {
    /// `ClinicalDocument/id`.
    pub id: Id,
    /// `code`.
    pub code: Coded,
    /// `title`.
    pub title: String,
    /// `effectiveTime/@value`.
    pub effective_time: String,
    /// `confidentialityCode`.
    pub confidentiality: Coded,
    /// `languageCode/@code`.
    pub language: String,
    /// `templateId`s: root and extension.
    pub template_ids: Vec<Id>,
    /// Every `recordTarget/patientRole/id`.
    pub patient_ids: Vec<Id>,
    /// The INS, when a patient id carries an INS authority OID and a 15-character matricule.
    pub ins: Option<Ins>,
    /// Traits.
    pub patient: PatientTraits,
    /// First `author/assignedAuthor`.
    pub author: Option<Person>,
    /// `legalAuthenticator/assignedEntity`.
    pub legal_authenticator: Option<Person>,
    /// `documentationOf/serviceEvent/effectiveTime/low/@value`.
    pub service_start: Option<String>,
    /// `…/high/@value`.
    pub service_stop: Option<String>,
    /// `componentOf/encompassingEncounter/location/healthCareFacility/code`.
    pub facility_type: Option<Coded>,
    /// The practice setting (`standardIndustryClassCode` of the service-event performer's
    /// organization, else of any header organization).
    pub practice_setting: Option<Coded>,
    /// `component/nonXMLBody/text/@mediaType` for an N1 document.
    pub n1_media_type: Option<String>,
    /// Telecom values of `patientRole` (the MSSanté patient mailbox among them).
    pub patient_telecoms: Vec<String>,
}

impl PatientTraits {
    /// The FHIR `gender` of the HL7 administrative gender code.
    pub fn fhir_gender(&self) -> &'static str {
        match self.gender.as_str() {
            "M" => "male",
            "F" => "female",
            _ => "unknown",
        }
    }
}

impl CdaHeader {
    /// Whether the patient has a qualified INS as far as the document shows: an INS authority
    /// OID, a matricule, and the traits birth name, first given name, sex and birth date.
    /// (The identity status itself is not in the CDA header; UNVERIFIED definition from
    /// `specs/mssante.md` 2.3, a secondary source.)
    pub fn has_qualified_ins(&self) -> bool {
        let p = &self.patient;
        self.ins.is_some()
            && !p.birth_name.is_empty()
            && !p.first_given.is_empty()
            && !p.gender.is_empty()
            && !p.birth_time.is_empty()
    }
}

fn coded(doc: &Document, n: NodeId) -> Coded {
    Coded {
        code: attr(doc, n, "code").unwrap_or("").to_string(),
        system: attr(doc, n, "codeSystem").unwrap_or("").to_string(),
        display: attr(doc, n, "displayName").unwrap_or("").to_string(),
    }
}

fn id(doc: &Document, n: NodeId) -> Id {
    Id {
        root: attr(doc, n, "root").unwrap_or("").to_string(),
        extension: attr(doc, n, "extension").map(str::to_string),
    }
}

fn value_of(doc: &Document, n: Option<NodeId>) -> Option<String> {
    n.and_then(|n| attr(doc, n, "value")).map(str::to_string)
}

fn person(doc: &Document, entity: NodeId) -> Person {
    let name = kid(doc, entity, HL7, "assignedPerson").and_then(|p| kid(doc, p, HL7, "name"));
    let part = |local: &str| {
        name.and_then(|n| kid(doc, n, HL7, local))
            .map(|n| text(doc, n))
            .unwrap_or_default()
    };
    let organization = kid(doc, entity, HL7, "representedOrganization").map(|o| {
        let oid = kid(doc, o, HL7, "id")
            .map(|i| id(doc, i))
            .unwrap_or_default();
        let name = kid(doc, o, HL7, "name")
            .map(|n| text(doc, n))
            .unwrap_or_default();
        (oid, name)
    });
    Person {
        id: kid(doc, entity, HL7, "id")
            .map(|i| id(doc, i))
            .unwrap_or_default(),
        family: part("family"),
        given: part("given"),
        specialty: kid(doc, entity, HL7, "code")
            .map(|c| coded(doc, c))
            .unwrap_or_default(),
        organization,
    }
}

/// Limits for documents read by packaging: those of `segur_xml` but 64 MiB of input.
pub fn limits() -> Limits {
    Limits::default().with_max_bytes(64 << 20)
}

/// Read the header of a CDA document.
pub fn read_header(bytes: &[u8]) -> Result<CdaHeader, HeaderError> {
    header_of(&Document::parse(bytes, &limits())?)
}

/// The INS among a patient's ids: an INS authority OID and a 15-character matricule.
fn ins_among(ids: &[Id]) -> Option<Ins> {
    ids.iter().find_map(|i| {
        let ext = i.extension.as_deref()?.trim();
        (InsOid::from_oid(&i.root).is_ok() && ext.len() == 15).then(|| Ins {
            matricule: ext.to_string(),
            oid: i.root.clone(),
        })
    })
}

/// The header of a document segur builds, from its model: what [`read_header`] reads from
/// the document's bytes, without parsing them (`segur replay --build` packages a new document
/// for every request). A test checks both agree for every document type.
pub fn header_of_built(doc: &segur_cda::ClinicalDocument) -> CdaHeader {
    use segur_cda::{Body, Code, InstanceId, Professional, oids};
    let id = |i: &InstanceId| Id {
        root: i.root.clone(),
        extension: i.extension.clone(),
    };
    let coded = |c: &Code| Coded {
        code: c.code.clone(),
        system: c.system.clone(),
        display: c.display.clone(),
    };
    let person = |p: &Professional| Person {
        id: id(&p.id),
        family: p.name.family.trim().to_string(),
        given: p.name.given.trim().to_string(),
        specialty: coded(&p.specialty),
        organization: Some((
            id(&p.organization.id),
            p.organization.name.trim().to_string(),
        )),
    };
    let patient = &doc.patient;
    let ins = &patient.identity;
    let t = &ins.traits;
    let mut patient_ids = vec![Id {
        root: ins.oid.oid().to_string(),
        extension: Some(ins.matricule.to_string()),
    }];
    patient_ids.extend(patient.ipp.as_ref().map(id));
    let (conf, conf_name) = doc.confidentiality.code();
    let roots = [oids::TPL_HL7_FRANCE, oids::TPL_CISIS];
    CdaHeader {
        id: id(&doc.id),
        code: coded(&doc.code),
        title: doc.title.trim().to_string(),
        effective_time: doc.effective.to_hl7(),
        confidentiality: Coded {
            code: conf.to_string(),
            system: oids::CONFIDENTIALITY.to_string(),
            display: conf_name.to_string(),
        },
        language: "fr-FR".to_string(),
        template_ids: roots
            .iter()
            .map(|r| Id {
                root: (*r).to_string(),
                extension: None,
            })
            .chain(doc.templates.iter().map(id))
            .collect(),
        ins: ins_among(&patient_ids),
        patient_ids,
        patient: PatientTraits {
            birth_name: t.birth_name.trim().to_string(),
            first_given: t.first_given_name().trim().to_string(),
            given_list: t.given_names_list().trim().to_string(),
            gender: t.sex.code().to_string(),
            birth_time: t.birth_date.to_hl7(),
            birthplace_cog: t.birth_place_cog.trim().to_string(),
            birthplace_city: t.birth_place_name.trim().to_string(),
        },
        author: Some(person(&doc.author.0)),
        legal_authenticator: Some(person(&doc.legal_authenticator.0)),
        service_start: Some(doc.service_event.start.to_hl7()),
        service_stop: doc.service_event.end.map(|e| e.to_hl7()),
        facility_type: Some(coded(&doc.encounter.facility_type)),
        practice_setting: Some(coded(
            &doc.service_event.performer.organization.practice_setting,
        )),
        n1_media_type: match &doc.body {
            Body::NonXml(b) => Some(b.media_type.clone()),
            Body::Structured(_) => None,
        },
        patient_telecoms: patient.telecoms.iter().map(|t| t.value.clone()).collect(),
    }
}

/// The header of a CDA document already parsed (by a validator that parsed it anyway).
pub fn header_of(d: &Document) -> Result<CdaHeader, HeaderError> {
    let root = d.document_element().ok_or(HeaderError::NotCda)?;
    if d.local_name(root) != "ClinicalDocument" || d.namespace_uri(root) != HL7 {
        return Err(HeaderError::NotCda);
    }
    let mut h = CdaHeader {
        id: kid(d, root, HL7, "id")
            .map(|n| id(d, n))
            .unwrap_or_default(),
        code: kid(d, root, HL7, "code")
            .map(|n| coded(d, n))
            .unwrap_or_default(),
        title: kid(d, root, HL7, "title")
            .map(|n| text(d, n))
            .unwrap_or_default(),
        effective_time: value_of(d, kid(d, root, HL7, "effectiveTime")).unwrap_or_default(),
        confidentiality: kid(d, root, HL7, "confidentialityCode")
            .map(|n| coded(d, n))
            .unwrap_or_default(),
        language: kid(d, root, HL7, "languageCode")
            .and_then(|n| attr(d, n, "code"))
            .unwrap_or("")
            .to_string(),
        template_ids: kids(d, root, HL7, "templateId").map(|n| id(d, n)).collect(),
        ..CdaHeader::default()
    };
    if let Some(role) = path(d, root, HL7, &["recordTarget", "patientRole"]) {
        h.patient_ids = kids(d, role, HL7, "id").map(|n| id(d, n)).collect();
        h.ins = ins_among(&h.patient_ids);
        h.patient_telecoms = kids(d, role, HL7, "telecom")
            .filter_map(|t| attr(d, t, "value").map(str::to_string))
            .collect();
        if let Some(p) = kid(d, role, HL7, "patient") {
            let mut t = PatientTraits::default();
            if let Some(name) = kid(d, p, HL7, "name") {
                let q = |n: NodeId| attr(d, n, "qualifier").unwrap_or("");
                let families: Vec<NodeId> = kids(d, name, HL7, "family").collect();
                t.birth_name = families
                    .iter()
                    .find(|&&f| q(f) == "BR")
                    .or(families.first())
                    .map(|&f| text(d, f))
                    .unwrap_or_default();
                let givens: Vec<NodeId> = kids(d, name, HL7, "given").collect();
                t.given_list = givens
                    .iter()
                    .find(|&&g| q(g).is_empty())
                    .map(|&g| text(d, g))
                    .unwrap_or_default();
                t.first_given = givens
                    .iter()
                    .find(|&&g| q(g) == "BR")
                    .map(|&g| text(d, g))
                    .unwrap_or_else(|| {
                        t.given_list
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_string()
                    });
            }
            t.gender = kid(d, p, HL7, "administrativeGenderCode")
                .and_then(|n| attr(d, n, "code"))
                .unwrap_or("")
                .to_string();
            t.birth_time = value_of(d, kid(d, p, HL7, "birthTime")).unwrap_or_default();
            t.birthplace_cog = path(d, p, HL7, &["birthplace", "place", "addr", "county"])
                .map(|n| text(d, n))
                .unwrap_or_default();
            t.birthplace_city = path(d, p, HL7, &["birthplace", "place", "addr", "city"])
                .map(|n| text(d, n))
                .unwrap_or_default();
            h.patient = t;
        }
    }
    h.author = path(d, root, HL7, &["author", "assignedAuthor"]).map(|a| person(d, a));
    h.legal_authenticator =
        path(d, root, HL7, &["legalAuthenticator", "assignedEntity"]).map(|a| person(d, a));
    let event = path(d, root, HL7, &["documentationOf", "serviceEvent"]);
    if let Some(ev) = event {
        let time = kid(d, ev, HL7, "effectiveTime");
        h.service_start = value_of(d, time.and_then(|t| kid(d, t, HL7, "low")));
        h.service_stop = value_of(d, time.and_then(|t| kid(d, t, HL7, "high")));
        h.practice_setting = kids(d, ev, HL7, "performer")
            .filter_map(|p| {
                path(
                    d,
                    p,
                    HL7,
                    &[
                        "assignedEntity",
                        "representedOrganization",
                        "standardIndustryClassCode",
                    ],
                )
            })
            .map(|n| coded(d, n))
            .next();
    }
    if h.practice_setting.is_none() {
        // Outside the body: the header's first standardIndustryClassCode.
        let body = kid(d, root, HL7, "component");
        h.practice_setting = descendants(d, root, HL7, "standardIndustryClassCode")
            .find(|&n| body.is_none_or(|b| !d.ancestors(n).any(|a| a == b)))
            .map(|n| coded(d, n));
    }
    h.facility_type = path(
        d,
        root,
        HL7,
        &[
            "componentOf",
            "encompassingEncounter",
            "location",
            "healthCareFacility",
            "code",
        ],
    )
    .map(|n| coded(d, n));
    h.n1_media_type = path(d, root, HL7, &["component", "nonXMLBody", "text"])
        .and_then(|n| attr(d, n, "mediaType"))
        .map(str::to_string);
    Ok(h)
}
