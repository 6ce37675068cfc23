//! Metadata against documents: each DocumentEntry compared with the CDA document it
//! describes, and the uniqueness and patient consistency of a whole submission.

use std::collections::HashMap;

use segur_finding::{Finding, Location};

use crate::cda::CdaHeader;
use crate::codes;
use crate::metadata::{DocumentEntry, ReadMetadata, SubmissionSet, sha1_hex};
use crate::rules::finding;
use crate::time::xds_time;
use crate::value_sets::{Jdv, Membership, ValueSets};

/// A document as found in a package, with the metadata that describes it.
#[derive(Debug, Clone)]
pub struct Described<'a> {
    /// Where it is (`IHE_XDM.ZIP!IHE_XDM/SUBSET01/DOC0001.XML`).
    pub place: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Its DocumentEntry, when one describes it.
    pub entry: Option<&'a DocumentEntry>,
    /// Its CDA header, when it could be read (read once per document by the caller, which
    /// hands it to every check).
    pub header: Option<&'a CdaHeader>,
}

fn missing(out: &mut Vec<Finding>, place: &str, what: &str) {
    out.push(finding(
        "SEGUR-XDS-METADATA",
        place,
        format!("{place}: required metadata {what} is missing"),
    ));
}

/// A missing class or format code, saying whether the table in use could have given it.
fn missing_code(out: &mut Vec<Finding>, place: &str, what: &str, table: &str, known: bool) {
    let hint = if known {
        format!("{table} gives one")
    } else {
        format!("{table} does not know this document either")
    };
    out.push(finding(
        "SEGUR-XDS-METADATA",
        place,
        format!("{place}: required metadata {what} is missing ({hint})"),
    ));
}

fn differ(
    out: &mut Vec<Finding>,
    rule: &'static str,
    place: &str,
    what: &str,
    meta: &str,
    doc: &str,
) {
    out.push(finding(
        rule,
        place,
        format!("{place}: {what} is `{meta}` but the document says `{doc}`"),
    ));
}

/// Points the findings `out[from..]`, all about one DocumentEntry or SubmissionSet, at where
/// it was read, when that is known.
fn point_at(out: &mut [Finding], from: usize, at: Option<&Location>) {
    if let (Some(at), Some(made)) = (at, out.get_mut(from..)) {
        for f in made {
            f.location = at.clone();
        }
    }
}

/// The metadata [`entry_against_document`] requires of every DocumentEntry (a missing one is
/// reported there once, whatever the document says).
const ALWAYS_REQUIRED: [&str; 4] = [
    "mimeType",
    "sourcePatientId",
    "creationTime",
    "languageCode",
];

/// One finding per metadata the object (`what`) gives more than once.
fn twice(out: &mut Vec<Finding>, place: &str, what: &str, repeated: &[String]) {
    for name in repeated {
        out.push(finding(
            "SEGUR-XDS-REPEATED",
            place,
            format!(
                "{place}: the {what} gives {name} more than once, which XDS allows once; only the first is read, and a registry reading another would file the document differently"
            ),
        ));
    }
}

/// A DTM padded with zeros to seconds, so that `202302091030` equals `20230209103000` (FHIR
/// dateTime always has seconds); other values as they are.
fn pad_time(v: &str) -> String {
    if v.len() >= 10 && v.len() < 14 && v.bytes().all(|b| b.is_ascii_digit()) {
        format!("{v:0<14}")
    } else {
        v.to_string()
    }
}

