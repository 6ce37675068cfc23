//! segur's own rules: real defects the official chain does not see (measured in
//! `../shared/ans/README.md`, "Known degradations" and the list of accepted defects). Each rule
//! has a stable id, is documented in `docs/rules.md` with its source, and is reported apart
//! from the official verdict (`--profile official` leaves them out).

use base64::Engine;
use segur_finding::{Finding, Location, RuleSource, Severity};
use segur_ins::{InsOid, Matricule, check_cog};
use segur_xml::{Document, NodeKind};

/// The OID arc under which the INS authorities' OIDs sit.
const INS_ARC: &str = "1.2.250.1.213.1.4.";

/// Authorities of the INS arc that are not INS and that documents legitimately carry beside
/// it: not SEGUR-INS-OID findings.
const OTHER_IN_INS_ARC: [(&str, &str); 2] = [
    // FR Core's `INS-C` slice (`specs/ins.md` 1.2): the old computed INS, legacy.
    ("1.2.250.1.213.1.4.2", "INS-C"),
    // The ANS examples CSE-CS8, CS9 and CS24 (2025.01): "NIR de l'enfant (utilisé en tant
    // que numéro de sécurité sociale)" beside the INS; no other source found (UNVERIFIED).
    ("1.2.250.1.213.1.4.13", "NIR as social security number"),
];
/// The CDA R2 typeId every CI-SIS document carries.
const TYPE_ID: (&str, &str) = ("2.16.840.1.113883.1.3", "POCD_HD000040");
/// The media types of N1 bodies that have an XDS formatCode (ANS table ASS_A12).
const N1_MEDIA_TYPES: &[&str] = &[
    "application/pdf",
    "text/plain",
    "text/rtf",
    "image/jpeg",
    "image/tiff",
];

/// Every rule id of segur's own CDA rules, in `docs/rules.md` order.
pub const CATALOGUE: &[&str] = &[
    "SEGUR-CDA-TYPEID",
    "SEGUR-INS-OID",
    "SEGUR-INS-ABSENT",
    "SEGUR-INS-FORMAT",
    "SEGUR-INS-KEY",
    "SEGUR-INS-COG",
    "SEGUR-INS-TRAITS",
    "SEGUR-N1-MEDIATYPE",
    "SEGUR-N1-REPRESENTATION",
    "SEGUR-N1-BASE64",
    "SEGUR-N1-PDF",
    "SEGUR-SCH-ABSENT",
];

/// A value read from the document, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where it was found.
    pub location: Location,
}

/// An `id` of `recordTarget/patientRole`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PatientId {
    /// `@root`.
    pub root: String,
    /// `@extension`.
    pub extension: Option<String>,
}

/// The N1 body: `component/nonXMLBody/text`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NonXmlText {
    /// `@mediaType` (default `text/plain` per the CDA XSD).
    pub media_type: Option<String>,
    /// `@representation` (default `TXT`).
    pub representation: Option<String>,
    /// The element's text content.
    pub content: String,
}

/// What segur's rules look at, extracted from the parsed document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts {
    /// `ClinicalDocument/typeId` (`@root`, `@extension`), if any.
    pub type_id: Option<Located<(String, String)>>,
    /// `recordTarget/patientRole/id`s.
    pub patient_ids: Vec<Located<PatientId>>,
    /// `recordTarget/patientRole/patient/administrativeGenderCode/@code`.
    pub gender: Option<Located<String>>,
    /// `recordTarget/patientRole/patient/birthTime/@value`.
    pub birth_time: Option<Located<String>>,
    /// `recordTarget/patientRole/patient/birthplace/place/addr/county`.
    pub county: Option<Located<String>>,
    /// `component/nonXMLBody/text`.
    pub non_xml: Option<Located<NonXmlText>>,
}

fn source() -> RuleSource {
    RuleSource {
        file: "segur".into(),
        line: None,
        version: concat!("segur ", env!("CARGO_PKG_VERSION")).into(),
    }
}

fn finding(rule: &str, severity: Severity, message: String, location: &Location) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        message,
        source: source(),
        rule_set: Some("segur".into()),
        location: location.clone(),
    }
}

