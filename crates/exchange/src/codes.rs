//! Code tables the metadata is derived with: templateId → formatCode (ANS association ASS_A11
//! "CorresModeleCDA-XdsFormatCode-CISIS"), N1 media type → formatCode (ASS_A12), typeCode →
//! classCode (ASS_X04 "CorrespondanceType-Classe-CISIS").
//!
//! The ANS publishes these tables on mos.esante.gouv.fr without a licence, so segur does not
//! ship them: [`CodeTables::load`] reads them at run time from `<rules>/terminologies/` when
//! they are there (FHIR ConceptMap in JSON or XML, or the NOS "SVS" XML export), and the
//! built-in partial rows below stand in for a table that is absent. Every table says where it
//! comes from ([`Origin`]), and the findings that use one name it. For a code that the table
//! does not know, the check that needs it is skipped rather than guessed.
//!
//! The tables in use are process-wide, with the CI-SIS value sets of the same rules directory
//! ([`CodeTables::value_sets`], see [`crate::value_sets`]): [`install`] them once at start (the
//! CLI does, from the rules directory); until then [`active`] is the built-in set, without
//! value sets.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::dom::{attr, kid, kids};
use crate::value_sets::ValueSets;

/// TRE_A11-IheFormatCode, the scheme of the IHE formatCodes (`urn:ihe:…`).
pub const FORMAT_SCHEME: &str = "1.3.6.1.4.1.19376.1.2.3";
/// TRE_A06-FormatCodeComplementaire, the scheme of the ANS formatCodes (`urn:asip:…`, `urn:ans:…`).
pub const FORMAT_SCHEME_ASIP: &str = "1.2.250.1.213.1.1.4.2.282";
/// TRE_A03-ClasseDocument, the classCode scheme.
pub const CLASS_SCHEME: &str = "1.2.250.1.213.1.1.4.1";
/// The XDS-SD templateId of N1 (nonXMLBody) documents.
pub const XDS_SD_TEMPLATE: &str = "1.3.6.1.4.1.19376.1.2.20";
/// The folder of the rules directory that holds the ANS association tables.
pub const TABLES_DIR: &str = "terminologies";
/// Table files larger than this are refused (the real tables are a few tens of KiB).
const MAX_TABLE_BYTES: u64 = 16 * 1024 * 1024;

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

/// ASS_A12 rows: N1 body media type and its formatCode (`specs/doc_types.md` §2).
const MEDIA_FORMATS: &[(&str, &str)] = &[
    ("application/pdf", "urn:ihe:iti:xds-sd:pdf:2008"),
    ("text/plain", "urn:ihe:iti:xds-sd:text:2008"),
    ("text/rtf", "urn:ihe:iti-fr:xds-sd:rtf:2010"),
    ("image/jpeg", "urn:ihe:iti-fr:xds-sd:jpeg:2010"),
];

/// ASS_X04 rows: typeCode → classCode. `11502-2 → 10` and `SYNTH → 11` are the examples of
/// `specs/dmp_xds_mhd.md` §2.2 and `specs/doc_types.md`; the others are the rows for the
/// document types segur builds, as read in the ANS terminology repository
/// (`ansforge/IG-terminologie-de-sante`, `DM/input/fsh/ASS-X04-CorrespondanceType-Classe-CISIS.fsh`,
/// version 20240426120000), UNVERIFIED against the file published on mos.esante.gouv.fr.
const TYPE_CLASSES: &[(&str, &str)] = &[
    ("11502-2", "10"),
    ("SYNTH", "11"),
    ("11490-0", "10"),
    ("74207-2", "11"),
    ("18761-7", "11"),
    ("18748-4", "31"),
    ("60591-5", "11"),
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

/// The scheme of a formatCode by its prefix: TRE_A06 for `urn:asip:…` and `urn:ans:…`, else
/// TRE_A11.
pub fn format_scheme(code: &str) -> &'static str {
    if code.starts_with("urn:asip:") || code.starts_with("urn:ans:") {
        FORMAT_SCHEME_ASIP
    } else {
        FORMAT_SCHEME
    }
}

