//! The document types the harness builds, and how each is generated from a seed.
//!
//! * `n1-cr-bio`, `n1-ldl-ses`: N1 (nonXMLBody) documents carrying a generated PDF, with the
//!   IHE XDS-SD templateId and the document code of a CR-BIO or of a *lettre de liaison*.
//! * `cr-bio`: N3 *Compte rendu d'examens de biologie médicale*, volet BIO-CR-BIO 2024.01.
//! * `fludt`: N3 *Fiche de liaison d'urgence / document de transfert de l'EHPAD vers le service
//!   des urgences*, volet DLU-EHPAD-FLUDT 2022.01. It is the document an EHPAD's DUI (the
//!   médico-social record software) produces when a resident is sent to the emergency room;
//!   it is chosen over TDDUI-CDA and VSM because the ANS ships its volet schematron and the
//!   CI tool maps its templateId, so the official chain checks it in full.

use segur_ins::{Identity, SeedRng};

use crate::actors::{self, StructureKind};
use crate::body::{
    Act, Body, Cell, Destination, Effective, Entry, Medication, Narrative, NonXmlBody, Observation,
    ObservationMedia, Organizer, Procedure, Range, Section, Statement, Value,
};
use crate::document::ClinicalDocument;
use crate::model::{
    Address, Code, Confidentiality, Encounter, InstanceId, Patient, Professional, ServiceEvent,
    Telecom, oids,
};
use crate::pdf::{PdfText, render_pdf};
use crate::time::Timestamp;

/// A document type the harness can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocType {
    /// N1 CR-BIO: a PDF lab report in a nonXMLBody.
    N1CrBio,
    /// N1 lettre de liaison à la sortie: a PDF discharge letter in a nonXMLBody.
    N1LdlSes,
    /// N3 CR-BIO, volet BIO-CR-BIO 2024.01.
    CrBio,
    /// N3 DLU-FLUDT, volet DLU-EHPAD-FLUDT 2022.01.
    Fludt,
}

/// What describes a document type: its name on the command line and its header values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocTypeInfo {
    /// The type.
    pub doc_type: DocType,
    /// Name on the command line.
    pub name: &'static str,
    /// `N1` or `N3`.
    pub level: &'static str,
    /// `code/@code` (LOINC).
    pub code: &'static str,
    /// `code/@displayName`.
    pub code_display: &'static str,
    /// Document title.
    pub title: &'static str,
    /// The XDS formatCode (ANS table ASS_A11 / ASS_A12).
    pub format_code: &'static str,
    /// The ANS volet schematron that checks it, if any.
    pub volet: Option<&'static str>,
    /// One line for `segur build --list`.
    pub summary: &'static str,
}

/// Every type, in `--list` order.
pub const DOC_TYPES: &[DocTypeInfo] = &[
    DocTypeInfo {
        doc_type: DocType::N1CrBio,
        name: "n1-cr-bio",
        level: "N1",
        code: "11502-2",
        code_display: "CR d'examens biologiques",
        title: "Compte rendu d'examens biologiques",
        format_code: "urn:ihe:iti:xds-sd:pdf:2008",
        volet: None,
        summary: "CR d'examens biologiques, PDF in a nonXMLBody (XDS-SD)",
    },
    DocTypeInfo {
        doc_type: DocType::N1LdlSes,
        name: "n1-ldl-ses",
        level: "N1",
        code: "11490-0",
        code_display: "Lettre de liaison à la sortie d'un établissement de soins",
        title: "Lettre de liaison à la sortie de l'établissement de santé",
        format_code: "urn:ihe:iti:xds-sd:pdf:2008",
        volet: None,
        summary: "Lettre de liaison à la sortie, PDF in a nonXMLBody (XDS-SD)",
    },
    DocTypeInfo {
        doc_type: DocType::CrBio,
        name: "cr-bio",
        level: "N3",
        code: "11502-2",
        code_display: "CR d'examens biologiques",
        title: "Compte rendu d'examens biologiques",
        format_code: "urn:ihe:lab:xd-lab:2008",
        volet: Some("CI-SIS_BIO-CR-BIO_2024.01.sch"),
        summary: "CR d'examens de biologie médicale, structured (BIO-CR-BIO 2024.01) with its PDF copy",
    },
    DocTypeInfo {
        doc_type: DocType::Fludt,
        name: "fludt",
        level: "N3",
        code: "74207-2",
        code_display: "Document de liaison d'urgence",
        title: "FICHE DE LIAISON D'URGENCE/DOCUMENT DE TRANSFERT DE L'EHPAD VERS LE SERVICE DES URGENCES",
        format_code: "urn:asip:ci-sis:fludt:2017",
        volet: Some("CI-SIS_DLU-EHPAD-FLUDT_2022.01.sch"),
        summary: "Fiche de liaison d'urgence EHPAD → urgences, structured (DLU-EHPAD-FLUDT 2022.01), médico-social",
    },
];

