//! XDS metadata (ebRIM 3.0): the DocumentEntry and SubmissionSet derived from a CDA header,
//! written as an `lcm:SubmitObjectsRequest` and read back.

use segur_finding::Location;
use segur_validate::location::locate;
use segur_xml::{Document, NodeId};
use sha1::{Digest, Sha1};

use crate::cda::{CdaHeader, Coded, Person};
use crate::codes;
use crate::dom::{attr, descendants, kid, kids, text};
use crate::time::xds_time;
use crate::xmlw::XmlOut;

/// ebRIM 3.0 namespace.
pub const RIM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0";
/// ebRIM LCM namespace.
pub const LCM: &str = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0";

/// XDS scheme and object-type UUIDs (IHE ITI TF-3 4.2; as listed in `specs/dmp_xds_mhd.md`).
pub mod uuids {
    /// DocumentEntry objectType (stable document).
    pub const DOC_ENTRY: &str = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1";
    /// SubmissionSet classification node.
    pub const SUBMISSION_SET: &str = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd";
    /// SubmissionSet.author.
    pub const SS_AUTHOR: &str = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d";
    /// SubmissionSet.contentTypeCode.
    pub const SS_CONTENT_TYPE: &str = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500";
    /// SubmissionSet.patientId.
    pub const SS_PATIENT_ID: &str = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446";
    /// SubmissionSet.sourceId.
    pub const SS_SOURCE_ID: &str = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832";
    /// SubmissionSet.uniqueId.
    pub const SS_UNIQUE_ID: &str = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8";
    /// DocumentEntry.author.
    pub const DE_AUTHOR: &str = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d";
    /// DocumentEntry.classCode.
    pub const DE_CLASS: &str = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a";
    /// DocumentEntry.confidentialityCode.
    pub const DE_CONFIDENTIALITY: &str = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f";
    /// DocumentEntry.formatCode.
    pub const DE_FORMAT: &str = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d";
    /// DocumentEntry.healthcareFacilityTypeCode.
    pub const DE_FACILITY: &str = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1";
    /// DocumentEntry.patientId.
    pub const DE_PATIENT_ID: &str = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427";
    /// DocumentEntry.practiceSettingCode.
    pub const DE_PRACTICE: &str = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead";
    /// DocumentEntry.typeCode.
    pub const DE_TYPE: &str = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983";
    /// DocumentEntry.uniqueId.
    pub const DE_UNIQUE_ID: &str = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab";
}

const OT_CLASSIFICATION: &str =
    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification";
const OT_EXTERNAL_ID: &str =
    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier";
const OT_PACKAGE: &str =
    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage";
const OT_ASSOCIATION: &str =
    "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association";
const HAS_MEMBER: &str = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember";
/// Struct_IdNat assigning authority (XON.6).
pub const STRUCT_IDNAT_OID: &str = "1.2.250.1.71.4.2.2";
/// PS_IdNat assigning authority (XCN.9).
pub const PS_IDNAT_OID: &str = "1.2.250.1.71.4.2.1";

/// A code with its scheme, as an ebRIM Classification carries it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Code {
    /// `nodeRepresentation`.
    pub code: String,
    /// Slot `codingScheme`.
    pub scheme: String,
    /// Name.
    pub display: String,
}

impl Code {
    /// A code.
    pub fn new(code: &str, scheme: &str, display: &str) -> Self {
        Self {
            code: code.into(),
            scheme: scheme.into(),
            display: display.into(),
        }
    }

    fn of(c: &Coded) -> Self {
        Self::new(&c.code, &c.system, &c.display)
    }
}

/// The author slots of a DocumentEntry or SubmissionSet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Author {
    /// authorInstitution (XON).
    pub institution: Option<String>,
    /// authorPerson (XCN).
    pub person: Option<String>,
    /// authorSpecialty (`code^display^system`).
    pub specialty: Option<String>,
}