/// `SEGUR-SCH-ABSENT`: a schematron the document declares by an oxygen processing
/// instruction is absent from the rules directory (or lies outside it), so its rules did not
/// run; located at the declaring instruction.
pub fn absent_schematron(doc: &Document, declared: &str, outside: bool) -> Finding {
    let pi = doc.children(doc.root()).find(|&c| {
        doc.kind(c) == NodeKind::ProcessingInstruction
            && doc.local_name(c) == "oxygen"
            && crate::select::oxygen_targets(std::iter::once(("oxygen", doc.value(c))))
                .iter()
                .any(|t| crate::select::declared_path(t) == declared)
    });
    let location = pi.map_or_else(Location::default, |n| {
        let nth = doc
            .children(doc.root())
            .take_while(|&c| c != n)
            .filter(|&c| {
                doc.kind(c) == NodeKind::ProcessingInstruction && doc.local_name(c) == "oxygen"
            })
            .count()
            + 1;
        Location {
            xpath: Some(format!("/processing-instruction('oxygen')[{nth}]")),
            ..crate::location::locate(doc, n)
        }
    });
    finding(
        "SEGUR-SCH-ABSENT",
        Severity::Error,
        format!(
            "the document declares the schematron {declared} (oxygen SCHSchema), which {}: its rules did not run",
            if outside {
                "lies outside the rules directory"
            } else {
                "the rules directory does not hold"
            }
        ),
        &location,
    )
}

/// Run segur's rules on the facts of one document.
pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    match &facts.type_id {
        Some(t) if (t.value.0.as_str(), t.value.1.as_str()) == TYPE_ID => {}
        Some(t) => out.push(finding(
            "SEGUR-CDA-TYPEID",
            Severity::Error,
            format!(
                "typeId is root=\"{}\" extension=\"{}\", expected root=\"{}\" extension=\"{}\": the structuration minimale rules only apply to that typeId, so most of them did not run",
                t.value.0, t.value.1, TYPE_ID.0, TYPE_ID.1
            ),
            &t.location,
        )),
        None => {}
    }

    // Every id with an INS authority is checked: a document may carry the INS twice (NIR and
    // NIA, or production and test), and a package addresses the first.
    let mut ins = Vec::new();
    for id in &facts.patient_ids {
        let root = id.value.root.as_str();
        if let Ok(oid) = InsOid::from_oid(root) {
            ins.push((oid, id));
        } else if root.starts_with(INS_ARC) && !OTHER_IN_INS_ARC.iter().any(|(o, _)| *o == root) {
            out.push(finding(
                "SEGUR-INS-OID",
                Severity::Error,
                format!(
                    "patient id root {root} is in the INS arc but is not an INS authority: expected 1.2.250.1.213.1.4.8 (INS-NIR), .9 (INS-NIA), .10 (INS-NIR de test) or .11 (INS-NIR de démonstration)"
                ),
                &id.location,
            ));
        }
    }
    if ins.is_empty() && !facts.patient_ids.is_empty() {
        let at = &facts.patient_ids[0].location;
        out.push(finding(
            "SEGUR-INS-ABSENT",
            Severity::Warning,
            "no patient id carries an INS OID (1.2.250.1.213.1.4.8/.9/.10/.11): the DMP and MSSanté need the INS of a qualified identity".into(),
            at,
        ));
    }
    if !ins.is_empty() {
        check_cog_of(facts, &mut out);
    }
    for (oid, id) in ins {
        check_ins(facts, oid, id, &mut out);
    }

    if let Some(body) = &facts.non_xml {
        check_non_xml(body, &mut out);
    }
    out
}

/// The birth place of a document with an INS: the COG code of the INS traits.
fn check_cog_of(facts: &Facts, out: &mut Vec<Finding>) {
    if let Some(county) = &facts.county
        && let Err(e) = check_cog(county.value.trim())
    {
        out.push(finding(
            "SEGUR-INS-COG",
            Severity::Error,
            format!("birth place (birthplace/place/addr/county) must be the COG code of the INS traits: {e}"),
            &county.location,
        ));
    }
}