impl DocType {
    /// The type named `name` on the command line.
    pub fn from_name(name: &str) -> Option<DocType> {
        DOC_TYPES
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.doc_type)
    }

    /// Its description.
    pub fn info(self) -> &'static DocTypeInfo {
        // Every variant has exactly one row in DOC_TYPES.
        DOC_TYPES
            .iter()
            .find(|i| i.doc_type == self)
            .unwrap_or(&DOC_TYPES[0])
    }
}

/// Build one document of `doc_type` for `identity`; every other value comes from `rng`.
pub fn build(doc_type: DocType, identity: &Identity, rng: &mut SeedRng) -> ClinicalDocument {
    match doc_type {
        DocType::N1CrBio | DocType::N1LdlSes => build_n1(doc_type, identity, rng),
        DocType::CrBio => build_cr_bio(identity, rng),
        DocType::Fludt => build_fludt(identity, rng),
    }
}

/// A time in 2024–2025 during working hours, Paris time.
fn working_time(rng: &mut SeedRng) -> Timestamp {
    let day = Timestamp::paris(2024, 1, 1, 0, 0, 0).plus_secs(rng.below(730) as i64 * 86_400);
    day.plus_secs((7 * 3600 + rng.below(11 * 3600)) as i64)
}

fn patient(identity: &Identity, rng: &mut SeedRng) -> Patient {
    // The structure's IPP domain: a 2.25 OID, since the harness owns no OID arc.
    let ipp_root = actors::uuid_oid(rng);
    Patient {
        identity: identity.clone(),
        ipp: Some(InstanceId::with_ext(
            ipp_root,
            format!("{:010}", rng.below(10_000_000_000)),
        )),
        addr: Some(Address {
            use_code: Some("H".into()),
            house_number: rng.range(1, 120).to_string(),
            street_name: rng
                .pick(&[
                    "Rue des Écoles",
                    "Avenue de la Gare",
                    "Chemin des Vignes",
                    "Rue Pasteur",
                ])
                .to_string(),
            postal_code: "75011".into(),
            city: "PARIS".into(),
            country: Some("FRANCE".into()),
        }),
        telecoms: vec![Telecom {
            value: format!("mailto:{}@patient.mssante.fr", identity.matricule.as_str()),
            use_code: None,
        }],
    }
}

/// What differs between document types; [`assemble`] adds the common header.
struct Parts {
    templates: Vec<InstanceId>,
    author: Professional,
    created: Timestamp,
    service_event: ServiceEvent,
    encounter: Encounter,
    body: Body,
}

/// The common header around `parts`: ids, code, title, patient; the author signs the document
/// and their structure keeps it.
fn assemble(
    info: &DocTypeInfo,
    identity: &Identity,
    rng: &mut SeedRng,
    parts: Parts,
) -> ClinicalDocument {
    let id = InstanceId::root(actors::uuid_oid(rng));
    let set_id = InstanceId::root(actors::uuid_oid(rng));
    ClinicalDocument {
        templates: parts.templates,
        id,
        code: doc_code(info),
        title: info.title.into(),
        effective: parts.created,
        confidentiality: Confidentiality::Normal,
        set_id,
        version: 1,
        patient: patient(identity, rng),
        custodian: parts.author.organization.clone(),
        legal_authenticator: (parts.author.clone(), parts.created),
        author: (parts.author, parts.created),
        service_event: parts.service_event,
        encounter: parts.encounter,
        body: parts.body,
    }
}

fn doc_code(info: &DocTypeInfo) -> Code {
    Code::loinc(info.code, info.code_display)
}

fn specialty(code: &str, display: &str) -> Code {
    Code::new(code, oids::AUTHOR_SPECIALTY, display)
}

fn pdf_lines(
    info: &DocTypeInfo,
    identity: &Identity,
    author: &str,
    org: &str,
    when: Timestamp,
    body: &[String],
) -> Vec<String> {
    let t = &identity.traits;
    let mut lines = vec![
        format!(
            "Patient : {} {} — né(e) le {} — INS {} ({})",
            t.birth_name,
            t.given_names_list(),
            t.birth_date.to_iso(),
            identity.matricule,
            identity.oid.label()
        ),
        format!("Auteur : {author} — {org}"),
        format!("Date : {}", when.to_french()),
        format!("Type : {} (LOINC {})", info.code_display, info.code),
        String::new(),
    ];
    lines.extend(body.iter().cloned());
    lines
}