impl Author {
    /// The author of a CDA `assignedAuthor`: ANS XON (Struct_IdNat) and XCN (PS_IdNat).
    pub fn of(p: &Person) -> Self {
        Author {
            institution: p
                .organization
                .as_ref()
                .map(|(id, name)| xon(name, id.extension.as_deref().unwrap_or(""))),
            person: (!p.id.root.is_empty()).then(|| xcn(p)),
            specialty: (!p.specialty.code.is_empty()).then(|| {
                format!(
                    "{}^{}^{}",
                    p.specialty.code, p.specialty.display, p.specialty.system
                )
            }),
        }
    }
}

/// XON of a structure: `name^^^^^&1.2.250.1.71.4.2.2&ISO^IDNST^^^Struct_IdNat`.
pub fn xon(name: &str, struct_idnat: &str) -> String {
    format!("{name}^^^^^&{STRUCT_IDNAT_OID}&ISO^IDNST^^^{struct_idnat}")
}

/// XCN of a person: `idNat^NOM^Prénom^^^^^^&1.2.250.1.71.4.2.1&ISO^D^^^IDNPS`.
pub fn xcn(p: &Person) -> String {
    format!(
        "{}^{}^{}^^^^^^&{}&ISO^D^^^IDNPS",
        p.id.extension.as_deref().unwrap_or(&p.id.root),
        p.family,
        p.given,
        if p.id.root.is_empty() {
            PS_IDNAT_OID
        } else {
            &p.id.root
        }
    )
}

/// One DocumentEntry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DocumentEntry {
    /// entryUUID (`urn:uuid:…`), the ExtrinsicObject id.
    pub entry_uuid: String,
    /// uniqueId (`root^extension` of ClinicalDocument/id).
    pub unique_id: String,
    /// patientId (CX).
    pub patient_id: String,
    /// sourcePatientId (CX).
    pub source_patient_id: String,
    /// sourcePatientInfo (PID-5, PID-7, PID-8).
    pub source_patient_info: Vec<String>,
    /// mimeType.
    pub mime_type: String,
    /// classCode.
    pub class_code: Option<Code>,
    /// typeCode.
    pub type_code: Code,
    /// formatCode.
    pub format_code: Option<Code>,
    /// confidentialityCode(s).
    pub confidentiality: Vec<Code>,
    /// healthcareFacilityTypeCode.
    pub facility_type: Option<Code>,
    /// practiceSettingCode.
    pub practice_setting: Option<Code>,
    /// author.
    pub author: Author,
    /// legalAuthenticator (XCN).
    pub legal_authenticator: Option<String>,
    /// hash: SHA-1 of the document, lower-case hex.
    pub hash: String,
    /// size in bytes.
    pub size: u64,
    /// creationTime (UTC DTM).
    pub creation_time: String,
    /// serviceStartTime.
    pub service_start: Option<String>,
    /// serviceStopTime.
    pub service_stop: Option<String>,
    /// languageCode.
    pub language: String,
    /// title.
    pub title: String,
    /// URI slot: the document's file name in an XDM SUBSET folder.
    pub uri: Option<String>,
    /// Where it was read: the XPath of its ExtrinsicObject and, when the metadata is text of
    /// the input (an ITI-41 request), its line:column there; `None` for metadata made here or
    /// read from a FHIR Bundle.
    pub at: Option<Location>,
    /// The metadata XDS allows once that the ExtrinsicObject gives more than once (a second
    /// patientId, classCode, a slot repeated or with two values), by name: only the first of
    /// each is read above.
    pub repeated: Vec<String>,
}

/// The SubmissionSet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmissionSet {
    /// entryUUID.
    pub entry_uuid: String,
    /// uniqueId (OID).
    pub unique_id: String,
    /// sourceId (OID of the sending system).
    pub source_id: String,
    /// patientId (CX).
    pub patient_id: String,
    /// submissionTime (UTC DTM).
    pub submission_time: String,
    /// contentTypeCode.
    pub content_type: Code,
    /// author.
    pub author: Author,
    /// title.
    pub title: Option<String>,
    /// intendedRecipient (MSSanté addresses, XCN `^^^^^^^^^^^^^INTERNET^address`).
    pub intended_recipients: Vec<String>,
    /// Where it was read: the XPath of its RegistryPackage and, when the metadata is text of
    /// the input (an ITI-41 request), its line:column there; `None` for metadata made here or
    /// read from a FHIR Bundle.
    pub at: Option<Location>,
    /// The metadata XDS allows once that the RegistryPackage gives more than once, by name
    /// (see [`DocumentEntry::repeated`]).
    pub repeated: Vec<String>,
}

