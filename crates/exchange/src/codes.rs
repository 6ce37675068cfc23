//! Code tables the metadata is derived with: templateId → formatCode (ANS ASS_A11 subset),
//! N1 media type → formatCode (ASS_A12), typeCode → classCode (ASS_X04 subset).
//!
//! Only the rows the spec notes give (`specs/doc_types.md`, `specs/dmp_xds_mhd.md`) are here;
//! for other documents the check that uses a table is skipped rather than guessed.

/// TRE_A11-IheFormatCode, the scheme of the IHE formatCodes (`urn:ihe:…`).
pub const FORMAT_SCHEME: &str = "1.3.6.1.4.1.19376.1.2.3";
/// TRE_A06-FormatCodeComplementaire, the scheme of the ANS formatCodes (`urn:asip:…`).
pub const FORMAT_SCHEME_ASIP: &str = "1.2.250.1.213.1.1.4.2.282";
/// TRE_A03-ClasseDocument, the classCode scheme.
pub const CLASS_SCHEME: &str = "1.2.250.1.213.1.1.4.1";
/// The XDS-SD templateId of N1 (nonXMLBody) documents.
pub const XDS_SD_TEMPLATE: &str = "1.3.6.1.4.1.19376.1.2.20";

/// ASS_A11 rows: the model templateId and its formatCode (`specs/doc_types.md` §2).
const TEMPLATE_FORMATS: &[(&str, &str)] = &[
    ("1.2.250.1.213.1.1.1.22", "urn:asip:ci-sis:dlu:2015"),
    ("1.2.250.1.213.1.1.1.23", "urn:asip:ci-sis:fludt:2017"),
    ("1.2.250.1.213.1.1.1.24", "urn:asip:ci-sis:fludr:2017"),
    ("1.2.250.1.213.1.1.1.48", "urn:asip:ci-sis:dlu-dlu-dom:2022"),
    (
        "1.2.250.1.213.1.1.1.49",
        "urn:asip:ci-sis:dlu-fludt-dom:2022",
    ),
    (
        "1.2.250.1.213.1.1.1.50",
        "urn:asip:ci-sis:dlu-fludr-dom:2022",
    ),
    ("1.2.250.1.213.1.1.1.13", "urn:asip:ci-sis:vsm:2012"),
    ("1.2.250.1.213.1.1.1.21", "urn:asip:ci-sis:ldl-ees:2017"),
    ("1.2.250.1.213.1.1.1.29", "urn:asip:ci-sis:ldl-ses:2017"),
    ("1.3.6.1.4.1.19376.1.3.3", "urn:ihe:lab:xd-lab:2008"),
    ("1.2.250.1.213.1.1.1.55", "urn:ihe:lab:xd-lab:2008"),
    (
        "1.2.250.1.213.1.1.1.45",
        "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013",
    ),
    ("1.2.250.1.213.1.1.1.51", "urn:ihe:pcc:ips:2020"),
    ("1.2.250.1.213.1.1.1.58", "urn:asip:ci-sis:export-dui:2023"),
    ("1.2.250.1.213.1.1.1.36", "urn:asip:ci-sis:hr:2019"),
];

/// ASS_A12 rows: N1 body media type and its formatCode.
const MEDIA_FORMATS: &[(&str, &str)] = &[
    ("application/pdf", "urn:ihe:iti:xds-sd:pdf:2008"),
    ("text/plain", "urn:ihe:iti:xds-sd:text:2008"),
    ("text/rtf", "urn:ihe:iti-fr:xds-sd:rtf:2010"),
    ("image/jpeg", "urn:ihe:iti-fr:xds-sd:jpeg:2010"),
];

/// Displays of the formatCodes above, from TRE_A11-IheFormatCode and
/// TRE_A06-FormatCodeComplementaire (NOS code systems in the FHIR package
/// `ans.fhir.fr.pdsm.deps-combined`, CC0).
const FORMAT_DISPLAYS: &[(&str, &str)] = &[
    ("urn:asip:ci-sis:dlu:2015", "Document de liaison d'urgence"),
    (
        "urn:asip:ci-sis:fludt:2017",
        "Fiche de liaison d'urgence - Transfert de l'EHPAD vers les urgences",
    ),
    (
        "urn:asip:ci-sis:fludr:2017",
        "Fiche de liaison d'urgence - Retour des urgences vers l'EHPAD",
    ),
    (
        "urn:asip:ci-sis:dlu-dlu-dom:2022",
        "Document de liaison d'urgence DOM",
    ),
    (
        "urn:asip:ci-sis:dlu-fludt-dom:2022",
        "Fiche de liaison d'urgence - Transfert du domicile vers les urgences",
    ),
    (
        "urn:asip:ci-sis:dlu-fludr-dom:2022",
        "Fiche de liaison d'urgence - Retour des urgences vers le domicile",
    ),
    ("urn:asip:ci-sis:vsm:2012", "Synthèse médicale"),
    (
        "urn:asip:ci-sis:ldl-ees:2017",
        "Lettre de Liaison à l'entrée d'un établissement de santé",
    ),
    (
        "urn:asip:ci-sis:ldl-ses:2017",
        "Lettre de Liaison à la sortie de l'établissement de santé",
    ),
    (
        "urn:asip:ci-sis:export-dui:2023",
        "Export du Dossier Usager informatisé",
    ),
    ("urn:asip:ci-sis:hr:2019", "Données de remboursement"),
    (
        "urn:ihe:lab:xd-lab:2008",
        "Compte rendu structuré d'examens de biologie médicale",
    ),
    (
        "urn:ihe:rad:CDA:ImagingReportStructuredHeadings:2013",
        "Compte-rendu d'imagerie médicale",
    ),
    ("urn:ihe:pcc:ips:2020", "Synthèse médicale"),
    (
        "urn:ihe:iti:xds-sd:pdf:2008",
        "Document à corps non structuré en Pdf/A-1",
    ),
    (
        "urn:ihe:iti:xds-sd:text:2008",
        "Document à corps non structuré en texte brut",
    ),
    (
        "urn:ihe:iti-fr:xds-sd:rtf:2010",
        "Document à corps non structuré en format rtf",
    ),
    (
        "urn:ihe:iti-fr:xds-sd:jpeg:2010",
        "Document à corps non structuré en format jpeg",
    ),
];