/// Compare one DocumentEntry with its document's bytes and header (`None`: the document's
/// header cannot be read; the core validator reports why).
pub fn entry_against_document(
    entry: &DocumentEntry,
    bytes: &[u8],
    header: Option<&CdaHeader>,
    place: &str,
    out: &mut Vec<Finding>,
) {
    let from = out.len();
    let here = format!("{place} (DocumentEntry {})", entry.entry_uuid);
    let p = here.as_str();
    let hash = sha1_hex(bytes);
    if entry.hash.is_empty() {
        missing(out, p, "hash");
    } else if !entry.hash.eq_ignore_ascii_case(&hash) {
        differ(out, "SEGUR-XDS-HASH", p, "hash", &entry.hash, &hash);
    }
    if entry.size != bytes.len() as u64 {
        let meta = if entry.size == u64::MAX {
            "missing or not a number".to_string()
        } else {
            entry.size.to_string()
        };
        differ(
            out,
            "SEGUR-XDS-SIZE",
            p,
            "size",
            &meta,
            &bytes.len().to_string(),
        );
    }
    let values = [
        &entry.mime_type,
        &entry.source_patient_id,
        &entry.creation_time,
        &entry.language,
    ];
    for (value, what) in values.into_iter().zip(ALWAYS_REQUIRED) {
        if value.is_empty() {
            missing(out, p, what);
        }
    }
    twice(out, p, "DocumentEntry", &entry.repeated);
    match header {
        Some(h) => header_checks(entry, h, p, out),
        // Nothing of the metadata can be checked against a document that is not a CDA: a
        // package must not pass because its document is garbage.
        None if !entry.is_signature() => out.push(finding(
            "SEGUR-XDS-DOCUMENT",
            p,
            format!(
                "{p}: the document (mimeType {}) is not a CDA document whose header can be read: the DMP takes CDA R2 documents, and the metadata cannot be checked against it",
                if entry.mime_type.is_empty() { "missing" } else { entry.mime_type.as_str() }
            ),
        )),
        None => {}
    }
    point_at(out, from, entry.at.as_ref());
}

