//! PDSm / IHE MHD ITI-65 *Provide Document Bundle* in FHIR R4 JSON (`specs/dmp_xds_mhd.md`
//! §3): a transaction Bundle with the SubmissionSet as a List, one DocumentReference and one
//! Binary per document, and the Patient with the INS per FR Core; and its reading into the
//! same XDS metadata model, so the same checks apply.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use segur_finding::Finding;
use serde_json::{Map, Value, json};

use crate::cda::{CdaHeader, Ins, Person};
use crate::metadata::{Author, Code, DocumentEntry, Metadata, SubmissionSet, uuid_from};
use crate::package::{Input, Options, PackageError, prepare};
use crate::rules::{finding, finding_at};
use crate::time::{fhir_time, from_fhir, xds_time};

const PDSM: &str = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/";
const MHD_EXT: &str = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/";
const FR_CORE: &str = "https://hl7.fr/ig/fhir/core/";

/// Code systems written as NOS URLs, as the PDSm examples do (OID ↔ URL, from the
/// CodeSystems' identifiers in the FHIR packages).
const SYSTEMS: &[(&str, &str)] = &[
    ("2.16.840.1.113883.6.1", "http://loinc.org"),
    (
        "1.2.250.1.213.1.1.4.1",
        "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument",
    ),
    (
        "1.2.250.1.71.4.2.4",
        "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite",
    ),
    (
        "1.2.250.1.213.1.1.4.9",
        "https://mos.esante.gouv.fr/NOS/TRE_A01-CadreExercice/FHIR/TRE-A01-CadreExercice",
    ),
    (
        "1.3.6.1.4.1.19376.1.2.3",
        "https://mos.esante.gouv.fr/NOS/TRE_A11-IheFormatCode/FHIR/TRE-A11-IheFormatCode",
    ),
    (
        "1.2.250.1.213.1.1.4.2.282",
        "https://mos.esante.gouv.fr/NOS/TRE_A06-FormatCodeComplementaire/FHIR/TRE-A06-FormatCodeComplementaire",
    ),
    (
        "2.16.840.1.113883.5.25",
        "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    ),
];

/// Code systems read by their NOS URL but still written as `urn:oid:` (writing them by URL
/// would change the Bundles segur builds): the systems the CI-SIS FHIR ValueSets JDV_J02,
/// J04 and J07 use (`ans.fhir.fr.pdsm.deps-combined`, CC0; OIDs from the CodeSystems'
/// identifiers, `urn:oid:ASTM` for TRE_A12).
const READ_SYSTEMS: &[(&str, &str)] = &[
    (
        "1.2.250.1.213.1.1.4.12",
        "https://mos.esante.gouv.fr/NOS/TRE_A05-TypeDocComplementaire/FHIR/TRE-A05-TypeDocComplementaire",
    ),
    (
        "1.2.250.1.213.1.1.4.6",
        "https://mos.esante.gouv.fr/NOS/TRE_A00-ProducteurDocNonPS/FHIR/TRE-A00-ProducteurDocNonPS",
    ),
    (
        "ASTM",
        "https://mos.esante.gouv.fr/NOS/TRE_A12-NomenclatureASTM/FHIR/TRE-A12-NomenclatureASTM",
    ),
];

/// The FHIR system of a code-system OID.
pub fn system_of(oid: &str) -> String {
    SYSTEMS
        .iter()
        .find(|(o, _)| *o == oid)
        .map_or_else(|| format!("urn:oid:{oid}"), |(_, u)| u.to_string())
}

/// The OID of a FHIR system (`urn:oid:` stripped, known URLs mapped; else as is).
pub fn oid_of(system: &str) -> String {
    if let Some(o) = system.strip_prefix("urn:oid:") {
        return o.to_string();
    }
    SYSTEMS
        .iter()
        .chain(READ_SYSTEMS)
        .find(|(_, u)| *u == system)
        .map_or_else(|| system.to_string(), |(o, _)| o.to_string())
}

fn coding(c: &Code) -> Value {
    json!({"coding": [{"system": system_of(&c.scheme), "code": c.code, "display": c.display}]})
}

/// The contained resources of an author (CDA `assignedAuthor` or `assignedEntity`): a
/// Practitioner (PS_IdNat), its Organization (Struct_IdNat) and the PractitionerRole that
/// links them, with ids `<prefix>`, `<prefix>-person`, `<prefix>-org`.
fn person_resources(p: &Person, prefix: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut role = json!({
        "resourceType": "PractitionerRole",
        "id": prefix,
        "active": true,
        "practitioner": {"reference": format!("#{prefix}-person")},
    });
    out.push(json!({
        "resourceType": "Practitioner",
        "id": format!("{prefix}-person"),
        "identifier": [{
            "type": {"coding": [{"system": format!("{FR_CORE}CodeSystem/fr-core-cs-v2-0203"), "code": "IDNPS"}]},
            "system": format!("urn:oid:{}", p.id.root),
            "value": p.id.extension.clone().unwrap_or_default(),
        }],
        "name": [{"family": p.family, "given": [p.given]}],
    }));
    if let Some((org, name)) = &p.organization {
        role["organization"] = json!({"reference": format!("#{prefix}-org")});
        out.push(json!({
            "resourceType": "Organization",
            "id": format!("{prefix}-org"),
            "identifier": [{
                "type": {"coding": [{"system": format!("{FR_CORE}CodeSystem/fr-core-cs-v2-0203"), "code": "IDNST"}]},
                "system": format!("urn:oid:{}", org.root),
                "value": org.extension.clone().unwrap_or_default(),
            }],
            "name": name,
        }));
    }
    out.insert(0, role);
    out
}

/// The FR Core INS Patient (`fr-core-patient-ins`, FR Core 2.1.0 as PDSm 3.1.1 uses).
fn ins_patient(h: &CdaHeader, ins: &Ins) -> Value {
    let p = &h.patient;
    // The CDA does not carry the identity status; an INS is transmitted only for a qualified
    // identity, which FR Core 2.1.0 codes VALI (2.2.0 adds QUAL). Inferred: UNVERIFIED.
    let (status, label) = if h.has_qualified_ins() {
        ("VALI", "Identité validée")
    } else {
        ("PROV", "Identité provisoire")
    };
    let mut patient = json!({
        "resourceType": "Patient",
        "meta": {"profile": [format!("{FR_CORE}StructureDefinition/fr-core-patient-ins")]},
        "extension": [{
            "url": format!("{FR_CORE}StructureDefinition/fr-core-identity-reliability"),
            "extension": [{
                "url": "identityStatus",
                "valueCoding": {"system": format!("{FR_CORE}CodeSystem/fr-core-cs-v2-0445"), "code": status, "display": label},
            }],
        }],
        "identifier": [{
            "use": "official",
            "type": {"coding": [{"system": format!("{FR_CORE}CodeSystem/fr-core-cs-v2-0203"), "code": ins_type(&ins.oid)}]},
            "system": format!("urn:oid:{}", ins.oid),
            "value": ins.matricule,
        }],
        "name": [{
            "extension": [{"url": format!("{FR_CORE}StructureDefinition/fr-core-patient-birth-list-given-name"), "valueString": p.given_list}],
            "use": "official",
            "family": p.birth_name,
            "given": [p.first_given],
        }],
        "gender": p.fhir_gender(),
    });
    if let Some(b) = fhir_time(&p.birth_time) {
        patient["birthDate"] = json!(b);
    }
    if !p.birthplace_cog.is_empty() {
        let mut address = json!({
            "extension": [{
                "url": format!("{FR_CORE}StructureDefinition/fr-core-address-insee-code"),
                "valueCoding": {"system": "https://mos.esante.gouv.fr/NOS/TRE_R13-CommuneOM/FHIR/TRE-R13-CommuneOM", "code": p.birthplace_cog},
            }],
        });
        if !p.birthplace_city.is_empty() {
            address["city"] = json!(p.birthplace_city);
        }
        if let Some(list) = patient["extension"].as_array_mut() {
            list.push(json!({"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueAddress": address}));
        }
    }
    patient
}

/// The patient as the producer knows it (`context.sourcePatientInfo`): local ids and traits.
fn source_patient(h: &CdaHeader) -> Value {
    let p = &h.patient;
    let ids: Vec<Value> = h
        .patient_ids
        .iter()
        .map(|i| json!({"system": format!("urn:oid:{}", i.root), "value": i.extension.clone().unwrap_or_default()}))
        .collect();
    let mut patient = json!({
        "resourceType": "Patient",
        "id": "source-patient",
        "identifier": ids,
        "name": [{"use": "official", "family": p.birth_name, "given": [p.first_given]}],
        "gender": p.fhir_gender(),
    });
    if let Some(b) = fhir_time(&p.birth_time) {
        patient["birthDate"] = json!(b);
    }
    patient
}

fn hex_to_base64(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect();
    STANDARD.encode(bytes)
}

/// The FR Core identifier type of an INS OID.
fn ins_type(oid: &str) -> &'static str {
    match oid {
        "1.2.250.1.213.1.4.9" => "INS-NIA",
        "1.2.250.1.213.1.4.10" => "INS-NIR-TEST",
        "1.2.250.1.213.1.4.11" => "INS-NIR-DEMO",
        _ => "INS-NIR",
    }
}