/// A SubmitObjectsRequest: one SubmissionSet and its DocumentEntries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    /// The SubmissionSet.
    pub submission_set: SubmissionSet,
    /// The DocumentEntries, in order.
    pub entries: Vec<DocumentEntry>,
}

/// SHA-1 of `bytes`, lower-case hex (the XDS `hash` slot).
pub fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 of `bytes`, lower-case hex (how package reports name the files they read).
pub fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-1 of `bytes`.
pub fn sha1(bytes: &[u8]) -> [u8; 20] {
    Sha1::digest(bytes).into()
}

/// A `urn:uuid:` made from a SHA-1 of `seed` (name-based, version 5 layout): the same seed
/// gives the same id, so packages are reproducible.
pub fn uuid_from(seed: &[u8]) -> String {
    let mut h = sha1(seed);
    h[6] = (h[6] & 0x0f) | 0x50;
    h[8] = (h[8] & 0x3f) | 0x80;
    let hex: String = h[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A `2.25.` OID (UUID-derived, ITU-T X.667) made from a SHA-1 of `seed`.
pub fn oid_from(seed: &[u8]) -> String {
    let h = sha1(seed);
    let mut n = [0u8; 16];
    n.copy_from_slice(&h[..16]);
    format!("2.25.{}", u128::from_be_bytes(n))
}

/// What the SubmissionSet takes from configuration rather than from the documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionOptions {
    /// sourceId: the OID of the sending system.
    pub source_id: String,
    /// submissionTime, seconds since the epoch.
    pub submission_time: i64,
    /// contentTypeCode (JDV_J59).
    pub content_type: Code,
    /// intendedRecipient addresses (MSSanté).
    pub intended_recipients: Vec<String>,
}

/// formatCode of an IHE DSG signature document (`specs/dmp_xds_mhd.md` §1.4).
pub const DSG_FORMAT: &str = "http://www.w3.org/2000/09/xmldsig#";
/// classCode of an IHE DSG signature document ("Digital Signature").
pub const DSG_CLASS: &str = "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1";

impl DocumentEntry {
    /// Whether this entry describes an IHE DSG signature document (the XAdES signature of the
    /// submission set that DRIMbox sends), by its formatCode or classCode, rather than a CDA
    /// document.
    pub fn is_signature(&self) -> bool {
        self.format_code
            .as_ref()
            .is_some_and(|c| c.code == DSG_FORMAT)
            || self
                .class_code
                .as_ref()
                .is_some_and(|c| c.code == DSG_CLASS)
    }

    /// The DocumentEntry of a CDA document: every value from its header and bytes.
    pub fn derive(header: &CdaHeader, bytes: &[u8]) -> DocumentEntry {
        let patient_id = header.ins.as_ref().map(|i| i.to_cx()).unwrap_or_default();
        // sourcePatientId: the local id (IPP) when there is one, else the INS (CX.5 NH).
        let source_patient_id = header
            .patient_ids
            .iter()
            .find(|i| {
                header.ins.as_ref().is_none_or(|ins| {
                    i.root != ins.oid || i.extension.as_deref() != Some(&ins.matricule)
                })
            })
            .and_then(|i| {
                i.extension
                    .as_ref()
                    .map(|e| format!("{e}^^^&{}&ISO^PI", i.root))
            })
            .unwrap_or_else(|| patient_id.clone());
        let p = &header.patient;
        let mut info = Vec::new();
        if !p.birth_name.is_empty() {
            info.push(format!("PID-5|{}^{}^^^^^L", p.birth_name, p.first_given));
        }
        if !p.birth_time.is_empty() {
            info.push(format!("PID-7|{}", p.birth_time));
        }
        if !p.gender.is_empty() {
            info.push(format!("PID-8|{}", p.gender));
        }
        let roots: Vec<&str> = header
            .template_ids
            .iter()
            .map(|t| t.root.as_str())
            .collect();
        DocumentEntry {
            entry_uuid: uuid_from(&[b"DocumentEntry:".as_slice(), bytes].concat()),
            unique_id: header.id.to_xds(),
            patient_id,
            source_patient_id,
            source_patient_info: info,
            mime_type: "text/xml".into(),
            class_code: codes::class_code(&header.code.code)
                .map(|d| Code::new(&d.code, &d.scheme, &d.display)),
            type_code: Code::of(&header.code),
            format_code: codes::format_code(&roots, header.n1_media_type.as_deref())
                .map(|d| Code::new(&d.code, &d.scheme, &d.display)),
            confidentiality: vec![Code::of(&header.confidentiality)],
            facility_type: header.facility_type.as_ref().map(Code::of),
            practice_setting: header.practice_setting.as_ref().map(Code::of),
            author: header.author.as_ref().map(Author::of).unwrap_or_default(),
            legal_authenticator: header.legal_authenticator.as_ref().map(xcn),
            hash: sha1_hex(bytes),
            size: bytes.len() as u64,
            creation_time: xds_time(&header.effective_time),
            service_start: header.service_start.as_deref().map(xds_time),
            service_stop: header.service_stop.as_deref().map(xds_time),
            language: header.language.clone(),
            title: header.title.clone(),
            uri: None,
            at: None,
            repeated: Vec::new(),
        }
    }
}

impl Metadata {
    /// The SubmissionSet over `entries` (at least one): patient and author of the first.
    pub fn new(entries: Vec<DocumentEntry>, options: &SubmissionOptions) -> Metadata {
        let seed: String = entries
            .iter()
            .map(|e| e.unique_id.as_str())
            .chain([options.source_id.as_str()])
            .collect::<Vec<_>>()
            .join("|")
            + &options.submission_time.to_string();
        let first = entries.first();
        let submission_set = SubmissionSet {
            entry_uuid: uuid_from(format!("SubmissionSet:{seed}").as_bytes()),
            unique_id: oid_from(format!("SubmissionSet:{seed}").as_bytes()),
            source_id: options.source_id.clone(),
            patient_id: first.map(|e| e.patient_id.clone()).unwrap_or_default(),
            submission_time: crate::time::utc_dtm(options.submission_time),
            content_type: options.content_type.clone(),
            author: first.map(|e| e.author.clone()).unwrap_or_default(),
            title: None,
            intended_recipients: options.intended_recipients.clone(),
            at: None,
            repeated: Vec::new(),
        };
        Metadata {
            submission_set,
            entries,
        }
    }

    /// The `lcm:SubmitObjectsRequest` element (without XML declaration).
    pub fn to_ebrim(&self) -> String {
        let mut w = XmlOut::fragment();
        self.write(&mut w, true);
        w.finish()
    }

    /// The XML document METADATA.XML of an XDM SUBSET folder.
    pub fn to_xml_document(&self) -> String {
        let mut w = XmlOut::new();
        self.write(&mut w, true);
        w.finish()
    }

    pub(crate) fn write(&self, w: &mut XmlOut, declare_ns: bool) {
        w.start("lcm:SubmitObjectsRequest");
        if declare_ns {
            w.attr("xmlns:lcm", LCM).attr("xmlns:rim", RIM);
        }
        w.start("rim:RegistryObjectList");
        for e in &self.entries {
            write_entry(w, e);
        }
        let ss = &self.submission_set;
        write_submission_set(w, ss);
        w.start("rim:Classification")
            .attr("classificationNode", uuids::SUBMISSION_SET)
            .attr("classifiedObject", &ss.entry_uuid)
            .attr(
                "id",
                &uuid_from(format!("ssnode{}", ss.entry_uuid).as_bytes()),
            )
            .attr("objectType", OT_CLASSIFICATION)
            .end();
        for e in &self.entries {
            w.start("rim:Association")
                .attr("associationType", HAS_MEMBER)
                .attr("sourceObject", &ss.entry_uuid)
                .attr("targetObject", &e.entry_uuid)
                .attr(
                    "id",
                    &uuid_from(format!("assoc{}{}", ss.entry_uuid, e.entry_uuid).as_bytes()),
                )
                .attr("objectType", OT_ASSOCIATION);
            slot(w, "SubmissionSetStatus", &["Original"]);
            w.end();
        }
        w.end().end();
    }
}

fn slot(w: &mut XmlOut, name: &str, values: &[&str]) {
    w.start("rim:Slot")
        .attr("name", name)
        .start("rim:ValueList");
    for v in values {
        w.leaf("rim:Value", &[], v);
    }
    w.end().end();
}

fn name(w: &mut XmlOut, value: &str) {
    w.start("rim:Name")
        .start("rim:LocalizedString")
        .attr("xml:lang", "fr-FR")
        .attr("charset", "UTF-8")
        .attr("value", value)
        .end()
        .end();
}

fn classification(w: &mut XmlOut, scheme: &str, object: &str, code: &Code, n: usize) {
    w.start("rim:Classification")
        .attr("classificationScheme", scheme)
        .attr("classifiedObject", object)
        .attr(
            "id",
            &uuid_from(format!("{scheme}{object}{n}{}", code.code).as_bytes()),
        )
        .attr("nodeRepresentation", &code.code)
        .attr("objectType", OT_CLASSIFICATION);
    slot(w, "codingScheme", &[&code.scheme]);
    name(w, &code.display);
    w.end();
}

fn author(w: &mut XmlOut, scheme: &str, object: &str, a: &Author) {
    if a == &Author::default() {
        return;
    }
    w.start("rim:Classification")
        .attr("classificationScheme", scheme)
        .attr("classifiedObject", object)
        .attr("id", &uuid_from(format!("author{object}").as_bytes()))
        .attr("nodeRepresentation", "")
        .attr("objectType", OT_CLASSIFICATION);
    if let Some(v) = &a.institution {
        slot(w, "authorInstitution", &[v]);
    }
    if let Some(v) = &a.person {
        slot(w, "authorPerson", &[v]);
    }
    if let Some(v) = &a.specialty {
        slot(w, "authorSpecialty", &[v]);
    }
    w.end();
}

fn external_id(w: &mut XmlOut, scheme: &str, object: &str, value: &str, label: &str) {
    w.start("rim:ExternalIdentifier")
        .attr("identificationScheme", scheme)
        .attr("value", value)
        .attr("id", &uuid_from(format!("{scheme}{object}").as_bytes()))
        .attr("objectType", OT_EXTERNAL_ID)
        .attr("registryObject", object);
    name(w, label);
    w.end();
}

fn write_entry(w: &mut XmlOut, e: &DocumentEntry) {
    let id = e.entry_uuid.as_str();
    w.start("rim:ExtrinsicObject")
        .attr("id", id)
        .attr("mimeType", &e.mime_type)
        .attr("objectType", uuids::DOC_ENTRY);
    slot(w, "creationTime", &[&e.creation_time]);
    slot(w, "hash", &[&e.hash]);
    slot(w, "languageCode", &[&e.language]);
    if let Some(v) = &e.legal_authenticator {
        slot(w, "legalAuthenticator", &[v]);
    }
    if let Some(v) = &e.service_start {
        slot(w, "serviceStartTime", &[v]);
    }
    if let Some(v) = &e.service_stop {
        slot(w, "serviceStopTime", &[v]);
    }
    slot(w, "size", &[&e.size.to_string()]);
    slot(w, "sourcePatientId", &[&e.source_patient_id]);
    if !e.source_patient_info.is_empty() {
        let v: Vec<&str> = e.source_patient_info.iter().map(String::as_str).collect();
        slot(w, "sourcePatientInfo", &v);
    }
    if let Some(v) = &e.uri {
        slot(w, "URI", &[v]);
    }
    name(w, &e.title);
    author(w, uuids::DE_AUTHOR, id, &e.author);
    if let Some(c) = &e.class_code {
        classification(w, uuids::DE_CLASS, id, c, 0);
    }
    for (i, c) in e.confidentiality.iter().enumerate() {
        classification(w, uuids::DE_CONFIDENTIALITY, id, c, i);
    }
    if let Some(c) = &e.format_code {
        classification(w, uuids::DE_FORMAT, id, c, 0);
    }
    if let Some(c) = &e.facility_type {
        classification(w, uuids::DE_FACILITY, id, c, 0);
    }
    if let Some(c) = &e.practice_setting {
        classification(w, uuids::DE_PRACTICE, id, c, 0);
    }
    classification(w, uuids::DE_TYPE, id, &e.type_code, 0);
    external_id(
        w,
        uuids::DE_PATIENT_ID,
        id,
        &e.patient_id,
        "XDSDocumentEntry.patientId",
    );
    external_id(
        w,
        uuids::DE_UNIQUE_ID,
        id,
        &e.unique_id,
        "XDSDocumentEntry.uniqueId",
    );
    w.end();
}

fn write_submission_set(w: &mut XmlOut, ss: &SubmissionSet) {
    let id = ss.entry_uuid.as_str();
    w.start("rim:RegistryPackage")
        .attr("id", id)
        .attr("objectType", OT_PACKAGE);
    slot(w, "submissionTime", &[&ss.submission_time]);
    if !ss.intended_recipients.is_empty() {
        let v: Vec<String> = ss
            .intended_recipients
            .iter()
            .map(|a| format!("^^^^^^^^^^^^^INTERNET^{a}"))
            .collect();
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        slot(w, "intendedRecipient", &v);
    }
    if let Some(t) = &ss.title {
        name(w, t);
    }
    author(w, uuids::SS_AUTHOR, id, &ss.author);
    classification(w, uuids::SS_CONTENT_TYPE, id, &ss.content_type, 0);
    external_id(
        w,
        uuids::SS_UNIQUE_ID,
        id,
        &ss.unique_id,
        "XDSSubmissionSet.uniqueId",
    );
    external_id(
        w,
        uuids::SS_SOURCE_ID,
        id,
        &ss.source_id,
        "XDSSubmissionSet.sourceId",
    );
    external_id(
        w,
        uuids::SS_PATIENT_ID,
        id,
        &ss.patient_id,
        "XDSSubmissionSet.patientId",
    );
    w.end();
}

/// Why metadata could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// Not well-formed XML.
    #[error("not well-formed XML at {0}")]
    Xml(#[from] segur_xml::ParseError),
    /// No `rim:RegistryObjectList`.
    #[error("no rim:RegistryObjectList")]
    NoObjectList,
}

/// Metadata as read: every SubmissionSet (a valid request has one) and every DocumentEntry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadMetadata {
    /// The SubmissionSets.
    pub submission_sets: Vec<SubmissionSet>,
    /// The DocumentEntries.
    pub entries: Vec<DocumentEntry>,
}