/// One id with an INS authority: its matricule, and the traits it implies.
fn check_ins(facts: &Facts, oid: InsOid, id: &Located<PatientId>, out: &mut Vec<Finding>) {
    let ext = id.value.extension.as_deref().unwrap_or_default();
    let matricule = match Matricule::parse(ext) {
        // The INS is transmitted as INSi returns it: its 15 characters, `2A`/`2B` in capitals;
        // a reader comparing identifiers as strings sees another patient in ` 1…` or `…2a…`.
        Ok(m) if m.as_str() != ext => {
            out.push(finding(
                "SEGUR-INS-FORMAT",
                Severity::Error,
                format!(
                    "INS `{ext}` ({}): written otherwise than its 15 characters `{m}`",
                    oid.label()
                ),
                &id.location,
            ));
            Some(m)
        }
        Ok(m) => Some(m),
        Err(e) => {
            let rule = if Matricule::parse_lenient(ext).is_ok() {
                "SEGUR-INS-KEY"
            } else {
                "SEGUR-INS-FORMAT"
            };
            out.push(finding(
                rule,
                Severity::Error,
                format!("INS {ext} ({}): {e}", oid.label()),
                &id.location,
            ));
            None
        }
    };
    let Some(m) = matricule else { return };
    if let Some(gender) = &facts.gender {
        let expected = match m.sex_digit() {
            1 | 3 | 7 => Some("M"),
            2 | 4 | 8 => Some("F"),
            _ => None,
        };
        if let Some(expected) = expected
            && gender.value != expected
        {
            out.push(finding(
                "SEGUR-INS-TRAITS",
                Severity::Warning,
                format!(
                    "administrativeGenderCode is {} but the INS {} has sex digit {} ({expected})",
                    gender.value,
                    m,
                    m.sex_digit()
                ),
                &gender.location,
            ));
        }
    }
    if let Some(birth) = &facts.birth_time {
        let v = birth.value.as_str();
        if v.len() >= 6 && v.is_char_boundary(6) {
            let (yy, mm) = (&v[2..4], &v[4..6]);
            let m_yy = format!("{:02}", m.birth_year_2digits());
            let m_mm = format!("{:02}", m.birth_month());
            let month_known = (1..=12).contains(&m.birth_month());
            if yy != m_yy || (month_known && mm != m_mm) {
                out.push(finding(
                    "SEGUR-INS-TRAITS",
                    Severity::Warning,
                    format!("birthTime {v} does not match the INS {m} (year {m_yy}, month {m_mm})"),
                    &birth.location,
                ));
            }
        }
    }
}