/// The display of a formatCode: TRE_A11's or TRE_A06's, else the code.
pub fn format_display(code: &str) -> &str {
    FORMAT_DISPLAYS
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, d)| d)
}

/// The display of a TRE_A03 class, when it is one.
pub fn class_display(code: &str) -> Option<&'static str> {
    CLASSES.iter().find(|(c, _)| *c == code).map(|(_, d)| *d)
}

/// Which ANS association a [`Table`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Association {
    /// ASS_A11-CorresModeleCDA-XdsFormatCode-CISIS: model templateId → formatCode.
    A11,
    /// ASS_A12-CorresMediaTypeCDANonStructure-XdsFormatCode-CISIS: N1 media type → formatCode.
    A12,
    /// ASS_X04-CorrespondanceType-Classe-CISIS: typeCode → classCode.
    X04,
}

impl Association {
    /// Every association segur uses.
    pub const ALL: [Association; 3] = [Association::A11, Association::A12, Association::X04];

    /// The short id, `ASS_A11`.
    pub fn id(self) -> &'static str {
        match self {
            Association::A11 => "ASS_A11",
            Association::A12 => "ASS_A12",
            Association::X04 => "ASS_X04",
        }
    }

    /// The full ANS name, also the published file's base name.
    pub fn name(self) -> &'static str {
        match self {
            Association::A11 => "ASS_A11-CorresModeleCDA-XdsFormatCode-CISIS",
            Association::A12 => "ASS_A12-CorresMediaTypeCDANonStructure-XdsFormatCode-CISIS",
            Association::X04 => "ASS_X04-CorrespondanceType-Classe-CISIS",
        }
    }

    /// Whether a file name in the tables folder is this association's table: it contains the
    /// id with `_` or `-` (`ASS_A11…`, the FHIR id `ASS-A11…`, `ConceptMap-ASS-A11….json`).
    pub fn matches(self, file_name: &str) -> bool {
        let upper = file_name.to_ascii_uppercase();
        let id = self.id();
        upper.contains(id) || upper.contains(&id.replace('_', "-"))
    }
}

/// Where a table's rows come from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// segur's built-in partial rows.
    BuiltIn,
    /// A file read at run time.
    File {
        /// The file.
        path: PathBuf,
        /// SHA-256 of its bytes, lower-case hex.
        sha256: String,
        /// The table's version as the file states it, when it does.
        version: Option<String>,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::BuiltIn => f.write_str("built-in partial"),
            Origin::File {
                path,
                sha256,
                version,
            } => {
                write!(f, "{} sha256:{sha256}", path.display())?;
                if let Some(v) = version {
                    write!(f, " version {v}")?;
                }
                Ok(())
            }
        }
    }
}

/// One target of a mapped code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The target code (formatCode, classCode).
    pub code: String,
    /// Its scheme (code system OID), when the table says it.
    pub scheme: Option<String>,
    /// Its display, when the table gives one.
    pub display: Option<String>,
}

/// One association table: source code → targets.
#[derive(Debug, Clone)]
pub struct Table {
    /// The association.
    pub association: Association,
    /// Where the rows come from.
    pub origin: Origin,
    rows: HashMap<String, Vec<Target>>,
}

impl Table {
    fn builtin(association: Association) -> Table {
        let pairs: &[(&str, &str)] = match association {
            Association::A11 => TEMPLATE_FORMATS,
            Association::A12 => MEDIA_FORMATS,
            Association::X04 => TYPE_CLASSES,
        };
        let mut rows: HashMap<String, Vec<Target>> = HashMap::new();
        for (s, t) in pairs {
            let scheme = match association {
                Association::X04 => CLASS_SCHEME,
                _ => format_scheme(t),
            };
            rows.entry(key(association, s)).or_default().push(Target {
                code: (*t).to_string(),
                scheme: Some(scheme.to_string()),
                display: None,
            });
        }
        Table {
            association,
            origin: Origin::BuiltIn,
            rows,
        }
    }