impl ReadMetadata {
    /// Where each DocumentEntry and SubmissionSet was read, when known: the caller places
    /// them in its input (lines of the file, or the path of an archive entry).
    pub fn locations_mut(&mut self) -> impl Iterator<Item = &mut Location> {
        self.entries
            .iter_mut()
            .map(|e| &mut e.at)
            .chain(self.submission_sets.iter_mut().map(|s| &mut s.at))
            .flatten()
    }
}

fn slot_values(doc: &Document, obj: NodeId, slot_name: &str) -> Vec<String> {
    kids(doc, obj, RIM, "Slot")
        .filter(|&s| attr(doc, s, "name") == Some(slot_name))
        .flat_map(|s| {
            kid(doc, s, RIM, "ValueList")
                .into_iter()
                .flat_map(|vl| kids(doc, vl, RIM, "Value").map(|v| text(doc, v)))
        })
        .collect()
}

fn slot_value(doc: &Document, obj: NodeId, slot_name: &str) -> Option<String> {
    slot_values(doc, obj, slot_name).into_iter().next()
}

fn name_of(doc: &Document, obj: NodeId) -> Option<String> {
    kid(doc, obj, RIM, "Name")
        .and_then(|n| kid(doc, n, RIM, "LocalizedString"))
        .and_then(|l| attr(doc, l, "value"))
        .map(str::to_string)
}