fn build_n1(doc_type: DocType, identity: &Identity, rng: &mut SeedRng) -> ClinicalDocument {
    let info = doc_type.info();
    let is_bio = doc_type == DocType::N1CrBio;
    let org = actors::organization(
        rng,
        if is_bio {
            StructureKind::Laboratory
        } else {
            StructureKind::Hospital
        },
    );
    let spec = if is_bio {
        specialty("G15_10/SM03", "Médecin - Biologie médicale (SM)")
    } else {
        specialty(
            "G15_10/SM26",
            "Médecin - Qualifié en Médecine Générale (SM)",
        )
    };
    let author = actors::professional(rng, spec, &org);
    let start = working_time(rng);
    let end = start.plus_secs(rng.range(600, 8 * 3600) as i64);
    let created = end.plus_secs(rng.range(60, 3600) as i64);
    let body_lines: Vec<String> = if is_bio {
        lab_panel(rng)
            .1
            .iter()
            .map(|t| {
                format!(
                    "{} : {} {} (valeurs de référence {} – {})",
                    t.display, t.value, t.unit, t.low, t.high
                )
            })
            .collect()
    } else {
        vec![
            "Motif d'hospitalisation : surveillance après chute à domicile.".into(),
            "Synthèse du séjour : pas de fracture ; reprise de la marche avec kinésithérapie."
                .into(),
            "Traitement de sortie : inchangé.".into(),
            "Suivi : consultation avec le médecin traitant sous quinze jours.".into(),
        ]
    };
    let author_name = format!("{} {}", author.name.given, author.name.family);
    let pdf = render_pdf(&PdfText {
        title: info.title.into(),
        lines: pdf_lines(
            info,
            identity,
            &author_name,
            &org.name,
            created,
            &body_lines,
        ),
        created: Some(created),
    });
    let (facility, encounter_code) = if is_bio {
        (
            Code::new(
                "SA25",
                oids::FACILITY_TYPE,
                "Laboratoire de biologie médicale",
            ),
            Code::new("AMB", oids::ENCOUNTER_CODE, "Ambulatoire"),
        )
    } else {
        (
            Code::new("SA01", oids::FACILITY_TYPE, "Etablissement public de santé"),
            Code::new("IMP", oids::ENCOUNTER_CODE, "Hospitalisation"),
        )
    };
    assemble(
        info,
        identity,
        rng,
        Parts {
            templates: vec![InstanceId::root(oids::TPL_XDS_SD)],
            author: author.clone(),
            created,
            service_event: ServiceEvent {
                code: if is_bio {
                    Code::loinc("18719-5", "Biochimie")
                } else {
                    Code::loinc("11490-0", "Lettre de liaison à la sortie")
                },
                start,
                end: Some(end),
                performer: author.clone(),
                performer_template: None,
                performer_time: None,
                lab_status_completed: false,
            },
            encounter: Encounter {
                code: Some(encounter_code),
                start,
                end: Some(end),
                responsible: Some(author),
                facility_type: facility,
            },
            body: Body::NonXml(NonXmlBody {
                media_type: "application/pdf".into(),
                data: pdf,
            }),
        },
    )
}

/// One lab test of a generated panel.
struct LabResult {
    loinc: &'static str,
    display: &'static str,
    unit: &'static str,
    low: String,
    high: String,
    value: String,
    interpretation: (&'static str, &'static str),
}