    /// The single target of `source`: `None` when the table does not know it or maps it to
    /// several different codes (the one-to-many rows of ASS_A11 for the XDS-SD templateId,
    /// which ASS_A12 decides by media type).
    pub fn lookup(&self, source: &str) -> Option<&Target> {
        let targets = self.rows.get(&key(self.association, source))?;
        let first = targets.first()?;
        targets
            .iter()
            .all(|t| t.code == first.code)
            .then_some(first)
    }

    /// How many source codes the table holds.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Media types compare case-insensitively; other codes exactly.
fn key(association: Association, code: &str) -> String {
    match association {
        Association::A12 => code.trim().to_ascii_lowercase(),
        _ => code.trim().to_string(),
    }
}

/// A formatCode with its scheme and display, as derived for a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The code.
    pub code: String,
    /// Its scheme.
    pub scheme: String,
    /// Its display.
    pub display: String,
}

/// The three tables in use.
#[derive(Debug, Clone)]
pub struct CodeTables {
    /// templateId → formatCode.
    pub a11: Table,
    /// N1 media type → formatCode.
    pub a12: Table,
    /// typeCode → classCode.
    pub x04: Table,
    /// The CI-SIS value sets of the coded metadata (`<rules>/jeuxDeValeurs/`).
    pub value_sets: ValueSets,
}

impl Default for CodeTables {
    fn default() -> Self {
        CodeTables::builtin()
    }
}