fn codes_of(doc: &Document, obj: NodeId, scheme: &str) -> Vec<Code> {
    kids(doc, obj, RIM, "Classification")
        .filter(|&c| attr(doc, c, "classificationScheme") == Some(scheme))
        .map(|c| Code {
            code: attr(doc, c, "nodeRepresentation").unwrap_or("").to_string(),
            scheme: slot_value(doc, c, "codingScheme").unwrap_or_default(),
            display: name_of(doc, c).unwrap_or_default(),
        })
        .collect()
}

fn author_of(doc: &Document, obj: NodeId, scheme: &str) -> Author {
    kids(doc, obj, RIM, "Classification")
        .find(|&c| attr(doc, c, "classificationScheme") == Some(scheme))
        .map(|c| Author {
            institution: slot_value(doc, c, "authorInstitution"),
            person: slot_value(doc, c, "authorPerson"),
            specialty: slot_value(doc, c, "authorSpecialty"),
        })
        .unwrap_or_default()
}

fn external(doc: &Document, obj: NodeId, scheme: &str) -> String {
    kids(doc, obj, RIM, "ExternalIdentifier")
        .find(|&c| attr(doc, c, "identificationScheme") == Some(scheme))
        .and_then(|c| attr(doc, c, "value"))
        .unwrap_or("")
        .to_string()
}

