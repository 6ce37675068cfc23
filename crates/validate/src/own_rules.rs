//! segur's own rules: real defects the official chain does not see (measured in
//! `../shared/ans/README.md`, "Known degradations" and the list of accepted defects). Each rule
//! has a stable id, is documented in `docs/rules.md` with its source, and is reported apart
//! from the official verdict (`--profile official` leaves them out).

use std::borrow::Cow;

use base64::Engine;
use segur_finding::{Finding, Location, RuleSource, Severity};
use segur_ins::{InsOid, Matricule, check_cog};
use segur_xml::{Document, NodeId, NodeKind};

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
pub struct Located<'d, T> {
    /// The value.
    pub value: T,
    /// Where it was found.
    pub location: Place<'d>,
}

/// Where a value was read: a node of the document, located only when a finding needs it
/// (its line:column costs a pass over the text before it, and most documents have no
/// finding of segur's rules), or a location given as such.
#[derive(Debug, Clone)]
pub enum Place<'d> {
    /// A node of a parsed document.
    Node(&'d Document, NodeId),
    /// A location known already.
    Known(Location),
}

impl Place<'_> {
    /// The finding location: the node's SVRL path and line:column, or the known one.
    pub fn location(&self) -> Location {
        match self {
            Place::Node(doc, node) => crate::location::locate(doc, *node),
            Place::Known(l) => l.clone(),
        }
    }
}

impl Default for Place<'_> {
    fn default() -> Self {
        Place::Known(Location::default())
    }
}

impl From<Location> for Place<'_> {
    fn from(l: Location) -> Self {
        Place::Known(l)
    }
}

/// Places are equal when they locate the same way.
impl PartialEq for Place<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.location() == other.location()
    }
}

impl Eq for Place<'_> {}

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
pub struct NonXmlText<'d> {
    /// `@mediaType` (default `text/plain` per the CDA XSD).
    pub media_type: Option<String>,
    /// `@representation` (default `TXT`).
    pub representation: Option<String>,
    /// The element's text content (borrowed from the document where it is one text node: a
    /// base64 PDF of megabytes is not copied).
    pub content: Cow<'d, str>,
}

/// What segur's rules look at, extracted from the parsed document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Facts<'d> {
    /// `ClinicalDocument/typeId` (`@root`, `@extension`), if any.
    pub type_id: Option<Located<'d, (String, String)>>,
    /// `recordTarget/patientRole/id`s.
    pub patient_ids: Vec<Located<'d, PatientId>>,
    /// `recordTarget/patientRole/patient/administrativeGenderCode/@code`.
    pub gender: Option<Located<'d, String>>,
    /// `recordTarget/patientRole/patient/birthTime/@value`.
    pub birth_time: Option<Located<'d, String>>,
    /// `recordTarget/patientRole/patient/birthplace/place/addr/county`.
    pub county: Option<Located<'d, String>>,
    /// `component/nonXMLBody/text`.
    pub non_xml: Option<Located<'d, NonXmlText<'d>>>,
}

fn source() -> RuleSource {
    RuleSource {
        file: "segur".into(),
        line: None,
        version: concat!("segur ", env!("CARGO_PKG_VERSION")).into(),
    }
}

fn finding(rule: &str, severity: Severity, message: String, place: &Place<'_>) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        message,
        source: source(),
        rule_set: Some("segur".into()),
        location: place.location(),
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
        &Place::Known(location),
    )
}

