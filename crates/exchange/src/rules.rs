//! segur's packaging rules: stable ids, severities and one-line summaries (documented with
//! their sources in `docs/rules.md`), and the constructor of their findings.

use segur_finding::{Finding, Location, RuleSource, Severity};

/// One rule of the packaging catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id (`SEGUR-…`).
    pub id: &'static str,
    /// Severity of its findings.
    pub severity: Severity,
    /// What it checks, in one line.
    pub summary: &'static str,
}

const fn rule(id: &'static str, severity: Severity, summary: &'static str) -> Rule {
    Rule {
        id,
        severity,
        summary,
    }
}

use Severity::{Error, Warning};

/// Every packaging rule, in `docs/rules.md` order.
pub const CATALOGUE: &[Rule] = &[
    rule(
        "SEGUR-PKG-UNKNOWN",
        Error,
        "the input is none of the package kinds segur reads",
    ),
    rule(
        "SEGUR-PKG-LIMIT",
        Error,
        "the input exceeds a size or count limit; the rest was not read",
    ),
    rule(
        "SEGUR-MIME-TRUNCATED",
        Error,
        "a MIME entity ends before its headers or its closing boundary",
    ),
    rule(
        "SEGUR-MIME-STRUCTURE",
        Error,
        "a multipart entity without a usable boundary, or a message without the expected parts",
    ),
    rule(
        "SEGUR-MIME-CTE",
        Error,
        "an unknown Content-Transfer-Encoding; the part is kept undecoded",
    ),
    rule(
        "SEGUR-MIME-CTE-HEADER",
        Warning,
        "the header is misspelled `Content-Transfert-Encoding` (read as Content-Transfer-Encoding)",
    ),
    rule(
        "SEGUR-MIME-BASE64",
        Error,
        "a base64 part or value does not decode",
    ),
    rule(
        "SEGUR-MIME-DUPLICATE",
        Error,
        "a MIME entity has more than one Content-Type or Content-Transfer-Encoding",
    ),
    rule(
        "SEGUR-MIME-LINE-LENGTH",
        Error,
        "a header line, or a line of a 7bit or 8bit body, is longer than 998 octets",
    ),
    rule(
        "SEGUR-MIME-CONTROL",
        Error,
        "a header holds a control character: NUL, a CR not followed by LF, another C0 but TAB, or DEL",
    ),
    rule(
        "SEGUR-MSS-DUPLICATE",
        Error,
        "a message field allowed once (RFC 5322 3.6, X-MSS-*) appears more than once",
    ),
    rule(
        "SEGUR-MSS-MESSAGEID",
        Error,
        "the message has no Message-ID",
    ),
    rule(
        "SEGUR-MSS-NIL",
        Error,
        "the message has no X-MSS-NIL header",
    ),
    rule(
        "SEGUR-MSS-CODECDA",
        Error,
        "X-MSS-CODECDA is missing, or differs from the codes of the CDA documents, or is present without CDA",
    ),
    rule(
        "SEGUR-MSS-INS",
        Error,
        "X-MSS-INS is missing (CDA present), present without CDA, or not `O`/`N`",
    ),
    rule(
        "SEGUR-MSS-INS-QUALIF",
        Error,
        "X-MSS-INS says `O` while a document has no qualified INS, or `N` while all have one",
    ),
    rule(
        "SEGUR-MSS-MES",
        Error,
        "X-MSS-MES is not `FIN`, or is sent with no patient recipient",
    ),
    rule(
        "SEGUR-MSS-PATIENT-ADDR",
        Error,
        "a `@patient.mssante.fr` recipient is not the INS matricule of the documents' patient",
    ),
    rule(
        "SEGUR-MSS-SUBJECT",
        Warning,
        "the subject of a message carrying IHE_XDM.ZIP does not start with `XDM/1.0/DDM`",
    ),
    rule(
        "SEGUR-MSS-XDM",
        Error,
        "a message with CDA documents has no IHE_XDM.ZIP, or more than one",
    ),
    rule(
        "SEGUR-XDM-ZIP",
        Error,
        "the IHE_XDM archive cannot be read (corrupt, truncated, encrypted, unsupported method, CRC)",
    ),
    rule(
        "SEGUR-XDM-PATH",
        Error,
        "an archive entry name is absolute, climbs out (`..`), or clashes with an earlier entry's (the same name, case folded, or a file where a folder is needed): the entry is skipped; or it has an empty or `.` segment: read under its canonical name",
    ),
    rule(
        "SEGUR-XDM-BOMB",
        Error,
        "an archive entry or the archive expands beyond the size or ratio limit; not extracted",
    ),
    rule(
        "SEGUR-XDM-LAYOUT",
        Error,
        "README.TXT or INDEX.HTM is missing at the root of the archive, or there is no SUBSET folder",
    ),
    rule(
        "SEGUR-XDM-METADATA",
        Error,
        "a SUBSET folder has no METADATA.XML",
    ),
    rule(
        "SEGUR-XDM-SUBSET",
        Error,
        "a METADATA.XML does not hold exactly one SubmissionSet",
    ),
    rule(
        "SEGUR-XDM-UNREFERENCED",
        Error,
        "a file of the archive is referenced by no DocumentEntry",
    ),
    rule(
        "SEGUR-XDM-MISSING",
        Error,
        "a DocumentEntry's URI names no file of its SUBSET folder",
    ),
    rule(
        "SEGUR-XDS-METADATA",
        Error,
        "the ebRIM metadata cannot be read, or a required metadata is missing",
    ),
    rule(
        "SEGUR-XDS-REPEATED",
        Error,
        "a DocumentEntry or SubmissionSet gives twice a metadata XDS allows once",
    ),
    rule(
        "SEGUR-XDS-PATIENTID",
        Error,
        "a patientId is not `INS^^^&OID&ISO^NH` of the document's recordTarget INS",
    ),
    rule(
        "SEGUR-XDS-HASH",
        Error,
        "a DocumentEntry hash is not the SHA-1 of the document",
    ),
    rule(
        "SEGUR-XDS-SIZE",
        Error,
        "a DocumentEntry size is not the document's size in bytes",
    ),
    rule(
        "SEGUR-XDS-UNIQUEID",
        Error,
        "a DocumentEntry uniqueId is not the document's ClinicalDocument/id",
    ),
    rule(
        "SEGUR-XDS-DUPLICATE",
        Error,
        "two DocumentEntries, documents or SubmissionSets share a uniqueId",
    ),
    rule(
        "SEGUR-XDS-TYPECODE",
        Error,
        "typeCode differs from ClinicalDocument/code",
    ),
    rule(
        "SEGUR-XDS-CLASSCODE",
        Error,
        "classCode differs from the class of the typeCode (ASS_X04 subset)",
    ),
    rule(
        "SEGUR-XDS-FORMATCODE",
        Error,
        "formatCode differs from the one of the document's templateIds or N1 media type",
    ),
    rule(
        "SEGUR-XDS-DOCUMENT",
        Error,
        "a document of the package is not a CDA document whose header can be read (garbage, another format)",
    ),
    rule(
        "SEGUR-XDS-HEADER",
        Error,
        "a metadata copied from the CDA header differs from it (confidentiality, dates, title, language, facility, practice setting, author)",
    ),
    rule(
        "SEGUR-XDS-VALUESET-TYPECODE",
        Error,
        "typeCode is not a code of JDV_J07-XdsTypeCode-CISIS, or not under its coding scheme there",
    ),
    rule(
        "SEGUR-XDS-VALUESET-FACILITY",
        Error,
        "healthcareFacilityTypeCode is not a code of JDV_J02-XdsHealthcareFacilityTypeCode-CISIS, or not under its coding scheme there",
    ),
    rule(
        "SEGUR-XDS-VALUESET-PRACTICE",
        Error,
        "practiceSettingCode is not a code of JDV_J04-XdsPracticeSettingCode-CISIS, or not under its coding scheme there",
    ),
    rule(
        "SEGUR-XDS-VALUESET-CONFIDENTIALITY",
        Error,
        "a confidentialityCode is not a code of JDV_J08-XdsConfidentialityCode-CISIS, or not under its coding scheme there",
    ),
    rule(
        "SEGUR-XDS-VALUESET-AUTHORSPECIALTY",
        Error,
        "an authorSpecialty is not a code of JDV_J01-XdsAuthorSpecialty-CISIS, or not under its coding scheme there",
    ),
    rule(
        "SEGUR-ITI41-SOAP",
        Error,
        "not a SOAP 1.2 ProvideAndRegisterDocumentSetRequest",
    ),
    rule(
        "SEGUR-ITI41-WSA",
        Error,
        "WS-Addressing Action, MessageID or To is missing or the Action is not ITI-41's",
    ),
    rule(
        "SEGUR-ITI41-XOP",
        Error,
        "an xop:Include names no MIME part, a part is referenced by no Document, or a Document and its DocumentEntry do not pair up",
    ),
    rule(
        "SEGUR-ITI41-VIHF",
        Error,
        "the WS-Security header has no VIHF assertion or more than one, or its patient (resource-id) differs from the submission's",
    ),
    rule(
        "SEGUR-ITI41-VIHF-SIGNATURE",
        Error,
        "the VIHF's XML-DSig signature does not verify (algorithms, reference, digest, signature value, certificate)",
    ),
    rule(
        "SEGUR-MHD-BUNDLE",
        Error,
        "not JSON without repeated keys, or not an ITI-65 transaction Bundle with one SubmissionSet List and DocumentReferences of a valid status",
    ),
    rule(
        "SEGUR-MHD-REFERENCE",
        Error,
        "an attachment.url names no Binary of the Bundle, or a Binary is referenced by no DocumentReference",
    ),
    rule(
        "SEGUR-MDN-STRUCTURE",
        Error,
        "a disposition-notification report without its message/disposition-notification part, or not text/plain then the notification",
    ),
    rule(
        "SEGUR-MDN-FIELDS",
        Error,
        "the notification lacks Final-Recipient or Disposition (RFC 8098), or Original-Message-ID or Original-Recipient (ANS volet)",
    ),
    rule(
        "SEGUR-MDN-DUPLICATE",
        Error,
        "a notification field RFC 8098 allows once appears more than once",
    ),
    rule(
        "SEGUR-MDN-DISPOSITION",
        Error,
        "the Disposition field does not parse as action-mode/sending-mode; disposition-type",
    ),
    rule(
        "SEGUR-MDN-ORIGINAL",
        Error,
        "the original message is not returned as message/rfc822, or it is another message than Original-Message-ID names",
    ),
    rule(
        "SEGUR-MDN-MISMATCH",
        Error,
        "the MDN does not answer the message it is checked against (Original-Message-ID)",
    ),
    rule(
        "SEGUR-MDN-NOT-PROCESSED",
        Error,
        "the MDN reports the message deleted, dispatched, or processed with an error, or contradictory Dispositions",
    ),
    rule(
        "SEGUR-ITI41-VIHF-CERT",
        Error,
        "the certificate that signed the VIHF was not valid at the assertion's IssueInstant, may not sign, or does not chain to the configured trust anchors",
    ),
];