/// (LOINC, display, unit, low, high, decimals)
type TestDef = (&'static str, &'static str, &'static str, f64, f64, usize);

const BIOCHEMISTRY: &[TestDef] = &[
    (
        "3016-3",
        "Thyréostimuline [Unités arbitraires/Volume] Sérum/Plasma ; Numérique",
        "m[IU]/L",
        0.27,
        4.2,
        3,
    ),
    (
        "3024-7",
        "Thyroxine libre [Masse/Volume] Sérum/Plasma ; Numérique",
        "pg/mL",
        9.3,
        17.0,
        2,
    ),
    (
        "2345-7",
        "Glucose [Masse/Volume] Sérum/Plasma ; Numérique",
        "g/L",
        0.70,
        1.10,
        2,
    ),
    (
        "2160-0",
        "Créatinine [Masse/Volume] Sérum/Plasma ; Numérique",
        "mg/L",
        6.0,
        12.0,
        1,
    ),
    (
        "2951-2",
        "Sodium [Moles/Volume] Sérum/Plasma ; Numérique",
        "mmol/L",
        136.0,
        145.0,
        0,
    ),
    (
        "2823-3",
        "Potassium [Moles/Volume] Sérum/Plasma ; Numérique",
        "mmol/L",
        3.5,
        5.1,
        1,
    ),
];

const HEMATOLOGY: &[TestDef] = &[
    (
        "718-7",
        "Hémoglobine [Masse/Volume] Sang ; Numérique",
        "g/dL",
        12.0,
        16.0,
        1,
    ),
    (
        "6690-2",
        "Leucocytes [Nombre/Volume] Sang ; Numérique",
        "10*9/L",
        4.0,
        10.0,
        2,
    ),
    (
        "777-3",
        "Plaquettes [Nombre/Volume] Sang ; Numérique",
        "10*9/L",
        150.0,
        400.0,
        0,
    ),
];

fn fmt(v: f64, decimals: usize) -> String {
    format!("{v:.decimals$}")
}

/// A chapter (section code) and 2–4 results with values drawn around the reference range.
fn lab_panel(rng: &mut SeedRng) -> (Code, Vec<LabResult>) {
    let (chapter, defs) = if rng.below(2) == 0 {
        (Code::loinc("18719-5", "Biochimie"), BIOCHEMISTRY)
    } else {
        (Code::loinc("18723-7", "Hématologie"), HEMATOLOGY)
    };
    let count = rng.range(2, defs.len().min(4) as u64) as usize;
    let first = rng.below(defs.len() as u64) as usize;
    let results = (0..count)
        .map(|i| {
            let &(loinc, display, unit, low, high, dec) = &defs[(first + i) % defs.len()];
            // Mostly normal, sometimes out of range on either side.
            let span = high - low;
            let per_mille = rng.below(1000) as f64 / 1000.0;
            let v = low - 0.3 * span + per_mille * 1.6 * span;
            let v = v.max(0.0);
            let value = fmt(v, dec);
            let parsed: f64 = value.parse().unwrap_or(v);
            let interpretation = if parsed < low {
                ("L", "Bas")
            } else if parsed > high {
                ("H", "Haut")
            } else {
                ("N", "Normal")
            };
            LabResult {
                loinc,
                display,
                unit,
                low: fmt(low, dec),
                high: fmt(high, dec),
                value,
                interpretation,
            }
        })
        .collect();
    (chapter, results)
}

fn build_cr_bio(identity: &Identity, rng: &mut SeedRng) -> ClinicalDocument {
    let info = DocType::CrBio.info();
    let lab = actors::organization(rng, StructureKind::Laboratory);
    let biologist = actors::professional(
        rng,
        specialty("G15_10/SM03", "Médecin - Biologie médicale (SM)"),
        &lab,
    );
    let sampled = working_time(rng);
    let validated = sampled.plus_secs(rng.range(2 * 3600, 8 * 3600) as i64);
    let created = validated.plus_secs(rng.range(60, 1800) as i64);
    let (chapter, results) = lab_panel(rng);

    let mut rows = Vec::new();
    let mut observations = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let cell_id = format!("resultat-{:02}", i + 1);
        rows.push(vec![
            Cell::with_id(cell_id.clone(), r.display),
            Cell::text(format!("{} {}", r.value, r.unit)),
            Cell::text(format!("({} - {})", r.low, r.high)),
        ]);
        observations.push(Observation {
            templates: vec!["1.3.6.1.4.1.19376.1.3.1.6", "1.2.250.1.213.1.1.3.80"],
            id: None,
            code: Code::loinc(r.loinc, r.display),
            code_text_ref: Some(format!("#{cell_id}")),
            text_ref: None,
            status: "completed",
            effective: Effective::At(sampled),
            value: Some(Value::Pq {
                value: r.value.clone(),
                unit: r.unit.into(),
            }),
            interpretation: Some(Code::new(
                r.interpretation.0,
                oids::INTERPRETATION,
                r.interpretation.1,
            )),
            method_ref: None,
            range: Some(Range {
                low: r.low.clone(),
                high: r.high.clone(),
                unit: r.unit.into(),
            }),
            target_site: None,
        });
    }
    let results_section = Section {
        templates: vec!["1.3.6.1.4.1.19376.1.3.3.2.1", "1.2.250.1.213.1.1.2.70"],
        id: None,
        code: chapter.clone(),
        title: Some(chapter.display.to_uppercase()),
        text: Narrative::None,
        entries: Vec::new(),
        sections: vec![Section {
            templates: vec!["1.3.6.1.4.1.19376.1.3.3.2.2", "1.2.250.1.213.1.1.2.71"],
            id: None,
            code: chapter.clone(),
            title: None,
            text: Narrative::Table {
                head: vec![
                    "Examen".into(),
                    "Résultat".into(),
                    "Valeurs de référence".into(),
                ],
                rows,
            },
            entries: vec![Entry {
                type_code: Some("DRIV"),
                templates: vec!["1.3.6.1.4.1.19376.1.3.1", "1.2.250.1.213.1.1.3.21"],
                statement: Statement::Act(Act {
                    templates: Vec::new(),
                    id: None,
                    code: chapter.clone(),
                    text_ref: None,
                    status: "completed",
                    effective: Effective::None,
                    destination: None,
                    components: observations,
                }),
            }],
            sections: Vec::new(),
        }],
    };

    let author_name = format!("{} {}", biologist.name.given, biologist.name.family);
    let pdf_body: Vec<String> = std::iter::once(chapter.display.to_uppercase())
        .chain(results.iter().map(|r| {
            format!(
                "{} : {} {} ({} - {})",
                r.display, r.value, r.unit, r.low, r.high
            )
        }))
        .collect();
    let pdf = render_pdf(&PdfText {
        title: info.title.into(),
        lines: pdf_lines(info, identity, &author_name, &lab.name, created, &pdf_body),
        created: Some(created),
    });
    let copy_section = Section {
        templates: vec!["1.2.250.1.213.1.1.2.243"],
        id: Some(InstanceId::root(actors::uuid(rng))),
        code: Code::loinc("55108-5", "Copie du document"),
        title: Some("Copie du document".into()),
        text: Narrative::Media("doc-1".into()),
        entries: vec![Entry::of(Statement::Organizer(Organizer {
            class_code: "CLUSTER",
            templates: vec!["1.2.250.1.213.1.1.3.18"],
            id: Some(InstanceId::root(actors::uuid(rng))),
            code: Code::loinc("55107-7", "Document attaché"),
            status: "completed",
            effective: Effective::None,
            components: vec![
                Statement::Observation(Observation {
                    templates: vec![
                        "1.3.6.1.4.1.19376.1.5.3.1.4.13",
                        "1.2.250.1.213.1.1.3.48",
                        "1.2.250.1.213.1.1.3.48.18",
                    ],
                    id: Some(InstanceId::root(actors::uuid(rng))),
                    code: Code::loinc("69764-9", "Type de document"),
                    code_text_ref: None,
                    text_ref: Some("#doc-1".into()),
                    status: "completed",
                    effective: Effective::NotApplicable,
                    value: Some(Value::Cd(Code::loinc("55108-5", "Copie du document"))),
                    interpretation: None,
                    method_ref: None,
                    range: None,
                    target_site: None,
                }),
                Statement::Media(ObservationMedia {
                    xml_id: "doc-1".into(),
                    media_type: "application/pdf".into(),
                    data: pdf,
                }),
            ],
        }))],
        sections: Vec::new(),
    };

    assemble(
        info,
        identity,
        rng,
        Parts {
            templates: vec![
                InstanceId::root("1.3.6.1.4.1.19376.1.3.3"),
                InstanceId::with_ext("1.2.250.1.213.1.1.1.55", "2024.01"),
            ],
            author: biologist.clone(),
            created,
            service_event: ServiceEvent {
                code: chapter,
                start: sampled,
                end: Some(validated),
                performer: biologist.clone(),
                performer_template: Some("1.3.6.1.4.1.19376.1.3.3.1.7"),
                performer_time: Some(validated),
                lab_status_completed: true,
            },
            encounter: Encounter {
                code: Some(Code::new("AMB", oids::ENCOUNTER_CODE, "Ambulatoire")),
                start: sampled,
                end: None,
                responsible: Some(biologist),
                facility_type: Code::new(
                    "SA25",
                    oids::FACILITY_TYPE,
                    "Laboratoire de biologie médicale",
                ),
            },
            body: Body::Structured(vec![results_section, copy_section]),
        },
    )
}