/// The scheme of a formatCode: TRE_A06 for `urn:asip:…`, else TRE_A11.
pub fn format_scheme(code: &str) -> &'static str {
    if code.starts_with("urn:asip:") {
        FORMAT_SCHEME_ASIP
    } else {
        FORMAT_SCHEME
    }
}

/// TRE_A03-ClasseDocument (the classCode scheme), every code, from the same package.
pub const CLASSES: &[(&str, &str)] = &[
    ("10", "Compte rendu"),
    ("11", "Synthèse"),
    ("31", "Imagerie médicale"),
    ("42", "Prescription"),
    ("43", "Dispensation"),
    ("44", "Plan de soins, protocole de soins"),
    ("45", "Traitement administré"),
    ("52", "Certificat, déclaration"),
    ("60", "Données de remboursement"),
    ("90", "Autres documents déposés par le patient"),
    ("95", "Document de gestion"),
    ("99", "Document technique"),
];

/// The display of a formatCode: TRE_A11's or TRE_A06's, else the code.
pub fn format_display(code: &str) -> &str {
    FORMAT_DISPLAYS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, d)| d)
}

/// typeCode → classCode (code, display). `11502-2 → 10` and `SYNTH → 11` follow the
/// examples of `specs/dmp_xds_mhd.md` §2.2 and `specs/doc_types.md`; the other rows are
/// UNVERIFIED (the ASS_X04 table itself was not reachable).
const TYPE_CLASSES: &[(&str, &str, &str)] = &[
    ("11502-2", "10", "Compte rendu"),
    ("11490-0", "10", "Compte rendu"),
    ("18761-7", "10", "Compte rendu"),
    ("18748-4", "10", "Compte rendu"),
    ("74207-2", "10", "Compte rendu"),
    ("SYNTH", "11", "Synthèse"),
    ("60591-5", "11", "Synthèse"),
];

/// The formatCode a document should carry: from its N1 media type, else from its templateIds;
/// `None` when the tables do not know it.
pub fn format_code(template_roots: &[&str], n1_media_type: Option<&str>) -> Option<&'static str> {
    if let Some(media) = n1_media_type {
        return MEDIA_FORMATS
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(media.trim()))
            .map(|(_, f)| *f);
    }
    template_roots.iter().find_map(|root| {
        TEMPLATE_FORMATS
            .iter()
            .find(|(t, _)| t == root)
            .map(|(_, f)| *f)
    })
}

/// The classCode (code, display) of a typeCode, when the table knows it.
pub fn class_code(type_code: &str) -> Option<(&'static str, &'static str)> {
    TYPE_CLASSES
        .iter()
        .find(|(t, _, _)| *t == type_code)
        .map(|(_, c, d)| (*c, *d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables() {
        assert_eq!(
            format_code(&["1.2.250.1.213.1.1.1.1", "1.2.250.1.213.1.1.1.23"], None),
            Some("urn:asip:ci-sis:fludt:2017")
        );
        assert_eq!(
            format_code(&["1.2.250.1.213.1.1.1.23"], Some("application/pdf")),
            Some("urn:ihe:iti:xds-sd:pdf:2008")
        );
        assert_eq!(format_code(&["1.2.3"], None), None);
        assert_eq!(class_code("11502-2"), Some(("10", "Compte rendu")));
        assert_eq!(class_code("00000-0"), None);
        assert_eq!(
            format_scheme("urn:asip:ci-sis:fludt:2017"),
            FORMAT_SCHEME_ASIP
        );
        assert_eq!(format_scheme("urn:ihe:lab:xd-lab:2008"), FORMAT_SCHEME);
        // Every class of the typeCode table is a TRE_A03 code.
        for (_, c, d) in TYPE_CLASSES {
            assert!(CLASSES.contains(&(*c, *d)), "{c} {d}");
        }
    }
}