fn check_non_xml(body: &Located<NonXmlText>, out: &mut Vec<Finding>) {
    let media = body.value.media_type.as_deref().unwrap_or("text/plain");
    let representation = body.value.representation.as_deref().unwrap_or("TXT");
    if !N1_MEDIA_TYPES.contains(&media) {
        out.push(finding(
            "SEGUR-N1-MEDIATYPE",
            Severity::Error,
            format!("nonXMLBody/text mediaType is {media}: expected one of {} (ANS ASS_A12, the media types with an XDS formatCode)", N1_MEDIA_TYPES.join(", ")),
            &body.location,
        ));
    }
    let binary = media != "text/plain";
    if binary && representation != "B64" {
        out.push(finding(
            "SEGUR-N1-REPRESENTATION",
            Severity::Error,
            format!("nonXMLBody/text carries {media} with representation {representation}: binary content must be B64"),
            &body.location,
        ));
    }
    if representation != "B64" {
        return;
    }
    // The base64 without its whitespace, copied a line at a time (not byte by byte).
    let content = body.value.content.as_str();
    let mut compact: Vec<u8> = Vec::with_capacity(content.len());
    for piece in content.split_ascii_whitespace() {
        compact.extend_from_slice(piece.as_bytes());
    }
    let decoded = match base64::engine::general_purpose::STANDARD.decode(&compact) {
        Ok(d) => d,
        Err(e) => {
            out.push(finding(
                "SEGUR-N1-BASE64",
                Severity::Error,
                format!("nonXMLBody/text is not valid base64: {e}"),
                &body.location,
            ));
            return;
        }
    };
    if media == "application/pdf" {
        let tail = &decoded[decoded.len().saturating_sub(1024)..];
        let has_eof = tail.windows(5).any(|w| w == b"%%EOF");
        if !decoded.starts_with(b"%PDF-") || !has_eof {
            out.push(finding(
                "SEGUR-N1-PDF",
                Severity::Error,
                format!(
                    "nonXMLBody/text is declared application/pdf but its {} decoded bytes are not a PDF ({})",
                    decoded.len(),
                    if decoded.starts_with(b"%PDF-") { "no %%EOF marker at the end" } else { "no %PDF- header" }
                ),
                &body.location,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue lists every id this file reports, and docs/rules.md documents each one.
    #[test]
    fn the_catalogue_is_complete_and_documented() {
        let source = include_str!("own_rules.rs");
        let mut seen = 0;
        for (i, _) in source.match_indices("\"SEGUR-") {
            let rest = &source[i + 1..];
            let id = &rest[..rest.find('"').expect("closing quote")];
            if id == "SEGUR-" {
                continue; // this test's own pattern
            }
            assert!(
                CATALOGUE.contains(&id),
                "{id} is reported but not in CATALOGUE"
            );
            seen += 1;
        }
        assert!(
            seen >= 2 * CATALOGUE.len(),
            "the scan found only {seen} ids"
        );
        let doc = include_str!("../../../docs/rules.md");
        for id in CATALOGUE {
            assert!(
                doc.contains(&format!("| {id} |")),
                "{id} not in docs/rules.md"
            );
        }
    }

    fn at(value: impl Into<String>) -> Located<String> {
        Located {
            value: value.into(),
            location: Location::default(),
        }
    }

    fn good() -> Facts {
        Facts {
            type_id: Some(Located {
                value: (TYPE_ID.0.into(), TYPE_ID.1.into()),
                location: Location::default(),
            }),
            patient_ids: vec![Located {
                value: PatientId {
                    root: "1.2.250.1.213.1.4.10".into(),
                    extension: Some("279035121518989".into()),
                },
                location: Location::default(),
            }],
            gender: Some(at("F")),
            birth_time: Some(at("19790328")),
            county: Some(at("51215")),
            non_xml: Some(Located {
                value: NonXmlText {
                    media_type: Some("application/pdf".into()),
                    representation: Some("B64".into()),
                    content: base64::engine::general_purpose::STANDARD
                        .encode(b"%PDF-1.4\n...\n%%EOF\n"),
                },
                location: Location::default(),
            }),
        }
    }

    fn rules(f: &Facts) -> Vec<String> {
        check(f).into_iter().map(|x| x.rule).collect()
    }

    #[test]
    fn a_good_document_has_no_finding() {
        assert!(check(&good()).is_empty(), "{:?}", check(&good()));
    }

    #[test]
    fn each_defect_has_its_rule() {
        let mut f = good();
        f.type_id = Some(Located {
            value: (TYPE_ID.0.into(), "POCD_HD000041".into()),
            location: Location::default(),
        });
        assert_eq!(rules(&f), ["SEGUR-CDA-TYPEID"]);

        let mut f = good();
        f.patient_ids[0].value.root = "1.2.250.1.213.1.4.12".into();
        assert_eq!(rules(&f), ["SEGUR-INS-OID", "SEGUR-INS-ABSENT"]);

        let mut f = good();
        f.patient_ids[0].value.root = "1.2.3.4.5".into();
        assert_eq!(rules(&f), ["SEGUR-INS-ABSENT"]);

        // Known authorities of the arc that are not INS (INS-C, the NIR as social security
        // number of the ANS 2025 examples) stand beside the INS without a finding.
        for other in ["1.2.250.1.213.1.4.2", "1.2.250.1.213.1.4.13"] {
            let mut f = good();
            let mut beside = f.patient_ids[0].clone();
            beside.value.root = other.into();
            f.patient_ids.insert(0, beside);
            assert!(rules(&f).is_empty(), "{other}: {:?}", rules(&f));
        }

        // Every INS id is checked, not only the last: a bad one before a good one.
        for (bad, rule) in [
            ("279035121518988", "SEGUR-INS-KEY"),
            ("12345", "SEGUR-INS-FORMAT"),
        ] {
            let mut f = good();
            let mut first = f.patient_ids[0].clone();
            first.value.extension = Some(bad.into());
            f.patient_ids.insert(0, first);
            assert_eq!(rules(&f), [rule], "{bad}");
        }

        // The INS is written as its 15 characters: not trimmed, not spaced, 2A/2B in capitals.
        for written in [" 279035121518989", "2 79 03 51 215 189 89"] {
            let mut f = good();
            f.patient_ids[0].value.extension = Some(written.into());
            assert_eq!(rules(&f), ["SEGUR-INS-FORMAT"], "{written:?}");
        }

        let mut f = good();
        f.patient_ids[0].value.extension = Some("279035121518988".into());
        assert_eq!(rules(&f), ["SEGUR-INS-KEY"]);
        assert!(check(&f)[0].message.contains("expected 89"));

        let mut f = good();
        f.patient_ids[0].value.extension = Some("12345".into());
        assert_eq!(rules(&f), ["SEGUR-INS-FORMAT"]);

        let mut f = good();
        f.county = Some(at("Marne"));
        assert_eq!(rules(&f), ["SEGUR-INS-COG"]);

        let mut f = good();
        f.gender = Some(at("M"));
        f.birth_time = Some(at("19800328"));
        assert_eq!(rules(&f), ["SEGUR-INS-TRAITS", "SEGUR-INS-TRAITS"]);

        let mut f = good();
        if let Some(b) = f.non_xml.as_mut() {
            b.value.media_type = Some("image/png".into());
        }
        assert_eq!(rules(&f), ["SEGUR-N1-MEDIATYPE"]);

        let mut f = good();
        if let Some(b) = f.non_xml.as_mut() {
            b.value.content = "not base64 at all!".into();
        }
        assert_eq!(rules(&f), ["SEGUR-N1-BASE64"]);

        let mut f = good();
        if let Some(b) = f.non_xml.as_mut() {
            b.value.content = base64::engine::general_purpose::STANDARD.encode(b"hello");
        }
        assert_eq!(rules(&f), ["SEGUR-N1-PDF"]);

        let mut f = good();
        if let Some(b) = f.non_xml.as_mut() {
            b.value.representation = Some("TXT".into());
        }
        assert_eq!(rules(&f), ["SEGUR-N1-REPRESENTATION"]);
    }
}