fn value_of_identifier(id: &str) -> Value {
    // uniqueId `root` → urn:oid:root; `root^extension` kept as is (UNVERIFIED PDSm mapping).
    if id.contains('^') {
        json!({"use": "usual", "system": "urn:ietf:rfc:3986", "value": id})
    } else {
        json!({"use": "usual", "system": "urn:ietf:rfc:3986", "value": format!("urn:oid:{id}")})
    }
}

/// Build the Bundle (pretty-printed JSON).
pub fn build(inputs: &[Input], options: &Options) -> Result<Vec<u8>, PackageError> {
    let prepared = prepare(inputs, options, Vec::new())?;
    let meta: &Metadata = &prepared.metadata;
    let ss = &meta.submission_set;
    let h0 = &prepared.headers[0];
    let ins = h0.ins.clone().ok_or_else(|| PackageError::NoIns {
        name: inputs[0].name.clone(),
    })?;
    let patient_url = uuid_from(format!("patient{}", ins.to_cx()).as_bytes());
    let patient = ins_patient(h0, &ins);
    let mut entries = Vec::new();
    let mut items = Vec::new();
    let mut doc_entries = Vec::new();
    for (i, (e, input)) in meta.entries.iter().zip(&prepared.inputs).enumerate() {
        let h = &prepared.headers[i];
        let doc_url = e.entry_uuid.clone();
        let bin_url = uuid_from(format!("binary{}", e.entry_uuid).as_bytes());
        items.push(json!({"item": {"reference": doc_url}}));
        let mut contained = Vec::new();
        let mut author_refs = Vec::new();
        if let Some(a) = &h.author {
            contained.extend(person_resources(a, "author"));
            author_refs.push(json!({"reference": "#author"}));
        }
        if let Some(l) = &h.legal_authenticator {
            contained.extend(person_resources(l, "authenticator"));
        }
        contained.push(source_patient(h));
        let mut attachment = json!({
            "contentType": e.mime_type,
            "language": e.language,
            "url": bin_url,
            "size": e.size,
            "hash": hex_to_base64(&e.hash),
            "title": e.title,
        });
        if let Some(t) = fhir_time(&h.effective_time) {
            attachment["creation"] = json!(t);
        }
        let mut content = json!({"attachment": attachment});
        if let Some(f) = &e.format_code {
            content["format"] =
                json!({"system": system_of(&f.scheme), "code": f.code, "display": f.display});
        }
        let mut context = Map::new();
        let mut period = Map::new();
        if let Some(s) = h.service_start.as_deref().and_then(fhir_time) {
            period.insert("start".into(), json!(s));
        }
        if let Some(s) = h.service_stop.as_deref().and_then(fhir_time) {
            period.insert("end".into(), json!(s));
        }
        if !period.is_empty() {
            context.insert("period".into(), Value::Object(period));
        }
        context.insert(
            "sourcePatientInfo".into(),
            json!({"reference": "#source-patient"}),
        );
        if let Some(c) = &e.facility_type {
            context.insert("facilityType".into(), coding(c));
        }
        if let Some(c) = &e.practice_setting {
            context.insert("practiceSetting".into(), coding(c));
        }
        let mut doc = json!({
            "resourceType": "DocumentReference",
            "meta": {"profile": [format!("{PDSM}pdsm-comprehensive-document-reference")]},
            "contained": contained,
            "masterIdentifier": value_of_identifier(&e.unique_id),
            "identifier": [{"use": "official", "system": "urn:ietf:rfc:3986", "value": e.entry_uuid}],
            "status": "current",
            "type": coding(&e.type_code),
            "subject": {"reference": patient_url},
            "author": author_refs,
            // The display of HL7 v3 Confidentiality is lower case; CDA's displayName may not be.
            "securityLabel": e.confidentiality.iter().map(|c| json!({"coding": [{"system": system_of(&c.scheme), "code": c.code}]})).collect::<Vec<_>>(),
            "content": [content],
            "context": context,
        });
        if let Some(c) = &e.class_code {
            doc["category"] = json!([coding(c)]);
        }
        if h.legal_authenticator.is_some() {
            doc["authenticator"] = json!({"reference": "#authenticator"});
        }
        if h.author.as_ref().is_some_and(|a| a.organization.is_some()) {
            doc["custodian"] = json!({"reference": "#author-org"});
        }
        if let Some(t) = fhir_time(&h.effective_time) {
            doc["date"] = json!(t);
        }
        doc_entries.push(json!({"fullUrl": doc_url, "resource": doc, "request": {"method": "POST", "url": "DocumentReference"}}));
        doc_entries.push(json!({
            "fullUrl": bin_url,
            "resource": {"resourceType": "Binary", "contentType": e.mime_type, "data": STANDARD.encode(&input.bytes)},
            "request": {"method": "POST", "url": "Binary"},
        }));
    }
    let mut list = json!({
        "resourceType": "List",
        "meta": {"profile": [format!("{PDSM}pdsm-submissionset-comprehensive")]},
        "extension": [
            {"url": format!("{MHD_EXT}ihe-sourceId"), "valueIdentifier": {"value": format!("urn:oid:{}", ss.source_id)}},
            {"url": format!("{MHD_EXT}ihe-designationType"), "valueCodeableConcept": coding(&ss.content_type)},
        ],
        "identifier": [
            // MHD: uniqueId `use=usual`, entryUUID `use=official`.
            {"use": "usual", "system": "urn:ietf:rfc:3986", "value": format!("urn:oid:{}", ss.unique_id)},
            {"use": "official", "system": "urn:ietf:rfc:3986", "value": ss.entry_uuid},
        ],
        "status": "current",
        "mode": "working",
        "code": {"coding": [{"system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes", "code": "submissionset"}]},
        "subject": {"reference": patient_url},
        "entry": items,
    });
    if let Some(a) = &h0.author {
        list["contained"] = json!(person_resources(a, "ss-author"));
        let mut source = json!({"reference": "#ss-author"});
        if a.organization.is_some() {
            source["extension"] = json!([{"url": format!("{MHD_EXT}ihe-authorOrg"), "valueReference": {"reference": "#ss-author-org"}}]);
        }
        list["source"] = source;
    }
    if let Some(t) = fhir_time(&format!("{}+0000", ss.submission_time)) {
        list["date"] = json!(t);
    }
    entries.push(json!({"fullUrl": ss.entry_uuid, "resource": list, "request": {"method": "POST", "url": "List"}}));
    entries.extend(doc_entries);
    entries.push(json!({
        "fullUrl": patient_url,
        "resource": patient,
        // Conditional create: the Patient is created only if no Patient has this INS.
        "request": {"method": "POST", "url": "Patient", "ifNoneExist": format!("identifier=urn:oid:{}|{}", ins.oid, ins.matricule)},
    }));
    let bundle = json!({
        "resourceType": "Bundle",
        "meta": {"profile": [format!("{PDSM}pdsm-comprehensive-provide-document-bundle")]},
        "type": "transaction",
        "entry": entries,
    });
    let mut out = serde_json::to_vec_pretty(&bundle).unwrap_or_default();
    out.push(b'\n');
    Ok(out)
}