fn header_checks(e: &DocumentEntry, h: &CdaHeader, p: &str, out: &mut Vec<Finding>) {
    let doc_id = h.id.to_xds();
    if e.unique_id.is_empty() {
        missing(out, p, "uniqueId");
    } else if e.unique_id != doc_id {
        differ(
            out,
            "SEGUR-XDS-UNIQUEID",
            p,
            "uniqueId",
            &e.unique_id,
            &doc_id,
        );
    }
    match &h.ins {
        Some(ins) => {
            let cx = ins.to_cx();
            if e.patient_id != cx {
                differ(
                    out,
                    "SEGUR-XDS-PATIENTID",
                    p,
                    "patientId",
                    &e.patient_id,
                    &cx,
                );
            }
        }
        None => out.push(finding(
            "SEGUR-XDS-PATIENTID",
            p,
            format!(
                "{p}: patientId is `{}` but the document's recordTarget carries no INS",
                e.patient_id
            ),
        )),
    }
    if e.type_code.code != h.code.code || e.type_code.scheme != h.code.system {
        differ(
            out,
            "SEGUR-XDS-TYPECODE",
            p,
            "typeCode",
            &format!("{} ({})", e.type_code.code, e.type_code.scheme),
            &format!("{} ({})", h.code.code, h.code.system),
        );
    }
    let tables = codes::active();
    match (&e.class_code, tables.class_code(&h.code.code)) {
        (None, want) => missing_code(
            out,
            p,
            "classCode",
            &format!("ASS_X04 ({})", tables.x04.origin),
            want.is_some(),
        ),
        (Some(c), None)
            if c.scheme != codes::CLASS_SCHEME || codes::class_display(&c.code).is_none() =>
        {
            differ(
                out,
                "SEGUR-XDS-CLASSCODE",
                p,
                "classCode",
                &format!("{} ({})", c.code, c.scheme),
                &format!(
                    "a TRE_A03 class ({}); ASS_X04 ({}) does not know type {}",
                    codes::CLASS_SCHEME,
                    tables.x04.origin,
                    h.code.code
                ),
            )
        }
        (Some(c), Some(want)) if c.code != want.code || c.scheme != want.scheme => differ(
            out,
            "SEGUR-XDS-CLASSCODE",
            p,
            "classCode",
            &format!("{} ({})", c.code, c.scheme),
            &format!(
                "type {} → class {} ({}) by ASS_X04 ({})",
                h.code.code, want.code, want.scheme, tables.x04.origin
            ),
        ),
        _ => {}
    }
    let roots: Vec<&str> = h.template_ids.iter().map(|t| t.root.as_str()).collect();
    let n1 = h.n1_media_type.as_deref();
    match (&e.format_code, tables.format_code(&roots, n1)) {
        (None, want) => missing_code(
            out,
            p,
            "formatCode",
            &format!(
                "{} ({})",
                if n1.is_some() { "ASS_A12" } else { "ASS_A11" },
                tables.format_origin(n1.is_some())
            ),
            want.is_some(),
        ),
        (Some(f), Some(want)) if f.code != want.code || f.scheme != want.scheme => differ(
            out,
            "SEGUR-XDS-FORMATCODE",
            p,
            "formatCode",
            &format!("{} ({})", f.code, f.scheme),
            &format!(
                "{} ({}) from its {} by {} ({})",
                want.code,
                want.scheme,
                if n1.is_some() {
                    "media type"
                } else {
                    "templateIds"
                },
                if n1.is_some() { "ASS_A12" } else { "ASS_A11" },
                tables.format_origin(n1.is_some())
            ),
        ),
        _ => {}
    }
    match e.confidentiality.first() {
        None => missing(out, p, "confidentialityCode"),
        Some(c) if c.code != h.confidentiality.code => differ(
            out,
            "SEGUR-XDS-HEADER",
            p,
            "confidentialityCode",
            &c.code,
            &h.confidentiality.code,
        ),
        _ => {}
    }
    let mut compare = |what: &str, meta: Option<&str>, doc: Option<String>| {
        if let Some(doc) = doc.filter(|d| !d.is_empty()) {
            match meta {
                // Reported by the caller already.
                None | Some("") if ALWAYS_REQUIRED.contains(&what) => {}
                None | Some("") => missing(out, p, what),
                Some(m) if pad_time(m) != pad_time(&doc) => {
                    differ(out, "SEGUR-XDS-HEADER", p, what, m, &doc)
                }
                _ => {}
            }
        }
    };
    compare(
        "creationTime",
        Some(&e.creation_time),
        Some(xds_time(&h.effective_time)),
    );
    compare(
        "serviceStartTime",
        e.service_start.as_deref(),
        h.service_start.as_deref().map(xds_time),
    );
    compare(
        "serviceStopTime",
        e.service_stop.as_deref(),
        h.service_stop.as_deref().map(xds_time),
    );
    compare("title", Some(&e.title), Some(h.title.clone()));
    compare("languageCode", Some(&e.language), Some(h.language.clone()));
    compare(
        "healthcareFacilityTypeCode",
        e.facility_type.as_ref().map(|c| c.code.as_str()),
        h.facility_type.as_ref().map(|c| c.code.clone()),
    );
    compare(
        "practiceSettingCode",
        e.practice_setting.as_ref().map(|c| c.code.as_str()),
        h.practice_setting.as_ref().map(|c| c.code.clone()),
    );
    if let Some(a) = &h.author {
        let id = a.id.extension.clone().unwrap_or_default();
        let person_id = e
            .author
            .person
            .as_deref()
            .map(|x| x.split('^').next().unwrap_or(""));
        compare("authorPerson (id)", person_id, Some(id));
        if let Some((org, _)) = &a.organization {
            let inst_id = e
                .author
                .institution
                .as_deref()
                .map(|x| x.rsplit('^').next().unwrap_or(""));
            compare(
                "authorInstitution (Struct_IdNat)",
                inst_id,
                org.extension.clone(),
            );
        }
    }
}