/// Why a table file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TableError {
    /// The file or folder cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than the limit.
    #[error("{path}: larger than {MAX_TABLE_BYTES} bytes")]
    TooLarge {
        /// The path.
        path: PathBuf,
    },
    /// Two files of the folder claim the same association or value set.
    #[error("{first} and {second} are both {association} files; keep one")]
    Ambiguous {
        /// The association's or value set's id.
        association: &'static str,
        /// One file.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The file is in none of the formats segur reads, or holds no mapping (no concept, for
    /// a value set).
    #[error("{path}: {reason}")]
    Format {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl CodeTables {
    /// The built-in partial tables.
    pub fn builtin() -> CodeTables {
        CodeTables {
            a11: Table::builtin(Association::A11),
            a12: Table::builtin(Association::A12),
            x04: Table::builtin(Association::X04),
            value_sets: ValueSets::not_loaded(),
        }
    }

    /// The tables of `<rules_dir>/terminologies/` where present (files named after the
    /// association, `.json` or `.xml`), the built-in rows for the others. A folder that does
    /// not exist gives the built-in set; a file that cannot be read or parsed is an error, so
    /// that a broken download is never silently replaced by the partial rows. The value sets
    /// of `<rules_dir>/jeuxDeValeurs/` are read too ([`ValueSets::load`]).
    pub fn load(rules_dir: &Path) -> Result<CodeTables, TableError> {
        let dir = rules_dir.join(TABLES_DIR);
        let mut tables = CodeTables::builtin();
        tables.value_sets = ValueSets::load(rules_dir)?;
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(tables),
            Err(source) => return Err(TableError::Io { path: dir, source }),
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.extension().is_some_and(|x| {
                        x.eq_ignore_ascii_case("json") || x.eq_ignore_ascii_case("xml")
                    })
            })
            .collect();
        files.sort();
        for association in Association::ALL {
            let mut mine = files.iter().filter(|p| {
                p.file_name()
                    .is_some_and(|n| association.matches(&n.to_string_lossy()))
            });
            let Some(path) = mine.next() else { continue };
            if let Some(other) = mine.next() {
                return Err(TableError::Ambiguous {
                    association: association.id(),
                    first: path.clone(),
                    second: other.clone(),
                });
            }
            let table = read_table(path, association)?;
            match association {
                Association::A11 => tables.a11 = table,
                Association::A12 => tables.a12 = table,
                Association::X04 => tables.x04 = table,
            }
        }
        Ok(tables)
    }

    /// One line per table: `ASS_A11: <origin> (<n> codes)`.
    pub fn describe(&self) -> Vec<String> {
        [&self.a11, &self.a12, &self.x04]
            .iter()
            .map(|t| {
                format!(
                    "{}: {} ({} source codes)",
                    t.association.id(),
                    t.origin,
                    t.len()
                )
            })
            .collect()
    }

    /// The formatCode a document should carry: from its N1 media type (ASS_A12), else from
    /// the first of its templateIds that ASS_A11 maps to one code; `None` when the tables do
    /// not know it.
    pub fn format_code(
        &self,
        template_roots: &[&str],
        n1_media_type: Option<&str>,
    ) -> Option<Derived> {
        let target = match n1_media_type {
            Some(media) => self.a12.lookup(media)?,
            None => template_roots.iter().find_map(|r| self.a11.lookup(r))?,
        };
        let scheme = target
            .scheme
            .clone()
            .unwrap_or_else(|| format_scheme(&target.code).to_string());
        let display = target
            .display
            .clone()
            .unwrap_or_else(|| format_display(&target.code).to_string());
        Some(Derived {
            code: target.code.clone(),
            scheme,
            display,
        })
    }

    /// The origin of the table that decides the formatCode of such a document.
    pub fn format_origin(&self, n1: bool) -> &Origin {
        if n1 {
            &self.a12.origin
        } else {
            &self.a11.origin
        }
    }

    /// The classCode of a typeCode (ASS_X04), with its TRE_A03 display.
    pub fn class_code(&self, type_code: &str) -> Option<Derived> {
        let target = self.x04.lookup(type_code)?;
        let display = class_display(&target.code)
            .map(str::to_string)
            .or_else(|| target.display.clone())
            .unwrap_or_else(|| target.code.clone());
        Some(Derived {
            code: target.code.clone(),
            scheme: target
                .scheme
                .clone()
                .unwrap_or_else(|| CLASS_SCHEME.to_string()),
            display,
        })
    }
}

static ACTIVE: OnceLock<CodeTables> = OnceLock::new();

/// Makes `tables` the process-wide tables. Only the first call has an effect; it returns
/// whether this one did.
pub fn install(tables: CodeTables) -> bool {
    ACTIVE.set(tables).is_ok()
}

/// The process-wide tables: the installed ones, else the built-in set.
pub fn active() -> &'static CodeTables {
    ACTIVE.get_or_init(CodeTables::builtin)
}

/// The formatCode of a document under the active tables (see [`CodeTables::format_code`]).
pub fn format_code(template_roots: &[&str], n1_media_type: Option<&str>) -> Option<Derived> {
    active().format_code(template_roots, n1_media_type)
}

/// The classCode of a typeCode under the active tables.
pub fn class_code(type_code: &str) -> Option<Derived> {
    active().class_code(type_code)
}