/// The identifiers and classifications a DocumentEntry has at most once (ITI TF-3 4.2.3.2:
/// patientId, uniqueId, classCode, typeCode, formatCode, healthcareFacilityTypeCode,
/// practiceSettingCode), by scheme, with their names.
const DE_ONCE: &[(&str, &str)] = &[
    (uuids::DE_PATIENT_ID, "patientId"),
    (uuids::DE_UNIQUE_ID, "uniqueId"),
    (uuids::DE_CLASS, "classCode"),
    (uuids::DE_TYPE, "typeCode"),
    (uuids::DE_FORMAT, "formatCode"),
    (uuids::DE_FACILITY, "healthcareFacilityTypeCode"),
    (uuids::DE_PRACTICE, "practiceSettingCode"),
];

/// The slots of a DocumentEntry that hold one value (ITI TF-3 4.2.3.2).
const DE_SINGLE_VALUED: &[&str] = &[
    "creationTime",
    "hash",
    "size",
    "languageCode",
    "legalAuthenticator",
    "serviceStartTime",
    "serviceStopTime",
    "sourcePatientId",
    "repositoryUniqueId",
    "URI",
];

/// The identifiers and classification a SubmissionSet has at most once (ITI TF-3 4.2.3.3).
const SS_ONCE: &[(&str, &str)] = &[
    (uuids::SS_PATIENT_ID, "patientId"),
    (uuids::SS_UNIQUE_ID, "uniqueId"),
    (uuids::SS_SOURCE_ID, "sourceId"),
    (uuids::SS_CONTENT_TYPE, "contentTypeCode"),
];