/// A Bundle as read.
#[derive(Debug, Clone, Default)]
pub struct Read {
    /// The SubmissionSet Lists.
    pub submission_sets: Vec<SubmissionSet>,
    /// The DocumentReferences as DocumentEntries.
    pub entries: Vec<DocumentEntry>,
    /// Each document: (fullUrl of its Binary, entry index, bytes).
    pub documents: Vec<(String, Option<usize>, Vec<u8>)>,
}

/// Whether bytes look like FHIR JSON (an object; whether it is a Bundle is checked when read,
/// since JSON keys come in any order).
pub fn looks_like(bytes: &[u8]) -> bool {
    without_bom(bytes).trim_ascii_start().starts_with(b"{")
}

/// `bytes` without a leading UTF-8 byte order mark, which a JSON reader may ignore (RFC 8259
/// 8.1) and the FHIR validator does: a Bundle saved with one is still a Bundle.
fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn code_of(v: Option<&Value>) -> Option<Code> {
    let c = v?.pointer("/coding/0")?;
    Some(Code {
        code: s(c, "/code").to_string(),
        scheme: oid_of(s(c, "/system")),
        display: s(c, "/display").to_string(),
    })
}

fn strip_oid(v: &str) -> String {
    v.strip_prefix("urn:oid:").unwrap_or(v).to_string()
}