fn read_table(path: &Path, association: Association) -> Result<Table, TableError> {
    let io = |source| TableError::Io {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > MAX_TABLE_BYTES {
        return Err(TableError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    Table::parse(&bytes, association, path)
}

impl Table {
    /// The table held in `bytes` (any format [`CodeTables::load`] reads), its origin being
    /// `path` and the bytes' SHA-256. A table without any mapping is an error: it would turn
    /// every check off.
    pub fn parse(bytes: &[u8], association: Association, path: &Path) -> Result<Table, TableError> {
        let format = |reason: String| TableError::Format {
            path: path.to_path_buf(),
            reason,
        };
        if bytes.len() as u64 > MAX_TABLE_BYTES {
            return Err(TableError::TooLarge {
                path: path.to_path_buf(),
            });
        }
        let parsed = parse_table(bytes, association).map_err(format)?;
        if parsed.rows.is_empty() {
            return Err(format(format!(
                "no {} mapping in it (an empty table would turn every check off)",
                association.id()
            )));
        }
        Ok(Table {
            association,
            origin: Origin::File {
                path: path.to_path_buf(),
                sha256: crate::metadata::sha256_hex(bytes),
                version: parsed.version,
            },
            rows: parsed.rows,
        })
    }
}

/// Rows and version read from a table file.
struct Parsed {
    rows: HashMap<String, Vec<Target>>,
    version: Option<String>,
}

/// A table in any of the formats the ANS publishes: FHIR ConceptMap JSON, FHIR ConceptMap
/// XML, or the NOS SVS XML export (`RetrieveValueSetResponse` with `MappedConcept`s).
fn parse_table(bytes: &[u8], association: Association) -> Result<Parsed, String> {
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    match bytes.trim_ascii_start().first() {
        Some(b'{') => parse_json(bytes, association),
        Some(b'<') => parse_xml(bytes, association),
        _ => Err("neither JSON nor XML".into()),
    }
}

/// The scheme OID named by a ConceptMap group's target system URL or OID.
fn scheme_of_system(system: &str) -> Option<String> {
    let s = system.trim();
    if let Some(oid) = s.strip_prefix("urn:oid:") {
        return Some(oid.to_string());
    }
    if s.chars().all(|c| c.is_ascii_digit() || c == '.') && !s.is_empty() {
        return Some(s.to_string());
    }
    // The NOS canonical URLs name the terminology: …/TRE_A06-FormatCodeComplementaire/FHIR/….
    if s.contains("TRE_A06") || s.contains("TRE-A06") {
        Some(FORMAT_SCHEME_ASIP.to_string())
    } else if s.contains("TRE_A11") || s.contains("TRE-A11") {
        Some(FORMAT_SCHEME.to_string())
    } else if s.contains("TRE_A03") || s.contains("TRE-A03") {
        Some(CLASS_SCHEME.to_string())
    } else {
        None
    }
}

/// Whether a ConceptMap target's equivalence (R4) or relationship (R5) makes the source map
/// to it; `narrower`/`wider` rows are kept but make a one-to-many source ambiguous, and
/// `unmatched`/`disjoint`/`not-related-to` rows are no mapping.
fn maps(equivalence: Option<&str>) -> bool {
    !matches!(
        equivalence,
        Some("unmatched" | "disjoint" | "not-related-to")
    )
}

fn push(
    rows: &mut HashMap<String, Vec<Target>>,
    association: Association,
    source: &str,
    t: Target,
) {
    if source.trim().is_empty() || t.code.trim().is_empty() {
        return;
    }
    rows.entry(key(association, source)).or_default().push(t);
}

fn parse_json(bytes: &[u8], association: Association) -> Result<Parsed, String> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    if v.get("resourceType").and_then(|r| r.as_str()) != Some("ConceptMap") {
        return Err("a JSON table must be a FHIR ConceptMap (resourceType)".into());
    }
    let mut rows = HashMap::new();
    let groups = v.get("group").and_then(|g| g.as_array());
    for g in groups.into_iter().flatten() {
        let scheme = g
            .get("target")
            .and_then(|t| t.as_str())
            .and_then(scheme_of_system);
        for e in g
            .get("element")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
        {
            let Some(source) = e.get("code").and_then(|c| c.as_str()) else {
                continue;
            };
            for t in e
                .get("target")
                .and_then(|t| t.as_array())
                .into_iter()
                .flatten()
            {
                let eq = t
                    .get("equivalence")
                    .or_else(|| t.get("relationship"))
                    .and_then(|q| q.as_str());
                let Some(code) = t.get("code").and_then(|c| c.as_str()) else {
                    continue;
                };
                if maps(eq) {
                    push(
                        &mut rows,
                        association,
                        source,
                        Target {
                            code: code.trim().to_string(),
                            scheme: scheme.clone(),
                            display: t
                                .get("display")
                                .and_then(|d| d.as_str())
                                .map(str::to_string),
                        },
                    );
                }
            }
        }
    }
    Ok(Parsed {
        rows,
        version: v
            .get("version")
            .and_then(|s| s.as_str())
            .map(str::to_string),
    })
}

const FHIR_NS: &str = "http://hl7.org/fhir";
const SVS_NS: &str = "urn:ihe:iti:svs:2008";

fn parse_xml(bytes: &[u8], association: Association) -> Result<Parsed, String> {
    let limits = segur_xml::Limits::default().with_max_bytes(MAX_TABLE_BYTES as usize);
    let doc = segur_xml::Document::parse(bytes, &limits).map_err(|e| format!("not XML: {e}"))?;
    let root = doc
        .document_element()
        .ok_or_else(|| "no root element".to_string())?;
    let (ns, local) = (doc.namespace_uri(root), doc.local_name(root));
    let mut rows = HashMap::new();
    let value = |n| attr(&doc, n, "value").map(str::to_string);
    if ns == FHIR_NS && local == "ConceptMap" {
        for g in kids(&doc, root, FHIR_NS, "group") {
            let scheme = kid(&doc, g, FHIR_NS, "target")
                .and_then(value)
                .as_deref()
                .and_then(scheme_of_system);
            for e in kids(&doc, g, FHIR_NS, "element") {
                let Some(source) = kid(&doc, e, FHIR_NS, "code").and_then(value) else {
                    continue;
                };
                for t in kids(&doc, e, FHIR_NS, "target") {
                    let eq = kid(&doc, t, FHIR_NS, "equivalence")
                        .or_else(|| kid(&doc, t, FHIR_NS, "relationship"))
                        .and_then(value);
                    let Some(code) = kid(&doc, t, FHIR_NS, "code").and_then(value) else {
                        continue;
                    };
                    if maps(eq.as_deref()) {
                        push(
                            &mut rows,
                            association,
                            &source,
                            Target {
                                code: code.trim().to_string(),
                                scheme: scheme.clone(),
                                display: kid(&doc, t, FHIR_NS, "display").and_then(value),
                            },
                        );
                    }
                }
            }
        }
        let version = kid(&doc, root, FHIR_NS, "version").and_then(value);
        return Ok(Parsed { rows, version });
    }
    if ns == SVS_NS && local == "RetrieveValueSetResponse" {
        let vs = kid(&doc, root, SVS_NS, "ValueSet")
            .ok_or_else(|| "an SVS response without ValueSet".to_string())?;
        let list = kid(&doc, vs, SVS_NS, "MappedConceptList").ok_or_else(|| {
            "an SVS ValueSet without MappedConceptList (not an association)".to_string()
        })?;
        for m in kids(&doc, list, SVS_NS, "MappedConcept") {
            // The first Concept is the source, the second its target (NOS association files).
            let mut concepts = kids(&doc, m, SVS_NS, "Concept");
            let (Some(s), Some(t)) = (concepts.next(), concepts.next()) else {
                continue;
            };
            let Some(source) = attr(&doc, s, "code") else {
                continue;
            };
            let Some(code) = attr(&doc, t, "code") else {
                continue;
            };
            push(
                &mut rows,
                association,
                source,
                Target {
                    code: code.trim().to_string(),
                    scheme: attr(&doc, t, "codeSystem")
                        .filter(|s| !s.trim().is_empty())
                        .map(|s| s.trim().to_string()),
                    display: attr(&doc, t, "displayName").map(str::to_string),
                },
            );
        }
        let version = attr(&doc, vs, "dateMaj")
            .or_else(|| attr(&doc, vs, "version"))
            .map(str::to_string);
        return Ok(Parsed { rows, version });
    }
    Err(format!(
        "root element {{{ns}}}{local} is neither a FHIR ConceptMap nor an SVS RetrieveValueSetResponse"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_tables() {
        let t = CodeTables::builtin();
        assert_eq!(
            t.format_code(&["1.2.250.1.213.1.1.1.1", "1.2.250.1.213.1.1.1.23"], None)
                .map(|d| d.code),
            Some("urn:asip:ci-sis:fludt:2017".to_string())
        );
        let pdf = t
            .format_code(&["1.2.250.1.213.1.1.1.23"], Some("Application/PDF"))
            .unwrap();
        assert_eq!(pdf.code, "urn:ihe:iti:xds-sd:pdf:2008");
        assert_eq!(pdf.scheme, FORMAT_SCHEME);
        assert_eq!(t.format_code(&["1.2.3"], None), None);
        let c = t.class_code("11502-2").unwrap();
        assert_eq!(
            (c.code.as_str(), c.display.as_str()),
            ("10", "Compte rendu")
        );
        assert_eq!(c.scheme, CLASS_SCHEME);
        assert_eq!(t.class_code("00000-0"), None);
        assert_eq!(
            format_scheme("urn:asip:ci-sis:fludt:2017"),
            FORMAT_SCHEME_ASIP
        );
        assert_eq!(
            format_scheme("urn:ans:ci-sis:img-da:2022"),
            FORMAT_SCHEME_ASIP
        );
        assert_eq!(format_scheme("urn:ihe:lab:xd-lab:2008"), FORMAT_SCHEME);
        for (_, c) in TYPE_CLASSES {
            assert!(class_display(c).is_some(), "{c}");
        }
        assert_eq!(t.x04.origin.to_string(), "built-in partial");
    }

    #[test]
    fn one_to_many_rows_are_not_a_mapping() {
        let json = br#"{"resourceType":"ConceptMap","group":[{"target":"https://mos.esante.gouv.fr/NOS/TRE_A11-IheFormatCode/FHIR/TRE-A11-IheFormatCode","element":[
            {"code":"1.3.6.1.4.1.19376.1.2.20","target":[{"code":"urn:ihe:iti:xds-sd:pdf:2008","equivalence":"narrower"},{"code":"urn:ihe:iti:xds-sd:text:2008","equivalence":"narrower"}]},
            {"code":"9.9","target":[{"code":"urn:x","equivalence":"unmatched"}]},
            {"code":"1.3.6.1.4.1.19376.1.3.3","target":[{"code":"urn:ihe:lab:xd-lab:2008","relationship":"equivalent"}]}]}]}"#;
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), json.as_slice()].concat();
        assert_eq!(
            parse_table(&with_bom, Association::A11).map(|p| p.rows.len()),
            Ok(2)
        );
        let p = parse_table(json, Association::A11).unwrap();
        let t = Table {
            association: Association::A11,
            origin: Origin::BuiltIn,
            rows: p.rows,
        };
        assert_eq!(t.lookup(XDS_SD_TEMPLATE), None);
        assert_eq!(t.lookup("9.9"), None);
        let lab = t.lookup("1.3.6.1.4.1.19376.1.3.3").unwrap();
        assert_eq!(lab.scheme.as_deref(), Some(FORMAT_SCHEME));
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"resourceType\":\"ValueSet\"}",
            b"<a/>",
            b"<x:RetrieveValueSetResponse xmlns:x='urn:ihe:iti:svs:2008'/>",
            b"\xff\xfe",
            b"{\"resourceType\":\"ConceptMap\",\"group\":[{\"element\":[{\"code\":1}]}]}",
        ] {
            if let Ok(p) = parse_table(bad, Association::X04) {
                assert!(p.rows.is_empty());
            }
        }
    }
}