/// What registry object `obj` gives more than once of what XDS allows once: an
/// ExternalIdentifier or Classification of a scheme in `once`, a Slot name (unique within an
/// object, ebRIM 3.0 2.8.1), a slot of `single` with more than one Value.
fn repeated(doc: &Document, obj: NodeId, once: &[(&str, &str)], single: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for &(scheme, name) in once {
        let given = kids(doc, obj, RIM, "ExternalIdentifier")
            .filter(|&c| attr(doc, c, "identificationScheme") == Some(scheme))
            .chain(
                kids(doc, obj, RIM, "Classification")
                    .filter(|&c| attr(doc, c, "classificationScheme") == Some(scheme)),
            )
            .count();
        if given > 1 {
            out.push(name.to_string());
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for slot in kids(doc, obj, RIM, "Slot") {
        let name = attr(doc, slot, "name").unwrap_or("");
        if seen.contains(&name) {
            if !out.iter().any(|o| o == name) {
                out.push(name.to_string());
            }
            continue;
        }
        seen.push(name);
        let values =
            kid(doc, slot, RIM, "ValueList").map_or(0, |vl| kids(doc, vl, RIM, "Value").count());
        if values > 1 && single.contains(&name) {
            out.push(name.to_string());
        }
    }
    out
}

/// Read the metadata of a parsed document (METADATA.XML, or a SOAP body holding a
/// SubmitObjectsRequest).
pub fn read_metadata(doc: &Document) -> Result<ReadMetadata, MetadataError> {
    let list = descendants(doc, doc.root(), RIM, "RegistryObjectList")
        .next()
        .ok_or(MetadataError::NoObjectList)?;
    let mut out = ReadMetadata::default();
    let ss_ids: Vec<String> = kids(doc, list, RIM, "Classification")
        .filter(|&c| attr(doc, c, "classificationNode") == Some(uuids::SUBMISSION_SET))
        .filter_map(|c| attr(doc, c, "classifiedObject").map(str::to_string))
        .collect();
    for obj in kids(doc, list, RIM, "RegistryPackage") {
        let id = attr(doc, obj, "id").unwrap_or("").to_string();
        let is_ss = ss_ids.contains(&id)
            || kids(doc, obj, RIM, "Classification")
                .any(|c| attr(doc, c, "classificationNode") == Some(uuids::SUBMISSION_SET));
        if !is_ss {
            continue;
        }
        out.submission_sets.push(SubmissionSet {
            unique_id: external(doc, obj, uuids::SS_UNIQUE_ID),
            source_id: external(doc, obj, uuids::SS_SOURCE_ID),
            patient_id: external(doc, obj, uuids::SS_PATIENT_ID),
            submission_time: slot_value(doc, obj, "submissionTime").unwrap_or_default(),
            content_type: codes_of(doc, obj, uuids::SS_CONTENT_TYPE)
                .into_iter()
                .next()
                .unwrap_or_default(),
            author: author_of(doc, obj, uuids::SS_AUTHOR),
            title: name_of(doc, obj),
            intended_recipients: slot_values(doc, obj, "intendedRecipient")
                .into_iter()
                .map(|v| v.rsplit('^').next().unwrap_or("").to_string())
                .collect(),
            entry_uuid: id,
            at: Some(locate(doc, obj)),
            repeated: repeated(doc, obj, SS_ONCE, &["submissionTime"]),
        });
    }
    for obj in kids(doc, list, RIM, "ExtrinsicObject") {
        let first = |scheme: &str| codes_of(doc, obj, scheme).into_iter().next();
        out.entries.push(DocumentEntry {
            entry_uuid: attr(doc, obj, "id").unwrap_or("").to_string(),
            unique_id: external(doc, obj, uuids::DE_UNIQUE_ID),
            patient_id: external(doc, obj, uuids::DE_PATIENT_ID),
            source_patient_id: slot_value(doc, obj, "sourcePatientId").unwrap_or_default(),
            source_patient_info: slot_values(doc, obj, "sourcePatientInfo"),
            mime_type: attr(doc, obj, "mimeType").unwrap_or("").to_string(),
            class_code: first(uuids::DE_CLASS),
            type_code: first(uuids::DE_TYPE).unwrap_or_default(),
            format_code: first(uuids::DE_FORMAT),
            confidentiality: codes_of(doc, obj, uuids::DE_CONFIDENTIALITY),
            facility_type: first(uuids::DE_FACILITY),
            practice_setting: first(uuids::DE_PRACTICE),
            author: author_of(doc, obj, uuids::DE_AUTHOR),
            legal_authenticator: slot_value(doc, obj, "legalAuthenticator"),
            hash: slot_value(doc, obj, "hash").unwrap_or_default(),
            size: slot_value(doc, obj, "size")
                .and_then(|s| s.parse().ok())
                .unwrap_or(u64::MAX),
            creation_time: slot_value(doc, obj, "creationTime").unwrap_or_default(),
            service_start: slot_value(doc, obj, "serviceStartTime"),
            service_stop: slot_value(doc, obj, "serviceStopTime"),
            language: slot_value(doc, obj, "languageCode").unwrap_or_default(),
            title: name_of(doc, obj).unwrap_or_default(),
            uri: slot_value(doc, obj, "URI"),
            at: Some(locate(doc, obj)),
            repeated: repeated(doc, obj, DE_ONCE, DE_SINGLE_VALUED),
        });
    }
    Ok(out)
}

/// Parse and read METADATA.XML bytes.
pub fn parse_metadata(bytes: &[u8]) -> Result<ReadMetadata, MetadataError> {
    let doc = Document::parse(bytes, &crate::cda::limits())?;
    read_metadata(&doc)
}