/// The code and coding scheme of an authorSpecialty `code^display^codingScheme` (the ANS
/// form, an HL7 v2 CWE); a scheme written `&OID&ISO` gives its OID.
pub fn specialty_code(value: &str) -> (String, String) {
    let mut parts = value.split('^');
    let code = parts.next().unwrap_or("").trim().to_string();
    let scheme = parts.nth(1).unwrap_or("").trim();
    let scheme = if scheme.contains('&') {
        scheme.split('&').find(|s| !s.is_empty()).unwrap_or("")
    } else {
        scheme
    };
    (code, scheme.to_string())
}

/// Each coded metadata of a DocumentEntry against its CI-SIS value set: typeCode (JDV_J07),
/// healthcareFacilityTypeCode (JDV_J02), practiceSettingCode (JDV_J04), every
/// confidentialityCode (JDV_J08) and authorSpecialty (JDV_J01), each when present, code and
/// coding scheme. A value set that `sets` does not hold is not checked here: the caller notes
/// it ([`ValueSets::not_checked`]).
pub fn entry_value_sets(
    entry: &DocumentEntry,
    place: &str,
    sets: &ValueSets,
    out: &mut Vec<Finding>,
) {
    let from = out.len();
    let here = format!("{place} (DocumentEntry {})", entry.entry_uuid);
    let p = here.as_str();
    let mut coded: Vec<(Jdv, String, String)> = Vec::new();
    let mut push = |jdv: Jdv, code: &str, scheme: &str| {
        if !code.trim().is_empty() {
            coded.push((jdv, code.to_string(), scheme.to_string()));
        }
    };
    push(Jdv::J07, &entry.type_code.code, &entry.type_code.scheme);
    if let Some(c) = &entry.facility_type {
        push(Jdv::J02, &c.code, &c.scheme);
    }
    if let Some(c) = &entry.practice_setting {
        push(Jdv::J04, &c.code, &c.scheme);
    }
    for c in &entry.confidentiality {
        push(Jdv::J08, &c.code, &c.scheme);
    }
    if let Some(s) = &entry.author.specialty {
        let (code, scheme) = specialty_code(s);
        push(Jdv::J01, &code, &scheme);
    }
    for (jdv, code, scheme) in coded {
        let Some(set) = sets.get(jdv) else { continue };
        let what = jdv.metadata();
        let message = match set.membership(&code, &scheme) {
            Membership::In => continue,
            Membership::NotIn => format!(
                "{p}: {what} `{code}` (codingScheme `{scheme}`) is not a code of {} ({})",
                jdv.name(),
                set.origin
            ),
            Membership::OtherScheme(schemes) => format!(
                "{p}: {what} `{code}` has codingScheme `{scheme}`; {} ({}) has it under `{}`",
                jdv.name(),
                set.origin,
                schemes.join("`, `")
            ),
        };
        out.push(finding(jdv.rule(), p, message));
    }
    point_at(out, from, entry.at.as_ref());
}

/// Registry objects of one submission with the same id (ebRIM ids are unique within a
/// submission: a registry keeps one of them, or refuses the whole): a repeated
/// ExtrinsicObject is read once, its repetition reported here, at it.
pub fn repeated_ids(m: &ReadMetadata, place: &str, out: &mut Vec<Finding>) {
    let objects = m
        .entries
        .iter()
        .map(|e| ("DocumentEntry", e.entry_uuid.as_str(), e.at.as_ref()))
        .chain(
            m.submission_sets
                .iter()
                .map(|s| ("SubmissionSet", s.entry_uuid.as_str(), s.at.as_ref())),
        );
    let mut seen: HashMap<&str, Option<&Location>> = HashMap::new();
    for (what, id, at) in objects {
        if id.is_empty() {
            continue;
        }
        match seen.get(id) {
            Some(first) => {
                let earlier = first
                    .and_then(|l| l.xpath.as_deref())
                    .map_or_else(String::new, |x| format!(" ({x})"));
                let from = out.len();
                out.push(finding(
                    "SEGUR-XDS-DUPLICATE",
                    place,
                    format!(
                        "{place}: a {what} has the id `{id}` of an earlier registry object{earlier}; ids are unique within a submission, and only the first is read"
                    ),
                ));
                point_at(out, from, at);
            }
            None => {
                seen.insert(id, at);
            }
        }
    }
}