/// Run segur's rules on the facts of one document.
pub fn check(facts: &Facts<'_>) -> Vec<Finding> {
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
fn check_cog_of(facts: &Facts<'_>, out: &mut Vec<Finding>) {
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
fn check_ins(facts: &Facts<'_>, oid: InsOid, id: &Located<'_, PatientId>, out: &mut Vec<Finding>) {
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

fn check_non_xml(body: &Located<'_, NonXmlText<'_>>, out: &mut Vec<Finding>) {
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
    let decoded = match decode_base64(&body.value.content) {
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
        let has_eof = decoded.tail.windows(5).any(|w| w == b"%%EOF");
        if !decoded.head.starts_with(b"%PDF-") || !has_eof {
            out.push(finding(
                "SEGUR-N1-PDF",
                Severity::Error,
                format!(
                    "nonXMLBody/text is declared application/pdf but its {} decoded bytes are not a PDF ({})",
                    decoded.len,
                    if decoded.head.starts_with(b"%PDF-") { "no %%EOF marker at the end" } else { "no %PDF- header" }
                ),
                &body.location,
            ));
        }
    }
}

/// What the N1 checks need of a decoded base64 body: its length, and its first and last bytes.
struct Decoded {
    len: usize,
    /// The first bytes (up to 8).
    head: Vec<u8>,
    /// The last bytes (up to [`PDF_TAIL`]).
    tail: Vec<u8>,
}

/// The end of a PDF where its `%%EOF` marker is looked for.
const PDF_TAIL: usize = 1024;

/// Base64 characters decoded at a time (a multiple of 4).
const BASE64_CHUNK: usize = 64 << 10;

/// Decodes `content` (base64, whitespace ignored) a chunk at a time, keeping only what
/// [`Decoded`] holds: a body of megabytes is neither copied nor decoded whole into memory.
/// The first error is the one a decoding of the whole compacted text reports (a chunk that
/// fails, or padding before the end, is decoded again whole for its message).
fn decode_base64(content: &str) -> Result<Decoded, base64::DecodeError> {
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut decoded = Decoded {
        len: 0,
        head: Vec::new(),
        tail: Vec::new(),
    };
    let mut chunk: Vec<u8> = Vec::with_capacity(BASE64_CHUNK);
    let mut out: Vec<u8> = Vec::with_capacity(BASE64_CHUNK / 4 * 3);
    let mut pieces = content
        .split_ascii_whitespace()
        .map(str::as_bytes)
        .peekable();
    let mut current: &[u8] = &[];
    loop {
        // Fill the chunk from the pieces between whitespace (lines of 76 characters, or one
        // piece of megabytes), splitting a piece where the chunk is full.
        chunk.clear();
        while chunk.len() < BASE64_CHUNK {
            if current.is_empty() {
                match pieces.next() {
                    Some(piece) => current = piece,
                    None => break,
                }
            }
            let take = (BASE64_CHUNK - chunk.len()).min(current.len());
            chunk.extend_from_slice(&current[..take]);
            current = &current[take..];
        }
        let last = current.is_empty() && pieces.peek().is_none();
        if !last && chunk.contains(&b'=') {
            // Padding before the end: the whole text's decoding says where.
            return whole_base64(content);
        }
        out.clear();
        if engine.decode_vec(&chunk, &mut out).is_err() {
            return whole_base64(content);
        }
        if decoded.head.len() < 8 {
            let take = (8 - decoded.head.len()).min(out.len());
            decoded.head.extend_from_slice(&out[..take]);
        }
        decoded.len += out.len();
        decoded
            .tail
            .extend_from_slice(&out[out.len().saturating_sub(PDF_TAIL)..]);
        let excess = decoded.tail.len().saturating_sub(PDF_TAIL);
        decoded.tail.drain(..excess);
        if last {
            return Ok(decoded);
        }
    }
}

/// The error of decoding `content`'s base64 whole, its whitespace removed (or the whole
/// decoded body, which the chunked decoding cannot have refused).
fn whole_base64(content: &str) -> Result<Decoded, base64::DecodeError> {
    let compact: Vec<u8> = content
        .split_ascii_whitespace()
        .flat_map(str::bytes)
        .collect();
    let d = base64::engine::general_purpose::STANDARD.decode(&compact)?;
    Ok(Decoded {
        len: d.len(),
        head: d.iter().take(8).copied().collect(),
        tail: d[d.len().saturating_sub(PDF_TAIL)..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base64 of an N1 body decoded a chunk at a time gives what decoding it whole
    /// gives: the length, the first and last bytes, or the same error message, whatever the
    /// line length, wherever a chunk ends, and wherever a bad character or padding sits.
    #[test]
    fn base64_decoded_by_chunks_agrees_with_decoding_it_whole() {
        let whole = |content: &str| -> Result<(usize, Vec<u8>, Vec<u8>), String> {
            let compact: Vec<u8> = content
                .split_ascii_whitespace()
                .flat_map(str::bytes)
                .collect();
            let d = base64::engine::general_purpose::STANDARD
                .decode(&compact)
                .map_err(|e| e.to_string())?;
            let tail = d[d.len().saturating_sub(PDF_TAIL)..].to_vec();
            Ok((d.len(), d.iter().take(8).copied().collect(), tail))
        };
        let by_chunks = |content: &str| {
            decode_base64(content)
                .map(|d| (d.len, d.head, d.tail))
                .map_err(|e| e.to_string())
        };
        let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 3) as u8).collect();
        let encoded = base64::engine::general_purpose::STANDARD.encode(&body);
        let mut cases: Vec<String> = Vec::new();
        for line in [76, 64, 1000, usize::MAX] {
            let lines: Vec<&str> = encoded
                .as_bytes()
                .chunks(line.min(encoded.len()))
                .map(|c| std::str::from_utf8(c).expect("ascii"))
                .collect();
            cases.push(lines.join("\r\n"));
        }
        for at in [
            0,
            3,
            BASE64_CHUNK - 1,
            BASE64_CHUNK,
            BASE64_CHUNK + 2,
            encoded.len() - 1,
        ] {
            for bad in ["!", "=", "=="] {
                let mut broken = encoded.clone();
                broken.replace_range(at..at + 1, bad);
                cases.push(broken);
            }
        }
        cases.push(encoded[..encoded.len() - 1].to_string()); // a length of 4n + 3
        cases.push(format!("{}A", encoded)); // a length of 4n + 1
        cases.push(String::new());
        cases.push(" \n\t".into());
        for (i, c) in cases.iter().enumerate() {
            assert_eq!(by_chunks(c), whole(c), "case {i}");
        }
        assert!(by_chunks(&cases[0]).is_ok());
        assert!(cases[4..].iter().any(|c| by_chunks(c).is_err()));
    }

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

    fn at(value: impl Into<String>) -> Located<'static, String> {
        Located {
            value: value.into(),
            location: Place::default(),
        }
    }

    fn good() -> Facts<'static> {
        Facts {
            type_id: Some(Located {
                value: (TYPE_ID.0.into(), TYPE_ID.1.into()),
                location: Place::default(),
            }),
            patient_ids: vec![Located {
                value: PatientId {
                    root: "1.2.250.1.213.1.4.10".into(),
                    extension: Some("279035121518989".into()),
                },
                location: Place::default(),
            }],
            gender: Some(at("F")),
            birth_time: Some(at("19790328")),
            county: Some(at("51215")),
            non_xml: Some(Located {
                value: NonXmlText {
                    media_type: Some("application/pdf".into()),
                    representation: Some("B64".into()),
                    content: base64::engine::general_purpose::STANDARD
                        .encode(b"%PDF-1.4\n...\n%%EOF\n")
                        .into(),
                },
                location: Place::default(),
            }),
        }
    }

    fn rules(f: &Facts<'_>) -> Vec<String> {
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
            location: Place::default(),
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
            b.value.content = base64::engine::general_purpose::STANDARD
                .encode(b"hello")
                .into();
        }
        assert_eq!(rules(&f), ["SEGUR-N1-PDF"]);

        let mut f = good();
        if let Some(b) = f.non_xml.as_mut() {
            b.value.representation = Some("TXT".into());
        }
        assert_eq!(rules(&f), ["SEGUR-N1-REPRESENTATION"]);
    }
}