/// A JSON value whose objects have distinct keys. FHIR JSON forbids a repeated key, and
/// readers disagree on which of two counts (RFC 8259 §4), so one is refused as `segur
/// validate` refuses it.
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

/// Builds a [`Value`], failing on a repeated key.
struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate key \"{key}\""
                )));
            }
            let Strict(v) = map.next_value()?;
            object.insert(key, v);
        }
        Ok(Value::Object(object))
    }
}

/// Read a Bundle; problems go to `findings`.
pub fn read(bytes: &[u8], place: &str, findings: &mut Vec<Finding>) -> Read {
    let mut out = Read::default();
    let bundle: Value = match serde_json::from_slice::<Strict>(without_bom(bytes)) {
        Ok(Strict(v)) => v,
        Err(e) => {
            let line = u32::try_from(e.line()).ok().filter(|l| *l > 0);
            findings.push(finding_at(
                "SEGUR-MHD-BUNDLE",
                place,
                line,
                format!("{place}: not JSON as FHIR reads it ({e}); not read further"),
            ));
            return out;
        }
    };
    if s(&bundle, "/resourceType") != "Bundle" || s(&bundle, "/type") != "transaction" {
        findings.push(finding(
            "SEGUR-MHD-BUNDLE",
            place,
            format!(
                "{place}: resourceType `{}` type `{}`; ITI-65 sends a transaction Bundle",
                s(&bundle, "/resourceType"),
                s(&bundle, "/type")
            ),
        ));
    }
    let empty = Vec::new();
    let entries = bundle
        .get("entry")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    // A reference resolves to one entry: with two entries of one fullUrl (FHIR bdl-7), which
    // one a server takes is its own choice, and only the first is read here.
    let mut urls = std::collections::HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        let url = s(e, "/fullUrl");
        if !url.is_empty() && !urls.insert(url) {
            findings.push(finding(
                "SEGUR-MHD-BUNDLE",
                place,
                format!(
                    "{place}: entry {i} repeats the fullUrl `{url}` of an earlier entry (FHIR bdl-7); references to it are ambiguous, and only the first is read"
                ),
            ));
        }
    }
    let find = |reference: &str| {
        entries.iter().find(|e| {
            let r = &e["resource"];
            s(e, "/fullUrl") == reference
                || format!("{}/{}", s(r, "/resourceType"), s(r, "/id")) == reference
        })
    };
    let patient_cx = |subject: &str| -> String {
        let Some(p) = find(subject) else {
            return subject.to_string();
        };
        let ids = p["resource"]["identifier"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        ids.iter()
            .find_map(|i| {
                let oid = strip_oid(s(i, "/system"));
                segur_ins::InsOid::from_oid(&oid)
                    .ok()
                    .map(|_| format!("{}^^^&{oid}&ISO^NH", s(i, "/value")))
            })
            .unwrap_or_else(|| subject.to_string())
    };
    let mut binaries_used = Vec::new();
    for e in entries {
        let r = &e["resource"];
        let at = format!("{place} > {}", s(e, "/fullUrl"));
        match s(r, "/resourceType") {
            "List" if s(r, "/code/coding/0/code") == "submissionset" => {
                let ids = r["identifier"].as_array().cloned().unwrap_or_default();
                let unique_id = ids
                    .iter()
                    .find(|i| s(i, "/value").starts_with("urn:oid:"))
                    .or_else(|| ids.iter().find(|i| s(i, "/use") == "usual"))
                    .map(|i| strip_oid(s(i, "/value")))
                    .unwrap_or_default();
                let ext = |name: &str| {
                    r["extension"].as_array().and_then(|xs| {
                        xs.iter()
                            .find(|x| s(x, "/url") == format!("{MHD_EXT}{name}"))
                            .cloned()
                    })
                };
                out.submission_sets.push(SubmissionSet {
                    entry_uuid: s(e, "/fullUrl").to_string(),
                    unique_id,
                    source_id: ext("ihe-sourceId")
                        .map(|x| strip_oid(s(&x, "/valueIdentifier/value")))
                        .unwrap_or_default(),
                    patient_id: patient_cx(s(r, "/subject/reference")),
                    submission_time: xds_time(&from_fhir(s(r, "/date"))),
                    content_type: ext("ihe-designationType")
                        .and_then(|x| code_of(x.get("valueCodeableConcept")))
                        .unwrap_or_default(),
                    author: Author::default(),
                    title: None,
                    intended_recipients: Vec::new(),
                    at: None,
                    repeated: Vec::new(),
                });
            }
            "DocumentReference" => {
                let status = s(r, "/status");
                if !matches!(status, "current" | "superseded" | "entered-in-error") {
                    findings.push(finding(
                        "SEGUR-MHD-BUNDLE",
                        &at,
                        format!("{at}: DocumentReference.status `{status}` is not a DocumentReferenceStatus"),
                    ));
                }
                let att = &r["content"][0]["attachment"];
                let contained = r["contained"].as_array().cloned().unwrap_or_default();
                let by_ref = |reference: &str| {
                    let id = reference.strip_prefix('#')?;
                    contained.iter().find(|c| s(c, "/id") == id).cloned()
                };
                // author → PractitionerRole (→ practitioner, organization), or the resource itself.
                let author_res = by_ref(s(r, "/author/0/reference"));
                let (person_res, org_res) = match &author_res {
                    Some(a) if s(a, "/resourceType") == "PractitionerRole" => (
                        by_ref(s(a, "/practitioner/reference")),
                        by_ref(s(a, "/organization/reference")),
                    ),
                    Some(a) if s(a, "/resourceType") == "Organization" => (None, Some(a.clone())),
                    other => (other.clone(), None),
                };
                let author = Author {
                    person: person_res.map(|p| {
                        format!(
                            "{}^{}^{}^^^^^^&{}&ISO^D^^^IDNPS",
                            s(&p, "/identifier/0/value"),
                            s(&p, "/name/0/family"),
                            s(&p, "/name/0/given/0"),
                            strip_oid(s(&p, "/identifier/0/system"))
                        )
                    }),
                    institution: org_res.map(|o| {
                        crate::metadata::xon(s(&o, "/name"), s(&o, "/identifier/0/value"))
                    }),
                    specialty: None,
                };
                let hash = STANDARD
                    .decode(s(att, "/hash"))
                    .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>())
                    .unwrap_or_else(|_| s(att, "/hash").to_string());
                let period = |k: &str| {
                    r.pointer(&format!("/context/period/{k}"))
                        .and_then(Value::as_str)
                        .map(|t| xds_time(&from_fhir(t)))
                };
                let entry = DocumentEntry {
                    entry_uuid: s(e, "/fullUrl").to_string(),
                    unique_id: strip_oid(s(r, "/masterIdentifier/value")),
                    patient_id: patient_cx(s(r, "/subject/reference")),
                    // Not carried by the Bundle as such: the patient id stands for it.
                    source_patient_id: patient_cx(s(r, "/subject/reference")),
                    source_patient_info: Vec::new(),
                    mime_type: s(att, "/contentType").to_string(),
                    class_code: code_of(r.pointer("/category/0")),
                    type_code: code_of(r.get("type")).unwrap_or_default(),
                    format_code: r.pointer("/content/0/format").map(|f| Code {
                        code: s(f, "/code").to_string(),
                        scheme: oid_of(s(f, "/system")),
                        display: s(f, "/display").to_string(),
                    }),
                    confidentiality: r["securityLabel"]
                        .as_array()
                        .map(|l| l.iter().filter_map(|c| code_of(Some(c))).collect())
                        .unwrap_or_default(),
                    facility_type: code_of(r.pointer("/context/facilityType")),
                    practice_setting: code_of(r.pointer("/context/practiceSetting")),
                    author,
                    legal_authenticator: None,
                    hash,
                    size: att.get("size").and_then(Value::as_u64).unwrap_or(u64::MAX),
                    creation_time: xds_time(&from_fhir(s(att, "/creation"))),
                    service_start: period("start"),
                    service_stop: period("end"),
                    language: s(att, "/language").to_string(),
                    title: s(att, "/title").to_string(),
                    uri: Some(s(att, "/url").to_string()),
                    at: None,
                    repeated: Vec::new(),
                };
                let url = s(att, "/url");
                let index = out.entries.len();
                out.entries.push(entry);
                match find(url).filter(|b| s(b, "/resource/resourceType") == "Binary") {
                    None => findings.push(finding(
                        "SEGUR-MHD-REFERENCE",
                        &at,
                        format!("{at}: attachment.url `{url}` names no Binary of the Bundle"),
                    )),
                    Some(b) => {
                        binaries_used.push(s(b, "/fullUrl").to_string());
                        match crate::mime::decode_base64(s(b, "/resource/data").as_bytes()) {
                            Ok(bytes) => out.documents.push((
                                s(b, "/fullUrl").to_string(),
                                Some(index),
                                bytes,
                            )),
                            Err(err) => findings.push(finding(
                                "SEGUR-MIME-BASE64",
                                &at,
                                format!("{at}: Binary `{url}` data is not base64 ({err})"),
                            )),
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for e in entries {
        if s(e, "/resource/resourceType") == "Binary"
            && !binaries_used.iter().any(|u| u == s(e, "/fullUrl"))
        {
            let at = format!("{place} > {}", s(e, "/fullUrl"));
            findings.push(finding(
                "SEGUR-MHD-REFERENCE",
                &at,
                format!("{at}: Binary referenced by no DocumentReference"),
            ));
        }
    }
    if out.submission_sets.len() != 1 {
        findings.push(finding(
            "SEGUR-MHD-BUNDLE",
            place,
            format!(
                "{place}: {} SubmissionSet Lists; ITI-65 sends exactly one",
                out.submission_sets.len()
            ),
        ));
    }
    if out.entries.is_empty() {
        findings.push(finding(
            "SEGUR-MHD-BUNDLE",
            place,
            format!("{place}: no DocumentReference"),
        ));
    }
    out
}