fn simple_obs(
    templates: Vec<&'static str>,
    id: String,
    code: Code,
    text_ref: &str,
    at: Effective,
    value: Value,
) -> Observation {
    Observation {
        templates,
        id: Some(InstanceId::root(id)),
        code,
        code_text_ref: None,
        text_ref: Some(text_ref.into()),
        status: "completed",
        effective: at,
        value: Some(value),
        interpretation: None,
        method_ref: None,
        range: None,
        target_site: None,
    }
}

const SIMPLE_OBS: [&str; 2] = ["1.3.6.1.4.1.19376.1.5.3.1.4.13", "1.2.250.1.213.1.1.3.48"];

fn build_fludt(identity: &Identity, rng: &mut SeedRng) -> ClinicalDocument {
    let info = DocType::Fludt.info();
    let ehpad = actors::organization(rng, StructureKind::Ehpad);
    let doctor = actors::professional(
        rng,
        specialty(
            "G15_10/SM26",
            "Médecin - Qualifié en Médecine Générale (SM)",
        ),
        &ehpad,
    );
    let hospital = actors::organization(rng, StructureKind::Hospital);
    let decided = working_time(rng);
    let left = decided.plus_secs(rng.range(15 * 60, 2 * 3600) as i64);
    let created = decided.plus_secs(rng.range(60, 10 * 60) as i64);
    let last_meal = decided.plus_secs(-(rng.range(1, 6) as i64) * 3600);
    let last_dose = decided.plus_secs(-(rng.range(1, 10) as i64) * 3600);
    let at = Effective::At(decided);

    let reasons = [
        "Chute avec douleur de hanche, impotence fonctionnelle.",
        "Dyspnée aiguë et désaturation à 88 % en air ambiant.",
        "Confusion d'apparition brutale.",
        "Fièvre à 39,5 °C mal tolérée.",
    ];
    let reason = *rng.pick(&reasons);
    let events = Section {
        templates: vec![
            "1.3.6.1.4.1.19376.1.5.3.1.1.21.2.9",
            "1.3.6.1.4.1.19376.1.7.3.1.1.13.7",
            "1.2.250.1.213.1.1.2.163",
        ],
        id: Some(InstanceId::root(actors::uuid(rng))),
        code: Code::loinc("42545-4", "Evènements observés"),
        title: Some("Transfert du patient de l'EHPAD vers le SU".into()),
        text: Narrative::Table {
            head: vec!["Transfert".into(), "Précision".into()],
            rows: vec![
                vec![
                    Cell::with_id("transfert-motif", "Motif"),
                    Cell::text(reason),
                ],
                vec![Cell::text("Date"), Cell::text(decided.to_french())],
                vec![
                    Cell::with_id("transfert-ES", "Etablissement"),
                    Cell::text(format!("Service des urgences, {}", hospital.name)),
                ],
            ],
        },
        entries: vec![
            Entry::of(Statement::Observation(simple_obs(
                SIMPLE_OBS.to_vec(),
                actors::uuid(rng),
                Code::loinc("57277-6", "Motif du transfert vers le service des urgences"),
                "#transfert-motif",
                at,
                Value::CdText("#transfert-motif".into()),
            ))),
            Entry::of(Statement::Act(Act {
                templates: vec![
                    "1.3.6.1.4.1.19376.1.5.3.1.1.25.1.4.1",
                    "1.2.250.1.213.1.1.3.28",
                ],
                id: Some(InstanceId::root(actors::uuid(rng))),
                code: Code::loinc("80413-8", "Transfert du patient"),
                text_ref: Some("#transfert-ES".into()),
                status: "completed",
                effective: Effective::Interval(decided, left),
                destination: Some(Destination {
                    structure: hospital.id.clone(),
                    id: InstanceId::root(actors::uuid(rng)),
                    facility_type: Code::new(
                        "SA01",
                        oids::FACILITY_TYPE,
                        "Etablissement public de santé",
                    ),
                    addr: hospital.addr.clone(),
                    telecom: hospital.telecom.clone(),
                    name: hospital.name.clone(),
                }),
                components: Vec::new(),
            })),
        ],
        sections: Vec::new(),
    };

    let pulse = rng.range(55, 110);
    let temp = 36.0 + rng.below(40) as f64 / 10.0;
    let weight = rng.range(45, 95);
    let sys = rng.range(100, 170);
    let dia = rng.range(55, 95);
    let vitals_def: [(&str, &str, &str, String, &str, &str); 5] = [
        (
            "pouls",
            "Pouls",
            "8867-4",
            pulse.to_string(),
            "/min",
            "Fréquence cardiaque",
        ),
        (
            "temp",
            "Température",
            "8310-5",
            format!("{temp:.1}"),
            "Cel",
            "Température corporelle",
        ),
        (
            "poids",
            "Poids récent",
            "29463-7",
            weight.to_string(),
            "kg",
            "Poids",
        ),
        (
            "tensionH",
            "Tension artérielle haute",
            "8480-6",
            sys.to_string(),
            "mm[Hg]",
            "Pression artérielle systolique",
        ),
        (
            "tensionB",
            "Tension artérielle basse",
            "8462-4",
            dia.to_string(),
            "mm[Hg]",
            "Pression artérielle diastolique",
        ),
    ];
    let vitals = Section {
        templates: vec![
            "2.16.840.1.113883.10.20.1.16",
            "1.3.6.1.4.1.19376.1.5.3.1.3.25",
            "1.3.6.1.4.1.19376.1.5.3.1.1.5.3.2",
            "1.2.250.1.213.1.1.2.75",
        ],
        id: None,
        code: Code::loinc("8716-3", "Signes vitaux"),
        title: Some("Constantes du patient".into()),
        text: Narrative::Table {
            head: vec!["Constante".into(), "Mesure".into()],
            rows: vitals_def
                .iter()
                .map(|(id, label, _, v, u, _)| {
                    vec![Cell::with_id(*id, *label), Cell::text(format!("{v} {u}"))]
                })
                .collect(),
        },
        entries: vec![Entry::of(Statement::Organizer(Organizer {
            class_code: "CLUSTER",
            templates: vec![
                "2.16.840.1.113883.10.20.1.32",
                "2.16.840.1.113883.10.20.1.35",
                "1.3.6.1.4.1.19376.1.5.3.1.4.13.1",
                "1.2.250.1.213.1.1.3.49",
            ],
            id: Some(InstanceId::root(actors::uuid(rng))),
            code: Code::loinc("85353-1", "Signes vitaux"),
            status: "completed",
            effective: at,
            components: vitals_def
                .iter()
                .map(|(id, _, loinc, v, u, display)| {
                    Statement::Observation(simple_obs(
                        vec![
                            "2.16.840.1.113883.10.20.1.31",
                            "1.3.6.1.4.1.19376.1.5.3.1.4.13",
                            "1.3.6.1.4.1.19376.1.5.3.1.4.13.2",
                            "1.2.250.1.213.1.1.3.50",
                        ],
                        actors::uuid(rng),
                        Code::loinc(loinc, display),
                        &format!("#{id}"),
                        at,
                        Value::Pq {
                            value: v.clone(),
                            unit: (*u).into(),
                        },
                    ))
                })
                .collect(),
        }))],
        sections: Vec::new(),
    };

    let consciousness = *rng.pick(&[
        ("DLU_002", "Conscient et éveillé"),
        ("DLU_003", "Eveillable"),
        ("DLU_004", "Non éveillable"),
    ]);
    let pain_sites = [
        ("66480008", "avant-bras gauche"),
        ("61396006", "cuisse gauche"),
        ("29836001", "hanche"),
    ];
    let pain = *rng.pick(&pain_sites);
    let results = Section {
        templates: vec![
            "1.3.6.1.4.1.19376.1.5.3.1.3.27",
            "1.3.6.1.4.1.19376.1.5.3.1.3.28",
            "1.2.250.1.213.1.1.2.151",
        ],
        id: Some(InstanceId::root(actors::uuid(rng))),
        code: Code::loinc("30954-2", "Résultats d'examens"),
        title: Some("Observations".into()),
        text: Narrative::Table {
            head: vec!["Observation".into(), "Résultat".into()],
            rows: vec![
                vec![
                    Cell::with_id("etat-conscience", "Etat de conscience"),
                    Cell::text(consciousness.1),
                ],
                vec![
                    Cell::with_id("douleur", "Douleurs récentes"),
                    Cell::with_id("douleur-localisation", pain.1),
                ],
            ],
        },
        entries: vec![
            Entry::of(Statement::Procedure(Procedure {
                templates: vec![
                    "2.16.840.1.113883.10.20.1.29",
                    "1.3.6.1.4.1.19376.1.5.3.1.4.19",
                    "1.2.250.1.213.1.1.3.62",
                ],
                id: Some(InstanceId::root(actors::uuid(rng))),
                code: None,
                text_ref: Some("#etat-conscience".into()),
                status: "cancelled",
                effective: at,
            })),
            Entry::of(Statement::Observation(simple_obs(
                SIMPLE_OBS.to_vec(),
                actors::uuid(rng),
                Code::named(consciousness.0, oids::TA_ASIP, consciousness.1, "TA_ASIP"),
                "#etat-conscience",
                at,
                Value::Bl(true),
            ))),
            Entry::of(Statement::Observation(Observation {
                target_site: Some(Some(Code::named(
                    pain.0,
                    "2.16.840.1.113883.6.96",
                    pain.1,
                    "SNOMED CT",
                ))),
                ..simple_obs(
                    SIMPLE_OBS.to_vec(),
                    actors::uuid(rng),
                    Code::named(
                        "R52.9",
                        "2.16.840.1.113883.6.3",
                        "Douleur, sans précision",
                        "CIM-10",
                    ),
                    "#douleur",
                    at,
                    Value::Bl(true),
                )
            })),
        ],
        sections: Vec::new(),
    };

    let treatments = Section {
        templates: vec![
            "2.16.840.1.113883.10.20.1.8",
            "1.3.6.1.4.1.19376.1.5.3.1.3.19",
            "1.2.250.1.213.1.1.2.143",
        ],
        id: None,
        code: Code::loinc("10160-0", "Traitements"),
        title: Some("Date et heure de la dernière prise du traitement habituel".into()),
        text: Narrative::Table {
            head: vec!["Traitement habituel".into(), "Dernière prise".into()],
            rows: vec![vec![
                Cell::with_id("derniere-prise", "Dernière prise"),
                Cell::text(last_dose.to_french()),
            ]],
        },
        entries: vec![Entry::of(Statement::Medication(Medication {
            templates: vec![
                "2.16.840.1.113883.10.20.1.24",
                "1.3.6.1.4.1.19376.1.5.3.1.4.7",
                "1.2.250.1.213.1.1.3.42",
                "1.3.6.1.4.1.19376.1.5.3.1.4.7.1",
            ],
            id: Some(InstanceId::root(actors::uuid(rng))),
            text_ref: Some("#derniere-prise".into()),
            period: (last_dose, last_dose.plus_secs(60)),
            product_templates: vec![
                "2.16.840.1.113883.10.20.1.53",
                "1.3.6.1.4.1.19376.1.5.3.1.4.7.2",
                "1.2.250.1.213.1.1.3.43",
            ],
            product: None,
        }))],
        sections: Vec::new(),
    };

    let meal = Section {
        templates: vec![
            "1.3.6.1.4.1.19376.1.7.3.1.1.13.5",
            "1.2.250.1.213.1.1.2.162",
        ],
        id: None,
        code: Code::loinc("47420-5", "Évaluation du statut fonctionnel"),
        title: Some("Date et heure du dernier repas".into()),
        text: Narrative::Table {
            head: vec!["Observation".into(), "Date".into()],
            rows: vec![vec![
                Cell::with_id("dernier-repas", "Dernier repas"),
                Cell::text(last_meal.to_french()),
            ]],
        },
        entries: vec![Entry::of(Statement::Observation(simple_obs(
            SIMPLE_OBS.to_vec(),
            actors::uuid(rng),
            Code::named(
                "GEN-244",
                oids::TA_ASIP,
                "Date et heure du dernier repas",
                "TA_ASIP",
            ),
            "#dernier-repas",
            Effective::At(last_meal),
            Value::RealNotApplicable,
        )))],
        sections: Vec::new(),
    };

    let devices_all = [
        (
            "lunettes",
            "Lunettes",
            "Q021003",
            "LUNETTES PRÊTES À PORTER (OU LUNETTES MONTÉES)",
            None,
        ),
        (
            "protDentHaut",
            "Prothèse dentaire (haut)",
            "P0102",
            "PROTHÈSES DENTAIRES",
            Some(("264217000", "supérieur")),
        ),
        (
            "protDentBas",
            "Prothèse dentaire (bas)",
            "P0102",
            "PROTHÈSES DENTAIRES",
            Some(("261089000", "inférieur")),
        ),
        (
            "protAudDroit",
            "Prothèse auditive (droite)",
            "Y2145",
            "DISPOSITIFS ACCOUSTIQUES D'AIDE À L'AUDITION",
            Some(("24028007", "droit")),
        ),
        (
            "protAudGauche",
            "Prothèse auditive (gauche)",
            "Y2145",
            "DISPOSITIFS ACCOUSTIQUES D'AIDE À L'AUDITION",
            Some(("7771000", "gauche")),
        ),
    ];
    let first = rng.below(devices_all.len() as u64) as usize;
    let n = rng.range(1, 3) as usize;
    let devices: Vec<_> = (0..n)
        .map(|i| devices_all[(first + i) % devices_all.len()])
        .collect();
    let prostheses = Section {
        templates: vec!["1.2.250.1.213.1.1.2.53"],
        id: Some(InstanceId::root(actors::uuid(rng))),
        code: Code::loinc("46264-8", "Dispositifs médicaux"),
        title: Some("Prothèses et objets personnels".into()),
        text: Narrative::Table {
            head: vec!["Prothèse / Objet personnel".into(), "Commentaire".into()],
            rows: devices
                .iter()
                .map(|(id, label, ..)| vec![Cell::with_id(*id, *label), Cell::text("oui")])
                .collect(),
        },
        entries: devices
            .iter()
            .map(|(id, _, code, display, site)| {
                Entry::of(Statement::Observation(Observation {
                    target_site: Some(
                        site.map(|(c, d)| Code::named(c, "2.16.840.1.113883.6.96", d, "SNOMED CT")),
                    ),
                    ..simple_obs(
                        vec![
                            "1.3.6.1.4.1.19376.1.5.3.1.4.13",
                            "1.2.250.1.213.1.1.3.48",
                            "1.2.250.1.213.1.1.3.12",
                        ],
                        actors::uuid(rng),
                        Code::named(code, "1.2.250.1.213.2.68", display, "EMDN"),
                        &format!("#{id}"),
                        at,
                        Value::Bl(true),
                    )
                }))
            })
            .collect(),
        sections: Vec::new(),
    };

    let comment = Section {
        templates: vec![
            "2.16.840.1.113883.10.12.201",
            "1.3.6.1.4.1.19376.1.4.1.2.16",
            "1.2.250.1.213.1.1.2.73",
        ],
        id: None,
        code: Code::loinc("55112-7", "Commentaire"),
        title: Some("Commentaires".into()),
        text: Narrative::Paragraph(format!(
            "Transfert organisé par {} {}, médecin coordonnateur.",
            doctor.name.given, doctor.name.family
        )),
        entries: Vec::new(),
        sections: Vec::new(),
    };

    assemble(
        info,
        identity,
        rng,
        Parts {
            templates: vec![InstanceId::with_ext("1.2.250.1.213.1.1.1.23", "2022.01")],
            author: doctor.clone(),
            created,
            service_event: ServiceEvent {
                code: Code::loinc("28651-8", "Transfert du patient au service des urgences"),
                start: left,
                end: None,
                performer: doctor.clone(),
                performer_template: None,
                performer_time: None,
                lab_status_completed: false,
            },
            encounter: Encounter {
                code: Some(Code::new(
                    "IMP",
                    oids::ENCOUNTER_CODE,
                    "Hospitalisation (établissement, y compris HAD)",
                )),
                start: decided,
                end: Some(left),
                responsible: Some(doctor),
                facility_type: Code::new(
                    "SA17",
                    oids::FACILITY_TYPE,
                    "Etablissement pour personnes âgées",
                ),
            },
            body: Body::Structured(vec![
                events, vitals, results, treatments, meal, prostheses, comment,
            ]),
        },
    )
}