/// The rule with this id.
pub fn lookup(id: &str) -> Option<&'static Rule> {
    CATALOGUE.iter().find(|r| r.id == id)
}

fn source() -> RuleSource {
    RuleSource {
        file: "segur".into(),
        line: None,
        version: concat!("segur ", env!("CARGO_PKG_VERSION")).into(),
    }
}

/// [`finding`] at a line of the input (column 1: the start of that line), when known.
pub fn finding_at(
    id: &'static str,
    place: &str,
    line: Option<u32>,
    message: impl Into<String>,
) -> Finding {
    let mut f = finding(id, place, message);
    f.location.line = line;
    f.location.column = line.map(|_| 1);
    f
}

/// A finding of rule `id` at `place` (a path inside the package: part, archive entry, XML
/// element); the severity is the catalogue's.
pub fn finding(id: &'static str, place: &str, message: impl Into<String>) -> Finding {
    let severity = lookup(id).map_or(Severity::Error, |r| r.severity);
    Finding {
        rule: id.into(),
        severity,
        message: message.into(),
        source: source(),
        rule_set: Some("segur-exchange".into()),
        location: Location {
            xpath: (!place.is_empty()).then(|| place.to_string()),
            line: None,
            column: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_prefixed() {
        let mut ids: Vec<&str> = CATALOGUE.iter().map(|r| r.id).collect();
        assert!(ids.iter().all(|i| i.starts_with("SEGUR-")));
        ids.sort_unstable();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn every_value_set_has_its_rule() {
        for jdv in crate::value_sets::Jdv::ALL {
            assert!(lookup(jdv.rule()).is_some(), "{}", jdv.rule());
        }
    }

    #[test]
    fn every_rule_is_documented() {
        let doc = include_str!("../../../docs/rules.md");
        for r in CATALOGUE {
            assert!(
                doc.contains(&format!("| {} |", r.id)),
                "{} not in docs/rules.md",
                r.id
            );
        }
    }
}