/// Duplicate uniqueIds over a whole package: of DocumentEntries, and of SubmissionSets.
pub fn duplicates(
    sets: &[(String, &SubmissionSet)],
    entries: &[(String, &DocumentEntry)],
    out: &mut Vec<Finding>,
) {
    // The earlier object is named by its element when known: two entries describing one
    // document have the same place.
    let name = |place: &str, at: Option<&Location>| -> String {
        at.and_then(|l| l.xpath.clone())
            .unwrap_or_else(|| place.to_string())
    };
    let mut seen: HashMap<&str, String> = HashMap::new();
    for (place, e) in entries {
        if e.unique_id.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert(&e.unique_id, name(place, e.at.as_ref())) {
            let from = out.len();
            out.push(finding(
                "SEGUR-XDS-DUPLICATE",
                place,
                format!(
                    "{place}: DocumentEntry uniqueId `{}` is also the uniqueId at {first}",
                    e.unique_id
                ),
            ));
            point_at(out, from, e.at.as_ref());
        }
    }
    let mut seen_ss: HashMap<&str, String> = HashMap::new();
    for (place, ss) in sets {
        if ss.unique_id.is_empty() {
            continue;
        }
        if let Some(first) = seen_ss.insert(&ss.unique_id, name(place, ss.at.as_ref())) {
            let from = out.len();
            out.push(finding(
                "SEGUR-XDS-DUPLICATE",
                place,
                format!(
                    "{place}: SubmissionSet uniqueId `{}` is also the uniqueId at {first}",
                    ss.unique_id
                ),
            ));
            point_at(out, from, ss.at.as_ref());
        }
    }
}

/// One SubmissionSet: its required values, and its patientId against its entries'.
/// `unique_id_required` is false for MHD, where the List's uniqueId is optional (0..1).
pub fn submission_set(
    place: &str,
    ss: &SubmissionSet,
    entries: &[(String, &DocumentEntry)],
    unique_id_required: bool,
    out: &mut Vec<Finding>,
) {
    let from = out.len();
    if unique_id_required && ss.unique_id.is_empty() {
        missing(out, place, "SubmissionSet uniqueId");
    }
    twice(out, place, "SubmissionSet", &ss.repeated);
    for (what, v) in [
        ("sourceId", &ss.source_id),
        ("patientId", &ss.patient_id),
        ("submissionTime", &ss.submission_time),
    ] {
        if v.is_empty() {
            missing(out, place, &format!("SubmissionSet {what}"));
        }
    }
    point_at(out, from, ss.at.as_ref());
    for (eplace, e) in entries {
        if !ss.patient_id.is_empty() && e.patient_id != ss.patient_id {
            let from = out.len();
            out.push(finding(
                "SEGUR-XDS-PATIENTID",
                eplace,
                format!(
                    "{eplace}: DocumentEntry patientId `{}` differs from the SubmissionSet's `{}`",
                    e.patient_id, ss.patient_id
                ),
            ));
            point_at(out, from, e.at.as_ref());
        }
    }
}

/// Two documents of one package with the same ClinicalDocument/id.
pub fn duplicate_documents(docs: &[Described<'_>], out: &mut Vec<Finding>) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for d in docs {
        if let Some(h) = d.header {
            let id = h.id.to_xds();
            if id.is_empty() {
                continue;
            }
            if let Some(first) = seen.insert(id.clone(), d.place) {
                out.push(finding(
                    "SEGUR-XDS-DUPLICATE",
                    d.place,
                    format!(
                        "{}: ClinicalDocument/id `{id}` is also the id of {first}",
                        d.place
                    ),
                ));
            }
        }
    }
}
